"""The tiny text-classification data shipped in configs/data/topics_{train,test}.jsonl.

Each line is a JSON object ``{"text": "...", "label": "food" | "sport" | "weather"}``: a short synthetic
sentence (5-16 words, some capitals and punctuation) made of filler words and 2-4 words of its topic; a
third of the sentences also carry one word of another topic, so that a single word does not always give
the topic away. 600 train / 200 test lines, seeded (configs/topics_text.yaml).
Run: python tools/make_text_data.py
"""
import json
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs", "data")
TOPICS = {
    "food": "recipe soup bread cheese oven bake salt dinner flavour kitchen spicy pasta garlic lunch",
    "sport": "match goal team coach season score player league referee stadium penalty striker fans race",
    "weather": "rain sunny cloudy storm wind snow forecast temperature umbrella fog frost thunder humid breeze",
}
FILLER = ("the a an and of in on at it is was were we our they their this that very really today "
          "yesterday after before with for about some more again still").split()


def sentence(rng, topic):
    words = list(rng.choice(FILLER, rng.integers(3, 11)))
    own = TOPICS[topic].split()
    words += list(rng.choice(own, rng.integers(2, 5)))
    if rng.random() < 1 / 3:
        other = [t for t in TOPICS if t != topic][rng.integers(2)]
        words.append(rng.choice(TOPICS[other].split()))
    words = [str(w) for w in rng.permutation(words)]
    words[0] = words[0].capitalize()
    if rng.random() < 0.5:
        words[rng.integers(len(words) - 1)] += ","
    return " ".join(words) + rng.choice([".", "!", "?"])


def main():
    rng = np.random.default_rng(11)
    topics = sorted(TOPICS)
    for split, n in (("train", 600), ("test", 200)):
        labels = [topics[i % len(topics)] for i in rng.permutation(n)]
        with open(os.path.join(OUT, f"topics_{split}.jsonl"), "w", encoding="utf-8", newline="\n") as f:
            for label in labels:
                f.write(json.dumps({"text": sentence(rng, label), "label": label}) + "\n")


if __name__ == "__main__":
    main()

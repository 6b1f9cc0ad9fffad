"""Sequence data: ragged id files, pad_sequences (Keras's rules) and the text vectorizer kept in the run state."""
import json

import numpy as np
import pytest

from kspec.data.errors import DataError, StepError
from kspec.data.preprocessing import Pipeline, build_pipeline
from kspec.data.sequences import as_ragged, pad_sequences, read_sequences, read_text_lines

SEQS = [[1, 2, 3], [4, 5], [6, 7, 8, 9, 10]]


@pytest.mark.parametrize("padding,truncating,expected", [
    ("pre", "pre", [[0, 1, 2, 3], [0, 0, 4, 5], [7, 8, 9, 10]]),
    ("post", "pre", [[1, 2, 3, 0], [4, 5, 0, 0], [7, 8, 9, 10]]),
    ("pre", "post", [[0, 1, 2, 3], [0, 0, 4, 5], [6, 7, 8, 9]]),
    ("post", "post", [[1, 2, 3, 0], [4, 5, 0, 0], [6, 7, 8, 9]]),
], ids=["pre_pre", "post_pre", "pre_post", "post_post"])
def test_pad_sequences_follows_keras(padding, truncating, expected):
    out = pad_sequences(SEQS, maxlen=4, padding=padding, truncating=truncating)
    np.testing.assert_array_equal(out, expected, err_msg=f"padding={padding} truncating={truncating}")
    assert out.dtype == np.int32


def test_pad_sequences_defaults_and_value():
    out = pad_sequences(SEQS)
    assert out.shape == (3, 5), "maxlen None takes the longest sequence"
    np.testing.assert_array_equal(out[1], [0, 0, 0, 4, 5], err_msg="Keras pads before by default")
    np.testing.assert_array_equal(pad_sequences([[1]], maxlen=3, value=-1), [[-1, -1, 1]], err_msg="value")
    with pytest.raises(ValueError, match="padding"):
        pad_sequences(SEQS, padding="middle")


def test_pad_sequences_step_fits_maxlen_and_round_trips(tmp_path):
    pipe = build_pipeline([{"pad_sequences": {"padding": "post"}}])
    out = pipe.fit_apply(np.array([np.array(s) for s in SEQS], dtype=object))
    assert out.shape == (3, 5), "the training split's longest sequence sets maxlen"
    restored = Pipeline.from_state(json.loads(json.dumps(pipe.state())))
    np.testing.assert_array_equal(restored.apply(as_ragged([[1, 2, 3, 4, 5, 6, 7], [8]])),
                                  [[3, 4, 5, 6, 7], [8, 0, 0, 0, 0]],
                                  err_msg="the stored maxlen, Keras's default 'pre' truncation, post padding")
    np.testing.assert_array_equal(build_pipeline([{"pad_sequences": 2}]).apply([[1, 2, 3]]), [[2, 3]],
                                  err_msg="pad_sequences: N is maxlen")
    with pytest.raises(StepError, match="maxlen"):
        build_pipeline([{"pad_sequences": {"maxlen": 0}}])
    with pytest.raises(StepError, match="unknown options"):
        build_pipeline([{"pad_sequences": {"length": 3}}])


@pytest.mark.parametrize("step,arg", [("pad_sequences", "post"), ("pad_sequences", False), ("pad_sequences", [4]),
                                      ("text_vectorize", "\\w+"), ("text_vectorize", 5)])
def test_sequence_steps_reject_options_that_are_not_a_mapping(step, arg):
    with pytest.raises(StepError, match="expected a mapping of options") as err:
        build_pipeline([{step: arg}])
    assert step in str(err.value) and err.value.hint.startswith(f"e.g. {step}:")


@pytest.mark.parametrize("step,options,match", [
    ("pad_sequences", {"value": [0]}, "value must be a number"),
    ("pad_sequences", {"padding": ["post"]}, "padding must be"),
    ("text_vectorize", {"split": None}, "split must be"),
    ("text_vectorize", {"split": ["a"]}, "split must be"),
    ("text_vectorize", {"lowercase": "yes"}, "lowercase must be"),
    ("text_vectorize", {"max_tokens": True}, "max_tokens must be")])
def test_sequence_step_options_are_type_checked(step, options, match):
    with pytest.raises(StepError, match=match):
        build_pipeline([{step: options}])


def test_read_sequences_from_jsonl_and_text(tmp_path):
    jsonl = tmp_path / "ids.jsonl"
    jsonl.write_text("[1, 2, 3]\n\n[4]\n[5, 6]\n")
    text = tmp_path / "ids.txt"
    text.write_text("1 2 3\n4\n5,6\n")
    for path in (jsonl, text):
        seqs = read_sequences(path)
        assert seqs.dtype == object and seqs.shape == (3,), f"{path.name}: a ragged array of 3 sequences"
        assert [s.tolist() for s in seqs] == [[1, 2, 3], [4], [5, 6]], f"{path.name}: the ids"
    bad = tmp_path / "bad.jsonl"
    bad.write_text("[1, 2]\n[1.5]\n")
    with pytest.raises(DataError, match="integer ids"):
        read_sequences(bad)


def test_text_vectorizer_vocabulary_from_training_split_and_state(tmp_path):
    lines = tmp_path / "train.txt"
    lines.write_text("The cat sat\nthe dog sat down\n\nA cat\n")
    train = read_text_lines(lines)
    assert len(train) == 3, "empty lines are skipped"
    pipe = build_pipeline(["text_vectorize", {"pad_sequences": {"maxlen": 4, "padding": "post"}}])
    x = pipe.fit_apply(train)
    vocab = pipe.steps[0].vocabulary
    assert vocab[:2] == ["", "[UNK]"], "0 is padding, 1 the out-of-vocabulary token"
    assert vocab[2:5] == ["cat", "sat", "the"], f"by decreasing count, ties alphabetical: {vocab}"
    np.testing.assert_array_equal(x[0], [vocab.index("the"), vocab.index("cat"), vocab.index("sat"), 0],
                                  err_msg="lowercased tokens in order, post-padded")
    restored = Pipeline.from_state(json.loads(json.dumps(pipe.state())))
    np.testing.assert_array_equal(restored.apply(np.array(["THE bird sat"], dtype=object)),
                                  [[vocab.index("the"), 1, vocab.index("sat"), 0]],
                                  err_msg="the stored vocabulary maps new text; unknown words become 1")


def test_text_vectorizer_regex_and_options():
    pipe = build_pipeline([{"text_vectorize": {"split": r"[a-z]+", "lowercase": False, "max_tokens": 3}}])
    out = pipe.fit_apply(np.array(["ab, ab; cd", "ab x"], dtype=object))
    assert pipe.steps[0].vocabulary == ["", "[UNK]", "ab"], "max_tokens keeps the most frequent token"
    assert [s.tolist() for s in out] == [[2, 2, 1], [2, 1]], "regex tokens, unknowns as 1"
    with pytest.raises(StepError, match="regular expression"):
        build_pipeline([{"text_vectorize": {"split": "("}}])


def test_text_run_end_to_end_keeps_the_vocabulary(tmp_path):
    """Raw text in an .npz -> text_vectorize -> pad_sequences -> Embedding(mask_zero) -> GRU; predict takes raw
    text because the vocabulary is stored with the run."""
    from kspec import run
    rng = np.random.default_rng(0)
    words = [["der", "die", "und", "nicht"], ["el", "la", "y", "no"]]
    x = np.array([" ".join(rng.choice(words[i % 2], rng.integers(2, 7))) for i in range(80)])
    y = np.arange(80) % 2
    np.savez(tmp_path / "text.npz", x=x, y=y)
    spec = {"name": "text", "seed": 0,
            "data": {"train": {"path": str(tmp_path / "text.npz"), "x": "x", "y": "y"},
                     "x": ["text_vectorize", {"pad_sequences": {"maxlen": 6, "padding": "post"}}]},
            "model": {"input_shape": [6], "layers": [{"Embedding": {"input_dim": 12, "output_dim": 4,
                                                                    "mask_zero": True}},
                                                     {"GRU": 4}, {"Dense": {"units": 2, "activation": "softmax"}}]},
            "compile": {"optimizer": {"Adam": {"learning_rate": 0.05}}, "loss": "sparse_categorical_crossentropy",
                        "metrics": ["accuracy"]},
            "fit": {"batch_size": 16, "epochs": 8, "verbose": 0}}
    result = run.train(spec, run_dir=str(tmp_path / "run"), verbose=0)
    assert result.history["accuracy"][-1] == 1.0, f"the words give the class away: {result.history}"
    probs = run.predict(result.run_dir, np.array(["und die der", "no y la el", "UND Nicht"]))
    np.testing.assert_array_equal(np.asarray(probs).argmax(-1), [0, 1, 0],
                                  err_msg="predict on raw text with the stored vocabulary")


# -- files in a spec: token ids and text, labels beside them or in JSON lines objects ---------------------------

def test_two_files_of_token_ids_and_labels(tmp_path):
    from kspec.data import load_split
    (tmp_path / "ids.txt").write_text("4 18 7\n\n2, 3\n9\n")
    (tmp_path / "labels.txt").write_text("spam\nham\nspam\n")
    (tmp_path / "numbers.txt").write_text("1\n0\n1\n")
    split = load_split({"x": "ids.txt", "y": "labels.txt", "format": "sequences"}, str(tmp_path))
    assert split.x.dtype == object and [s.tolist() for s in split.x] == [[4, 18, 7], [2, 3], [9]], \
        "one sequence per line, blank lines skipped, spaces or commas"
    assert split.x[0].dtype == np.int64, "ids stay integers"
    assert split.y.tolist() == [1, 0, 1] and split.classes == ["ham", "spam"], \
        "a label file beside token ids holds one label per line; names become class ids"
    split = load_split({"x": "ids.txt", "y": "numbers.txt"}, str(tmp_path), reads="sequences")
    assert [len(s) for s in split.x] == [3, 2, 1], "a pipeline starting with pad_sequences reads .txt as ids"
    assert split.y.dtype == np.int64 and split.y.tolist() == [1, 0, 1] and split.classes is None, \
        "numeric labels stay numbers"


def test_jsonl_objects_name_their_fields_for_x_and_y(tmp_path):
    from kspec.data import load_split
    (tmp_path / "text.jsonl").write_text('{"text": "Rain again", "label": "weather"}\n'
                                         '{"text": "A late goal", "label": "sport"}\n')
    split = load_split({"path": "text.jsonl", "x": "text", "y": "label"}, str(tmp_path))
    assert split.x.tolist() == ["Rain again", "A late goal"], "strings are text samples"
    assert split.y.tolist() == [1, 0] and split.classes == ["sport", "weather"], "string labels are classes"
    (tmp_path / "ids.jsonl").write_text('{"x": [1, 2, 3], "y": 1}\n{"x": [4], "y": 0}\n')
    for source, reads in (({"path": "ids.jsonl", "format": "sequences"}, None), ({"path": "ids.jsonl"}, "sequences")):
        split = load_split(source, str(tmp_path), reads=reads)
        assert [s.tolist() for s in split.x] == [[1, 2, 3], [4]], f"ragged ids in objects: {source} reads={reads}"
        assert split.y.dtype == np.int64 and split.y.tolist() == [1, 0], "whole-number labels stay integers"
    with pytest.raises(DataError, match="expected shape") as e:
        load_split({"path": "ids.jsonl"}, str(tmp_path))
    assert e.value.line == 2 and "format: sequences" in e.value.hint, \
        "without format or pad_sequences, ragged lists are an error whose hint names the format"


def test_text_lines_and_the_reads_rules(tmp_path):
    from kspec.data import load_split
    from kspec.data.formats import line_format
    (tmp_path / "x.txt").write_text("The cat sat.\n\n  two, words\n")
    (tmp_path / "y.txt").write_text("1\n0\n")
    for source, reads in (({"x": "x.txt", "y": "y.txt", "format": "text"}, None),
                          ({"x": "x.txt", "y": "y.txt"}, "text")):
        split = load_split(source, str(tmp_path), reads=reads)
        assert split.x.tolist() == ["The cat sat.", "  two, words"], f"one sample per line: {source}"
    assert [line_format(f, "text", n) for f, n in (("csv", "a.txt"), ("csv", None), (None, "notes"),
                                                   ("csv", "a.csv"), ("jsonl", "a.jsonl"), ("npz", "a.npz"))] == \
        ["text", "text", "text", "csv", "jsonl", "npz"], "text: .txt, stdin and unknown names; tables keep theirs"
    assert [line_format(f, "sequences", n) for f, n in (("csv", "a.txt"), ("jsonl", "a.jsonl"), ("csv", "a.tsv"))] \
        == ["sequences", "sequences", "csv"], "ids: .txt and JSON lines"
    assert line_format("csv", None, "a.txt") == "csv", "arrays: unchanged"


@pytest.mark.parametrize("name,text,fmt,line,match", [
    ("ids.txt", "1 2\n3 4.5\n", "sequences", 2, "'4.5' is not an integer id"),
    ("ids.txt", "1 2\n\n3 x\n", "sequences", 3, "'x' is not an integer id"),
    ("ids.jsonl", "[1, 2]\n[true]\n", "sequences", 2, "integer ids"),
    ("ids.jsonl", "[1, 2]\n[3,\n", "sequences", 2, "not valid JSON"),
    ("obj.jsonl", '{"x": [1], "y": "a"}\n{"x": [2], "y": 3}\n', "jsonl", 2, "field 'y': expected text like line 1"),
    ("obj.jsonl", '{"x": "a b", "y": 1}\n{"x": "c", "z": 1}\n', "jsonl", 2, "fields"),
    ("empty.txt", "\n\n", "text", None, "no text lines"),
], ids=["float_id", "word_id", "json_bool", "json_broken", "text_and_number", "other_fields", "empty_text"])
def test_bad_lines_name_the_file_and_line(tmp_path, name, text, fmt, line, match):
    from kspec.data import read_array_file
    (tmp_path / name).write_text(text)
    with pytest.raises(DataError, match=match) as e:
        read_array_file(tmp_path / name, fmt=fmt)
    assert e.value.path == str(tmp_path / name) and e.value.line == line, f"{e.value}"

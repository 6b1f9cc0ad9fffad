"""Sequence data: ragged token-id files, ``pad_sequences`` and a simple text vectorizer.

- :func:`read_sequences` reads token ids from JSON lines (one list per line) or a text file (one sequence
  per line, ids separated by whitespace or commas) into a ragged object array of int64 arrays; the
  ``sequences`` file format (:mod:`kspec.data.lines`). :func:`read_text_lines` reads the ``text`` format.
- Steps (registered in ``preprocessing.STEPS``): ``pad_sequences`` (Keras's ``pad_sequences``: maxlen,
  padding/truncating 'pre' or 'post', value) and ``text_vectorize`` (lowercase, split on whitespace or a
  regex, a vocabulary built from the training split and stored in the run: 0 is padding, 1 out-of-vocabulary,
  then the tokens by decreasing frequency, ties in alphabetical order).
"""
import collections
import re

import numpy as np

from kspec.data.lines import as_ragged
from kspec.data.step import Step

OOV = "[UNK]"


# -- files ----------------------------------------------------------------------------------------------------
def read_sequences(path):
    """Token-id sequences of a ``.jsonl`` file (lists) or a text file (ids per line) -> object array (n,)."""
    from kspec.data.readers import read_array_file
    return read_array_file(path, fmt="sequences")


def read_text_lines(path):
    """One text sample per (non-empty) line -> object array (n,) of str."""
    from kspec.data.readers import read_array_file
    return read_array_file(path, fmt="text")


# -- padding --------------------------------------------------------------------------------------------------
def pad_sequences(sequences, maxlen=None, padding="pre", truncating="pre", value=0, dtype="int32"):
    """Keras's ``pad_sequences``: a list of sequences -> (n, maxlen) array.

    maxlen None means the longest sequence; longer sequences lose their start ('pre') or end ('post');
    shorter ones are filled with ``value`` before ('pre') or after ('post').
    """
    for arg, v in (("padding", padding), ("truncating", truncating)):
        if v not in ("pre", "post"):
            raise ValueError(f"{arg} must be 'pre' or 'post', got {v!r}")
    seqs = [np.asarray(s).reshape(-1) for s in sequences]
    if maxlen is None:
        maxlen = max((len(s) for s in seqs), default=0)
    out = np.full((len(seqs), maxlen), value, dtype=dtype)
    for i, s in enumerate(seqs):
        if not len(s) or maxlen == 0:
            continue
        s = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        if padding == "post":
            out[i, :len(s)] = s
        else:
            out[i, maxlen - len(s):] = s
    return out


class PadSequences(Step):
    """``pad_sequences: 40`` or ``{maxlen: 40, padding: post, truncating: post, value: 0}``: ragged ids
    (n,) -> int32 (n, maxlen). Without maxlen the longest training sequence sets it (kept in the run)."""

    name = "pad_sequences"
    fits = True
    reads = "sequences"
    KEYS = ("maxlen", "padding", "truncating", "value")

    def __init__(self, arg=None):
        if isinstance(arg, int) and not isinstance(arg, bool):
            options = {"maxlen": arg}
        else:
            options = self._options(arg, self.KEYS, "40 or {maxlen: 40, padding: post}")
        maxlen = options.get("maxlen")
        if maxlen is not None and (isinstance(maxlen, bool) or not isinstance(maxlen, int) or maxlen < 1):
            raise self._error(f"maxlen must be a positive integer, got {maxlen!r}")
        for key in ("padding", "truncating"):
            if options.get(key, "pre") not in ("pre", "post"):
                raise self._error(f"{key} must be 'pre' or 'post', got {options[key]!r}")
        value = options.get("value", 0)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._error(f"value must be a number (the padding id), got {value!r}")
        super().__init__(arg)
        self.options = options
        self.maxlen = maxlen

    def fit(self, x):
        if self.maxlen is None:
            self.maxlen = max((len(np.asarray(s).reshape(-1)) for s in x), default=1) or 1
        return self

    def apply(self, x, *, inplace=False):
        if self.maxlen is None:
            raise self._error("no maxlen: give one, or fit on the training split first")
        return pad_sequences(x, self.maxlen, self.options.get("padding", "pre"),
                             self.options.get("truncating", "pre"), self.options.get("value", 0))

    def state(self):
        return dict(super().state(), maxlen=self.maxlen)

    @classmethod
    def from_state(cls, state):
        step = cls(state.get("arg"))
        step.maxlen = state.get("maxlen", step.maxlen)
        return step


# -- text ---------------------------------------------------------------------------------------------------------
class TextVectorize(Step):
    """``text_vectorize: {split: whitespace | <regex of tokens>, lowercase: true, max_tokens: null}``:
    strings (n,) -> ragged token ids (n,). The vocabulary comes from the training split (fit) and is stored
    in the run, so predict reads raw text lines. Id 0 is padding, 1 the out-of-vocabulary token."""

    name = "text_vectorize"
    fits = True
    reads = "text"
    KEYS = ("split", "lowercase", "max_tokens")

    def __init__(self, arg=None):
        options = self._options(arg, self.KEYS, "{split: whitespace, lowercase: true, max_tokens: 8000}")
        split = options.get("split", "whitespace")
        if not isinstance(split, str):
            raise self._error(f"split must be 'whitespace' or a regular expression (a string), got {split!r}")
        if not isinstance(options.get("lowercase", True), bool):
            raise self._error(f"lowercase must be true or false, got {options['lowercase']!r}")
        try:
            self._pattern = None if split == "whitespace" else re.compile(split)
        except re.error as e:
            raise self._error(f"split is not a valid regular expression: {e}") from None
        max_tokens = options.get("max_tokens")
        if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int)
                                       or max_tokens < 3):
            raise self._error(f"max_tokens must be an integer >= 3 (padding, [UNK], a token), got {max_tokens!r}")
        super().__init__(arg)
        self.lowercase = bool(options.get("lowercase", True))
        self.max_tokens = max_tokens
        self.vocabulary = None
        self._index = None

    def tokens(self, text):
        text = str(text).lower() if self.lowercase else str(text)
        return text.split() if self._pattern is None else self._pattern.findall(text)

    def fit(self, x):
        counts = collections.Counter(t for text in x for t in self.tokens(text))
        ranked = sorted(counts, key=lambda t: (-counts[t], t))
        if self.max_tokens is not None:
            ranked = ranked[:self.max_tokens - 2]
        self._set_vocabulary(["", OOV] + ranked)
        return self

    def _set_vocabulary(self, vocabulary):
        self.vocabulary = list(vocabulary)
        self._index = {t: i for i, t in enumerate(self.vocabulary)}

    def apply(self, x, *, inplace=False):
        if self.vocabulary is None:
            raise self._error("no vocabulary: fit it on the training split first")
        return as_ragged([np.array([self._index.get(t, 1) for t in self.tokens(text)], dtype=np.int64)
                          for text in x])

    def state(self):
        return dict(super().state(), vocabulary=self.vocabulary)

    @classmethod
    def from_state(cls, state):
        step = cls(state.get("arg"))
        if state.get("vocabulary") is not None:
            step._set_vocabulary(state["vocabulary"])
        return step

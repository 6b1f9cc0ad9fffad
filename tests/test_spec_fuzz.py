"""Property-based fuzzing of the spec checks: every mutant of a valid config either validates or gets a
clean SpecError (DataError/ModelFileError for files), never another exception."""
import copy
import glob
import os

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kspec.spec import SpecError, build_model, compile_model, load_file, load_text, resolve

# hypothesis's failure report touches a deprecated mypy_extensions name; keep the report readable
pytestmark = pytest.mark.filterwarnings("ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(glob.glob(os.path.join(ROOT, "configs", "*.yaml")))
BASES = {os.path.basename(p): load_file(p).data for p in CONFIGS}


def _read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


TEXTS = {os.path.basename(p): _read(p) for p in CONFIGS}
JUNK = [None, -1, 0, 1, 2.5, -0.5, 1e-9, "junk", "relu", "Dense", "", [], [1, 2], {}, {"a": 1}, True, False,
        [None], {"Dense": {"units": 2}}, "x * sigmoid(x)", "os:system", 1000]


def _paths(node, prefix=()):
    """Every path of a mapping key or list item in the document."""
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            out.append(prefix + (k,))
            out.extend(_paths(v, prefix + (k,)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.append(prefix + (i,))
            out.extend(_paths(v, prefix + (i,)))
    return out


def _parent(doc, path):
    node = doc
    for step in path[:-1]:
        node = node[step]
    return node


def _mutate(data, draw):
    doc = copy.deepcopy(data)
    paths = _paths(doc)
    if not paths:
        return doc
    path = draw(st.sampled_from(paths))
    parent, last = _parent(doc, path), path[-1]
    action = draw(st.sampled_from(["delete", "rename", "retype", "swap", "insert"]))
    if action == "delete":
        del parent[last]
    elif action == "rename" and isinstance(parent, dict):
        new = draw(st.sampled_from([str(last)[:-1], str(last) + "s", str(last).upper(), "_" + str(last)]))
        if new and new not in parent:
            parent[new] = parent.pop(last)
    elif action == "retype":
        parent[last] = copy.deepcopy(draw(st.sampled_from(JUNK)))  # a later mutation must not change JUNK
    elif action == "swap":
        other = draw(st.sampled_from(paths))
        try:
            other_parent = _parent(doc, other)
            parent[last], other_parent[other[-1]] = other_parent[other[-1]], parent[last]
        except (KeyError, IndexError, TypeError):
            pass
    elif action == "insert":
        junk = copy.deepcopy(draw(st.sampled_from(JUNK)))
        if isinstance(parent, dict):
            parent[draw(st.sampled_from(["junk", "unit", "activaton", "repeat", "input"]))] = junk
        else:
            parent.insert(last, junk)
    return doc


def _check(text, name):
    """Load, resolve, build and compile (no data is read): a clean SpecError or success."""
    try:
        doc = load_text(text, file=name, base_dir=os.path.join(ROOT, "configs"))
        spec = resolve(doc)
        compile_model(build_model(spec, doc), spec, doc)
    except SpecError as e:
        assert e.diagnostics, "a SpecError without diagnostics"
        text = e.format()
        assert all(d.message for d in e.diagnostics), f"an empty message: {text}"
        assert "Traceback" not in text, text


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(sorted(BASES)), st.data())
def test_mutated_configs_fail_cleanly(name, data):
    mutant = _mutate(BASES[name], data.draw)
    if data.draw(st.booleans()):
        mutant = _mutate(mutant, data.draw)
    _check(yaml.safe_dump(mutant, sort_keys=False), name)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(sorted(TEXTS)), st.data())
def test_damaged_text_fails_cleanly(name, data):
    text = TEXTS[name]
    cut = data.draw(st.integers(0, len(text)))
    action = data.draw(st.sampled_from(["truncate", "insert", "delete"]))
    junk = data.draw(st.sampled_from(["\t", ":", "- ", "{", "]", "&a", "*a", "!!python/name:os.system ", "\x00",
                                      "  ", "\n", "'", "#", "%", "@", "<<: 1"]))
    if action == "truncate":
        text = text[:cut]
    elif action == "insert":
        text = text[:cut] + junk + text[cut:]
    else:
        text = text[:cut] + text[cut + data.draw(st.integers(1, 20)):]
    _check(text, name)

"""The spec loader: safe YAML with the line and column of every node (issue 3, laying the ground for 4)."""
import pytest

from kspec.spec import SpecError, load_file, load_text


def _error(text):
    with pytest.raises(SpecError) as info:
        load_text(text, file="config.yaml")
    return info.value


def test_positions_of_values_and_keys():
    doc = load_text("name: x\nmodel:\n  layers:\n    - Dense: {units: 10}\n", file="config.yaml")
    path = ("model", "layers", 0, "Dense", "units")
    assert doc.get(path) == 10, "value read from the YAML"
    assert doc.where(path) == ("config.yaml", 4, 22), "position of the value 10"
    assert doc.where(path, key=True) == ("config.yaml", 4, 15), "position of the key units"
    assert doc.where(("model", "layers", 0)) == ("config.yaml", 4, 7), "position of a list entry"


def test_position_falls_back_to_the_nearest_enclosing_node():
    doc = load_text("fit:\n  epochs: 3\n", file="c.yaml")
    assert doc.where(("fit", "batch_size")) == ("c.yaml", 2, 3), "a missing key points at its mapping"


def test_diagnostic_shows_the_source_line_and_a_caret():
    doc = load_text("model:\n  layers:\n    - Dense: {unit: 10}\n", file="config.yaml")
    text = doc.diagnostic(("model", "layers", 0, "Dense", "unit"), "Dense: bad", key=True).format()
    lines = text.splitlines()
    assert lines[0] == "config.yaml:3:15: error: Dense: bad", f"first line: {lines[0]!r}"
    assert lines[1].endswith("- Dense: {unit: 10}"), f"source line: {lines[1]!r}"
    assert lines[2].index("^") == lines[1].index("unit"), "caret under the key"


@pytest.mark.parametrize("text, line, col, words", [
    ("a: [1, 2\n", 1, 4, "this '[' is never closed"),
    ("model:\n  layers:\n\t- Dense\n", 3, 1, "YAML indents with spaces"),
    ("a: b: c\n", 1, 5, "mapping values are not allowed"),
    ("fit:\n  epochs: 1\n  epochs: 2\n", 3, 3, "duplicate key 'epochs' (first defined at line 2)"),
    ("x: &a [*a]\n", 1, 4, "cycle"),
    ("s: [enc[1], enc[2]]\n", 1, 8, "a name with brackets needs quotes, e.g. ['encoder[1]'"),
], ids=["unclosed-flow", "tab", "colon-in-value", "duplicate-key", "recursive-alias", "unquoted-state-names"])
def test_bad_yaml_reports_its_line(text, line, col, words):
    (d,) = _error(text).diagnostics
    assert (d.file, d.line, d.col) == ("config.yaml", line, col), f"position of {d.format()!r}"
    assert words in d.format(), f"message {d.format()!r} lacks {words!r}"


@pytest.mark.parametrize("text", [
    "a: !!python/object/apply:os.system [echo hacked]\n",
    "a: !!python/name:os.system\n",
    "a: !!python/object:collections.OrderedDict {b: 1}\n",
    "a: !custom 3\n",
], ids=["apply", "name", "object", "custom-tag"])
def test_tags_that_build_objects_are_refused(text):
    (d,) = _error(text).diagnostics
    assert d.line == 1 and "unsupported YAML tag" in d.message, f"got {d.format()!r}"


def test_yaml12_floats_and_anchors():
    doc = load_text("a: 1e-6\nb: 1.0e-3\nc: 5\nd: &x {u: 1}\ne:\n  <<: *x\n  v: 2\n")
    assert doc.data["a"] == 1e-6 and isinstance(doc.data["a"], float), "1e-6 is a float, not a string"
    assert isinstance(doc.data["c"], int), "an int stays an int"
    assert doc.data["e"] == {"u": 1, "v": 2}, "merge keys expand"


def test_empty_and_missing_files(tmp_path):
    (d,) = _error("# nothing\n").diagnostics
    assert "empty" in d.message, d.format()
    with pytest.raises(SpecError, match="no such file"):
        load_file(tmp_path / "absent.yaml")


def test_base_dir_is_the_spec_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    spec = tmp_path / "sub" / "c.yaml"
    spec.write_text("model: {weights: w.h5}\n")
    doc = load_file(spec)
    assert doc.resolve_path("w.h5") == str(tmp_path / "sub" / "w.h5"), "relative to the spec's folder"

"""`kspec validate` and `kspec schema` agree: the JSON Schema never rejects a spec that validate accepts,
and the mistakes a schema can express (names, argument types) are rejected by both. Held on the spec
corpus, the example configs and fuzzed mutants of them.

A schema cannot know shapes, files or expressions, so validate may reject more; the reverse would make
an editor flag a spec that trains.
"""
import glob
import json
import os

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from kspec.cli.main import cli
from kspec.data import DataError
from kspec.io.errors import ModelFileError
from kspec.spec import SpecError, build_model, compile_model, from_dict, load_file, resolve
from test_spec_fuzz import BASES, _mutate

pytestmark = pytest.mark.filterwarnings("ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS_DIR = os.path.join(ROOT, "configs")
CORPUS = sorted(glob.glob(os.path.join(ROOT, "tests", "spec_corpus", "*.yaml")))


@pytest.fixture(scope="module")
def schema():
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0, result.output
    return jsonschema.Draft7Validator(json.loads(result.output))


def validate_accepts(data, base_dir=CONFIGS_DIR):
    """What `kspec validate` (without --data) says: True, False, or None when a file decides."""
    try:
        doc = from_dict(data, base_dir=base_dir)
        spec = resolve(doc)
        compile_model(build_model(spec, doc), spec, doc)
    except SpecError:
        return False
    except (DataError, ModelFileError):
        return None
    return True


def _agree(schema, data, what, base_dir=CONFIGS_DIR):
    accepted = validate_accepts(data, base_dir)
    if accepted:
        errors = [f"{list(e.absolute_path)}: {e.message[:160]}" for e in schema.iter_errors(data)]
        assert not errors, f"{what}: kspec validate accepts it but the schema rejects it: {errors[:3]}"
    return accepted


@pytest.mark.parametrize("path", CORPUS, ids=[os.path.basename(p)[:-5] for p in CORPUS])
def test_the_schema_never_rejects_what_validate_accepts_in_the_corpus(schema, path):
    try:
        data = load_file(path).data
    except SpecError:
        pytest.skip("not YAML")
    _agree(schema, data, os.path.basename(path), base_dir=os.path.dirname(path))


# Generation only (no database replay or shrinking): a failure is reported as the mutant it was found on.
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), phases=[Phase.generate],
          database=None)
@given(st.sampled_from(sorted(BASES)), st.data())
def test_the_schema_never_rejects_what_validate_accepts_on_fuzzed_specs(schema, name, data):
    mutant = _mutate(BASES[name], data.draw)
    if data.draw(st.booleans()):
        mutant = _mutate(mutant, data.draw)
    mutant = yaml.safe_load(yaml.safe_dump(mutant))  # what a YAML file of it would hold
    _agree(schema, mutant, name)


SMALL = {"model": {"input_shape": [4], "layers": [{"Dense": {"units": 2}}]},
         "compile": {"optimizer": "adam", "loss": "mse"}}


@pytest.mark.parametrize("layer, accepted", [
    ({"Dense": 16}, True), ({"Dense": 16.0}, True), ({"Dense": {"units": 16.0}}, True),
    ({"Dense": 16.5}, False), ({"Dense": {"units": "16"}}, False), ({"dense": 16}, False),
    ({"DENSE": 16}, False), ({"Dense": {"units": 4, "use_bias": "yes"}}, False),
    ({"Conv1D": {"filters": 2, "kernel_size": [2.0]}}, True),
], ids=["int", "integral-float", "integral-float-keyword", "fraction", "string", "lowercase-name",
        "uppercase-name", "bool-as-string", "integral-float-list"])
def test_both_say_the_same_about_names_and_numbers(schema, layer, accepted):
    data = {**SMALL, "model": {"input_shape": [4] if "Conv1D" not in layer else [4, 3],
                               "layers": [layer, {"Dense": {"units": 2}}]}}
    assert validate_accepts(data) is accepted, f"kspec validate on {layer}"
    assert schema.is_valid(data) is accepted, f"the schema on {layer}"

"""`kspec schema`: a JSON Schema that accepts every example spec and rejects the corpus's bad specs."""
import glob
import json
import os

import jsonschema
import pytest
from click.testing import CliRunner

from kspec.cli.main import cli
from kspec.spec import SpecError, load_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(glob.glob(os.path.join(ROOT, "configs", "*.yaml")))
CORPUS = sorted(glob.glob(os.path.join(ROOT, "tests", "spec_corpus", "*.yaml")))


@pytest.fixture(scope="module", params=["07", "2020-12"])
def validator(request):
    result = CliRunner().invoke(cli, ["schema", "--draft", request.param])
    assert result.exit_code == 0, f"kspec schema failed: {result.output}"
    schema = json.loads(result.output)
    cls = jsonschema.validators.validator_for(schema)
    assert cls is {"07": jsonschema.Draft7Validator, "2020-12": jsonschema.Draft202012Validator}[request.param], cls
    cls.check_schema(schema)
    return cls(schema)


def _rejects(path):
    with open(path, encoding="utf-8") as f:
        return "# schema: reject" in f.read(2000)


@pytest.mark.parametrize("path", CONFIGS, ids=[os.path.basename(p) for p in CONFIGS])
def test_every_config_validates(validator, path):
    errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(load_file(path).data)]
    assert not errors, f"{path} rejected by the schema: {errors[:3]}"


REJECTED = [p for p in CORPUS if _rejects(p)]


def test_the_schema_cases_are_many():
    assert len(REJECTED) >= 40, f"only {len(REJECTED)} corpus cases marked schema: reject"


@pytest.mark.parametrize("path", REJECTED, ids=[os.path.basename(p)[:-5] for p in REJECTED])
def test_bad_specs_are_rejected(validator, path):
    try:
        data = load_file(path).data
    except SpecError as e:  # not even YAML: rejected before any schema
        pytest.skip(f"not loadable: {e}")
    assert not validator.is_valid(data), f"{os.path.basename(path)} passes the schema"


def test_schema_lists_the_registries(validator):
    defs = validator.schema["$defs"]
    bare = defs["layer"]["anyOf"][0]["enum"]
    assert "Flatten" in bare and "Dense" not in bare, "only layers without required arguments stand alone"
    classes = defs["layer"]["anyOf"][1]["properties"]
    assert "Dense" in classes and "Conv2D" in classes, "every layer class is a property (for completion)"
    dense = defs["layer.Dense"]["anyOf"][0]
    assert dense["additionalProperties"] is False, "Dense takes only its own arguments"
    typed = {name: {k: v for k, v in p.items() if k != "description"} for name, p in dense["properties"].items()}
    assert typed["units"] == {"type": "integer", "minimum": 1}, dense["properties"]["units"]
    assert typed["use_bias"] == {"type": "boolean", "default": True}, dense["properties"]["use_bias"]
    assert dense["properties"]["units"]["description"].startswith("Positive integer"), "shown on hover"
    assert "adam" in defs["optimizer"]["anyOf"][0]["enum"], "optimizer names are an enum"

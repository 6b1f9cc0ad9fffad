"""Writing a resolved spec: YAML for a run folder's ``config.yaml``, JSON-ready data for a model file.

Paths inside a spec are relative to the file that holds it, so :func:`rebase_paths` rewrites the
absolute paths of a resolved spec relative to the folder it is written to.
"""
import copy
import os

import yaml

from kspec.spec.sections import DATA_SPLITS, DATA_STEPS


class _Dumper(yaml.SafeDumper):
    """Block style, except short lists of scalars (shapes, metrics) which read better inline."""


def _represent_list(dumper, data):
    flow = all(v is None or isinstance(v, (bool, int, float, str)) for v in data) and len(data) <= 16
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(tuple, _represent_list)


def dump(spec, stream=None, header=None):
    """The YAML text of a spec (written to ``stream`` when given). Key order is kept."""
    text = yaml.dump(spec, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=100)
    if header:
        text = "".join(f"# {line}\n" for line in header.splitlines()) + text
    if stream is not None:
        stream.write(text)
    return text


def rebase_paths(spec, folder):
    """A copy of ``spec`` whose file paths (data sources, ``model.weights``) are relative to ``folder``."""
    spec = copy.deepcopy(spec)
    folder = os.path.abspath(folder)

    def rel(path):
        if not isinstance(path, str) or not os.path.isabs(path):
            return path
        try:
            return os.path.relpath(path, folder)
        except ValueError:  # another drive (Windows)
            return path

    for split in DATA_SPLITS:
        source = (spec.get("data") or {}).get(split)
        if not isinstance(source, dict):
            continue
        if "path" in source:
            source["path"] = rel(source["path"])
        elif "dataset" not in source:
            for side in DATA_STEPS:
                if isinstance(source.get(side), str):
                    source[side] = rel(source[side])
                elif isinstance(source.get(side), dict):
                    source[side] = {k: rel(v) for k, v in source[side].items()}
    model = spec.get("model") or {}
    for entry in model.get("layers") or []:
        if isinstance(entry, dict) and "load" in entry:
            entry["load"] = rel(entry["load"])
    if isinstance(model.get("weights"), dict):
        model["weights"]["path"] = rel(model["weights"].get("path"))
    elif model.get("weights"):
        model["weights"] = rel(model["weights"])
    return spec

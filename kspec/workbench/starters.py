"""Starter specs (``kspec init``) and the example configs shipped in the package.

A template is ``templates/<name>.yaml`` beside this module. The data files it names (``path:
data/...``) are copied from the shipped examples (``kspec/examples``, the repository's ``configs``
folder) next to the written spec; the datasets it names (``dataset: ...``) are checked, never fetched.
"""
import os
import re
import shutil

from kspec.workbench import WorkbenchError

TEMPLATES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
EXAMPLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


def template_names():
    return sorted(n[:-5] for n in os.listdir(TEMPLATES_DIR) if n.endswith(".yaml"))


def template_text(name, file_name="FILE"):
    """The template's text, its comments naming ``file_name``."""
    path = os.path.join(TEMPLATES_DIR, f"{name}.yaml")
    if not os.path.isfile(path):
        raise WorkbenchError(f"no template {name!r}; the templates are {', '.join(template_names())}")
    with open(path, encoding="utf-8") as f:
        return f.read().replace("<FILE>", file_name)


def examples_dir():
    if not os.path.isdir(EXAMPLES_DIR):
        raise WorkbenchError(f"the example configs are not installed with this kspec ({EXAMPLES_DIR} is "
                             "missing); reinstall kspec")
    return EXAMPLES_DIR


def write_starter(name, path, force=False):
    """Write template ``name`` to ``path`` and copy the data files it reads next to it.

    Returns ``{"spec": path, "copied": [...], "kept": [...], "warnings": [...]}``: the data files
    copied, those already there (left as they are) and what the user must do before training.
    """
    text = template_text(name, path)
    if os.path.exists(path) and not force:
        raise WorkbenchError(f"{path} exists; kspec init never overwrites a file (choose another name, "
                             "or --force)")
    base = os.path.dirname(os.path.abspath(path))
    copied, kept = [], []
    for rel in re.findall(r"path:\s*(data/[\w.-]+)", text):
        dest = os.path.join(base, rel)
        (kept if os.path.exists(dest) else copied).append(os.path.relpath(dest))
        if not os.path.exists(dest):
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copyfile(os.path.join(examples_dir(), rel), dest)
    warnings = [_missing_dataset(d) for d in sorted(set(re.findall(r"dataset:\s*(\w+)", text)))]
    _write(path, text)
    return {"spec": path, "copied": copied, "kept": kept, "warnings": [w for w in warnings if w]}


def copy_examples(folder):
    """Copy every shipped example spec and its data into ``folder``; files already there are kept."""
    source = examples_dir()
    copied, kept = [], []
    for root, _, files in os.walk(source):
        for name in sorted(files):
            rel = os.path.relpath(os.path.join(root, name), source)
            dest = os.path.join(folder, rel)
            if os.path.exists(dest):
                kept.append(dest)
                continue
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copyfile(os.path.join(root, name), dest)
            copied.append(dest)
    return {"folder": folder, "copied": sorted(copied), "kept": sorted(kept)}


def _missing_dataset(name):
    from kspec.data import DataError
    from kspec.data.datasets import load_dataset

    try:
        load_dataset(name, "test")
    except DataError as e:
        return f"dataset {name} is not on this machine, so the spec cannot train yet: {e}"
    return None


def _write(path, text):
    if path == "-":
        return
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)

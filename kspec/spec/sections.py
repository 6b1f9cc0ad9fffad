"""The data, compile and fit sections of a spec, checked and resolved (a mixin of the resolver).

``data`` takes the splits train/validation/test (each a data entry for :func:`kspec.data.load_split`)
and the preprocessing steps x/y; ``compile`` and ``fit`` take the arguments of ``Model.compile`` and
``Model.fit``, read from their signatures.
"""
import os

from kspec import registry
from kspec.user_code import UserCodeError, is_reference
from kspec.spec import signatures as sig
from kspec.spec.errors import did_you_mean
from kspec.spec.values import describe, is_number, is_step, plain

DATA_SPLITS = ("train", "validation", "test")
DATA_STEPS = ("x", "y")
# Model.fit arguments that the spec does not take (the data comes from the data section).
FIT_EXCLUDED = ("x", "y", "validation_data", "sample_weight", "stream")
# Metric names that Keras resolves from the label and output shapes rather than by lookup.
SHAPE_RESOLVED_METRICS = ("accuracy", "acc")


class SectionRules:
    """Resolver methods for the data, compile and fit sections (see ``resolver._Resolver``)."""

    # -- data -----------------------------------------------------------------------------------------
    def data(self, value):
        from kspec.data import SOURCE_KEYS, STEPS, StepError, build_pipeline

        value = self.mapping(value, ("data",), "data",
                             hint="e.g. data: {train: {path: train.csv}, x: [standardize]}")
        if value is None:
            return {}
        allowed = DATA_SPLITS + DATA_STEPS
        self.unknown_keys(value, ("data",), allowed, "data")
        out = {}
        for split in DATA_SPLITS:
            if value.get(split) is not None:
                out[split] = self.source(value[split], ("data", split), SOURCE_KEYS)
        for side in DATA_STEPS:
            steps = value.get(side)
            if steps is None:
                continue
            path = ("data", side)
            if isinstance(steps, dict) and not is_step(steps, STEPS):
                out[side] = {k: self.steps(v, path + (k,), STEPS, StepError, build_pipeline)
                             for k, v in steps.items()}
            else:
                out[side] = self.steps(steps, path, STEPS, StepError, build_pipeline)
        return out

    def source(self, value, path, keys):
        if isinstance(value, str):
            value = {"path": value}
        value = self.mapping(value, path, f"data.{path[-1]}",
                             hint="e.g. {dataset: mnist, split: train} or {path: data/train.csv}")
        if value is None:
            return None
        self.unknown_keys(value, path, keys, f"data.{path[-1]}")
        self.source_format(value, path)
        self.source_keys(value, path)
        out = dict(value)
        if "dataset" in out:
            self.dataset(out, path)
        if "path" in out:
            out["path"] = self.file_path(out["path"], path + ("path",))
        elif "dataset" not in out:
            for side in DATA_STEPS:
                if isinstance(out.get(side), str):
                    out[side] = self.file_path(out[side], path + (side,))
                elif isinstance(out.get(side), dict):
                    out[side] = {k: self.file_path(v, path + (side, k)) for k, v in out[side].items()}
        return out

    def dataset(self, value, path):
        """``dataset`` is a known name and ``split`` one of its splits (what ``load_dataset`` reads)."""
        from kspec.data.datasets import SPLITS, dataset_names

        name, names = value["dataset"], dataset_names()
        if name not in names:
            self.err(path + ("dataset",), f"data.{path[-1]}: unknown dataset {name!r}{did_you_mean(name, names)}",
                     hint=f"datasets: {', '.join(names)}; or {{path: FILE}} for your own data")
        split = value.get("split")
        if split is None:
            self.err(path, f"data.{path[-1]}: dataset {name} needs a split", hint="add split: train or test")
        elif split not in SPLITS:
            self.err(path + ("split",), f"data.{path[-1]}: unknown split {split!r}{did_you_mean(split, SPLITS)}",
                     hint=f"splits: {', '.join(SPLITS)}")

    def source_keys(self, value, path):
        """``x``/``y`` of a source: an array key (or file) name, or a mapping input/output name -> one."""
        what = f"data.{path[-1]}"
        for side in DATA_STEPS:
            v = value.get(side)
            if v is None or isinstance(v, str):
                continue
            if not isinstance(v, dict):
                self.err(path + (side,), f"{what}.{side} must be an array key or file name, or a mapping "
                                         f"of input names to them, found {describe(v)}",
                         hint=f"e.g. {side}: {side} or {side}: {{left: left_{side}, right: right_{side}}}")
                continue
            for k, item in v.items():
                if not isinstance(k, str):
                    self.err(path + (side, k), f"{what}.{side}: the names in this mapping are the model's "
                                               f"{'input' if side == 'x' else 'output'} names, found "
                                               f"{describe(k)}", key=True)
                elif not isinstance(item, str) or not item:
                    self.err(path + (side, k), f"{what}.{side}.{k} must be an array key or file name, found "
                                               f"{describe(item)}")

    def source_format(self, value, path):
        """``format`` is a known one; token ids and text take no table options, and no x/y keys
        unless the file is JSON lines (whose objects have fields)."""
        from kspec.data.formats import FORMATS, LINE_FORMATS

        fmt, what = value.get("format"), f"data.{path[-1]}"
        if fmt is None:
            return
        if not isinstance(fmt, str) or fmt not in FORMATS:
            self.err(path + ("format",), f"{what}: unknown format {fmt!r}{did_you_mean(fmt, FORMATS)}",
                     hint=f"formats: {', '.join(FORMATS)}")
            return
        if fmt not in LINE_FORMATS:
            return
        labels = "give the labels as a file beside x, {x: FILE, y: LABELS_FILE} (one label per line)"
        for key in ("header", "label_column", "delimiter"):
            if key in value:
                self.err(path + (key,), f"{what}: {key} is an option of csv tables, not of {fmt} files",
                         key=True, hint=labels)
        jsonl = str(value.get("path", "")).lower().endswith((".jsonl", ".ndjson"))
        if "path" in value and (fmt == "text" or not jsonl):
            for key in ("x", "y"):
                if key in value:
                    self.err(path + (key,), f"{what}: a {fmt} file holds one sample per line, not named "
                                            f"arrays for x/y to pick", key=True,
                             hint=labels + ", or JSON lines objects with x/y fields")

    def file_path(self, value, path, must_exist=False):
        if not isinstance(value, str) or not value:
            self.err(path, f"expected a file path, found {describe(value)}")
            return value
        resolved = self.doc.resolve_path(value)
        if must_exist and self.doc.check_files and not os.path.isfile(resolved):
            self.err(path, f"file not found: {value}" + (f" ({resolved})" if resolved != value else ""),
                     hint="paths in a spec are relative to the spec file's folder")
        return resolved

    def steps(self, value, path, table, step_error, build):
        if not isinstance(value, list):
            value = [value]
            listed = False
        else:
            listed = True
        for i, item in enumerate(value):
            ipath = path + (i,) if listed else path
            if isinstance(item, dict) and len(item) == 1:
                name = next(iter(item))
                npath = ipath + (name,)
            elif isinstance(item, str):
                name, npath = item, ipath
            else:
                self.err(ipath, f"a preprocessing step is a name or {{name: argument}}, found "
                                f"{describe(item)}", hint="e.g. {scale: 255} or standardize")
                continue
            if name not in table:
                self.err(npath, f"unknown preprocessing step {name!r}{did_you_mean(name, table)}",
                         key=isinstance(item, dict), hint=f"steps are {', '.join(table)}")
                continue
            try:
                build([item])
            except step_error as e:
                self.err(npath, str(e.message if hasattr(e, "message") else e),
                         hint=getattr(e, "hint", None))
        return value

    # -- compile and fit ------------------------------------------------------------------------------
    def compile(self, value, path=("compile",), base=None):
        """The resolved ``compile`` section; with ``base`` (a resolved section), a stage's keys replace
        those of ``base`` and the rest is kept."""
        from kspec.models import Model

        defaults = sig.method_arguments(Model, "compile")
        value = self.mapping(value, path, "compile",
                             hint="e.g. compile: {optimizer: adam, loss: categorical_crossentropy}")
        if value is None:
            value = {}
        self.unknown_keys(value, path, list(defaults), "compile")
        out = {}
        for key, default in defaults.items():
            if base is not None and key not in value:
                out[key] = base[key]
                continue
            v = value.get(key, default) if key in value else plain(default)
            kpath = path + (key,)
            if key == "optimizer":
                v = self.object("optimizer", v, kpath, fill=True)
            elif key == "loss":
                if v is None and "loss" in value:
                    self.err(kpath, "compile: loss is null, but training needs a loss",
                             hint="e.g. loss: categorical_crossentropy")
                v = self.per_output(lambda x, p: self.object("loss", x, p), v, kpath)
            elif key in ("metrics", "weighted_metrics"):
                v = self.metrics(v, kpath)
            out[key] = v
        if "loss" not in value and base is None:
            self.err(path if "compile" in (self.doc.data or {}) else (), "compile: missing key 'loss'",
                     hint="e.g. loss: categorical_crossentropy", key="compile" in (self.doc.data or {}))
        return out

    def _per_output_mapping(self, value):
        """A dict maps output names to values when it has several keys or its one key names a model
        output (``loss: {species: mse}``); otherwise it is one object (``{Huber: {delta: 2}}``)."""
        if not isinstance(value, dict) or not value:
            return False  # {} is an (empty, wrong) object, reported as such
        if len(value) > 1:
            return True
        model = (self.doc.data or {}).get("model") if isinstance(self.doc.data, dict) else None
        outputs = model.get("outputs") if isinstance(model, dict) else None
        outputs = [outputs] if isinstance(outputs, str) else outputs
        return isinstance(outputs, list) and next(iter(value), None) in outputs

    def per_output(self, fn, value, path):
        if isinstance(value, list):
            return [fn(v, path + (i,)) for i, v in enumerate(value)]
        if self._per_output_mapping(value):
            return {k: fn(v, path + (k,)) for k, v in value.items()}
        return fn(value, path)

    def metrics(self, value, path):
        if value is None:
            return []
        if self._per_output_mapping(value):  # per output
            return {k: self.metrics(v, path + (k,)) for k, v in value.items()}
        items = value if isinstance(value, list) else [value]
        out = []
        for i, item in enumerate(items):
            ipath = path + (i,) if isinstance(value, list) else path
            if item is None and isinstance(value, list):
                self.err(ipath, "an empty metric entry", hint="remove the '-' line, or name a metric")
                continue
            if isinstance(item, str) and item in SHAPE_RESOLVED_METRICS:
                out.append(item)
            elif isinstance(item, str) and not is_reference(item) and registry.lookup("metric", item) is None \
                    and registry.lookup("loss", item) is not None:
                out.append(item)  # Keras accepts loss names as metrics (mse, mae, ...)
            else:
                out.append(self.object("metric", item, ipath))
                self.compile_metric(out[-1], ipath)
        return out

    def compile_metric(self, value, path):
        """A compile metric is updated with (y_true, y_pred): Sum and Mean, which take values, are not."""
        import inspect

        name = value if isinstance(value, str) else next(iter(value)) if isinstance(value, dict) and \
            len(value) == 1 else None
        try:
            cls = registry.lookup("metric", name) if isinstance(name, str) else None
        except UserCodeError:
            return  # user code that can't be loaded: reported where the metric was read
        if inspect.isclass(cls) and "y_pred" not in inspect.signature(cls.update_state).parameters:
            self.err(path, f"metric {name!r} sums or averages given values; it cannot be a compile metric "
                           f"(those are updated with y_true and y_pred)",
                     hint="use a metric of predictions, e.g. mean_squared_error or accuracy")

    def fit(self, value, path=("fit",), base=None):
        """The resolved ``fit`` section; with ``base``, as :meth:`compile`."""
        from kspec.models import Model

        defaults = sig.method_arguments(Model, "fit", FIT_EXCLUDED)
        value = self.mapping(value, path, "fit", hint="e.g. fit: {batch_size: 32, epochs: 10}")
        if value is None:
            value = {}
        self.unknown_keys(value, path, list(defaults), "fit")
        out = {}
        for key, default in defaults.items():
            kpath = path + (key,)
            if key not in value:
                out[key] = base[key] if base is not None else [] if key == "callbacks" else plain(default)
                continue
            v = value[key]
            if key == "callbacks":
                items = v if isinstance(v, list) else [] if v is None else [v]
                v = [self.object("callback", c, kpath + (i,) if isinstance(v, list) else kpath)
                     for i, c in enumerate(items)]
            elif key == "class_weight":
                v = self.class_weight(v, kpath)
            elif key == "verbose":
                if v not in ("auto", 0, 1, 2) or isinstance(v, bool):
                    self.err(kpath, f"fit.verbose must be auto, 0, 1 or 2, found {v!r}")
            elif key in ("epochs", "batch_size", "initial_epoch", "steps_per_epoch", "validation_steps",
                         "validation_batch_size"):
                v = self.integer(v, kpath, key, minimum=0 if key == "initial_epoch" else 1,
                                 optional=default is None)
            elif key == "validation_split":
                if not is_number(v) or not 0 <= v < 1:
                    self.err(kpath, f"fit.validation_split must be a fraction in [0, 1), found {v!r}")
                else:
                    v = float(v)
            elif key == "terminate_on_nan" and not isinstance(v, bool):
                self.err(kpath, f"fit.terminate_on_nan must be true or false, found {v!r}")
            elif key == "shuffle" and not (isinstance(v, bool) or v == "batch"):
                self.err(kpath, f"fit.shuffle must be true, false or batch, found {v!r}")
            out[key] = v
        return out

    def integer(self, v, path, key, minimum, optional):
        if v is None and optional:
            return None
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            self.err(path, f"fit.{key} must be an integer >= {minimum}, found {v!r}")
        return v

    def class_weight(self, v, path):
        if v is None:
            return None
        if not isinstance(v, dict):
            self.err(path, f"fit.class_weight maps class indices to weights, found {describe(v)}",
                     hint="e.g. class_weight: {0: 1.0, 1: 5.0}")
            return None
        out = {}
        for k, w in v.items():
            key = int(k) if isinstance(k, str) and k.isdigit() else k
            if isinstance(key, bool) or not isinstance(key, int) or not is_number(w):
                self.err(path + (k,), f"fit.class_weight: expected class index: weight, found "
                                      f"{k!r}: {w!r}", key=True)
                continue
            out[key] = float(w)
        return out

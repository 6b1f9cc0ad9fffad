"""Checks that need the built model: the loss against the output, then the data against the spec.

:func:`check_losses` runs before any data is read (a categorical loss on one unit, sparse labels against
the one-hot labels the data pipeline makes, a one_hot size that differs from the output). :func:`check_data`
runs after the data is read and preprocessed, before training: the input shape and dtype, NaN/inf in the
inputs, the label range against the number of units. Problems are spec errors at the line of the loss, the
layer or the data entry; the other place involved is added as a note.
"""
from kspec import registry
from kspec.user_code import is_reference
from kspec.data.finite import non_finite_message
from kspec.spec.errors import SpecError
from kspec.spec.resolver import sort_diagnostics

CATEGORICAL = ("categorical_crossentropy", "categorical_focal_crossentropy", "categorical_hinge")
SPARSE = ("sparse_categorical_crossentropy",)


def loss_family(value):
    """``categorical_crossentropy``-style snake name of a loss spec value (a name or {Class: args})."""
    name = value
    if isinstance(value, dict) and len(value) == 1:
        name = next(iter(value))
    if not isinstance(name, str) or is_reference(name):
        return None  # a user's loss has no family to check labels against
    obj = registry.lookup("loss", name)
    if obj is None:
        return None
    return registry.snake_case(getattr(obj, "__name__", name))


def _outputs(model, spec):
    """[(output name or None, path of the layer making it, output shape)]."""
    model_spec = spec["model"]
    shapes = model.output_shape
    if model_spec.get("inputs") is None:
        return [(None, ("model", "layers", len(model_spec["layers"]) - 1), tuple(shapes))]
    names = model_spec.get("outputs") or []
    shapes = shapes if isinstance(shapes, list) else [shapes]
    out = []
    for name, shape in zip(names, shapes):
        path = ("model",)
        for i, entry in enumerate(model_spec["layers"]):
            args = entry.get("name") if "apply" in entry or "load" in entry else next(iter(entry.values())).get("name")
            if args == name:
                path = ("model", "layers", i)
        out.append((name, path, tuple(shape)))
    return out


def _loss_for(loss, name, index):
    if isinstance(loss, list):
        return (loss[index] if index < len(loss) else None), ("compile", "loss", index)
    if isinstance(loss, dict) and len(loss) > 1:
        return loss.get(name), ("compile", "loss", name)
    return loss, ("compile", "loss")


def _one_hot_step(spec, name):
    """(classes, path) of the data.y one_hot step for an output, or (None, None)."""
    steps = (spec.get("data") or {}).get("y")
    path = ("data", "y")
    if isinstance(steps, dict) and name in steps:
        steps, path = steps[name], path + (name,)
    items = steps if isinstance(steps, list) else [steps] if steps is not None else []
    for i, step in enumerate(items):
        ipath = path + (i,) if isinstance(steps, list) else path
        if isinstance(step, dict) and "one_hot" in step:
            return step["one_hot"], ipath + ("one_hot",)
    return None, None


def check_losses(model, spec, doc):
    """Raise SpecError when a loss cannot fit the output it is applied to."""
    errors = []

    def report(path, message, hint=None, note_path=None, note=None):
        errors.append(_diag(doc, path, message, hint))
        if note_path is not None:
            errors.append(_diag(doc, note_path, note, severity="note"))

    loss = spec["compile"].get("loss")
    for index, (name, layer_path, shape) in enumerate(_outputs(model, spec)):
        value, loss_path = _loss_for(loss, name, index)
        family = loss_family(value)
        units = shape[-1] if shape else None
        classes, step_path = _one_hot_step(spec, name)
        where = f"output {name!r}" if name else "the output"
        if family in CATEGORICAL + SPARSE and units == 1:
            report(loss_path, f"{family} on {where} of 1 unit (shape {_fmt(shape)}): with one class the loss "
                              f"is always 0 and nothing is learnt",
                   hint="for two classes use binary_crossentropy with a sigmoid unit, or give the last layer "
                        "one unit per class with softmax",
                   note_path=layer_path, note=f"the output {_fmt(shape)} is made here")
        elif family in SPARSE and classes is not None:
            report(loss_path, f"{family} takes class ids, but data.y turns the labels into one-hot vectors "
                              f"(one_hot: {classes})",
                   hint="use categorical_crossentropy, or remove the one_hot step",
                   note_path=step_path, note="the labels become one-hot here")
        elif family in CATEGORICAL and classes is not None and units is not None and classes != units:
            report(step_path, f"one_hot: {classes} makes labels of {classes} classes, but {where} has "
                              f"{units} units (shape {_fmt(shape)})",
                   hint=f"make them agree: one_hot: {units}, or {classes} units in the last layer",
                   note_path=layer_path, note=f"the output {_fmt(shape)} is made here")
    _check_reshape_step(model, spec, report)
    if any(d.severity == "error" for d in errors):
        raise SpecError(_ordered(errors))


def _check_reshape_step(model, spec, report):
    """The last ``reshape`` of data.x must give the model's input shape (known before any data)."""
    want = getattr(model, "input_shape", None)
    steps = (spec.get("data") or {}).get("x")
    if not isinstance(want, tuple) or any(isinstance(w, (tuple, list)) for w in want) \
            or not isinstance(steps, list):
        return
    for i in range(len(steps) - 1, -1, -1):
        step = steps[i]
        if isinstance(step, dict) and "reshape" in step:
            target = step["reshape"]
            target = [target] if isinstance(target, int) else target
            if not isinstance(target, list) or -1 in target:
                return
            if len(target) != len(want) - 1 or any(w is not None and w != t for w, t in zip(want[1:], target)):
                report(("data", "x", i, "reshape"), f"reshape: the samples become {target}, but the model "
                                                    f"takes {list(want[1:])}",
                       hint="make data.x's reshape and model.input_shape agree",
                       note_path=("model", "input_shape") if spec["model"].get("input_shape") else ("model",),
                       note="the model's input shape is set here")
            return


def check_data(model, spec, doc, splits):
    """Raise SpecError when the (preprocessed) data does not fit the model: every problem at once."""
    import numpy as np

    errors = []
    inputs = _input_shapes(model, spec)
    outputs = _outputs(model, spec)
    loss = spec["compile"].get("loss")
    for split, (x, y) in splits.items():
        path = ("data", split)
        if isinstance(x, dict):
            for name, arr in x.items():
                if name in inputs:
                    errors.extend(_input_problems(doc, path, f"data.{split} (input {name!r})",
                                                  np.asarray(arr), inputs[name]))
        elif None in inputs:
            errors.extend(_input_problems(doc, path, f"data.{split}", np.asarray(x), inputs[None]))
        if y is None or isinstance(y, (dict, list)) or len(outputs) != 1:
            continue
        errors.extend(_label_problems(doc, path, f"data.{split}", np.asarray(y), outputs[0], loss))
    errors.extend(_split_problems(doc, spec, splits))
    if errors:
        raise SpecError(sort_diagnostics(errors))


def _split_problems(doc, spec, splits):
    """``fit.validation_split`` must leave samples on both sides (Model.fit raises otherwise)."""
    import math

    fraction = spec["fit"].get("validation_split") or 0.0
    if not fraction or "train" not in splits or "validation" in splits:
        return []
    from kspec.models.data_adapter import num_samples

    x, y = splits["train"]
    n = num_samples(x, y) if y is not None else num_samples(x)
    split_at = int(math.floor(n * (1.0 - fraction)))
    if 0 < split_at < n:
        return []
    return [doc.diagnostic(("fit", "validation_split"), f"fit: validation_split={fraction} leaves no "
                           f"{'training' if split_at == 0 else 'validation'} samples out of {n}",
                           hint="use a fraction that leaves at least one sample on each side")]


def _input_shapes(model, spec):
    """{None: full input shape} for one unnamed input, else {input name: full shape}."""
    want = getattr(model, "input_shape", None)
    if isinstance(want, tuple) and not any(isinstance(w, (tuple, list)) for w in want):
        names = list((spec["model"].get("inputs") or {}))
        return {None: want, **({names[0]: want} if len(names) == 1 else {})}
    names = list((spec["model"].get("inputs") or {}))
    if isinstance(want, list) and len(names) == len(want):
        return dict(zip(names, (tuple(w) for w in want)))
    return {}


def _input_problems(doc, path, what, arr, want):
    import numpy as np

    if arr.dtype.kind not in "biuf":
        return [_diag(doc, path, f"{what}: the inputs are {arr.dtype} values, not numbers",
                      hint="check the columns of the file (a text column?) or add astype")]
    got = tuple(arr.shape[1:])
    if len(got) != len(want) - 1 or any(w is not None and w != g for w, g in zip(want[1:], got)):
        hint = "change model.input_shape or the data.x steps"
        if len(want) == 2 and int(np.prod(got)) == want[1]:
            hint = f"add {{reshape: [{want[1]}]}} to data.x"
        return [_diag(doc, path, f"{what}: the samples have shape {list(got)} after preprocessing, but the "
                                 f"model takes {list(want[1:])}", hint=hint)]
    message = non_finite_message(arr)
    if message:
        return [_diag(doc, path, f"{what}: {message} in the inputs", hint="clean the file, or drop those rows")]
    return []


def check_raw_inputs(doc, splits):
    """NaN/inf in the inputs as read, before preprocessing (a standardize step would spread one NaN cell
    over its whole column, and into every split): a SpecError at each split's entry."""
    errors = []
    for split, x in splits.items():
        arrays = x.items() if isinstance(x, dict) else [(None, x)]
        for name, arr in arrays:
            message = non_finite_message(arr) if getattr(arr, "dtype", None) is not None else None
            if message:
                what = f"data.{split}" + (f" (input {name!r})" if name is not None else "")
                errors.append(_diag(doc, ("data", split), f"{what}: {message} in the inputs as read",
                                    hint="clean the file, or drop those rows"))
    if errors:
        raise SpecError(sort_diagnostics(errors))


def _label_problems(doc, path, what, y, output, loss):
    import numpy as np

    _, _, shape = output
    units = shape[-1] if shape else None
    family = loss_family(loss)
    if y.dtype.kind not in "biuf":
        return [_diag(doc, path, f"{what}: the labels are {y.dtype} values, not numbers",
                      hint="class names in a CSV label column are mapped to ids; is label_column right?")]
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        return [_diag(doc, path, f"{what}: the labels hold NaN or inf values")]
    steps = tuple(shape[1:-1]) if shape else ()     # the axes before the classes: () or (timesteps,) ...
    ids = any(len(y.shape[1:]) == len(want) and all(w is None or w == d for w, d in zip(want, y.shape[1:]))
              for want in (steps, steps + (1,)))
    if family in SPARSE and units is not None:
        if not ids:
            expected = "(" + ", ".join(["n"] + ["None" if d is None else str(d) for d in steps]) + \
                (",)" if not steps else ")")
            return [_diag(doc, path, f"{what}: {family} takes class ids of shape {expected}, but the labels "
                                     f"have shape {list(y.shape)}", hint="use categorical_crossentropy for "
                                                                         "one-hot labels")]
        if y.size and (not np.all(y == np.round(y)) or y.min() < 0 or y.max() >= units):
            return [_diag(doc, path, f"{what}: the labels run from {y.min():g} to {y.max():g}, but the output "
                                     f"has {units} units (class ids 0..{units - 1})",
                          hint=f"give the last layer {int(y.max()) + 1} units" if y.min() >= 0 else None)]
    if family in CATEGORICAL and units is not None and units > 1:
        if ids:
            return [_diag(doc, path, f"{what}: {family} takes one-hot labels of shape (n, {units}), but the "
                                     f"labels are class ids of shape {list(y.shape)}",
                          hint=f"add {{one_hot: {units}}} to data.y, or use sparse_categorical_crossentropy")]
        if y.shape[-1] != units:
            return [_diag(doc, path, f"{what}: the labels have {y.shape[-1]} columns but the output has "
                                     f"{units} units")]
    if family == "binary_crossentropy" and y.size and y.dtype.kind in "biuf" and (y.min() < 0 or y.max() > 1):
        return [_diag(doc, path, f"{what}: binary_crossentropy takes labels in [0, 1], but they run from "
                                 f"{y.min():g} to {y.max():g}")]
    return []


def _diag(doc, path, message, hint=None, severity="error"):
    from kspec.spec.errors import Diagnostic
    if doc is None:
        return Diagnostic("<spec>", None, None, message, hint=hint, severity=severity)
    return doc.diagnostic(path, message, hint=hint, severity=severity)


def _ordered(diagnostics):
    """Errors in file order, each followed by its note."""
    pairs, current = [], None
    for d in diagnostics:
        if d.severity == "note" and current is not None:
            current.append(d)
        else:
            current = [d]
            pairs.append(current)
    pairs.sort(key=lambda p: (p[0].line is None, p[0].line or 0, p[0].col or 0))
    return [d for p in pairs for d in p]


def _fmt(shape):
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"

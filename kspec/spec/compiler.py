"""From a resolved spec to a built and compiled Model (no data needed).

Every layer is built as it is added, so each output shape is known before any data is read; a layer
that cannot be built (a bad argument value, a shape that does not fit) is reported at its line in the
spec. Warnings raised while building (other than the Keras 2 names the resolver already reported)
are kept as spec warnings.
"""
import contextlib
import warnings

from kspec.spec.errors import Diagnostic, SpecError
from kspec.spec.resolver import sort_diagnostics

_EXPECTED = (ValueError, TypeError, KeyError, IndexError, NotImplementedError, MemoryError, OverflowError)


def _reraise_unless_expected(e):
    """Errors a spec can cause are reported at its line; so is any failure inside the user's code."""
    from kspec.user_code import user_frames
    if not isinstance(e, _EXPECTED) and not user_frames(e):
        raise e


def _failure(e):
    """The message of ``e``, with the user's own frames when it happened in their code."""
    from kspec.user_code import user_frames
    frames = user_frames(e)
    return _message(e) + (f" ({type(e).__name__})\n{frames.rstrip()}" if frames else "")


def build_model(spec, doc=None):
    """A built Sequential model for the resolved spec ``spec`` (layers named dense, dense_1, ...).

    Seeds the backend with ``spec["seed"]`` (when set) and clears the layer-name counters first, so the
    same spec gives the same initial weights and names. The weights together must fit the memory budget
    (:mod:`kspec.backend.memory`), checked before each is allocated.
    """
    from kspec.backend import memory

    with memory.limited():
        return _build_model(spec, doc)


def _build_model(spec, doc):
    from kspec import backend
    from kspec.layers import InputLayer, clear_session
    from kspec.models import Sequential
    from kspec import registry

    errors = []
    model_spec = spec["model"]
    if spec.get("seed") is not None:
        backend.set_seed(spec["seed"])
    clear_session()
    if model_spec.get("inputs") is not None:  # a graph model
        from kspec.spec.graph import build_graph
        return build_graph(spec, doc)
    if any("load" in entry for entry in model_spec["layers"] if entry):  # a saved model inside
        from kspec.spec.transfer import build_chain
        return build_chain(spec, doc)
    with _captured(doc, ("model",)):
        cls = Sequential if model_spec.get("class") is None else registry.lookup("model", model_spec["class"])
        model = cls(name=model_spec.get("name"))
    if model_spec.get("input_shape") is not None:
        model.add(InputLayer(shape=tuple(model_spec["input_shape"])))
    for i, entry in enumerate(model_spec["layers"]):
        path = ("model", "layers", i)
        (class_name, args), = entry.items()
        cls = registry.lookup("layer", class_name)
        try:
            with _captured(doc, path):
                layer = cls(**args)
        except Exception as e:  # noqa: BLE001 - expected errors, and any failure in the user's own code
            _reraise_unless_expected(e)
            errors.append(_diag(doc, path, f"{class_name}: {_failure(e)}"))
            continue
        if errors:
            continue  # the shapes after a broken layer mean nothing
        try:
            with _captured(doc, path):
                model.add(layer)
        except Exception as e:  # noqa: BLE001 - as above
            _reraise_unless_expected(e)
            shape = _input_shape_of(model)
            where = f" (input shape {shape})" if shape is not None else ""
            if type(e).__name__ == "MemoryBudgetError":
                where = f" on input shape {shape}" if shape is not None else ""
                errors.append(_diag(doc, path, f"{class_name}{where}: {_message(e)}"))
            else:
                errors.append(_diag(doc, path, f"{class_name}: cannot build on its input{where}: "
                                               f"{_failure(e)}"))
    if errors:
        raise SpecError(sort_diagnostics(errors))
    if not model.built:
        raise SpecError(_diag(doc, ("model",), "model: the input shape is unknown",
                              hint="add input_shape: [...] to the model section"))
    return model


def compile_model(model, spec, doc=None):
    """Compile ``model`` with the spec's ``compile`` section; returns the model."""
    from kspec import losses, optimizers
    from kspec.spec.consistency import check_losses

    check_losses(model, spec, doc)
    compile_args = dict(spec["compile"])
    errors = []
    try:
        with _captured(doc, ("compile", "optimizer")):
            compile_args["optimizer"] = optimizers.get(compile_args["optimizer"])
    except _EXPECTED as e:
        errors.append(_diag(doc, ("compile", "optimizer"), f"optimizer: {_message(e)}"))
    loss = compile_args.get("loss")
    for path, value in _each_output(loss, ("compile", "loss"), model.output_names):
        try:
            with _captured(doc, path):
                losses.get(value)
        except _EXPECTED as e:
            errors.append(_diag(doc, path, f"loss: {_message(e)}"))
    if errors:
        raise SpecError(errors)
    try:
        with _captured(doc, ("compile",)):
            model.compile(**compile_args)
    except _EXPECTED as e:
        raise SpecError(_diag(doc, ("compile",), f"compile: {_message(e)}")) from None
    return model


# Callback arguments that name a file: relative ones are placed in the run folder.
_CALLBACK_PATHS = ("filepath", "filename", "log_dir", "backup_dir")


def make_callbacks(spec, doc=None, run_dir=None):
    """The callback objects of ``fit.callbacks``. With ``run_dir``, relative file arguments
    (``ModelCheckpoint.filepath``, ``CSVLogger.filename``) are taken inside the run folder."""
    import os

    from kspec.serialization import deserialize

    out, errors = [], []
    for i, value in enumerate(spec["fit"].get("callbacks") or []):
        path = ("fit", "callbacks", i)
        if run_dir is not None and isinstance(value, dict) and len(value) == 1:
            (name, args), = value.items()
            args = {k: os.path.join(run_dir, v) if k in _CALLBACK_PATHS and isinstance(v, str)
                    and not os.path.isabs(v) else v for k, v in (args or {}).items()}
            value = {name: args}
        try:
            with _captured(doc, path):
                out.append(deserialize("callback", value))
        except _EXPECTED as e:
            errors.append(_diag(doc, path, f"callback: {_message(e)}"))
    if errors:
        raise SpecError(errors)
    return out


def fit_arguments(spec, verbose=None):
    """``Model.fit`` keyword arguments from the ``fit`` section (callbacks excluded)."""
    args = {k: v for k, v in spec["fit"].items() if k != "callbacks"}
    if verbose is not None:
        args["verbose"] = verbose
    return args


# ------------------------------------------------------------------------------------------- helpers

def _diag(doc, path, message, hint=None):
    if doc is None:
        return Diagnostic("<spec>", None, None, message, hint=hint)
    return doc.diagnostic(path, message, hint=hint)


def _message(e):
    if isinstance(e, MemoryError):
        return f"too large for memory ({e})"
    text = str(e.args[0]) if getattr(e, "args", None) else str(e)
    return text or type(e).__name__


def _input_shape_of(model):
    layers = model.layers
    if layers:
        return layers[-1].output_shape
    return model.input_shape


def _each_output(value, path, output_names=()):
    """(path, value) of each output's entry: a list, a dict by output name, or one shared value."""
    if isinstance(value, list):
        return [(path + (i,), v) for i, v in enumerate(value) if v is not None]
    if isinstance(value, dict) and (len(value) > 1 or next(iter(value), None) in output_names):
        return [(path + (k,), v) for k, v in value.items() if v is not None]
    return [] if value is None else [(path, value)]


@contextlib.contextmanager
def _captured(doc, path):
    """Turn warnings raised while building into spec warnings at ``path``. DeprecationWarnings about
    Keras 2 names are dropped: the resolver reported them already, with their line."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    if doc is None:
        return
    seen = {d.message for d in doc.warnings}
    for w in caught:
        if issubclass(w.category, DeprecationWarning):
            continue
        d = doc.diagnostic(path, str(w.message), severity="warning")
        if d.message not in seen:
            doc.warnings.append(d)
            seen.add(d.message)

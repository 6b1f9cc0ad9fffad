"""User code named in a spec or a model file (``module:Name``), and the one switch that allows it.

Importing a module runs its code, so kspec imports user code only inside an allowing scope:

    with SafeModeScope(safe_mode=False):       # what --allow-code and allow_code=True set
        cls = load("layer", "userlib:Scale")

The scope is a context variable, so it ends with the command or call that set it; ``KSPEC_ALLOW_CODE=1``
only sets the default. The same switch guards ``Lambda`` references, spec entries and model-file
loading. Modules are searched in :class:`CodeDirs` folders first (the spec's folder, a run's ``code/``
copy), then on ``sys.path``; every module loaded is remembered so a run can keep a copy of it.
"""
import contextvars
import importlib
import inspect
import os
import re
import sys
import sysconfig
import traceback

from kspec.errors import EXIT_ERROR, EXIT_USAGE, KspecError

_ALLOWED = contextvars.ContextVar("kspec_allow_code", default=None)
_DIRS = contextvars.ContextVar("kspec_code_dirs", default=())
_CUSTOM = contextvars.ContextVar("kspec_custom_objects", default=None)
_REFERENCE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$")
ENV = "KSPEC_ALLOW_CODE"
ALLOW_HINT = "pass --allow-code (Python: allow_code=True) if you trust this code"

# What each kind must be: (module, class name) of its base class; functions are taken where Keras takes
# functions. Looked up with importlib, as the registry loads its kinds, so this floor imports none of them.
_BASES = {
    "layer": ("kspec.layers.base", "Layer", False),
    "callback": ("kspec.models.callbacks", "Callback", False),
    "optimizer": ("kspec.optimizers.base", "Optimizer", False),
    "schedule": ("kspec.optimizers.schedules", "LearningRateSchedule", False),
    "loss": ("kspec.losses.loss", "Loss", True),
    "metric": ("kspec.metrics.base", "Metric", True),
    "initializer": ("kspec.initializers", "Initializer", True),
    "regularizer": ("kspec.regularizers", "Regularizer", True),
    "constraint": ("kspec.constraints", "Constraint", True),
    "activation": (None, None, True),
    "model": ("kspec.models.model", "Model", False),
}
_loaded = {}  # module name -> file of every user module imported through load()


class UserCodeError(KspecError, ValueError):
    """User code that may not or could not be loaded, or that failed; ``hint`` is a likely fix and
    ``user_traceback`` the user's own frames (empty when the failure is not inside their code). Refused
    code (no switch) is a usage error, exit 2; code that fails is the user's runtime error, exit 1."""

    def __init__(self, message, hint=None, user_traceback="", refused=False):
        self.user_traceback = user_traceback
        super().__init__(message, hint=hint, exit_code=EXIT_USAGE if refused else EXIT_ERROR)

    def format(self):
        text = super().format()
        return text + ("\n" + self.user_traceback.rstrip() if self.user_traceback else "")


def code_allowed():
    """Whether user code may be imported here: the innermost scope, else ``KSPEC_ALLOW_CODE``."""
    value = _ALLOWED.get()
    if value is None:
        return os.environ.get(ENV, "").lower() in ("1", "true", "yes")
    return value


class SafeModeScope:
    """Keras's scope: ``safe_mode=True`` refuses user code, ``False`` allows it, ``None`` keeps the outer
    setting. Re-entrant and per context (thread, task)."""

    def __init__(self, safe_mode=True):
        self.safe_mode = safe_mode
        self._token = None

    def __enter__(self):
        if self.safe_mode is not None:
            self._token = _ALLOWED.set(not self.safe_mode)
        return self

    def __exit__(self, *exc):
        if self._token is not None:
            _ALLOWED.reset(self._token)
            self._token = None


def allow_code(allowed=True):
    """A scope that allows (or, with False, refuses) user code; None keeps the outer setting."""
    return SafeModeScope(None if allowed is None else not allowed)


class CodeDirs:
    """A scope whose folders are searched for user modules before ``sys.path`` (innermost first)."""

    def __init__(self, *dirs):
        self.dirs = tuple(os.path.abspath(d) for d in dirs if d)
        self._token = None

    def __enter__(self):
        self._token = _DIRS.set(self.dirs + _DIRS.get())
        return self

    def __exit__(self, *exc):
        _DIRS.reset(self._token)


class CustomObjectScope:
    """Keras's ``custom_objects``: names looked up here before the registry (no import, no switch)."""

    def __init__(self, objects=None):
        self.objects = dict(objects or {})
        self._token = None

    def __enter__(self):
        self._token = _CUSTOM.set({**(_CUSTOM.get() or {}), **self.objects})
        return self

    def __exit__(self, *exc):
        _CUSTOM.reset(self._token)


def custom_object(name):
    """The object ``custom_objects`` maps ``name`` (or ``module:name``'s name) to, or None."""
    objects = _CUSTOM.get() or {}
    if name in objects:
        return objects[name]
    return objects.get(name.rsplit(":", 1)[-1]) if isinstance(name, str) and ":" in name else None


def is_reference(text):
    """Whether ``text`` names user code: ``module:Name`` (dots allowed in the module)."""
    return isinstance(text, str) and bool(_REFERENCE.match(text.strip()))


def load(kind, reference):
    """The class or function ``module:Name`` names, checked to be a ``kind``. Raises UserCodeError when
    code is not allowed (nothing is imported then), the module or name is missing, importing fails, or
    the object is of another kind."""
    reference = reference.strip()
    module_name, name = reference.split(":")
    if not code_allowed():
        raise UserCodeError(f"{reference!r} is user code; kspec imports code named in a spec or a model "
                            f"file only when told to, because importing a module runs it", hint=ALLOW_HINT,
                            refused=True)
    module = _import(module_name, reference)
    try:
        obj = getattr(module, name)
    except AttributeError:
        public = [n for n in dir(module) if not n.startswith("_")]
        from difflib import get_close_matches
        close = get_close_matches(name, public, n=1)
        raise UserCodeError(f"module {module_name!r} ({_file_of(module)}) has no {name!r}"
                            + (f" (did you mean {close[0]!r}?)" if close else "")) from None
    _check_kind(kind, obj, reference)
    return obj


def references_in(value):
    """Every ``module:Name`` reference in a (resolved) spec: keys and string values, nested."""
    found = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif is_reference(item):
            found.add(item.strip())
    return found


def loaded_modules():
    """``{module name: file}`` of every user module imported through :func:`load` in this process."""
    return dict(_loaded)


def is_installed(path):
    """Whether a module file belongs to Python or an installed package (not the user's own code)."""
    path = os.path.realpath(path)
    roots = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    return any(path.startswith(os.path.realpath(r) + os.sep) for r in roots if r)


def user_frames(exc):
    """The traceback of ``exc`` cut to the frames in user modules loaded here ('' when there are none)."""
    files = {os.path.realpath(f) for f in _loaded.values() if f}
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if os.path.realpath(f.filename) in files]
    if not frames:
        return ""
    return ("Traceback (your code, innermost last):\n" + "".join(traceback.format_list(frames))
            + "".join(traceback.format_exception_only(type(exc), exc)))


def _import(module_name, reference):
    top = module_name.split(".")[0]
    dirs = list(_DIRS.get())
    added = [d for d in dirs if d not in sys.path]
    sys.path[:0] = added
    try:
        cached = sys.modules.get(top)
        if cached is not None and dirs and not _under(getattr(cached, "__file__", None), dirs) \
                and top not in sys.builtin_module_names and _find_in(dirs, top):
            del sys.modules[top]  # the spec's folder (or the run's copy) wins over a module of that name
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name is not None and (module_name == e.name or module_name.startswith(e.name + ".")):
            where = ", ".join(dirs + ["sys.path"])
            raise UserCodeError(f"no module named {module_name!r} for {reference!r} (searched {where})",
                                hint="put the module beside the spec, or on PYTHONPATH") from None
        raise UserCodeError(f"importing {module_name!r} failed: {e}", user_traceback=_import_trace(e)) from None
    except Exception as e:  # noqa: BLE001 - any failure inside the user's module is reported as theirs
        raise UserCodeError(f"importing {module_name!r} failed: {type(e).__name__}: {e}",
                            user_traceback=_import_trace(e)) from None
    finally:
        for d in added:
            if d in sys.path:
                sys.path.remove(d)
    _loaded[module_name] = _file_of(module)
    return module


def _import_trace(exc):
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "importlib" not in f.filename
              and not f.filename.startswith("<frozen")]
    frames = [f for f in frames if os.path.realpath(f.filename) != os.path.realpath(__file__)]
    return ("Traceback (your code, innermost last):\n" + "".join(traceback.format_list(frames))
            + "".join(traceback.format_exception_only(type(exc), exc))) if frames else ""


def _check_kind(kind, obj, reference):
    module, base_name, functions = _BASES.get(kind, (None, None, True))
    if inspect.isclass(obj) and base_name is not None:
        base = getattr(importlib.import_module(module), base_name)
        if issubclass(obj, base):
            return
        raise UserCodeError(f"{reference!r} is a class but not a {kind} (a subclass of {base_name})",
                            hint=_kind_hint(kind, obj))
    if callable(obj) and functions and not inspect.isclass(obj):
        return
    what = "a class" if inspect.isclass(obj) else type(obj).__name__
    expected = f"a subclass of {base_name}" if base_name else "a function"
    if functions and base_name:
        expected += " or a function"
    raise UserCodeError(f"{reference!r} is {what}, not a {kind} ({expected})", hint=_kind_hint(kind, obj))


def _kind_hint(kind, obj):
    for other, (module, base_name, _) in _BASES.items():
        if other != kind and base_name and inspect.isclass(obj):
            try:
                if issubclass(obj, getattr(importlib.import_module(module), base_name)):
                    return f"it is a {other}: use it where a {other} goes"
            except (ImportError, AttributeError):
                continue
    return None


def _file_of(module):
    return getattr(module, "__file__", None) or "<no file>"


def _under(path, dirs):
    return path is not None and any(os.path.realpath(path).startswith(os.path.realpath(d) + os.sep)
                                    for d in dirs)


def _find_in(dirs, top):
    return any(os.path.exists(os.path.join(d, top + ".py")) or os.path.isdir(os.path.join(d, top))
               for d in dirs)

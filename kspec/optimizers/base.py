"""The Optimizer base class, following Keras 3's ``apply`` order (reference §1.1):

clip gradients -> decoupled weight decay -> ``update_step`` per variable -> constraints -> iterations += 1.

Subclasses create slots in ``build`` with :meth:`add_slot` and implement ``update_step(g, w, lr)`` that
updates the float32 array ``w`` in place. Keras 2's ``lr`` (alias of learning_rate) and ``decay``
(``lr / (1 + decay * iterations)``) are honoured with a deprecation warning.
"""
import math
import warnings

from kspec import backend
from kspec.registry import snake_case
from kspec.serialization import deserialize, serialize

_COMMON = ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "use_ema", "ema_momentum",
           "ema_overwrite_frequency", "loss_scale_factor", "gradient_accumulation_steps")


class Optimizer:
    registry_kind = "optimizer"

    def __init__(self, learning_rate=0.001, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name=None, **kwargs):
        if "lr" in kwargs:
            warnings.warn("optimizer argument `lr` is the Keras 2 name of `learning_rate`; use "
                          "`learning_rate`", DeprecationWarning, stacklevel=3)
            learning_rate = kwargs.pop("lr")
        self.decay = float(kwargs.pop("decay", 0.0) or 0.0)
        if self.decay:
            warnings.warn("optimizer argument `decay` is Keras 2 only (Keras 3 ignores it); kspec applies "
                          "the Keras 2 rule lr / (1 + decay * iterations). Prefer a learning-rate schedule",
                          DeprecationWarning, stacklevel=3)
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        if sum(v is not None for v in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set.")
        self.name = name or snake_case(type(self).__name__)
        self.learning_rate = _learning_rate(learning_rate)
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.iterations = 0
        self.built = False
        self._slots = []       # (variable path, slot name, array) in Keras's saving order
        self._slot_map = {}    # id(variable) -> {slot name: array}
        self.exclude_from_weight_decay_ids = set()

    # -- learning rate ---------------------------------------------------------------------------------
    def current_learning_rate(self):
        """The learning rate of the next step: the schedule at ``iterations``, then Keras 2 decay."""
        lr = self.learning_rate
        lr = float(lr(self.iterations)) if callable(lr) else float(lr)
        if self.decay:
            lr = lr / (1.0 + self.decay * self.iterations)
        return lr

    # -- slots -----------------------------------------------------------------------------------------
    def build(self, variables):
        """Create the slots of each trainable variable (subclasses call :meth:`add_slot`)."""
        self.built = True

    def add_slot(self, variable, slot_name, value=0.0):
        arr = backend.full(variable.shape, value, variable.dtype)
        self._slots.append((variable.path, slot_name, arr))
        self._slot_map.setdefault(id(variable), {})[slot_name] = arr
        return arr

    def slot(self, variable, slot_name):
        return self._slot_map[id(variable)][slot_name]

    @property
    def variables(self):
        """(name, array) pairs in Keras's order: iteration, learning_rate (when not a schedule), slots."""
        xp = backend.xp
        out = [("iteration", xp.asarray(self.iterations, dtype=xp.int64))]
        if not callable(self.learning_rate):
            out.append(("learning_rate", xp.asarray(self.learning_rate, dtype=backend.floatx)))
        out += [(f"{path.replace('/', '_')}_{slot}", arr) for path, slot, arr in self._slots]
        out += self._extra_variables()
        return out

    def _extra_variables(self):
        return []

    def set_variables(self, arrays):
        """Restore state from arrays in :attr:`variables` order."""
        current = self.variables
        if len(arrays) != len(current):
            raise ValueError(f"optimizer {self.name!r} has {len(current)} variables, got {len(arrays)}")
        self.iterations = int(arrays[0])
        for (name, arr), value in zip(current[1:], arrays[1:]):
            if name == "learning_rate":
                self.learning_rate = float(value)
            else:
                arr[...] = value

    # -- applying --------------------------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars):
        pairs = [(g, v) for g, v in grads_and_vars if g is not None]
        if not pairs:
            return
        grads, variables = [p[0] for p in pairs], [p[1] for p in pairs]
        self.apply(grads, variables)

    def apply(self, grads, variables):
        """One Keras ``apply()``: grads and variables are aligned lists (arrays and Variables)."""
        if not self.built:
            self.build(variables)
        if self.loss_scale_factor is not None:
            grads = [g / self.loss_scale_factor for g in grads]
        grads = self._clip(grads)
        lr = self.current_learning_rate()
        self.prepare_step(lr)
        lr32 = backend.f32(lr)
        if self.weight_decay:
            wd = backend.f32(self.weight_decay) * lr32
            for v in variables:
                if id(v) not in self.exclude_from_weight_decay_ids:
                    v.data -= v.data * wd
        for g, v in zip(grads, variables):
            self.update_step(g, v, lr32)
        for v in variables:
            if v.constraint is not None:
                v.data[...] = v.constraint(v.data)
        self.iterations += 1

    def prepare_step(self, lr):
        """Hook for per-step (not per-variable) state, e.g. Nadam's momentum product."""

    def update_step(self, gradient, variable, learning_rate):
        raise NotImplementedError

    def _clip(self, grads):
        xp = backend.xp
        if self.clipnorm is not None:
            c = backend.f32(self.clipnorm)
            out = []
            for g in grads:
                norm = xp.sqrt((g * g).sum())
                out.append(g * (c / max(norm, c)) if norm > c else g)
            return out
        if self.global_clipnorm is not None:
            c = backend.f32(self.global_clipnorm)
            norm = xp.sqrt(sum((g * g).sum() for g in grads))
            if not math.isfinite(float(norm)):
                return [g * xp.float32("nan") for g in grads]
            scale = c * min(backend.f32(1.0) / norm, backend.f32(1.0) / c) if norm > 0 else backend.f32(1)
            return [g * scale for g in grads]
        if self.clipvalue is not None:
            v = backend.f32(self.clipvalue)
            return [xp.clip(g, -v, v) for g in grads]
        return grads

    # -- configuration ---------------------------------------------------------------------------------
    def get_config(self):
        """Keras 3's optimizer config: name, learning_rate (float32-rounded or a schedule), the common
        arguments, then the subclass's own (read from ``_own_config``)."""
        lr = self.learning_rate
        config = {"name": self.name,
                  "learning_rate": serialize(lr) if callable(lr) else float(backend.f32(lr))}
        for key in _COMMON:
            config[key] = getattr(self, key)
        config.update(self._own_config())
        return config

    def _own_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _learning_rate(value):
    if isinstance(value, dict) or isinstance(value, str):
        return deserialize("schedule", value)
    if callable(value):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"learning_rate must be a float or a schedule. Received: {value!r}")
    return float(value)

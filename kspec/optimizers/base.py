"""The Optimizer base class, following Keras 3's ``apply`` order (reference §1.1):

clip gradients -> decoupled weight decay -> ``update_step`` per variable -> EMA -> constraints ->
iterations += 1.

Subclasses create slots in ``build`` (call ``super().build`` first, then :meth:`add_slots`) and implement
``update_step(g, w, lr)``, which updates the float32 array ``w.data`` in place with float32 scalars.
Per-step (not per-variable) state goes in :meth:`prepare_step` (Nadam's momentum product).

Keras 2's ``lr`` (alias of learning_rate) and ``decay`` (``lr / (1 + decay * iterations)``, after any
schedule) are honoured with a DeprecationWarning (Keras 3 rejects ``lr`` and ignores ``decay``).
Numeric hyperparameters given as ints are converted to floats (Keras 3 rejects an int learning_rate or
SGD momentum; YAML writes ``1`` for ``1.0``).
"""
import math
import re
import warnings

from kspec import backend
from kspec.configurable import Configurable, config_order
from kspec.engine import Tensor
from kspec.optimizers.schedules import LearningRateSchedule
from kspec.registry import snake_case
from kspec.serialization import deserialize, serialize

# The common arguments, in the order of Keras 3's get_config.
_COMMON = ("weight_decay", "clipnorm", "global_clipnorm", "clipvalue", "use_ema", "ema_momentum",
           "ema_overwrite_frequency", "loss_scale_factor", "gradient_accumulation_steps")


def as_float(name, value, allow_none=False):
    """A hyperparameter as a Python float: ints are converted, bools and strings rejected."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"Argument `{name}` must be a float. Received: {name}={value!r}")
    return float(value)


class Optimizer(Configurable):
    """Base of every optimizer. State: ``iterations``, the learning rate and per-variable slots."""

    registry_kind = "optimizer"

    def __init__(self, learning_rate=0.001, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name=None, **kwargs):
        if "lr" in kwargs:
            warnings.warn("optimizer argument `lr` is the Keras 2 name of `learning_rate`; use "
                          "`learning_rate`", DeprecationWarning, stacklevel=3)
            learning_rate = kwargs.pop("lr")
        self.decay = as_float("decay", kwargs.pop("decay", None) or 0.0)
        if self.decay:
            warnings.warn("optimizer argument `decay` is Keras 2 only (Keras 3 ignores it); kspec applies "
                          "the Keras 2 rule lr / (1 + decay * iterations). Prefer a learning-rate schedule",
                          DeprecationWarning, stacklevel=3)
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        if sum(v is not None for v in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                             f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}")
        if gradient_accumulation_steps is not None and not gradient_accumulation_steps >= 2:
            raise ValueError("`gradient_accumulation_steps` must be an integer >= 2. Received: "
                             f"gradient_accumulation_steps={gradient_accumulation_steps}")
        if use_ema and not 0 <= ema_momentum <= 1:
            raise ValueError(f"`ema_momentum` must be in the range [0, 1]. Received: ema_momentum={ema_momentum}")
        if use_ema and ema_overwrite_frequency and (not isinstance(ema_overwrite_frequency, int)
                                                    or ema_overwrite_frequency < 1):
            raise ValueError("`ema_overwrite_frequency` must be an integer >= 1 or None. Received: "
                             f"ema_overwrite_frequency={ema_overwrite_frequency}")
        self.name = name or snake_case(type(self).__name__)
        self._learning_rate = _learning_rate(learning_rate)
        self.weight_decay = as_float("weight_decay", weight_decay, allow_none=True)
        self.clipnorm = as_float("clipnorm", clipnorm, allow_none=True)
        self.global_clipnorm = as_float("global_clipnorm", global_clipnorm, allow_none=True)
        self.clipvalue = as_float("clipvalue", clipvalue, allow_none=True)
        self.use_ema = bool(use_ema)
        self.ema_momentum = as_float("ema_momentum", ema_momentum)
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = as_float("loss_scale_factor", loss_scale_factor, allow_none=True)
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self._iterations = 0   # raw count of apply() calls, saved as "iteration"
        self.built = False
        self._slots = []       # (slot variable name, array) in Keras's saving order
        self._slot_map = {}    # id(model variable) -> {slot name: array}
        self._trainable_variables = []
        self._exclude_ids = set()
        self._exclude_pattern = None

    # -- iterations and learning rate --------------------------------------------------------------------
    @property
    def iterations(self):
        """Applied updates (Keras: raw steps floor-divided by gradient_accumulation_steps)."""
        if self.gradient_accumulation_steps:
            return self._iterations // self.gradient_accumulation_steps
        return self._iterations

    @iterations.setter
    def iterations(self, value):
        self._iterations = int(value)

    @property
    def learning_rate(self):
        """The current learning rate as float32: a schedule at the raw step count, or the set value."""
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            return backend.f32(lr(self._iterations))
        if callable(lr):
            return backend.f32(lr())
        return lr

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(self._learning_rate, LearningRateSchedule) and not callable(value):
            raise TypeError("This optimizer was created with a `LearningRateSchedule` as its `learning_rate`, "
                            "hence its learning rate is not settable.")
        self._learning_rate = _learning_rate(value)

    def current_learning_rate(self):
        """The float32 learning rate of the next step: :attr:`learning_rate`, then Keras 2 decay."""
        lr = self.learning_rate
        if self.decay:
            one = backend.f32(1.0)
            lr = lr / (one + backend.f32(self.decay) * backend.f32(self._iterations))
        return lr

    # -- slots -----------------------------------------------------------------------------------------
    def build(self, variables):
        """Create the slots (subclasses: return early when built, call this first, then add theirs)."""
        variables = list(variables)
        self._trainable_variables = variables
        if self.use_ema:
            self.add_slots(variables, "average")
        if self.gradient_accumulation_steps:
            self.add_slots(variables, "gradient_accumulator")
        self.built = True

    def add_slots(self, variables, names, values=0.0):
        """Keras's ``add_optimizer_variables``: for each variable in turn, one slot per name (so a list of
        names interleaves per variable). Returns a list of arrays (one name) or a tuple of lists."""
        single = isinstance(names, str)
        names = [names] if single else list(names)
        values = values if isinstance(values, (list, tuple)) else [values] * len(names)
        out = tuple([] for _ in names)
        for variable in variables:
            for i, (slot_name, value) in enumerate(zip(names, values)):
                out[i].append(self.add_slot(variable, slot_name, value))
        return out[0] if single else out

    def add_slot(self, variable, slot_name, value=0.0):
        """One slot array shaped like ``variable``, named ``<variable path>_<slot_name>`` like Keras."""
        arr = backend.full(variable.shape, value, variable.dtype)
        self._slots.append((f"{variable.path.replace('/', '_')}_{slot_name}", arr))
        self._slot_map.setdefault(id(variable), {})[slot_name] = arr
        return arr

    def slot(self, variable, slot_name):
        return self._slot_map[id(variable)][slot_name]

    @property
    def variables(self):
        """(name, array) pairs in Keras's order: iteration (int32), learning_rate (float32; absent for a
        schedule), the slots, then any extra state (Nadam's momentum product)."""
        xp = backend.xp
        out = [("iteration", xp.asarray(self._iterations, dtype=xp.int32))]
        if not callable(self._learning_rate):
            out.append(("learning_rate", xp.asarray(self._learning_rate, dtype=backend.floatx)))
        return out + list(self._slots) + self._extra_variables()

    def _extra_variables(self):
        return []

    def set_variables(self, arrays):
        """Restore state from arrays in :attr:`variables` order (the optimizer must be built)."""
        current = self.variables
        if len(arrays) != len(current):
            raise ValueError(f"optimizer {self.name!r} has {len(current)} variables, got {len(arrays)}")
        for (name, arr), value in zip(current, arrays):
            value = backend.xp.asarray(value)
            if value.shape != arr.shape:
                raise ValueError(f"optimizer variable {name!r} has shape {arr.shape}, got {value.shape}")
        self._iterations = int(arrays[0])
        for (name, arr), value in zip(current[1:], arrays[1:]):
            if name == "learning_rate":
                self._learning_rate = backend.f32(value)
            else:
                arr[...] = value

    # -- weight decay exclusions -----------------------------------------------------------------------
    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Exclude Variables (``var_list``) or any variable whose name contains one of ``var_names``
        (a regex alternation, like Keras) from weight decay. Only before the optimizer is built."""
        if self.built:
            raise ValueError("`exclude_from_weight_decay()` can only be configured before the optimizer "
                             "is built.")
        self._exclude_ids = {id(v) for v in var_list or ()}
        self._exclude_pattern = re.compile("|".join(set(var_names))) if var_names else None

    def _use_weight_decay(self, variable):
        if id(variable) in self._exclude_ids:
            return False
        return self._exclude_pattern is None or self._exclude_pattern.search(variable.name) is None

    # -- applying --------------------------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars):
        grads_and_vars = list(grads_and_vars)
        self.apply([g for g, _ in grads_and_vars], [v for _, v in grads_and_vars])

    def apply(self, grads, variables=None):
        """One Keras ``apply()``: ``grads`` (arrays or Tensors, None where missing) aligned with ``variables``
        (by default the variables the optimizer was built for)."""
        grads = [g.data if isinstance(g, Tensor) else g for g in grads]  # a GradientTape gives Tensors
        variables = list(self._trainable_variables if variables is None else variables)
        if not grads:
            return
        if not self.built:
            self.build(variables)
        known = {id(v) for v in self._trainable_variables}
        unknown = [v.path for v in variables if id(v) not in known]
        if unknown:
            raise ValueError(f"Unknown variables {unknown}: optimizer {self.name!r} was built for other "
                             "variables; create a new optimizer for them.")
        missing = [v.path for g, v in zip(grads, variables) if g is None]
        pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]
        if not pairs:
            raise ValueError("No gradients provided for any variable.")
        if missing:
            warnings.warn(f"Gradients do not exist for variables {missing} when minimizing the loss.",
                          stacklevel=2)
        grads, variables = [g for g, _ in pairs], [v for _, v in pairs]
        if self.loss_scale_factor is not None:
            grads = [g / g.dtype.type(self.loss_scale_factor) for g in grads]
        if self.gradient_accumulation_steps:
            self._accumulate_or_update(grads, variables)
        else:
            self._update(grads, variables)
        if self.use_ema:
            self._update_moving_average()
        for v in variables:
            if v.constraint is not None:
                v.data[...] = v.constraint(v.data)
        self._iterations += 1

    def _update(self, grads, variables):
        """Clip, decay the weights, then run ``update_step`` on each variable."""
        grads = self._clip(grads)
        lr = self.current_learning_rate()
        if self.weight_decay is not None:
            wd = backend.f32(self.weight_decay)
            for v in variables:
                if self._use_weight_decay(v):
                    v.data -= v.data * wd * lr
        self.prepare_step(lr)
        for g, v in zip(grads, variables):
            self.update_step(g, v, lr)

    def _accumulate_or_update(self, grads, variables):
        """Gradient accumulation: sum raw gradients; every ``steps``-th call update with their mean."""
        steps = self.gradient_accumulation_steps
        accumulators = [self.slot(v, "gradient_accumulator") for v in variables]
        if (self._iterations + 1) % steps:
            for acc, g in zip(accumulators, grads):
                acc += g
            return
        n = backend.f32(steps)
        self._update([(g + acc) / n for g, acc in zip(grads, accumulators)], variables)
        for acc in accumulators:
            acc[...] = 0

    def _update_moving_average(self):
        """EMA of the weights (momentum 0 on the first step); overwrite them every N steps if asked."""
        m = backend.f32(self.ema_momentum if self.iterations != 0 else 0.0)
        one = backend.f32(1.0)
        for v in self._trainable_variables:
            average = self.slot(v, "average")
            average[...] = m * average + (one - m) * v.data
        freq = self.ema_overwrite_frequency
        if freq and (self.iterations + 1) % freq == 0:
            self.finalize_variable_values(self._trainable_variables)

    def scale_loss(self, loss):
        """The loss to differentiate: times ``loss_scale_factor`` when set (``apply`` divides it out)."""
        if self.loss_scale_factor is None:
            return loss
        return loss * backend.f32(self.loss_scale_factor)

    def finalize_variable_values(self, variables):
        """With ``use_ema``, copy the moving averages into the weights (Keras does this after fit)."""
        if self.use_ema:
            for v in variables:
                v.data[...] = self.slot(v, "average")

    def prepare_step(self, lr):
        """Hook for per-step (not per-variable) state, run before the per-variable updates."""

    def update_step(self, gradient, variable, learning_rate):
        """Update ``variable.data`` in place from ``gradient`` (same shape, float32) and a float32 lr."""
        raise NotImplementedError

    def _clip(self, grads):
        """Keras's ``_clip_gradients``: per-variable norm, global norm or value (zero means off)."""
        xp = backend.xp
        if self.clipnorm and self.clipnorm > 0:
            c = backend.f32(self.clipnorm)
            return [g * c / xp.maximum(xp.sqrt(xp.sum(xp.square(g))), c) for g in grads]
        if self.global_clipnorm and self.global_clipnorm > 0:
            c = backend.f32(self.global_clipnorm)
            one = backend.f32(1.0)
            norm = xp.sqrt(xp.sum(xp.stack([xp.sum(xp.square(g)) for g in grads])))
            if not math.isfinite(float(norm)):
                scale = backend.f32(math.nan)
            else:
                inverse = one / norm if norm > 0 else backend.f32(math.inf)
                scale = c * min(inverse, backend.f32(1.0 / self.global_clipnorm))  # as Keras: 1/c in double
            return [g * scale for g in grads]
        if self.clipvalue and self.clipvalue > 0:
            v = backend.f32(self.clipvalue)
            return [xp.clip(g, -v, v) for g in grads]
        return grads

    # -- configuration ---------------------------------------------------------------------------------
    def get_config(self):
        """Keras 3's optimizer config: name, learning_rate (float32-rounded, or a schedule's config), the
        common arguments, then the subclass's own (the ``__init__`` arguments the base does not take, in
        signature order); ``decay`` only when set. (Keras's differs from the signature order: kept.)"""
        lr = self._learning_rate
        config = {"name": self.name, "learning_rate": serialize(lr) if callable(lr) else float(lr)}
        for key in _COMMON:
            config[key] = getattr(self, key)
        config.update(self._own_config())
        if self.decay:
            config["decay"] = self.decay
        return config

    def _own_config(self):
        common = config_order(Optimizer)
        return {k: getattr(self, k) for k in config_order(type(self)) if k not in common}

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} iterations={self._iterations}>"


def _learning_rate(value):
    """A float32 scalar, a schedule (also from a config dict) or a callable."""
    if isinstance(value, dict):
        return deserialize("schedule", value)
    if callable(value):
        return value
    return backend.f32(as_float("learning_rate", value))

"""Learning-rate schedules (reference §1.3): ``schedule(step) -> float32``, where ``step`` is the
optimizer's iteration count *before* the update (the first step uses ``schedule(0)``).

Every schedule computes in float32 scalars, as Keras 3 does (its Python floats become float32 tensors),
so the learning rates agree with Keras to the last bit or so.

Args:
    initial_learning_rate: The learning rate at step 0.
    decay_steps: The number of steps over which the rate decays once (by decay_rate, or to its final value).
    decay_rate: The decay factor (ExponentialDecay: rate * decay_rate ** (step / decay_steps);
        InverseTimeDecay: rate / (1 + decay_rate * step / decay_steps)).
    staircase: Whether to decay at whole multiples of decay_steps only (step / decay_steps rounded down).
    name: The schedule's name.
    boundaries: The steps at which the rate changes, increasing.
    values: The rate before the first boundary, between each pair, and after the last (one more than
        boundaries).
    end_learning_rate: The rate reached after decay_steps.
    power: The polynomial's power (1: linear decay).
    cycle: Whether to start the decay over (with a longer period) once decay_steps is passed.
    alpha: The smallest rate, as a fraction of initial_learning_rate.
    warmup_target: The rate reached at the end of the linear warmup (null: no warmup).
    warmup_steps: The number of steps of linear warmup from initial_learning_rate to warmup_target.
    first_decay_steps: The length of the first cosine cycle, in steps.
    t_mul: Each cycle is this many times longer than the one before.
    m_mul: Each cycle starts at this fraction of the previous cycle's starting rate.
"""
import math
import numbers

from kspec import backend
from kspec.configurable import Configurable
from kspec.registry import register

f32 = backend.f32


class LearningRateSchedule(Configurable):
    """Base class: subclasses implement ``__call__(step)``; the config comes from the ``__init__``
    signature."""

    registry_kind = "schedule"

    def __call__(self, step):
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}({self.get_config()})"


def _positive(name, value):
    if value <= 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={value}")
    return value


class _StepDecay(LearningRateSchedule):
    """Shared by the schedules of ``p = step / decay_steps`` (floored with ``staircase``)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name=None):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = _positive("decay_steps", decay_steps)
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name or type(self).__name__

    def _progress(self, step):
        p = f32(step) / f32(self.decay_steps)
        return f32(math.floor(p)) if self.staircase else p


@register("schedule")
class ExponentialDecay(_StepDecay):
    """``lr0 * decay_rate ** (step / decay_steps)``; with ``staircase`` the exponent is floored."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        return f32(self.initial_learning_rate) * f32(self.decay_rate) ** self._progress(step)


@register("schedule")
class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while ``boundaries[i-1] < step <=
    boundaries[i]``, ``values[-1]`` after the last boundary (boundaries are inclusive on the upper side)."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError("The length of boundaries should be 1 less than the length of values. "
                             f"Received: boundaries={boundaries} of length {len(boundaries)}, and "
                             f"values={values} of length {len(values)}.")
        self.boundaries = list(boundaries)
        self.values = list(values)
        self.name = name

    def __call__(self, step):
        # Keras casts the boundaries to the step's dtype (an int step truncates float boundaries).
        cast = int if isinstance(step, numbers.Integral) else float
        for boundary, value in zip(self.boundaries, self.values):
            if step <= cast(boundary):
                return f32(value)
        return f32(self.values[-1])


@register("schedule")
class PolynomialDecay(LearningRateSchedule):
    """``(lr0 - end) * (1 - min(step, D) / D) ** power + end``; ``cycle`` stretches D to the first
    multiple of ``decay_steps`` at or above ``step`` (multiplier 1 at step 0)."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,
                 name="PolynomialDecay"):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = _positive("decay_steps", decay_steps)
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step):
        lr0, end = f32(self.initial_learning_rate), f32(self.end_learning_rate)
        step, decay_steps = f32(step), f32(self.decay_steps)
        if self.cycle:
            multiplier = f32(1.0) if step == 0 else f32(math.ceil(step / decay_steps))
            decay_steps = decay_steps * multiplier
        else:
            step = min(step, decay_steps)
        p = step / decay_steps
        return (lr0 - end) * (f32(1.0) - p) ** f32(self.power) + end


@register("schedule")
class InverseTimeDecay(_StepDecay):
    """``lr0 / (1 + decay_rate * step / decay_steps)``; ``staircase`` floors ``step / decay_steps``."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="InverseTimeDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        return f32(self.initial_learning_rate) / (f32(1.0) + f32(self.decay_rate) * self._progress(step))


def _cosine(fraction, alpha):
    """``(1 - alpha) * 0.5 * (1 + cos(pi * fraction)) + alpha`` in float32 (``1 - alpha`` in double,
    as Keras's Python arithmetic does)."""
    cosine = f32(0.5) * (f32(1.0) + backend.xp.cos(f32(math.pi) * fraction))
    return f32(1 - alpha) * cosine + f32(alpha)


@register("schedule")
class CosineDecay(LearningRateSchedule):
    """Optional linear warmup from ``lr0`` to ``warmup_target`` over ``warmup_steps``, then cosine decay
    from the peak to ``peak * alpha`` over ``decay_steps`` (the step is clipped at the end)."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None,
                 warmup_steps=0):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = _positive("decay_steps", decay_steps)
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def __call__(self, step):
        lr0, decay_steps, step = f32(self.initial_learning_rate), f32(self.decay_steps), f32(step)
        if self.warmup_target is None:
            return lr0 * _cosine(min(step, decay_steps) / decay_steps, self.alpha)
        target, warmup_steps = f32(self.warmup_target), f32(self.warmup_steps)
        step = min(step, decay_steps + warmup_steps)
        if step < warmup_steps:
            return (target - lr0) * (step / warmup_steps) + lr0
        return target * _cosine((step - warmup_steps) / decay_steps, self.alpha)


@register("schedule")
class CosineDecayRestarts(LearningRateSchedule):
    """SGDR: cosine decay over ``first_decay_steps``, then warm restarts; period i lasts
    ``first_decay_steps * t_mul**i`` steps and peaks at ``lr0 * m_mul**i``."""

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0,
                 name="SGDRDecay"):
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = _positive("first_decay_steps", first_decay_steps)
        self.t_mul = t_mul
        self.m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step):
        xp = backend.xp
        one = f32(1.0)
        t_mul, m_mul, alpha = f32(self.t_mul), f32(self.m_mul), f32(self.alpha)
        fraction = f32(step) / f32(self.first_decay_steps)
        if t_mul == one:
            restart = f32(math.floor(fraction))
            fraction = fraction - restart
        else:
            restart = f32(math.floor(xp.log(one - fraction * (one - t_mul)) / xp.log(t_mul)))
            done = (one - t_mul ** restart) / (one - t_mul)
            fraction = (fraction - done) / t_mul ** restart
        cosine = f32(0.5) * m_mul ** restart * (one + xp.cos(f32(math.pi) * fraction))
        return f32(self.initial_learning_rate) * ((one - alpha) * cosine + alpha)


def get(identifier):
    """A schedule from a name-and-config dict or an instance."""
    from kspec.serialization import deserialize
    return deserialize("schedule", identifier)

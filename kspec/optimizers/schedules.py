"""Learning-rate schedules: ``schedule(step) -> float``, step = optimizer iterations before the update."""
from kspec.registry import register


class LearningRateSchedule:
    registry_kind = "schedule"

    def __call__(self, step):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@register("schedule")
class ExponentialDecay(LearningRateSchedule):
    """``lr0 * rate ** (step / decay_steps)``, floored exponent with staircase."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.decay_rate, self.staircase, self.name = decay_rate, staircase, name

    def __call__(self, step):
        p = step / self.decay_steps
        if self.staircase:
            p = int(p // 1)
        return self.initial_learning_rate * self.decay_rate ** p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}

"""Nadam: Adam with Nesterov momentum and Keras's momentum schedule ``mu_t = b1*(1 - 0.5*0.96**t)``."""
from kspec import backend
from kspec.optimizers.base import Optimizer, as_float
from kspec.registry import register


@register("optimizer", "nadam")
class Nadam(Optimizer):
    """Once per step (before the per-variable updates) the momentum product ``U_t = U_{t-1}*mu_t``
    (starting at 1). Then per variable: ``m += (g - m)*(1 - b1)``; ``v += (g**2 - v)*(1 - b2)``;
    ``m_hat = mu_{t+1}*m / (1 - U_t*mu_{t+1}) + (1 - mu_t)*g / (1 - U_t)``; ``v_hat = v / (1 - b2**t)``;
    ``w -= m_hat*lr / (sqrt(v_hat) + eps)``. Slots: momentum and velocity interleaved per variable, then
    the scalar product (named ``variable``, as Keras leaves it unnamed)."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = as_float("beta_1", beta_1)
        self.beta_2 = as_float("beta_2", beta_2)
        self.epsilon = as_float("epsilon", epsilon)
        self._u_product = None
        self._coefficients = None

    def build(self, variables):
        if self.built:
            return
        variables = list(variables)
        super().build(variables)
        self.add_slots(variables, ["momentum", "velocity"])
        dtype = variables[0].dtype if variables else backend.floatx
        self._u_product = backend.xp.ones((), dtype=dtype)

    def _extra_variables(self):
        return [] if self._u_product is None else [("variable", self._u_product)]

    def prepare_step(self, lr):
        """Advance the momentum product and compute this step's scalar coefficients (float32)."""
        f32 = backend.f32
        one, half, decay = f32(1.0), f32(0.5), f32(0.96)
        beta_1, beta_2 = f32(self.beta_1), f32(self.beta_2)
        t, t_next = f32(self.iterations + 1), f32(self.iterations + 2)
        self._u_product[...] = self._u_product * beta_1 * (one - half * decay ** t)
        u_t = beta_1 * (one - half * decay ** t)
        u_t_next = beta_1 * (one - half * decay ** t_next)
        u_product = self._u_product[()]
        self._coefficients = (u_t, u_t_next, u_product, u_product * u_t_next, beta_2 ** t)

    def update_step(self, g, w, lr):
        xp, f32 = backend.xp, backend.f32
        one = f32(1.0)
        u_t, u_t_next, u_product, u_product_next, beta_2_power = self._coefficients
        m = self.slot(w, "momentum")
        v = self.slot(w, "velocity")
        m += (g - m) * (one - f32(self.beta_1))
        v += (xp.square(g) - v) * (one - f32(self.beta_2))
        m_hat = u_t_next * m / (one - u_product_next) + (one - u_t) * g / (one - u_product)
        v_hat = v / (one - beta_2_power)
        w.data -= m_hat * lr / (xp.sqrt(v_hat) + f32(self.epsilon))

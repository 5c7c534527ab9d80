"""Ada-nSGDA: Adam's step magnitude on SGD's normalized direction."""

from __future__ import annotations

import keras
from keras import ops

from keras_graft.optimizers._base import (
    GraftedOptimizer,
    check_fraction,
    check_positive,
)


@keras.saving.register_keras_serializable(package="keras_graft")
class AdaNSGDA(GraftedOptimizer):
    r"""Ada-nSGDA: each block moves as far as Adam would, along the gradient.

    The paper's graft of Adam's magnitude onto SGD's direction (Adam#SGD in the
    notation of Agarwal et al.). With gradient ``g`` and Adam's moments updated
    from the raw gradient as usual,

    $$
    m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad
    v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,
    $$

    $$
    A_t = \eta\,\frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t}\,
          \frac{m_t}{\sqrt{v_t} + \hat\epsilon}
    \quad\text{(Keras's Adam step)},
    $$

    each block $b$ (see ``granularity``) moves by

    $$
    \theta_b \leftarrow \theta_b - \lVert A_{t,b} \rVert\,
        \frac{g_{t,b}}{\lVert g_{t,b} \rVert},
    $$

    and does not move when $g_{t,b} = 0$. Norms are taken in float32.

    Example:

    ```python
    model.compile(optimizer=keras_graft.optimizers.AdaNSGDA(1e-3), loss="mse")
    ```

    Args:
        learning_rate (float | keras.optimizers.schedules.LearningRateSchedule):
            Adam's learning rate. Defaults to 0.001.
        beta_1 (float): decay of Adam's first moment, in [0, 1). Defaults to 0.9.
        beta_2 (float): decay of Adam's second moment, in [0, 1). Defaults to 0.999.
        epsilon (float): Adam's "epsilon hat" (Keras's convention, added to
            ``sqrt(v_t)`` before bias correction). Defaults to 1e-7.
        granularity (str): what a block is: "variable" (default), "layer" or
            "global".
        **kwargs (Any): base optimizer arguments (`name`, `weight_decay`, `clipnorm`,
            `clipvalue`, `global_clipnorm`, `use_ema`, `ema_momentum`,
            `ema_overwrite_frequency`, `loss_scale_factor`,
            `gradient_accumulation_steps`).
    """

    def __init__(
        self,
        learning_rate=0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        granularity: str = "variable",
        name: str = "ada_nsgda",
        **kwargs,
    ):
        beta_1 = check_fraction(beta_1, "beta_1")
        beta_2 = check_fraction(beta_2, "beta_2")
        epsilon = check_positive(epsilon, "epsilon")
        super().__init__(learning_rate, granularity=granularity, name=name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def _build_rule(self, var_list):
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"]
        )

    def _rule(self, gradient, variable, learning_rate):
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        gradient = ops.cast(gradient, m.dtype)
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1))
        # v += (g^2 - v)(1 - beta_2), written so that XLA does not share g*g
        # with the norm of g (a shared g*g is materialized: an extra pass).
        decay = 1 - self.beta_2
        self.assign_add(
            v, ops.subtract(ops.multiply(gradient, gradient * decay), v * decay)
        )
        alpha = self._alpha(learning_rate)
        adam = ops.divide(
            ops.cast(m, "float32"), ops.add(ops.sqrt(ops.cast(v, "float32")), self.epsilon)
        )
        magnitude_sq = ops.square(alpha) * ops.sum(ops.square(adam))
        return magnitude_sq, gradient

    def _alpha(self, learning_rate):
        """Adam's bias-corrected learning rate, in float32."""
        step = ops.cast(self.iterations + 1, "float32")
        lr = ops.cast(learning_rate, "float32")
        return (
            lr
            * ops.sqrt(1 - ops.power(ops.cast(self.beta_2, "float32"), step))
            / (1 - ops.power(ops.cast(self.beta_1, "float32"), step))
        )

    def _torch_foreach_rule(self, grads, variables, learning_rate):
        import torch

        index = [self._get_variable_index(v) for v in variables]
        m = [self._momentums[i].value for i in index]
        v = [self._velocities[i].value for i in index]
        grads = [g.to(mm.dtype) for g, mm in zip(grads, m)]
        torch._foreach_lerp_(m, grads, 1 - self.beta_1)
        torch._foreach_mul_(v, self.beta_2)
        torch._foreach_addcmul_(v, grads, grads, value=1 - self.beta_2)
        denominators = torch._foreach_add(torch._foreach_sqrt(v), self.epsilon)
        adam = torch._foreach_div(m, denominators)
        alpha = self._alpha(learning_rate)
        if any(a.dtype != torch.float32 for a in adam):
            adam = [a.float() for a in adam]
        return alpha * alpha * torch.stack(torch._foreach_norm(adam)) ** 2, grads

    def get_config(self):
        config = super().get_config()
        config.update(
            {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
        )
        return config

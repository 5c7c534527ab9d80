"""Adam's state for the rules that graft with Adam (`AdaNSGDA`, `AdaDir`).

Adam's first and second moments, updated from the raw gradient exactly as
Keras's Adam does, and Adam's direction ``m / (sqrt(v) + epsilon)`` (Keras's
"epsilon hat" convention). A subclass decides what is the magnitude and what
is the direction.
"""

from __future__ import annotations

from keras import ops

from keras_graft.optimizers._base import GraftedOptimizer, check_fraction, check_positive


class AdamGraft(GraftedOptimizer):
    """Base of the optimizers that keep Adam's moments (not used directly)."""

    def __init__(
        self,
        learning_rate,
        beta_1: float,
        beta_2: float,
        epsilon: float,
        granularity: str,
        name: str,
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

    def _adam_direction(self, gradient, variable):
        """Updates the moments; returns (gradient in the slots' dtype, m/(sqrt(v)+eps))."""
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
        direction = ops.divide(
            ops.cast(m, "float32"),
            ops.add(ops.sqrt(ops.cast(v, "float32")), self.epsilon),
        )
        return gradient, direction

    def _torch_adam_directions(self, grads, variables):
        """`_adam_direction` for lists, in a few torch `_foreach` calls."""
        import torch

        index = [self._get_variable_index(v) for v in variables]
        m = [self._momentums[i].value for i in index]
        v = [self._velocities[i].value for i in index]
        grads = [g.to(mm.dtype) for g, mm in zip(grads, m)]
        torch._foreach_lerp_(m, grads, 1 - self.beta_1)
        torch._foreach_mul_(v, self.beta_2)
        torch._foreach_addcmul_(v, grads, grads, value=1 - self.beta_2)
        directions = torch._foreach_div(
            m, torch._foreach_add(torch._foreach_sqrt(v), self.epsilon)
        )
        return grads, [d if d.dtype == torch.float32 else d.float() for d in directions]

    def _alpha(self, learning_rate):
        """Adam's bias-corrected learning rate, in float32."""
        step = ops.cast(self.iterations + 1, "float32")
        lr = ops.cast(learning_rate, "float32")
        return (
            lr
            * ops.sqrt(1 - ops.power(ops.cast(self.beta_2, "float32"), step))
            / (1 - ops.power(ops.cast(self.beta_1, "float32"), step))
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
        )
        return config

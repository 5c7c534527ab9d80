"""Adam's state for the rules that graft with Adam (`AdaNSGDA`, `AdaDir`).

Adam's first and second moments, updated from the raw gradient exactly as
Keras's Adam does, and Adam's direction ``m / (sqrt(v) + epsilon)`` (Keras's
"epsilon hat" convention). A subclass decides what is the magnitude and what
is the direction.
"""

from __future__ import annotations

from keras import ops

from keras_graft._validation import check_float
from keras_graft.optimizers import _backend
from keras_graft.optimizers._base import GraftedOptimizer


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
        beta_1 = check_float(beta_1, "beta_1", low=0.0, high=1.0, high_open=True)
        beta_2 = check_float(beta_2, "beta_2", low=0.0, high=1.0, high_open=True)
        epsilon = check_float(epsilon, "epsilon", low=0.0, low_open=True)
        super().__init__(learning_rate, granularity=granularity, name=name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def _build_rule(self, var_list):
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"]
        )

    def _adam_direction(self, gradient, variable):
        """Updates the moments; returns the gradient and Adam's direction.

        The gradient is returned in the slots' dtype, the direction
        ``m / (sqrt(v) + epsilon)`` in float32.
        """
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        gradient = ops.cast(gradient, m.dtype)
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1))
        # v += (g^2 - v)(1 - beta_2), in the form the backend runs fastest.
        self.assign_add(v, _backend.second_moment_increment(gradient, v, self.beta_2))
        direction = ops.divide(
            ops.cast(m, "float32"),
            ops.add(ops.sqrt(ops.cast(v, "float32")), self.epsilon),
        )
        return gradient, direction

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

"""The learning-rate schedule shared by every optimizer of the experiments."""

from __future__ import annotations

import keras
from keras import ops

from keras_graft._validation import check_int


def linear_decay(learning_rate: float, step: int | float, total_steps: int) -> float:
    """Learning rate at `step` of a linear decay to zero over `total_steps` steps.

    ``lr_t = learning_rate * max(0, 1 - t / total_steps)``: the first step
    (t = 0) uses the full rate, the last one (t = total_steps - 1) a
    `1 / total_steps` share of it.

    Args:
        learning_rate (float): Initial learning rate.
        step (int | float): Step index t (0-based).
        total_steps (int): Number of steps of the run (> 0).

    Returns:
        float: The decayed learning rate.
    """
    total_steps = check_int(total_steps, "total_steps", minimum=1)
    return float(learning_rate) * max(0.0, 1.0 - float(step) / float(total_steps))


@keras.saving.register_keras_serializable(package="keras_graft")
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """A Keras schedule decaying linearly to zero, the same as `linear_decay`.

    Example:
        ```python
        opt = keras_graft.optimizers.NSGDA(LinearDecay(0.05, total_steps=2000))
        ```

    Args:
        learning_rate (float): Initial learning rate.
        total_steps (int): Steps over which it reaches zero.
    """

    def __init__(self, learning_rate: float, total_steps: int) -> None:
        self.learning_rate = float(learning_rate)
        self.total_steps = check_int(total_steps, "total_steps", minimum=1)

    def __call__(self, step):
        """The learning rate at `step` (a tensor).

        Args:
            step (Any): The optimizer's iteration counter.

        Returns:
            Any: A float32 scalar tensor.
        """
        t = ops.cast(step, "float32")
        frac = ops.maximum(0.0, 1.0 - t / float(self.total_steps))
        return self.learning_rate * frac

    def get_config(self) -> dict:
        """Config for serialization.

        Returns:
            dict: ``learning_rate`` and ``total_steps``.
        """
        return {"learning_rate": self.learning_rate, "total_steps": self.total_steps}

"""The metrics a GAN logs: running means of the losses, last values of the pace."""

from __future__ import annotations

import keras
from keras import ops

# Logged per step when `compile(track_pace=True)`.
PACE_LOGS = ("d_pace", "g_pace", "pace_ratio", "d_grad_norm", "g_grad_norm")


class LastValue(keras.metrics.Metric):
    """A metric whose result is the value of its last update (per-step logs)."""

    def __init__(self, name: str, dtype: str = "float32"):
        super().__init__(name=name, dtype=dtype)
        # "mean": under tf.distribute every replica holds the same value (the
        # pace is computed on mirrored weights, the gradient norms on the
        # all-reduced gradients); a sum would double it.
        self.value = self.add_variable(
            shape=(), initializer="zeros", name="value", aggregation="mean"
        )

    def update_state(self, value) -> None:
        """Keep `value`."""
        self.value.assign(ops.cast(value, self.dtype))

    def result(self):
        """The last value, as a copy: on torch the variable's tensor itself
        would be returned, and a later reset (by `evaluate` inside `fit`)
        would zero the logs."""
        return ops.copy(self.value)


class ScalarMean(keras.metrics.Metric):
    """The mean of the scalars given since the last reset.

    `keras.metrics.Mean` for scalar updates without sample weights: the same
    sums (`total += value`, `count += 1`, `total / count`, 0 before any
    update), in three ops instead of Keras's general path (shape checks,
    casts, weights), which costs several times more per step on PyTorch,
    where each op runs eagerly.
    """

    def __init__(self, name: str, dtype: str = "float32"):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, value) -> None:
        """Add the scalar `value`."""
        self.total.assign_add(ops.cast(value, self.dtype))
        self.count.assign_add(ops.ones((), dtype=self.dtype))

    def result(self):
        """`total / count`, 0 when nothing was added."""
        return ops.divide_no_nan(self.total.value, self.count.value)


def make_trackers(penalty: bool, track_pace: bool) -> list:
    """The logged metrics: loss means, the penalty's, the pace's last values."""
    names = ["d_loss", "g_loss", "d_real", "d_fake"] + (["penalty"] if penalty else [])
    trackers = [ScalarMean(name=name) for name in names]
    if track_pace:
        trackers += [LastValue(name) for name in PACE_LOGS]
    return trackers

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


def make_trackers(penalty: bool, track_pace: bool) -> list:
    """The logged metrics: loss means, the penalty's, the pace's last values."""
    names = ["d_loss", "g_loss", "d_real", "d_fake"] + (["penalty"] if penalty else [])
    trackers = [keras.metrics.Mean(name=name) for name in names]
    if track_pace:
        trackers += [LastValue(name) for name in PACE_LOGS]
    return trackers

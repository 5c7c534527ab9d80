"""`keras.ops` pieces of the GAN step shared by the backend modules (each one
imports what it does not replace: torch has its own gradients and norms)."""

from __future__ import annotations

from typing import Sequence

import keras
from keras import ops


def pace(before: Sequence, variables: Sequence, eps: float):
    """`||v - b|| / ||b||` over all the variables and their snapshots `b`
    (0 when `b` is 0; `eps` keeps the division finite)."""
    update = 0.0
    size = 0.0
    for b, v in zip(before, variables):
        update = update + ops.sum(ops.square(ops.subtract(v.value, b)))
        size = size + ops.sum(ops.square(b))
    return ops.where(size > 0, ops.sqrt(update) / ops.sqrt(ops.maximum(size, eps)), 0.0)


def pace_logs(before: Sequence, d_vars: Sequence, g_vars: Sequence, eps: float) -> dict:
    """`d_pace`, `g_pace` and `pace_ratio = d_pace / g_pace` (0 when `g_pace`
    is 0), from `before`, a snapshot of `d_vars + g_vars`."""
    n = len(d_vars)
    d_pace = pace(before[:n], d_vars, eps)
    g_pace = pace(before[n:], g_vars, eps)
    ratio = ops.where(g_pace > 0, d_pace / ops.maximum(g_pace, eps), 0.0)
    return {"d_pace": d_pace, "g_pace": g_pace, "pace_ratio": ratio}


def squared_norm(tensors: Sequence):
    """`sum ||t||^2` over `tensors`, in float32."""
    total = 0.0
    for t in tensors:
        total = total + ops.sum(ops.square(ops.cast(t, "float32")))
    return ops.cast(total, "float32")


def global_norm(tensors: Sequence):
    """`sqrt(sum ||t||^2)` over `tensors`, in float32."""
    return ops.sqrt(squared_norm(tensors))


def all_finite(tensors: Sequence):
    """Whether every element of every tensor in `tensors` is finite (a bool tensor)."""
    finite = ops.stack([ops.all(ops.isfinite(t)) for t in tensors])
    return ops.all(finite)


def train_step(model, data):
    """The trainer's `train_step(data)` (TensorFlow, torch)."""
    return model._train_step_common(data)


def test_step(model, data):
    """The trainer's `test_step(data)` (TensorFlow, torch)."""
    return model._test_step_common(data)


def scanned_steps(model, inner):
    """`inner` (TensorFlow: the trainer loops inside one `tf.function`;
    torch: one step per call). See the JAX version."""
    return inner


def replica_sum(tensors: Sequence) -> list:
    """`tensors` (one replica: nothing to sum)."""
    return list(tensors)


def normal(shape: tuple, seed):
    """`keras.random.normal(shape, seed=seed)` (the latents of a step)."""
    return keras.random.normal(shape, seed=seed)


def log_values(trackers: Sequence, values: dict) -> dict:
    """Update each tracker with `values[tracker.name]`; return the logs
    `{name: result}`."""
    for tracker in trackers:
        tracker.update_state(values[tracker.name])
    return {t.name: t.result() for t in trackers}


def record_nonfinite(flags, d_bad, g_bad, step) -> dict:
    """`flags.update_state(d_bad, g_bad, step)`; return `flags.logs()`."""
    flags.update_state(d_bad, g_bad, step)
    return flags.logs()

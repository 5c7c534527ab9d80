"""`keras.ops` pieces of the GAN step shared by the backend modules (each one
imports what it does not replace: torch has its own gradients and norms)."""

from __future__ import annotations

from typing import Sequence

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


def squared_norm(tensors: Sequence):
    """`sum ||t||^2` over `tensors`, in float32."""
    total = 0.0
    for t in tensors:
        total = total + ops.sum(ops.square(ops.cast(t, "float32")))
    return ops.cast(total, "float32")


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


def replica_sum(tensors: Sequence) -> list:
    """`tensors` (one replica: nothing to sum)."""
    return list(tensors)

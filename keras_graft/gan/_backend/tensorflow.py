"""TensorFlow side of the GAN step: gradients, their application, input gradients."""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Sequence

import tensorflow as tf

from keras_graft.gan._backend.common import (  # noqa: F401
    all_finite,
    global_norm,
    log_values,
    normal,
    record_nonfinite,
    pace_logs,
    scanned_steps,
    test_step,
    train_step,
)


def gradients(objective: Callable, variables: Sequence, *args: Any):
    """Run `objective(*args) -> (loss, aux)` and differentiate `loss`.

    Side effects of the objective (BatchNorm statistics, seed state) are applied.
    """
    with tf.GradientTape() as tape:
        loss, aux = objective(*args)
    grads = tape.gradient(loss, list(variables))
    grads = [tf.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]
    return grads, aux


def apply(optimizer, grads: Sequence, variables: Sequence) -> None:
    """Apply `grads` to `variables` with `optimizer`."""
    optimizer.apply(grads, variables)


def input_gradient(fn: Callable, x):
    """`grad_x fn(x)` for a scalar `fn`, differentiable again (nested tape)."""
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    return tape.gradient(y, x)


def no_grad():
    """Context in which generator outputs need no graph (a no-op on TensorFlow)."""
    return contextlib.nullcontext()


def snapshot(variables: Sequence) -> list:
    """Copies of the current values of `variables`."""
    return [tf.identity(v.value) for v in variables]


def num_replicas() -> int:
    """Replicas in sync under the current `tf.distribute` strategy (1 without)."""
    return tf.distribute.get_strategy().num_replicas_in_sync


def replica_sum(tensors: Sequence) -> list:
    """The sums of `tensors` over the replicas (one all-reduce; as is without)."""
    ctx = tf.distribute.get_replica_context()
    if ctx is None:
        return list(tensors)
    return ctx.all_reduce(tf.distribute.ReduceOp.SUM, list(tensors))


def replica_rows(x, batch):
    """This replica's `batch` rows of `x`, drawn for the global batch.

    A strategy splits a global batch into consecutive per-replica slices;
    taking the same slice of a global draw gives every replica the latents a
    single device would pair with the same samples.
    """
    ctx = tf.distribute.get_replica_context()
    if ctx is None:
        return x
    start = tf.cast(ctx.replica_id_in_sync_group, tf.int32) * tf.cast(batch, tf.int32)
    return x[start : start + batch]

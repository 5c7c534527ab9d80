"""TensorFlow: keep ``tf.distribute``'s all-reduce; one-pass norms and steps.

Keras's TensorFlow optimizer all-reduces the gradients in
``_backend_update_step``; a grafted optimizer overrides that method, so it
repeats the all-reduce here. The update then runs once per replica through
``strategy.extended.update`` (an "update context", where every read and write
of a mirrored variable goes to that replica's copy): each replica sees the
all-reduced gradients and whole variables, so block norms are those of the
whole variable and the copies stay identical. Without a strategy this is a
plain call.

Sparse gradients (``tf.IndexedSlices``) arrive here dense (``dense`` is called
in ``GraftedOptimizer.apply``), so the all-reduce is a dense one.

Without XLA every TensorFlow op writes its result to memory, so a squared norm
is taken with ``tf.nn.l2_loss`` (one read, no temporary) and a step with
``ResourceApplyGradientDescent`` (``var -= alpha * delta`` in one pass).
"""

import keras
import tensorflow as tf
from keras import ops


def dense(gradient):
    # tf.IndexedSlices (an Embedding's gradient): one unsorted_segment_sum.
    if isinstance(gradient, tf.IndexedSlices):
        return tf.convert_to_tensor(gradient)
    return gradient


def update_step(optimizer, grads, variables, learning_rate):
    variables = [v.value if isinstance(v, keras.Variable) else v for v in variables]
    grads_and_vars = optimizer._all_reduce_sum_gradients(list(zip(grads, variables)))

    def _update(distribution, grads_and_vars, learning_rate):
        grads = [g for g, _ in grads_and_vars]
        variables = [v for _, v in grads_and_vars]

        def _per_replica(_, grads, learning_rate):
            optimizer._grafted_update(grads, variables, learning_rate)

        distribution.extended.update(
            variables[0], _per_replica, args=(grads, learning_rate), group=False
        )

    tf.__internal__.distribute.interim.maybe_merge_call(
        _update, optimizer._distribution_strategy, grads_and_vars, learning_rate
    )


def squared_norms(tensors):
    return tf.stack([2.0 * tf.nn.l2_loss(tf.cast(t, tf.float32)) for t in tensors])


def block_scales(optimizer, magnitude_sq, direction_sq, variables, learning_rate):
    # Traced by tf.function: the keras.ops form costs nothing per step.
    return optimizer._block_scales(magnitude_sq, direction_sq, variables, learning_rate)


def apply_scaled(optimizer, variables, directions, scales):
    fused = not tf.distribute.has_strategy()
    for i, (variable, direction) in enumerate(zip(variables, directions)):
        if isinstance(variable, keras.Variable):
            variable = variable.value
        if (
            fused
            and variable.dtype == tf.float32
            and direction.dtype == tf.float32
            and hasattr(variable, "handle")
        ):
            tf.raw_ops.ResourceApplyGradientDescent(
                var=variable.handle, alpha=scales[i], delta=direction
            )
        else:
            step = tf.cast(direction, tf.float32) * scales[i]
            optimizer.assign_sub(variable, tf.cast(step, variable.dtype))


def second_moment_increment(gradient, v, beta_2):
    # Keras's Adam form: three temporaries, op by op (the form XLA prefers
    # has four, and measured about 15% slower in AdaNSGDA's step here).
    return ops.multiply(ops.subtract(ops.square(gradient), v), 1 - beta_2)

"""TensorFlow: keep ``tf.distribute``'s gradient all-reduce before the update.

Keras's TensorFlow optimizer all-reduces the gradients in
``_backend_update_step``; a grafted optimizer overrides that method, so it
repeats the all-reduce here and then runs the update (in cross-replica context,
where block norms span whole variables).
"""

import keras
import tensorflow as tf


def update_step(optimizer, grads, variables, learning_rate):
    variables = [v.value if isinstance(v, keras.Variable) else v for v in variables]
    grads_and_vars = optimizer._all_reduce_sum_gradients(list(zip(grads, variables)))

    def _update(distribution, grads_and_vars, learning_rate):
        grads = [g for g, _ in grads_and_vars]
        variables = [v for _, v in grads_and_vars]
        optimizer._grafted_update(grads, variables, learning_rate)

    tf.__internal__.distribute.interim.maybe_merge_call(
        _update, optimizer._distribution_strategy, grads_and_vars, learning_rate
    )

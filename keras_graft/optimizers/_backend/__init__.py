"""Backend specifics of the grafted update: one small module per backend.

Everything else is written once with ``keras.ops`` in ``GraftedOptimizer``.
``update_step(optimizer, grads, variables, learning_rate)`` runs one update.
"""

import keras

_BACKEND = keras.backend.backend()

if _BACKEND == "tensorflow":
    from keras_graft.optimizers._backend.tensorflow import update_step  # noqa: F401
elif _BACKEND == "torch":
    from keras_graft.optimizers._backend.torch import update_step  # noqa: F401
else:
    from keras_graft.optimizers._backend.jax import update_step  # noqa: F401

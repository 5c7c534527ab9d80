"""Backend specifics of the grafted update: one small module per backend.

Everything else is written once with ``keras.ops`` in ``GraftedOptimizer``.
Each module provides:

- ``dense(gradient)``: the gradient as a dense tensor (a sparse one, an
  ``Embedding``'s, with the values of repeated rows summed); a dense one as is;
- ``update_step(optimizer, grads, variables, learning_rate)``: one update
  (``optimizer._grafted_update`` wrapped in what the backend needs);
- ``squared_norms(tensors)``: a float32 vector of sums of squares;
- ``apply_scaled(optimizer, variables, directions, scales)``:
  ``variable -= scale * direction`` for each variable, in as few passes over
  memory as the backend allows.
"""

import keras

NAME = keras.backend.backend()

if NAME == "tensorflow":
    from keras_graft.optimizers._backend.tensorflow import (  # noqa: F401
        apply_scaled,
        dense,
        squared_norms,
        update_step,
    )
elif NAME == "torch":
    from keras_graft.optimizers._backend.torch import (  # noqa: F401
        apply_scaled,
        dense,
        squared_norms,
        update_step,
    )
else:
    from keras_graft.optimizers._backend.jax import (  # noqa: F401
        apply_scaled,
        dense,
        squared_norms,
        update_step,
    )

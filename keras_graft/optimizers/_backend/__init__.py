"""Backend specifics of the grafted update: one small module per backend.

Everything else is written once with ``keras.ops`` in ``GraftedOptimizer``.
Each module provides:

- ``dense(gradient)``: the gradient as a dense tensor (a sparse one, an
  ``Embedding``'s, with the values of repeated rows summed); a dense one as is;
- ``update_step(optimizer, grads, variables, learning_rate)``: one update
  (``optimizer._grafted_update`` wrapped in what the backend needs; on PyTorch,
  with the optimizer's fused rule when it has one, see ``torch.py``);
- ``squared_norms(tensors)``: a float32 vector of sums of squares;
- ``block_scales(optimizer, magnitude_sq, direction_sq, variables,
  learning_rate)``: ``optimizer._block_scales(...)``, or the same ops in the
  backend's own API (PyTorch, which runs them eagerly, without the per-call
  overhead of ``keras.ops``);
- ``apply_scaled(optimizer, variables, directions, scales)``:
  ``variable -= scale * direction`` for each variable, in as few passes over
  memory as the backend allows;
- ``second_moment_increment(gradient, v, beta_2)``: Adam's
  ``(gradient**2 - v) * (1 - beta_2)``, written in the form the backend runs
  fastest (XLA fuses one form, op-by-op execution favours the other).
"""

from keras_graft._backend import backend_module

_module = backend_module(__name__)

apply_scaled = _module.apply_scaled
block_scales = _module.block_scales
dense = _module.dense
second_moment_increment = _module.second_moment_increment
squared_norms = _module.squared_norms
update_step = _module.update_step

__all__ = [
    "apply_scaled",
    "block_scales",
    "dense",
    "second_moment_increment",
    "squared_norms",
    "update_step",
]

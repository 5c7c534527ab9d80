"""PyTorch: the update under ``no_grad``, with a multi-tensor fast path.

Keras's own Adam and SGD get fused ``torch._foreach_*`` implementations only
when the class is exactly the built-in one. A subclass runs the generic path,
one small kernel launch per ``keras.ops`` call per variable, which is several
times slower. Rules that define ``_torch_foreach_rule(grads, variables, lr)``
(returning per-variable magnitude contributions and directions as torch
tensors) get the same norms-and-step computation here in a few ``_foreach``
calls.
"""

import torch


@torch.no_grad()
def update_step(optimizer, grads, variables, learning_rate):
    rule = getattr(optimizer, "_torch_foreach_rule", None)
    if rule is None:
        optimizer._grafted_update(list(grads), list(variables), learning_rate)
        return
    magnitude_sq, directions = rule(list(grads), list(variables), learning_rate)
    directions = [d if d.dtype == torch.float32 else d.float() for d in directions]
    direction_sq = [n * n for n in torch._foreach_norm(directions)]
    scales = optimizer._block_scales(
        magnitude_sq, direction_sq, variables, learning_rate
    )
    steps = torch._foreach_mul(directions, list(scales))
    values = [v.value for v in variables]
    if all(v.dtype == torch.float32 for v in values):
        torch._foreach_sub_(values, steps)
    else:
        for value, step in zip(values, steps):
            value.sub_(step.to(value.dtype))

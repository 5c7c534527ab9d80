"""PyTorch: the update under ``no_grad``, with multi-tensor fast paths.

Keras's own Adam and SGD get fused ``torch._foreach_*`` implementations only
when the class is exactly the built-in one; a subclass runs the generic path,
one small kernel per ``keras.ops`` call per variable, several times slower.
Rules that define ``_torch_foreach_rule(grads, variables, lr)`` (returning
per-variable magnitude contributions and directions as lists of torch tensors)
run their state updates in a few ``_foreach`` calls; norms are one
``_foreach_norm``; the step is one fused ``add_`` per variable.
"""

import torch


def dense(gradient):
    # Keras makes no sparse gradients on PyTorch.
    return gradient


@torch.no_grad()
def update_step(optimizer, grads, variables, learning_rate):
    rules = getattr(optimizer, "_torch_foreach_rule", None)
    optimizer._grafted_update(list(grads), list(variables), learning_rate, rules)


def squared_norms(tensors):
    tensors = [t if t.dtype == torch.float32 else t.float() for t in tensors]
    return torch.stack(torch._foreach_norm(tensors)) ** 2


def apply_scaled(optimizer, variables, directions, scales):
    values = [v.value for v in variables]
    if values and values[0].device.type == "cpu":
        # One host read of the scales, then one fused pass per variable.
        for value, direction, scale in zip(values, directions, scales.tolist()):
            if direction.dtype != value.dtype:
                direction = direction.to(value.dtype)
            value.add_(direction, alpha=-scale)
        return
    directions = [d if d.dtype == torch.float32 else d.float() for d in directions]
    steps = torch._foreach_mul(directions, list(scales.unbind()))
    if all(v.dtype == torch.float32 for v in values):
        torch._foreach_sub_(values, steps)
    else:
        for value, step in zip(values, steps):
            value.sub_(step.to(value.dtype))

"""PyTorch: the update under ``no_grad``, with fused multi-tensor rules.

Keras's own optimizers get fused ``torch._foreach_*`` implementations through a
class-to-class table (``keras/src/backend/torch/optimizers``), only when the
class is exactly the built-in one; anything else runs the generic path, one
small kernel per ``keras.ops`` call per variable, several times slower.

This module does the same for the grafted optimizers, with one table from a
class to its fused rule (``fused_rule``): a function that does what the
class's ``_rule`` does, for all variables at once, in a few ``_foreach`` calls.
A class not in the table (``Graft``, a user's subclass, which may change the
rule) runs its ``_rule``. Either way, norms are one ``_foreach_norm`` and the
step is one fused ``add_`` per variable.

The algorithm files hold the math; each fused rule here is the same math, held
to it by ``tests/optimizers/test_torch_fused.py`` (one step and several, every
granularity, 16-bit variables).
"""

import keras
import torch
from keras import ops


def dense(gradient):
    # Keras makes no sparse gradients on PyTorch.
    return gradient


def fused_rule(optimizer):
    """The fused form of ``optimizer``'s ``_rule``, or None (run ``_rule``).

    A fused rule is called as ``rule(optimizer, grads, variables,
    learning_rate)`` with lists, and returns what ``_rule`` returns for each
    variable: the magnitude contributions (a float32 vector, or None) and the
    list of directions.
    """
    # Imported here, as Keras does: the optimizers' modules import this one.
    from keras_graft.optimizers.ada_dir import AdaDir
    from keras_graft.optimizers.ada_nsgda import AdaNSGDA
    from keras_graft.optimizers.nsgda import NSGDA

    fused = {AdaNSGDA: _ada_nsgda, AdaDir: _ada_dir, NSGDA: _nsgda}
    return fused.get(type(optimizer))


@torch.no_grad()
def update_step(optimizer, grads, variables, learning_rate):
    optimizer._grafted_update(
        list(grads), list(variables), learning_rate, fused_rule(optimizer)
    )


def squared_norms(tensors):
    tensors = [_float32(t) for t in _tensors(tensors)]
    return torch.stack(torch._foreach_norm(tensors)) ** 2


def apply_scaled(optimizer, variables, directions, scales):
    values = [v.value for v in variables]
    directions = _tensors(directions)
    if values and values[0].device.type == "cpu":
        # One host read of the scales, then one fused pass per variable.
        for value, direction, scale in zip(values, directions, scales.tolist()):
            if direction.dtype != value.dtype:
                direction = direction.to(value.dtype)
            value.add_(direction, alpha=-scale)
        return
    directions = [_float32(d) for d in directions]
    steps = torch._foreach_mul(directions, list(scales.unbind()))
    if all(v.dtype == torch.float32 for v in values):
        torch._foreach_sub_(values, steps)
    else:
        for value, step in zip(values, steps):
            value.sub_(step.to(value.dtype))


# Fused rules, one per class of the table in `fused_rule`.


def _ada_nsgda(optimizer, grads, variables, learning_rate):
    """`AdaNSGDA._rule`: the norm of Adam's step, the gradient's direction."""
    grads, adam = _adam_directions(optimizer, grads, variables)
    alpha = optimizer._alpha(learning_rate)
    return alpha * alpha * torch.stack(torch._foreach_norm(adam)) ** 2, grads


def _ada_dir(optimizer, grads, variables, learning_rate):
    """`AdaDir._rule`: the norm of SGD's step, Adam's direction."""
    grads, directions = _adam_directions(optimizer, grads, variables)
    lr = ops.cast(learning_rate, "float32")
    norms = torch._foreach_norm([_float32(g) for g in grads])
    return lr * lr * torch.stack(norms) ** 2, directions


def _nsgda(optimizer, grads, variables, learning_rate):
    """`NSGDA._rule`: the gradient, or its (Nesterov) momentum average."""
    if optimizer.momentum == 0:
        return None, grads
    index = [optimizer._get_variable_index(v) for v in variables]
    u = [optimizer._momentums[i].value for i in index]
    grads = [g.to(uu.dtype) for g, uu in zip(grads, u)]
    torch._foreach_mul_(u, optimizer.momentum)
    torch._foreach_add_(u, grads)
    if optimizer.nesterov:
        return None, torch._foreach_add(grads, u, alpha=optimizer.momentum)
    return None, u


def _adam_directions(optimizer, grads, variables):
    """`AdamGraft._adam_direction` for lists: moments updated, Adam's directions.

    Returns the gradients in the slots' dtype and the directions
    ``m / (sqrt(v) + epsilon)`` in float32.
    """
    index = [optimizer._get_variable_index(v) for v in variables]
    m = [optimizer._momentums[i].value for i in index]
    v = [optimizer._velocities[i].value for i in index]
    grads = [g.to(mm.dtype) for g, mm in zip(grads, m)]
    torch._foreach_lerp_(m, grads, 1 - optimizer.beta_1)
    torch._foreach_mul_(v, optimizer.beta_2)
    torch._foreach_addcmul_(v, grads, grads, value=1 - optimizer.beta_2)
    directions = torch._foreach_div(
        m, torch._foreach_add(torch._foreach_sqrt(v), optimizer.epsilon)
    )
    return grads, [_float32(d) for d in directions]


def _tensors(tensors):
    # A `_rule` may return a keras.Variable (NSGDA's momentum): its tensor.
    return [t.value if isinstance(t, keras.Variable) else t for t in tensors]


def _float32(tensor):
    return tensor if tensor.dtype == torch.float32 else tensor.float()

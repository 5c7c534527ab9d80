"""PyTorch: the update under ``no_grad``, with fused multi-tensor rules.

Keras's own optimizers get fused ``torch._foreach_*`` implementations through a
class-to-class table (``keras/src/backend/torch/optimizers``), only when the
class is exactly the built-in one; anything else runs the generic path, one
small kernel per ``keras.ops`` call per variable, several times slower.

This module does the same for the grafted optimizers, with one table from a
class to its fused rule (``fused_rule``): a function that does what the
class's ``_rule`` does, for all variables at once, in a few ``_foreach`` calls.
``Graft`` runs its children's own fused Keras steps (``_graft``). A class
not in the table (a user's subclass, which may change the rule) runs its
``_rule``. Either way, norms are one ``_foreach_norm`` (on the
host, ``dot`` for the large tensors: ``squared_norms``), the
block scales a few small torch ops (``block_scales``: the same ops as
``GraftedOptimizer._block_scales``, without ``keras.ops``' per-call cost), and
the step one ``_foreach_addcmul_`` (one pass per variable, no Python loop).

On the host (CPU), a large temporary costs more than the arithmetic on it
(fresh memory is page-faulted in): AdaNSGDA takes the norms of Adam's
directions of large variables through one kept buffer the size of the largest,
and AdaDir writes them over their denominators. On a device, where
PyTorch caches memory, the same math runs as plain ``_foreach`` calls.

The algorithm files hold the math; each fused rule here is the same math, held
to it by ``tests/optimizers/test_torch_fused.py`` (one step and several, every
granularity, 16-bit variables; the block scales, the step and the host paths
exactly).
"""

import functools
import operator

import keras
import torch
from keras import ops

# `Variable.value` checks Keras's global state (a stateless scope, an autocast
# scope, the meta device) on every read, about 10 us a variable on the host:
# more than the whole step of a small variable. `_values` checks it once for
# a list (`variable_tensors`). These are Keras's own functions, without public names.
from keras.src.backend.common.stateless_scope import in_stateless_scope
from keras.src.backend.common.variables import get_autocast_scope
from keras.src.backend.torch.core import get_device


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
    return _fused_rules().get(type(optimizer))


@functools.cache
def _fused_rules():
    """The table of `fused_rule`, made on first use (once, not every step)."""
    # Imported here, as Keras does: the optimizers' modules import this one.
    from keras_graft.optimizers.ada_dir import AdaDir
    from keras_graft.optimizers.ada_nsgda import AdaNSGDA
    from keras_graft.optimizers.nsgda import NSGDA

    from keras_graft.optimizers.graft import Graft

    return {AdaNSGDA: _ada_nsgda, AdaDir: _ada_dir, NSGDA: _nsgda, Graft: _graft}


@torch.no_grad()
def update_step(optimizer, grads, variables, learning_rate):
    optimizer._grafted_update(
        list(grads), list(variables), learning_rate, fused_rule(optimizer)
    )


def squared_norms(tensors):
    """Sums of squares in float32: `_foreach_norm` squared, or on the host
    ``dot(t, t)`` for the large tensors.

    On the host `_foreach_norm` runs one `vector_norm` per tensor, about as
    slow as a pass that reads and writes the tensor, and, squared, within
    about 5e-5 of the float64 sum of a million squares; BLAS's ``dot`` reads
    it at twice the speed, within about 5e-6. Small tensors, where one call
    for all beats a call each, are summed through one flat copy when they
    hold at most `_HOST_FLAT` elements together, else by `_foreach_norm`.
    """
    tensors = _float32_tensors(tensors)
    on_host = tensors and tensors[0].device.type == "cpu"
    if not on_host:
        return torch.stack(torch._foreach_norm(tensors)) ** 2
    small, large = _split_by_size(tensors)
    if not large:
        return _small_squared_norms(tensors)
    # A few ops whatever the number of tensors (an op each costs about as
    # much as the norm of a small tensor).
    sums = torch.empty(len(tensors), dtype=torch.float32)
    if small:
        sums[small] = _small_squared_norms([tensors[i] for i in small])
    sums[large] = torch.stack([_dot_self(tensors[i]) for i in large])
    return sums


# Up to this many elements in all, small tensors on the host are summed
# through one flat copy: a handful of ops, where `_foreach_norm` is one norm
# kernel per tensor (about 4 us each, most of a small step's time).
_HOST_FLAT = 1 << 14


def _small_squared_norms(tensors):
    """`squared_norms` of host tensors under `_HOST_LARGE` elements each:
    through one flat copy, squared and summed per tensor (`index_add_`), up
    to `_HOST_FLAT` elements in all; else `_foreach_norm`."""
    sizes = tuple(map(torch.Tensor.numel, tensors))
    if sum(sizes) > _HOST_FLAT:
        return torch.stack(torch._foreach_norm(tensors)) ** 2
    values = flat(tensors)
    sums = torch.zeros(len(sizes), dtype=torch.float32)
    return sums.index_add_(0, _owners(sizes), values * values)


def flat(tensors):
    """The elements of `tensors` in one vector, in one C++ call (what DDP's
    buckets use), where a `reshape` per tensor costs about as much as a small
    tensor's whole work. A view of the tensor when there is only one."""
    return torch._utils._flatten_dense_tensors(list(tensors))


@functools.lru_cache(maxsize=64)
def _owners(sizes):
    """For each element of the flat copy, the index of its tensor."""
    return torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))


def _dot_self(tensor):
    """``dot(t, t)`` over all elements, in float32: a large tensor's sum of
    squares on the host (see `squared_norms`)."""
    flat = _float32(tensor).reshape(-1)
    return torch.dot(flat, flat)


def block_scales(optimizer, magnitude_sq, direction_sq, variables, learning_rate):
    """`GraftedOptimizer._block_scales` in torch ops, the same ops in order.

    Run eagerly, each `keras.ops` call costs several times its torch op; here
    the constant tensors are made once per layout and the rest is a few small
    torch ops whatever the number of variables. Only `_block_magnitude` (the
    algorithm's) runs in `keras.ops`.
    """
    ids, num_blocks, block_size = optimizer._block_layout(variables)
    device = direction_sq.device
    cache = optimizer.__dict__.setdefault("_torch_layout_cache", {})
    key = (id(ids), device)  # `ids` lives in the optimizer's own layout cache
    if key not in cache:
        cache[key] = (
            torch.from_numpy(ids).to(device=device, dtype=torch.int64),
            torch.from_numpy(block_size).to(device),
        )
    ids_tensor, size_tensor = cache[key]

    def per_block(values):
        if num_blocks == len(ids):
            return values
        if num_blocks == 1:
            return torch.sum(values).unsqueeze(0)
        return ops.segment_sum(values, ids_tensor, num_blocks)

    d_sq = per_block(direction_sq)
    m_sq = None if magnitude_sq is None else per_block(magnitude_sq)
    magnitude = optimizer._block_magnitude(
        m_sq, size_tensor, _float32(_tensor(learning_rate, device))
    )
    positive = d_sq > 0.0
    safe = torch.where(positive, d_sq, 1.0)
    scale = torch.where(positive, magnitude / torch.sqrt(safe), 0.0)
    if num_blocks != len(ids):
        scale = torch.index_select(scale, 0, ids_tensor)
    return scale


def apply_scaled(optimizer, variables, directions, scales):
    values = variable_tensors(variables)
    directions = _tensors(directions)
    dtypes = set(map(_dtype, values)) | set(map(_dtype, directions))
    if dtypes != {torch.float32}:
        # Other dtypes (16-bit): the step in float32, rounded to the variable's
        # dtype, as `keras.ops` does.
        steps = torch._foreach_mul([_float32(d) for d in directions], scales.unbind())
        for value, step in zip(values, steps):
            value.sub_(step.to(value.dtype))
    elif scales.device.type == "cpu":
        _sub_scaled_on_host(values, directions, scales)
    else:
        _sub_scaled_on_device(values, directions, scales)


def _sub_scaled_on_host(values, directions, scales):
    """``value -= scale * direction`` for each, one fused pass, one C++ loop.

    `addcmul_` with a 1-D tensor of scalars reads them to the host once, then
    runs ``value + (-scale) * direction * 1`` per tensor; the product is exact
    in sign and in the factor 1, so each value is rounded as in
    ``value - scale * direction``.
    """
    torch._foreach_addcmul_(values, directions, _ones(len(values)), -scales)


@functools.lru_cache(maxsize=16)
def _ones(n):
    """`n` references to one float32 1 on the host (never written to)."""
    return [torch.ones((), dtype=torch.float32)] * n


def _sub_scaled_on_device(values, directions, scales):
    """The same step, the scales left on the device (0-d views, no host read).

    The kernel may fuse the multiply and the add (one rounding instead of
    two): within one unit in the last place of the `keras.ops` step.
    """
    torch._foreach_addcmul_(values, directions, scales.unbind(), value=-1.0)


# Fused rules, one per class of the table in `fused_rule`.


def _ada_nsgda(optimizer, grads, variables, learning_rate):
    """`AdaNSGDA._rule`: the norm of Adam's step, the gradient's direction."""
    grads, m, v = _adam_moments(optimizer, grads, variables)
    alpha = _alpha(optimizer, learning_rate, m[0].device)
    return alpha * alpha * _adam_direction_squared_norms(optimizer, m, v), grads


def _ada_dir(optimizer, grads, variables, learning_rate):
    """`AdaDir._rule`: the norm of SGD's step, Adam's direction."""
    grads, m, v = _adam_moments(optimizer, grads, variables)
    directions = _adam_directions(optimizer, m, v)
    lr = ops.cast(learning_rate, "float32")
    return lr * lr * squared_norms(grads), directions


def _nsgda(optimizer, grads, variables, learning_rate):
    """`NSGDA._rule`: the gradient, or its (Nesterov) momentum average."""
    if optimizer.momentum == 0:
        return None, grads
    index = [optimizer._get_variable_index(v) for v in variables]
    u = variable_tensors([optimizer._momentums[i] for i in index])
    grads = [_cast(g, uu.dtype) for g, uu in zip(grads, u)]
    torch._foreach_mul_(u, optimizer.momentum)
    torch._foreach_add_(u, grads)
    if optimizer.nesterov:
        return None, torch._foreach_add(grads, u, alpha=optimizer.momentum)
    return None, u


def _graft(optimizer, grads, variables, learning_rate):
    """`Graft._rule` for all variables at once, when both children are fused.

    Keras swaps its own optimizers for fused torch classes whose
    `_parallel_update_step` updates all variables in a few `_foreach` calls
    and only ever adds to the variables (never reads them). Each child runs
    that step on stand-ins holding zeros (`_Scratch`), so the stand-ins end
    up holding minus the child's step, with the child's own state updated as
    in `_rule`. Other children (a subclass, Nadam, whose fused step also
    does `_before_step`'s work, weight decay on a child) and 16-bit
    variables run `_rule` per variable.
    """
    magnitude, direction = optimizer.magnitude, optimizer.direction
    if not (
        _fusable_child(magnitude)
        and _fusable_child(direction)
        and all(v.dtype == "float32" for v in variables)
    ):
        parts = [optimizer._rule(g, v, learning_rate) for g, v in zip(grads, variables)]
        return [p[0] for p in parts], [p[1] for p in parts]
    grads = [_float32(g) for g in grads]
    m_steps = _child_steps(magnitude, grads, variables, learning_rate, 0)
    d_steps = _child_steps(direction, grads, variables, direction.learning_rate, 1)
    # The buffers hold minus the steps: the same squared norms; the direction
    # is the step itself (`apply_scaled` subtracts it).
    torch._foreach_neg_(d_steps)
    return squared_norms(m_steps), d_steps


def _fusable_child(child) -> bool:
    cls = type(child)
    return (
        cls.__module__.startswith("keras.src.backend.torch.optimizers.")
        and hasattr(cls, "_parallel_update_step")
        and not isinstance(child, keras.optimizers.Nadam)
        and child.weight_decay is None
    )


class _Scratch:
    """Stands in for a model variable in a child's fused step: `value` is a
    buffer of zeros that the step adds to."""

    __slots__ = ("variable", "value")

    def __init__(self, variable, value):
        self.variable, self.value = variable, value


class _Indexed:
    """A child whose `_get_variable_index` takes `_Scratch` stand-ins."""

    def __init__(self, child):
        self._child = child

    def __getattr__(self, name):
        return getattr(self._child, name)

    def _get_variable_index(self, scratch):
        return self._child._get_variable_index(scratch.variable)


def _child_steps(child, grads, variables, learning_rate, slot):
    """Minus `child`'s step on each variable, from its fused update on zeros.

    The buffers are kept from step to step (two sets per graft: `slot` 0 for
    the magnitude child, 1 for the direction child) and zeroed each step.
    """
    cache = child.__dict__.setdefault("_graft_scratch", {})
    key = tuple(id(v) for v in variables)
    if key not in cache:
        cache.clear()
        cache[key] = [
            _Scratch(v, torch.zeros_like(v.value, dtype=torch.float32))
            for v in variables
        ]
    scratch = cache[key]
    buffers = [s.value for s in scratch]
    torch._foreach_zero_(buffers)
    type(child)._parallel_update_step(_Indexed(child), grads, scratch, learning_rate)
    return buffers


def _alpha(optimizer, learning_rate, device):
    """`AdamGraft._alpha` in torch ops (the same ops, without `keras.ops`'
    per-call cost): Adam's bias-corrected learning rate, in float32."""
    # `iterations` is a tensor under gradient accumulation, else a variable.
    step = _tensor(optimizer.iterations).to(torch.float32) + 1
    lr = _float32(_tensor(learning_rate, device))
    beta_1 = torch.tensor(optimizer.beta_1, dtype=torch.float32, device=device)
    beta_2 = torch.tensor(optimizer.beta_2, dtype=torch.float32, device=device)
    return lr * torch.sqrt(1 - torch.pow(beta_2, step)) / (1 - torch.pow(beta_1, step))


def _adam_moments(optimizer, grads, variables):
    """`AdamGraft._adam_direction`'s moment updates, for lists.

    Returns the gradients in the slots' dtype and the updated moments.
    """
    index = [optimizer._get_variable_index(v) for v in variables]
    m = variable_tensors([optimizer._momentums[i] for i in index])
    v = variable_tensors([optimizer._velocities[i] for i in index])
    grads = [_cast(g, mm.dtype) for g, mm in zip(grads, m)]
    torch._foreach_lerp_(m, grads, 1 - optimizer.beta_1)
    torch._foreach_mul_(v, optimizer.beta_2)
    torch._foreach_addcmul_(v, grads, grads, value=1 - optimizer.beta_2)
    return grads, m, v


# On the host, a temporary of this many elements or more (256 KiB in float32,
# above glibc's default mmap threshold) is fresh memory, page-faulted in at a
# cost above the arithmetic on it: such variables go one at a time through
# memory already held. Smaller ones take `_foreach` calls (no Python loop).
_HOST_LARGE = 1 << 16


def _adam_directions(optimizer, m, v):
    """Adam's directions ``m / (sqrt(v) + epsilon)``, in float32.

    On the host the quotient of a large variable is written over its
    denominator (one temporary instead of two); the same ops, the same values.
    """
    directions = list(torch._foreach_sqrt(v))
    torch._foreach_add_(directions, optimizer.epsilon)
    if not m or m[0].device.type != "cpu":
        return [_float32(d) for d in torch._foreach_div(m, directions)]
    small, large = _split_by_size(m)
    quotients = torch._foreach_div(
        [m[i] for i in small], [directions[i] for i in small]
    )
    for i, quotient in zip(small, quotients):
        directions[i] = quotient
    for i in large:
        torch.div(m[i], directions[i], out=directions[i])
    return [_float32(d) for d in directions]


def _adam_direction_squared_norms(optimizer, m, v):
    """`squared_norms` of Adam's directions (a float32 vector).

    On the host the directions of large variables are never held: each is
    computed into one buffer the size of the largest, kept from step to step
    (no page faults, and it stays in cache), and its sum of squares taken
    there; the same ops as `_adam_directions` and `squared_norms`, so the
    same values.
    """
    dtype = m[0].dtype if m else None
    on_host = m and m[0].device.type == "cpu" and all(t.dtype == dtype for t in m)
    small, large = _split_by_size(m) if on_host else ([], [])
    if not large:
        return squared_norms(_adam_directions(optimizer, m, v))
    sums = torch.empty(len(m), dtype=torch.float32)
    if small:
        sums[small] = squared_norms(
            _adam_directions(optimizer, [m[i] for i in small], [v[i] for i in small])
        )
    size = max(m[i].numel() for i in large)
    buffer = optimizer.__dict__.get("_torch_direction_buffer")
    if buffer is None or buffer.numel() < size or buffer.dtype != dtype:
        buffer = torch.empty(size, dtype=dtype)
        optimizer.__dict__["_torch_direction_buffer"] = buffer
    large_sums = []
    for i in large:
        direction = buffer[: v[i].numel()].view(v[i].shape)
        torch.sqrt(v[i], out=direction)
        direction.add_(optimizer.epsilon)
        torch.div(m[i], direction, out=direction)
        large_sums.append(_dot_self(direction))
    sums[large] = torch.stack(large_sums)
    return sums


def _split_by_size(tensors):
    """Indices of the tensors under `_HOST_LARGE` elements, and of the others."""
    sizes = list(map(torch.Tensor.numel, tensors))
    if max(sizes, default=0) < _HOST_LARGE:  # the common case of small models
        return list(range(len(sizes))), []
    small = [i for i, n in enumerate(sizes) if n < _HOST_LARGE]
    large = [i for i, n in enumerate(sizes) if n >= _HOST_LARGE]
    return small, large


def _tensor(value, device=None):
    """A keras.Variable's tensor (a `_rule` may return NSGDA's momentum), a
    tensor as is, a Python number (a learning rate) as a tensor."""
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, keras.Variable):
        return variable_tensors([value])[0]
    return torch.as_tensor(value, device=device)


def variable_tensors(variables):
    """`[v.value for v in variables]`, Keras's global state checked once.

    Outside a stateless scope, an autocast scope and a symbolic (meta-device)
    call, `value` is the variable's own tensor, `_value`; inside, or for a
    variable not yet initialized, each `value` is read as Keras reads it.
    """
    if (
        in_stateless_scope()
        or get_autocast_scope() is not None
        or str(get_device()) == "meta"
    ):
        return [v.value for v in variables]
    values = [v._value for v in variables]
    if any(value is None for value in values):
        return [v.value for v in variables]
    return values


def _float32_tensors(tensors):
    """`[_float32(_tensor(t)) for t in tensors]`, one pass over the list when
    they are float32 tensors already (the common case: no call per item)."""
    tensors = list(tensors)
    if set(map(type, tensors)) <= _TENSOR_TYPES and set(map(_dtype, tensors)) <= {
        torch.float32
    }:
        return tensors
    return [_float32(_tensor(t)) for t in tensors]


_dtype = operator.attrgetter("dtype")


def _tensors(tensors):
    tensors = list(tensors)
    if set(map(type, tensors)) <= _TENSOR_TYPES:
        return tensors
    return [_tensor(t) for t in tensors]


_TENSOR_TYPES = {torch.Tensor, torch.nn.Parameter}


def _float32(tensor):
    return _cast(tensor, torch.float32)


def _cast(tensor, dtype):
    # `.to` costs a call even when the dtype is already right.
    return tensor if tensor.dtype == dtype else tensor.to(dtype)


def second_moment_increment(gradient, v, beta_2):
    # Keras's Adam form: three temporaries, op by op (the fused rules do
    # not come here; a subclass of AdamGraft does).
    return ops.multiply(ops.subtract(ops.square(gradient), v), 1 - beta_2)

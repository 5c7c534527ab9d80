"""torch side of the GAN step: gradients, their application, input gradients."""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import keras
import torch
from keras.src.backend.common.stateless_scope import in_stateless_scope
from keras.src.backend.torch.core import get_device, to_torch_dtype

from keras_graft.gan import _trackers
from keras_graft.gan._backend import common
from keras_graft.gan._backend.common import (  # noqa: F401
    replica_sum,
    scanned_steps,
    test_step,
    train_step,
)
from keras_graft.optimizers._backend.torch import flat as _flat
from keras_graft.optimizers._backend.torch import variable_tensors


def gradients(objective: Callable, variables: Sequence, *args: Any):
    """Run `objective(*args) -> (loss, aux)` and differentiate `loss`.

    Uses `torch.autograd.grad`, so no `.grad` buffers are read or left behind.
    """
    loss, aux = objective(*args)
    params = variable_tensors(variables)
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    grads = [torch.zeros_like(p) if g is None else g for g, p in zip(grads, params)]
    aux = {k: v.detach() for k, v in aux.items()}
    return grads, aux


def apply(optimizer, grads: Sequence, variables: Sequence) -> None:
    """Apply `grads` to `variables` with `optimizer`, outside autograd."""
    with torch.no_grad():
        optimizer.apply(grads, variables)


def input_gradient(fn: Callable, x):
    """`grad_x fn(x)` for a scalar `fn`, with `create_graph=True`."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        y = fn(x)
        (g,) = torch.autograd.grad(y, x, create_graph=True)
    return g


def no_grad():
    """Context in which generator outputs need no graph (the D step)."""
    return torch.no_grad()


def snapshot(variables: Sequence):
    """A copy of the current values of `variables`: on the host, for float32
    variables, one flat vector (one C++ call, see `_flat`); else a list of
    copies."""
    with torch.no_grad():
        tensors = variable_tensors(variables)
        if _host_float32(tensors):
            flat = _flat(tensors)
            # One tensor's flat form may be a view of it: copy it then.
            return flat.clone() if len(tensors) == 1 else flat
        return [t.clone() for t in tensors]


def pace_logs(before, d_vars: Sequence, g_vars: Sequence, eps: float) -> dict:
    """`common.pace_logs` for both players at once, from `snapshot(d_vars +
    g_vars)`: on the host the sums of squares are four `dot`s over the slices
    of two flat vectors, read as Python floats, and the square roots and the
    ratio are Python arithmetic (a host read costs nothing there, where each
    small torch op costs a few microseconds); else one fused difference and
    one fused norm over the differences and the snapshots, and small torch
    ops (each `keras.ops` call costs several times its op here, run eagerly).
    """
    n, m = len(d_vars), len(g_vars)
    if not n or not m:
        return common.pace_logs(before, d_vars, g_vars, eps)
    with torch.no_grad():
        now = variable_tensors(list(d_vars) + list(g_vars))
        if isinstance(before, torch.Tensor):
            diff = _flat(now) - before
            k = sum(map(torch.Tensor.numel, now[:n]))
            parts = (diff[:k], diff[k:], before[:k], before[k:])
            sums = torch.stack([torch.dot(x, x) for x in parts])
            if _readable(sums):
                d_up, g_up, d_size, g_size = sums.tolist()
                d_pace = _pace(d_up, d_size, eps)
                g_pace = _pace(g_up, g_size, eps)
                ratio = d_pace / max(g_pace, eps) if g_pace > 0 else 0.0
                return {"d_pace": d_pace, "g_pace": g_pace, "pace_ratio": ratio}
        else:
            before = list(before)
            diff = list(torch._foreach_sub(now, before))
            sq = torch.stack(torch._foreach_norm(diff + before)).float().square()
            k = n + m
            sums = torch.stack(
                [sq[:n].sum(), sq[n:k].sum(), sq[k : k + n].sum(), sq[k + n :].sum()]
            )
        update, size = sums[:2], sums[2:]
        paces = torch.where(size > 0, update.sqrt() / size.clamp(min=eps).sqrt(), 0.0)
        d_pace, g_pace = paces.unbind()
        ratio = torch.where(g_pace > 0, d_pace / g_pace.clamp(min=eps), 0.0)
    return {"d_pace": d_pace, "g_pace": g_pace, "pace_ratio": ratio}


def _pace(update: float, size: float, eps: float) -> float:
    """`sqrt(update) / sqrt(max(size, eps))`, 0 when `size` is 0."""
    return math.sqrt(update) / math.sqrt(max(size, eps)) if size > 0 else 0.0


def _readable(tensor) -> bool:
    """Whether reading `tensor` to Python costs no wait: on the host, run
    eagerly (not while `torch.compile` traces)."""
    return tensor.device.type == "cpu" and not torch.compiler.is_compiling()


def squared_norm(tensors: Sequence):
    """`sum ||t||^2` over `tensors`, in float32: one `dot` of their flat copy
    on the host (float32 tensors), else one fused norm kernel.

    The same quantity as the `keras.ops` version in `common`.
    """
    with torch.no_grad():
        tensors = [t if t.dtype == torch.float32 else t.float() for t in tensors]
        if not tensors:
            return torch.zeros((), dtype=torch.float32)
        if _host_float32(tensors):
            flat = _flat(tensors)
            return torch.dot(flat, flat)
        return torch.stack(torch._foreach_norm(tensors)).square().sum()


def global_norm(tensors: Sequence):
    """`sqrt(sum ||t||^2)` over `tensors` (`squared_norm`): a Python float
    on the host, run eagerly (no op for the root), else a float32 tensor."""
    sq = squared_norm(tensors)
    if _readable(sq):
        return math.sqrt(sq.item())
    return sq.sqrt()


def all_finite(tensors: Sequence):
    """Whether every element of `tensors` is finite, in a few ops.

    The same answer as the `keras.ops` version (one `isfinite` and `all` per
    tensor, about 50 us each on torch). On the host, float32 tensors are
    checked in one flat copy and the answer is a Python bool (read at once:
    on the host that costs no wait); else the largest magnitude of each
    tensor (`torch._foreach_norm` with `ord=inf`, one fused kernel) is
    finite exactly when all its elements are, since a max cannot overflow
    and NaN propagates through it: a bool tensor.
    """
    tensors = [t.detach() for t in tensors if t.numel()]
    if not tensors:
        return torch.ones((), dtype=torch.bool)
    if len(tensors) <= 2 and all(t.numel() == 1 and _readable(t) for t in tensors):
        # A player's losses alone (its gradients answered by their norm,
        # `_nonfinite.any_nonfinite`): a read each, no op.
        return all(math.isfinite(t.item()) for t in tensors)
    with torch.no_grad():
        if _host_float32(tensors):
            finite = torch.isfinite(_flat(tensors)).all()
            return bool(finite) if _readable(finite) else finite
        peaks = torch._foreach_norm(tensors, float("inf"))
        return torch.isfinite(torch.stack([p.float() for p in peaks])).all()


def _host_float32(tensors: Sequence) -> bool:
    """Whether `tensors` are float32 tensors on the host (at least one)."""
    return (
        bool(tensors)
        and tensors[0].device.type == "cpu"
        and all(t.dtype == torch.float32 for t in tensors)
    )


def num_replicas() -> int:
    """1: the GAN step runs on one process (no `torch.distributed` support)."""
    return 1


def replica_rows(x, batch):
    """`x` (one replica)."""
    return x


# ------------------------------------------------------------------ host work
# PyTorch runs each op as it is called, and each `keras.ops` call costs
# several times its op on the host; a step of a small GAN is bound by that.
# These give the same numbers as the `common` versions in fewer calls.


def normal(shape: tuple, seed):
    """`keras.random.normal(shape, seed=seed)`, the same numbers.

    For a `SeedGenerator` (the GAN's latents), Keras's torch backend makes a
    new `torch.Generator` per draw and advances the seed state with
    `keras.ops` (about 0.25 ms a draw on a CPU). Here one generator per
    device is kept and re-seeded with Keras's seed (the state's two words
    summed, modulo 2^32), and the state's counter is advanced in place.
    Anything else (an int seed, a stateless scope, `torch.compile`) goes
    through Keras.
    """
    state = getattr(seed, "state", None)
    if (
        not isinstance(seed, keras.random.SeedGenerator)
        or in_stateless_scope()
        or torch.compiler.is_compiling()
        or getattr(state, "_value", None) is None
        or str(get_device()) == "meta"
    ):
        return common.normal(shape, seed)
    device = get_device()
    tensor = state._value
    first, second = tensor.tolist()
    with torch.no_grad():
        tensor[1:].add_(1)  # Keras's `state + [0, 1]`
    generator = _GENERATORS.get(str(device))
    if generator is None:
        generator = _GENERATORS[str(device)] = torch.Generator(device=device)
    generator.manual_seed((first + second) & 0xFFFFFFFF)
    return torch.normal(
        0.0,
        1.0,
        size=tuple(shape),
        generator=generator,
        dtype=to_torch_dtype(keras.config.floatx()),
        device=device,
    )


_GENERATORS: dict = {}


def log_values(trackers: Sequence, values: dict) -> dict:
    """`common.log_values`: running means and last values, updated with one
    fused op per kind of variable.

    The means' results are `total / count` (the count is at least 1 after
    the update); a last value's result is the value itself (a fresh tensor,
    so a later reset of the metric does not zero the logs). On the host
    (`_readable`) the logs are Python floats.
    """
    means = [t for t in trackers if type(t) is _trackers.ScalarMean]
    lasts = [t for t in trackers if type(t) is _trackers.LastValue]
    if len(means) + len(lasts) < len(trackers) or any(
        t.dtype != "float32" for t in trackers
    ):
        return common.log_values(trackers, values)
    logs = {}
    with torch.no_grad():
        if means:
            new = _scalars([values[t.name] for t in means])
            totals = variable_tensors([t.total for t in means])
            counts = variable_tensors([t.count for t in means])
            torch._foreach_add_(totals, new)
            torch._foreach_add_(counts, 1.0)
            results = torch._foreach_div(totals, counts)
            logs.update(zip([t.name for t in means], results))
        if lasts:
            new = _scalars([values[t.name] for t in lasts])
            torch._foreach_copy_(variable_tensors([t.value for t in lasts]), new)
            logs.update(zip([t.name for t in lasts], new))
    results = [logs[t.name] for t in trackers]
    if results and _readable(results[0]):
        # Python floats, read in one call: Keras turns every log value into
        # one after each step anyway (`pythonify_logs`, one tensor at a time).
        results = torch.stack(results).tolist()
    return dict(zip([t.name for t in trackers], results))


def _scalars(values: list) -> list:
    """`values` as detached float32 torch scalars: the Python numbers among
    them made in one tensor (one op, not one per number)."""
    numbers = [i for i, v in enumerate(values) if not isinstance(v, torch.Tensor)]
    if numbers:
        made = torch.tensor(
            [float(values[i]) for i in numbers],
            dtype=torch.float32,
            device=get_device(),
        ).unbind()
        values = list(values)
        for i, tensor in zip(numbers, made):
            values[i] = tensor
    return [
        v.detach() if v.dtype == torch.float32 else v.detach().float() for v in values
    ]


def record_nonfinite(flags, d_bad, g_bad, step) -> dict:
    """`common.record_nonfinite` in torch ops on the flags' own tensors; with
    Python bools for both players (`all_finite` on the host, or a player not
    checked) and the flags on the host, in Python: the flags are read and
    written only when a player went bad, and the logs are Python floats."""
    if in_stateless_scope():
        return common.record_nonfinite(flags, d_bad, g_bad, step)
    d_flag, g_flag, first_step = variable_tensors(
        [flags.d_flag, flags.g_flag, flags.step]
    )
    with torch.no_grad():
        if isinstance(d_bad, bool) and isinstance(g_bad, bool) and _readable(d_flag):
            if d_bad or g_bad:
                if d_flag.item() + g_flag.item() == 0:
                    first_step.fill_(float(step))
                for flag in (d_flag,) * d_bad + (g_flag,) * g_bad:
                    flag.fill_(1.0)
            return flags.named(d_flag.item() + 2.0 * g_flag.item(), first_step.item())
        d_bad = torch.as_tensor(d_bad, device=d_flag.device).float()
        g_bad = torch.as_tensor(g_bad, device=d_flag.device).float()
        step = torch.as_tensor(step, device=d_flag.device).float()
        first = ((d_flag + g_flag) == 0) & ((d_bad + g_bad) > 0)
        first_step.copy_(torch.where(first, step, first_step))
        torch.maximum(d_flag, d_bad, out=d_flag)
        torch.maximum(g_flag, g_bad, out=g_flag)
        return flags.named(d_flag + 2.0 * g_flag, first_step.clone())

"""torch side of the GAN step: gradients, their application, input gradients."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch

from keras_graft.optimizers._backend.torch import variable_tensors
from keras_graft.gan._backend.common import (  # noqa: F401
    replica_sum,
    test_step,
    train_step,
)


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


def snapshot(variables: Sequence) -> list:
    """Copies of the current values of `variables`."""
    with torch.no_grad():
        # One fused copy (`* 1.0` is exact: NaN, -0.0 and Inf are kept).
        return list(torch._foreach_mul(variable_tensors(variables), 1.0))


def pace(before: Sequence, variables: Sequence, eps: float):
    """`||v - b|| / ||b||` over all the variables (0 when `b` is 0), with
    fused kernels: the same ops as `common.pace`, in four `torch._foreach_*`
    calls instead of three small ops per variable, and torch ops for the
    rest (each `keras.ops` call costs several times its op, run eagerly).
    """
    with torch.no_grad():
        diff = torch._foreach_sub(variable_tensors(variables), list(before))
        upd = torch.stack(torch._foreach_norm(diff)).square().sum()
        par = torch.stack(torch._foreach_norm(list(before))).square().sum()
        return torch.where(
            par > 0, torch.sqrt(upd) / torch.sqrt(torch.clamp(par, min=eps)), 0.0
        )


def squared_norm(tensors: Sequence):
    """`sum ||t||^2` over `tensors`, in float32, with one fused norm kernel.

    The same quantity as the `keras.ops` version in `GAN._grad_norm`.
    """
    with torch.no_grad():
        tensors = [t if t.dtype == torch.float32 else t.float() for t in tensors]
        if not tensors:
            return torch.zeros((), dtype=torch.float32)
        return torch.stack(torch._foreach_norm(tensors)).square().sum()


def all_finite(tensors: Sequence):
    """Whether every element of `tensors` is finite, with one fused kernel.

    The same answer as the `keras.ops` version (one `isfinite` and `all` per
    tensor, about 50 us each on torch): the largest magnitude of a tensor
    (`torch._foreach_norm` with `ord=inf`) is finite exactly when all its
    elements are, since a max cannot overflow and NaN propagates through it.
    """
    tensors = [t.detach() for t in tensors if t.numel()]
    if not tensors:
        return torch.ones((), dtype=torch.bool)
    with torch.no_grad():
        peaks = torch._foreach_norm(tensors, float("inf"))
        return torch.isfinite(torch.stack([p.float() for p in peaks])).all()


def num_replicas() -> int:
    """1: the GAN step runs on one process (no `torch.distributed` support)."""
    return 1


def replica_rows(x, batch):
    """`x` (one replica)."""
    return x

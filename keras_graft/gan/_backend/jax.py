"""JAX side of the GAN step: gradients, their application, input gradients.

The JAX trainer passes the model state explicitly. `train_step` opens one
`keras.StatelessScope` holding every variable's value, runs the backend-free
step inside it (so layers, optimizers, metrics and the seed generator read and
"assign" values in the scope), and reads the new state back out. `gradients`
differentiates an objective with `jax.value_and_grad` over the values of the
variables being trained, inside a nested scope.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from keras import StatelessScope
from keras.distribution import distribution
from keras.optimizers import LossScaleOptimizer

# The scope the step runs in: Keras has no public accessor for it.
from keras.src.backend.common.stateless_scope import get_stateless_scope

from keras_graft.gan._backend.common import (  # noqa: F401
    all_finite,
    global_norm,
    log_values,
    normal,
    record_nonfinite,
    replica_sum,
    pace_logs,
)


def _scope_with(mapping: dict) -> StatelessScope:
    # A scope from an id->value dict. `StatelessScope(state_mapping=...)`
    # would re-convert every value of the model; nested scopes do not chain
    # in Keras, so each one needs the whole mapping.
    scope = StatelessScope()
    scope.state_mapping = mapping
    return scope


def gradients(objective: Callable, variables: Sequence, *args: Any):
    """Run `objective(*args) -> (loss, aux)` and differentiate `loss`.

    Must run inside a `StatelessScope` that maps every variable (see
    `train_step`); the objective's side effects (BatchNorm statistics, seed
    state) are written back into that scope.
    """
    outer = get_stateless_scope()
    if outer is None:
        raise RuntimeError(
            "keras_graft.gan._backend.jax.gradients needs a StatelessScope."
        )
    keys = [id(v) for v in variables]
    values = [outer.state_mapping[k] for k in keys]
    base = outer.state_mapping

    def fn(values):
        mapping = dict(base)
        mapping.update(zip(keys, values))
        with _scope_with(mapping) as scope:
            loss, aux = objective(*args)
        key_set = set(keys)
        updates = {
            k: v
            for k, v in scope.state_mapping.items()
            if k not in key_set and v is not base.get(k)
        }
        return loss, (aux, updates)

    (_, (aux, updates)), grads = jax.value_and_grad(fn, has_aux=True)(values)
    outer.state_mapping.update(updates)
    return grads, aux


def apply(optimizer, grads: Sequence, variables: Sequence) -> None:
    """Apply `grads` to `variables` with `optimizer` (assignments go to the scope).

    A `LossScaleOptimizer` branches with `ops.cond` on whether the gradients
    are finite; its stateful `apply` would assign inside traced branches, so it
    goes through `stateless_apply` on values read from the scope.
    """
    if not isinstance(optimizer, LossScaleOptimizer):
        optimizer.apply(grads, variables)
        return
    scope = get_stateless_scope()
    opt_vars = optimizer.variables
    opt_values = [scope.get_current_value(v) for v in opt_vars]
    values = [scope.get_current_value(v) for v in variables]
    new_values, new_opt_values = optimizer.stateless_apply(
        opt_values, list(grads), values
    )
    for ref, value in zip(
        list(variables) + list(opt_vars), list(new_values) + list(new_opt_values)
    ):
        scope.state_mapping[id(ref)] = value


def input_gradient(fn: Callable, x):
    """`grad_x fn(x)` for a scalar `fn`, differentiable again (`jax.grad`).

    Variable assignments made by `fn` (e.g. BatchNorm statistics) are discarded.
    """
    outer = get_stateless_scope()
    base = dict(outer.state_mapping) if outer is not None else {}

    def f(x):
        with _scope_with(dict(base)):
            return fn(x)

    return jax.grad(f)(x)


def no_grad():
    """Context in which generator outputs need no graph (a no-op on JAX)."""
    return contextlib.nullcontext()


def snapshot(variables: Sequence) -> list:
    """The current values of `variables` (JAX arrays are immutable)."""
    return [v.value for v in variables]


def _run_stateless(step, refs: tuple, state: tuple, data):
    """`step(data)` in one scope mapping each group of `refs` to `state`.

    Returns the step's logs and the groups' new values, in the same layout.
    """
    mapping = {}
    for group_refs, values in zip(refs, state):
        for ref, value in zip(group_refs, values):
            mapping[id(ref)] = value
    with _scope_with(mapping) as scope:
        logs = step(data)
    new_state = tuple(
        [scope.state_mapping[id(ref)] for ref in group_refs] for group_refs in refs
    )
    return logs, new_state


def _train_refs(model) -> tuple:
    """The variables of the JAX trainer's train state, in its order."""
    return (
        model.trainable_variables,
        model.non_trainable_variables,
        model.optimizer.variables,
        model.metrics_variables,
    )


def train_step(model, state, data):
    """The JAX trainer's `train_step(state, data) -> (logs, state)` for a GAN."""
    return _run_stateless(model._train_step_common, _train_refs(model), state, data)


def test_step(model, state, data):
    """The JAX trainer's `test_step(state, data) -> (logs, state)` for a GAN."""
    refs = (
        model.trainable_variables,
        model.non_trainable_variables,
        model.metrics_variables,
    )
    return _run_stateless(model._test_step_common, refs, state, data)


def scanned_steps(model, inner: Callable) -> Callable:
    """The train function with a call's `steps_per_execution` steps in one scan.

    Keras's JAX trainer runs ``steps_per_execution = k`` as k calls of the
    jitted step from Python, each flattening and dispatching the whole train
    state. Here a call takes its k batches from the iterator, stacks them and
    runs ``jax.lax.scan`` of the same step over them in one jitted call
    (the state donated, as Keras does), returning the last step's logs like
    Keras's. XLA compiles the loop's body on its own terms: the same numbers
    bit for bit on the MLP GANs measured, different rounding (and 5x the
    time) for convolutions on XLA:CPU (`benchmarks/scan_steps.py`). Fewer
    than k batches (the epoch's end) or batches of different shapes go
    through Keras's own function, one jitted step each.

    Args:
        model (GAN): The compiled GAN.
        inner (Callable): Keras's train function, returned unchanged where
            the scan does not apply (k = 1, eager, not jitted, or under
            `keras.distribution`, whose shardings Keras's function keeps).

    Returns:
        Callable: ``train_function(state, iterator) -> (logs, state)``.
    """
    k = model.steps_per_execution
    if k == 1 or model.run_eagerly or not model.jit_compile or distribution():
        return inner

    def scan(state, data):
        def body(state, batch):
            logs, state = model.train_step(state, batch)
            return state, logs

        state, logs = jax.lax.scan(body, state, data)
        return jax.tree.map(lambda x: x[-1], logs), state

    scan = jax.jit(scan, donate_argnums=0)

    def layout(batch) -> list:
        leaves = jax.tree.leaves(batch)
        return [(np.shape(x), getattr(x, "dtype", None)) for x in leaves]

    def train_function(state, iterator):
        batches = [next(iterator)]
        try:
            while len(batches) < k:
                batches.append(next(iterator))
        except StopIteration:
            pass
        first = layout(batches[0])
        if len(batches) == k and all(layout(b) == first for b in batches[1:]):
            return scan(state, jax.tree.map(_stack, *batches))
        return inner(state, iter(batches))

    return train_function


def _stack(*xs):
    # NumPy batches (Keras's array adapter) are stacked on the host: one
    # transfer, no dispatch per batch.
    if all(isinstance(x, np.ndarray) for x in xs):
        return np.stack(xs)
    return jnp.stack(xs)


def num_replicas() -> int:
    """1: under `keras.distribution` the jitted step sees the global batch."""
    return 1


def replica_rows(x, batch):
    """`x`: the jitted step draws for the global batch already."""
    return x

"""JAX: the synthetic framework's engine, every run of a group trained at once.

The runs that share an optimizer (its name and options) differ only in their
seed and learning rates, so one `jax.lax.scan` over steps, `jax.vmap`-ed over
runs and compiled once, trains them all: the optimizers' `stateless_apply`
inside, the decayed rates written into the optimizer's learning-rate slot at
each step. Logs (mode counts, step norms) are read every `log_every` steps.
"""

from __future__ import annotations

import os
from typing import Callable

import jax
import jax.numpy as jnp
import keras
import numpy as np

from keras_graft.experiments import synthetic
from keras_graft.metrics import mode_mass

# The synthetic module's own helpers, shared with its plain loop.
_optimizer_pair = synthetic._optimizer_pair
_initial_lists = synthetic._initial_lists
_learning_rate_index = synthetic._learning_rate_index
_d_gradients = synthetic._d_gradients
_g_gradients = synthetic._g_gradients
_recovered_counts = synthetic._recovered_counts
_results = synthetic._results

#: Whether `train_group` trains a group of runs at once (a `jax.vmap`-ed scan).
VECTORIZED = True


#: Most disk the compilation cache of the workers may take (bytes).
COMPILATION_CACHE_BYTES = 2**30


def init_worker() -> None:
    """Keep XLA's compiled steps on disk, shared by the workers of a machine.

    Every run of a benchmark traces the same functions (the same networks,
    optimizers and shapes) and XLA compiled them again in each run: about
    3.5 s of a 25 s digit run on a CPU core. JAX's persistent compilation
    cache keeps the executables in ``$KERAS_HOME/keras_graft/jax_cache``
    (or ``JAX_COMPILATION_CACHE_DIR``), so each compiles once per machine.
    The executables are the ones XLA would compile, so no number changes.
    The workers share it under a file lock, which JAX takes only with a size
    limit and the ``filelock`` package (installed with the ``jax`` extra);
    without that package the cache stays off.
    """
    import importlib.util

    if importlib.util.find_spec("filelock") is None:
        return
    from keras_graft.metrics import cache_dir

    path = os.environ.get("JAX_COMPILATION_CACHE_DIR") or os.path.join(
        cache_dir(), "jax_cache"
    )
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_compilation_cache_max_size", COMPILATION_CACHE_BYTES)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.1)


def train_group(
    config: synthetic.SyntheticConfig,
    problem: synthetic.SyntheticProblem,
    group: list[synthetic.SyntheticRun],
    progress: Callable[[int], None] | None,
) -> list[synthetic.SyntheticResult]:
    """Train runs of one optimizer at once: `jax.vmap` over runs of a scan."""
    d_optimizer, g_optimizer = _optimizer_pair(group[0])
    d_build, g_build, a_fixed = _initial_lists(config, group[0].seed)
    d_optimizer.build([keras.Variable(x) for x in d_build])
    g_optimizer.build([keras.Variable(x) for x in g_build])
    d_lr_index = _learning_rate_index(d_optimizer)
    g_lr_index = _learning_rate_index(g_optimizer)
    d_optimizer_init = [np.asarray(v.value) for v in d_optimizer.variables]
    g_optimizer_init = [np.asarray(v.value) for v in g_optimizer.variables]

    # The state of every run, stacked over runs: (D's parameters, G's
    # parameters, D's optimizer variables, G's, D's base rate, G's base rate).
    states = []
    for r in group:
        d_init, g_init, _ = _initial_lists(config, r.seed)
        states.append(
            (
                d_init,
                g_init,
                d_optimizer_init,
                g_optimizer_init,
                np.float32(r.lr_d),
                np.float32(r.lr_g),
            )
        )
    state = jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *states)
    real_x, real_w = jnp.asarray(problem.real_x), jnp.asarray(problem.real_w)
    a_fixed = jnp.asarray(a_fixed)
    total = float(config.steps)
    simultaneous = config.update == "simultaneous"

    def body(carry, t):
        d_params, g_params, d_opt_vars, g_opt_vars, lr_d, lr_g = carry
        decay = jnp.maximum(0.0, 1.0 - t.astype(jnp.float32) / total)
        d_opt_vars = list(d_opt_vars)
        g_opt_vars = list(g_opt_vars)
        d_lr_dtype = d_opt_vars[d_lr_index].dtype
        g_lr_dtype = g_opt_vars[g_lr_index].dtype
        d_opt_vars[d_lr_index] = (lr_d * decay).astype(d_lr_dtype)
        g_opt_vars[g_lr_index] = (lr_g * decay).astype(g_lr_dtype)
        v = g_params[0]
        d_grads = _d_gradients(config, d_params, a_fixed, v, real_x, real_w)
        if simultaneous:
            g_grads = _g_gradients(config, d_params, a_fixed, v)
        new_d, d_opt_vars = d_optimizer.stateless_apply(d_opt_vars, d_grads, d_params)
        if not simultaneous:
            g_grads = _g_gradients(config, new_d, a_fixed, v)
        new_g, g_opt_vars = g_optimizer.stateless_apply(g_opt_vars, g_grads, g_params)
        d_norm = jnp.sqrt(sum(jnp.sum((n - o) ** 2) for n, o in zip(new_d, d_params)))
        g_norm = jnp.sqrt(sum(jnp.sum((n - o) ** 2) for n, o in zip(new_g, g_params)))
        carry = (list(new_d), list(new_g), d_opt_vars, g_opt_vars, lr_d, lr_g)
        return carry, (d_norm, g_norm)

    def chunk(carry, ts):
        return jax.lax.scan(body, carry, ts)

    run_chunk = jax.jit(jax.vmap(chunk, in_axes=(0, None)))

    def neurons(state: tuple, player: int) -> np.ndarray:
        """The first parameter (``w`` or ``v``) of a player, over runs."""
        return np.asarray(state[player][0])

    v_init = neurons(state, 1)
    probs = config.mode_probs()
    counts, d_steps, g_steps = [], [], []
    n = config.log_every
    for start in range(0, config.steps, n):
        ts = jnp.arange(start, start + n, dtype=jnp.int32)
        state, (d_norms, g_norms) = run_chunk(state, ts)
        mass = mode_mass(neurons(state, 1), problem.modes, probs, config.cos_threshold)
        counts.append(_recovered_counts(config, mass))
        d_steps.append(np.asarray(d_norms).mean(axis=1))
        g_steps.append(np.asarray(g_norms).mean(axis=1))
        if progress is not None:
            progress(len(group))
    return _results(
        config,
        problem,
        group,
        counts=np.stack(counts, 1),
        d_step=np.stack(d_steps, 1),
        g_step=np.stack(g_steps, 1),
        v0=v_init,
        v=neurons(state, 1),
        w=neurons(state, 0),
    )

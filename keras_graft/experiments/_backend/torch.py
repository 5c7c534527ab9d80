"""PyTorch: the runs of a group trained at once, `torch.func.vmap` over runs.

The runs that share an optimizer (its name and options) differ only in their
seed and learning rates, so, as on JAX (`_backend/jax.py`), one function
trains a chunk of `log_every` steps of one run from its state, the optimizers'
`stateless_apply` inside, and `torch.func.vmap` runs it for every run at once:
each op of a step is one batched torch op over all runs, instead of one small
op per run. The rates of every step are those of `synthetic.train_loop`
(`linear_decay` in float64, rounded to float32), written into the optimizer's
learning-rate slot before each step.

`vmap` has no batching rule for the `torch._foreach_*` ops of the fused paths
(Keras's own torch SGD and Adam, keras_graft's fused rules and steps in
`keras_graft/optimizers/_backend/torch.py`), nor for a read of a tensor to the
host. So inside a vectorized group the optimizers run their generic
`keras.ops` path: Keras's per-variable `update_step` for Keras's optimizers,
and for keras_graft's `_rule` with the norms and steps of the library's
generic backend module (`keras_graft.optimizers._backend.jax`, plain
`keras.ops`); see `_generic_updates`. The math is the optimizers' own; results
agree with the fused per-run loop to float32 rounding
(`tests/experiments/test_synthetic_vectorized.py`).

A group of one run, or one whose options do not vectorize (a data-dependent
branch such as gradient accumulation's, Keras's fused weight decay), trains
run after run with `synthetic.train_loop`, as before.
"""

from __future__ import annotations

import contextlib
import importlib
import types
from typing import Callable, Iterator

import keras
import numpy as np
import torch

from keras_graft.experiments import synthetic
from keras_graft.experiments.schedules import linear_decay
from keras_graft.metrics import mode_mass
from keras_graft.optimizers._base import GraftedOptimizer

# The synthetic module's own helpers, shared with its plain loop.
_optimizer_pair = synthetic._optimizer_pair
_initial_lists = synthetic._initial_lists
_learning_rate_index = synthetic._learning_rate_index
_d_gradients = synthetic._d_gradients
_g_gradients = synthetic._g_gradients
_recovered_counts = synthetic._recovered_counts
_results = synthetic._results

# The functions of `keras_graft.optimizers._backend` whose torch forms vmap
# cannot batch (`_foreach_*` ops, a host read of the scales, the fused rules).
_UNBATCHABLE = ("update_step", "squared_norms", "apply_scaled")

#: Whether `train_group` trains a group of runs at once (`torch.func.vmap`).
VECTORIZED = True


def init_worker() -> None:
    """One intra-op thread: the workers already use every core between them."""
    torch.set_num_threads(1)


def train_group(
    config: synthetic.SyntheticConfig,
    problem: synthetic.SyntheticProblem,
    group: list[synthetic.SyntheticRun],
    progress: Callable[[int], None] | None,
) -> list[synthetic.SyntheticResult]:
    """Train runs of one optimizer at once (`torch.func.vmap` over runs).

    Falls back to one `synthetic.train_loop` per run (no autograd graph) for a
    single run, or when the optimizer's options do not vectorize.
    """
    if len(group) > 1:
        trainer = _VectorizedGroup(config, problem, group)
        if trainer.vectorizes():
            return trainer.train(progress)
    return train_runs(config, problem, group, progress)


def train_runs(
    config: synthetic.SyntheticConfig,
    problem: synthetic.SyntheticProblem,
    group: list[synthetic.SyntheticRun],
    progress: Callable[[int], None] | None,
) -> list[synthetic.SyntheticResult]:
    """Train each run of `group` with `synthetic.train_loop`, no autograd graph."""
    return [
        synthetic.train_loop(config, problem, run, progress, torch.no_grad())
        for run in group
    ]


@contextlib.contextmanager
def _generic_updates(*optimizers: keras.optimizers.Optimizer) -> Iterator[None]:
    """The optimizers update with plain `keras.ops`, which `torch.func.vmap` batches.

    A Keras optimizer gets Keras's generic `_backend_update_step` (its
    `update_step` per variable) in place of its fused torch one, on the
    instance. keras_graft's optimizers get, while the block runs, the
    library's generic update, norms and step (`keras_graft.optimizers._backend
    .jax`, plain `keras.ops`, no fused rule) in place of the torch module's;
    they are put back on exit. The swap is process-wide: the synthetic workers
    train one group at a time.
    """
    backend = importlib.import_module("keras_graft.optimizers._backend")
    generic = importlib.import_module("keras_graft.optimizers._backend.jax")
    for optimizer in optimizers:
        if not isinstance(optimizer, GraftedOptimizer):
            optimizer._backend_update_step = types.MethodType(
                keras.optimizers.Optimizer._backend_update_step, optimizer
            )
    saved = {name: getattr(backend, name) for name in _UNBATCHABLE}
    try:
        for name in _UNBATCHABLE:
            setattr(backend, name, getattr(generic, name))
        yield
    finally:
        for name, function in saved.items():
            setattr(backend, name, function)


class _VectorizedGroup:
    """The runs of one group, their states stacked over runs (leading axis).

    The state is (D's parameters, G's parameters, D's optimizer variables,
    G's), each a list of tensors of shape ``(runs, ...)``.
    """

    def __init__(
        self,
        config: synthetic.SyntheticConfig,
        problem: synthetic.SyntheticProblem,
        group: list[synthetic.SyntheticRun],
    ) -> None:
        self.config, self.problem, self.group = config, problem, group
        self.d_optimizer, self.g_optimizer = _optimizer_pair(group[0])
        d_build, g_build, a_fixed = _initial_lists(config, group[0].seed)
        self.d_optimizer.build([keras.Variable(x) for x in d_build])
        self.g_optimizer.build([keras.Variable(x) for x in g_build])
        self.d_lr_index = _learning_rate_index(self.d_optimizer)
        self.g_lr_index = _learning_rate_index(self.g_optimizer)
        self.real_x = torch.as_tensor(problem.real_x)
        self.real_w = torch.as_tensor(problem.real_w)
        self.a_fixed = torch.as_tensor(a_fixed)
        d_opt = [v.value.detach().clone() for v in self.d_optimizer.variables]
        g_opt = [v.value.detach().clone() for v in self.g_optimizer.variables]
        d_params, g_params = [], []
        for run in group:
            d_init, g_init, _ = _initial_lists(config, run.seed)
            d_params.append(d_init)
            g_params.append(g_init)
        self.v_init = np.stack([g[0] for g in g_params])
        self.state = (
            _stack(d_params),
            _stack(g_params),
            [torch.stack([x] * len(group)) for x in d_opt],
            [torch.stack([x] * len(group)) for x in g_opt],
        )
        # The rates of every run and step, as `train_loop` computes them.
        decay = np.array(
            [linear_decay(1.0, t, config.steps) for t in range(config.steps)]
        )
        self.lr_d = _rates([r.lr_d for r in group], decay)
        self.lr_g = _rates([r.lr_g for r in group], decay)
        self.run_chunk = torch.func.vmap(self._chunk)

    def _chunk(self, state: tuple, lr_d: torch.Tensor, lr_g: torch.Tensor) -> tuple:
        """`len(lr_d)` steps of one run (vmapped over runs): new state, norms."""
        config = self.config
        simultaneous = config.update == "simultaneous"
        d_params, g_params, d_opt_vars, g_opt_vars = (list(x) for x in state)
        norms = []
        for i in range(lr_d.shape[0]):
            d_opt_vars[self.d_lr_index] = lr_d[i]
            g_opt_vars[self.g_lr_index] = lr_g[i]
            v = g_params[0]
            d_grads = _d_gradients(
                config, d_params, self.a_fixed, v, self.real_x, self.real_w
            )
            if simultaneous:
                g_grads = _g_gradients(config, d_params, self.a_fixed, v)
            new_d, d_opt_vars = self.d_optimizer.stateless_apply(
                d_opt_vars, d_grads, d_params
            )
            if not simultaneous:
                g_grads = _g_gradients(config, new_d, self.a_fixed, v)
            new_g, g_opt_vars = self.g_optimizer.stateless_apply(
                g_opt_vars, g_grads, g_params
            )
            norms.append(
                torch.stack([_step_norm(new_d, d_params), _step_norm(new_g, g_params)])
            )
            d_params, g_params = list(new_d), list(new_g)
        state = (d_params, g_params, list(d_opt_vars), list(g_opt_vars))
        return state, torch.stack(norms, dim=1)  # norms: (2, steps)

    def vectorizes(self) -> bool:
        """Whether one step of the group runs under vmap (on a throw-away state)."""
        state = tuple([x[:2].clone() for x in part] for part in self.state)
        try:
            with torch.no_grad(), _generic_updates(self.d_optimizer, self.g_optimizer):
                self.run_chunk(state, self.lr_d[:2, :1], self.lr_g[:2, :1])
        except RuntimeError:
            return False
        return True

    def train(
        self, progress: Callable[[int], None] | None
    ) -> list[synthetic.SyntheticResult]:
        """Train every run; the results of `synthetic.train_loop`, run by run."""
        config, problem = self.config, self.problem
        probs = config.mode_probs()
        counts, d_steps, g_steps = [], [], []
        n = config.log_every
        state = self.state
        with torch.no_grad(), _generic_updates(self.d_optimizer, self.g_optimizer):
            for start in range(0, config.steps, n):
                state, norms = self.run_chunk(
                    state,
                    self.lr_d[:, start : start + n],
                    self.lr_g[:, start : start + n],
                )
                norms = norms.numpy()  # (runs, 2, n)
                v_now = state[1][0].numpy()
                mass = mode_mass(v_now, problem.modes, probs, config.cos_threshold)
                counts.append(_recovered_counts(config, mass))
                d_steps.append(norms[:, 0].mean(axis=1))
                g_steps.append(norms[:, 1].mean(axis=1))
                if progress is not None:
                    progress(len(self.group))
        return _results(
            config,
            problem,
            self.group,
            counts=np.stack(counts, 1),
            d_step=np.stack(d_steps, 1),
            g_step=np.stack(g_steps, 1),
            v0=self.v_init,
            v=state[1][0].numpy(),
            w=state[0][0].numpy(),
        )


def _stack(per_run: list[list[np.ndarray]]) -> list[torch.Tensor]:
    """Per-run lists of arrays -> one tensor per list position, runs first."""
    return [torch.as_tensor(np.stack(xs)) for xs in zip(*per_run)]


def _rates(base: list[float], decay: np.ndarray) -> torch.Tensor:
    """``float32(lr * decay_t)`` per run and step (float64 product, as
    `linear_decay` computes it)."""
    rates = np.asarray(base, np.float64)[:, None] * decay[None, :]
    return torch.as_tensor(rates.astype(np.float32))


def _step_norm(new: list, old: list) -> torch.Tensor:
    """Norm of one player's step over all its parameters (as `train_loop`)."""
    return torch.sqrt(sum(torch.sum(torch.square(n - o)) for n, o in zip(new, old)))

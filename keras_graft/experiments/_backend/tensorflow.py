"""TensorFlow: the runs of a group one after another, traced once per group.

`synthetic.train_loop` makes new variables, optimizers and a `tf.function`
for every run, traces it, and calls it once per step: at the default's size
the trace and the 3,000 calls from Python are most of a run's time. Here a
group (runs that share an optimizer, its name and options, and differ in
their seed and learning rates) keeps one set of variables and optimizers:
each run writes its initial parameters and the optimizers' initial state
into them, and one `tf.function`, traced once, trains `log_every` steps per
call in a `tf.while_loop`. The steps, their rates (`linear_decay` in float64,
rounded to float32) and the logs are `train_loop`'s; results agree with it to
float32 rounding (`tests/experiments/test_synthetic_vectorized.py`).

The runs are not vectorized as on JAX and PyTorch: Keras's TensorFlow
optimizers have no `stateless_apply`, which a map over runs needs.
"""

from __future__ import annotations

from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from keras_graft.experiments import synthetic
from keras_graft.experiments.schedules import linear_decay
from keras_graft.metrics import mode_mass

#: Whether `train_group` trains a group of runs at once (one run after another).
VECTORIZED = False


def train_group(
    config: synthetic.SyntheticConfig,
    problem: synthetic.SyntheticProblem,
    group: list[synthetic.SyntheticRun],
    progress: Callable[[int], None] | None,
) -> list[synthetic.SyntheticResult]:
    """Train each run of `group` in turn, with one traced step loop for all."""
    if len(group) == 1:
        return [synthetic.train_loop(config, problem, group[0], progress, tf.function)]
    trainer = _Group(config, problem, group[0])
    return [trainer.train(run, progress) for run in group]


def init_worker() -> None:
    """Nothing to set in a worker process on TensorFlow."""


class _Group:
    """Variables, optimizers and one traced chunk of steps, reused run by run."""

    def __init__(
        self,
        config: synthetic.SyntheticConfig,
        problem: synthetic.SyntheticProblem,
        first: synthetic.SyntheticRun,
    ) -> None:
        self.config, self.problem = config, problem
        self.d_optimizer, self.g_optimizer = synthetic._optimizer_pair(first)
        d_init, g_init, a_values = synthetic._initial_lists(config, first.seed)
        self.d_vars = [keras.Variable(x) for x in d_init]
        self.g_vars = [keras.Variable(x) for x in g_init]
        self.a_fixed = keras.Variable(a_values)
        self.d_optimizer.build(self.d_vars)
        self.g_optimizer.build(self.g_vars)
        # The optimizers' state before any step, written back for every run.
        self.d_start = [v.numpy() for v in self.d_optimizer.variables]
        self.g_start = [v.numpy() for v in self.g_optimizer.variables]
        self.real_x = tf.convert_to_tensor(problem.real_x)
        self.real_w = tf.convert_to_tensor(problem.real_w)
        self.chunk = tf.function(self._chunk, autograph=False)

    def _step(self, lr_d, lr_g):
        """One step of `synthetic.train_loop` (the same ops); the step norms."""
        config = self.config
        simultaneous = config.update == "simultaneous"
        self.d_optimizer.learning_rate = lr_d
        self.g_optimizer.learning_rate = lr_g
        d_old = [tf.identity(v.value) for v in self.d_vars]
        g_old = [tf.identity(v.value) for v in self.g_vars]
        v = g_old[0]
        a_fixed = self.a_fixed.value
        d_grads = synthetic._d_gradients(
            config, d_old, a_fixed, v, self.real_x, self.real_w
        )
        if simultaneous:
            g_grads = synthetic._g_gradients(config, d_old, a_fixed, v)
        self.d_optimizer.apply(d_grads, self.d_vars)
        if not simultaneous:
            d_new = [x.value for x in self.d_vars]
            g_grads = synthetic._g_gradients(config, d_new, a_fixed, v)
        self.g_optimizer.apply(g_grads, self.g_vars)
        d_norm = tf.sqrt(
            sum(
                tf.reduce_sum(tf.square(x.value - o))
                for x, o in zip(self.d_vars, d_old)
            )
        )
        g_norm = tf.sqrt(
            sum(
                tf.reduce_sum(tf.square(x.value - o))
                for x, o in zip(self.g_vars, g_old)
            )
        )
        return tf.stack([d_norm, g_norm])

    def _chunk(self, lr_d, lr_g):
        """`len(lr_d)` steps in a `tf.while_loop`; their norms, (steps, 2)."""
        n = tf.shape(lr_d)[0]
        norms = tf.TensorArray(tf.float32, size=n)

        def body(i, norms):
            return i + 1, norms.write(i, self._step(lr_d[i], lr_g[i]))

        _, norms = tf.while_loop(lambda i, _: i < n, body, (tf.constant(0), norms))
        return norms.stack()

    def train(
        self, run: synthetic.SyntheticRun, progress: Callable[[int], None] | None
    ) -> synthetic.SyntheticResult:
        """Train `run` from its own initialisation; `train_loop`'s result."""
        config, problem = self.config, self.problem
        d_init, g_init, a_values = synthetic._initial_lists(config, run.seed)
        for variable, value in zip(self.d_vars, d_init):
            variable.assign(value)
        for variable, value in zip(self.g_vars, g_init):
            variable.assign(value)
        self.a_fixed.assign(a_values)
        for variable, value in zip(self.d_optimizer.variables, self.d_start):
            variable.assign(value)
        for variable, value in zip(self.g_optimizer.variables, self.g_start):
            variable.assign(value)
        counts, d_steps, g_steps = [], [], []
        n = config.log_every
        for start in range(0, config.steps, n):
            steps = range(start, start + n)
            lr_d = [np.float32(linear_decay(run.lr_d, t, config.steps)) for t in steps]
            lr_g = [np.float32(linear_decay(run.lr_g, t, config.steps)) for t in steps]
            norms = self.chunk(
                tf.constant(np.array(lr_d, np.float32)),
                tf.constant(np.array(lr_g, np.float32)),
            ).numpy()
            v_now = self.g_vars[0].numpy()
            mass = mode_mass(
                v_now, problem.modes, config.mode_probs(), config.cos_threshold
            )
            counts.append(int(synthetic._recovered_counts(config, mass)))
            d_steps.append(float(norms[:, 0].mean()))
            g_steps.append(float(norms[:, 1].mean()))
            if progress is not None:
                progress(1)
        (result,) = synthetic._results(
            config,
            problem,
            [run],
            counts=np.array([counts]),
            d_step=np.array([d_steps]),
            g_step=np.array([g_steps]),
            v0=g_init[0][None],
            v=self.g_vars[0].numpy()[None],
            w=self.d_vars[0].numpy()[None],
        )
        return result

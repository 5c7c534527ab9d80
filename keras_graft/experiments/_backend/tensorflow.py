"""TensorFlow: the runs of a group one after another, traced once per group.

`synthetic.train_loop` makes new variables, optimizers and a `tf.function`
for every run, traces it, and calls it once per step: at the default's size
the trace and the 3,000 calls from Python are most of a run's time. Here a
group (runs that share an optimizer, its name and options, and differ in
their seed and learning rates) keeps one set of variables and optimizers:
each run writes its initial parameters and the optimizers' initial state
into them, and one `tf.function`, traced once, trains `log_every` steps per
call in a `tf.while_loop`. The step (`synthetic._loop_step`), its rates
(`synthetic._decayed_rates`) and the logs (`synthetic._RunLog`) are
`train_loop`'s; results agree with it to float32 rounding
(`tests/experiments/test_synthetic_tensorflow.py`).

The runs are not vectorized as on JAX and PyTorch: Keras's TensorFlow
optimizers have no `stateless_apply`, which a map over runs needs.
"""

from __future__ import annotations

from typing import Callable

import keras
import tensorflow as tf

from keras_graft.experiments import synthetic

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
        self.optimizers = synthetic._optimizer_pair(first)
        d_init, g_init, a_values = synthetic._initial_lists(config, first.seed)
        self.d_vars = [keras.Variable(x) for x in d_init]
        self.g_vars = [keras.Variable(x) for x in g_init]
        self.a_fixed = keras.Variable(a_values)
        for optimizer, variables in zip(self.optimizers, (self.d_vars, self.g_vars)):
            optimizer.build(variables)
        # The optimizers' state before any step, written back for every run.
        self.start = [[v.numpy() for v in o.variables] for o in self.optimizers]
        self.step = synthetic._loop_step(
            config, problem, self.optimizers, self.d_vars, self.g_vars, self.a_fixed
        )
        self.chunk = tf.function(self._chunk, autograph=False)

    def _chunk(self, lr_d, lr_g):
        """`len(lr_d)` steps in a `tf.while_loop`; their norms, (steps, 2)."""
        n = tf.shape(lr_d)[0]
        norms = tf.TensorArray(tf.float32, size=n)

        def body(i, norms):
            return i + 1, norms.write(i, self.step(lr_d[i], lr_g[i]))

        _, norms = tf.while_loop(lambda i, _: i < n, body, (tf.constant(0), norms))
        return norms.stack()

    def train(
        self, run: synthetic.SyntheticRun, progress: Callable[[int], None] | None
    ) -> synthetic.SyntheticResult:
        """Train `run` from its own initialisation; `train_loop`'s result."""
        config = self.config
        d_init, g_init, a_values = synthetic._initial_lists(config, run.seed)
        values = d_init + g_init + [a_values] + self.start[0] + self.start[1]
        variables = self.d_vars + self.g_vars + [self.a_fixed]
        for optimizer in self.optimizers:
            variables = variables + list(optimizer.variables)
        for variable, value in zip(variables, values):
            variable.assign(value)
        log = synthetic._RunLog(config, self.problem)
        n = config.log_every
        for start in range(0, config.steps, n):
            steps = range(start, start + n)
            norms = self.chunk(
                tf.constant(synthetic._decayed_rates(run.lr_d, steps, config.steps)),
                tf.constant(synthetic._decayed_rates(run.lr_g, steps, config.steps)),
            ).numpy()
            log.window(self.g_vars[0].numpy(), norms, progress)
        return log.result(
            run, g_init[0], self.g_vars[0].numpy(), self.d_vars[0].numpy()
        )

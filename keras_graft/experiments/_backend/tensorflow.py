"""TensorFlow: synthetic runs one after the other, each step a `tf.function`."""

from __future__ import annotations

from typing import Callable

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
    """Train each run of `group` with `synthetic.train_loop`, steps traced once."""
    return [
        synthetic.train_loop(config, problem, run, progress, tf.function)
        for run in group
    ]


def init_worker() -> None:
    """Nothing to set in a worker process on TensorFlow."""

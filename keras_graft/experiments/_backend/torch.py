"""PyTorch: synthetic runs one after the other, steps under `torch.no_grad`."""

from __future__ import annotations

from typing import Callable

import torch

from keras_graft.experiments import synthetic


def train_group(
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


def init_worker() -> None:
    """One intra-op thread: the workers already use every core between them."""
    torch.set_num_threads(1)

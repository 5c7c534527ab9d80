"""TensorFlow's synthetic groups (one traced step loop per group) against the
per-run loop, `synthetic.train_loop`, which traces a step per run."""

import pytest

from keras_graft._backend import backend_module
from keras_graft.experiments import SyntheticConfig, SyntheticRun, presets
from keras_graft.experiments import synthetic as syn
from tests.experiments.test_synthetic_vectorized import STABLE, _assert_same

pytestmark = pytest.mark.backend("tensorflow")


def _both(config, runs):
    import tensorflow as tf

    problem = syn.make_problem(config)
    grouped = backend_module("keras_graft.experiments._backend").train_group(
        config, problem, runs, None
    )
    looped = [syn.train_loop(config, problem, r, None, tf.function) for r in runs]
    return grouped, looped


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"update": "simultaneous", "loss": "minimax", "train_output_weights": True},
    ],
    ids=["alternating", "simultaneous_minimax_output_weights"],
)
def test_group_equals_the_loop_step_by_step(changes):
    """Every optimizer, rates up to 3, two seeds: each run of a group starts
    from its own initialisation and the optimizers' initial state."""
    config = SyntheticConfig(dim=8, num_modes=2, steps=4, log_every=2, **changes)
    rates = (0.01, 0.3, 3.0)
    for name, options in presets.SYNTHETIC_OPTIMIZERS.values():
        runs = [
            SyntheticRun(name, lr_g, lr_d, seed, dict(options))
            for lr_g in rates
            for lr_d in rates
            for seed in (0, 1)
        ]
        _assert_same(*_both(config, runs), rtol=1e-5)


@pytest.mark.parametrize("label", ["nsgda", "adam", "ada_nsgda"])
def test_group_equals_the_loop_over_200_steps(label):
    name, options = presets.SYNTHETIC_OPTIMIZERS[label]
    config = SyntheticConfig(dim=8, num_modes=2, steps=200, log_every=50)
    runs = [
        SyntheticRun(name, lr_g, lr_d, seed, dict(options))
        for lr_g, lr_d in STABLE[label]
        for seed in (0, 1)
    ]
    grouped, looped = _both(config, runs)
    _assert_same(grouped, looped, rtol=1e-4)
    assert any(r.final_modes for r in looped)  # not only still generators


def test_progress_counts_every_run_and_window():
    config = SyntheticConfig(dim=8, num_modes=2, steps=6, log_every=2)
    runs = [SyntheticRun("sgda", 0.1, 0.1, seed) for seed in range(3)]
    calls = []
    backend_module("keras_graft.experiments._backend").train_group(
        config, syn.make_problem(config), runs, calls.append
    )
    assert calls == [1] * (3 * 3)  # one per run and log window

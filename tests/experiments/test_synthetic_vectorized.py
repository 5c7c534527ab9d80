"""PyTorch's vectorized synthetic groups against the per-run loop.

`train_group` of the PyTorch backend module trains the runs of a group at once
(`torch.func.vmap`); `train_runs` trains them one by one with
`synthetic.train_loop`, the reference. The two agree to float32 rounding
step by step; over a run, rounding is amplified where the dynamics are
unstable (large rates), as between any two orderings of the same float32
ops, so the long runs here use rates where the loop itself is reproducible.
"""

import numpy as np
import pytest

from keras_graft._backend import backend_module
from keras_graft.experiments import SyntheticConfig, SyntheticRun, presets
from keras_graft.experiments import synthetic as syn

pytestmark = [
    pytest.mark.backend("torch"),
    pytest.mark.usefixtures("one_torch_thread"),
]

FIELDS = ("d_step", "g_step", "final_norm")
# Rounded to 5 decimals by `synthetic._results`: one unit of rounding apart.
ROUNDED = ("mode_mass", "best_cosines", "d_cosines")


def _engine():
    return backend_module("keras_graft.experiments._backend")


def _assert_same(vectorized, looped, rtol):
    assert [r.run for r in vectorized] == [r.run for r in looped]
    for a, b in zip(vectorized, looped):
        assert a.log_steps == b.log_steps
        assert a.modes_recovered == b.modes_recovered, a.run
        assert (a.outcome, a.final_modes, a.finite) == (
            b.outcome,
            b.final_modes,
            b.finite,
        ), a.run
        assert a.init_norm == b.init_norm
        for field in FIELDS + ROUNDED:
            np.testing.assert_allclose(
                getattr(a, field),
                getattr(b, field),
                rtol=rtol,
                atol=1.01e-5 if field in ROUNDED and rtol else 0.0,
                err_msg=f"{field} of {a.run}",
            )


# Per optimizer label, rate pairs (lr_G, lr_D) at which 200 steps of the tiny
# problem end in a mode count that float32 rounding does not change.
STABLE = {
    "sgda": [(0.3, 1.0), (0.1, 1.0)],
    "nsgda": [(0.1, 0.1), (0.1, 0.01)],
    # Not (0.1, 0.1): there the loop's final norm moves by 1.5e-3 when the
    # block norm's float32 summation order changes (flat sums against one
    # norm kernel per tensor); here by at most 1e-6.
    "nsgda_global": [(0.1, 0.03), (0.03, 0.03)],
    "adam": [(0.01, 0.01), (0.03, 0.03)],
    "ada_nsgda": [(0.01, 0.01), (0.03, 0.01)],
}


@pytest.mark.parametrize("label", list(STABLE))
def test_group_equals_the_loop_over_200_steps(label):
    name, options = presets.SYNTHETIC_OPTIMIZERS[label]
    config = SyntheticConfig(dim=8, num_modes=2, steps=200, log_every=50)
    problem = syn.make_problem(config)
    runs = [
        SyntheticRun(name, lr_g, lr_d, seed, dict(options))
        for lr_g, lr_d in STABLE[label]
        for seed in (0, 1)
    ]
    vectorized = _engine().train_group(config, problem, runs, None)
    looped = _engine().train_runs(config, problem, runs, None)
    _assert_same(vectorized, looped, rtol=1e-3)
    assert any(r.final_modes for r in looped)  # not only still generators


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"update": "simultaneous", "loss": "minimax", "train_output_weights": True},
    ],
    ids=["alternating", "simultaneous_minimax_output_weights"],
)
def test_group_equals_the_loop_step_by_step(changes):
    # Large rates included: over a few steps rounding has not grown yet.
    config = SyntheticConfig(dim=8, num_modes=2, steps=4, log_every=2, **changes)
    problem = syn.make_problem(config)
    rates = (0.01, 0.3, 3.0)
    for name, options in presets.SYNTHETIC_OPTIMIZERS.values():
        runs = [
            SyntheticRun(name, lr_g, lr_d, seed, dict(options))
            for lr_g in rates
            for lr_d in rates
            for seed in (0, 1)
        ]
        vectorized = _engine().train_group(config, problem, runs, None)
        looped = _engine().train_runs(config, problem, runs, None)
        _assert_same(vectorized, looped, rtol=1e-5)


def test_progress_counts_every_run_and_window():
    config = SyntheticConfig(dim=8, num_modes=2, steps=20, log_every=5)
    runs = [SyntheticRun("nsgda", 0.1, lr, 0) for lr in (0.1, 0.2, 0.3)]
    ticks = []
    _engine().train_group(config, syn.make_problem(config), runs, ticks.append)
    assert sum(ticks) == len(runs) * 4


@pytest.mark.parametrize(
    "options",
    [{"weight_decay": 0.1}, {"gradient_accumulation_steps": 2}],
    ids=["weight_decay", "gradient_accumulation"],
)
def test_options_that_do_not_vectorize_fall_back_to_the_loop(options):
    config = SyntheticConfig(dim=8, num_modes=2, steps=20, log_every=10)
    problem = syn.make_problem(config)
    runs = [SyntheticRun("sgda", 0.1, lr, 0, options) for lr in (0.1, 0.3)]
    engine = _engine()
    assert not engine._VectorizedGroup(config, problem, runs).vectorizes()
    vectorized = engine.train_group(config, problem, runs, None)
    looped = engine.train_runs(config, problem, runs, None)
    _assert_same(vectorized, looped, rtol=0.0)


def test_a_vectorized_group_leaves_the_fused_optimizer_paths_in_place():
    from keras_graft.optimizers import _backend

    before = {name: getattr(_backend, name) for name in _backend.__all__}
    config = SyntheticConfig(dim=8, num_modes=2, steps=4, log_every=2)
    runs = [SyntheticRun("ada_nsgda", 0.1, lr, 0) for lr in (0.1, 0.2)]
    _engine().train_group(config, syn.make_problem(config), runs, None)
    assert {name: getattr(_backend, name) for name in _backend.__all__} == before

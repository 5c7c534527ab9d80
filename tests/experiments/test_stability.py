"""Verdict stability: the simulated share of seed offsets giving each verdict."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from keras_graft.experiments import claims, stability, stats
from keras_graft.experiments.analysis import compare_with_adam
from keras_graft.experiments.presets import get_preset

pytestmark = pytest.mark.backend("jax")  # numpy and scipy only: one process

PRESET = get_preset("default")


def _summary(diffs: dict, adam=(3.0, 3.2), experiment="digits") -> dict:
    optimizers = {"adam": {"lr": 1e-3, "seeds": [0, 1], "scores": list(adam)}}
    for opt, d in diffs.items():
        optimizers[opt] = {
            "lr": 1e-3,
            "seeds": [0, 1],
            "scores": [a + x for a, x in zip(adam, d)],
        }
    for e in optimizers.values():
        e.update(diverged=0, fd=1.0)
    return {
        "metric": "fd",
        "higher_is_better": False,
        "informative": True,
        "margin": 1.25,
        "optimizers": optimizers,
        "comparisons": compare_with_adam(optimizers, 1.25),
    }


def _results(gans: dict, syn: dict | None = None, ids=(1, 2)) -> dict:
    syn = syn or {
        "config": {"init_std": 0.02, "dim": 64},
        "phase": {},
        "grid": {},
        "pace_prediction": {},
        "pace_intervention": {},
        "runs": {},
    }
    out = {"synthetic": syn, "gans": {e: {"summary": g} for e, g in gans.items()}}
    out["claims"] = [
        c for c in claims.evaluate_claims(syn, gans, PRESET) if c["id"] in ids
    ]
    return out


def test_two_seeds_give_the_exact_bootstrap_shares():
    # Two seeds with paired log differences 0.1 and 0.5 (margin log 1.25 =
    # 0.223): as measured the interval straddles the margin (inconclusive).
    # A resample draws the first seed twice (p = 1/4: spread 0, mean 0.1,
    # "as good"), the second twice (1/4: "worse") or both (1/2: as measured).
    gans = {"digits": _summary({"nsgda": (0.1, 0.5)})}
    results = _results(gans)
    c2 = results["claims"][1]
    assert c2["verdict"] == "inconclusive"
    found = stability.verdict_stability(results, simulations=4000, seed=1)["2"]
    se = math.sqrt(0.25 * 0.75 / 4000)
    assert found["distribution"]["reproduced"] == pytest.approx(0.25, abs=4 * se)
    assert found["distribution"]["not reproduced"] == pytest.approx(0.25, abs=4 * se)
    assert found["verdict"] == pytest.approx(0.5, abs=4 * math.sqrt(0.25 / 4000))


def test_a_decided_comparison_is_stable_and_the_ring_is_simulated_as_a_probe():
    gans = {
        "digits": _summary({"nsgda": (-0.5, -0.52)}),
        "ring": _summary({"nsgda": (0.1, 0.5)}, experiment="ring"),
    }
    results = _results(gans)
    stability.attach(results, simulations=2000)
    c2 = results["claims"][1]
    assert c2["verdict"] == "reproduced"
    assert c2["stability"]["share"] == 1.0
    assert c2["stability"]["percent"] == 100.0
    assert c2["probes"][0]["verdict"] == "inconclusive"
    assert c2["probes"][0]["stability"]["share"] == pytest.approx(0.5, abs=0.05)


def _cells(k: int, n: int) -> dict:
    lo, hi = stats.clopper_pearson(k, n, family=2)
    zero = {
        "lr_g": 1.0,
        "lr_d": 0.1,
        "n": n,
        "successes": 0,
        "outcomes": {"recovered": 0, "collapsed": n, "stuck": 0, "diverged": 0},
    }
    best = {
        "lr_g": 0.1,
        "lr_d": 0.1,
        "n": n,
        "successes": k,
        "outcomes": {"recovered": k, "collapsed": n - k, "stuck": 0, "diverged": 0},
    }
    return {
        "cells": [best, zero],
        "family": 2,
        "best": {**best, "lower": lo, "upper": hi},
        "max_lower": lo,
        "max_upper": max(hi, stats.clopper_pearson(0, n, family=2)[1]),
        "reliable_share": 0.5,
        "runs": 2 * n,
        "outcomes": best["outcomes"],
    }


def test_grid_line_share_is_the_beta_binomial_probability():
    # SGDA's best cell at 12/16: "not reproduced" needs a family-wise lower
    # bound >= 0.5 (the other cell, at 0/16, never gets there). A new offset
    # draws the cell's successes from Beta-Binomial(16, 12.5, 4.5); nSGDA's
    # cell at 16/16 keeps its lower bound above 0.5 whenever it draws >= the
    # k that clears it, so both enter the exact share.
    n = 16
    syn = {
        "config": {"init_std": 0.02, "dim": 64},
        "phase": {},
        "grid": {"non_saturating": {"sgda": _cells(12, n), "nsgda": _cells(16, n)}},
        "pace_prediction": {},
        "pace_intervention": {},
        "runs": {},
    }
    results = _results({}, syn, ids=(3,))
    observed = results["claims"][0]["probes"][0]["verdict"]
    need = min(
        k for k in range(n + 1) if stats.clopper_pearson(k, n, 0.95, 2)[0] >= 0.5
    )
    p_sgda = sps.betabinom(n, 12.5, 4.5).sf(need - 1)
    p_nsgda_ok = sps.betabinom(n, 16.5, 0.5).sf(need - 1)
    # not reproduced: SGDA clears, or nSGDA cannot reach most seeds (its upper
    # bound below 0.5: never for draws this high); reproduced: nSGDA clears and
    # SGDA's upper bound is below 0.5 (never at these draws).
    p_upper_below = sum(
        sps.betabinom(n, 12.5, 4.5).pmf(k)
        for k in range(n + 1)
        if stats.clopper_pearson(k, n, 0.95, 2)[1] < 0.5
    )
    expected = {
        "not reproduced": p_sgda,
        "reproduced": (1 - p_sgda) * 0 + p_upper_below * p_nsgda_ok,
    }
    expected["inconclusive"] = 1 - expected["not reproduced"] - expected["reproduced"]
    found = stability.verdict_stability(results, simulations=4000, seed=2)["3"]
    share = found["probes"][0]
    se = math.sqrt(0.25 / 4000)
    assert share == pytest.approx(expected[observed], abs=4 * se + 0.01)


def test_bootstrap_auc_counts_equal_the_indexed_means():
    rng = np.random.default_rng(0)
    p, n = rng.normal(size=40).round(1), rng.normal(0.4, size=15).round(1)
    auc, lo, hi = stats.bootstrap_auc(p, n, resamples=300, seed=3)
    r = np.random.default_rng(3)
    pi, ni = r.integers(0, 40, (300, 40)), r.integers(0, 15, (300, 15))
    cmp = (p[:, None] > n[None, :]) + 0.5 * (p[:, None] == n[None, :])
    means = np.array([cmp[np.ix_(a, b)].mean() for a, b in zip(pi, ni)])
    expected = (np.quantile(means, 0.025), np.quantile(means, 0.975))
    assert (lo, hi) == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert auc == stats.auc(p, n)

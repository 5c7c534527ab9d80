"""The intervals and decision rules behind the verdicts, on constructed inputs."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from keras_graft.experiments import stats

pytestmark = pytest.mark.backend("jax")  # numpy and scipy only: one process

MARGIN = math.log(1.25)


def test_t_bounds_match_scipy():
    x = np.array([0.1, -0.05, 0.2, 0.02, 0.07])
    mean, lo, hi = stats.t_bounds(x, 0.95)
    half = sps.t.ppf(0.95, 4) * x.std(ddof=1) / math.sqrt(5)
    assert math.isclose(mean, x.mean())
    assert math.isclose(lo, x.mean() - half) and math.isclose(hi, x.mean() + half)
    assert stats.t_bounds([0.3]) == (0.3, -math.inf, math.inf)


def test_clear_win_is_as_good():
    # The subject's FD is 20% lower than Adam's on every seed, little spread.
    adam = np.log([20.0, 25.0, 22.0])
    subject = adam + np.log([0.8, 0.82, 0.79])
    c = stats.paired_comparison(subject, adam, MARGIN)
    assert c.outcome == stats.AS_GOOD
    assert c.upper < MARGIN and c.n == 3
    assert math.isclose(c.mean, np.mean(np.log([0.8, 0.82, 0.79])))


def test_clear_loss_is_worse():
    adam = np.log([20.0, 25.0, 22.0])
    subject = adam + np.log([5.0, 6.0, 4.5])
    c = stats.paired_comparison(subject, adam, MARGIN)
    assert c.outcome == stats.WORSE and c.lower > MARGIN


def test_coin_flip_is_inconclusive():
    # Differences that straddle the margin with a wide spread decide nothing.
    rng = np.random.default_rng(0)
    adam = rng.normal(3.0, 0.1, 4)
    subject = adam + np.array([-0.4, 0.6, -0.3, 0.7])
    c = stats.paired_comparison(subject, adam, MARGIN)
    assert c.lower < MARGIN < c.upper
    assert c.outcome == stats.INCONCLUSIVE


def test_divergence_counts_against_the_subject():
    adam = [3.0, 3.1, 2.9, 3.0]
    # Better where finite, but one seed diverged: cannot be "as good".
    c = stats.paired_comparison([2.0, float("nan"), 2.1, 2.0], adam, MARGIN)
    assert c.subject_diverged == 1 and c.n == 3
    assert c.outcome == stats.INCONCLUSIVE
    # Diverged in half of the seeds: worse.
    c = stats.paired_comparison([2.0, float("nan"), float("nan"), 2.0], adam, MARGIN)
    assert c.outcome == stats.WORSE
    # Adam's own divergence removes the pair, not the subject.
    c = stats.paired_comparison(
        [2.0, 2.0, 2.1, 2.0], [3.0, float("nan"), 3.0, 3.05], MARGIN
    )
    assert c.reference_diverged == 1 and c.n == 3 and c.outcome == stats.AS_GOOD


def test_paired_comparison_rejects_bad_input():
    with pytest.raises(ValueError, match="Argument `reference` must be one score per"):
        stats.paired_comparison([1.0], [1.0, 2.0], MARGIN)
    with pytest.raises(
        ValueError,
        match=r"`margin` must be a finite float > 0; "
        r"received margin=0\.0",
    ):
        stats.paired_comparison([1.0], [1.0], 0.0)


def test_clopper_pearson_matches_scipy_and_bonferroni_widens():
    lo, hi = stats.clopper_pearson(7, 16)
    ref = sps.binomtest(7, 16).proportion_ci(0.95, method="exact")
    assert math.isclose(lo, ref.low, rel_tol=1e-9)
    assert math.isclose(hi, ref.high, rel_tol=1e-9)
    lo49, hi49 = stats.clopper_pearson(7, 16, family=49)
    ref49 = sps.binomtest(7, 16).proportion_ci(1 - 0.05 / 49, method="exact")
    assert math.isclose(lo49, ref49.low, rel_tol=1e-9) and lo49 < lo and hi49 > hi
    assert stats.clopper_pearson(0, 16)[0] == 0.0
    assert stats.clopper_pearson(16, 16)[1] == 1.0
    # 16 of 16 seeds: most seeds succeed even family-wise over 49 cells.
    assert stats.clopper_pearson(16, 16, family=49)[0] > 0.5
    with pytest.raises(ValueError, match=r"`successes` must be an int in \[0, trials"):
        stats.clopper_pearson(3, 2)
    with pytest.raises(ValueError, match="`trials` must be an int >= 1"):
        stats.clopper_pearson(0, 0)
    with pytest.raises(TypeError, match="`successes` must be an int"):
        stats.clopper_pearson(1.5, 2)


def test_auc_and_bootstrap():
    assert stats.auc([2, 3, 4], [0, 1]) == 1.0
    assert stats.auc([0, 1], [2, 3]) == 0.0
    assert stats.auc([1, 2], [1, 2]) == 0.5
    rng = np.random.default_rng(0)
    pos, neg = rng.normal(1.0, 1.0, 200), rng.normal(0.0, 1.0, 200)
    a, lo, hi = stats.bootstrap_auc(pos, neg)
    # Two unit normals one apart: AUC = Phi(1 / sqrt(2)) = 0.760.
    assert lo < 0.760 < hi and lo > 0.5 and hi - lo < 0.15
    same = stats.bootstrap_auc(rng.normal(size=50), rng.normal(size=50))
    assert same[1] < 0.5 < same[2]

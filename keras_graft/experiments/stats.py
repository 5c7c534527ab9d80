"""Intervals and decisions behind the verdicts of `reproduce`.

Every verdict of the report comes from an interval, never from a point
estimate near a threshold, and has three outcomes: the interval clears the
margin one way, the other way, or it straddles it ("inconclusive").

- `paired_comparison`: per seed, the difference of an optimizer's score with
  Adam's on the same seed (same initialisation, data order and latents), a
  one-sided Student-t interval on its mean, and a non-inferiority decision
  against a margin.
- `clopper_pearson`: the exact binomial interval of a success rate (a cell of
  the synthetic grid), optionally Bonferroni-adjusted over a family of cells.
- `difference_interval`: Newcombe's interval of the difference of two
  success rates (claim 3: SGDA's success at a small initial scale against
  a larger one, and nSGDA's against SGDA's).
- `auc` and `bootstrap_auc`: how well a score separates two groups of runs
  (claim 4's predictive test), with a percentile bootstrap interval.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass

import numpy as np

from keras_graft._validation import check_float, check_int, fail

#: The three outcomes of a decision.
AS_GOOD, WORSE, INCONCLUSIVE = "as good", "worse", "inconclusive"


@dataclass(frozen=True)
class PairedComparison:
    """A paired non-inferiority comparison of a subject with a reference.

    Scores are "lower is better" (e.g. the log of a Fréchet distance). The
    difference ``delta_s = subject_s - reference_s`` per seed s, its mean, and
    one-sided bounds at `confidence`: the subject is as good as the reference
    if ``upper < margin`` (at most ``exp(margin)`` times worse on a log
    scale), worse if ``lower > margin``, otherwise inconclusive. A seed where
    only the subject diverged counts against it: with any, the subject cannot
    be "as good", and it is "worse" when it diverged in at least half of the
    seeds. Seeds where both diverged, or only the reference, are left out of
    the interval and counted.

    Attributes:
        n (int): Seeds in the interval (both finite).
        mean (float): Mean paired difference.
        lower (float): One-sided lower bound of the mean.
        upper (float): One-sided upper bound of the mean.
        margin (float): The non-inferiority margin.
        confidence (float): Confidence of each one-sided bound.
        subject_diverged (int): Seeds where only the subject diverged.
        reference_diverged (int): Seeds where the reference diverged.
        outcome (str): "as good", "worse" or "inconclusive".
    """

    n: int
    mean: float
    lower: float
    upper: float
    margin: float
    confidence: float
    subject_diverged: int
    reference_diverged: int
    outcome: str

    def to_dict(self) -> dict:
        """A JSON-ready dict.

        Returns:
            dict: Every field.
        """
        return asdict(self)


@functools.lru_cache(maxsize=None)
def _t_quantile(confidence: float, df: int) -> float:
    from scipy import stats

    return float(stats.t.ppf(confidence, df))


def t_bounds(
    values: np.ndarray, confidence: float = 0.95
) -> tuple[float, float, float]:
    """Mean and one-sided Student-t bounds of the mean of `values`.

    ``mean -/+ t_{confidence, n-1} * sd / sqrt(n)``; infinite bounds for
    fewer than two values.

    Args:
        values (np.ndarray): Finite values.
        confidence (float): Confidence of each one-sided bound, in (0.5, 1).

    Returns:
        tuple[float, float, float]: ``(mean, lower, upper)``.
    """

    x = np.asarray(values, dtype=np.float64)
    if len(x) == 0:
        return math.nan, -math.inf, math.inf
    mean = float(x.mean())
    if len(x) < 2:
        return mean, -math.inf, math.inf
    t = _t_quantile(confidence, len(x) - 1)
    half = t * float(x.std(ddof=1)) / math.sqrt(len(x))
    return mean, mean - half, mean + half


def paired_comparison(
    subject: list[float],
    reference: list[float],
    margin: float,
    confidence: float = 0.95,
) -> PairedComparison:
    """Compare per-seed scores (lower is better; nan = diverged) of two optimizers.

    Args:
        subject (list[float]): The subject's score per seed.
        reference (list[float]): The reference's (Adam's) score on the same seeds.
        margin (float): Non-inferiority margin on the score's scale (> 0).
        confidence (float): Confidence of each one-sided bound.

    Returns:
        PairedComparison: The interval and the decision.
    """
    if len(subject) != len(reference):
        fail(
            ValueError,
            "reference",
            f"one score per seed of subject ({len(subject)} scores)",
            reference,
        )
    margin = check_float(margin, "margin", low=0.0, low_open=True)
    s = np.asarray(subject, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    s_ok, r_ok = np.isfinite(s), np.isfinite(r)
    only_subject = int(np.sum(~s_ok & r_ok))
    ref_div = int(np.sum(~r_ok))
    both = s_ok & r_ok
    mean, lower, upper = t_bounds(s[both] - r[both], confidence)
    if only_subject and 2 * only_subject >= len(s):
        outcome = WORSE
    elif lower > margin:
        outcome = WORSE
    elif upper < margin and only_subject == 0:
        outcome = AS_GOOD
    else:
        outcome = INCONCLUSIVE
    return PairedComparison(
        int(both.sum()),
        mean,
        lower,
        upper,
        float(margin),
        float(confidence),
        only_subject,
        ref_div,
        outcome,
    )


def clopper_pearson(
    successes: int, trials: int, confidence: float = 0.95, family: int = 1
) -> tuple[float, float]:
    """Exact two-sided binomial interval of a success rate.

    With ``family > 1`` the interval is Bonferroni-adjusted (each at
    ``1 - (1 - confidence) / family``), so that the intervals of `family`
    cells hold together with probability at least `confidence`.

    Args:
        successes (int): Successes k.
        trials (int): Trials n (> 0).
        confidence (float): Confidence level in (0, 1).
        family (int): Number of intervals in the family.

    Returns:
        tuple[float, float]: ``(lower, upper)`` in [0, 1].
    """
    from scipy import stats

    trials = check_int(trials, "trials", minimum=1)
    successes = check_int(successes, "successes", minimum=0)
    if successes > trials:
        fail(ValueError, "successes", f"an int in [0, trials={trials}]", successes)
    alpha = (1.0 - confidence) / max(1, int(family))
    failures = trials - successes
    if successes == 0:
        lo = 0.0
    else:
        lo = float(stats.beta.ppf(alpha / 2, successes, failures + 1))
    if successes == trials:
        hi = 1.0
    else:
        hi = float(stats.beta.ppf(1 - alpha / 2, successes + 1, failures))
    return lo, hi


def difference_interval(
    k1: int, n1: int, k2: int, n2: int, confidence: float = 0.95
) -> tuple[float, float, float]:
    """Difference of two success rates, ``k1/n1 - k2/n2``, with one-sided bounds.

    Newcombe's hybrid score interval (Newcombe 1998, method 10): with Wilson
    intervals ``[l_i, u_i]`` of each rate at two-sided level ``2 confidence -
    1``, the lower bound is ``d - sqrt((p1 - l1)^2 + (u2 - p2)^2)`` and the
    upper ``d + sqrt((u1 - p1)^2 + (p2 - l2)^2)``; each holds one-sided at
    `confidence`. Unlike the Wald interval it stays inside [-1, 1] and keeps
    its level at rates of 0 or 1.

    Args:
        k1 (int): Successes of the first group.
        n1 (int): Trials of the first group (> 0).
        k2 (int): Successes of the second group.
        n2 (int): Trials of the second group (> 0).
        confidence (float): Confidence of each one-sided bound, in (0.5, 1).

    Returns:
        tuple[float, float, float]: ``(difference, lower, upper)``.
    """
    from scipy import stats

    confidence = check_float(confidence, "confidence", low=0.5, high=1.0)
    z = float(stats.norm.ppf(confidence))

    for k, n, k_name, n_name in ((k1, n1, "k1", "n1"), (k2, n2, "k2", "n2")):
        check_int(n, n_name, minimum=1)
        check_int(k, k_name, minimum=0)
        if k > n:
            fail(ValueError, k_name, f"an int in [0, {n_name}={n}]", k)

    def wilson(k: int, n: int) -> tuple[float, float, float]:
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return p, max(0.0, centre - half), min(1.0, centre + half)

    p1, l1, u1 = wilson(k1, n1)
    p2, l2, u2 = wilson(k2, n2)
    d = p1 - p2
    lower = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, lower, upper


def auc(positive: list[float], negative: list[float]) -> float:
    """Area under the ROC curve: P(score of a positive > score of a negative).

    Ties count one half (the Mann-Whitney statistic over ``n_pos * n_neg``).

    Args:
        positive (list[float]): Scores of the positive group.
        negative (list[float]): Scores of the negative group.

    Returns:
        float: The AUC in [0, 1]; nan if a group is empty.
    """
    p = np.asarray(positive, dtype=np.float64)[:, None]
    n = np.asarray(negative, dtype=np.float64)[None, :]
    if p.size == 0 or n.size == 0:
        return math.nan
    return float(np.mean((p > n) + 0.5 * (p == n)))


def _counts(index: np.ndarray, size: int) -> np.ndarray:
    """Per row of `index`, how often each of ``range(size)`` occurs."""
    rows = index.shape[0]
    flat = (index + size * np.arange(rows)[:, None]).ravel()
    return np.bincount(flat, minlength=rows * size).reshape(rows, size).astype(float)


def bootstrap_auc(
    positive: list[float],
    negative: list[float],
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """AUC with a percentile bootstrap interval (each group resampled apart).

    Args:
        positive (list[float]): Scores of the positive group.
        negative (list[float]): Scores of the negative group.
        confidence (float): Two-sided confidence level.
        resamples (int): Bootstrap resamples.
        seed (int): Seed of the resampling.

    Returns:
        tuple[float, float, float]: ``(auc, lower, upper)`` (nan if a group
        has fewer than two runs).
    """
    p = np.asarray(positive, dtype=np.float64)
    n = np.asarray(negative, dtype=np.float64)
    if len(p) < 2 or len(n) < 2:
        return auc(p, n), math.nan, math.nan
    rng = np.random.default_rng(seed)
    pi = rng.integers(0, len(p), (resamples, len(p)))
    ni = rng.integers(0, len(n), (resamples, len(n)))
    # The comparison matrix once; a resample's AUC is the mean of its rows
    # and columns drawn with repetition, i.e. count_p @ cmp @ count_n / size
    # (sums of halves: exact in float64, as the mean of the indexed matrix).
    cmp = (p[:, None] > n[None, :]) + 0.5 * (p[:, None] == n[None, :])
    count_p = _counts(pi, len(p))
    count_n = _counts(ni, len(n))
    stats_ = np.einsum("bj,bj->b", count_p @ cmp, count_n) / (len(p) * len(n))
    a = (1 - confidence) / 2
    return auc(p, n), float(np.quantile(stats_, a)), float(np.quantile(stats_, 1 - a))


__all__ = [
    "AS_GOOD",
    "INCONCLUSIVE",
    "PairedComparison",
    "WORSE",
    "auc",
    "bootstrap_auc",
    "clopper_pearson",
    "difference_interval",
    "paired_comparison",
    "t_bounds",
]

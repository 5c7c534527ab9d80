"""Summaries of the runs of `reproduce`, which the claims and plots read.

- GAN benchmarks: a score per run (lower is better, on a log scale), the
  learning rate chosen on selection seeds, and per optimizer the paired
  comparison with Adam on the fresh seeds (`stats.paired_comparison`).
- Synthetic grids: per optimizer, loss and (lr_G, lr_D) cell, the outcomes of
  its seeds with a Clopper-Pearson interval on the success rate
  (Bonferroni-adjusted over the grid's cells), the distribution of final
  cosines, the phase diagram, and the two tests of the pace mechanism.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from keras_graft.experiments import stats

#: Primary metric of each GAN benchmark and whether higher is better.
PRIMARY = {
    "ring": ("balanced_quality", True),
    "grid": ("balanced_quality", True),
    "digits": ("fd", False),
    "cifar10": ("fid", False),
}
#: Histogram bins of the final cosines.
COSINE_BINS = np.round(np.linspace(-1.0, 1.0, 41), 3)
#: A cell "succeeds reliably" when at least this share of its seeds recover.
RELIABLE = 0.8
#: A coverage benchmark counts only where Adam's mean balanced quality
#: reaches this (a benchmark on which Adam fails cannot say "as good as Adam").
ADAM_MIN_SHARE = 0.5


# ---------------------------------------------------------------------- GANs


def run_score(run: dict, experiment: str, last: int) -> float:
    """A GAN run's score: lower is better, on a log scale; nan if it diverged.

    Digits and CIFAR-10: the mean of ``log(FD)`` over the last `last`
    evaluations; mixtures: the mean of ``-log(balanced quality)`` (the
    high-quality share of each mode capped at 1/K, summed; floored at 1e-3),
    so that score differences are log ratios in both cases.

    Args:
        run (dict): A `run_gan` result.
        experiment (str): Its benchmark.
        last (int): Evaluations averaged.

    Returns:
        float: The score.
    """
    metric, higher = PRIMARY[experiment]
    values = np.asarray(
        [e.get(metric, math.nan) for e in run["evals"][-last:]], dtype=np.float64
    )
    if run.get("diverged") or not np.all(np.isfinite(values)):
        return math.nan
    if higher:
        return float(np.mean(-np.log(np.maximum(values, 1e-3))))
    return float(np.mean(np.log(np.maximum(values, 1e-12))))


def select_learning_rate(runs: list[dict], experiment: str, last: int) -> float:
    """The learning rate with the best mean score over the selection seeds.

    A rate with a diverged selection seed scores +inf (never preferred to a
    rate that trained).

    Args:
        runs (list[dict]): Selection runs of one optimizer (several rates).
        experiment (str): Their benchmark.
        last (int): Evaluations averaged per score.

    Returns:
        float: The chosen learning rate.
    """
    by_lr: dict[float, list[float]] = {}
    for r in runs:
        s = run_score(r, experiment, last)
        s = s if math.isfinite(s) else math.inf
        by_lr.setdefault(r["learning_rate"], []).append(s)
    return min(sorted(by_lr), key=lambda lr: float(np.mean(by_lr[lr])))


def edge_learning_rate(runs: list[dict], experiment: str, last: int) -> float | None:
    """The next rate to try when the best rate of a search sits at its edge.

    When the best of the rates tried (as `select_learning_rate` picks it) is
    the lowest or the highest of them, the search has not bracketed the
    optimum: the next rate lies one step further out, with the ratio of the
    last step at that edge (``best**2 / neighbour``). Every optimizer follows
    the same rule, so the search effort stays the same for all of them.

    Args:
        runs (list[dict]): Selection runs of one optimizer (several rates).
        experiment (str): Their benchmark.
        last (int): Evaluations averaged per score.

    Returns:
        float | None: The rate to add, or None when the best rate is inside
        the range tried (or fewer than two rates were tried).
    """
    rates = sorted({r["learning_rate"] for r in runs})
    if len(rates) < 2:
        return None
    best = select_learning_rate(runs, experiment, last)
    if best == rates[-1]:
        return best * best / rates[-2]
    if best == rates[0]:
        return best * best / rates[1]
    return None


def compact_gan_run(run: dict) -> dict:
    """What `results.json` keeps of a GAN run (no samples).

    Args:
        run (dict): A `run_gan` result with ``phase``.

    Returns:
        dict: Its identity, evaluations, divergence, timing and logs.
    """
    keys = (
        "experiment",
        "optimizer",
        "seed",
        "learning_rate",
        "phase",
        "eval_steps",
        "evals",
        "final",
        "diverged",
        "seconds",
        "steps_per_s",
        "pace",
    )
    return {k: run[k] for k in keys if k in run}


def compare_with_adam(optimizers: dict, margin: float) -> dict:
    """Each optimizer's paired comparison with Adam on the seeds both ran.

    Args:
        optimizers (dict): Per optimizer, ``seeds`` and ``scores`` (lower is
            better, nan for a diverged run), as in `summarize_gan`.
        margin (float): Non-inferiority factor (the comparison's margin is its
            log).

    Returns:
        dict: Per optimizer other than Adam, a `PairedComparison` dict plus
        ``ratio``, ``ratio_lower``, ``ratio_upper`` on the metric's own scale
        (FD ratio, or Adam's balanced quality over the subject's).
    """
    adam = optimizers.get("adam")
    comparisons = {}
    for opt, entry in optimizers.items():
        if opt == "adam" or adam is None:
            continue
        # Paired by seed: a seed whose run failed on either side drops out.
        common = [s for s in entry["seeds"] if s in adam["seeds"]]
        if not common:
            continue
        c = stats.paired_comparison(
            [x for s, x in zip(entry["seeds"], entry["scores"]) if s in common],
            [x for s, x in zip(adam["seeds"], adam["scores"]) if s in common],
            math.log(margin),
        ).to_dict()
        c["ratio"], c["ratio_lower"], c["ratio_upper"] = (
            math.exp(c["mean"]) if math.isfinite(c["mean"]) else math.nan,
            math.exp(c["lower"]),
            math.exp(c["upper"]),
        )
        comparisons[opt] = c
    return comparisons


def summarize_gan(runs: list[dict], bench: Any, margin: float) -> dict:
    """Per optimizer: its chosen rate, fresh-seed scores and comparison with Adam.

    Args:
        runs (list[dict]): Every run of the benchmark (selection and fresh).
        bench (GANBenchmark): The benchmark.
        margin (float): Non-inferiority factor (the comparison's margin is its
            log).

    Returns:
        dict: ``metric``, ``higher_is_better``, ``margin``, ``eval_steps``,
        ``selection`` (per optimizer, mean selection score per rate),
        ``optimizers`` (per optimizer: ``lr``, ``seeds``, ``scores`` per
        fresh seed, ``diverged``, the mean and std of each final metric over
        the finite runs, ``curve``), ``comparisons`` (per optimizer other
        than Adam, a `PairedComparison` dict plus ``ratio``, ``ratio_lower``,
        ``ratio_upper`` on the metric's own scale).
    """
    exp = bench.config.experiment
    metric, higher = PRIMARY[exp]
    last = bench.score_evals
    selection: dict[str, dict] = {}
    for r in runs:
        if r.get("phase") == "selection":
            s = run_score(r, exp, last)
            selection.setdefault(r["optimizer"], {}).setdefault(
                str(r["learning_rate"]), []
            ).append(s)
    selection = {
        o: {
            lr: float(np.mean(v)) if np.all(np.isfinite(v)) else math.nan
            for lr, v in per.items()
        }
        for o, per in selection.items()
    }
    fresh: dict[str, list[dict]] = {}
    for r in runs:
        if r.get("phase", "fresh") == "fresh":
            fresh.setdefault(r["optimizer"], []).append(r)
    optimizers: dict[str, dict] = {}
    for opt in bench.config.optimizers:
        rs = sorted(fresh.get(opt, []), key=lambda r: r["seed"])
        if not rs:
            continue
        entry: dict[str, Any] = {
            "lr": rs[0]["learning_rate"],
            "seeds": [r["seed"] for r in rs],
            "scores": [run_score(r, exp, last) for r in rs],
            "diverged": int(sum(bool(r["diverged"]) for r in rs)),
        }
        ok = [r for r in rs if not r["diverged"]]
        for k in rs[0]["final"]:
            vals = [r["final"].get(k, math.nan) for r in ok]
            entry[k] = float(np.mean(vals)) if vals else math.nan
            entry[k + "_std"] = float(np.std(vals)) if vals else math.nan
        entry["curve"] = [
            float(np.mean([r["evals"][i].get(metric, math.nan) for r in ok]))
            if ok
            else math.nan
            for i in range(len(rs[0]["evals"]))
        ]
        optimizers[opt] = entry
    adam = optimizers.get("adam")
    informative = adam is not None and (
        not higher or adam.get(metric, 0.0) >= ADAM_MIN_SHARE
    )
    comparisons = compare_with_adam(optimizers, margin) if informative else {}
    return {
        "experiment": exp,
        "metric": metric,
        "higher_is_better": higher,
        "informative": informative,
        "margin": margin,
        "eval_steps": runs[0]["eval_steps"] if runs else [],
        "selection": selection,
        "optimizers": optimizers,
        "comparisons": comparisons,
    }


# ----------------------------------------------------------------- synthetic


def pace_spread(ratios: list[float]) -> float:
    """Decades spanned by a run's pace ratio over training.

    Args:
        ratios (list[float]): Per window, D's mean step norm over G's.

    Returns:
        float: ``log10(max / min)`` over the finite positive windows (nan if
        fewer than two).
    """
    r = np.asarray(ratios, dtype=np.float64)
    r = r[np.isfinite(r) & (r > 0)]
    if len(r) < 2:
        return math.nan
    return float(np.log10(r.max() / r.min()))


def mid_pace(ratios: list[float]) -> float:
    """|log10| of the median pace ratio over the middle third of training.

    0 when D and G move at the same pace; 1 when one moves ten times faster.

    Args:
        ratios (list[float]): Per window, D's mean step norm over G's.

    Returns:
        float: The imbalance (nan if the middle third has no finite ratio).
    """
    r = np.asarray(ratios, dtype=np.float64)
    n = len(r)
    mid = r[n // 3 : max(n // 3 + 1, 2 * n // 3)]
    mid = mid[np.isfinite(mid) & (mid > 0)]
    return float(abs(np.log10(np.median(mid)))) if len(mid) else math.nan


def _cells(runs: list[dict], family: int) -> list[dict]:
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault((r["lr_g"], r["lr_d"]), []).append(r)
    cells = []
    for (lr_g, lr_d), rs in sorted(groups.items()):
        counts = {o: 0 for o in ("recovered", "collapsed", "stuck", "diverged")}
        for r in rs:
            counts[r["outcome"]] += 1
        k, n = counts["recovered"], len(rs)
        lo, hi = stats.clopper_pearson(k, n, 0.95, family)
        cells.append(
            {
                "lr_g": lr_g,
                "lr_d": lr_d,
                "n": n,
                "successes": k,
                "rate": k / n,
                "lower": lo,
                "upper": hi,
                "outcomes": counts,
            }
        )
    return cells


def _grid_summary(runs: list[dict]) -> dict:
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault((r["lr_g"], r["lr_d"]), [])
    family = len(groups)
    cells = _cells(runs, family)
    best = max(
        cells, key=lambda c: (c["successes"], -abs(math.log10(c["lr_d"] / c["lr_g"])))
    )
    totals = {
        o: sum(c["outcomes"][o] for c in cells)
        for o in ("recovered", "collapsed", "stuck", "diverged")
    }
    cos = np.concatenate([np.asarray(r["best_cosines"], np.float64) for r in runs])
    cos = cos[np.isfinite(cos)]
    hist, _ = np.histogram(np.clip(cos, -1, 1), bins=COSINE_BINS)
    return {
        "cells": cells,
        "family": family,
        "best": best,
        "reliable_share": sum(c["rate"] >= RELIABLE for c in cells) / len(cells),
        "max_lower": max(c["lower"] for c in cells),
        "max_upper": max(c["upper"] for c in cells),
        "outcomes": totals,
        "runs": len(runs),
        "cosine_hist": hist.tolist(),
        "median_spread": _median(
            [pace_spread(r["pace_ratio"]) for r in runs if r["outcome"] != "diverged"]
        ),
    }


def _median(values: list[float]) -> float:
    v = [x for x in values if x is not None and math.isfinite(x)]
    return float(np.median(v)) if v else math.nan


def _histogram(values: list[float]) -> list[int]:
    """Counts of `values` clipped to [0, 4] in 20 equal bins."""
    return np.histogram(np.clip(values, 0, 4), np.linspace(0, 4, 21))[0].tolist()


def _pace_prediction(runs: list[dict]) -> dict:
    """SGDA: does the mid-training pace imbalance separate failures from successes?"""
    ok = [r for r in runs if r["outcome"] != "diverged"]
    fail = [mid_pace(r["pace_ratio"]) for r in ok if r["outcome"] != "recovered"]
    succ = [mid_pace(r["pace_ratio"]) for r in ok if r["outcome"] == "recovered"]
    fail = [x for x in fail if math.isfinite(x)]
    succ = [x for x in succ if math.isfinite(x)]
    a, lo, hi = stats.bootstrap_auc(fail, succ)
    collapsed = [mid_pace(r["pace_ratio"]) for r in ok if r["outcome"] == "collapsed"]
    collapsed = [x for x in collapsed if math.isfinite(x)]
    a2, lo2, hi2 = stats.bootstrap_auc(collapsed, succ, seed=1)
    return {
        "auc": a,
        "lower": lo,
        "upper": hi,
        "failures": len(fail),
        "successes": len(succ),
        "auc_collapsed": a2,
        "lower_collapsed": lo2,
        "upper_collapsed": hi2,
        "collapsed": len(collapsed),
        "median_failure": _median(fail),
        "median_success": _median(succ),
        "hist_bins": np.linspace(0, 4, 21).tolist(),
        "hist_failure": _histogram(fail),
        "hist_success": _histogram(succ),
    }


def _pace_intervention(runs: list[dict]) -> dict:
    """nSGDA: success rate against the forced pace ratio lr_D / lr_G."""
    by: dict[float, list[dict]] = {}
    for r in runs:
        by.setdefault(round(math.log10(r["lr_d"] / r["lr_g"]), 2), []).append(r)
    rows = []
    for lr_ratio, rs in sorted(by.items()):
        k = sum(r["outcome"] == "recovered" for r in rs)
        lo, hi = stats.clopper_pearson(k, len(rs))
        rows.append(
            {
                "log10_ratio": lr_ratio,
                "n": len(rs),
                "successes": k,
                "rate": k / len(rs),
                "lower": lo,
                "upper": hi,
            }
        )

    def pooled(sel: list[dict]) -> dict:
        k, n = sum(x["successes"] for x in sel), sum(x["n"] for x in sel)
        lo, hi = stats.clopper_pearson(k, n) if n else (math.nan, math.nan)
        return {
            "n": n,
            "successes": k,
            "rate": k / n if n else math.nan,
            "lower": lo,
            "upper": hi,
        }

    return {
        "rows": rows,
        "equal": pooled([x for x in rows if x["log10_ratio"] == 0]),
        "unequal": pooled([x for x in rows if abs(x["log10_ratio"]) >= 1]),
    }


def summarize_synthetic(runs: list[dict], plan: Any) -> dict:
    """Everything the synthetic claims and plots read.

    Args:
        runs (list[dict]): Compact run dicts of every synthetic job.
        plan (SyntheticPlan): The plan they came from.

    Returns:
        dict: ``config``, ``grid`` (per loss, per optimizer label, see
        `_grid_summary`), ``phase`` (per optimizer label, one entry per
        (init_std, dim) with the best cell's success and interval),
        ``pace_prediction`` and ``pace_intervention`` (per loss),
        ``examples`` (pace curves of a few runs), ``runs`` (a compact
        column table of every grid run).
    """
    from dataclasses import asdict

    grid_runs = [r for r in runs if r["kind"] == "grid"]
    grid: dict[str, dict] = {}
    for loss in plan.losses:
        grid[loss] = {}
        for label in plan.optimizers:
            rs = [r for r in grid_runs if r["loss"] == loss and r["label"] == label]
            if rs:
                grid[loss][label] = _grid_summary(rs)
    phase: dict[str, list] = {}
    for label in ("sgda", "nsgda"):
        rows = []
        for init in plan.phase_init_stds:
            for dim in plan.phase_dims:
                rs = [
                    r
                    for r in runs
                    if r["kind"] == "phase"
                    and r["label"] == label
                    and r["init_std"] == init
                    and r["dim"] == dim
                ]
                if not rs:
                    continue
                cells = _cells(rs, 1)
                best = max(cells, key=lambda c: c["successes"])
                rows.append(
                    {
                        "cells": [
                            {k: c[k] for k in ("lr_g", "lr_d", "n", "successes")}
                            | {"outcomes": c["outcomes"]}
                            for c in cells
                        ],
                        "best_outcomes": best["outcomes"],
                        "init_std": init,
                        "dim": dim,
                        "best_rate": best["rate"],
                        "best_lower": best["lower"],
                        "best_upper": best["upper"],
                        "best_lr_g": best["lr_g"],
                        "best_lr_d": best["lr_d"],
                        "n": best["n"],
                        "reliable_share": sum(c["rate"] >= RELIABLE for c in cells)
                        / len(cells),
                    }
                )
        phase[label] = rows
    prediction, intervention = {}, {}
    for loss in plan.losses:
        sgda = [r for r in grid_runs if r["loss"] == loss and r["label"] == "sgda"]
        nsgda = [r for r in grid_runs if r["loss"] == loss and r["label"] == "nsgda"]
        if sgda:
            prediction[loss] = _pace_prediction(sgda)
        if nsgda:
            intervention[loss] = _pace_intervention(nsgda)
    examples = []
    loss0 = plan.losses[0]
    kept = (
        "label",
        "lr_g",
        "lr_d",
        "seed",
        "outcome",
        "d_step",
        "g_step",
        "pace_ratio",
    )
    for label, outcome in (
        ("sgda", "recovered"),
        ("sgda", "collapsed"),
        ("sgda", "stuck"),
        ("nsgda", "recovered"),
        ("adam", "recovered"),
    ):
        r = next(
            (
                r
                for r in grid_runs
                if r["loss"] == loss0
                and r["label"] == label
                and r["outcome"] == outcome
            ),
            None,
        )
        if r is not None:
            examples.append({k: r[k] for k in kept})
    cfg = asdict(plan.config)
    cfg.update(
        m_g=plan.config.m_g,
        m_d=plan.config.m_d,
        grid=list(plan.grid),
        seeds=plan.seeds,
        losses=list(plan.losses),
        optimizers={k: [n, o] for k, (n, o) in plan.optimizers.items()},
        phase_init_stds=list(plan.phase_init_stds),
        phase_dims=list(plan.phase_dims),
        phase_grid=list(plan.phase_grid),
        phase_seeds=plan.phase_seeds,
    )
    table = {
        k: [r[k] for r in grid_runs]
        for k in ("label", "loss", "lr_g", "lr_d", "seed", "outcome", "final_modes")
    }
    table["mid_pace"] = [round(mid_pace(r["pace_ratio"]), 4) for r in grid_runs]
    return {
        "config": cfg,
        "grid": grid,
        "phase": phase,
        "pace_prediction": prediction,
        "pace_intervention": intervention,
        "examples": examples,
        "runs": table,
        "log_every": plan.config.log_every,
    }


__all__ = [
    "COSINE_BINS",
    "PRIMARY",
    "compare_with_adam",
    "RELIABLE",
    "compact_gan_run",
    "edge_learning_rate",
    "mid_pace",
    "pace_spread",
    "run_score",
    "select_learning_rate",
    "summarize_gan",
    "summarize_synthetic",
]

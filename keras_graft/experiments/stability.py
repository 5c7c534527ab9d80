"""How often each verdict would come out the same at another seed offset.

A verdict taken from intervals can still sit at its own threshold: at another
seed offset the same rule on the same code may say something else. This
module simulates new seed offsets from the stored per-seed (per-cell) data
of one report and applies every claim's rule, and every probe line's, to
each simulated report:

- GAN benchmarks: the fresh seeds are resampled with replacement (each seed
  keeps the scores of every optimizer on it, so the pairing with Adam and the
  correlation between optimizers stay; an optimizer that ran fewer seeds is
  resampled over its own), and the paired comparisons with Adam are taken
  again (`analysis.compare_with_adam`). With few seeds this bootstrap
  understates the spread a little (by sqrt((n - 1) / n)).
- Synthetic grid and phase cells, and claim 4's interventional pools: each
  cell's success rate is drawn from its Jeffreys posterior (Beta(k + 1/2,
  n - k + 1/2)) and the cell's successes from that rate (so a cell seen at
  16/16 is not assumed certain).
- Claim 4's predictive test: SGDA's runs are resampled with replacement and
  the AUC's bootstrap interval taken again (with fewer resamples than the
  report's, and fewer simulations: it costs the most).

The share of simulations that give the report's own verdict is the verdict's
stability; the report prints it next to the verdict. The issue that asked for
it sets the bar at 95%.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from keras_graft._validation import check_int

#: Simulated seed offsets per verdict (claim 4: `PACE_SIMULATIONS`).
SIMULATIONS = 1000
#: Simulations of claim 4 (each redoes a bootstrap of the AUC).
PACE_SIMULATIONS = 200
#: Bootstrap resamples of the AUC in each of claim 4's simulations.
PACE_RESAMPLES = 400
#: The share a verdict must keep to be called stable.
STABLE = 0.95


def _resampled_gans(gans: dict, rng: np.random.Generator) -> dict:
    """The GAN summaries at a simulated seed offset (seeds resampled)."""
    from keras_graft.experiments.analysis import compare_with_adam

    out = {}
    for exp, g in gans.items():
        opts = g["optimizers"]
        new = dict(g)
        if not g.get("informative", True) or "adam" not in opts:
            out[exp] = new
            continue
        # Optimizers that ran the same seeds are resampled together (one draw
        # of seeds per set, so that their comparisons stay correlated through
        # Adam's runs as measured); an optimizer with fewer seeds (a
        # benchmark's per-optimizer seeds) gets a draw of its own set.
        by_set: dict[tuple, list[str]] = {}
        for opt, e in opts.items():
            if opt != "adam":
                common = tuple(s for s in e["seeds"] if s in opts["adam"]["seeds"])
                by_set.setdefault(common, []).append(opt)
        comparisons = {}
        for seeds, members in by_set.items():
            if not seeds:
                continue
            pick = [seeds[i] for i in rng.integers(0, len(seeds), len(seeds))]
            resampled = {}
            for opt in ["adam", *members]:
                score = dict(zip(opts[opt]["seeds"], opts[opt]["scores"]))
                resampled[opt] = {
                    "seeds": list(range(len(pick))),
                    "scores": [score[s] for s in pick],
                }
            comparisons.update(compare_with_adam(resampled, g["margin"]))
        new["comparisons"] = {
            o: c for o, c in comparisons.items() if o in g["comparisons"]
        }
        out[exp] = new
    return out


def _draw(k: int, n: int, rng: np.random.Generator) -> int:
    return int(rng.binomial(n, rng.beta(k + 0.5, n - k + 0.5)))


def _clopper_pearson_many(
    k: np.ndarray, n: np.ndarray, family: int
) -> tuple[np.ndarray, np.ndarray]:
    from scipy import stats

    alpha = 0.05 / max(1, family)
    lo = np.where(k > 0, stats.beta.ppf(alpha / 2, np.maximum(k, 1), n - k + 1), 0.0)
    hi = np.where(
        k < n, stats.beta.ppf(1 - alpha / 2, k + 1, np.maximum(n - k, 1)), 1.0
    )
    return lo, hi


def _resampled_grid(summary: dict, rng: np.random.Generator) -> dict:
    cells = summary["cells"]
    n = np.array([c["n"] for c in cells])
    k = np.array([_draw(c["successes"], c["n"], rng) for c in cells])
    lo, hi = _clopper_pearson_many(k, n, summary["family"])
    return {"max_lower": float(lo.max()), "max_upper": float(hi.max())}


def _resampled_phase(syn: dict, rng: np.random.Generator) -> dict:
    new = {"config": syn["config"], "phase": {}}
    for label, rows in (syn.get("phase") or {}).items():
        new["phase"][label] = []
        for r in rows:
            if "cells" not in r:
                new["phase"][label].append(r)
                continue
            cells = []
            for c in r["cells"]:
                k = _draw(c["successes"], c["n"], rng)
                cells.append(
                    {
                        **c,
                        "successes": k,
                        "outcomes": {
                            "recovered": k,
                            "collapsed": c["n"] - k,
                            "stuck": 0,
                            "diverged": 0,
                        },
                    }
                )
            new["phase"][label].append({**r, "cells": cells})
    return new


def _pace_parts(syn: dict, loss: str) -> tuple[list, list, list]:
    runs = syn.get("runs") or {}
    fail, succ = [], []
    for label, l_, outcome, pace in zip(
        runs.get("label", []),
        runs.get("loss", []),
        runs.get("outcome", []),
        runs.get("mid_pace", []),
    ):
        if label != "sgda" or l_ != loss or outcome == "diverged":
            continue
        if pace is None or not math.isfinite(pace):
            continue
        (succ if outcome == "recovered" else fail).append(pace)
    inter = syn.get("pace_intervention", {}).get(loss, {})
    return fail, succ, inter.get("rows", [])


def _pooled(rows: list[dict], rng: np.random.Generator, keep: Any) -> dict:
    from keras_graft.experiments import stats

    sel = [r for r in rows if keep(r["log10_ratio"])]
    n = sum(r["n"] for r in sel)
    k = sum(_draw(r["successes"], r["n"], rng) for r in sel)
    if not n:
        return {"n": 0, "lower": math.nan, "upper": math.nan}
    lo, hi = stats.clopper_pearson(k, n)
    return {"n": n, "lower": lo, "upper": hi}


def verdict_stability(
    results: dict, simulations: int = SIMULATIONS, seed: int = 0
) -> dict:
    """The share of simulated seed offsets that give each verdict of a report.

    Args:
        results (dict): A report's results (``synthetic``, ``gans`` with
            each benchmark's ``summary``, ``claims``), as `reproduce` saves
            them in ``results.json``.
        simulations (int): Simulated offsets for claims 1-3 (claim 4 runs
            ``min(simulations, PACE_SIMULATIONS)``).
        seed (int): Seed of the simulation.

    Returns:
        dict: Per claim id (str), ``verdict`` (the share giving the
        report's verdict), ``probes`` (the same per probe line, in order),
        ``simulations`` and ``distribution`` (the share of each verdict).
    """
    from keras_graft.experiments import claims as C
    from keras_graft.experiments import stats

    simulations = check_int(simulations, "simulations", minimum=1)
    rng = np.random.default_rng(seed)
    syn = results["synthetic"]
    gans = {e: g["summary"] for e, g in results["gans"].items()}
    observed = {c["id"]: c for c in results["claims"]}
    tallies: dict[int, list] = {i: [] for i in observed}
    for _ in range(simulations):
        sim = _resampled_gans(gans, rng)
        # Every paired comparison of this simulated offset, once for both claims.
        outcomes = {
            (e, o): c for e, g in sim.items() for o, c in g["comparisons"].items()
        }
        image = [e for e in sim if e in C.IMAGE_BENCHMARKS]
        for cid, rule in ((1, C.claim1_verdict), (2, C.claim2_verdict)):
            if cid not in observed:
                continue
            main = rule(C._on(outcomes, C.IMAGE_BENCHMARKS)) if image else None
            probes = [
                rule(C._on(outcomes, (e,))) for e in sim if e not in C.IMAGE_BENCHMARKS
            ]
            tallies[cid].append((main or C.INCONCLUSIVE, probes))
        if 3 in observed:
            main, _ = C.claim3_verdict(C.theorem_regime(_resampled_phase(syn, rng)))
            probes = []
            grid = syn["grid"].get("non_saturating") or next(
                iter(syn["grid"].values()), {}
            )
            if "sgda" in grid and "nsgda" in grid:
                probes.append(
                    C.grid_verdict(
                        _resampled_grid(grid["sgda"], rng),
                        _resampled_grid(grid["nsgda"], rng),
                    )
                )
            tallies[3].append((main, probes))
    if 4 in observed:
        loss = (
            "non_saturating"
            if "non_saturating" in syn["pace_prediction"]
            else next(iter(syn["pace_prediction"]), None)
        )
        fail, succ, rows = _pace_parts(syn, loss) if loss else ([], [], [])
        for i in range(min(simulations, PACE_SIMULATIONS)):
            pred = None
            if len(fail) >= 2 and len(succ) >= 2:
                f = [fail[j] for j in rng.integers(0, len(fail), len(fail))]
                s = [succ[j] for j in rng.integers(0, len(succ), len(succ))]
                _, lo, hi = stats.bootstrap_auc(
                    f, s, resamples=PACE_RESAMPLES, seed=int(rng.integers(2**31))
                )
                pred = {"lower": lo, "upper": hi}
            inter = {
                "equal": _pooled(rows, rng, lambda r: r == 0),
                "unequal": _pooled(rows, rng, lambda r: abs(r) >= 1),
            }
            tallies[4].append((C.claim4_verdict(pred, inter)[0], []))
    out = {}
    for cid, sims in tallies.items():
        if not sims:
            continue
        c = observed[cid]
        mains = [m for m, _ in sims]
        entry = {
            "simulations": len(sims),
            "verdict": mains.count(c["verdict"]) / len(sims),
            "distribution": {v: mains.count(v) / len(sims) for v in C.VERDICTS},
            "probes": [],
        }
        for j, p in enumerate(c.get("probes", [])):
            got = [ps[j] for _, ps in sims if j < len(ps)]
            entry["probes"].append(
                got.count(p["verdict"]) / len(got) if got else math.nan
            )
        out[str(cid)] = entry
    return out


def attach(results: dict, simulations: int = SIMULATIONS) -> None:
    """Put each verdict's stability into its claim and probes (``stability``).

    Each gets ``share``, ``percent`` (rounded to 0.1, as the report prints
    it) and ``simulations``; a claim also the ``distribution`` of verdicts.

    Args:
        results (dict): A report's results (changed in place).
        simulations (int): Simulated offsets (see `verdict_stability`).
    """
    found = verdict_stability(results, simulations)
    for c in results["claims"]:
        s = found.get(str(c["id"]))
        if s is None:
            continue
        c["stability"] = {
            "share": s["verdict"],
            "percent": _percent(s["verdict"]),
            "simulations": s["simulations"],
            "distribution": s["distribution"],
        }
        for p, share in zip(c.get("probes", []), s["probes"]):
            p["stability"] = {
                "share": share,
                "percent": _percent(share),
                "simulations": s["simulations"],
            }


def _percent(share: float) -> float:
    return share if math.isnan(share) else round(100 * share, 1)


__all__ = [
    "PACE_SIMULATIONS",
    "SIMULATIONS",
    "STABLE",
    "attach",
    "verdict_stability",
]

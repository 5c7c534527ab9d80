"""The runs of `reproduce` as values, and the plan that lists them.

A `Run` is one unit of work: a frozen description (its `spec`, JSON-ready),
a stable `key` derived from that description and the library version, the
module-level function that trains it with its arguments, and an estimated
cost. There are two kinds: one GAN training (benchmark, optimizer, learning
rate, seed) and one synthetic group (the seeds and learning-rate pairs of one
optimizer on one synthetic problem, trained at once).

`plan_runs` lists every run a preset asks for given the results known so
far: a pure function, so the learning-rate search's second stage (a rate
added at the edge of the search, then the fresh seeds at the chosen rate)
appears as soon as the results it depends on are in, whether they were
computed a moment ago or read back from an earlier, interrupted run.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from typing import Any, Callable, Mapping

from keras_graft.experiments.presets import (
    GANBenchmark,
    Preset,
    SyntheticPlan,
    fresh_seeds,
)

#: Seeds of a learning-rate search start here (plus the seed offset).
SELECTION_SEED_BASE = 1000


def plain(x: Any) -> Any:
    """`x` in JSON's types, keeping non-finite floats (numpy values as Python ones).

    Args:
        x (Any): Nested dicts, lists, tuples, numbers, numpy values, dataclasses.

    Returns:
        Any: Dicts with string keys, lists, numbers, strings, bools and None.
    """
    import numpy as np

    if hasattr(x, "__dataclass_fields__"):
        return plain(asdict(x))
    if isinstance(x, dict):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if isinstance(x, (np.ndarray, np.generic)):
        return plain(x.tolist())
    return x


def digest(x: Any) -> str:
    """A short stable hash of a JSON-ready value.

    Args:
        x (Any): Any value `plain` accepts.

    Returns:
        str: 20 hex digits of its SHA-256.
    """
    text = json.dumps(plain(x), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Run:
    """One unit of work of `reproduce`.

    Attributes:
        spec (dict): Its full configuration (JSON-ready); with the library
            version it makes the key.
        key (str): Stable id: `digest` of the spec and the version.
        label (str): A short name for progress lines and errors.
        fn (Callable): The module-level function that trains it.
        args (tuple): Its (picklable) arguments.
        cost (float): Estimated work, for the progress bar and the order.
    """

    spec: dict
    key: str
    label: str
    fn: Callable
    args: tuple
    cost: float


def _make(spec: dict, label: str, fn: Callable, args: tuple, cost: float) -> Run:
    from keras_graft import __version__

    key = digest({"spec": spec, "keras_graft": __version__})
    return Run(spec=spec, key=key, label=label, fn=fn, args=args, cost=cost)


# ------------------------------------------------------------ worker side


def _synthetic_job(kind: str, config: Any, runs: list) -> list[dict]:
    """Worker side: train one synthetic group; compact per-run dicts."""
    from keras_graft.experiments.synthetic import train_synthetic

    results, _ = train_synthetic(config, runs)
    out = []
    for r in results:
        out.append(
            {
                "kind": kind,
                "init_std": config.init_std,
                "dim": config.dim,
                "label": r.run.tag,
                "loss": config.loss,
                "lr_g": r.run.lr_g,
                "lr_d": r.run.lr_d,
                "seed": r.run.seed,
                "outcome": r.outcome,
                "final_modes": r.final_modes,
                "mode_mass": r.mode_mass,
                "best_cosines": r.best_cosines,
                "pace_ratio": r.pace_ratio(),
                "d_step": r.d_step,
                "g_step": r.g_step,
            }
        )
    return out


def _gan_job(
    config: Any, optimizer: str, seed: int, lr: float, keep_samples: bool
) -> dict:
    """Worker side: one GAN run (samples only where asked, to keep results small)."""
    from keras_graft.experiments.gan_runs import run_gan

    r = run_gan(config, optimizer, seed, lr)
    samples = r.pop("samples")
    r["samples"] = samples if keep_samples else None
    return r


def synthetic_cost(config: Any, runs: list) -> float:
    """Estimated work of a synthetic group (about seconds of one core on JAX).

    Args:
        config (SyntheticConfig): The problem.
        runs (list[SyntheticRun]): The group.

    Returns:
        float: The estimate.
    """
    # Measured: about 57 runs/s of 3,000 steps at d = 64 on one core.
    return 1.0 + len(runs) * config.steps / 170_000 * max(1.0, config.dim / 64) ** 0.5


def gan_cost(config: Any) -> float:
    """Estimated work of a GAN run (about seconds of one core on JAX).

    Args:
        config (GANConfig): The benchmark.

    Returns:
        float: The estimate.
    """
    rates = {"digits": 30.0, "ring": 600.0, "grid": 600.0, "cifar10": 5.0}
    return 8.0 + config.steps / rates[config.experiment]


# ------------------------------------------------------------------- plan


def synthetic_jobs(
    plan: SyntheticPlan, seed_offset: int = 0
) -> list[tuple[tuple, Any, list]]:
    """The synthetic jobs of a plan: one per (grid or phase cell, loss, optimizer).

    Args:
        plan (SyntheticPlan): The synthetic experiments.
        seed_offset (int): Added to every seed.

    Returns:
        list[tuple[tuple, SyntheticConfig, list[SyntheticRun]]]: ``(key,
        config, runs)``; key ``("grid", loss, label)`` or ``("phase",
        init_std, dim, label)``; each run's ``tag`` is its optimizer label.
    """
    from keras_graft.experiments.synthetic import SyntheticRun

    jobs = []
    seeds = range(seed_offset, seed_offset + plan.seeds)
    for loss in plan.losses:
        cfg = replace(plan.config, loss=loss)
        for label, (name, options) in plan.optimizers.items():
            runs = [
                SyntheticRun(name, lr_g, lr_d, s, dict(options), tag=label)
                for lr_g in plan.grid
                for lr_d in plan.grid
                for s in seeds
            ]
            jobs.append((("grid", loss, label), cfg, runs))
    phase_seeds = range(seed_offset, seed_offset + plan.phase_seeds)
    for init in plan.phase_init_stds:
        for dim in plan.phase_dims:
            cfg = replace(plan.config, init_std=init, dim=dim, loss="non_saturating")
            for label in ("sgda", "nsgda"):
                name, options = plan.optimizers[label]
                runs = [
                    SyntheticRun(name, lr_g, lr_d, s, dict(options), tag=label)
                    for lr_g in plan.phase_grid
                    for lr_d in plan.phase_grid
                    for s in phase_seeds
                ]
                jobs.append((("phase", init, dim, label), cfg, runs))
    return jobs


def synthetic_runs(plan: SyntheticPlan, seed_offset: int = 0) -> list[Run]:
    """The synthetic groups of a plan as runs.

    Args:
        plan (SyntheticPlan): The synthetic experiments.
        seed_offset (int): Added to every seed.

    Returns:
        list[Run]: One per job of `synthetic_jobs`.
    """
    out = []
    for key, cfg, group in synthetic_jobs(plan, seed_offset):
        spec = {"kind": "synthetic", "group": list(key), "config": cfg, "runs": group}
        out.append(
            _make(
                plain(spec),
                "synthetic " + "/".join(str(k) for k in key),
                _synthetic_job,
                (key[0], cfg, group),
                synthetic_cost(cfg, group),
            )
        )
    return out


def gan_run(
    bench: GANBenchmark, optimizer: str, lr: float, phase: str, index: int, offset: int
) -> Run:
    """One GAN run of a benchmark.

    Args:
        bench (GANBenchmark): The benchmark.
        optimizer (str): The optimizer of both players.
        lr (float): Its learning rate.
        phase (str): "selection" (a search's seeds) or "fresh" (reported).
        index (int): The seed's index within its phase.
        offset (int): The run's seed offset.

    Returns:
        Run: The run; the fresh run of index 0 keeps its samples (the plots').
    """
    fresh = phase == "fresh"
    seed = offset + index + (0 if fresh else SELECTION_SEED_BASE)
    keep = fresh and index == 0
    spec = {
        "kind": "gan",
        "config": bench.config,
        "optimizer": optimizer,
        "learning_rate": lr,
        "seed": seed,
        "phase": phase,
        "samples": keep,
    }
    exp = bench.config.experiment
    return _make(
        plain(spec),
        f"{exp} {optimizer} lr {lr:.3g} {phase} seed {seed}",
        _gan_job,
        (bench.config, optimizer, seed, lr, keep),
        gan_cost(bench.config),
    )


def _search(
    bench: GANBenchmark, optimizer: str, offset: int, finished: Mapping[str, Any]
) -> list[Run]:
    """One optimizer's runs on a benchmark: its search so far, then its fresh seeds.

    The search runs every base multiplier on the selection seeds; once they
    are all finished, while the best rate sits at an edge of the rates tried
    (and fewer than ``bench.extend`` were added), the next rate beyond that
    edge (`analysis.edge_learning_rate`); then the fresh seeds run the best
    rate (`analysis.select_learning_rate`). Runs that failed count as
    finished without a result; if every selection run failed there are no
    fresh runs.
    """
    from keras_graft.experiments import analysis

    exp = bench.config.experiment
    base = bench.config.learning_rates[optimizer]
    if len(bench.search) <= 1:
        return [
            gan_run(bench, optimizer, base, "fresh", i, offset)
            for i in range(fresh_seeds(bench, optimizer))
        ]
    rates = [base * m for m in bench.search]
    runs: list[Run] = []
    while True:
        selection = [
            gan_run(bench, optimizer, lr, "selection", i, offset)
            for lr in rates
            for i in range(bench.selection_seeds)
        ]
        known = {r.key for r in runs}
        runs += [r for r in selection if r.key not in known]
        if any(r.key not in finished for r in selection):
            return runs  # the search waits for these
        results = [finished[r.key] for r in selection if finished[r.key] is not None]
        if not results:
            return runs
        if len(rates) - len(bench.search) < bench.extend:
            edge = analysis.edge_learning_rate(results, exp, bench.score_evals)
            if edge is not None:
                rates.append(edge)
                continue
        best = analysis.select_learning_rate(results, exp, bench.score_evals)
        return runs + [
            gan_run(bench, optimizer, best, "fresh", i, offset)
            for i in range(fresh_seeds(bench, optimizer))
        ]


def plan_runs(
    preset: Preset,
    seed_offset: int,
    finished: Mapping[str, Any],
    gans: tuple | None = None,
    synthetic: list[Run] | None = None,
) -> list[Run]:
    """Every run a preset asks for, given the results finished so far.

    Args:
        preset (Preset): The preset.
        seed_offset (int): Added to every seed.
        finished (Mapping[str, Any]): Key -> result of the finished runs
            (None for a run that failed).
        gans (tuple[GANBenchmark, ...] | None): The benchmarks to run (None:
            the preset's).
        synthetic (list[Run] | None): The preset's `synthetic_runs`, which
            depend on no result (None: made here; a caller that plans after
            every result passes them once made).

    Returns:
        list[Run]: The GAN runs (each optimizer's search, then its fresh
        seeds, as far as the results allow), then the synthetic groups.
    """
    runs: list[Run] = []
    for bench in preset.gans if gans is None else gans:
        for opt in bench.config.optimizers:
            runs += _search(bench, opt, seed_offset, finished)
    if synthetic is None:
        synthetic = synthetic_runs(preset.synthetic, seed_offset)
    return runs + synthetic


__all__ = [
    "Run",
    "SELECTION_SEED_BASE",
    "digest",
    "gan_cost",
    "gan_run",
    "plain",
    "plan_runs",
    "synthetic_cost",
    "synthetic_jobs",
    "synthetic_runs",
]

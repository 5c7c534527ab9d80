"""`reproduce`: run a preset end to end and write the report folder.

The work is a list of independent jobs (one synthetic optimizer grid, one GAN
run) that `JobRunner` spreads over worker processes, one per core. A GAN
benchmark with a learning-rate search first runs every candidate rate on the
selection seeds; once an optimizer's selection runs are in, its chosen rate is
run on the fresh seeds, which alone are reported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from typing import Any, Callable

from keras_graft._utils import jsonable
from keras_graft._validation import check_choice, check_int, check_optional_int
from keras_graft.experiments.presets import (
    PRESETS,
    GANBenchmark,
    Preset,
    SyntheticPlan,
    get_preset,
)

#: Seeds of a learning-rate search start here (plus the seed offset).
SELECTION_SEED_BASE = 1000


# ------------------------------------------------------------------ the jobs


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


def _synthetic_cost(config: Any, runs: list) -> float:
    # Measured: about 57 runs/s of 3,000 steps at d = 64 on one core.
    return 1.0 + len(runs) * config.steps / 170_000 * max(1.0, config.dim / 64) ** 0.5


def _gan_cost(config: Any) -> float:
    rates = {"digits": 30.0, "ring": 600.0, "grid": 600.0, "cifar10": 5.0}
    return 8.0 + config.steps / rates[config.experiment]


# --------------------------------------------------------------- the report


def git_commit() -> str | None:
    """The git commit of the package's checkout, ``-dirty`` if its code has changes.

    Only changes to tracked files under ``keras_graft/`` (the code that made
    the report) count as dirty; documentation edits do not.

    Returns:
        str | None: The commit, or None outside a git checkout.
    """
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()

    try:
        sha = git("rev-parse", "HEAD")
        dirty = git(
            "status", "--porcelain", "--untracked-files=no", "--", "keras_graft"
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return sha + ("-dirty" if dirty else "") if sha else None


def _log(msg: str, stream: Any) -> None:
    if stream is not None:
        print(msg, file=stream, flush=True)


def reproduce(
    preset: str | Preset = "default",
    out_dir: str | os.PathLike = "keras_graft_report",
    seeds: int | None = None,
    seed_offset: int = 0,
    log: Any = sys.stderr,
    progress: Callable[[float, float, str], None] | None = None,
    workers: int | None = None,
) -> dict:
    """Run every experiment of a preset and write the report folder.

    Writes ``report.md`` (a plain-words summary, then one section per claim
    with its rule, its intervals and its verdict), the PNG plots and
    ``results.json`` (every number of the report, the configs and the
    per-run measurements) into `out_dir`.

    With more than one worker the runs go to a pool of spawned processes
    (one per core, each single-threaded and pinned to its core). Spawned
    workers import the calling script again, so a script that calls
    `reproduce` must do so under ``if __name__ == "__main__":``, as with any
    `multiprocessing` code; notebooks and the `keras-graft` command need
    nothing. Pass ``workers=1`` to run everything in this process.

    Args:
        preset (str | Preset): "tiny", "default", "long", "paper", or a `Preset`.
        out_dir (str | os.PathLike): The report folder (created).
        seeds (int | None): Overrides the preset's numbers of seeds.
        seed_offset (int): Added to every seed of the run (fresh and selection
            seeds alike).
        log (Any): A text stream for progress lines (None: silent).
        progress (Callable[[float, float, str], None] | None): Called as
            ``progress(done, total, label)`` after each finished job, with the
            estimated work done so far and in all (constant), and a label.
        workers (int | None): Worker processes (None: one per CPU core; 1 runs
            everything in this process).

    Returns:
        dict: The results (as saved in ``results.json``).
    """
    import keras

    from keras_graft import __version__
    from keras_graft.experiments import analysis, claims, plots
    from keras_graft.experiments.report import render_markdown
    from keras_graft.experiments.workers import JobRunner, default_workers

    seed_offset = check_int(seed_offset, "seed_offset", minimum=0)
    workers = check_optional_int(workers, "workers", minimum=1)
    if isinstance(preset, str):
        preset = get_preset(check_choice(preset, "preset", list(PRESETS)), seeds)
    workers = default_workers() if workers is None else workers
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    start = time.perf_counter()
    commit = git_commit()  # the code the run starts with, whatever changes meanwhile
    backend = keras.backend.backend()
    _log(
        f"keras-graft reproduce: preset {preset.name}, backend {backend}, "
        f"{workers} worker(s), seed offset {seed_offset}",
        log,
    )

    gans = [
        b for b in preset.gans if b.config.experiment != "cifar10" or _cifar_available()
    ]
    if len(gans) < len(preset.gans):
        _log("[cifar10] skipped: tfds cifar10 is not prepared on this machine", log)
    if any(
        b.config.experiment == "digits" and b.config.metric == "digits" for b in gans
    ):
        # Trained once and cached on disk, before the workers read it.
        from keras_graft.metrics import digit_classifier, digit_statistics

        digit_classifier()
        digit_statistics("test")

    syn_jobs = synthetic_jobs(preset.synthetic, seed_offset)
    total = sum(_synthetic_cost(c, r) for _, c, r in syn_jobs)
    for b in gans:
        n_sel = len(b.search) * b.selection_seeds if len(b.search) > 1 else 0
        total += len(b.config.optimizers) * (n_sel + b.seeds) * _gan_cost(b.config)
    done = 0.0
    syn_runs: list[dict] = []
    gan_runs: dict[str, list[dict]] = {b.config.experiment: [] for b in gans}
    selection: dict[tuple, list[dict]] = {}
    samples: dict[str, dict] = {b.config.experiment: {} for b in gans}

    # Rates submitted per (benchmark, optimizer) to the search so far.
    rates: dict[tuple, int] = {}

    def submit(
        runner: JobRunner, b: GANBenchmark, opt: str, lr: float, phase: str
    ) -> None:
        """One rate's runs: on the fresh seeds, or on the selection seeds."""
        fresh = phase == "fresh"
        first = seed_offset + (0 if fresh else SELECTION_SEED_BASE)
        if not fresh:
            key = (b.config.experiment, opt)
            rates[key] = rates.get(key, 0) + 1
        for i in range(b.seeds if fresh else b.selection_seeds):
            runner.submit(
                ("gan", b.config.experiment, opt, phase, lr, i),
                _gan_job,
                b.config,
                opt,
                first + i,
                lr,
                fresh and i == 0,
            )

    with JobRunner(workers) as runner:
        # Longest jobs first: the digit runs, then the synthetic grids, then the rest.
        for b in sorted(gans, key=lambda b: -_gan_cost(b.config)):
            for opt in b.config.optimizers:
                base = b.config.learning_rates[opt]
                if len(b.search) > 1:
                    for mult in b.search:
                        submit(runner, b, opt, base * mult, "selection")
                else:
                    submit(runner, b, opt, base, "fresh")
        by_cost = sorted(syn_jobs, key=lambda j: -_synthetic_cost(j[1], j[2]))
        for key, cfg, runs in by_cost:
            runner.submit(
                ("syn", key, _synthetic_cost(cfg, runs)),
                _synthetic_job,
                key[0],
                cfg,
                runs,
            )

        for key, result in runner.results():
            if key[0] == "syn":
                syn_runs += result
                done += key[2]
                label = "synthetic " + "/".join(str(k) for k in key[1])
            else:
                _, exp, opt, phase, lr, j = key
                bench = next(b for b in gans if b.config.experiment == exp)
                done += _gan_cost(bench.config)
                x = result.pop("samples")
                result["phase"] = phase
                if phase == "fresh" and x is not None:
                    samples[exp][opt] = x
                run = f"{opt} lr {lr:.3g} {phase} seed {result['seed']}"
                label = f"{exp} {run}"
                final = ", ".join(f"{k} {v:.3g}" for k, v in result["final"].items())
                _log(
                    f"[{exp}] {run}: {final} ({result['seconds']:.1f} s, "
                    f"{result['steps_per_s']:.0f} steps/s)",
                    log,
                )
                gan_runs[exp].append(result)
                if phase == "selection":
                    sel = selection.setdefault((exp, opt), [])
                    sel.append(result)
                    if len(sel) == rates[(exp, opt)] * bench.selection_seeds:
                        edge = None
                        if rates[(exp, opt)] - len(bench.search) < bench.extend:
                            edge = analysis.edge_learning_rate(
                                sel, exp, bench.score_evals
                            )
                        if edge is not None:
                            _log(
                                f"[{exp}] {opt}: best rate at the edge of the "
                                f"search, adding lr {edge:.3g}",
                                log,
                            )
                            total += bench.selection_seeds * _gan_cost(bench.config)
                            submit(runner, bench, opt, edge, "selection")
                        else:
                            best = analysis.select_learning_rate(
                                sel, exp, bench.score_evals
                            )
                            _log(f"[{exp}] {opt}: selected lr {best:.3g}", log)
                            submit(runner, bench, opt, best, "fresh")
            if progress is not None:
                progress(min(done, total), total, label)

    # Worker processes finish in any order: the runs are sorted so that the
    # summaries (their sums, the example runs they pick) and results.json do
    # not depend on it.
    syn_runs.sort(
        key=lambda r: (
            (r["kind"], r["loss"], r["label"])
            + tuple(r[k] for k in ("init_std", "dim", "lr_g", "lr_d", "seed"))
        )
    )
    for b in gans:
        optimizers = list(b.config.optimizers)
        gan_runs[b.config.experiment].sort(
            key=lambda r, optimizers=optimizers: (
                optimizers.index(r["optimizer"]),
                r["phase"] != "selection",
                r["learning_rate"],
                r["seed"],
            )
        )
    syn = analysis.summarize_synthetic(syn_runs, preset.synthetic)
    gan_summaries = {
        b.config.experiment: analysis.summarize_gan(
            gan_runs[b.config.experiment], b, preset.margin
        )
        for b in gans
    }
    verdicts = claims.evaluate_claims(syn, gan_summaries, preset)
    results = {
        "meta": {
            "preset": preset.name,
            "description": preset.description,
            "backend": backend,
            "keras_version": keras.__version__,
            "keras_graft_version": __version__,
            "git_commit": commit,
            "seed_offset": seed_offset,
            "workers": workers,
            "seconds": 0.0,
            "margin": preset.margin,
        },
        "synthetic": syn,
        "gans": {
            b.config.experiment: {
                "config": _config_dict(b),
                "runs": [
                    analysis.compact_gan_run(r) for r in gan_runs[b.config.experiment]
                ],
                "summary": gan_summaries[b.config.experiment],
            }
            for b in gans
        },
        "claims": verdicts,
    }
    results = jsonable(results)
    results["plots"] = plots.make_plots(results, samples, out_dir)
    results["meta"]["seconds"] = time.perf_counter() - start
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=None, separators=(",", ":"))
    with open(os.path.join(out_dir, "report.md"), "w") as f:
        f.write(render_markdown(results))
    for c in verdicts:
        _log(f"Claim {c['id']}: {c['verdict']}", log)
    _log(f"report written to {out_dir} in {results['meta']['seconds']:.1f} s", log)
    return results


def _config_dict(b: GANBenchmark) -> dict:
    from keras_graft.experiments.gan_runs import config_dict

    return {
        **config_dict(b.config),
        "seeds": b.seeds,
        "search": list(b.search),
        "selection_seeds": b.selection_seeds,
        "extend": b.extend,
        "score_evals": b.score_evals,
    }


def _cifar_available() -> bool:
    try:
        from keras_graft.datasets import load_images

        load_images("cifar10", "train", limit=1)
        return True
    except Exception:  # any failure means "not available here"
        return False


__all__ = ["SELECTION_SEED_BASE", "git_commit", "reproduce", "synthetic_jobs"]

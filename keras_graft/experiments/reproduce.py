"""`reproduce`: run a preset end to end and write the report folder."""

from __future__ import annotations

import json

import os
import sys
import time
from dataclasses import asdict
from typing import Any, Callable

import keras
import numpy as np

from keras_graft.experiments import report as report_lib
from keras_graft.experiments.gan_runs import config_dict, run_gan
from keras_graft.experiments.presets import Preset, get_preset
from keras_graft.experiments.synthetic import SyntheticRun, train_synthetic


def synthetic_runs(preset: Preset) -> list[SyntheticRun]:
    """The synthetic runs of a preset: the SGDA grid(s) and the other sweeps.

    Args:
        preset (Preset): The preset.

    Returns:
        list[SyntheticRun]: Tagged "grid" (SGDA, alternating),
        "grid_simultaneous" (SGDA, simultaneous; trained separately) and
        "sweep" (the other optimizers, lr_G = lr_D).
    """
    runs = []
    for seed in range(preset.seeds):
        for lr_g in preset.sgda_grid:
            for lr_d in preset.sgda_grid:
                runs.append(SyntheticRun("sgda", lr_g, lr_d, seed, tag="grid"))
        for opt, lrs in preset.sweeps.items():
            for lr in lrs:
                runs.append(SyntheticRun(opt, lr, lr, seed,
                                         dict(preset.synthetic_options.get(opt, {})),
                                         tag="sweep"))
    return runs


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.floating,)):
        return float(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    return x


def _log(msg: str, stream: Any) -> None:
    if stream is not None:
        print(msg, file=stream, flush=True)


def reproduce(
    preset: str | Preset = "default",
    out_dir: str | os.PathLike = "keras_graft_report",
    seeds: int | None = None,
    log: Any = sys.stderr,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Run every experiment of a preset and write the report folder.

    Writes ``report.md`` (one table per claim, with its verdict), the PNG plots
    and ``results.json`` (every number of the report, the configs, the
    per-run measurements and the rules of the verdicts) into `out_dir`.

    Args:
        preset (str | Preset): "tiny", "default", "paper", or a `Preset`.
        out_dir (str | os.PathLike): The report folder (created).
        seeds (int | None): Overrides the preset's numbers of seeds.
        log (Any): A text stream for progress lines (None: silent).
        progress (Callable[[str], None] | None): Called with a short label
            after each finished unit of work.

    Returns:
        dict: The results (as saved in ``results.json``).
    """
    preset = get_preset(preset, seeds) if isinstance(preset, str) else preset
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    start = time.perf_counter()
    backend = keras.backend.backend()
    _log(f"keras-graft reproduce: preset {preset.name}, backend {backend}", log)

    # Synthetic framework.
    runs = synthetic_runs(preset)
    t0 = time.perf_counter()
    results_syn, timing = train_synthetic(preset.synthetic, runs)
    syn_dicts = [r.to_dict() for r in results_syn]
    if preset.simultaneous_grid:
        from dataclasses import replace

        sim_cfg = replace(preset.synthetic, update="simultaneous")
        sim_runs = [replace(r, tag="grid_simultaneous") for r in runs if r.tag == "grid"]
        sim_results, sim_timing = train_synthetic(sim_cfg, sim_runs)
        syn_dicts += [r.to_dict() for r in sim_results]
        timing["seconds"] += sim_timing["seconds"]
        timing["steps_per_s"] = (len(runs) + len(sim_runs)) * preset.synthetic.steps / max(
            timing["seconds"], 1e-9)
    _log(f"[synthetic] {len(syn_dicts)} runs x {preset.synthetic.steps} steps in "
         f"{time.perf_counter() - t0:.1f} s ({timing['steps_per_s']:.0f} steps/s)", log)
    if progress:
        progress("synthetic")
    syn_summary = report_lib.summarize_synthetic(syn_dicts, preset.synthetic.num_modes)
    syn_cfg = asdict(preset.synthetic)
    syn_cfg.update(m_g=preset.synthetic.m_g, m_d=preset.synthetic.m_d,
                   norm_range=list(preset.synthetic.norm_range()))

    # GAN benchmarks.
    gans: dict[str, dict] = {}
    samples: dict[str, dict] = {}
    for cfg in preset.gans:
        if cfg.experiment == "cifar10" and not _cifar_available():
            _log("[cifar10] skipped: tfds cifar10 is not prepared on this machine", log)
            continue
        exp_runs = []
        samples[cfg.experiment] = {}
        for opt in cfg.optimizers:
            for mult in preset.lr_multipliers:
                lr = cfg.learning_rates[opt] * mult
                for seed in range(preset.gan_seeds):
                    t1 = time.perf_counter()
                    r = run_gan(cfg, opt, seed, lr)
                    x = r.pop("samples")
                    if seed == 0 and mult == preset.lr_multipliers[len(preset.lr_multipliers) // 2]:
                        samples[cfg.experiment][opt] = x
                    exp_runs.append(r)
                    final = ", ".join(f"{k} {v:.3g}" for k, v in r["final"].items())
                    _log(f"[{cfg.experiment}] {opt} lr {lr:.3g} seed {seed}: {final} "
                         f"({time.perf_counter() - t1:.1f} s, {r['steps_per_s']:.0f} steps/s)",
                         log)
                    if progress:
                        progress(f"{cfg.experiment}/{opt}/{seed}")
        gans[cfg.experiment] = {
            "config": config_dict(cfg),
            "runs": exp_runs,
            "summary": report_lib.summarize_gan(exp_runs),
        }

    claims = report_lib.claim_verdicts(
        syn_summary, {k: v["summary"] for k, v in gans.items()}
    )
    results = {
        "meta": {
            "preset": preset.name,
            "backend": backend,
            "keras_version": keras.__version__,
            "seconds": 0.0,
            "synthetic_steps_per_s": timing["steps_per_s"],
            "synthetic_seconds": timing["seconds"],
            "seeds": preset.seeds,
            "gan_seeds": preset.gan_seeds,
        },
        "rules": dict(report_lib.RULES),
        "synthetic": {"config": syn_cfg, "timing": timing, "runs": syn_dicts,
                      "summary": syn_summary},
        "gans": gans,
        "claims": claims,
    }
    results["plots"] = report_lib.make_plots(results, samples, out_dir)
    results["meta"]["seconds"] = time.perf_counter() - start
    results = _jsonable(results)
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(out_dir, "report.md"), "w") as f:
        f.write(report_lib.render_markdown(results))
    for c in claims:
        _log(f"Claim {c['id']}: {c['verdict']}", log)
    _log(f"report written to {out_dir} in {results['meta']['seconds']:.1f} s", log)
    return results


def _cifar_available() -> bool:
    try:
        from keras_graft.datasets import load_images

        load_images("cifar10", "train", limit=1)
        return True
    except Exception:  # noqa: BLE001 - any failure means "not available here"
        return False


__all__ = ["reproduce", "synthetic_runs"]


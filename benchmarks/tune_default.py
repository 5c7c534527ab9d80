"""The learning-rate search whose output is the `default` preset's base rates.

The `default` preset runs no search (its 10 minutes do not allow one), so its
rates must come from the same search for every optimizer, at the horizon and
budget of its reported runs, on selection seeds that no report uses. This
script runs that search: for each of the default's GAN benchmarks and each
optimizer, x1/3, x1, x3 a starting rate and, while the best rate sits at an
edge, up to two more rates beyond it (`analysis.edge_learning_rate`), each on
the benchmark's selection seeds (1000, 1001, ...), scored as the reports
score (`analysis.run_score`). It writes ``rates.json`` into `--out`: per
benchmark, the starting rates, every rate tried with its mean score, and the
chosen rate. ``presets.DEFAULT_RATES`` must equal the chosen rates, and the
benchmark configurations stored with them must equal the default's (both
checked by ``tests/experiments/test_presets.py``); run this again after
changing either.

    KERAS_BACKEND=jax python benchmarks/tune_default.py \\
        --out benchmarks/results/tuning_default

Runs are stored as they finish (the folder resumes like a report folder).
Measured: see ``rates.json``'s ``seconds``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import replace

import numpy as np

#: Selection seeds per benchmark (the search's budget).
SELECTION_SEEDS = {"ring": 6, "digits": 6}
#: Where each search starts: the rates the project used before this search.
START = {
    "ring": {
        "adam": 6e-3,
        "ada_nsgda": 6e-3,
        "ada_dir": 6e-2,
        "nsgda": 6e-3,
        "sgda": 6e-2,
    },
    "digits": {
        "adam": 3e-3,
        "ada_nsgda": 3e-3,
        "ada_dir": 3e-2,
        "nsgda": 3e-3,
        "sgda": 1e-2,
    },
}


#: The optimizers each search covers (at least those the default runs).
SEARCHED = {
    "ring": ("adam", "ada_nsgda", "ada_dir", "nsgda", "sgda"),
    "digits": ("adam", "ada_nsgda", "ada_dir", "nsgda"),
}


def search_preset():
    """The default preset with a search on every GAN benchmark and no fresh seeds."""
    from keras_graft.experiments import presets

    default = presets.PRESETS["default"]
    gans = []
    for bench in default.gans:
        exp = bench.config.experiment
        config = replace(
            bench.config,
            optimizers=SEARCHED[exp],
            learning_rates={o: START[exp][o] for o in SEARCHED[exp]},
        )
        gans.append(
            replace(
                bench,
                config=config,
                seeds=0,
                search=presets._SEARCH,
                extend=presets._EXTEND,
                selection_seeds=SELECTION_SEEDS[exp],
            )
        )
    synthetic = replace(default.synthetic, losses=(), phase_init_stds=(), phase_dims=())
    return replace(
        default,
        name="default-search",
        description="the learning-rate search behind the default's rates",
        gans=tuple(gans),
        synthetic=synthetic,
    )


def main(argv=None) -> int:
    import keras

    from keras_graft.experiments import analysis, runs
    from keras_graft.experiments.reproduce import _executor, _manifest, execute
    from keras_graft.experiments.store import RunStore

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--workers", type=int, default=None)
    args = p.parse_args(argv)
    preset = search_preset()
    backend = keras.backend.backend()
    store = RunStore(args.out, _manifest(preset, 0, backend, None))
    start = time.perf_counter()
    if any(b.config.metric == "digits" for b in preset.gans):
        from keras_graft.metrics import digit_classifier, digit_statistics

        digit_classifier()
        digit_statistics("test")
    finished = execute(
        preset,
        store,
        0,
        _executor("local", backend, args.workers, None, None, store.logs_dir),
        preset.gans,
        log=sys.stderr,
    )
    # Only the runs the search asks for (the folder may hold others).
    planned = {r.key for r in runs.plan_runs(preset, 0, finished)}
    finished = {k: v for k, v in finished.items() if k in planned}
    path = os.path.join(args.out, "rates.json")
    seconds = time.perf_counter() - start
    if os.path.exists(path):  # a resumed search: its time is the sum
        with open(path) as f:
            seconds += json.load(f).get("seconds", 0.0)
    out = {"backend": backend, "seconds": seconds, "benchmarks": {}}
    for bench in preset.gans:
        exp = bench.config.experiment
        entry = {
            "config": runs.plain(replace(bench.config, learning_rates={})),
            "selection_seeds": bench.selection_seeds,
            "start": dict(bench.config.learning_rates),
            "tried": {},
            "chosen": {},
        }
        for opt in bench.config.optimizers:
            rs = [
                r
                for r in finished.values()
                if r is not None
                and r.get("experiment") == exp
                and r["optimizer"] == opt
            ]
            by_lr: dict[float, list] = {}
            for r in rs:
                s = analysis.run_score(r, exp, bench.score_evals)
                by_lr.setdefault(r["learning_rate"], []).append(
                    s if math.isfinite(s) else None
                )
            entry["tried"][opt] = {
                f"{lr:.6g}": scores for lr, scores in sorted(by_lr.items())
            }
            entry["chosen"][opt] = float(
                f"{analysis.select_learning_rate(rs, exp, bench.score_evals):.6g}"
            )
        out["benchmarks"][exp] = entry
    with open(path, "w") as f:
        json.dump(out, f, indent=1, default=float)
    print(json.dumps({e: v["chosen"] for e, v in out["benchmarks"].items()}, indent=1))
    print(f"{path} written in {out['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    raise SystemExit(main())

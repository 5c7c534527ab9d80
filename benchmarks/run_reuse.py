"""Seconds of a GAN run that restarts an earlier run's GAN, or builds its own.

`keras_graft.experiments.gan_runs.run_gan` on JAX and TensorFlow restarts the
GAN of an earlier run of the same benchmark, optimizer and rate in the same
process (its step traced once), where it used to build, compile and trace a
GAN per run. This script runs the `default` preset's ring or digit runs both
ways, alternately, in one process (one intra-op thread, as the workers of
`keras-graft reproduce` run), on seeds 0, 1, ..., and prints the median
seconds of a whole `run_gan` call (building, tracing, training, evaluating)
and their ratio. Both ways give the same numbers (checked here on every run's
evaluations).

    KERAS_BACKEND=jax python benchmarks/run_reuse.py [--experiment ring] [--runs 6]

With XLA's persistent compilation cache on (as in the workers), so that a
run that traces its own step does not compile it again either.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="ring", choices=("ring", "digits"))
    parser.add_argument("--runs", type=int, default=6, help="timed runs of each")
    parser.add_argument("--optimizer", default="nsgda")
    args = parser.parse_args()

    from keras_graft.experiments.workers import QUIET_ENV, SINGLE_THREAD_ENV

    os.environ.update({**SINGLE_THREAD_ENV, **QUIET_ENV})  # before any backend work
    import keras

    from keras_graft._backend import backend_module
    from keras_graft.experiments import gan_runs
    from keras_graft.experiments.presets import PRESETS

    backend_module("keras_graft.experiments._backend").init_worker()
    config = next(
        b.config
        for b in PRESETS["default"].gans
        if b.config.experiment == args.experiment
    )
    backend = keras.backend.backend()
    times = {"restarts a GAN": [], "builds its own": []}
    same = True
    for r in range(args.runs + 1):  # the first round warms up (not timed)
        evals = {}
        for name in times:
            if name == "builds its own":
                gan_runs._FINISHED.clear()
            start = time.perf_counter()
            out = gan_runs.run_gan(config, args.optimizer, seed=r)
            if r:
                times[name].append(time.perf_counter() - start)
            evals[name] = out["evals"]
        same = same and evals["restarts a GAN"] == evals["builds its own"]
    print(
        f"backend={backend} {args.experiment}, {config.steps} steps, "
        f"{args.optimizer}; median of {args.runs} runs"
    )
    for name, t in times.items():
        print(f"{name:<16}  {statistics.median(t):7.2f} s a run")
    ratio = statistics.median(times["restarts a GAN"]) / statistics.median(
        times["builds its own"]
    )
    print(f"restarts / builds = {ratio:.2f}; the same evaluations: {same}")


if __name__ == "__main__":
    main()

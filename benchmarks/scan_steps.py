"""Seconds of a GAN run with `GAN.compile(scan_steps=True)` against Keras's loop.

The `default` preset's ring (MLPs of width 64, batch 64) or digit (DCGAN of
width 16, batch 64) run, trained by
`keras_graft.experiments.gan_runs.run_gan` with `steps_per_execution` 50,
once with each call's 50 steps in one `jax.lax.scan` and once as Keras's JAX
trainer runs them (one jitted step dispatched from Python per batch),
alternately, in one process, with one intra-op thread as the workers of
`keras-graft reproduce` run. Prints the median seconds of a whole `run_gan`
call (building, training, evaluating) of each, their ratio, and whether both
gave the same numbers bit for bit (every evaluation and the final samples).

    KERAS_BACKEND=jax python benchmarks/scan_steps.py [--experiment ring] [--rounds 3]

On another backend `scan_steps` has no effect and both rows time the same
thing. The first round of each is a warm-up (tracing, compilation), not timed.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
from dataclasses import replace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="ring", choices=("ring", "digits"))
    parser.add_argument(
        "--steps", type=int, default=0, help="steps per run (0: the preset's)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="timed runs of each")
    parser.add_argument("--optimizer", default="adam")
    args = parser.parse_args()

    from keras_graft.experiments.workers import QUIET_ENV, SINGLE_THREAD_ENV

    os.environ.update({**SINGLE_THREAD_ENV, **QUIET_ENV})  # before any backend work
    import keras
    import numpy as np

    from keras_graft.experiments import gan_runs
    from keras_graft.experiments.presets import PRESETS

    backend = keras.backend.backend()
    index = {"ring": 0, "digits": 1}[args.experiment]
    config = PRESETS["default"].gans[index].config
    if args.steps:
        every = args.steps // 2
        config = replace(
            config,
            steps=args.steps,
            eval_every=every,
            steps_per_execution=math.gcd(config.steps_per_execution, every),
        )
    modes = {"scan_steps": (args.experiment,), "Keras loop": ()}
    times: dict[str, list[float]] = {name: [] for name in modes}
    results = {}
    default = gan_runs._SCAN_EXPERIMENTS
    for r in range(args.rounds + 1):
        for name, scanned in modes.items():
            gan_runs._SCAN_EXPERIMENTS = scanned
            try:
                out = gan_runs.run_gan(config, args.optimizer, seed=7 + r)
            finally:
                gan_runs._SCAN_EXPERIMENTS = default
            if r:
                times[name].append(out["seconds"])
            results.setdefault(r, {})[name] = out
    same = all(
        a["evals"] == b["evals"] and np.array_equal(a["samples"], b["samples"])
        for a, b in (tuple(res.values()) for res in results.values())
    )
    print(
        f"backend={backend} {args.experiment}, width {config.width}, batch "
        f"{config.batch_size}, {config.steps} steps, steps_per_execution "
        f"{config.steps_per_execution}, {args.optimizer}; median of {args.rounds} runs"
    )
    for name, t in times.items():
        median = statistics.median(t)
        print(f"{name:<12}  {median:8.2f} s  ({config.steps / median:.0f} steps/s)")
    ratio = statistics.median(times["Keras loop"]) / statistics.median(
        times["scan_steps"]
    )
    print(f"speed of scan_steps / Keras loop = {ratio:.2f}; numbers identical: {same}")


if __name__ == "__main__":
    main()

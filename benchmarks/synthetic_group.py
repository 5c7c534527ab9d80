"""Runs per second of a synthetic group: the per-run loop against the vectorized path.

The default preset's synthetic grid trains, per loss and optimizer, every
pair of its learning rates with 16 seeds: groups of runs that share an
optimizer, each of d=64, K=4 and 3,000 steps. On PyTorch `train_group` of
the backend module trains such a group at once (`torch.func.vmap` over
runs); before, it looped over the runs with `synthetic.train_loop`, as it
still does on TensorFlow (whose Keras optimizers have no `stateless_apply`),
where the two columns should match. Both are timed here side by side in one
process, on the running backend, with the default preset's problem and rates
(fewer steps, and the loop on a few runs of the group: its cost is linear in
the runs, so its runs/s is that of the whole group).

    KERAS_BACKEND=torch python benchmarks/synthetic_group.py
    KERAS_BACKEND=torch python benchmarks/synthetic_group.py --runs 64 --steps 600

One intra-op thread by default, as the workers of `keras-graft reproduce`
run. The outcomes of the runs trained both ways are compared too: they agree
except where a run's dynamics amplify float32 rounding (large rates), as
between the fused and the generic optimizer paths of one loop.
"""

from __future__ import annotations

import argparse
import itertools
import time


def _set_threads(backend: str, threads: int) -> None:
    """Limits the backend to `threads` threads (before any op runs)."""
    if backend == "torch":
        import torch

        torch.set_num_threads(threads)
    elif backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def _loop_step_wrapper(backend: str):
    """What `train_loop` wraps its step in on `backend` (the old path)."""
    if backend == "torch":
        import torch

        return torch.no_grad()
    import tensorflow as tf

    return tf.function


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=36, help="runs in the group")
    parser.add_argument("--steps", type=int, default=300, help="steps per run")
    parser.add_argument("--log-every", type=int, default=100)
    parser.add_argument(
        "--loop-runs", type=int, default=3, help="runs of the group the loop trains"
    )
    parser.add_argument(
        "--optimizers",
        default="sgda,nsgda,nsgda_global,adam,ada_nsgda",
        help="labels of presets.SYNTHETIC_OPTIMIZERS, comma-separated",
    )
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import keras

    from keras_graft._backend import backend_module
    from keras_graft.experiments import presets, synthetic

    backend = keras.backend.backend()
    if backend not in ("torch", "tensorflow"):
        raise SystemExit(
            f"backend={backend}: JAX always trained groups vectorized (jax.vmap); "
            "run this with KERAS_BACKEND=torch or tensorflow"
        )
    _set_threads(backend, args.threads)
    engine = backend_module("keras_graft.experiments._backend")
    wrapper = _loop_step_wrapper(backend)
    config = synthetic.SyntheticConfig(
        dim=64, num_modes=4, steps=args.steps, log_every=args.log_every
    )
    problem = synthetic.make_problem(config)
    grid = presets.PRESETS["default"].synthetic.grid
    cells = list(itertools.product(grid, grid))
    print(
        f"backend={backend}  d={config.dim} K={config.num_modes}  "
        f"steps={config.steps}  group={args.runs} runs (grid {len(grid)}x"
        f"{len(grid)}, seeds)  loop on {args.loop_runs}  threads={args.threads}"
    )
    print(
        f"{'optimizer':<14} {'loop runs/s':>12} {'group runs/s':>13} "
        f"{'speed-up':>9} {'same outcome':>13}"
    )
    for label in args.optimizers.split(","):
        name, options = presets.SYNTHETIC_OPTIMIZERS[label]
        group = [
            synthetic.SyntheticRun(
                name, *cells[i % len(cells)], seed=i // len(cells), options=options
            )
            for i in range(args.runs)
        ]
        start = time.perf_counter()
        vectorized = engine.train_group(config, problem, group, None)
        group_rate = len(group) / (time.perf_counter() - start)
        start = time.perf_counter()
        looped = [
            synthetic.train_loop(config, problem, run, None, wrapper)
            for run in group[: args.loop_runs]
        ]
        loop_rate = len(looped) / (time.perf_counter() - start)
        same = sum(a.outcome == b.outcome for a, b in zip(vectorized, looped))
        print(
            f"{label:<14} {loop_rate:>12.2f} {group_rate:>13.2f} "
            f"{group_rate / loop_rate:>8.1f}x {same:>6}/{len(looped)}"
        )


if __name__ == "__main__":
    main()

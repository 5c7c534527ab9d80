"""The `keras-graft` command line.

Usage:
    keras-graft reproduce [--preset tiny|default|paper] [--backend B] [--seeds N] [--out DIR]
    keras-graft train --optimizer ada_nsgda --experiment digits|ring|grid|synthetic
        [--lr LR] [--lr-d LR] [--seed S] [--steps N] [--preset P] [--backend B] [--out FILE]

The Keras backend is fixed when `keras` is first imported, so `--backend`
sets ``KERAS_BACKEND`` before anything imports keras; if keras was already
imported with another backend (e.g. `main` called from a Python session),
the command re-executes itself in a fresh interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

BACKENDS = ("tensorflow", "jax", "torch")
PRESETS = ("tiny", "default", "paper")
OPTIMIZER_NAMES = ("sgda", "nsgda", "adam", "ada_nsgda", "ada_dir")
EXPERIMENTS = ("synthetic", "ring", "grid", "digits")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `keras-graft`.

    Returns:
        argparse.ArgumentParser: The parser, with the `reproduce` and `train`
        sub-commands.
    """
    parser = argparse.ArgumentParser(
        prog="keras-graft",
        description="Reproduce 'Dissecting adaptive methods in GANs' with keras_graft.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="run a preset and write a report folder")
    rep.add_argument("--preset", choices=PRESETS, default="default")
    rep.add_argument("--backend", choices=BACKENDS, default=None,
                     help="Keras backend (default: $KERAS_BACKEND or jax)")
    rep.add_argument("--seeds", type=int, default=None, help="override the seeds")
    rep.add_argument("--out", default="keras_graft_report", help="report folder")
    rep.add_argument("--quiet", action="store_true", help="no progress lines")
    tr = sub.add_parser("train", help="one training run")
    tr.add_argument("--optimizer", choices=OPTIMIZER_NAMES, required=True)
    tr.add_argument("--experiment", choices=EXPERIMENTS, required=True)
    tr.add_argument("--lr", type=float, default=None,
                    help="learning rate (of G in the synthetic problem)")
    tr.add_argument("--lr-d", type=float, default=None,
                    help="discriminator learning rate (synthetic; default: --lr)")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--steps", type=int, default=None)
    tr.add_argument("--preset", choices=PRESETS, default="default",
                    help="preset whose configuration is used")
    tr.add_argument("--backend", choices=BACKENDS, default=None)
    tr.add_argument("--out", default=None, help="write the result as JSON here")
    return parser


def _ensure_backend(backend: str | None, argv: list[str]) -> int | None:
    """Set KERAS_BACKEND; re-exec if keras is already imported with another one."""
    if backend is None:
        backend = os.environ.get("KERAS_BACKEND", "jax")
    if "keras" in sys.modules:
        import keras

        if keras.backend.backend() != backend:
            env = dict(os.environ, KERAS_BACKEND=backend)
            cmd = [sys.executable, "-m", "keras_graft", *argv]
            return subprocess.call(cmd, env=env)
    os.environ["KERAS_BACKEND"] = backend
    return None


def _train(args: argparse.Namespace) -> dict:
    from dataclasses import replace

    from keras_graft.experiments import (
        SyntheticRun,
        get_preset,
        run_gan,
        train_synthetic,
    )

    preset = get_preset(args.preset)
    if args.experiment == "synthetic":
        cfg = preset.synthetic
        if args.steps is not None:
            cfg = replace(cfg, steps=args.steps, log_every=max(1, args.steps // 20)
                          if args.steps % max(1, args.steps // 20) == 0 else args.steps)
        sweep = preset.sweeps.get(args.optimizer, preset.sgda_grid)
        lr = args.lr if args.lr is not None else sweep[len(sweep) // 2]
        run = SyntheticRun(args.optimizer, lr, args.lr_d if args.lr_d is not None else lr,
                           args.seed)
        (res,), timing = train_synthetic(cfg, [run])
        out = res.to_dict()
        out["timing"] = timing
        print(f"modes recovered {res.final_modes}/{cfg.num_modes} "
              f"(over training: {res.modes_recovered}); "
              f"pace ratio first {res.pace_ratio()[0]:.3g}, last {res.pace_ratio()[-1]:.3g}; "
              f"{timing['steps_per_s']:.0f} steps/s")
        return out
    cfg = next(g for g in preset.gans if g.experiment == args.experiment)
    if args.steps is not None:
        cfg = replace(cfg, steps=args.steps, eval_every=args.steps,
                      steps_per_execution=1)
    out = run_gan(cfg, args.optimizer, args.seed, args.lr)
    out.pop("samples")
    print(", ".join(f"{k} {v:.4g}" for k, v in out["final"].items())
          + f" ({out['steps_per_s']:.0f} steps/s)")
    return out


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `keras-graft` console script.

    Args:
        argv (list[str] | None): Arguments (default: ``sys.argv[1:]``).

    Returns:
        int: The exit status.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    code = _ensure_backend(args.backend, argv)
    if code is not None:
        return code
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    start = time.perf_counter()
    if args.command == "reproduce":
        from keras_graft.experiments import reproduce

        results = reproduce(args.preset, args.out, seeds=args.seeds,
                            log=None if args.quiet else sys.stderr)
        print(f"{args.out}/report.md written in {time.perf_counter() - start:.1f} s")
        for claim in results["claims"]:
            print(f"claim {claim['id']}: {claim['verdict']}")
        return 0
    result = _train(args)
    if args.out:
        from keras_graft.experiments.reproduce import _jsonable

        with open(args.out, "w") as f:
            json.dump(_jsonable(result), f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

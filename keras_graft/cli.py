"""The `keras-graft` command line.

Usage:
    keras-graft reproduce [--preset tiny|default|long|gpu|paper] [--backend B]
        [--seeds N] [--seed-offset N] [--workers N] [--runs-per-gpu N]
        [--executor local|ray] [--address ADDR] [--out DIR] [--fresh]
        [--quiet | --verbose]
    keras-graft train --optimizer ada_nsgda --experiment digits|ring|grid|synthetic
        [--lr LR] [--lr-d LR] [--seed S] [--steps N] [--preset P] [--backend B]
        [--out FILE]

The Keras backend is fixed when `keras` is first imported, so `--backend`
sets ``KERAS_BACKEND`` before anything imports keras; if keras was already
imported with another backend (e.g. `main` called from a Python session),
the command re-executes itself in a fresh interpreter.

This module imports nothing heavy at import time (no keras, no TensorFlow,
no tqdm), so that building the parser and ``--help`` stay instant; the
experiments are imported once the arguments have been checked.

Bad arguments (a non-positive number of seeds, steps or workers, a negative
seed or seed offset, a non-positive learning rate, an output folder that
cannot be written, a backend that is not installed) are answered by argparse's
one-line error (``keras-graft reproduce: error: argument --seeds: ...``) and
exit status 2, before any work starts.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable

BACKENDS = ("tensorflow", "jax", "torch")
#: The presets of `reproduce`, each with the phrase its ``--help`` gives.
PRESET_HELP = {
    "tiny": "seconds, a smoke test with tiny networks and few steps",
    "default": "every claim at CPU scale, about 8 minutes on 2 CPU cores",
    "long": "more seeds, a learning-rate search and longer digit runs, "
    "about 80 minutes on 2 CPU cores",
    "gpu": "what to run first on one GPU: more seeds, longer and wider digit "
    "runs, a larger synthetic grid; expected under an hour on one H100-class GPU",
    "paper": "GPU scale with digits and CIFAR-10, an expected 2-3 days on one GPU",
}
EXECUTORS = ("local", "ray")
PRESETS = tuple(PRESET_HELP)
OPTIMIZER_NAMES = ("sgda", "nsgda", "adam", "ada_nsgda", "ada_dir")
EXPERIMENTS = ("synthetic", "ring", "grid", "digits")


# --- argument types: each checks its value with `keras_graft._validation`
# (imported when an option is parsed, not by --help) and raises
# ArgumentTypeError, which argparse turns into
# "error: argument --NAME: must be ...; received --NAME=..." and exit status 2.


def _checked(check: Callable[..., Any], value: Any, name: str, **bounds: Any) -> Any:
    """`check(value, name, **bounds)`, its error re-raised for argparse."""
    try:
        return check(value, name, **bounds)
    except (TypeError, ValueError) as e:
        # argparse names the option itself: keep "must be ...; received ...".
        raise argparse.ArgumentTypeError(str(e).removeprefix(f"Argument `{name}` "))


def _option(
    name: str, convert: type, check_name: str, **bounds: Any
) -> Callable[[str], Any]:
    """An argparse type for option `name`: `convert(text)`, then a check.

    Args:
        name (str): The option, e.g. ``"--seeds"`` (for the message).
        convert (type): ``int`` or ``float``.
        check_name (str): The function of `keras_graft._validation` to use.
        **bounds (Any): Its bounds (``minimum=``, ``low=``, ...).

    Returns:
        Callable[[str], Any]: Parses and checks the option's text.
    """

    def parse(text: str) -> Any:
        from keras_graft import _validation

        try:
            value: Any = convert(text)
        except ValueError:
            value = text  # not a number: the check says what is expected
        return _checked(getattr(_validation, check_name), value, name, **bounds)

    return parse


def _int_option(name: str, minimum: int) -> Callable[[str], int]:
    """An argparse type for option `name`: an int >= `minimum`."""
    return _option(name, int, "check_int", minimum=minimum)


def _positive_float_option(name: str) -> Callable[[str], float]:
    """An argparse type for option `name`: a finite float > 0."""
    return _option(name, float, "check_float", low=0.0, low_open=True)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `keras-graft`.

    Returns:
        argparse.ArgumentParser: The parser, with the `reproduce` and `train`
        sub-commands.
    """
    parser = argparse.ArgumentParser(
        prog="keras-graft",
        description="Reproduce 'Dissecting adaptive methods in GANs' "
        "(arXiv 2210.04319) with keras_graft.",
        epilog="Run 'keras-graft COMMAND --help' for the options of a command.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    preset_help = "; ".join(f"{name}: {text}" for name, text in PRESET_HELP.items())
    backend_help = (
        "Keras backend to run on (default: $KERAS_BACKEND, else jax, "
        "else the first installed of torch, tensorflow); it must be "
        "installed"
    )

    rep = sub.add_parser(
        "reproduce",
        help="run the paper's experiments and write a report folder",
        description=(
            "Run the experiments behind each claim of the paper (the synthetic "
            "multi-mode framework, GANs on 2-D mixtures and digits; CIFAR-10 in the "
            "paper preset) and write a report folder (--out): report.md with a "
            "verdict per claim, the PNG plots and results.json with every number. "
            "The default preset takes about 8 minutes on 2 CPU cores. A progress "
            "bar with the estimated time left is shown on stderr."
        ),
    )
    rep.add_argument(
        "--preset",
        choices=PRESETS,
        default="default",
        help=f"size of the run (default: %(default)s). {preset_help}",
    )
    rep.add_argument("--backend", choices=BACKENDS, default=None, help=backend_help)
    rep.add_argument(
        "--seeds",
        type=_int_option("--seeds", minimum=1),
        default=None,
        metavar="N",
        help="number of seeds of every experiment, a positive integer "
        "(default: the preset's)",
    )
    rep.add_argument(
        "--seed-offset",
        type=_int_option("--seed-offset", minimum=0),
        default=0,
        metavar="N",
        help="shift every seed of the run by N >= 0, to draw other seeds "
        "than a previous run (default: %(default)s)",
    )
    rep.add_argument(
        "--workers",
        type=_int_option("--workers", minimum=1),
        default=None,
        metavar="N",
        help="parallel worker processes for independent runs, N >= 1 "
        "(default: the number of CPU cores)",
    )
    rep.add_argument(
        "--runs-per-gpu",
        type=_int_option("--runs-per-gpu", minimum=1),
        default=None,
        metavar="N",
        help="runs sharing each GPU, N >= 1, on a machine or Ray cluster with "
        "GPUs (default: 4, at most the cores per GPU)",
    )
    rep.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="local",
        help="where the runs go: worker processes on this machine, or Ray tasks "
        "on a local Ray instance or the cluster of --address (pip install "
        "'keras-graft[ray]') (default: %(default)s)",
    )
    rep.add_argument(
        "--address",
        default=None,
        metavar="ADDR",
        help="the Ray cluster to run on, e.g. 'auto' on a node of the cluster "
        "or 'ray://HOST:10001' (with --executor ray)",
    )
    rep.add_argument(
        "--out",
        default="keras_graft_report",
        metavar="DIR",
        help="report folder, created if needed and checked to be "
        "writable before the run starts; every finished run is kept there, so "
        "the same command resumes an interrupted run (default: %(default)s)",
    )
    rep.add_argument(
        "--fresh",
        action="store_true",
        help="delete the runs stored in --out and start over",
    )
    talk = rep.add_mutually_exclusive_group()
    talk.add_argument(
        "--quiet", action="store_true", help="no progress bar and no progress lines"
    )
    talk.add_argument(
        "--verbose",
        action="store_true",
        help="a progress line per finished run on stderr instead of the "
        "progress bar, and the workers' own output and logs (else in "
        "DIR/logs)",
    )

    tr = sub.add_parser(
        "train",
        help="one training run of one optimizer",
        description="Train one experiment with one optimizer (configuration from "
        "--preset) and print its final metrics; --out saves them as "
        "JSON.",
    )
    tr.add_argument(
        "--optimizer",
        choices=OPTIMIZER_NAMES,
        required=True,
        help="optimizer of both players",
    )
    tr.add_argument(
        "--experiment",
        choices=EXPERIMENTS,
        required=True,
        help="synthetic: the linear-generator / cubic-discriminator "
        "framework; ring, grid: 2-D Gaussian mixtures; digits: "
        "MNIST digits",
    )
    tr.add_argument(
        "--lr",
        type=_positive_float_option("--lr"),
        default=None,
        help="learning rate, a positive number (of G in the synthetic "
        "problem; default: the preset's)",
    )
    tr.add_argument(
        "--lr-d",
        type=_positive_float_option("--lr-d"),
        default=None,
        help="discriminator learning rate, a positive number "
        "(synthetic; default: --lr)",
    )
    tr.add_argument(
        "--seed",
        type=_int_option("--seed", minimum=0),
        default=0,
        help="random seed, a non-negative integer (default: %(default)s)",
    )
    tr.add_argument(
        "--steps",
        type=_int_option("--steps", minimum=1),
        default=None,
        metavar="N",
        help="training steps, a positive integer (default: the preset's)",
    )
    tr.add_argument(
        "--preset",
        choices=PRESETS,
        default="default",
        help="preset whose configuration is used (default: %(default)s)",
    )
    tr.add_argument("--backend", choices=BACKENDS, default=None, help=backend_help)
    tr.add_argument(
        "--out",
        default=None,
        metavar="FILE",
        help="write the result as JSON to this file",
    )
    return parser


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    """The parser of sub-command `name` (for its ``error``)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[name]
    raise KeyError(name)


def _installed(module: str) -> bool:
    """Whether `module` can be found, without importing it."""
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _resolve_backend(backend: str | None, error: Callable[[str], Any]) -> str:
    """The backend to run on; an argparse error if it is unknown or not installed."""
    if backend is None:
        backend = os.environ.get("KERAS_BACKEND")
        if backend is None:
            backend = next(
                (b for b in ("jax", "torch", "tensorflow") if _installed(b)), "jax"
            )
        elif backend not in BACKENDS:
            error(
                f"KERAS_BACKEND={backend!r} is not a backend keras_graft runs on; "
                f"choose --backend from {', '.join(BACKENDS)}"
            )
    if not _installed(backend):
        error(
            f"argument --backend: backend {backend!r} is not installed "
            f"(pip install 'keras-graft[{backend}]', or choose another --backend)"
        )
    return backend


def _check_out_dir(path: str, error: Callable[[str], Any]) -> None:
    """Create `path` and check that a file can be written in it."""
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        error(f"argument --out: cannot create folder {path!r}: {e.strerror or e}")
    probe = os.path.join(path, f".keras_graft_write_check_{os.getpid()}")
    try:
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as e:
        error(f"argument --out: cannot write in folder {path!r}: {e.strerror or e}")


def _check_out_file(path: str, error: Callable[[str], Any]) -> None:
    """Check that `path` can be written (its folder exists and is writable)."""
    existed = os.path.exists(path)
    if os.path.isdir(path):
        error(f"argument --out: {path!r} is a folder, not a file")
    try:
        with open(path, "a"):
            pass
        if not existed:
            os.remove(path)
    except OSError as e:
        error(f"argument --out: cannot write file {path!r}: {e.strerror or e}")


def _ensure_backend(backend: str, argv: list[str]) -> int | None:
    """Set KERAS_BACKEND; re-exec if keras is already imported with another one."""
    if "keras" in sys.modules:
        import keras

        if keras.backend.backend() != backend:
            env = dict(os.environ, KERAS_BACKEND=backend)
            cmd = [sys.executable, "-m", "keras_graft", *argv]
            return subprocess.call(cmd, env=env)
    os.environ["KERAS_BACKEND"] = backend
    return None


class _Lines:
    """A text stream for the progress lines that prints them above the bar."""

    def __init__(self, bar: "_ProgressBar") -> None:
        self.bar = bar

    def write(self, text: str) -> None:
        text = text.rstrip("\n")
        if text:
            self.bar.write(text)

    def flush(self) -> None:
        """Nothing to flush: each line is written at once."""


class _ProgressBar:
    """A tqdm bar driven by ``progress(done, total, label)`` callbacks.

    `done` is the cumulative estimated work so far and `total` the estimated
    work of the whole run (arbitrary units), so tqdm's time left is the one of
    the whole run. The bar is created at once (its total set by the first
    callback) so that it shows the elapsed time from the start.

    Args:
        desc (str): The bar's description.
        disable (bool): No bar at all (the callback still keeps count).
        file (Any): The stream of the bar (default: sys.stderr).
    """

    def __init__(self, desc: str, disable: bool = False, file: Any = None):
        from tqdm import tqdm

        self.bar = tqdm(
            total=1,
            unit="work",
            desc=desc,
            disable=disable,
            file=sys.stderr if file is None else file,
            dynamic_ncols=True,
            smoothing=0,  # time left from the average pace of the whole run
            bar_format="{desc}: {percentage:3.0f}%|{bar}| "
            "[{elapsed}<{remaining}{postfix}]",
        )
        self._total_set = False

    def __call__(self, done: float, total: float, label: str = "") -> None:
        bar = self.bar
        total = float(total)
        if total > 0 and (not self._total_set or total != bar.total):
            if not self._total_set:
                # Work stored by an earlier, interrupted run: counted as done,
                # but not in the pace that estimates the time left.
                bar.initial = min(float(done), total)
            bar.total = total
            self._total_set = True
        done = min(float(done), float(bar.total))
        if label:
            bar.set_postfix_str(str(label), refresh=False)
        if done > bar.n:
            # Set, not `update`: `update` may draw the bar too, and a log file
            # then holds each state twice. With smoothing=0 the rate (and the
            # time left) is n / elapsed either way.
            bar.n = done
        bar.refresh()  # units are coarse: show each one (and its label)

    def write(self, line: str) -> None:
        """Print a line above the bar (on stderr), the bar drawn again below it.

        Args:
            line (str): The line.
        """
        self.bar.write(line, file=sys.stderr)

    def close(self) -> None:
        """Close the bar (the last state stays on screen)."""
        self.bar.close()


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
        plan = preset.synthetic  # a SyntheticPlan: the problem, its grid, optimizers
        cfg = plan.config
        if args.steps is not None:
            cfg = replace(
                cfg,
                steps=args.steps,
                log_every=max(1, args.steps // 20)
                if args.steps % max(1, args.steps // 20) == 0
                else args.steps,
            )
        name, options = plan.optimizers.get(args.optimizer, (args.optimizer, {}))
        lr = args.lr if args.lr is not None else plan.grid[len(plan.grid) // 2]
        run = SyntheticRun(
            name,
            lr,
            args.lr_d if args.lr_d is not None else lr,
            args.seed,
            dict(options),
        )
        (res,), timing = train_synthetic(cfg, [run])
        out = res.to_dict()
        out["timing"] = timing
        print(
            f"modes recovered {res.final_modes}/{cfg.num_modes} "
            f"(over training: {res.modes_recovered}); "
            f"pace ratio first {res.pace_ratio()[0]:.3g}, "
            f"last {res.pace_ratio()[-1]:.3g}; "
            f"{timing['steps_per_s']:.0f} steps/s"
        )
        return out
    # GANBenchmark -> GANConfig
    configs = [getattr(b, "config", b) for b in preset.gans]
    cfg = next((g for g in configs if g.experiment == args.experiment), None)
    if cfg is None and args.experiment in ("ring", "grid"):
        # Both planar mixtures share one configuration; a preset may run only one.
        mixture = next(g for g in configs if g.experiment in ("ring", "grid"))
        cfg = replace(mixture, experiment=args.experiment)
    if args.steps is not None:
        cfg = replace(
            cfg, steps=args.steps, eval_every=args.steps, steps_per_execution=1
        )
    out = run_gan(cfg, args.optimizer, args.seed, args.lr)
    out.pop("samples")
    print(
        ", ".join(f"{k} {v:.4g}" for k, v in out["final"].items())
        + f" ({out['steps_per_s']:.0f} steps/s)"
    )
    return out


def _check_preset_known(preset: str, error: Callable[[str], Any]) -> None:
    """An argparse error if the installed experiments lack `preset`."""
    from keras_graft import experiments

    known = getattr(experiments, "PRESETS", None)
    if known is not None and preset not in known:
        error(
            f"argument --preset: preset {preset!r} is not defined by this "
            f"version of keras_graft.experiments (it has {', '.join(known)})"
        )


def _check_executor(args: argparse.Namespace, error: Callable[[str], Any]) -> None:
    """An argparse error for --address without Ray, or Ray not installed."""
    if args.address is not None and args.executor != "ray":
        error("argument --address: only with --executor ray")
    if args.executor == "ray" and not _installed("ray"):
        error(
            "argument --executor: ray is not installed (pip install 'keras-graft[ray]')"
        )


@contextlib.contextmanager
def _stderr_caught(enabled: bool):
    """File descriptor 2 into a temporary file for the block, if `enabled`.

    The backends' C++ libraries write their start-up lines (TensorFlow's
    "Could not find cuda drivers", written before any log level applies)
    to the process's stderr, around the progress bar. What was caught is
    written to stderr after all if the block raises.
    """
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            caught.seek(0)
            sys.stderr.write(caught.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _reproduce(args: argparse.Namespace, error: Callable[[str], Any]) -> int:
    # The terminal shows the progress bar and the result lines only: the
    # backend's start-up lines go nowhere (`--verbose` shows them; the
    # workers write theirs to DIR/logs).
    with _stderr_caught(not args.verbose):
        import keras  # noqa: F401
    _check_preset_known(args.preset, error)
    from keras_graft import experiments
    from keras_graft.experiments.store import IncompatibleFolder

    bar = _ProgressBar(f"reproduce {args.preset}", disable=args.quiet or args.verbose)
    start = time.perf_counter()
    try:
        results = experiments.reproduce(
            args.preset,
            args.out,
            seeds=args.seeds,
            seed_offset=args.seed_offset,
            log=sys.stderr if args.verbose else None,
            notices=_Lines(bar),
            progress=bar,
            workers=args.workers,
            executor=args.executor,
            address=args.address,
            runs_per_gpu=args.runs_per_gpu,
            fresh=args.fresh,
            verbose=args.verbose,
        )
    except IncompatibleFolder as e:
        error(f"argument --out: {e}")
    except KeyboardInterrupt:
        bar.close()
        print(
            f"keras-graft reproduce: stopped; the finished runs are kept in "
            f"{args.out}: the same command resumes",
            file=sys.stderr,
        )
        return 130
    finally:
        bar.close()
    print(
        f"{os.path.join(args.out, 'report.md')} written in "
        f"{time.perf_counter() - start:.1f} s"
    )
    for claim in results.get("claims", []):
        print(f"claim {claim['id']}: {claim['verdict']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `keras-graft` console script.

    Arguments are checked before any work starts (and before keras is
    imported): a bad one exits with status 2 and argparse's one-line error.

    Args:
        argv (list[str] | None): Arguments (default: ``sys.argv[1:]``).

    Returns:
        int: The exit status.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    error = _subparser(parser, args.command).error
    backend = _resolve_backend(args.backend, error)
    if args.command == "reproduce":
        _check_out_dir(args.out, error)
        _check_executor(args, error)
    elif args.out:
        _check_out_file(args.out, error)
    try:
        code = _ensure_backend(backend, argv)
        if code is not None:
            return code
        # Errors only; none for `reproduce` (its terminal shows the progress
        # bar and the results; `--verbose` the rest).
        quiet = args.command == "reproduce" and not args.verbose
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3" if quiet else "2")
        if args.command == "reproduce":
            return _reproduce(args, error)
        if args.command == "train":
            _check_preset_known(args.preset, error)
        result = _train(args)
        if args.out:
            from keras_graft._utils import jsonable

            with open(args.out, "w") as f:
                json.dump(jsonable(result), f, indent=1)
        return 0
    except KeyboardInterrupt:
        print(f"keras-graft {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

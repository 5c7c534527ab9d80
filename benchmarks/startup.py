"""Start-up time of keras_graft, as a ratio to `import keras` alone.

Each case runs in a fresh interpreter (wall time of the whole process,
interpreter start included), the cases interleaved round by round so that the
ratios hold on a noisy shared machine; the median over rounds is printed.
The interpreters run without site initialization (``python -S``), with the
checkout's folder and this environment's site-packages on ``PYTHONPATH``, so
that the keras_graft imported is the checkout's, not the installed one (an
editable install maps the name with an import hook).

    python benchmarks/startup.py                    # this checkout
    python benchmarks/startup.py --source DIR       # another checkout (e.g. a
                                                    # `git worktree` of an older
                                                    # commit), to compare
    KERAS_BACKEND=jax python benchmarks/startup.py  # the backend Keras imports

Goal (issue "Speed"): `import keras_graft` loads the optimizers and the GAN
only (about `import keras`), and `keras-graft --help` answers without
importing Keras or TensorFlow.
"""

from __future__ import annotations

import argparse
import os
import site
import statistics
import subprocess
import sys
import tempfile
import time

CASES = {
    "import keras": "import keras",
    "import keras_graft": "import keras_graft",
    "keras_graft: GAN + optimizers": (
        "import keras_graft; keras_graft.GAN; keras_graft.optimizers.AdaNSGDA"
    ),
    "keras_graft.experiments.reproduce": (
        "from keras_graft.experiments import reproduce"
    ),
    "keras-graft --help": None,  # python -m keras_graft --help
}


def _command(code: str | None) -> list[str]:
    if code is None:
        return [sys.executable, "-S", "-m", "keras_graft", "--help"]
    return [sys.executable, "-S", "-c", code]


def _seconds(command: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(
        command,
        env=env,
        cwd=tempfile.gettempdir(),  # not a checkout: `-c` puts the cwd on sys.path
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--source",
        default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        help="the checkout whose keras_graft is imported (default: this one)",
    )
    args = parser.parse_args()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    path = [os.path.abspath(args.source), *site.getsitepackages()]
    env["PYTHONPATH"] = os.pathsep.join(path)
    backend = env.get("KERAS_BACKEND", "the configured backend")
    for command in map(_command, CASES.values()):  # warm the file cache
        _seconds(command, env)
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.rounds):
        for name, code in CASES.items():
            times[name].append(_seconds(_command(code), env))
    median = {name: statistics.median(t) for name, t in times.items()}
    where = os.path.abspath(args.source)
    print(f"\nstart-up ({where}; KERAS_BACKEND={backend}; {args.rounds} rounds)")
    print(f"{'case':<36} {'median s':>9} {'vs import keras':>16}")
    for name, seconds in median.items():
        ratio = seconds / median["import keras"]
        print(f"{name:<36} {seconds:>9.2f} {ratio:>15.2f}x")


if __name__ == "__main__":
    main()

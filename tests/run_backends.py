"""Run the whole test suite once per Keras backend, each in its own process.

The Keras backend is fixed when `keras` is first imported, so one pytest process
can only test one backend. This script runs `pytest` for tensorflow, jax and torch
(each with a throw-away `KERAS_HOME` and pytest folder; JAX's suite, the
longest, in two processes: its end-to-end tests and the rest), `--jobs` of
them at a time (default: two on a machine with two or more cores; the suites
use about one core each on average), prints each one's output as it
finishes, and exits non-zero if any of them fails.

Usage:
    python tests/run_backends.py [--backends tensorflow,jax,torch] [--jobs N]
        [pytest args...]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

BACKENDS = ("tensorflow", "jax", "torch")
#: The pytest processes, longest first: a backend, or `backend:part` for a
#: part of its suite (`tests/conftest.py` reads the part from `PART_ENV`).
#: Measured on 2 cores (2026-12-07, seconds of wall time): TensorFlow 787,
#: JAX 1,005 (its end-to-end tests, tests/docs and the `reproduce` command,
#: about 400), PyTorch 526. In one JAX process, two at a time, TensorFlow then
#: PyTorch were the critical path (1,313 s) while JAX's lane idled for 300 s;
#: in two parts, TensorFlow then JAX's end-to-end part run beside JAX's other
#: part then PyTorch. Three lanes at once were slower (1,380 s: PyTorch's
#: threads spin when the cores are oversubscribed). With PyTorch's lane on
#: its share of the cores (`torch_threads`; 2026-12-07, the same machine):
#: PyTorch 434 s (648 s on two threads), the whole run 970 s (1,193 s).
LANES = ("tensorflow", "jax:unit", "torch", "jax:end-to-end")
PART_ENV = "KERAS_GRAFT_TEST_PART"
NO_TESTS = 5  # pytest's exit status when nothing was selected


def torch_threads(jobs: int, cores: int) -> int:
    """The intra-op threads of PyTorch's lane: its share of the cores.

    PyTorch's OpenMP threads spin while they wait for a core, so a lane that
    asks for every core while another lane runs beside it loses more than the
    other lane's share: the shrunk `gpu` and `paper` preset tests took 80 s
    with two threads beside a busy core and 41 s with one (60 s and 48 s on
    idle cores); in a whole two-lane run of the suite, the `paper` one took
    106 s with two threads and 20 s with one.
    """
    return max(1, cores // max(1, jobs))


def lane_env(lane: str, home: str, tmp: str, threads: int) -> dict[str, str]:
    """The environment of a lane's pytest process.

    Args:
        lane (str): ``backend`` or ``backend:part``.
        home (str): Its throw-away ``KERAS_HOME``.
        tmp (str): Its temporary folder (``TMPDIR``).
        threads (int): PyTorch's threads (``OMP_NUM_THREADS``) in its lane;
            a value the caller set wins.

    Returns:
        dict[str, str]: The environment.
    """
    backend, _, part = lane.partition(":")
    env = dict(os.environ, KERAS_BACKEND=backend, KERAS_HOME=home, TMPDIR=tmp)
    env.pop(PART_ENV, None)
    if part:
        env[PART_ENV] = part
    if backend == "torch":
        env.setdefault("OMP_NUM_THREADS", str(threads))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("MPLBACKEND", "Agg")
    return env


def lane_name(lane: str) -> str:
    """`KERAS_BACKEND=jax (unit tests)` for `jax:unit`."""
    backend, _, part = lane.partition(":")
    return f"KERAS_BACKEND={backend}" + (f" ({part} tests)" if part else "")


def ensure_browser() -> None:
    """Installs headless Chromium for the docs' browser test if it is missing.

    The test setup of the project: Debian's `chromium` and `chromium-driver`
    through apt (as root, as in CI). Elsewhere it prints what to install; the
    browser test then fails with the same advice.
    """
    if shutil.which("chromium") and shutil.which("chromedriver"):
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        print("=== installing chromium and chromium-driver (apt-get)", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
    else:
        print(
            "=== chromium/chromedriver not found: install Debian's `chromium` and "
            "`chromium-driver` (or any Chromium with a matching chromedriver on "
            "PATH) for the documentation browser test",
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--backends",
        default=",".join(BACKENDS),
        help="comma-separated backends to test (default: all three)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="backends tested at the same time (default: 2 with 2+ cores, else 1)",
    )
    args, pytest_args = parser.parse_known_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs: expected a positive integer, got {args.jobs}")
    backends = [b for b in args.backends.split(",") if b]
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown:
        parser.error(f"--backends: unknown {unknown}; expected some of {BACKENDS}")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:
        cores = os.cpu_count() or 1
    ensure_browser()
    # The lanes, longest first (LPT), so that the others run next to it; the
    # JAX suite, the longest, in two parts, its end-to-end tests last.
    order = [lane for lane in LANES if lane.split(":")[0] in backends]
    results: dict[str, tuple[int, float]] = {}
    cpu: dict[str, float] = {}
    running: list[
        tuple[str, subprocess.Popen, float, tempfile.TemporaryDirectory, object]
    ] = []

    def start(lane: str) -> None:
        backend = lane.partition(":")[0]
        home = tempfile.TemporaryDirectory(prefix=f"keras_home_{backend}_")
        # Temporary files too (tfds leaves one empty folder per builder of an
        # unprepared dataset in the temp dir): all go with the throw-away home.
        tmp = os.path.join(home.name, "tmp")
        os.mkdir(tmp)
        env = lane_env(lane, home.name, tmp, torch_threads(args.jobs, cores))
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            f"--basetemp={os.path.join(home.name, 'pytest')}",
            *pytest_args,
        ]
        print(f"=== {lane_name(lane)}: started {' '.join(cmd)}", flush=True)
        log = tempfile.TemporaryFile(mode="w+")
        proc = subprocess.Popen(
            cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        running.append((lane, proc, time.perf_counter(), home, log))

    pending = list(order)
    t0 = time.perf_counter()
    while pending or running:
        while pending and len(running) < args.jobs:
            start(pending.pop(0))
        time.sleep(0.5)
        for item in list(running):
            lane, proc, began, home, log = item
            # wait4: the exit status and the CPU time of the lane (its process
            # and the subprocesses it waited for: notebook kernels, commands).
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid == 0:
                continue
            code = os.waitstatus_to_exitcode(status)
            if code == NO_TESTS and ":" in lane:
                code = 0  # a part that the given pytest arguments leave empty
            proc.returncode = code
            running.remove(item)
            results[lane] = (code, time.perf_counter() - began)
            cpu[lane] = usage.ru_utime + usage.ru_stime
            log.seek(0)
            print(
                f"\n=== {lane_name(lane)}: finished in {results[lane][1]:.0f} s",
                flush=True,
            )
            sys.stdout.write(log.read())
            sys.stdout.flush()
            log.close()
            home.cleanup()
    print(f"\n=== summary ({os.cpu_count()} CPUs, --jobs {args.jobs})")
    for lane in order:
        code, seconds = results[lane]
        status = "passed" if code == 0 else f"FAILED (exit {code})"
        print(
            f"{lane:>19}: {status} in {seconds:.0f} s, CPU {cpu[lane]:.0f} s "
            f"({cpu[lane] / seconds:.2f} cores on average)"
        )
    print(f"wall time {time.perf_counter() - t0:.0f} s")
    return 0 if all(code == 0 for code, _ in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

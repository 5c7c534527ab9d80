"""Run the whole test suite once per Keras backend, each in its own process.

The Keras backend is fixed when `keras` is first imported, so one pytest process
can only test one backend. This script runs `pytest` for tensorflow, jax and torch
(each with a throw-away `KERAS_HOME` and pytest folder), `--jobs` of them at a
time (default: two on a machine with two or more cores; the suites use about one
core each on average), prints each one's output as it finishes, and exits
non-zero if any of them fails.

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
    ensure_browser()
    # The longest suite first, so that the others run next to it.
    order = sorted(backends, key=lambda b: ("jax", "tensorflow", "torch").index(b))
    results: dict[str, tuple[int, float]] = {}
    cpu: dict[str, float] = {}
    running: list[
        tuple[str, subprocess.Popen, float, tempfile.TemporaryDirectory, object]
    ] = []

    def start(backend: str) -> None:
        home = tempfile.TemporaryDirectory(prefix=f"keras_home_{backend}_")
        # Temporary files too (tfds leaves one empty folder per builder of an
        # unprepared dataset in the temp dir): all go with the throw-away home.
        tmp = os.path.join(home.name, "tmp")
        os.mkdir(tmp)
        env = dict(os.environ, KERAS_BACKEND=backend, KERAS_HOME=home.name, TMPDIR=tmp)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        env.setdefault("MPLBACKEND", "Agg")
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            f"--basetemp={os.path.join(home.name, 'pytest')}",
            *pytest_args,
        ]
        print(f"=== KERAS_BACKEND={backend}: started {' '.join(cmd)}", flush=True)
        log = tempfile.TemporaryFile(mode="w+")
        proc = subprocess.Popen(
            cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        running.append((backend, proc, time.perf_counter(), home, log))

    pending = list(order)
    t0 = time.perf_counter()
    while pending or running:
        while pending and len(running) < args.jobs:
            start(pending.pop(0))
        time.sleep(0.5)
        for item in list(running):
            backend, proc, began, home, log = item
            # wait4: the exit status and the CPU time of the lane (its process
            # and the subprocesses it waited for: notebook kernels, commands).
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid == 0:
                continue
            proc.returncode = os.waitstatus_to_exitcode(status)
            running.remove(item)
            results[backend] = (proc.returncode, time.perf_counter() - began)
            cpu[backend] = usage.ru_utime + usage.ru_stime
            log.seek(0)
            print(
                f"\n=== KERAS_BACKEND={backend}: finished in "
                f"{results[backend][1]:.0f} s",
                flush=True,
            )
            sys.stdout.write(log.read())
            sys.stdout.flush()
            log.close()
            home.cleanup()
    print(f"\n=== summary ({os.cpu_count()} CPUs, --jobs {args.jobs})")
    for backend in order:
        code, seconds = results[backend]
        status = "passed" if code == 0 else f"FAILED (exit {code})"
        print(
            f"{backend:>10}: {status} in {seconds:.0f} s, CPU {cpu[backend]:.0f} s "
            f"({cpu[backend] / seconds:.2f} cores on average)"
        )
    print(f"wall time {time.perf_counter() - t0:.0f} s")
    return 0 if all(code == 0 for code, _ in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

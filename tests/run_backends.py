"""Run the whole test suite once per Keras backend, each in its own process.

The Keras backend is fixed when `keras` is first imported, so one pytest process
can only test one backend. This script runs `pytest` for tensorflow, jax and torch
in turn (with a throw-away `KERAS_HOME`) and exits non-zero if any of them fails.

Usage:
    python tests/run_backends.py [--backends tensorflow,jax,torch] [pytest args...]
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
    args, pytest_args = parser.parse_known_args(argv)
    backends = [b for b in args.backends.split(",") if b]
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown:
        parser.error(f"--backends: unknown {unknown}; expected some of {BACKENDS}")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ensure_browser()
    results = {}
    for backend in backends:
        with tempfile.TemporaryDirectory(prefix=f"keras_home_{backend}_") as home:
            env = dict(os.environ, KERAS_BACKEND=backend, KERAS_HOME=home)
            env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
            env.setdefault("MPLBACKEND", "Agg")
            cmd = [sys.executable, "-m", "pytest", "-q", *pytest_args]
            print(f"\n=== KERAS_BACKEND={backend}: {' '.join(cmd)}", flush=True)
            start = time.perf_counter()
            code = subprocess.call(cmd, cwd=root, env=env)
            results[backend] = (code, time.perf_counter() - start)
    print("\n=== summary")
    for backend, (code, seconds) in results.items():
        status = "passed" if code == 0 else f"FAILED (exit {code})"
        print(f"{backend:>10}: {status} in {seconds:.0f} s")
    return 0 if all(code == 0 for code, _ in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

"""The benchmark scripts' `--tiny` modes and the GAN step's rows, end to end.

Each runs in a subprocess at its smallest setting on PyTorch (the cheapest
backend to start; `tests/test_gpu_check.py` runs the default modes through
the GPU check on every backend).
"""

import math
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUMBER = r"\d+(?:\.\d+)?"

pytestmark = pytest.mark.backend("torch")  # each test starts its own process


def _run(script: str, *args: str, backend: str = "torch") -> str:
    env = dict(os.environ, KERAS_BACKEND=backend, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", script), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def _row(output: str, name: str) -> list[float]:
    """The numbers of the table row that starts with `name`."""
    for line in output.splitlines():
        if line.startswith(name + "  "):
            return [float(x) for x in re.findall(NUMBER, line[len(name) :])]
    raise AssertionError(f"no row {name!r} in:\n{output}")


def test_optimizer_step_tiny_times_one_element_per_variable():
    out = _run(
        "optimizer_step.py", "--single", "--tiny", "--rounds", "1", "--steps", "2"
    )
    assert "parameters=0.00M (--tiny: one per variable)" in out, out
    for name in ("keras Adam", "keras SGD", "AdaNSGDA", "NSGDA", "Graft(Adam, SGD)"):
        ms = _row(out, name)[0]
        assert math.isfinite(ms) and ms > 0, (name, ms)
    # The ratios (printed to 2 decimals) are those of the medians (printed to
    # 3), within the rounding of both; the memory-traffic floors do not apply.
    for ratio_name, name, reference in (
        ("AdaNSGDA/Adam", "AdaNSGDA", "keras Adam"),
        ("NSGDA/SGD", "NSGDA", "keras SGD"),
    ):
        ratio = float(re.search(rf"{ratio_name} = ({NUMBER})", out).group(1))
        a, b = _row(out, name)[0], _row(out, reference)[0]
        low, high = (a - 5e-4) / (b + 5e-4), (a + 5e-4) / max(b - 5e-4, 1e-9)
        assert low - 0.005 <= ratio <= high + 0.005, (ratio_name, ratio, a, b)
    assert "memory-traffic floor" not in out


def test_gan_step_tiny_has_every_run_and_pairs_them_with_the_hand_loop():
    out = _run("gan_step.py", "--tiny", "--chunk", "3", "--repeats", "1")
    assert "batch=8 (--tiny)" in out, out
    rows = (
        "fit, pace on",
        "fit, pace off",
        "fit 0.1, read each call",
        "hand loop",
        "hand, read each step",
        "keras Model.fit",
    )
    for name in rows:
        steps_per_s, vs_hand = _row(out, name)[:2]
        assert steps_per_s > 0 and vs_hand > 0, (name, steps_per_s, vs_hand)
    assert _row(out, "hand loop")[1] == 1.0
    # Far fewer parameters than the default DCGAN (284,690).
    params = int(re.search(r"trainable params=(\d+)", out).group(1))
    assert 0 < params < 20_000, params


def test_ring_run_times_both_networks_and_finds_them_identical():
    out = _run("ring_run.py", "--steps", "4", "--rounds", "1")
    for name in ("DenseStack", "chain of layers"):
        seconds = _row(out, name)[0]
        assert math.isfinite(seconds) and seconds > 0, (name, seconds)
    assert "final samples identical: True" in out, out


@pytest.mark.backend("jax")
def test_scan_steps_times_both_ways_and_finds_the_ring_identical():
    out = _run("scan_steps.py", "--steps", "100", "--rounds", "1", backend="jax")
    for name in ("scan_steps", "Keras loop"):
        seconds = _row(out, name)[0]
        assert math.isfinite(seconds) and seconds > 0, (name, seconds)
    assert "numbers identical: True" in out, out

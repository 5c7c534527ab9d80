"""`benchmarks/gpu_check.py --quick` end to end, for the backend pytest runs on.

The GPU check must keep working on CPU-only CI machines (it then says so), so
that it runs as is on the day a GPU is lent.
"""

import math
import os
import re
import shutil
import subprocess
import sys

import keras
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "benchmarks", "gpu_check.py")
NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|nan|inf"
# The GAN step benchmark costs 20-50 CPU seconds even at its smallest setting
# (on JAX, XLA:CPU compiles three DCGAN steps): only the torch run (17 CPU s)
# runs it and covers its parser; the others skip it with --skip gan, and the
# report says so.
SKIP_GAN = keras.backend.backend() != "torch"


def _number(report: str, label: str) -> float:
    """The number after ``- <label>: `` in the report, as a float."""
    m = re.search(rf"^- {re.escape(label)}: ({NUMBER})\b", report, re.MULTILINE)
    assert m, f"no line '- {label}: <number>' in the report:\n{report}"
    return float(m.group(1))


@pytest.fixture(scope="module")
def quick_check(tmp_path_factory):
    """Runs the quick check once for this backend: (process, report, folder)."""
    backend = keras.backend.backend()
    out = tmp_path_factory.mktemp("gpu_check")
    env = dict(os.environ)
    env.pop("KERAS_BACKEND", None)  # the script sets it per backend
    cmd = [sys.executable, SCRIPT, "--quick", "--backends", backend, "--out", str(out)]
    proc = subprocess.run(
        cmd + (["--skip", "gan"] if SKIP_GAN else []),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report_path = out / "gpu_check_report.md"
    assert report_path.exists(), proc.stdout + proc.stderr
    return proc, report_path.read_text(), out


def test_quick_check_passes(quick_check):
    proc, report, _ = quick_check
    assert proc.returncode == 0, proc.stdout + proc.stderr + report
    assert "Overall: **PASS**" in report


def test_report_has_the_backend_and_the_machine(quick_check):
    _, report, _ = quick_check
    backend = keras.backend.backend()
    assert f"## Backend: {backend}" in report
    gan = "SKIPPED" if SKIP_GAN else "PASS"
    row = rf"^\| {backend} \| (CPU|PASS) \| PASS \| {gan} \| PASS \|$"
    assert re.search(row, report, re.MULTILINE), report
    assert re.search(r"^- CPUs: \d+", report, re.MULTILINE)
    assert "- device used: keras.Variable on `" in report


def test_device_lines_say_what_was_found(quick_check):
    _, report, _ = quick_check
    if shutil.which("nvidia-smi") is None:  # a CPU-only machine, as in CI
        assert "- device found: GPUs: none" in report
        assert "**no GPU: ran on CPU**" in report
        assert "nvidia-smi: not found" in report
        assert "- step device: **CPU** (no GPU: ran on CPU)" in report
    else:
        assert "- nvidia-smi:\n\n```" in report


def test_optimizer_ratios_are_numbers(quick_check):
    _, report, _ = quick_check
    ratios = [
        _number(report, "optimizer ratio AdaNSGDA/Adam"),
        _number(report, "optimizer ratio NSGDA/SGD"),
        _number(report, "optimizer median ms/step keras Adam"),
    ]
    assert all(math.isfinite(r) and r > 0 for r in ratios), ratios
    assert "- step optimizer benchmark: **PASS**" in report


def test_gan_ratios_are_numbers(quick_check):
    _, report, _ = quick_check
    if SKIP_GAN:
        assert "- step GAN step benchmark: **SKIPPED** (not run: --skip gan)" in report
        assert "GAN ratio" not in report
        return
    ratios = [
        _number(report, "GAN ratio fit, pace on vs hand loop"),
        _number(report, "GAN ratio fit, pace off vs hand loop"),
    ]
    assert all(math.isfinite(r) and r > 0 for r in ratios), ratios
    assert _number(report, "GAN ratio hand loop vs hand loop") == 1
    assert "- step GAN step benchmark: **PASS**" in report


def test_reproduce_step_passed(quick_check):
    _, report, out = quick_check
    backend = keras.backend.backend()
    assert "- step reproduce: **PASS**" in report
    # --quick limits it to one short `keras-graft train` run, and says so.
    assert "- reproduce limited (smoke): one short `keras-graft train`" in report
    assert re.search(r"^- reproduce output: modes recovered \d+/\d+", report, re.M)
    assert (out / "logs" / f"{backend}_train.json").exists()

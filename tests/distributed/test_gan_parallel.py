"""The GAN trains to the same weights on two devices as on one (same global batch)."""

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def _run(backend):
    env = dict(
        os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")
    )
    out = subprocess.run(
        [sys.executable, os.path.join(HERE, "gan_parallel.py"), backend],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    assert out.returncode == 0 and lines, out.stderr[-4000:]
    return json.loads(lines[-1][len("RESULT ") :])


@pytest.mark.backend("tensorflow")
def test_gan_mirrored_strategy_matches_one_device():
    result = _run("tensorflow")
    assert result["steps"] == [8, 8], result
    assert result["rel"] <= 1e-5, result
    assert result["log_rel"] <= 1e-4, result


@pytest.mark.backend("jax")
def test_gan_jax_data_parallel_matches_one_device():
    result = _run("jax")
    assert result["steps"] == [8, 8], result
    assert result["rel"] <= 1e-5, result
    assert result["log_rel"] <= 1e-4, result

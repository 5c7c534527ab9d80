"""Data and model parallel training equals single-device training.

Each check runs in a subprocess (device counts must be set before the
framework loads) and is collected in the pytest process of its backend.
"""

import json
import os
import subprocess
import sys

import pytest

from tests.distributed.common import CASES

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def _run(script):
    env = dict(
        os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")
    )
    out = subprocess.run(
        [sys.executable, os.path.join(HERE, script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    assert out.returncode == 0 and lines, out.stderr[-4000:]
    return json.loads(lines[-1][len("RESULT ") :])


@pytest.mark.backend("jax")
def test_jax_data_and_model_parallel_match_one_device():
    result = _run("jax_parallel.py")
    assert result["devices"] == 2
    assert [[r["optimizer"], r["granularity"]] for r in result["runs"]] == [
        list(c) for c in CASES
    ]
    for run in result["runs"]:
        assert run["data_parallel"] <= 1e-5, run
        assert run["model_parallel"] <= 1e-5, run
        # The kernels really were split in two across the devices.
        assert run["kernel_shards"] == 2 and "'model'" in run["kernel_sharding"], run


@pytest.mark.backend("tensorflow")
def test_tf_mirrored_strategy_matches_one_device():
    result = _run("tf_mirrored.py")
    assert result["replicas"] == 2
    assert [[r["optimizer"], r["granularity"]] for r in result["runs"]] == [
        list(c) for c in CASES
    ]
    for run in result["runs"]:
        assert run["mirrored"] <= 1e-5, run
        assert run["iterations"] == [8, 8], run
        assert run["replica_spread"] == 0.0, run

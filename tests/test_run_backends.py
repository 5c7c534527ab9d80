"""`tests/run_backends.py`: its lanes cover every backend, JAX's in two parts."""

import os
import subprocess
import sys
import types

import pytest

from tests import conftest, run_backends

pytestmark = pytest.mark.backend("jax")  # its pytest processes set their own

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGS = ["-q", "--collect-only", "-p", "no:cacheprovider"]


def _pytest(part: str, *paths: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, KERAS_BACKEND="jax", **{run_backends.PART_ENV: part})
    return subprocess.run(
        [sys.executable, "-m", "pytest", *FLAGS, *paths],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )


def test_the_lanes_cover_every_backend_and_both_parts():
    assert {lane.split(":")[0] for lane in run_backends.LANES} == set(
        run_backends.BACKENDS
    )
    parts = [lane.split(":")[1] for lane in run_backends.LANES if ":" in lane]
    assert sorted(parts) == sorted(conftest.PARTS)
    for prefix in conftest.END_TO_END:  # the paths exist
        assert os.path.exists(os.path.join(ROOT, prefix)), prefix


@pytest.mark.parametrize(
    "nodeid, end_to_end",
    [
        ("tests/docs/test_site.py::test_mkdocs_build_strict", True),
        ("tests/docs/test_notebooks.py::test_notebook_runs_at_ci_size[x]", True),
        ("tests/experiments/test_reproduce.py::test_report_structure", True),
        ("tests/experiments/test_stats.py::test_x", False),
        ("tests/test_cli.py::test_parser", False),
        ("tests/documents/test_x.py::test_y", False),
    ],
)
def test_each_test_is_in_exactly_one_part(nodeid, end_to_end):
    item = types.SimpleNamespace(nodeid=nodeid)
    assert conftest._in_part(item, "end-to-end") is end_to_end
    assert conftest._in_part(item, "unit") is not end_to_end
    assert conftest._in_part(item, None) is True


def test_a_part_selects_its_tests_in_a_real_process():
    proc = _pytest("unit", "tests/test_utils.py", "tests/docs/test_results_page.py")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    ids = [line for line in proc.stdout.splitlines() if "::" in line]
    assert ids and all(i.startswith("tests/test_utils.py::") for i in ids)
    proc = _pytest("bogus", "tests/test_utils.py")
    assert proc.returncode == 4  # pytest's usage error
    assert "KERAS_GRAFT_TEST_PART: expected one of ('unit', 'end-to-end')" in (
        proc.stdout + proc.stderr
    )


def test_pytorch_s_lane_gets_its_share_of_the_cores(monkeypatch):
    assert run_backends.torch_threads(2, 2) == 1
    assert run_backends.torch_threads(2, 16) == 8
    assert run_backends.torch_threads(1, 4) == 4
    assert run_backends.torch_threads(3, 2) == 1
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv(run_backends.PART_ENV, "unit")
    env = run_backends.lane_env("torch", "/h", "/t", 1)
    assert env["OMP_NUM_THREADS"] == "1" and env["KERAS_BACKEND"] == "torch"
    assert run_backends.PART_ENV not in env and env["KERAS_HOME"] == "/h"
    assert "OMP_NUM_THREADS" not in run_backends.lane_env("jax:unit", "/h", "/t", 1)
    assert run_backends.lane_env("jax:unit", "/h", "/t", 1)[run_backends.PART_ENV] == (
        "unit"
    )
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # the caller's value wins
    assert run_backends.lane_env("torch", "/h", "/t", 1)["OMP_NUM_THREADS"] == "3"

"""The local executor: GPU placement (GPU count faked), failures, signals.

The placement is a pure function of the GPUs, cores and options; the worker
processes are real (spawned, one per slot), on a CPU machine with the GPU
ids faked, so the tests see what each worker would see on a GPU machine.
"""

import os
import signal
import subprocess
import sys
import time

import pytest

from keras_graft.experiments import workers
from keras_graft.experiments.workers import LocalExecutor, Slot, placement
from tests.experiments.processes import children, gone_within

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_without_gpus_one_pinned_single_threaded_worker_per_core():
    slots = placement(gpus=[], cores=[0, 1])
    assert [(s.core, s.gpu) for s in slots] == [(0, None), (1, None)]
    assert all(s.env == workers.SINGLE_THREAD_ENV for s in slots)
    # More workers than cores: pinned in turn.
    assert [s.core for s in placement(workers=3, gpus=[], cores=[4, 5])] == [4, 5, 4]


def test_gpus_are_dealt_to_workers_in_turn_each_seeing_one():
    slots = placement(gpus=["0", "1"], runs_per_gpu=3, cores=list(range(16)))
    assert [s.gpu for s in slots] == ["0", "1"] * 3
    for s in slots:
        assert s.core is None
        assert s.env["CUDA_VISIBLE_DEVICES"] == s.gpu
        assert s.env["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
        assert s.env["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"
        assert s.env["OMP_NUM_THREADS"] == "1"
    # The default: RUNS_PER_GPU per GPU, at most the cores per GPU.
    assert len(placement(gpus=["0"], cores=list(range(16)))) == workers.RUNS_PER_GPU
    assert len(placement(gpus=["0", "1"], cores=[0, 1, 2])) == 2
    # An explicit number of workers wins, still dealt over the GPUs.
    assert [s.gpu for s in placement(workers=3, gpus=["2", "5"])] == ["2", "5", "2"]


def test_visible_gpus_follow_cuda_visible_devices(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3, 1")
    assert workers.visible_gpus() == ["3", "1"]
    assert [s.gpu for s in placement(runs_per_gpu=1)] == ["3", "1"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert workers.visible_gpus() == []
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    assert workers.visible_gpus() == []


def test_placement_rejects_bad_numbers():
    with pytest.raises(ValueError, match="`runs_per_gpu` must be None or an int >= 1"):
        placement(gpus=["0"], runs_per_gpu=0)
    with pytest.raises(ValueError, match="`workers` must be None or an int >= 1"):
        placement(workers=0)


# --- real worker processes (spawned; each imports the backend): one backend.


def _environment(names):
    return {k: os.environ.get(k) for k in names}, os.getpid()


def _fail(message):
    raise RuntimeError(message)


def _die():
    os._exit(7)


@pytest.mark.backend("torch")
def test_each_worker_sees_its_own_faked_gpu_and_the_gpu_settings(tmp_path):
    import keras

    slots = placement(gpus=["0", "1"], runs_per_gpu=2, cores=[0, 1])
    names = ("CUDA_VISIBLE_DEVICES", "XLA_PYTHON_CLIENT_PREALLOCATE")
    names += ("TF_FORCE_GPU_ALLOW_GROWTH", "KERAS_BACKEND", "TF_CPP_MIN_LOG_LEVEL")
    seen = {}
    with LocalExecutor(slots, keras.backend.backend(), log_dir=str(tmp_path)) as ex:
        for i in range(4):
            ex.submit(i, _environment, (names,))
        for _ in range(4):
            key, ok, (env, pid) = ex.next_result()
            assert ok
            seen[pid] = env
    # Four workers, two per faked GPU, each with the settings of a shared GPU.
    assert sorted(e["CUDA_VISIBLE_DEVICES"] for e in seen.values()) == [
        "0",
        "0",
        "1",
        "1",
    ]
    for env in seen.values():
        assert env["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
        assert env["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"
        assert env["KERAS_BACKEND"] == keras.backend.backend()
        assert env["TF_CPP_MIN_LOG_LEVEL"] == "3"  # quiet: logs go to log_dir
    assert "CUDA_VISIBLE_DEVICES" not in os.environ or os.environ[
        "CUDA_VISIBLE_DEVICES"
    ] not in ("0", "1")  # the parent's environment is left as it was
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"worker-{i}.log" for i in range(4)
    ]


@pytest.mark.backend("torch")
def test_a_failed_call_or_a_dead_worker_costs_only_its_own_call():
    import keras

    slots = [Slot(i, env=dict(workers.SINGLE_THREAD_ENV)) for i in range(2)]
    with LocalExecutor(slots, keras.backend.backend()) as ex:
        ex.submit("raises", _fail, ("boom",))
        ex.submit("dies", _die, ())
        ex.submit("fine", _environment, (("KERAS_BACKEND",),))
        outcomes = {}
        for _ in range(3):
            key, ok, value = ex.next_result()
            outcomes[key] = (ok, value)
        assert outcomes["raises"][0] is False
        assert "RuntimeError: boom" in outcomes["raises"][1]
        assert outcomes["dies"] == (False, "the worker process died (exit code 7)")
        assert outcomes["fine"][0] is True
        # The dead worker's slot took a new worker: calls still run.
        ex.submit("again", _environment, (("KERAS_BACKEND",),))
        ex.submit("again2", _environment, (("KERAS_BACKEND",),))
        assert {ex.next_result()[1], ex.next_result()[1]} == {True}
        assert not ex.busy


# --- the command stops when told: no process of the run outlives it.


def _start(tmp_path):
    command = [sys.executable, "-m", "keras_graft", "reproduce", "--preset", "tiny"]
    command += ["--backend", "torch", "--workers", "2", "--out", str(tmp_path)]
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("KERAS_BACKEND", None)
    proc = subprocess.Popen(
        command,
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives it
    )
    deadline = time.monotonic() + 120
    found = []
    while time.monotonic() < deadline and proc.poll() is None:
        found = _workers_of(proc.pid)
        if len(found) >= 2:
            break
        time.sleep(0.2)
    assert len(found) >= 2, proc.communicate()[1][-2000:]
    time.sleep(3.0)  # the workers are busy importing or training
    return proc, children(proc.pid)


def _workers_of(pid):
    out = []
    for child in children(pid):
        try:
            with open(f"/proc/{child}/cmdline", "rb") as f:
                if b"spawn_main" in f.read():
                    out.append(child)
        except OSError:
            pass
    return out


@pytest.mark.backend("torch")
@pytest.mark.parametrize(
    "how",
    ["SIGINT to the group", "SIGTERM to the parent", "SIGKILL of the parent"],
)
def test_no_worker_outlives_the_command(tmp_path, how):
    proc, pids = _start(tmp_path)
    if how == "SIGINT to the group":
        os.killpg(proc.pid, signal.SIGINT)
    elif how == "SIGTERM to the parent":
        proc.send_signal(signal.SIGTERM)
    else:
        proc.kill()
    try:
        _, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert gone_within([proc.pid, *pids], 10), how
    if how != "SIGKILL of the parent":
        assert proc.returncode == 130
        assert "stopped; the finished runs are kept in" in err
        assert "leaked semaphore" not in err and "Traceback" not in err

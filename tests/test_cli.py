"""The `keras-graft` command line."""

import json
import os
import subprocess
import sys

import keras
import pytest

from keras_graft import cli


def test_parser():
    args = cli.build_parser().parse_args(
        ["reproduce", "--preset", "tiny", "--backend", "torch", "--seeds", "2"])
    assert (args.preset, args.backend, args.seeds) == ("tiny", "torch", 2)
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["reproduce", "--preset", "huge"])
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["train", "--experiment", "ring"])


def test_train_synthetic_in_process(tmp_path, capsys):
    out = tmp_path / "run.json"
    code = cli.main(["train", "--optimizer", "nsgda", "--experiment", "synthetic",
                     "--preset", "tiny", "--lr", "0.1", "--steps", "200",
                     "--backend", keras.backend.backend(), "--out", str(out)])
    assert code == 0
    result = json.loads(out.read_text())
    assert result["run"]["optimizer"] == "nsgda" and result["run"]["lr_d"] == 0.1
    assert result["final_modes"] == 2
    assert "modes recovered 2/2" in capsys.readouterr().out


def test_train_ring_in_process(tmp_path):
    out = tmp_path / "run.json"
    code = cli.main(["train", "--optimizer", "ada_nsgda", "--experiment", "ring",
                     "--preset", "tiny", "--steps", "2", "--out", str(out),
                     "--backend", keras.backend.backend()])
    assert code == 0
    result = json.loads(out.read_text())
    assert result["optimizer"] == "ada_nsgda" and result["eval_steps"] == [2]
    assert "modes_covered" in result["final"]


@pytest.mark.backend("jax")  # one console-script run per suite; in-process runs cover each backend
def test_python_m_reproduce_tiny(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    env.pop("KERAS_BACKEND", None)
    proc = subprocess.run(
        [sys.executable, "-m", "keras_graft", "reproduce", "--preset", "tiny",
         "--backend", keras.backend.backend(), "--out", str(tmp_path / "rep"), "--quiet"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    saved = json.loads((tmp_path / "rep" / "results.json").read_text())
    assert saved["meta"]["backend"] == keras.backend.backend()
    for claim in saved["claims"]:
        assert f"claim {claim['id']}: {claim['verdict']}" in proc.stdout

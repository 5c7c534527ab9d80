"""The tiny preset of `reproduce`, end to end, through the command.

`python -m keras_graft reproduce --preset tiny` runs once per suite (on
PyTorch, with two worker processes, started from the JAX suite); the tests
below read its report. The `reproduce` function itself runs in this process
in tests/experiments/test_paper_preset.py, and the parts of the pipeline on
every backend in tests/gan and tests/experiments/test_synthetic.
"""

import json
import os
import re
import subprocess
import sys

import pytest

from keras_graft.experiments import analysis, claims, report, reproduce
from keras_graft.experiments.presets import get_preset
from tests.experiments.processes import children, gone_within

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The command runs on PyTorch (the tiny preset's cheapest backend) in its own
# processes; the tests are collected in the JAX suite, in its end-to-end part
# (tests/conftest.py), which tests/run_backends.py runs beside the others.
COMMAND_BACKEND = "torch"
pytestmark = pytest.mark.backend("jax")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The command's process and its report folder."""
    out = tmp_path_factory.mktemp("report")
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("KERAS_BACKEND", None)  # --backend chooses it
    command = [sys.executable, "-m", "keras_graft", "reproduce", "--preset", "tiny"]
    command += ["--backend", COMMAND_BACKEND, "--seed-offset", "3"]
    command += ["--workers", "2", "--out", str(out)]
    proc = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc, out


@pytest.fixture(scope="module")
def tiny_report(tiny_run):
    _, out = tiny_run
    return out, json.loads((out / "results.json").read_text())


def test_the_command_shows_progress_and_prints_the_verdicts(tiny_run):
    proc, out = tiny_run
    assert "100%" in proc.stderr  # the progress bar reached the end of the run
    saved = json.loads((out / "results.json").read_text())
    for claim in saved["claims"]:
        assert f"claim {claim['id']}: {claim['verdict']}" in proc.stdout


def _numbers(value, found):
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        found.add(report.fmt(value))
    elif isinstance(value, str):
        # Rules and summaries are stored as text: their numbers count as saved.
        found.update(re.findall(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e[+-]?\d+)?", value))
    elif isinstance(value, dict):
        for v in value.values():
            _numbers(v, found)
    elif isinstance(value, list):
        for v in value:
            _numbers(v, found)


def test_report_structure(tiny_report):
    out, results = tiny_report
    text = (out / "report.md").read_text()
    saved = json.loads((out / "results.json").read_text())
    meta = saved["meta"]
    assert meta["backend"] == COMMAND_BACKEND and meta["preset"] == "tiny"
    assert meta["seed_offset"] == 3 and meta["keras_graft_version"]
    assert "git_commit" in meta
    assert [c["id"] for c in saved["claims"]] == [1, 2, 3, 4]
    assert text.index("## Summary") < text.index("## Claim 1")
    for c in saved["claims"]:
        assert c["verdict"] in claims.VERDICTS
        assert f"## Claim {c['id']}:" in text and c["rule"] in text
        assert f"Verdict: **{c['verdict']}**" in text
        assert c["rows"], f"claim {c['id']} has an empty table"
    assert set(saved["gans"]) == {"ring", "digits"}
    # Every seed is shifted by the offset; the search ran on selection seeds only.
    ring = saved["gans"]["ring"]
    fresh = {r["seed"] for r in ring["runs"] if r["phase"] == "fresh"}
    sel = {r["seed"] for r in ring["runs"] if r["phase"] == "selection"}
    assert fresh == {3, 4} and sel == {1003}
    assert set(saved["synthetic"]["runs"]["seed"]) == {3, 4}
    plan = get_preset("tiny").synthetic
    assert len(saved["synthetic"]["runs"]["seed"]) == (
        len(plan.losses) * len(plan.optimizers) * len(plan.grid) ** 2 * plan.seeds
    )
    for name in (
        "synthetic_grid.png",
        "synthetic_outcomes.png",
        "pace_mechanism.png",
        "phase_diagram.png",
        "gan_metrics.png",
        "samples_digits.png",
    ):
        path = out / name
        assert path.read_bytes()[:8] == PNG_MAGIC, name
        assert f"]({name})" in text
        assert os.path.getsize(path) > 1000


def test_every_number_in_report_comes_from_json(tiny_report):
    out, _ = tiny_report
    text = (out / "report.md").read_text()
    saved = json.loads((out / "results.json").read_text())
    allowed = set()
    _numbers(saved, allowed)
    body = re.sub(r"Claim \d+|## Claim \d+|\d+\. ", "", text)
    tokens = re.findall(r"(?<![\w.`])-?\d+(?:\.\d+)?(?:e[+-]?\d+)?(?![\w`])", body)
    assert len(tokens) > 50
    missing = sorted({t for t in tokens if t not in allowed})
    assert not missing, f"numbers in report.md not in results.json: {missing}"


def test_verdicts_follow_the_rules_from_the_saved_summaries(tiny_report):
    out, _ = tiny_report
    saved = json.loads((out / "results.json").read_text())
    again = claims.evaluate_claims(
        saved["synthetic"],
        {k: v["summary"] for k, v in saved["gans"].items()},
        get_preset("tiny"),
    )
    assert [c["verdict"] for c in again] == [c["verdict"] for c in saved["claims"]]
    # The grid summaries count exactly the saved runs.
    runs = saved["synthetic"]["runs"]
    for loss, per in saved["synthetic"]["grid"].items():
        for label, g in per.items():
            mine = [
                o
                for o, l_, lo in zip(runs["outcome"], runs["label"], runs["loss"])
                if l_ == label and lo == loss
            ]
            assert g["runs"] == len(mine)
            assert g["outcomes"]["recovered"] == mine.count("recovered")


def test_gan_scores_and_selection_from_runs(tiny_report):
    out, _ = tiny_report
    saved = json.loads((out / "results.json").read_text())
    ring = saved["gans"]["ring"]
    for opt, per_lr in ring["summary"]["selection"].items():
        # Ties (the tiny runs often saturate the score) go to the smaller rate.
        best = min(
            sorted(per_lr, key=float),
            key=lambda lr: per_lr[lr] if per_lr[lr] is not None else 1e9,
        )
        assert ring["summary"]["optimizers"][opt]["lr"] == pytest.approx(float(best))
    digits = saved["gans"]["digits"]
    for opt, entry in digits["summary"]["optimizers"].items():
        runs = sorted(
            (r for r in digits["runs"] if r["optimizer"] == opt),
            key=lambda r: r["seed"],
        )
        expect = [analysis.run_score(r, "digits", 1) for r in runs]
        assert entry["scores"] == pytest.approx(expect, nan_ok=True)


def test_runs_are_saved_in_a_fixed_order_whatever_the_workers_finish_first(
    tiny_report,
):
    # Two workers finish jobs in any order; the report sorts the runs.
    out, _ = tiny_report
    saved = json.loads((out / "results.json").read_text())
    for exp, entry in saved["gans"].items():
        order = list(entry["config"]["optimizers"])
        keys = [
            (order.index(r["optimizer"]), r["phase"] != "selection")
            + (r["learning_rate"], r["seed"])
            for r in entry["runs"]
        ]
        assert keys == sorted(keys) and len(set(keys)) == len(keys), exp
    runs = saved["synthetic"]["runs"]
    columns = ("loss", "label", "lr_g", "lr_d", "seed")
    keys = list(zip(*(runs[c] for c in columns)))
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


def test_bad_arguments_leave_nothing_behind(tmp_path):
    for kwargs, msg in (
        ({"seed_offset": -1}, "`seed_offset` must be an int >= 0; received"),
        ({"workers": 0}, "`workers` must be None or an int >= 1; received workers=0"),
        ({"seeds": 0}, "`seeds` must be None or an int >= 1; received seeds=0"),
    ):
        with pytest.raises(ValueError, match=msg):
            reproduce("tiny", tmp_path / "r", log=None, **kwargs)
    with pytest.raises(TypeError, match="`seed_offset` must be an int >= 0"):
        reproduce("tiny", tmp_path / "r", log=None, seed_offset=1.5)
    with pytest.raises(ValueError, match="`preset` must be one of .* preset='huge'"):
        reproduce("huge", tmp_path / "r", log=None)
    assert not (tmp_path / "r").exists()


# ------------------------------------------------ resume, Ray: the same report

#: Timings: the only numbers a resumed or Ray run may change.
TIMINGS = ("seconds", "steps_per_s")


def _without_timings(value):
    if isinstance(value, dict):
        return {
            k: _without_timings(v)
            for k, v in value.items()
            if k not in TIMINGS and k not in ("executor", "workers")
        }
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def _command(out, *extra):
    command = [sys.executable, "-m", "keras_graft", "reproduce", "--preset", "tiny"]
    command += ["--backend", COMMAND_BACKEND, "--seed-offset", "3"]
    return command + ["--workers", "2", "--out", str(out), *extra]


def _env():
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("KERAS_BACKEND", None)
    return env


def test_a_run_killed_half_way_resumes_to_the_same_report(tiny_run, tmp_path):
    """SIGKILL mid-run, the same command again: the uninterrupted run's report.

    The runs stored before the kill are not trained again (their files are
    not rewritten) but one whose file was cut short; the workers die with the
    parent.
    """
    import time

    _, reference = tiny_run
    out = tmp_path / "killed"
    start = time.perf_counter()
    proc = subprocess.Popen(
        _command(out),
        env=_env(),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    runs = out / "runs"

    def stored():  # finished runs: `<key>.json`, not a write under way
        paths = runs.glob("*.json") if runs.exists() else []
        return {p.name: p.stat().st_mtime_ns for p in paths if p.name.count(".") == 1}

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if len(stored()) >= 4:
            break
        time.sleep(0.2)
    workers = children(proc.pid)
    proc.kill()
    proc.wait()
    before = stored()
    assert 4 <= len(before), proc.stderr.read()[-2000:]
    assert not (out / "results.json").exists(), "the run finished before the kill"
    assert gone_within(workers, 10), "a worker outlived its killed parent"

    # A run file that lost its end (as a disk can after a crash of the
    # machine) is trained again.
    damaged = sorted(before)[0]
    text = (runs / damaged).read_text()
    (runs / damaged).write_text(text[: len(text) // 2])
    del before[damaged]

    rerun_start = time.perf_counter()
    again = subprocess.run(
        _command(out), env=_env(), cwd=ROOT, capture_output=True, text=True
    )
    rerun = time.perf_counter() - rerun_start
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"resuming: {len(before)} run(s) already stored" in again.stderr
    after = stored()
    assert not [p for p in runs.iterdir() if ".tmp" in p.name]
    assert {k: after[k] for k in before} == before  # not trained again
    assert damaged in after and len(after) > len(before) + 1
    assert "1 unreadable run file(s)" in again.stderr
    saved = json.loads((out / "results.json").read_text())
    expected = json.loads((reference / "results.json").read_text())
    assert _without_timings(saved) == _without_timings(expected)
    print(
        f"killed after {len(before) + 1} of {len(after)} runs (one then cut "
        f"short); the rerun took "
        f"{rerun:.1f} s, the killed run {rerun_start - start:.1f} s before it"
    )


def test_another_preset_s_folder_is_refused_in_one_line(tiny_run):
    _, reference = tiny_run
    command = _command(reference)
    command[command.index("3")] = "4"  # another seed offset
    proc = subprocess.run(
        command, env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    (line,) = [x for x in proc.stderr.splitlines() if "error:" in x]
    assert "argument --out:" in line and "seed_offset is 3 there, 4 here" in line
    assert "--fresh" in line


def test_the_tiny_preset_through_ray_equals_the_local_executor(tiny_run, tmp_path):
    _, reference = tiny_run
    out = tmp_path / "ray"
    proc = subprocess.run(
        _command(out, "--executor", "ray"),
        env=_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    saved = json.loads((out / "results.json").read_text())
    assert saved["meta"]["executor"].startswith("Ray: 2 CPU(s), 0 GPU(s), 1 node(s)")
    expected = json.loads((reference / "results.json").read_text())
    assert _without_timings(saved) == _without_timings(expected)

"""The tiny preset of `reproduce`, end to end, in-process on the current backend."""

import json
import os
import re

import keras
import pytest

from keras_graft.experiments import analysis, claims, report, reproduce
from keras_graft.experiments.presets import get_preset

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# The whole pipeline in-process on PyTorch; on JAX `tests/test_cli.py` runs the
# same preset end to end through the command (with worker processes), and on
# TensorFlow its parts run in tests/gan and tests/experiments/test_synthetic
# (a tiny run takes 110 s of that suite's time).
pytestmark = pytest.mark.backend("torch")


@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    results = reproduce("tiny", out, log=None, workers=1, seed_offset=3)
    return out, results


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
    assert meta["backend"] == keras.backend.backend() and meta["preset"] == "tiny"
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
        best = min(per_lr, key=lambda lr: per_lr[lr] if per_lr[lr] is not None else 1e9)
        assert ring["summary"]["optimizers"][opt]["lr"] == pytest.approx(float(best))
    digits = saved["gans"]["digits"]
    for opt, entry in digits["summary"]["optimizers"].items():
        runs = sorted(
            (r for r in digits["runs"] if r["optimizer"] == opt),
            key=lambda r: r["seed"],
        )
        expect = [analysis.run_score(r, "digits", 1) for r in runs]
        assert entry["scores"] == pytest.approx(expect, nan_ok=True)


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

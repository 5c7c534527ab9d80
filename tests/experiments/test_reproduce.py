"""The tiny preset of `reproduce`, end to end, in-process on the current backend."""

import json
import os
import re

import keras
import pytest

from keras_graft.experiments import report, reproduce

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    results = reproduce("tiny", out, log=None)
    return out, results


def _numbers(value, found):
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        found.add(report.fmt(value))
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
    assert saved["meta"]["backend"] == keras.backend.backend()
    assert saved["meta"]["preset"] == "tiny"
    assert [c["id"] for c in saved["claims"]] == [1, 2, 3, 4]
    for c in saved["claims"]:
        assert c["verdict"] in report.VERDICTS
        assert f"## Claim {c['id']}:" in text
        assert f"Verdict: **{c['verdict']}**" in text
        assert c["rows"], f"claim {c['id']} has an empty table"
    # The GAN benchmarks and the synthetic grids all ran.
    assert set(saved["gans"]) == {"ring", "grid", "digits"}
    tags = {r["run"]["tag"] for r in saved["synthetic"]["runs"]}
    assert tags == {"grid", "sweep"}
    assert len(saved["synthetic"]["runs"]) == 2 * (2 * 2 + 3)  # seeds x (grid + sweeps)
    for name in ("modes_recovered.png", "sgda_grid.png", "pace.png", "gan_metrics.png",
                 "gan_pace.png", "samples_digits.png", "samples_ring.png"):
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
    body = re.sub(r"Claim \d+", "Claim", text)
    tokens = re.findall(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e[+-]?\d+)?", body)
    assert len(tokens) > 50
    missing = sorted({t for t in tokens if t not in allowed})
    assert not missing, f"numbers in report.md not in results.json: {missing}"


def test_verdicts_follow_the_rules_from_the_saved_numbers(tiny_report):
    out, _ = tiny_report
    saved = json.loads((out / "results.json").read_text())
    again = report.claim_verdicts(
        saved["synthetic"]["summary"], {k: v["summary"] for k, v in saved["gans"].items()}
    )
    assert [c["verdict"] for c in again] == [c["verdict"] for c in saved["claims"]]
    c3 = saved["claims"][2]["stats"]
    configs = saved["synthetic"]["summary"]["configs"]
    assert c3["best_sgda_success"] == max(
        c["success_fraction"] for c in configs if c["optimizer"] == "sgda")
    for r in saved["synthetic"]["runs"]:
        assert r["success"] == (r["final_modes"] == saved["synthetic"]["config"]["num_modes"])

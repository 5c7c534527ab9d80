"""A run that fails does not sink the reproduction; a folder's report rebuilt.

`reproduce` runs in this process (``workers=1``), with one GAN run made to
fail: it is tried twice, recorded as failed, the report and the verdicts that
depend on it say so, and the same call again retries it.
"""

import json
from dataclasses import replace

import pytest

from keras_graft.experiments import report_from_folder, reproduce, runs
from keras_graft.experiments.presets import get_preset
from keras_graft.experiments.store import IncompatibleFolder

pytestmark = [pytest.mark.backend("torch"), pytest.mark.slow]


def _preset():
    tiny = get_preset("tiny")
    plan = replace(
        tiny.synthetic,
        optimizers={k: tiny.synthetic.optimizers[k] for k in ("sgda", "nsgda")},
        losses=("non_saturating",),
        phase_init_stds=(),
        phase_dims=(),
    )
    ring = replace(tiny.gans[0], search=(1.0,), selection_seeds=0)
    return replace(tiny, name="tiny-failing", synthetic=plan, gans=(ring,))


def test_a_failing_run_is_retried_once_then_reported_then_retried(
    tmp_path, monkeypatch
):
    real = runs._gan_job
    calls = []

    def flaky(config, optimizer, seed, lr, keep):
        calls.append((optimizer, seed))
        if optimizer == "nsgda" and seed == 1 and fail[0]:
            raise FloatingPointError("out of memory (made up)")
        return real(config, optimizer, seed, lr, keep)

    fail = [True]
    monkeypatch.setattr(runs, "_gan_job", flaky)
    preset = _preset()
    out = tmp_path / "report"
    results = reproduce(preset, out, workers=1, log=None, notices=None)
    assert calls.count(("nsgda", 1)) == 2  # tried, then tried once more
    (failed,) = results["failed_runs"]
    assert failed["label"] == "ring nsgda lr 0.006 fresh seed 1"
    assert failed["error"] == "FloatingPointError: out of memory (made up)"
    by_id = {c["id"]: c for c in results["claims"]}
    assert by_id[2]["failed_runs"] == [failed["label"]]
    assert "lacks 1 run(s) that failed" in by_id[2]["summary"]
    assert by_id[1]["failed_runs"] == [] and by_id[3]["failed_runs"] == []
    text = (out / "report.md").read_text()
    assert "## Failed runs (1)" in text and failed["label"] in text
    assert "FloatingPointError" in (out / "logs" / "errors.log").read_text()
    summary = results["gans"]["ring"]["summary"]
    assert summary["optimizers"]["nsgda"]["seeds"] == [0]

    # The same call again retries the failed run only.
    fail[0] = False
    calls.clear()
    again = reproduce(preset, out, workers=1, log=None, notices=None)
    assert calls == [("nsgda", 1)]
    assert again["failed_runs"] == []
    assert again["gans"]["ring"]["summary"]["optimizers"]["nsgda"]["seeds"] == [0, 1]
    assert "## Failed runs" not in (out / "report.md").read_text()

    # The report again from the folder alone: nothing trained, the same numbers.
    calls.clear()
    rebuilt = report_from_folder(out, preset)
    assert calls == []
    # It names the commit it was rebuilt at (the runs' own is kept).
    assert rebuilt["meta"].pop("report_git_commit") == again["meta"]["git_commit"]
    for r in (again, rebuilt):
        r["meta"].pop("seconds")
    assert json.loads(json.dumps(rebuilt)) == json.loads(json.dumps(again))

    # Another configuration in that folder is refused, naming the difference;
    # fresh=True starts over.
    other = replace(preset, gans=(replace(preset.gans[0], seeds=3),))
    with pytest.raises(IncompatibleFolder, match=r"gans\[0\]\.seeds is 2 there, 3"):
        reproduce(other, out, workers=1, log=None, notices=None)
    calls.clear()
    reproduce(other, out, workers=1, log=None, notices=None, fresh=True)
    assert len(calls) == 3 * len(preset.gans[0].config.optimizers)


def test_a_comparison_pairs_the_seeds_both_optimizers_have():
    from keras_graft.experiments import analysis

    bench = get_preset("tiny").gans[0]

    def run(opt, seed, quality):
        e = {"balanced_quality": quality, "modes_covered": 8.0}
        return {
            "optimizer": opt,
            "seed": seed,
            "learning_rate": 0.01,
            "phase": "fresh",
            "evals": [e],
            "final": e,
            "diverged": False,
            "eval_steps": [4],
        }

    runs_ = [run("adam", s, q) for s, q in ((0, 0.9), (1, 0.8), (2, 0.7))]
    runs_ += [run("nsgda", s, q) for s, q in ((0, 0.6), (2, 0.35))]  # seed 1 failed
    summary = analysis.summarize_gan(runs_, bench, 1.25)
    c = summary["comparisons"]["nsgda"]
    assert c["n"] == 2
    # Adam's quality over nSGDA's on seeds 0 and 2: 1.5 and 2, geometric mean.
    assert c["ratio"] == pytest.approx((1.5 * 2.0) ** 0.5)

"""The GPU presets (`gpu`, `paper`) end to end at a tiny scale (tfds mock data
for CIFAR-10)."""

import json
from dataclasses import replace

import pytest

from keras_graft.experiments import analysis, claims, reproduce
from keras_graft.experiments.presets import fresh_seeds, get_preset, shrink


@pytest.mark.parametrize("name", ["gpu", "paper"])
def test_shrink_keeps_the_gpu_presets_structure(name):
    paper = get_preset(name)
    preset = shrink(paper)
    # The tiny version keeps every benchmark, optimizer, search and loss of `paper`.
    assert [b.config.experiment for b in preset.gans] == ["ring", "digits", "cifar10"]
    for small, big in zip(preset.gans, paper.gans):
        assert (
            small.search == big.search
            and small.extend == big.extend
            and small.config.optimizers == big.config.optimizers
        )
        assert small.config.loss == big.config.loss
        assert small.config.gradient_penalty == big.config.gradient_penalty
        assert small.config.steps < big.config.steps
    assert preset.synthetic.optimizers == paper.synthetic.optimizers
    assert preset.synthetic.losses == paper.synthetic.losses


@pytest.mark.slow
@pytest.mark.backend("torch")  # eager steps: PyTorch's are the cheapest
@pytest.mark.parametrize("name", ["gpu", "paper"])
def test_gpu_presets_run_end_to_end_shrunk(name, tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    from keras_graft.datasets import images

    # tfds's mock data stands in for CIFAR-10: say the download host is
    # reachable so that the loader goes on to tfds (which the mock intercepts).
    monkeypatch.setattr(images, "_download_reachable", lambda name: True)

    preset = shrink(get_preset(name))
    # Two optimizers per benchmark keep the test short (eager ResNet steps
    # with a gradient penalty cost about a second each); the structure test
    # above checks that the shrunk preset keeps all of them.
    # CIFAR-10 keeps its search to the three base multipliers (no extension).
    keep = ("adam", "nsgda")
    preset = replace(
        preset,
        gans=tuple(
            replace(
                b,
                config=replace(b.config, optimizers=keep),
                extend=0 if b.config.experiment == "cifar10" else b.extend,
            )
            for b in preset.gans
        ),
    )
    with tfds.testing.mock_data(num_examples=64):
        results = reproduce(preset, tmp_path / "report", log=None, workers=1)
    saved = json.loads((tmp_path / "report" / "results.json").read_text())
    assert set(saved["gans"]) == {"ring", "digits", "cifar10"}
    cifar = saved["gans"]["cifar10"]
    bench = preset.gans[2]
    assert (
        cifar["config"]["gradient_penalty"] == "wgan_gp"
        and cifar["config"]["d_steps"] == bench.config.d_steps
    )
    # Every optimizer: its search on the selection seeds (none in `gpu`,
    # which runs the base rates), then the fresh seeds.
    selection = len(bench.search) * bench.selection_seeds
    for opt in keep:
        runs = [r for r in cifar["runs"] if r["optimizer"] == opt]
        assert sorted(r["phase"] for r in runs) == (
            ["fresh"] * fresh_seeds(bench, opt) + ["selection"] * selection
        )
        assert all("fid" in e for r in runs for e in r["evals"])
    for bench in preset.gans[:2]:
        _check_search(saved["gans"][bench.config.experiment]["runs"], bench, keep)
    assert [c["verdict"] in claims.VERDICTS for c in results["claims"]] == [True] * 4
    assert (tmp_path / "report" / "report.md").read_text().count("## Claim") == 4


def _check_search(runs, bench, optimizers):
    """Each optimizer's search: its base rates, then each edge rate in turn, then fresh.

    Replays the rule on the saved selection runs: every added rate is the one
    `analysis.edge_learning_rate` names for the rates before it, the search
    stops at `extend` additions or once the best rate is inside, and the fresh
    seeds run the best rate.
    """
    exp = bench.config.experiment
    for opt in optimizers:
        sel = [r for r in runs if r["optimizer"] == opt and r["phase"] == "selection"]
        tried = sorted({r["learning_rate"] for r in sel})
        base = bench.config.learning_rates[opt]
        known = {base * m for m in bench.search}
        assert len(tried) >= len(known) and all(
            any(abs(t - k) <= 1e-12 * k for t in tried) for k in known
        )
        while True:
            have = [
                r
                for r in sel
                if any(abs(r["learning_rate"] - k) <= 1e-12 * k for k in known)
            ]
            edge = analysis.edge_learning_rate(have, exp, bench.score_evals)
            if edge is None or len(known) - len(bench.search) == bench.extend:
                break
            assert any(abs(t - edge) <= 1e-9 * edge for t in tried), (opt, edge, tried)
            known.add(next(t for t in tried if abs(t - edge) <= 1e-9 * edge))
        assert len(known) == len(tried), (opt, tried)
        assert len(sel) == len(tried) * bench.selection_seeds
        best = analysis.select_learning_rate(sel, exp, bench.score_evals)
        fresh = [r for r in runs if r["optimizer"] == opt and r["phase"] == "fresh"]
        assert {r["learning_rate"] for r in fresh} == {best}
        assert len(fresh) == fresh_seeds(bench, opt)

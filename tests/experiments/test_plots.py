"""The report figures of `keras_graft.experiments.plots` on small real results."""

import copy
import importlib
import math
import os
import warnings

import numpy as np
import pytest
from matplotlib import image as mpimg

from keras_graft._utils import jsonable
from keras_graft.experiments import analysis, plots, presets
from keras_graft.experiments.gan_runs import GANConfig
from keras_graft.experiments.synthetic import SyntheticConfig

# The figures are matplotlib and numpy, whatever the backend: one process.
pytestmark = pytest.mark.backend("jax")

# `keras_graft.experiments.reproduce` is also the name of the function.
rp = importlib.import_module("keras_graft.experiments.reproduce")
experiment_runs = importlib.import_module("keras_graft.experiments.runs")

SYNTHETIC_FILES = {
    "synthetic_grid.png",
    "synthetic_outcomes.png",
    "synthetic_cosines.png",
    "phase_diagram.png",
    "pace_mechanism.png",
    "pace_examples.png",
}
GAN_FILES = {"gan_metrics.png", "gan_pace.png", "gan_gradients.png"}
SAMPLE_FILES = {"samples_ring.png", "samples_digits.png"}


@pytest.fixture(autouse=True)
def _plot_failures_are_errors():
    # make_plots turns a failing figure into a PlotWarning: here it must raise.
    with warnings.catch_warnings():
        warnings.simplefilter("error", plots.PlotWarning)
        yield


@pytest.fixture(scope="module")
def synthetic():
    """`summarize_synthetic` of a tiny plan, trained (two losses, SGDA, nSGDA)."""
    plan = presets.SyntheticPlan(
        config=SyntheticConfig(dim=8, num_modes=2, steps=100, log_every=50),
        grid=(0.1, 1.0),
        seeds=2,
        optimizers={k: presets.SYNTHETIC_OPTIMIZERS[k] for k in ("sgda", "nsgda")},
        losses=("non_saturating", "minimax"),
        phase_init_stds=(0.02, 0.05),
        phase_dims=(8,),
        phase_grid=(0.3,),
        phase_seeds=1,
    )
    runs = []
    for key, cfg, rs in rp.synthetic_jobs(plan):
        runs += experiment_runs._synthetic_job(key[0], cfg, rs)
    return jsonable(analysis.summarize_synthetic(runs, plan))


def _gan_run(exp, opt, seed, lr, phase, diverged, rng, grad_norms=True):
    metric = analysis.PRIMARY[exp][0]
    n_batches = 8
    if exp == "digits":
        evals = [
            {
                "fd": 40.0 / (k + 1) * (1 + 0.1 * seed),
                "classes_covered": 8.0 + k,
                "class_kl": 0.2,
            }
            for k in range(3)
        ]
    else:
        evals = [
            {
                "modes_covered": 4.0 + k,
                "high_quality": 0.3 + 0.2 * k,
                "kl_to_uniform": 0.5,
            }
            for k in range(3)
        ]
    if diverged:
        nan_evals = {**{k: math.nan for k in evals[0]}, metric: math.nan}
        evals[1:] = [{**nan_evals, "diverged": 1.0} for _ in evals[1:]]
        n_batches = 3
    pace = {k: list(rng.uniform(0.1, 2.0, n_batches)) for k in ("d_pace", "g_pace")}
    pace["pace_ratio"] = [d / g for d, g in zip(pace["d_pace"], pace["g_pace"])]
    pace["pace_ratio"][1] = math.nan
    pace["pace_ratio"][2] = math.inf
    for key in ("d_grad_norm", "g_grad_norm"):
        pace[key] = (
            list(rng.uniform(0.5, 5.0, n_batches))
            if grad_norms
            else [math.nan] * n_batches
        )
    if diverged:
        for values in pace.values():
            values[-1] = math.nan
    return {
        "experiment": exp,
        "optimizer": opt,
        "seed": seed,
        "learning_rate": lr,
        "phase": phase,
        "eval_steps": [4, 8, 12],
        "evals": evals,
        "final": evals[-1],
        "diverged": diverged,
        "seconds": 1.0,
        "steps_per_s": 12.0,
        "pace": pace,
    }


def _gans(grad_norms=True):
    """Fabricated GAN runs of two benchmarks through the real summaries."""
    rng = np.random.default_rng(0)
    out = {}
    benchmarks = (
        ("ring", ("adam", "nsgda", "sgda")),
        ("digits", ("adam", "ada_nsgda")),
    )
    for exp, opts in benchmarks:
        config = GANConfig(
            experiment=exp,
            steps=12,
            eval_every=4,
            steps_per_execution=2,
            optimizers=opts,
        )
        bench = presets.GANBenchmark(config, seeds=2, score_evals=1)
        runs = []
        for opt in opts:
            if exp == "ring":  # a learning-rate search: selection runs are not plotted
                runs.append(
                    _gan_run(exp, opt, 1000, 1e-3, "selection", False, rng, grad_norms)
                )
            for seed in (1, 0):
                diverged = (
                    opt == "sgda" and seed == 0 or opt == "ada_nsgda" and seed == 1
                )
                runs.append(
                    _gan_run(exp, opt, seed, 2e-3, "fresh", diverged, rng, grad_norms)
                )
        out[exp] = {
            "config": rp._config_dict(bench),
            "runs": [analysis.compact_gan_run(r) for r in runs],
            "summary": analysis.summarize_gan(runs, bench, 1.25),
        }
    return jsonable(out)


def _samples():
    rng = np.random.default_rng(1)
    ring = {
        "adam": rng.normal(size=(500, 2)),
        "nsgda": rng.normal(size=(500, 2)),
        "sgda": np.full((500, 2), np.nan),
    }
    ring["nsgda"][:10] = np.nan
    digits = {
        "adam": np.tanh(rng.normal(size=(100, 28, 28, 1))).astype("float32"),
        "ada_nsgda": np.tanh(rng.normal(size=(20, 28, 28, 1))).astype("float32"),
    }
    digits["ada_nsgda"][3] = np.nan
    return {"ring": ring, "digits": digits}


def _check_pngs(out, written, expected):
    assert set(written) == expected
    assert set(os.listdir(out)) == expected  # nothing else written, no leftovers
    for name, caption in written.items():
        assert isinstance(caption, str) and caption, name
        path = os.path.join(out, name)
        assert os.path.getsize(path) > 1000, name
        img = mpimg.imread(path)
        assert img.ndim == 3 and img.shape[2] in (3, 4), (name, img.shape)
        assert img.shape[0] >= 150 and img.shape[1] >= 150, (name, img.shape)
        assert img[..., :3].std() > 0, f"{name} is blank"


def test_every_figure_from_real_results(synthetic, tmp_path):
    results = {"synthetic": synthetic, "gans": _gans(), "claims": []}
    assert synthetic["examples"], "the tiny plan should give example runs"
    written = plots.make_plots(results, _samples(), tmp_path)
    _check_pngs(tmp_path, written, SYNTHETIC_FILES | GAN_FILES | SAMPLE_FILES)
    assert list(written)[: len(plots.FIGURES)] == [name for name, _ in plots.FIGURES]
    # Sizes follow the figures' inches at 80 dpi: one heat map per (loss, optimizer).
    grid = mpimg.imread(os.path.join(tmp_path, "synthetic_grid.png"))
    assert grid.shape[0] < grid.shape[1]  # 2 losses x 2 optimizers, plus the colour bar
    assert "AUC" in written["pace_mechanism.png"]


def test_sample_tiles_place_images_row_by_row():
    # Three 2x3 images in [-1, 1] on a 2x2 grid: shown in [0, 1], NaN and the
    # empty fourth tile black, channels other than 1 or 3 cut to the first.
    images = np.stack([np.full((2, 3, 2), value) for value in (-1.0, 0.0, 1.0)])
    images[1, 0, 0] = np.nan
    tiles = plots._tiles(images, n=2)
    expected = np.zeros((4, 6, 1))
    expected[:2, 3:] = 0.5
    expected[0, 3] = 0.0
    expected[2:, :3] = 1.0
    np.testing.assert_array_equal(tiles, expected)
    # Only the first n * n images are shown.
    assert plots._tiles(np.zeros((70, 2, 2)), n=8).shape == (16, 16, 1)


def test_missing_sections_are_skipped(synthetic, tmp_path):
    only_syn = tmp_path / "syn"
    only_syn.mkdir()
    results = {"synthetic": synthetic, "gans": {}, "claims": []}
    written = plots.make_plots(results, {}, only_syn)
    _check_pngs(only_syn, written, SYNTHETIC_FILES)

    only_gans = tmp_path / "gans"
    only_gans.mkdir()
    samples = {"ring": {}, "digits": None}
    written = plots.make_plots({"gans": _gans()}, samples, only_gans)
    _check_pngs(only_gans, written, GAN_FILES)

    empty = tmp_path / "empty"
    empty.mkdir()
    assert plots.make_plots({}, None, empty) == {}
    assert os.listdir(empty) == []
    for name, fn in plots.FIGURES:
        assert fn({"synthetic": {}, "gans": {}}, str(empty / name)) is None
    assert os.listdir(empty) == []


def test_gradient_figure_needs_gradient_norms(tmp_path):
    # Results saved before the gradient norms were logged: all nan, or no key.
    gans = _gans(grad_norms=False)
    written = plots.make_plots({"gans": gans}, {}, tmp_path)
    assert set(written) == {"gan_metrics.png", "gan_pace.png"}
    for g in gans.values():
        for r in g["runs"]:
            del r["pace"]["d_grad_norm"], r["pace"]["g_grad_norm"]
    assert plots.plot_gan_gradients({"gans": gans}, str(tmp_path / "g.png")) is None
    # Without Adam there is no gradient figure either.
    gans = _gans()
    for g in gans.values():
        g["runs"] = [r for r in g["runs"] if r["optimizer"] != "adam"]
    assert plots.plot_gan_gradients({"gans": gans}, str(tmp_path / "g.png")) is None
    assert not (tmp_path / "g.png").exists()


def _replace_numbers(x, value):
    if isinstance(x, dict):
        return {k: _replace_numbers(v, value) for k, v in x.items()}
    if isinstance(x, list):
        return [_replace_numbers(v, value) for v in x]
    if isinstance(x, float) and not isinstance(x, bool):
        return value
    return x


@pytest.mark.parametrize("value", [None, "inf", "-inf", math.nan])
def test_non_finite_numbers_never_raise(synthetic, tmp_path, value):
    results = {"synthetic": synthetic, "gans": _gans(), "claims": []}
    broken = _replace_numbers(copy.deepcopy(results), value)
    samples = {
        "ring": {"adam": np.full((50, 2), np.nan)},
        "digits": {"adam": np.full((10, 28, 28, 1), np.nan)},
    }
    # A PlotWarning is an error here.
    written = plots.make_plots(broken, samples, tmp_path)
    assert set(os.listdir(tmp_path)) == set(written)
    for name in written:
        assert mpimg.imread(os.path.join(tmp_path, name)).ndim == 3
    # What needs no float survives: the outcome shares (counts), the samples. (The
    # grid needs its learning rates, floats too.)
    survivors = {"synthetic_outcomes.png", "samples_ring.png", "samples_digits.png"}
    assert survivors <= set(written)


def test_partly_broken_entries(synthetic, tmp_path):
    results = {"synthetic": copy.deepcopy(synthetic), "gans": _gans()}
    syn = results["synthetic"]
    syn["grid"]["minimax"]["sgda"] = None  # a missing grid summary
    syn["grid"]["minimax"]["nsgda"]["cells"][0]["n"] = None
    syn["phase"]["nsgda"] = []
    syn["pace_prediction"] = {}
    syn["examples"][0]["d_step"] = "inf"
    results["gans"]["ring"]["summary"]["optimizers"]["adam"]["curve"] = None
    results["gans"]["digits"]["runs"].append({"optimizer": "adam", "seed": None})
    samples = {"ring": {"adam": [[0.0, 1.0], [1.0, 0.0]]}}
    written = plots.make_plots(results, samples, tmp_path)
    assert SYNTHETIC_FILES | GAN_FILES | {"samples_ring.png"} == set(written)
    assert "AUC" not in written["pace_mechanism.png"]


def test_a_failing_figure_is_skipped_with_a_warning(tmp_path, monkeypatch):
    def broken(results, path):
        with open(path, "wb") as f:
            f.write(b"partial")
        raise RuntimeError("boom")

    figures = (("broken.png", broken),) + plots.FIGURES[-3:]
    monkeypatch.setattr(plots, "FIGURES", figures)
    with warnings.catch_warnings():
        warnings.simplefilter("always", plots.PlotWarning)
        with pytest.warns(plots.PlotWarning, match="broken.png"):
            written = plots.make_plots({"gans": _gans()}, {}, tmp_path)
    assert set(written) == GAN_FILES
    assert set(os.listdir(tmp_path)) == GAN_FILES

"""Every preset's own GAN configurations run on every backend.

Each benchmark of `default`, `long`, `gpu` and `paper` runs a few of its
executions with its real execution settings (steps per execution, compiled
steps, loss, penalty, critic steps); only the sizes that do not change how a
step executes (widths, batch, evaluation samples, metric) are made small.
Keras's PyTorch trainer accepts one step per execution only, so the presets'
settings go through `gan_runs.execution_steps`.
"""

from dataclasses import replace

import keras
import numpy as np
import pytest

from keras_graft.experiments import gan_runs
from keras_graft.experiments.presets import PRESETS


def _cases():
    seen, cases = set(), []
    for name in ("default", "long", "gpu", "paper"):
        for bench in PRESETS[name].gans:
            c = bench.config
            what = (c.experiment, c.steps_per_execution, c.run_eagerly)
            if what not in seen:
                seen.add(what)
                cases.append(pytest.param(c, id=f"{name}-{c.experiment}"))
    return cases


@pytest.mark.slow
@pytest.mark.parametrize("config", _cases())
def test_a_preset_s_benchmark_runs_with_its_execution_settings(config, monkeypatch):
    spe = config.steps_per_execution
    small = replace(
        config,
        steps=spe,  # one execution of the preset's size
        eval_every=spe,
        width=4,
        batch_size=8,
        eval_samples=32,
        metric="pixels",
        num_train=64 if config.experiment != "ring" else None,
        d_steps=1,  # the critic's steps change the work per step, not its execution
    )
    assert small.run_eagerly is False and spe > 1  # what today's presets run
    if config.experiment == "cifar10":
        import tensorflow_datasets as tfds

        from keras_graft.datasets import images

        monkeypatch.setattr(images, "_download_reachable", lambda name: True)
        with tfds.testing.mock_data(num_examples=64):
            result = gan_runs.run_gan(small, "adam", seed=0)
    else:
        result = gan_runs.run_gan(small, "adam", seed=0)
    assert result["eval_steps"] == [spe]
    assert not result["diverged"]
    # One log row per `steps_per_execution` steps, whatever the backend runs.
    assert len(result["pace"]["d_pace"]) == 1
    assert np.all(np.isfinite(result["pace"]["d_pace"]))
    expected = 1 if keras.backend.backend() == "torch" else spe
    assert gan_runs.execution_steps(small) == expected


@pytest.mark.slow
def test_the_results_do_not_depend_on_the_steps_per_execution(monkeypatch):
    """The ring of `default` with its 50 steps per execution, then one per call."""
    config = replace(
        PRESETS["default"].gans[0].config, steps=100, eval_every=50, width=8
    )
    a = gan_runs.run_gan(config, "nsgda", seed=1)
    monkeypatch.setattr(
        gan_runs, "_MAX_STEPS_PER_EXECUTION", {keras.backend.backend(): 1}
    )
    assert gan_runs.execution_steps(config) == 1
    b = gan_runs.run_gan(config, "nsgda", seed=1)
    for key in a["pace"]:
        np.testing.assert_allclose(a["pace"][key], b["pace"][key], rtol=1e-4)
    for x, y in zip(a["evals"], b["evals"]):
        assert x.keys() == y.keys()
        np.testing.assert_allclose(list(x.values()), list(y.values()), rtol=1e-4)


def test_reproduce_says_up_front_where_the_synthetic_runs_are_slow():
    import importlib
    import io

    from keras_graft.experiments.presets import get_preset

    rp = importlib.import_module("keras_graft.experiments.reproduce")
    stream = io.StringIO()
    backend = keras.backend.backend()
    slow = rp.slow_synthetic(get_preset("default"), backend, stream)
    assert slow == (backend == "tensorflow")
    if slow:
        (line,) = stream.getvalue().splitlines()
        # 1 loss x 2 optimizers x 36 cells x 48 seeds + 3 x 3 x 2 x 16 x 8.
        assert "the 5760 synthetic runs train one after another" in line
        assert "KERAS_BACKEND=jax or torch" in line
    else:
        assert stream.getvalue() == ""


def test_reproduce_says_up_front_where_gan_steps_run_eagerly():
    import importlib
    import io

    from keras_graft.experiments.presets import get_preset

    rp = importlib.import_module("keras_graft.experiments.reproduce")
    backend = keras.backend.backend()
    stream = io.StringIO()
    said = rp.eager_gan_steps(get_preset("default"), backend, False, stream)
    assert said == (backend == "torch")
    if said:
        (line,) = stream.getvalue().splitlines()
        assert "compile up to 50 per call" in line, line
        assert f"about {rp.TORCH_CPU_SLOWDOWN}x its time on jax" in line, line
        assert "KERAS_BACKEND=jax" in line, line
    else:
        assert stream.getvalue() == ""
    # With GPUs, or a preset of one step per call (`tiny`), nothing to say.
    quiet = io.StringIO()
    assert not rp.eager_gan_steps(get_preset("default"), backend, True, quiet)
    assert not rp.eager_gan_steps(get_preset("tiny"), backend, False, quiet)
    assert quiet.getvalue() == ""

"""`run_gan`: a run that restarts an earlier run's GAN trains as a fresh GAN would."""

import json
from dataclasses import replace

import keras
import numpy as np
import pytest

from keras_graft.experiments import gan_runs
from keras_graft.experiments.presets import PRESETS


def _small(experiment: str) -> gan_runs.GANConfig:
    gans = PRESETS["default"].gans
    bench = next(b for b in gans if b.config.experiment == experiment)
    return replace(
        bench.config,
        steps=8,
        eval_every=4,
        steps_per_execution=2,  # compiled, several steps per call: as presets run
        width=4,
        batch_size=8,
        eval_samples=32,
        metric="pixels",
        num_train=64 if experiment != "ring" else None,
        lr_decay=True,  # the rate reads the optimizer's iterations
    )


def _same(a: dict, b: dict) -> None:
    assert a["evals"] == b["evals"]
    assert a["pace"] == b["pace"]
    np.testing.assert_array_equal(a["samples"], b["samples"])


@pytest.mark.parametrize("experiment", ["ring", "digits"])
def test_a_restarted_gan_trains_as_a_fresh_one(experiment, monkeypatch):
    config = _small(experiment)
    restarted = []
    restart = gan_runs._restart

    def spy(fresh, key):
        gan = restart(fresh, key)
        restarted.append(gan is not fresh)
        return gan

    monkeypatch.setattr(gan_runs, "_restart", spy)
    monkeypatch.setattr(gan_runs, "_FINISHED", {})
    # Adam: its moments and iterations must start again from zero.
    gan_runs.run_gan(config, "adam", seed=0)
    second = gan_runs.run_gan(config, "adam", seed=1)
    # The same seed in a GAN of its own.
    gan_runs._FINISHED.clear()
    alone = gan_runs.run_gan(config, "adam", seed=1)
    _same(second, alone)
    reuses = keras.backend.backend() in gan_runs._REUSE_BACKENDS
    assert restarted == ([False, True, False] if reuses else [])
    # The seed matters (the check above could not pass by chance).
    other = gan_runs.run_gan(config, "adam", seed=0)["samples"]
    assert not np.array_equal(second["samples"], other)


@pytest.mark.backend(*gan_runs._REUSE_BACKENDS)  # PyTorch: nothing to reuse
def test_only_the_same_benchmark_optimizer_and_rate_restart(monkeypatch):
    config = _small("ring")
    monkeypatch.setattr(gan_runs, "_FINISHED", {})
    monkeypatch.setattr(gan_runs, "_KEEP", 2)
    gan_runs.run_gan(config, "adam", seed=0)
    gan_runs.run_gan(config, "adam", seed=0, learning_rate=0.5)  # another rate
    assert len(gan_runs._FINISHED) == 2
    # Another optimizer: kept too, the least recently finished GAN dropped.
    gan_runs.run_gan(config, "nsgda", seed=0)
    kept = [json.loads(k)[1:3] for k in gan_runs._FINISHED]
    assert kept == [["adam", 0.5], ["nsgda", config.learning_rates["nsgda"]]]
    # Another execution setting or benchmark size does not take a kept GAN.
    with monkeypatch.context() as m:
        m.setattr(gan_runs, "_MAX_STEPS_PER_EXECUTION", {keras.backend.backend(): 1})
        gan_runs.run_gan(config, "nsgda", seed=0)
    spe = [json.loads(k)[3] for k in gan_runs._FINISHED]
    assert spe == [config.steps_per_execution, 1]
    gan_runs.run_gan(replace(config, width=5), "nsgda", seed=0)
    assert len(gan_runs._FINISHED) == 2
    again = gan_runs.run_gan(replace(config, width=5), "nsgda", seed=2)
    gan_runs._FINISHED.clear()
    _same(again, gan_runs.run_gan(replace(config, width=5), "nsgda", seed=2))

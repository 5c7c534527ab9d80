"""SampleGrid and PaceLogger on a small GAN, on every backend."""

import csv
import os

import keras
import numpy as np
import pytest
from matplotlib import image as mpimg

import keras_graft
from keras_graft.callbacks import PaceLogger, SampleGrid
from tests.gan.helpers import mlp_pair, ring_of_gaussians

DATA = ring_of_gaussians(128)


def image_gan():
    keras.utils.set_random_seed(0)
    z = keras.Input((4,))
    x = keras.layers.Dense(36, activation="tanh")(z)
    g = keras.Model(z, keras.layers.Reshape((6, 6, 1))(x), name="generator")
    i = keras.Input((6, 6, 1))
    d = keras.Model(
        i, keras.layers.Dense(1)(keras.layers.Flatten()(i)), name="discriminator"
    )
    return keras_graft.GAN(g, d, seed=0)


class _Recorder(keras.callbacks.Callback):
    """Takes samples from the grid callback after each batch (weights current)."""

    def __init__(self, grid):
        super().__init__()
        self.grid, self.samples = grid, []

    def on_train_batch_end(self, batch, logs=None):
        self.samples.append(self.grid.samples())


def test_sample_grid_images_every_n_steps(tmp_path):
    gan = image_gan()
    gan.compile(
        keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2), generator_ema=0.5
    )
    grid = SampleGrid(6, every_n_steps=2, every_n_epochs=1, directory=tmp_path)
    recorder = _Recorder(grid)
    images = np.tanh(np.random.default_rng(0).normal(size=(128, 6, 6, 1))).astype(
        "float32"
    )
    gan.fit(images, batch_size=32, epochs=1, verbose=0, callbacks=[grid, recorder])
    names = sorted(os.listdir(tmp_path))
    assert names == [
        "samples_epoch0001.png",
        "samples_step0000002.png",
        "samples_step0000004.png",
    ]
    png = mpimg.imread(os.path.join(tmp_path, names[1]))
    assert png.ndim == 3 and png.shape[0] > 12 and png.std() > 0
    # Each batch's samples come from that batch's weights (synced on JAX).
    for a, b in zip(recorder.samples, recorder.samples[1:]):
        assert not np.allclose(a, b)
    final = keras.ops.convert_to_numpy(gan.generate(grid._z, ema=True))
    np.testing.assert_allclose(recorder.samples[-1], final, rtol=1e-5, atol=1e-6)


def test_sample_grid_points_with_fixed_latents(tmp_path):
    gan = keras_graft.GAN(*mlp_pair(), seed=0)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    z = np.random.default_rng(1).normal(size=(64, 4)).astype("float32")
    grid = SampleGrid(z, every_n_epochs=2, directory=tmp_path, prefix="ring")
    gan.fit(DATA, batch_size=64, epochs=2, verbose=0, callbacks=[grid])
    assert [os.path.basename(p) for p in grid.paths] == ["ring_epoch0002.png"]
    assert mpimg.imread(grid.paths[0]).std() > 0


def test_pace_logger_records_every_step(tmp_path):
    gan = keras_graft.GAN(*mlp_pair(), seed=0)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    path = os.path.join(tmp_path, "pace.csv")
    log = PaceLogger(path)
    history = gan.fit(DATA, batch_size=32, epochs=2, verbose=0, callbacks=[log])
    cols = log.as_arrays()
    np.testing.assert_array_equal(cols["step"], np.arange(1, 9))
    np.testing.assert_array_equal(cols["epoch"], [0] * 4 + [1] * 4)
    assert np.all(cols["d_pace"] > 0) and np.all(cols["g_pace"] > 0)
    assert len(np.unique(cols["d_pace"])) > 1  # per-step values, not a constant
    # The last step's values are the ones logged at the end of the epoch.
    for key in ("d_pace", "g_pace", "pace_ratio", "d_grad_norm", "g_grad_norm"):
        np.testing.assert_allclose(cols[key][-1], history.history[key][-1], rtol=1e-6)
    assert np.all(cols["d_grad_norm"] > 0) and len(np.unique(cols["g_grad_norm"])) > 1
    np.testing.assert_allclose(
        cols["pace_ratio"], cols["d_pace"] / cols["g_pace"], rtol=1e-4
    )
    with open(path) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 8 and float(rows[3]["g_pace"]) == pytest.approx(
        cols["g_pace"][3]
    )
    assert float(rows[5]["d_grad_norm"]) == pytest.approx(cols["d_grad_norm"][5])
    fig = log.plot(os.path.join(tmp_path, "pace.png"))
    assert os.path.getsize(os.path.join(tmp_path, "pace.png")) > 0
    assert len(fig.axes[0].lines) == 2


def test_pace_logger_needs_track_pace():
    gan = keras_graft.GAN(*mlp_pair(), seed=0)
    gan.compile(keras.optimizers.Adam(), keras.optimizers.Adam(), track_pace=False)
    with pytest.raises(ValueError, match="track_pace=True"):
        gan.fit(DATA, batch_size=64, epochs=1, verbose=0, callbacks=[PaceLogger()])


def test_callback_argument_errors():
    with pytest.raises(ValueError, match="every_n_steps"):
        SampleGrid(4, every_n_steps=0)
    with pytest.raises(ValueError, match="every_n_steps"):
        PaceLogger(every_n_steps=0)


def test_callbacks_count_steps_with_steps_per_execution(tmp_path):
    """steps_per_execution=4: Keras calls back once per 4 steps; steps stay steps."""
    spe = 1 if keras.backend.backend() == "torch" else 4  # torch: one step per call
    gan = keras_graft.GAN(*mlp_pair(), seed=0)
    gan.compile(
        keras.optimizers.Adam(1e-3),
        keras.optimizers.Adam(1e-3),
        steps_per_execution=spe,
    )
    log = PaceLogger(every_n_steps=8)
    grid = SampleGrid(8, every_n_steps=8, directory=tmp_path, prefix="s")
    # 128 points, batch 8: 16 steps per epoch, 2 epochs.
    gan.fit(DATA, batch_size=8, epochs=2, verbose=0, callbacks=[log, grid])
    cols = log.as_arrays()
    np.testing.assert_array_equal(cols["step"], [8, 16, 24, 32])
    np.testing.assert_array_equal(cols["epoch"], [0, 0, 1, 1])
    steps = sorted(n for n in os.listdir(tmp_path) if "_step" in n)
    assert steps == [f"s_step{k:07d}.png" for k in (8, 16, 24, 32)]
    every = PaceLogger(every_n_steps=1)
    gan.fit(DATA, batch_size=8, epochs=1, verbose=0, callbacks=[every])
    np.testing.assert_array_equal(every.as_arrays()["step"], np.arange(spe, 17, spe))
    # 8 steps per epoch in executions of 3: Keras reports steps 3, 6 and "9" for
    # the last, partial execution; the epoch still has 8 steps.
    spe3 = 1 if keras.backend.backend() == "torch" else 3
    gan3 = keras_graft.GAN(*mlp_pair(), seed=0)
    gan3.compile(
        keras.optimizers.Adam(1e-3),
        keras.optimizers.Adam(1e-3),
        steps_per_execution=spe3,
    )
    partial = PaceLogger()
    gan3.fit(DATA, batch_size=16, epochs=2, verbose=0, callbacks=[partial])
    expected = [3, 6, 8, 11, 14, 16] if spe3 == 3 else list(range(1, 17))
    np.testing.assert_array_equal(partial.as_arrays()["step"], expected)

"""Class-conditional GANs: `GAN(..., num_classes=K)` and `(images, labels)` data.

Both players receive the labels (the generator next to its latents, the
discriminator next to its samples), `generate` takes labels, and `SampleGrid`
draws one row per class. On the shipped digits, a short run learns to draw the
digit it is asked for: an offline classifier reads the asked class from the
generated digits far above chance (10%).
"""

import keras
import numpy as np
import pytest
from keras import layers, ops

import keras_graft
from keras_graft import metrics
from keras_graft.callbacks import SampleGrid
from keras_graft.datasets import load_embedded_digits
from tests.gan.helpers import mlp, ring_of_gaussians

CLASSES, LATENT = 10, 32


@keras.saving.register_keras_serializable(package="keras_graft_tests")
class LabelGenerator(keras.Model):
    """`G(z, y)`: latents and a label embedding through an MLP to 28x28 digits."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.embed = layers.Embedding(CLASSES, 16)
        self.hidden = layers.Dense(256, activation="relu")
        self.out = layers.Dense(28 * 28, activation="tanh")

    def call(self, inputs, training=False):
        z, labels = inputs
        x = ops.concatenate([z, self.embed(labels)], axis=-1)
        return ops.reshape(self.out(self.hidden(x)), (-1, 28, 28, 1))


@keras.saving.register_keras_serializable(package="keras_graft_tests")
class ProjectionDiscriminator(keras.Model):
    """`D(x, y) = w . h(x) + e(y) . h(x)` (a projection discriminator)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(256)
        self.embed = layers.Embedding(CLASSES, 256)
        self.out = layers.Dense(1)

    def call(self, inputs, training=False):
        x, labels = inputs
        h = keras.activations.leaky_relu(
            self.hidden(ops.reshape(x, (-1, 28 * 28))), 0.2
        )
        return self.out(h) + ops.sum(self.embed(labels) * h, axis=-1, keepdims=True)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


# 600 training steps of two MLP players on the digits: 15-20 s on TensorFlow
# and JAX (35-50 s in a loaded suite), 100 s on PyTorch's CPU. Whether the labels
# steer what is drawn is checked on each backend once: on TensorFlow here, on
# JAX by the players page (tests/docs/test_players_page.py, the same digits), on
# PyTorch on a labelled ring below (measured on all three when written:
# accuracy 0.93-1.00 on the digits, chance 0.10). The rest of the conditional
# machinery (both players get labels, generate, evaluate, save/load) runs on
# every backend.
@pytest.mark.backend("tensorflow")
def test_conditional_gan_draws_the_asked_digit(tmp_path):
    keras.utils.set_random_seed(0)
    x, y = load_embedded_digits("train")
    gan = keras_graft.GAN(
        LabelGenerator(),
        ProjectionDiscriminator(),
        latent_dim=LATENT,
        num_classes=CLASSES,
        seed=0,
    )
    gan.compile(
        keras.optimizers.Adam(1e-3, beta_1=0.5), keras.optimizers.Adam(1e-3, beta_1=0.5)
    )
    steps, batch = 600, 64
    rng = np.random.default_rng(0)
    order = np.concatenate([rng.permutation(len(x)) for _ in range(5)])[: steps * batch]
    gan.fit(x[order], y[order], batch_size=batch, epochs=1, shuffle=False, verbose=0)

    classifier = metrics.digit_classifier()  # the suite's cached one
    asked = np.repeat(np.arange(CLASSES), 50).astype("int32")
    images = ops.convert_to_numpy(gan.generate(labels=asked))
    read = np.argmax(classifier.predict(images, verbose=0), axis=-1)
    accuracy = float(np.mean(read == asked))
    # Measured after 600 steps: 0.93-0.99 over seeds 0-3 (JAX), 1.00 (TensorFlow,
    # PyTorch, seed 0).
    assert accuracy > 0.6, accuracy
    # Labels steer the samples: the same latents with shifted labels are read
    # as the shifted class, not the original one.
    z = gan.sample_latents(len(asked))
    shifted = (asked + 1) % CLASSES
    read_shifted = np.argmax(
        classifier.predict(
            ops.convert_to_numpy(gan.generate(z, labels=shifted)), verbose=0
        ),
        axis=-1,
    )
    assert np.mean(read_shifted == shifted) > 0.6
    assert np.mean(read_shifted == asked) < 0.2

    # SampleGrid: one row per class, the same latents in every row.
    grid = SampleGrid(3, directory=str(tmp_path / "grid"))
    grid.set_model(gan)
    grid.on_train_begin()
    samples = grid.samples()
    assert samples.shape == (CLASSES * 3, 28, 28, 1)
    read_grid = np.argmax(classifier.predict(samples, verbose=0), axis=-1)
    assert np.mean(read_grid == np.repeat(np.arange(CLASSES), 3)) > 0.6
    assert grid.save(str(tmp_path / "grid.png")).endswith("grid.png")


@pytest.mark.backend("torch")
def test_conditional_gan_puts_each_label_on_its_mode():
    """A labelled ring of 4 Gaussians: samples asked for label k land on mode k
    (1.0 of them after 192 steps on seeds 0 and 1; chance 0.25)."""
    from keras_graft.datasets.mixtures import GaussianMixture2D

    keras.utils.set_random_seed(0)
    mixture = GaussianMixture2D.ring(num_modes=4, radius=2.0, std=0.05)
    x, y = mixture.sample(4096, 0)

    def player(in_dim, out_dim, name):
        v, label = keras.Input((in_dim,)), keras.Input((), dtype="int32")
        h = layers.Concatenate()([v, layers.Embedding(4, 8)(label)])
        for _ in range(2):
            h = layers.Dense(64, activation="relu")(h)
        return keras.Model([v, label], layers.Dense(out_dim)(h), name=name)

    gan = keras_graft.GAN(player(4, 2, "g"), player(2, 1, "d"), num_classes=4, seed=0)
    gan.compile(
        keras.optimizers.Adam(4e-3, beta_1=0.5), keras.optimizers.Adam(4e-3, beta_1=0.5)
    )
    gan.fit(x, y.astype("int32"), batch_size=64, epochs=3, verbose=0)
    asked = np.repeat(np.arange(4), 100).astype("int32")
    samples = ops.convert_to_numpy(gan.generate(labels=asked))
    distances = ((samples[:, None, :] - mixture.centers[None]) ** 2).sum(-1)
    assert np.mean(np.argmin(distances, axis=1) == asked) > 0.8


def _functional_conditional(label_shape=(1,)):
    z = keras.Input((4,))
    y = keras.Input(label_shape, dtype="int32")
    e = layers.Flatten()(layers.Embedding(3, 4)(y))
    g = keras.Model([z, y], layers.Dense(2)(layers.Concatenate()([z, e])), name="g")
    x = keras.Input((2,))
    yd = keras.Input(label_shape, dtype="int32")
    ed = layers.Flatten()(layers.Embedding(3, 4)(yd))
    d = keras.Model([x, yd], layers.Dense(1)(layers.Concatenate()([x, ed])), name="d")
    return g, d


@pytest.mark.parametrize("label_shape", [(1,), ()])
def test_functional_conditional_players_and_dataset_labels(label_shape):
    keras.utils.set_random_seed(0)
    gan = keras_graft.GAN(*_functional_conditional(label_shape), num_classes=3, seed=0)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    assert gan.latent_shape == (4,)
    points = ring_of_gaussians(96)
    labels = np.arange(96) % 3
    history = gan.fit(points, labels.reshape(-1, 1), batch_size=32, epochs=2, verbose=0)
    assert np.isfinite(history.history["d_loss"]).all()
    logs = gan.evaluate(points, labels, batch_size=32, verbose=0, return_dict=True)
    assert np.isfinite(list(logs.values())).all()
    assert tuple(gan.generate(labels=2, num=5).shape) == (5, 2)


@keras.saving.register_keras_serializable(package="keras_graft_tests")
class PointPlayer(keras.Model):
    """A conditional player on 2-D points: `[v, y]` (latents or samples, labels)
    and a label embedding through one Dense of `units` outputs."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.embed = layers.Embedding(3, 4)
        self.out = layers.Dense(units)

    def call(self, inputs, training=False):
        v, labels = inputs
        return self.out(ops.concatenate([v, self.embed(labels)], axis=-1))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@pytest.mark.parametrize("kind", ["functional", "subclassed"])
def test_conditional_gan_save_load_and_train_on(tmp_path, kind):
    keras.utils.set_random_seed(0)
    if kind == "functional":
        players, latent = _functional_conditional(), None
    else:
        players, latent = (PointPlayer(2), PointPlayer(1)), 4
    x, y = ring_of_gaussians(64), (np.arange(64) % 3).astype("int32")
    gan = keras_graft.GAN(*players, latent_dim=latent, num_classes=3, seed=0)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    gan.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    path = str(tmp_path / "conditional.keras")
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.num_classes == 3
    z = np.random.default_rng(1).normal(size=(6,) + gan.latent_shape)
    labels = np.array([0, 1, 2, 0, 1, 2], "int32")
    np.testing.assert_array_equal(
        ops.convert_to_numpy(gan.generate(z, labels=labels)),
        ops.convert_to_numpy(loaded.generate(z, labels=labels)),
    )
    # Training on from the file is the same run as training on in memory.
    gan.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    loaded.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(gan.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_unconditional_gan_ignores_labels_of_the_data():
    gan = keras_graft.GAN(mlp(4, 2, "g"), mlp(2, 1, "d"), seed=0)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    gan.fit(ring_of_gaussians(64), np.zeros(64, "int32"), batch_size=32, verbose=0)
    with pytest.raises(ValueError, match="needs a class-conditional GAN"):
        gan.generate(num=2, labels=[0, 1])


def test_conditional_errors():
    g, d = _functional_conditional()
    with pytest.raises(ValueError, match="exactly one input.*num_classes"):
        keras_graft.GAN(g, d)
    with pytest.raises(
        ValueError,
        match=r"`num_classes` must be None or an int >= 2; received num_classes=1",
    ):
        keras_graft.GAN(g, d, num_classes=1)
    with pytest.raises(ValueError, match="two inputs"):
        keras_graft.GAN(mlp(4, 2, "g"), mlp(2, 1, "d"), num_classes=3)
    gan = keras_graft.GAN(g, d, num_classes=3)
    gan.compile(keras.optimizers.Adam(), keras.optimizers.Adam())
    with pytest.raises(ValueError, match="the data has no labels"):
        gan.fit(ring_of_gaussians(64), batch_size=32, verbose=0)
    with pytest.raises(ValueError, match="needs labels"):
        gan.generate(num=4)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\)"):
        gan.generate(labels=[0, 3])
    with pytest.raises(ValueError, match="2 labels for 3 latents"):
        gan.generate(np.zeros((3, 4), "float32"), labels=[0, 1])


def test_conditional_gan_scan_steps_trains_as_keras_loop():
    """Labels travel with the stacked batches of `scan_steps=True` (JAX; no
    effect elsewhere): the same weights as Keras's loop, bit for bit."""
    spe = 1 if keras.backend.backend() == "torch" else 3  # torch allows only 1
    points = ring_of_gaussians(96)
    labels = (np.arange(96) % 3).reshape(-1, 1)
    out = []
    for scan in (False, True):
        keras.utils.set_random_seed(0)
        gan = keras_graft.GAN(*_functional_conditional((1,)), num_classes=3, seed=0)
        gan.compile(
            keras.optimizers.Adam(1e-3),
            keras.optimizers.Adam(1e-3),
            steps_per_execution=spe,
            scan_steps=scan,
        )
        gan.fit(points, labels, batch_size=16, epochs=2, shuffle=False, verbose=0)
        out.append([keras.ops.convert_to_numpy(v) for v in gan.weights])
    assert int(gan.g_optimizer.iterations) == 12
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)

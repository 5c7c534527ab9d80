"""Players of every kind Keras builds: Sequential, Functional and subclassed.

Subclassed players (with or without an explicit `build`) get their shapes from
`latent_dim` and a call on zeros; they train, save, load and train on exactly
as an uninterrupted run. Bad players fail with errors that name the argument.
"""

import os

import keras
import numpy as np
import pytest
from keras import layers, ops

import keras_graft
from tests.gan.helpers import mlp, ring_of_gaussians, weights


@keras.saving.register_keras_serializable(package="keras_graft_tests")
class SubGenerator(keras.Model):
    """A generator written as most research code writes it."""

    def __init__(self, out_dim: int = 2, hidden: int = 16, **kwargs):
        super().__init__(**kwargs)
        self.out_dim = out_dim
        self.hidden = hidden
        self.h = layers.Dense(hidden, activation="relu")
        self.bn = layers.BatchNormalization()
        self.out = layers.Dense(out_dim)

    def call(self, z, training=False):
        return self.out(self.bn(self.h(z), training=training))

    def get_config(self):
        return {**super().get_config(), "out_dim": self.out_dim, "hidden": self.hidden}


@keras.saving.register_keras_serializable(package="keras_graft_tests")
class SubDiscriminator(keras.Model):
    """A discriminator with its own `build` (explicitly built by the test)."""

    def __init__(self, hidden: int = 16, **kwargs):
        super().__init__(**kwargs)
        self.hidden = hidden

    def build(self, input_shape):
        self.h = layers.Dense(self.hidden, activation="relu")
        self.h.build(input_shape)
        self.out = layers.Dense(1)
        self.out.build((None, self.hidden))
        self.built = True

    def call(self, x, training=False):
        return self.out(self.h(x))

    def get_config(self):
        return {**super().get_config(), "hidden": self.hidden}


def _compile(gan):
    gan.compile(
        keras.optimizers.Adam(1e-3, beta_1=0.5), keras_graft.optimizers.AdaNSGDA(1e-3)
    )
    return gan


def _subclassed_gan(explicit_build: bool):
    keras.utils.set_random_seed(3)
    g, d = SubGenerator(), SubDiscriminator()
    if explicit_build:  # the generator has no `build`: it is built by a call
        d.build((None, 2))
    assert d.built == explicit_build
    return keras_graft.GAN(g, d, latent_dim=4, seed=0)


@pytest.mark.parametrize("explicit_build", [False, True])
def test_subclassed_players_train_save_load_and_train_on(tmp_path, explicit_build):
    data = ring_of_gaussians(128)
    gan = _compile(_subclassed_gan(explicit_build))
    assert gan.latent_shape == (4,) and gan.sample_shape == (2,)
    before = weights(gan.generator) + weights(gan.discriminator)
    gan.fit(data, batch_size=32, epochs=1, shuffle=False, verbose=0)
    trained = weights(gan.generator) + weights(gan.discriminator)
    assert any(not np.array_equal(a, b) for a, b in zip(before, trained))
    path = os.path.join(tmp_path, "gan.keras")
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.generator, SubGenerator)
    for a, b in zip(trained, weights(loaded.generator) + weights(loaded.discriminator)):
        np.testing.assert_array_equal(a, b)
    # Training on from the file is the same run as training on in memory.
    gan.fit(data, batch_size=32, epochs=1, shuffle=False, verbose=0)
    loaded.fit(data, batch_size=32, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(weights(gan), weights(loaded)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_sequential_without_input_and_mixed_kinds():
    keras.utils.set_random_seed(0)
    g = keras.Sequential([layers.Dense(8, activation="relu"), layers.Dense(2)])
    gan = _compile(keras_graft.GAN(g, mlp(2, 1, "discriminator"), latent_dim=3))
    assert gan.latent_shape == (3,) and g.built
    h = gan.fit(ring_of_gaussians(64), batch_size=32, epochs=2, verbose=0)
    assert np.isfinite(h.history["g_loss"]).all()
    assert tuple(gan.generate(num=5).shape) == (5, 2)


def test_subclassed_generator_with_ema():
    gan = _subclassed_gan(False)
    gan.compile(
        keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3), generator_ema=0.5
    )
    gan.fit(ring_of_gaussians(64), batch_size=32, epochs=1, verbose=0)
    z = gan.sample_latents(4)
    assert not np.allclose(
        ops.convert_to_numpy(gan.generate(z, ema=True)),
        ops.convert_to_numpy(gan.generate(z, ema=False)),
    )


# ------------------------------------------------------------------ errors


def test_subclassed_generator_needs_latent_dim():
    with pytest.raises(ValueError, match="declares no input.*pass latent_dim"):
        keras_graft.GAN(SubGenerator(), SubDiscriminator())


def test_generator_that_cannot_take_the_latents():
    class Needs3(keras.Model):
        def call(self, z):
            return ops.reshape(z, (-1, 3, 1))[:, :, 0]

    with pytest.raises(ValueError, match=r"generator .*latents of shape \(None, 4\)"):
        keras_graft.GAN(Needs3(), SubDiscriminator(), latent_dim=4)


def test_discriminator_must_score_each_sample_once():
    class TwoScores(keras.Model):
        def __init__(self):
            super().__init__()
            self.d = layers.Dense(2)

        def call(self, x):
            return self.d(x)

    with pytest.raises(ValueError, match=r"one score per sample.*\(2, 2\)"):
        keras_graft.GAN(SubGenerator(), TwoScores(), latent_dim=4)


def test_player_type_is_checked():
    with pytest.raises(TypeError, match=r"`discriminator` must be a keras.Model"):
        keras_graft.GAN(mlp(4, 2, "g"), layers.Dense(1))

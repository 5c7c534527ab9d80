"""The experiments' networks: `DenseStack` against a chain of Keras layers."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from keras_graft import GAN
from keras_graft.experiments import networks
from tests.gan.helpers import ring_of_gaussians

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _chain_generator(latent_dim, hidden, depth, seed):
    """The ring generator as `Dense` layers (keras_graft before `DenseStack`)."""
    x = inputs = keras.Input((latent_dim,))
    for i in range(depth):
        init = keras.initializers.GlorotUniform(seed=seed * 1000 + i)
        x = layers.Dense(hidden, activation="relu", kernel_initializer=init)(x)
    init = keras.initializers.GlorotUniform(seed=seed * 1000 + depth)
    return keras.Model(inputs, layers.Dense(2, kernel_initializer=init)(x))


def _chain_discriminator(hidden, depth, seed):
    """The ring discriminator as `Dense` and `LeakyReLU` layers."""
    x = inputs = keras.Input((2,))
    for i in range(depth):
        init = keras.initializers.GlorotUniform(seed=seed * 1000 + 10 + i)
        x = layers.LeakyReLU(0.2)(layers.Dense(hidden, kernel_initializer=init)(x))
    init = keras.initializers.GlorotUniform(seed=seed * 1000 + 20)
    return keras.Model(inputs, layers.Dense(1, kernel_initializer=init)(x))


def _equal(a, b):
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(x), np.asarray(y))


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_stack_equals_a_chain_of_dense_layers(depth):
    g = networks.mlp_generator(8, 16, depth, seed=3)
    d = networks.mlp_discriminator(2, 16, depth, seed=3)
    g_ref = _chain_generator(8, 16, depth, 3)
    d_ref = _chain_discriminator(16, depth, 3)
    assert len(g.layers) == 2 and len(d.layers) == 2
    _equal(g.weights, [w.numpy() for w in g_ref.weights])
    _equal(d.weights, [w.numpy() for w in d_ref.weights])
    z = np.random.default_rng(0).normal(size=(32, 8)).astype("float32")
    # Inputs with both signs reach the LeakyReLU's negative side.
    x = np.random.default_rng(1).normal(size=(32, 2)).astype("float32")
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(g(z)), keras.ops.convert_to_numpy(g_ref(z))
    )
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(d(x)), keras.ops.convert_to_numpy(d_ref(x))
    )


def _trained(generator, discriminator):
    gan = GAN(generator, discriminator, seed=5)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(1e-2),
        g_optimizer=keras.optimizers.Adam(1e-2),
    )
    gan.fit(ring_of_gaussians(64), batch_size=16, epochs=2, shuffle=False, verbose=0)
    return gan


def test_gan_training_is_the_same_bit_for_bit():
    """Gradients and updates through the stack equal the chain's."""
    new = _trained(
        networks.mlp_generator(4, 16, seed=7), networks.mlp_discriminator(2, 16, seed=7)
    )
    old = _trained(_chain_generator(4, 16, 2, 7), _chain_discriminator(16, 2, 7))
    _equal(new.generator.weights, [w.numpy() for w in old.generator.weights])
    _equal(new.discriminator.weights, [w.numpy() for w in old.discriminator.weights])


def test_stack_round_trips_through_saving(tmp_path):
    g = networks.mlp_generator(4, 8, seed=2)
    path = str(tmp_path / "g.keras")
    g.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.layers[-1], networks.DenseStack)
    assert loaded.layers[-1].get_config()["kernel_seeds"] == [2000, 2001, 2002]
    z = np.ones((3, 4), "float32")
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(loaded(z)), keras.ops.convert_to_numpy(g(z))
    )


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"units": []}, TypeError, "`units` must be a non-empty list of ints"),
        ({"units": [4, 0]}, ValueError, "`units` must be an int >= 1"),
        ({"activations": ["relu"]}, ValueError, "`activations` must be a list of 2"),
        ({"activations": ["tanh", None]}, ValueError, "`activations` must be a list"),
        ({"kernel_seeds": [1]}, ValueError, "`kernel_seeds` must be a list of 2"),
        ({"kernel_seeds": [1, 0.5]}, TypeError, "`kernel_seeds` must be an int"),
    ],
)
def test_stack_rejects_bad_arguments(kwargs, error, match):
    args = {"units": [4, 1], "activations": ["relu", None], "kernel_seeds": [1, 2]}
    with pytest.raises(error, match=match):
        networks.DenseStack(**{**args, **kwargs})

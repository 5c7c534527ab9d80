"""Gradient penalties of a linear discriminator against their closed forms."""

import keras
import numpy as np
import pytest

import keras_graft
from tests.gan.helpers import constant_generator, linear_discriminator


@pytest.mark.parametrize("shape", [(3,), (2, 2, 1)])
def test_wgan_gp_and_r1_closed_forms(shape):
    rng = np.random.default_rng(1)
    n = int(np.prod(shape))
    w = rng.normal(size=n).astype("float32")
    real = rng.normal(size=(6, *shape)).astype("float32")
    fake = rng.normal(size=(6, *shape)).astype("float32")
    norm = np.linalg.norm(w)

    gan = keras_graft.GAN(constant_generator(n) if len(shape) == 1 else
                          _image_generator(shape), linear_discriminator(w, 0.3, shape))
    gan.compile(keras.optimizers.SGD(), keras.optimizers.SGD(),
                gradient_penalty="wgan_gp", penalty_weight=1.0)
    got = keras.ops.convert_to_numpy(gan.gradient_penalty(real, fake))
    np.testing.assert_allclose(got, (norm - 1) ** 2, rtol=1e-4)

    gan.compile(keras.optimizers.SGD(), keras.optimizers.SGD(),
                gradient_penalty="r1", penalty_weight=10.0)
    got = keras.ops.convert_to_numpy(gan.gradient_penalty(real))
    np.testing.assert_allclose(got, 10.0 / 2 * norm**2, rtol=1e-4)


def _image_generator(shape):
    z = keras.Input((2,))
    x = keras.layers.Dense(int(np.prod(shape)))(z)
    return keras.Model(z, keras.layers.Reshape(shape)(x), name="generator")

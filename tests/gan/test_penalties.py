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

    gan = keras_graft.GAN(
        constant_generator(n) if len(shape) == 1 else _image_generator(shape),
        linear_discriminator(w, 0.3, shape),
    )
    gan.compile(
        keras.optimizers.SGD(),
        keras.optimizers.SGD(),
        gradient_penalty="wgan_gp",
        penalty_weight=1.0,
    )
    got = keras.ops.convert_to_numpy(gan.gradient_penalty(real, fake))
    np.testing.assert_allclose(got, (norm - 1) ** 2, rtol=1e-4)

    gan.compile(
        keras.optimizers.SGD(),
        keras.optimizers.SGD(),
        gradient_penalty="r1",
        penalty_weight=10.0,
    )
    got = keras.ops.convert_to_numpy(gan.gradient_penalty(real))
    np.testing.assert_allclose(got, 10.0 / 2 * norm**2, rtol=1e-4)


def _image_generator(shape):
    z = keras.Input((2,))
    x = keras.layers.Dense(int(np.prod(shape)))(z)
    return keras.Model(z, keras.layers.Reshape(shape)(x), name="generator")


@pytest.mark.parametrize("gradient_penalty", ["r1", "wgan_gp"])
def test_penalty_pass_leaves_batchnorm_statistics_alone(gradient_penalty):
    """The penalty's forward pass does not update D's moving statistics, on
    every backend: they follow D's passes on real and generated samples only,
    so they equal those of the same run without a penalty. (D's BatchNorm
    comes first and G draws the same samples whatever its latents, a constant
    it does not learn: D's statistics depend on the same inputs in both runs,
    not on the weights the penalty changes nor on WGAN-GP's extra random
    draws.)"""
    from keras import layers

    from tests.gan.helpers import ring_of_gaussians

    def stats(gradient_penalty):
        keras.utils.set_random_seed(0)
        x = inputs = keras.Input((2,))
        x = layers.BatchNormalization(momentum=0.5)(x)
        x = layers.Dense(8, activation="relu")(x)
        d = keras.Model(inputs, layers.Dense(1)(x), name="discriminator")
        g = keras.Sequential(
            [
                keras.Input((4,)),
                layers.Dense(
                    2,
                    kernel_initializer="zeros",
                    bias_initializer=keras.initializers.Constant([0.5, -0.25]),
                ),
            ],
            name="generator",
        )
        gan = keras_graft.GAN(g, d, seed=0)
        gan.compile(
            keras.optimizers.SGD(1e-2),
            keras.optimizers.SGD(0.0),
            gradient_penalty=gradient_penalty,
            penalty_weight=10.0,
        )
        gan.fit(
            ring_of_gaussians(64), batch_size=32, epochs=1, shuffle=False, verbose=0
        )
        bn = d.layers[1]
        return [
            np.array(keras.ops.convert_to_numpy(v))
            for v in (bn.moving_mean, bn.moving_variance)
        ]

    without, with_penalty = stats(None), stats(gradient_penalty)
    assert not np.allclose(without[0], 0.0)  # the statistics did move
    for a, b in zip(without, with_penalty):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)

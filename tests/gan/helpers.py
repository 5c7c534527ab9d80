"""Small networks and data shared by the GAN tests."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from keras_graft import datasets


def ring_of_gaussians(n: int = 256, seed: int = 0) -> np.ndarray:
    """`n` points of `keras_graft.datasets.ring_of_gaussians` (8 modes of std 0.05).

    Args:
        n (int): Number of points.
        seed (int): Seed of the draw.

    Returns:
        np.ndarray: The points, float32 (n, 2), without the mode centres.
    """
    points, _ = datasets.ring_of_gaussians(n, std=0.05, seed=seed)
    return points


def mlp(
    in_dim: int, out_dim: int, name: str, hidden: int = 16, batchnorm: bool = False
) -> keras.Model:
    x = inputs = keras.Input((in_dim,))
    for _ in range(2):
        x = layers.Dense(hidden)(x)
        if batchnorm:
            x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    return keras.Model(inputs, layers.Dense(out_dim)(x), name=name)


def mlp_pair(seed: int = 0, latent: int = 4, batchnorm: bool = False):
    keras.utils.set_random_seed(seed)
    return (
        mlp(latent, 2, "generator", batchnorm=batchnorm),
        mlp(2, 1, "discriminator"),
    )


@keras.saving.register_keras_serializable(package="keras_graft_tests")
class ConstantOutput(layers.Layer):
    """`G(z) = b`: a generator whose only trainable weight is its output."""

    def __init__(self, units: int = 1, init: float | list = 0.3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.init = init

    def build(self, input_shape):
        self.b = self.add_weight(
            shape=(self.units,),
            initializer=keras.initializers.Constant(self.init),
            name="b",
        )

    def call(self, z):
        return ops.zeros_like(z[:, :1]) + self.b

    def get_config(self):
        return {**super().get_config(), "units": self.units, "init": self.init}


def constant_generator(units: int = 1, init: float | list = 0.3, latent: int = 1):
    z = keras.Input((latent,))
    return keras.Model(z, ConstantOutput(units, init)(z), name="generator")


def linear_discriminator(w, c: float = 0.0, input_shape=None):
    w = np.asarray(w, dtype="float32").reshape(-1, 1)
    shape = input_shape or (w.shape[0],)
    x = inputs = keras.Input(shape)
    if len(shape) > 1:
        x = layers.Flatten()(x)
    out = layers.Dense(
        1,
        kernel_initializer=keras.initializers.Constant(w),
        bias_initializer=keras.initializers.Constant(c),
    )(x)
    return keras.Model(inputs, out, name="discriminator")


def weights(model) -> list[np.ndarray]:
    return [np.array(ops.convert_to_numpy(v)) for v in model.weights]

"""Generators and discriminators of the experiments (functional Keras models).

- `mlp_generator`, `mlp_discriminator`: small MLPs for the planar mixtures,
  each one `DenseStack` layer: the same weights and numbers as a chain of
  `Dense` layers, with one layer call instead of three (generator) or five
  (discriminator). On PyTorch, where Keras runs every layer call in Python,
  a ring run takes 0.65x the time (`benchmarks/ring_run.py`).
- `dcgan_generator`, `dcgan_discriminator`: DCGAN-style networks for 28x28 or
  32x32 images, without BatchNorm (widths set by `width`); the generator
  upsamples with stride-2 transposed convolutions or in sub-pixel form
  (a 2x2 convolution to 4x the channels, then `DepthToSpace`), which XLA:CPU
  runs faster.
- `resnet_generator`, `resnet_discriminator`: the ResNet pair of WGAN-GP
  (Gulrajani et al., 2017) for 32x32 images (CIFAR-10), for GPU runs.
"""

from __future__ import annotations

from typing import Any, Sequence

import keras
from keras import layers, ops

from keras_graft._validation import check_choice, check_int, fail

UPSAMPLING = ("transpose", "subpixel")


@keras.saving.register_keras_serializable(package="keras_graft")
class DepthToSpace(layers.Layer):
    """Rearranges channels into 2x2 spatial blocks: (N, H, W, 4C) -> (N, 2H, 2W, C).

    Output pixel ``(2i + a, 2j + b)`` of channel ``c`` is input pixel ``(i, j)``
    of channel ``(2a + b) C + c`` (TensorFlow's ``depth_to_space`` order, block
    size 2). A convolution to 4C channels followed by this layer is a
    sub-pixel upsampling (Shi et al., 2016); with a 3x3 kernel it can express
    any stride-2 4x4 transposed convolution.
    """

    def call(self, x):
        """Rearrange `x` (N, H, W, 4C) into (N, 2H, 2W, C).

        Args:
            x (Any): A batch of feature maps whose channels divide by 4.

        Returns:
            Any: The upsampled batch.
        """
        _, h, w, c = x.shape
        x = ops.reshape(x, (-1, h, w, 2, 2, c // 4))
        x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
        return ops.reshape(x, (-1, 2 * h, 2 * w, c // 4))

    def compute_output_shape(self, input_shape):
        """The output shape: spatial sizes doubled, channels divided by 4.

        Args:
            input_shape (tuple): ``(N, H, W, 4C)``; any of them may be None.

        Returns:
            tuple: ``(N, 2H, 2W, C)``.
        """
        n, h, w, c = input_shape
        return (n, None if h is None else 2 * h, None if w is None else 2 * w, c // 4)


def _upsample(x, filters: int, mode: str, seed: int, i: int, activation=None):
    """Double the spatial size: a stride-2 4x4 transposed conv or a sub-pixel conv.

    The sub-pixel form is a 2x2 convolution to 4x the channels, then
    `DepthToSpace`: the same number of weights and multiply-adds as the 4x4
    stride-2 transposed convolution (each output phase sees a 2x2 window), and
    about 1.7x faster on XLA:CPU on the digit DCGAN.
    """
    init = _init(seed, i)
    if mode == "transpose":
        return layers.Conv2DTranspose(
            filters, 4, 2, "same", activation=activation, kernel_initializer=init
        )(x)
    x = layers.Conv2D(4 * filters, 2, padding="same", kernel_initializer=init)(x)
    x = DepthToSpace()(x)
    return layers.Activation(activation)(x) if activation else x


def _seed(seed: int, i: int) -> int:
    return seed * 1000 + i


def _init(seed: int, i: int) -> keras.initializers.Initializer:
    return keras.initializers.GlorotUniform(seed=_seed(seed, i))


#: Activations a `DenseStack` layer may apply (LeakyReLU's slope: 0.2).
STACK_ACTIVATIONS = ("relu", "leaky_relu", None)


def _per_layer(value: Any, name: str, count: int, what: str) -> tuple:
    """`value` as a tuple of one entry per layer, or a clear error."""
    if not isinstance(value, (list, tuple)) or len(value) != count:
        expected = f"a list of {count} {what}(s), one per layer of `units`"
        fail(ValueError, name, expected, value)
    return tuple(value)


@keras.saving.register_keras_serializable(package="keras_graft")
class DenseStack(layers.Layer):
    """Dense layers in sequence, as one layer: ``x_{i+1} = a_i(x_i W_i + b_i)``.

    Layer ``i`` has a kernel ``W_i`` initialised with
    ``GlorotUniform(seed=kernel_seeds[i])``, a zero bias ``b_i`` and the
    activation ``a_i`` (``"relu"``, ``"leaky_relu"`` with slope 0.2, or None).
    The weights, their order (kernel then bias, layer by layer) and every
    operation are those of the same chain of `keras.layers.Dense` (and
    `keras.layers.LeakyReLU(0.2)`) layers, so both give the same numbers
    bit for bit; this one is a single layer call. On PyTorch, where Keras runs
    each layer call in Python (about 0.1-0.2 ms), that is most of a small
    MLP's step.

    Args:
        units (Sequence[int]): Output units of each layer.
        activations (Sequence[str | None]): One per layer.
        kernel_seeds (Sequence[int]): One seed per layer.
        **kwargs (Any): `keras.layers.Layer` arguments (``name``, ``dtype``).
    """

    def __init__(
        self,
        units: Sequence[int],
        activations: Sequence[str | None],
        kernel_seeds: Sequence[int],
        **kwargs: Any,
    ) -> None:
        if not isinstance(units, (list, tuple)) or not units:
            fail(TypeError, "units", "a non-empty list of ints", units)
        units = tuple(check_int(u, "units", 1) for u in units)
        activations = _per_layer(activations, "activations", len(units), "activation")
        for a in activations:
            if a not in STACK_ACTIVATIONS:
                expected = f"a list of {STACK_ACTIVATIONS} entries"
                fail(ValueError, "activations", expected, list(activations))
        kernel_seeds = _per_layer(kernel_seeds, "kernel_seeds", len(units), "int")
        kernel_seeds = tuple(check_int(k, "kernel_seeds") for k in kernel_seeds)
        super().__init__(**kwargs)
        self.units = units
        self.activations = activations
        self.kernel_seeds = kernel_seeds

    def build(self, input_shape):
        """Create each layer's kernel and bias, in `Dense`'s order.

        Args:
            input_shape (tuple): ``(..., features)``.
        """
        self.weight_pairs = []
        fan_in = input_shape[-1]
        for i, (units, seed) in enumerate(zip(self.units, self.kernel_seeds)):
            kernel = self.add_weight(
                shape=(fan_in, units),
                initializer=keras.initializers.GlorotUniform(seed=seed),
                name=f"kernel_{i}",
            )
            bias = self.add_weight(
                shape=(units,), initializer="zeros", name=f"bias_{i}"
            )
            self.weight_pairs.append((kernel, bias))
            fan_in = units

    def call(self, x):
        """Apply the layers in turn.

        Args:
            x (Any): A batch ``(..., features)``.

        Returns:
            Any: ``(..., units[-1])``.
        """
        for (kernel, bias), activation in zip(self.weight_pairs, self.activations):
            x = ops.add(ops.matmul(x, kernel), bias)
            if activation == "relu":
                x = ops.relu(x)
            elif activation == "leaky_relu":
                x = ops.leaky_relu(x, negative_slope=0.2)
        return x

    def compute_output_shape(self, input_shape):
        """The input shape with its last axis ``units[-1]``.

        Args:
            input_shape (tuple): ``(..., features)``.

        Returns:
            tuple: ``(..., units[-1])``.
        """
        return (*input_shape[:-1], self.units[-1])

    def get_config(self):
        """The layer's config (`units`, `activations`, `kernel_seeds`).

        Returns:
            dict: The config.
        """
        return {
            **super().get_config(),
            "units": list(self.units),
            "activations": list(self.activations),
            "kernel_seeds": list(self.kernel_seeds),
        }


def mlp_generator(
    latent_dim: int = 8,
    hidden: int = 64,
    depth: int = 2,
    out_dim: int = 2,
    seed: int = 0,
) -> keras.Model:
    """An MLP generator ``R^latent_dim -> R^out_dim`` with ReLU hidden layers.

    One `DenseStack` layer; kernel ``i`` has seed ``1000 seed + i``.

    Args:
        latent_dim (int): Latent dimension.
        hidden (int): Units per hidden layer.
        depth (int): Hidden layers.
        out_dim (int): Output dimension.
        seed (int): Seed of the initialisers.

    Returns:
        keras.Model: The generator.
    """
    inputs = keras.Input((latent_dim,))
    stack = DenseStack(
        [hidden] * depth + [out_dim],
        ["relu"] * depth + [None],
        [_seed(seed, i) for i in range(depth + 1)],
        name="mlp",
    )
    return keras.Model(inputs, stack(inputs), name="generator")


def mlp_discriminator(
    in_dim: int = 2, hidden: int = 64, depth: int = 2, seed: int = 0
) -> keras.Model:
    """An MLP discriminator ``R^in_dim -> R`` (a logit) with LeakyReLU layers.

    One `DenseStack` layer; hidden kernel ``i`` has seed ``1000 seed + 10 +
    i``, the output kernel ``1000 seed + 20``.

    Args:
        in_dim (int): Input dimension.
        hidden (int): Units per hidden layer.
        depth (int): Hidden layers.
        seed (int): Seed of the initialisers.

    Returns:
        keras.Model: The discriminator.
    """
    inputs = keras.Input((in_dim,))
    stack = DenseStack(
        [hidden] * depth + [1],
        ["leaky_relu"] * depth + [None],
        [_seed(seed, 10 + i) for i in range(depth)] + [_seed(seed, 20)],
        name="mlp",
    )
    return keras.Model(inputs, stack(inputs), name="discriminator")


def dcgan_generator(
    latent_dim: int = 32,
    width: int = 32,
    image_size: int = 28,
    channels: int = 1,
    seed: int = 0,
    upsample: str = "transpose",
) -> keras.Model:
    """A DCGAN generator: dense to (s/4, s/4, 2*width), two 2x upsamplings, tanh.

    Args:
        latent_dim (int): Latent dimension.
        width (int): Channels of the last hidden feature map.
        image_size (int): 28 or 32 (divisible by 4).
        channels (int): Output channels.
        seed (int): Seed of the initialisers.
        upsample (str): "transpose" (stride-2 4x4 transposed convolutions) or
            "subpixel" (2x2 convolutions to 4x the channels, then
            `DepthToSpace`).

    Returns:
        keras.Model: Latents (N, latent_dim) to images (N, s, s, channels)
        in [-1, 1].
    """
    check_choice(upsample, "upsample", UPSAMPLING)
    s = image_size // 4
    x = inputs = keras.Input((latent_dim,))
    x = layers.Dense(s * s * 2 * width, kernel_initializer=_init(seed, 0))(x)
    x = layers.LeakyReLU(0.2)(layers.Reshape((s, s, 2 * width))(x))
    x = layers.LeakyReLU(0.2)(_upsample(x, width, upsample, seed, 1))
    out = _upsample(x, channels, upsample, seed, 2, activation="tanh")
    return keras.Model(inputs, out, name="generator")


def dcgan_discriminator(
    width: int = 32, image_size: int = 28, channels: int = 1, seed: int = 0
) -> keras.Model:
    """A DCGAN discriminator: two stride-2 convs (width, 2*width), a dense logit.

    Args:
        width (int): Channels of the first convolution.
        image_size (int): Image side.
        channels (int): Input channels.
        seed (int): Seed of the initialisers.

    Returns:
        keras.Model: Images to logits (N, 1).
    """
    x = inputs = keras.Input((image_size, image_size, channels))
    x = layers.Conv2D(width, 4, 2, "same", kernel_initializer=_init(seed, 10))(x)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.Conv2D(2 * width, 4, 2, "same", kernel_initializer=_init(seed, 11))(x)
    x = layers.LeakyReLU(0.2)(x)
    out = layers.Dense(1, kernel_initializer=_init(seed, 12))(layers.Flatten()(x))
    return keras.Model(inputs, out, name="discriminator")


def _res_block(x, filters: int, resample: str | None, seed: int, i: int, norm: bool):
    """A residual block of WGAN-GP: upsampled, plain or downsampled.

    Its convolutions are initialised from seeds ``i`` (the 1x1 shortcut),
    ``i + 1`` and ``i + 2`` (the two 3x3 convolutions).
    """

    def conv(size: int, k: int) -> layers.Layer:
        init = _init(seed, i + k)
        if size == 1:
            return layers.Conv2D(filters, 1, kernel_initializer=init)
        return layers.Conv2D(filters, size, padding="same", kernel_initializer=init)

    shortcut = x
    if resample == "up":
        shortcut = layers.UpSampling2D()(shortcut)
    if shortcut.shape[-1] != filters or resample is not None:
        shortcut = conv(1, 0)(shortcut)
    if resample == "down":
        shortcut = layers.AveragePooling2D(2)(shortcut)
    h = x
    if norm:
        h = layers.BatchNormalization()(h)
    h = layers.ReLU()(h)
    if resample == "up":
        h = layers.UpSampling2D()(h)
    h = conv(3, 1)(h)
    if norm:
        h = layers.BatchNormalization()(h)
    h = layers.ReLU()(h)
    h = conv(3, 2)(h)
    if resample == "down":
        h = layers.AveragePooling2D(2)(h)
    return layers.Add()([shortcut, h])


def resnet_generator(
    latent_dim: int = 128, filters: int = 128, channels: int = 3, seed: int = 0
) -> keras.Model:
    """The WGAN-GP CIFAR-10 ResNet generator: 4x4 -> three up-blocks -> 32x32.

    Args:
        latent_dim (int): Latent dimension.
        filters (int): Channels of every block.
        channels (int): Output channels.
        seed (int): Seed of the initialisers.

    Returns:
        keras.Model: Latents to images (N, 32, 32, channels) in [-1, 1].
    """
    inputs = keras.Input((latent_dim,))
    x = layers.Dense(4 * 4 * filters, kernel_initializer=_init(seed, 0))(inputs)
    x = layers.Reshape((4, 4, filters))(x)
    for b in range(3):
        x = _res_block(x, filters, "up", seed, 10 * (b + 1), norm=True)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    out = layers.Conv2D(
        channels,
        3,
        padding="same",
        activation="tanh",
        kernel_initializer=_init(seed, 99),
    )(x)
    return keras.Model(inputs, out, name="generator")


def resnet_discriminator(
    filters: int = 128, image_size: int = 32, channels: int = 3, seed: int = 0
) -> keras.Model:
    """The WGAN-GP CIFAR-10 ResNet critic: two down-blocks, two plain blocks, mean pool.

    No normalization (a gradient penalty needs a per-sample critic).

    Args:
        filters (int): Channels of every block.
        image_size (int): Image side.
        channels (int): Input channels.
        seed (int): Seed of the initialisers.

    Returns:
        keras.Model: Images to scores (N, 1).
    """
    x = inputs = keras.Input((image_size, image_size, channels))
    for b, resample in enumerate(("down", "down", None, None)):
        x = _res_block(x, filters, resample, seed, 100 + 10 * b, norm=False)
    x = layers.GlobalAveragePooling2D()(layers.ReLU()(x))
    out = layers.Dense(1, kernel_initializer=_init(seed, 199))(x)
    return keras.Model(inputs, out, name="discriminator")

"""The two players of a GAN: their input shapes, and building them if needed.

A player may be any `keras.Model`: Functional or Sequential (built on
`keras.Input`, shapes read from its inputs) or subclassed (shapes unknown
until it is called). `inspect_players` finds the latent shape (from
`latent_dim` or the generator's input), builds a player that is not built yet
by calling it once on a small batch of zeros, and reads the sample shape from
the generator's output. Class-conditional players take a second input, the
integer class labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import keras
import numpy as np
from keras import ops

from keras_graft import _validation as check

# Rows of the zeros batch a player is built on (2: BatchNorm needs no more).
_BUILD_BATCH = 2


@dataclass(frozen=True)
class Players:
    """What the GAN needs to know about its players.

    Attributes:
        latent_shape: shape of one latent vector.
        sample_shape: shape of one sample (the generator's output, the
            discriminator's input), batch axis excluded.
        latent_dtype: dtype latents are fed to the generator in.
        sample_dtype: dtype samples are fed to the discriminator in.
        g_label_shape: shape of one label as the generator takes it: `()`
            (labels `(batch,)`) or `(1,)` (labels `(batch, 1)`); `None`
            when unconditional.
        d_label_shape: likewise for the discriminator.
    """

    latent_shape: tuple
    sample_shape: tuple
    latent_dtype: str
    sample_dtype: str
    g_label_shape: tuple | None
    d_label_shape: tuple | None


def shapes_match(a: Sequence, b: Sequence) -> bool:
    """Whether two shapes agree where both are known (`None` matches any)."""
    return len(a) == len(b) and all(
        x is None or y is None or x == y for x, y in zip(a, b)
    )


def check_latent_dim(latent_dim: Any) -> tuple:
    """`latent_dim` (a positive int or a tuple of them) as a shape tuple."""
    expected = "None, a positive int or a non-empty tuple of positive ints"
    dims = list(latent_dim) if isinstance(latent_dim, (list, tuple)) else [latent_dim]
    if not dims:
        check.fail(ValueError, "latent_dim", expected, latent_dim)
    for d in dims:
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)):
            check.fail(TypeError, "latent_dim", expected, latent_dim)
        if d < 1:
            check.fail(ValueError, "latent_dim", expected, latent_dim)
    return tuple(int(d) for d in dims)


def check_num_classes(num_classes: Any) -> int | None:
    """`num_classes`: None (unconditional) or an int >= 2."""
    return check.check_optional_int(num_classes, "num_classes", minimum=2)


def _declared_inputs(model: keras.Model) -> list | None:
    """The model's `keras.Input` tensors, or None when it has none (subclassed)."""
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        return None
    return list(inputs) if inputs else None


def _label_shape(tensor, arg: str, name: str) -> tuple:
    shape = tuple(tensor.shape[1:])
    if shape not in ((), (1,), (None,)):
        raise ValueError(
            f"the label input of the {arg} {name!r} must take integer labels of "
            f"shape (batch,) or (batch, 1); it has shape {tuple(tensor.shape)}."
        )
    return () if shape == () else (1,)


def _check_inputs(model: keras.Model, arg: str, conditional: bool) -> list | None:
    """The model's declared inputs, checked against the expected count."""
    inputs = _declared_inputs(model)
    if inputs is None:
        return None
    expected = 2 if conditional else 1
    if len(inputs) != expected:
        what = (
            f"two inputs ([{'latents' if arg == 'generator' else 'samples'}, "
            "labels]) since num_classes is set"
            if conditional
            else "exactly one input (pass num_classes for a class-conditional GAN)"
        )
        raise ValueError(f"{arg} must have {what}; {model.name!r} has {len(inputs)}.")
    return inputs


def _pack(x, labels):
    return x if labels is None else [x, labels]


def inspect_players(
    generator: Any,
    discriminator: Any,
    latent_dim: Any,
    num_classes: int | None,
) -> Players:
    """Check the players, build those not built yet, and return their shapes.

    Raises:
        TypeError: a player is not a `keras.Model`.
        ValueError: shapes that do not fit together, or a latent shape that
            cannot be known (a subclassed generator and `latent_dim=None`).
    """
    for model, arg in ((generator, "generator"), (discriminator, "discriminator")):
        if not isinstance(model, keras.Model):
            check.fail(
                TypeError,
                arg,
                "a keras.Model (Sequential, Functional or subclassed)",
                model,
            )
    conditional = num_classes is not None
    g_inputs = _check_inputs(generator, "generator", conditional)
    d_inputs = _check_inputs(discriminator, "discriminator", conditional)

    g_in = None if g_inputs is None else tuple(g_inputs[0].shape[1:])
    if latent_dim is None:
        if g_in is None:
            raise ValueError(
                f"latent_dim=None but the generator {generator.name!r} declares no "
                "input (a subclassed model, or a Sequential model without "
                "keras.Input), so the latent shape is unknown; pass latent_dim."
            )
        if any(d is None for d in g_in):
            raise ValueError(
                f"latent_dim=None but the generator input shape {g_in} has "
                "unknown dimensions; pass latent_dim."
            )
        latent_shape = tuple(int(d) for d in g_in)
    else:
        latent_shape = check_latent_dim(latent_dim)
        if g_in is not None and not shapes_match(latent_shape, g_in):
            raise ValueError(
                f"latent_dim={latent_dim!r} does not match the generator input "
                f"shape {g_in} (batch axis excluded)."
            )

    floatx = keras.config.floatx()
    latent_dtype = floatx if g_inputs is None else g_inputs[0].dtype
    g_label_shape = d_label_shape = None
    if conditional:
        g_label_shape = (
            ()
            if g_inputs is None
            else _label_shape(g_inputs[1], "generator", generator.name)
        )
        d_label_shape = (
            ()
            if d_inputs is None
            else _label_shape(d_inputs[1], "discriminator", discriminator.name)
        )

    # The generator's output shape: declared, or found by calling it once.
    g_out = None
    if g_inputs is not None:
        try:
            g_out = tuple(generator.outputs[0].shape[1:])
        except (AttributeError, ValueError, IndexError, TypeError):
            g_out = None
    fake = None
    if g_out is None or not generator.built:
        fake = _call(generator, "generator", latent_shape, latent_dtype, g_label_shape)
        g_out = tuple(fake.shape[1:])

    if d_inputs is not None:
        d_in = tuple(d_inputs[0].shape[1:])
        if not shapes_match(g_out, d_in):
            raise ValueError(
                f"generator output shape {g_out} does not match the discriminator "
                f"input shape {d_in} (batch axis excluded)."
            )
        sample_shape = d_in if all(d is not None for d in d_in) else g_out
        sample_dtype = d_inputs[0].dtype
    else:
        sample_shape = g_out
        sample_dtype = floatx
    if any(d is None for d in sample_shape):
        raise ValueError(
            f"the sample shape {sample_shape} has unknown dimensions; build the "
            "generator on keras.Input with a fixed output shape."
        )
    if d_inputs is None or not discriminator.built:
        if fake is None:
            fake = _call(
                generator, "generator", latent_shape, latent_dtype, g_label_shape
            )
        scores = _call_player(
            discriminator,
            "discriminator",
            ops.cast(fake, sample_dtype),
            _zero_labels(d_label_shape),
            f"generated samples of shape {(None,) + tuple(sample_shape)}",
        )
        per_sample = int(np.prod(tuple(scores.shape[1:]), dtype=np.int64))
        if per_sample != 1:
            raise ValueError(
                f"discriminator {discriminator.name!r} must output one score per "
                f"sample; it outputs shape {tuple(scores.shape)}."
            )
    return Players(
        latent_shape=tuple(int(d) for d in latent_shape),
        sample_shape=tuple(int(d) for d in sample_shape),
        latent_dtype=str(latent_dtype),
        sample_dtype=str(sample_dtype),
        g_label_shape=g_label_shape,
        d_label_shape=d_label_shape,
    )


def _zero_labels(label_shape: tuple | None):
    if label_shape is None:
        return None
    return ops.zeros((_BUILD_BATCH,) + label_shape, dtype="int32")


def _call(generator, arg, latent_shape, latent_dtype, label_shape):
    z = ops.zeros((_BUILD_BATCH,) + tuple(latent_shape), dtype=latent_dtype)
    return _call_player(
        generator,
        arg,
        z,
        _zero_labels(label_shape),
        f"latents of shape {(None,) + tuple(latent_shape)} (latent_dim)",
    )


def _call_player(model, arg, x, labels, what: str):
    """`model` on `x` (and labels) in inference mode; a ValueError if it fails."""
    try:
        return model(_pack(x, labels), training=False)
    except Exception as e:  # any failure: re-raised with the shapes
        raise ValueError(
            f"{arg} {model.name!r} could not be called on {what}"
            + (" and labels" if labels is not None else "")
            + f": {type(e).__name__}: {e}"
        ) from e

"""GAN losses and gradient penalties, written once with `keras.ops`.

The discriminator outputs unbounded scores ("logits"); every loss below takes
them as they are. Each loss is available two ways:

* as one standalone function `name(real_logits, fake_logits) -> (d_loss, g_loss)`,
  handy in a hand-written loop or a test;
* split into its discriminator part `d_fn(real_logits, fake_logits)` and its
  generator part `g_fn(fake_logits)` through `get_loss(name)`, which is what
  `keras_graft.GAN` uses (the generator step never needs the real logits).

All reductions are means over every element, so a discriminator may output
shape `(batch,)` or `(batch, 1)`.

Example:
    >>> import numpy as np
    >>> from keras_graft.gan import losses
    >>> d, g = losses.non_saturating(np.zeros((4, 1)), np.zeros((4, 1)))
    >>> round(float(d), 4), round(float(g), 4)
    (1.3863, 0.6931)
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

from keras import ops

from keras_graft._validation import check_choice

Tensor = Any

__all__ = [
    "LOSSES",
    "PENALTIES",
    "GANLoss",
    "get_loss",
    "hinge",
    "least_squares",
    "minimax",
    "non_saturating",
    "r1_penalty",
    "wasserstein",
    "wgan_gp_penalty",
]


class GANLoss(NamedTuple):
    """The two halves of a GAN loss.

    Attributes:
        d_fn: `d_fn(real_logits, fake_logits)`, the discriminator's loss.
        g_fn: `g_fn(fake_logits)`, the generator's loss.
    """

    d_fn: Callable[[Tensor, Tensor], Tensor]
    g_fn: Callable[[Tensor], Tensor]


def _mean(x: Tensor) -> Tensor:
    return ops.mean(ops.convert_to_tensor(x))


# ---------------------------------------------------------------------------
# Discriminator and generator halves.


def _bce_d(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    # -log sigmoid(r) - log(1 - sigmoid(f)) = softplus(-r) + softplus(f)
    return _mean(ops.softplus(-real_logits)) + _mean(ops.softplus(fake_logits))


def _non_saturating_g(fake_logits: Tensor) -> Tensor:
    # -log sigmoid(f)
    return _mean(ops.softplus(-fake_logits))


def _minimax_g(fake_logits: Tensor) -> Tensor:
    # log(1 - sigmoid(f)) = -softplus(f)
    return -_mean(ops.softplus(fake_logits))


def _hinge_d(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    return _mean(ops.relu(1.0 - real_logits)) + _mean(ops.relu(1.0 + fake_logits))


def _wasserstein_d(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    return _mean(fake_logits) - _mean(real_logits)


def _negative_mean_g(fake_logits: Tensor) -> Tensor:
    return -_mean(fake_logits)


def _least_squares_d(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    return 0.5 * _mean(ops.square(real_logits - 1.0)) + 0.5 * _mean(
        ops.square(fake_logits)
    )


def _least_squares_g(fake_logits: Tensor) -> Tensor:
    return 0.5 * _mean(ops.square(fake_logits - 1.0))


LOSSES: dict[str, GANLoss] = {
    "non_saturating": GANLoss(_bce_d, _non_saturating_g),
    "minimax": GANLoss(_bce_d, _minimax_g),
    "hinge": GANLoss(_hinge_d, _negative_mean_g),
    "wasserstein": GANLoss(_wasserstein_d, _negative_mean_g),
    "least_squares": GANLoss(_least_squares_d, _least_squares_g),
}
"""The losses by name, each as a `GANLoss(d_fn, g_fn)`."""


def get_loss(name: str) -> GANLoss:
    """Look a loss up by name.

    Args:
        name (str): one of `"non_saturating"`, `"minimax"`, `"hinge"`,
            `"wasserstein"`, `"least_squares"`.

    Returns:
        GANLoss: the pair `(d_fn, g_fn)`.

    Raises:
        ValueError: if `name` is not one of the names above.
    """
    return LOSSES[check_choice(name, "loss", sorted(LOSSES))]


# ---------------------------------------------------------------------------
# Standalone losses: (real_logits, fake_logits) -> (d_loss, g_loss).


def non_saturating(real_logits: Tensor, fake_logits: Tensor) -> tuple[Tensor, Tensor]:
    """Non-saturating GAN loss (Goodfellow et al., 2014, section 3).

    `d_loss = E[softplus(-D(x))] + E[softplus(D(G(z)))]` (binary cross-entropy on
    logits) and `g_loss = E[softplus(-D(G(z)))] = -E[log sigmoid(D(G(z)))]`.

    Args:
        real_logits (Tensor): discriminator outputs on real data.
        fake_logits (Tensor): discriminator outputs on generated data.

    Returns:
        tuple[Tensor, Tensor]: `(d_loss, g_loss)`, scalars.
    """
    return _bce_d(real_logits, fake_logits), _non_saturating_g(fake_logits)


def minimax(real_logits: Tensor, fake_logits: Tensor) -> tuple[Tensor, Tensor]:
    """Original minimax (saturating) GAN loss.

    `d_loss` as in `non_saturating`; `g_loss = E[log(1 - sigmoid(D(G(z))))]
    = -E[softplus(D(G(z)))]`, i.e. the generator minimises exactly minus the
    fake half of the discriminator's loss.

    Args:
        real_logits (Tensor): discriminator outputs on real data.
        fake_logits (Tensor): discriminator outputs on generated data.

    Returns:
        tuple[Tensor, Tensor]: `(d_loss, g_loss)`, scalars.
    """
    return _bce_d(real_logits, fake_logits), _minimax_g(fake_logits)


def hinge(real_logits: Tensor, fake_logits: Tensor) -> tuple[Tensor, Tensor]:
    """Hinge GAN loss (Lim & Ye 2017; Miyato et al. 2018).

    `d_loss = E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]`, `g_loss = -E[D(G(z))]`.

    Args:
        real_logits (Tensor): discriminator outputs on real data.
        fake_logits (Tensor): discriminator outputs on generated data.

    Returns:
        tuple[Tensor, Tensor]: `(d_loss, g_loss)`, scalars.
    """
    return _hinge_d(real_logits, fake_logits), _negative_mean_g(fake_logits)


def wasserstein(real_logits: Tensor, fake_logits: Tensor) -> tuple[Tensor, Tensor]:
    """Wasserstein GAN loss (Arjovsky et al., 2017).

    `d_loss = E[D(G(z))] - E[D(x)]`, `g_loss = -E[D(G(z))]`. Pair it with a
    Lipschitz constraint, e.g. `gradient_penalty="wgan_gp"`.

    Args:
        real_logits (Tensor): critic outputs on real data.
        fake_logits (Tensor): critic outputs on generated data.

    Returns:
        tuple[Tensor, Tensor]: `(d_loss, g_loss)`, scalars.
    """
    return _wasserstein_d(real_logits, fake_logits), _negative_mean_g(fake_logits)


def least_squares(real_logits: Tensor, fake_logits: Tensor) -> tuple[Tensor, Tensor]:
    """Least-squares GAN loss (Mao et al., 2017) with targets a=0, b=1, c=1.

    `d_loss = 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]`,
    `g_loss = 1/2 E[(D(G(z)) - 1)^2]`, on the raw discriminator outputs.

    Args:
        real_logits (Tensor): discriminator outputs on real data.
        fake_logits (Tensor): discriminator outputs on generated data.

    Returns:
        tuple[Tensor, Tensor]: `(d_loss, g_loss)`, scalars.
    """
    return _least_squares_d(real_logits, fake_logits), _least_squares_g(fake_logits)


# ---------------------------------------------------------------------------
# Gradient penalties, from input gradients (computed by the backend).

_NORM_EPS = 1e-12


def _per_sample_squared_norm(gradients: Tensor) -> Tensor:
    g = ops.convert_to_tensor(gradients)
    g = ops.reshape(g, (ops.shape(g)[0], -1))
    return ops.sum(ops.square(g), axis=1)


def wgan_gp_penalty(input_gradients: Tensor) -> Tensor:
    """WGAN-GP penalty (Gulrajani et al., 2017), before its weight.

    `E[(||grad_x D(x_hat)|| - 1)^2]` with the norm taken per sample over all
    non-batch axes. `x_hat` are random interpolates between real and generated
    samples (drawn by `keras_graft.GAN`). A tiny epsilon inside the square root
    keeps the gradient of the norm finite at zero.

    Args:
        input_gradients (Tensor): `grad_x D` at `x_hat`, shape `(batch, ...)`.

    Returns:
        Tensor: the penalty, a scalar.
    """
    norm = ops.sqrt(_per_sample_squared_norm(input_gradients) + _NORM_EPS)
    return ops.mean(ops.square(norm - 1.0))


def r1_penalty(input_gradients: Tensor) -> Tensor:
    """R1 penalty (Mescheder et al., 2018), before its weight gamma.

    `1/2 E[||grad_x D(x)||^2]` on real samples, so that with weight `gamma`
    the term added to the discriminator loss is `gamma / 2 * E[||grad_x D(x)||^2]`.

    Args:
        input_gradients (Tensor): `grad_x D` at real samples, shape `(batch, ...)`.

    Returns:
        Tensor: the penalty, a scalar.
    """
    return 0.5 * ops.mean(_per_sample_squared_norm(input_gradients))


PENALTIES: dict[str, Callable[[Tensor], Tensor]] = {
    "wgan_gp": wgan_gp_penalty,
    "r1": r1_penalty,
}
"""The gradient penalties by name (unweighted)."""

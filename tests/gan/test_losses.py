"""Each GAN loss and penalty against a numpy reference on fixed inputs."""

import numpy as np
import pytest
from keras import ops

from keras_graft.gan import losses

RNG = np.random.default_rng(0)
REAL = RNG.normal(size=(7, 1)).astype("float32") * 2
FAKE = RNG.normal(size=(7, 1)).astype("float32") * 2


def softplus(x):
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


REFERENCES = {
    "non_saturating": (
        -np.mean(np.log(sigmoid(REAL))) - np.mean(np.log(1 - sigmoid(FAKE))),
        -np.mean(np.log(sigmoid(FAKE))),
    ),
    "minimax": (
        -np.mean(np.log(sigmoid(REAL))) - np.mean(np.log(1 - sigmoid(FAKE))),
        np.mean(np.log(1 - sigmoid(FAKE))),
    ),
    "hinge": (
        np.mean(np.maximum(0, 1 - REAL)) + np.mean(np.maximum(0, 1 + FAKE)),
        -np.mean(FAKE),
    ),
    "wasserstein": (np.mean(FAKE) - np.mean(REAL), -np.mean(FAKE)),
    "least_squares": (
        0.5 * np.mean((REAL - 1) ** 2) + 0.5 * np.mean(FAKE**2),
        0.5 * np.mean((FAKE - 1) ** 2),
    ),
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_loss_matches_numpy(name):
    d_ref, g_ref = REFERENCES[name]
    d, g = getattr(losses, name)(REAL, FAKE)
    np.testing.assert_allclose(ops.convert_to_numpy(d), d_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ops.convert_to_numpy(g), g_ref, rtol=1e-5, atol=1e-6)
    pair = losses.get_loss(name)
    np.testing.assert_allclose(
        ops.convert_to_numpy(pair.d_fn(REAL, FAKE)), d_ref, rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        ops.convert_to_numpy(pair.g_fn(FAKE)), g_ref, rtol=1e-5, atol=1e-6
    )


def test_losses_finite_on_large_logits():
    big = np.array([[-200.0], [200.0]], dtype="float32")
    for name in REFERENCES:
        d, g = getattr(losses, name)(big, -big)
        assert np.isfinite(ops.convert_to_numpy(d)) and np.isfinite(
            ops.convert_to_numpy(g)
        )


def test_penalties_match_numpy():
    grads = RNG.normal(size=(5, 3, 2, 1)).astype("float32")
    norms = np.sqrt((grads.reshape(5, -1) ** 2).sum(1))
    np.testing.assert_allclose(
        ops.convert_to_numpy(losses.wgan_gp_penalty(grads)),
        np.mean((norms - 1) ** 2),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        ops.convert_to_numpy(losses.r1_penalty(grads)),
        0.5 * np.mean(norms**2),
        rtol=1e-5,
    )


def test_unknown_loss_name():
    with pytest.raises(
        ValueError, match=r"`loss` must be one of .*'non_saturating'.*loss='gan'"
    ):
        losses.get_loss("gan")

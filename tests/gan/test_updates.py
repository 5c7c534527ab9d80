"""One step on tiny problems whose answer is computed by hand in numpy.

G(z) = b (a constant output, so latents do not matter) and D(x) = w.x + c,
trained with SGD: alternating and simultaneous updates, d_steps, the gradient
of each penalty through the whole training step, the generator EMA and pace.
"""

import keras
import numpy as np
import pytest

import keras_graft
from tests.gan.helpers import constant_generator, linear_discriminator

LR = 0.1
REAL = np.array([[1.0], [2.0], [-0.5], [0.5]], dtype="float32")


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def ns_d_grads(w, c, b):
    """Gradients of the non-saturating D loss for D(x) = w x + c, fake = b."""
    r = REAL[:, 0]
    sr = sigmoid(-(w * r + c))
    sf = sigmoid(w * b + c)
    return np.mean(-sr * r) + sf * b, np.mean(-sr) + sf


def ns_g_grad(w, c, b):
    return -sigmoid(-(w * b + c)) * w


def expected(update, d_steps, w=0.5, c=0.1, b=0.3):
    for i in range(d_steps):
        gw, gc = ns_d_grads(w, c, b)
        if update == "simultaneous" and i == d_steps - 1:
            gb = ns_g_grad(w, c, b)  # at the same point as the last D gradient
            return w - LR * gw, c - LR * gc, b - LR * gb
        w, c = w - LR * gw, c - LR * gc
    return w, c, b - LR * ns_g_grad(w, c, b)


def one_step(update, d_steps, **compile_kwargs):
    gan = keras_graft.GAN(
        constant_generator(), linear_discriminator([0.5], 0.1), seed=0
    )
    gan.compile(
        d_optimizer=keras.optimizers.SGD(LR),
        g_optimizer=keras.optimizers.SGD(LR),
        d_steps=d_steps,
        update=update,
        **compile_kwargs,
    )
    history = gan.fit(REAL, batch_size=4, epochs=1, shuffle=False, verbose=0)
    dense = gan.discriminator.layers[-1]
    w = float(keras.ops.convert_to_numpy(dense.kernel)[0, 0])
    c = float(keras.ops.convert_to_numpy(dense.bias)[0])
    b = float(keras.ops.convert_to_numpy(gan.generator.weights[0])[0])
    return gan, history, (w, c, b)


@pytest.mark.parametrize(
    "update,d_steps",
    [
        ("alternating", 1),
        ("simultaneous", 1),
        ("alternating", 2),
        ("simultaneous", 2),
    ],
)
def test_update_order_matches_hand_computation(update, d_steps):
    gan, history, got = one_step(update, d_steps, generator_ema=0.9)
    want = expected(update, d_steps)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert int(gan.d_optimizer.iterations) == d_steps
    assert int(gan.g_optimizer.iterations) == 1
    # Pace of this step: ||theta_after - theta_before|| / ||theta_before||.
    w0, c0, b0 = 0.5, 0.1, 0.3
    d_pace = np.hypot(got[0] - w0, got[1] - c0) / np.hypot(w0, c0)
    g_pace = abs(got[2] - b0) / abs(b0)
    np.testing.assert_allclose(history.history["d_pace"][-1], d_pace, rtol=1e-4)
    np.testing.assert_allclose(history.history["g_pace"][-1], g_pace, rtol=1e-4)
    np.testing.assert_allclose(
        history.history["pace_ratio"][-1], d_pace / g_pace, rtol=1e-4
    )
    # EMA of the generator after one step: m * b0 + (1 - m) * b1.
    ema_b = float(keras.ops.convert_to_numpy(gan.ema_generator.weights[0])[0])
    np.testing.assert_allclose(ema_b, 0.9 * b0 + 0.1 * got[2], rtol=1e-5)
    z = np.zeros((2, 1), "float32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(gan.generate(z, ema=True)), ema_b, rtol=1e-5
    )
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(gan.generate(z, ema=False)), got[2], rtol=1e-5
    )


def test_alternating_and_simultaneous_differ():
    alt = expected("alternating", 1)
    sim = expected("simultaneous", 1)
    assert abs(alt[2] - sim[2]) > 1e-4  # the test above can tell them apart


@pytest.mark.parametrize("penalty,weight", [("wgan_gp", 10.0), ("r1", 4.0)])
def test_penalty_gradient_through_training_step(penalty, weight):
    """Wasserstein loss, linear critic D(x) = w.x + c, fake = b (2-D).

    d_loss = w.(b - mean(real)) + P(w) with P = lambda (||w|| - 1)^2 (WGAN-GP:
    the gradient is w at every interpolate) or gamma/2 ||w||^2 (R1), so
    grad_w = b - mean(real) + P'(w), and grad_c = 0.
    """
    w0 = np.array([0.6, -0.8 * 1.5], dtype="float32")
    b0 = np.array([0.2, 0.4], dtype="float32")
    real = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, -1.0], [1.0, 1.0]], "float32")
    gan = keras_graft.GAN(
        constant_generator(2, b0.tolist()), linear_discriminator(w0, 0.1), seed=0
    )
    gan.compile(
        keras.optimizers.SGD(LR),
        keras.optimizers.SGD(LR),
        loss="wasserstein",
        gradient_penalty=penalty,
        penalty_weight=weight,
    )
    history = gan.fit(real, batch_size=4, epochs=1, shuffle=False, verbose=0)
    norm = np.linalg.norm(w0)
    if penalty == "wgan_gp":
        dp = 2 * weight * (norm - 1) * w0 / norm
        p = weight * (norm - 1) ** 2
    else:
        dp = weight * w0
        p = weight / 2 * norm**2
    w1 = w0 - LR * (b0 - real.mean(0) + dp)
    dense = gan.discriminator.layers[-1]
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(dense.kernel)[:, 0], w1, rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(keras.ops.convert_to_numpy(dense.bias), [0.1], atol=1e-6)
    np.testing.assert_allclose(history.history["penalty"][-1], p, rtol=1e-5)
    # Generator: g_loss = -(w1.b + c), grad_b = -w1.
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(gan.generator.weights[0]),
        b0 + LR * w1,
        rtol=1e-5,
        atol=1e-6,
    )

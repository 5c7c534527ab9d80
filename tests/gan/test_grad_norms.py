"""The players' gradient norms logged next to the pace (`d_grad_norm`, `g_grad_norm`).

With SGD(lr) and alternating updates, `d_steps=1`, each player's step is
`theta_after = theta_before - lr * grad`, so the logged norm must equal
`||theta_after - theta_before|| / lr` over all of that player's weights. The
last-of-`d_steps` and simultaneous cases are checked against gradients computed
by hand in numpy (G(z) = b, D(x) = w x + c, as in test_updates.py), and the
loss-scaled cases against the same run without loss scaling.
"""

import keras
import numpy as np
import pytest

import keras_graft
from tests.gan.helpers import (
    constant_generator,
    linear_discriminator,
    mlp_pair,
    ring_of_gaussians,
)

NORMS = ("d_grad_norm", "g_grad_norm")
DATA = ring_of_gaussians(64)


def _flat(model):
    return np.concatenate(
        [
            np.asarray(keras.ops.convert_to_numpy(v), dtype="float64").ravel()
            for v in model.trainable_weights
        ]
    )


def _sgd_gan(lr=1.0, **compile_kwargs):
    gan = keras_graft.GAN(*mlp_pair(seed=1), seed=3)
    gan.compile(keras.optimizers.SGD(lr), keras.optimizers.SGD(lr), **compile_kwargs)
    return gan


@pytest.mark.parametrize(
    "penalty,how",
    [
        (None, "fit"),
        (None, "train_on_batch"),
        ("r1", "train_on_batch"),
        ("wgan_gp", "fit"),
    ],
)
def test_grad_norms_are_the_sgd_step_over_lr(penalty, how):
    # lr = 1: the step is the gradient itself, so rounding the float32 weights
    # (~3e-8 each) costs well under 1e-5 of the norms here (0.1 .. 10).
    lr = 1.0
    gan = _sgd_gan(lr, gradient_penalty=penalty, penalty_weight=1.0)
    d0, g0 = _flat(gan.discriminator), _flat(gan.generator)
    if how == "fit":
        logs = {
            k: v[-1]
            for k, v in gan.fit(
                DATA, batch_size=64, epochs=1, shuffle=False, verbose=0
            ).history.items()
        }
    else:
        logs = gan.train_on_batch(DATA, return_dict=True)
    d_norm = np.linalg.norm(_flat(gan.discriminator) - d0) / lr
    g_norm = np.linalg.norm(_flat(gan.generator) - g0) / lr
    assert d_norm > 1e-3 and g_norm > 1e-3  # both players moved
    np.testing.assert_allclose(logs["d_grad_norm"], d_norm, rtol=2e-5)
    np.testing.assert_allclose(logs["g_grad_norm"], g_norm, rtol=2e-5)
    if penalty is not None:
        # The penalty is part of D's gradient: without it the norm differs.
        plain = _sgd_gan(lr)
        plain_logs = plain.train_on_batch(DATA, return_dict=True)
        assert abs(plain_logs["d_grad_norm"] - logs["d_grad_norm"]) > 1e-3 * d_norm


REAL = np.array([[1.0], [2.0], [-0.5], [0.5]], dtype="float32")


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _hand_norms(update, d_steps, lr, w=0.5, c=0.1, b=0.3):
    """(||grad D|| of the last D update, |grad G|) for the non-saturating loss."""
    r = REAL[:, 0]
    for i in range(d_steps):
        sr, sf = _sigmoid(-(w * r + c)), _sigmoid(w * b + c)
        gw, gc = np.mean(-sr * r) + sf * b, np.mean(-sr) + sf
        if update == "simultaneous" and i == d_steps - 1:
            break  # G's gradient at the same point
        w, c = w - lr * gw, c - lr * gc
    return np.hypot(gw, gc), abs(_sigmoid(-(w * b + c)) * w)


@pytest.mark.parametrize(
    "update,d_steps",
    [
        ("alternating", 1),
        ("simultaneous", 1),
        ("alternating", 3),
        ("simultaneous", 3),
    ],
)
def test_grad_norms_of_the_last_updates_by_hand(update, d_steps):
    lr = 0.5
    gan = keras_graft.GAN(
        constant_generator(), linear_discriminator([0.5], 0.1), seed=0
    )
    gan.compile(
        keras.optimizers.SGD(lr),
        keras.optimizers.SGD(lr),
        d_steps=d_steps,
        update=update,
    )
    logs = gan.train_on_batch(REAL, return_dict=True)
    d_norm, g_norm = _hand_norms(update, d_steps, lr)
    np.testing.assert_allclose(logs["d_grad_norm"], d_norm, rtol=1e-5)
    np.testing.assert_allclose(logs["g_grad_norm"], g_norm, rtol=1e-5)
    if d_steps > 1:  # the first D update's gradient is a different number
        first, _ = _hand_norms(update, 1, lr)
        assert abs(first - d_norm) > 1e-3 * d_norm


def test_grad_norms_absent_without_track_pace():
    gan = _sgd_gan(0.01, track_pace=False)
    history = gan.fit(DATA, batch_size=32, epochs=1, verbose=0)
    logs = gan.train_on_batch(DATA, return_dict=True)
    for keys in (set(history.history), set(logs), {m.name for m in gan.metrics}):
        assert not keys & {*NORMS, "d_pace", "g_pace", "pace_ratio"}, keys
        assert {"d_loss", "g_loss"} <= keys
    tracked = _sgd_gan(0.01)
    assert set(NORMS) <= set(tracked.train_on_batch(DATA, return_dict=True))


def test_grad_norms_unscaled_under_loss_scale_optimizer():
    """Same numbers as without loss scaling, step after step.

    A power-of-two scale multiplies the gradients exactly, and with
    `dynamic_growth_steps=1` the scale doubles at every finite step: a norm
    left scaled, or divided by the scale read after `apply`, is off by 2^k.
    """
    steps = 3

    def run(scaled):
        gan = keras_graft.GAN(*mlp_pair(seed=1), seed=3)
        opts = [keras.optimizers.SGD(0.1) for _ in range(2)]
        if scaled:
            opts = [
                keras.optimizers.LossScaleOptimizer(
                    o, initial_scale=2.0**10, dynamic_growth_steps=1
                )
                for o in opts
            ]
        gan.compile(*opts, d_steps=2)
        logs = [gan.train_on_batch(DATA, return_dict=True) for _ in range(steps)]
        return gan, np.array([[step[k] for k in NORMS] for step in logs])

    _, plain = run(False)
    gan, scaled = run(True)
    # D: two updates a step, so its scale doubled 2 * steps times; G: steps times.
    assert float(keras.ops.convert_to_numpy(gan.d_optimizer.dynamic_scale)) == 2.0 ** (
        10 + 2 * steps
    )
    assert float(keras.ops.convert_to_numpy(gan.g_optimizer.dynamic_scale)) == 2.0 ** (
        10 + steps
    )
    assert np.all(np.isfinite(scaled)) and np.all(plain > 1e-3)
    np.testing.assert_allclose(scaled, plain, rtol=1e-6)


@pytest.mark.parametrize(
    "policy,rtol", [("mixed_float16", 2e-2), ("mixed_bfloat16", 1e-1)]
)
def test_grad_norms_under_mixed_precision(policy, rtol):
    """Finite, float32, of the unscaled loss (mixed_float16 wraps each optimizer
    in a LossScaleOptimizer with scale 2^15), close to the float32 run's."""
    lr = 1.0
    ref = _sgd_gan(lr).train_on_batch(DATA, return_dict=True)
    keras.config.set_dtype_policy(policy)
    try:
        gan = _sgd_gan(lr)
        d0, g0 = _flat(gan.discriminator), _flat(gan.generator)
        logs = gan.train_on_batch(DATA, return_dict=True)
    finally:
        keras.config.set_dtype_policy("float32")
    scaled = isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer)
    assert scaled == (policy == "mixed_float16")
    for key in NORMS:
        assert np.isfinite(logs[key]), (key, logs)
        np.testing.assert_allclose(logs[key], ref[key], rtol=rtol, err_msg=key)
    # The same gradients moved the (float32) weights: the step over lr, closely.
    np.testing.assert_allclose(
        logs["d_grad_norm"],
        np.linalg.norm(_flat(gan.discriminator) - d0) / lr,
        rtol=1e-4,
    )
    np.testing.assert_allclose(
        logs["g_grad_norm"], np.linalg.norm(_flat(gan.generator) - g0) / lr, rtol=1e-4
    )

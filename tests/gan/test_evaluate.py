"""`GAN.evaluate` and `fit(validation_data=...)`.

Evaluation reports the players' losses and D's mean outputs on held-out real
samples and on generated ones, computed in inference mode; it changes no
weight or statistic of either player, and draws its latents from a stream of
its own, so validation leaves the training run unchanged.
"""

import keras
import numpy as np
import pytest
from keras import layers, ops

import keras_graft
from tests.gan.helpers import mlp, ring_of_gaussians, weights


def _bn_gan(seed=0):
    keras.utils.set_random_seed(seed)
    g = mlp(4, 2, "generator", batchnorm=True)
    x = inputs = keras.Input((2,))
    x = layers.BatchNormalization()(x)
    x = layers.Dense(16, activation="relu")(x)
    d = keras.Model(inputs, layers.Dense(1)(x), name="discriminator")
    gan = keras_graft.GAN(g, d, seed=7)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    return gan


def _softplus(x):
    return np.logaddexp(0.0, x)


def test_evaluate_changes_nothing_and_matches_numpy():
    gan = _bn_gan()
    gan.fit(ring_of_gaussians(128), batch_size=32, epochs=1, verbose=0)
    held_out = ring_of_gaussians(64, seed=5)
    before = weights(gan) + [
        np.array(ops.convert_to_numpy(v)) for v in gan.optimizer.variables
    ]
    logs = gan.evaluate(held_out, batch_size=64, verbose=0, return_dict=True)
    after = weights(gan) + [
        np.array(ops.convert_to_numpy(v)) for v in gan.optimizer.variables
    ]
    for a, b in zip(before, after):  # BatchNorm moving statistics included
        np.testing.assert_array_equal(a, b)
    assert set(logs) == {"d_loss", "g_loss", "d_real", "d_fake"}

    # The same numbers from the players in inference mode, the latents drawn
    # as evaluation draws them (a fresh stream seeded `seed + 1`), in numpy.
    z = keras.random.normal((64, 4), seed=keras.random.SeedGenerator(8))
    fake = gan.generator(z, training=False)
    real_logits = ops.convert_to_numpy(gan.discriminator(held_out, training=False))
    fake_logits = ops.convert_to_numpy(gan.discriminator(fake, training=False))
    expected = {
        "d_loss": _softplus(-real_logits).mean() + _softplus(fake_logits).mean(),
        "g_loss": _softplus(-fake_logits).mean(),
        "d_real": real_logits.mean(),
        "d_fake": fake_logits.mean(),
    }
    for key, value in expected.items():
        np.testing.assert_allclose(logs[key], value, rtol=1e-5, atol=1e-6, err_msg=key)
    # Evaluating again gives the same numbers (the latents are drawn anew
    # from the start of the evaluation stream).
    again = gan.evaluate(held_out, batch_size=64, verbose=0, return_dict=True)
    for key in logs:
        assert logs[key] == again[key]


def test_validation_leaves_training_unchanged():
    data, held_out = ring_of_gaussians(128), ring_of_gaussians(64, seed=5)
    plain, validated = _bn_gan(), _bn_gan()
    plain.fit(data, batch_size=32, epochs=2, shuffle=False, verbose=0)
    history = validated.fit(
        data,
        batch_size=32,
        epochs=2,
        shuffle=False,
        verbose=0,
        validation_data=held_out,
        validation_batch_size=32,
    )
    for a, b in zip(weights(plain), weights(validated)):
        np.testing.assert_array_equal(a, b)
    for key in ("val_d_loss", "val_g_loss", "val_d_real", "val_d_fake"):
        assert (
            len(history.history[key]) == 2 and np.isfinite(history.history[key]).all()
        )
    # The last epoch's validation is what `evaluate` reports after training.
    logs = validated.evaluate(held_out, batch_size=32, verbose=0, return_dict=True)
    np.testing.assert_allclose(
        history.history["val_d_loss"][-1], logs["d_loss"], rtol=1e-6
    )
    # Training logs (pace included) are not overwritten by the evaluation.
    assert history.history["d_pace"][-1] > 0


def test_evaluate_before_compile():
    gan = keras_graft.GAN(mlp(4, 2, "g"), mlp(2, 1, "d"))
    with pytest.raises(RuntimeError, match="compile"):
        gan.evaluate(ring_of_gaussians(8), verbose=0)

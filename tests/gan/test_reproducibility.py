"""Seeded runs are repeatable, also across save/load and BackupAndRestore."""

import os

import keras
import numpy as np
import pytest

import keras_graft
from tests.gan.helpers import mlp_pair, ring_of_gaussians, weights

DATA = ring_of_gaussians(128)
FIT = dict(batch_size=32, shuffle=False, verbose=0)


def make_gan(penalty=None):
    gan = keras_graft.GAN(*mlp_pair(seed=5, batchnorm=True), seed=11)
    gan.compile(
        keras.optimizers.Adam(1e-3, beta_1=0.5),
        keras.optimizers.Adam(2e-3),
        d_steps=2,
        gradient_penalty=penalty,
        generator_ema=0.9,
    )
    return gan


def all_state(gan):
    return (
        weights(gan.generator)
        + weights(gan.discriminator)
        + weights(gan.ema_generator)
        + [keras.ops.convert_to_numpy(v) for v in gan.optimizer.variables]
    )


def assert_same(a, b, atol=1e-6):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=atol)


def test_same_seed_same_weights():
    a, b = make_gan("wgan_gp"), make_gan("wgan_gp")
    a.fit(DATA, epochs=1, **FIT)
    b.fit(DATA, epochs=1, **FIT)
    assert_same(all_state(a), all_state(b), atol=0)

    # The seed, not the weights' initialisation, fixes the latents.
    def first_latents(seed):
        gan = keras_graft.GAN(*mlp_pair(seed=5), seed=seed)
        return keras.ops.convert_to_numpy(gan.sample_latents(4))

    np.testing.assert_array_equal(first_latents(11), first_latents(11))
    assert not np.allclose(first_latents(11), first_latents(12))


def test_save_load_resume_matches_uninterrupted(tmp_path):
    full = make_gan()
    full.fit(DATA, epochs=2, **FIT)

    part = make_gan()
    part.fit(DATA, epochs=1, **FIT)
    path = os.path.join(tmp_path, "run.keras")
    part.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, keras_graft.GAN)
    assert loaded.get_compile_config()["d_steps"] == 2
    assert_same(all_state(part), all_state(loaded), atol=0)
    assert int(loaded.d_optimizer.iterations) == 8
    loaded.fit(DATA, epochs=1, **FIT)
    assert_same(all_state(full), all_state(loaded))


class _Interrupt(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            raise RuntimeError("interrupted")


def test_backup_and_restore_resume(tmp_path):
    full = make_gan()
    full.fit(DATA, epochs=2, **FIT)

    backup_dir = os.path.join(tmp_path, "backup")
    first = make_gan()
    with pytest.raises(RuntimeError, match="interrupted"):
        first.fit(
            DATA,
            epochs=2,
            callbacks=[keras.callbacks.BackupAndRestore(backup_dir), _Interrupt()],
            **FIT,
        )
    resumed = make_gan()
    history = resumed.fit(
        DATA, epochs=2, callbacks=[keras.callbacks.BackupAndRestore(backup_dir)], **FIT
    )
    assert len(history.history["d_loss"]) == 1  # only the second epoch ran
    assert int(resumed.g_optimizer.iterations) == 8
    assert_same(all_state(full), all_state(resumed))


def test_config_round_trip():
    gan = keras_graft.GAN(*mlp_pair(), latent_dim=4, seed=3)
    clone = keras_graft.GAN.from_config(gan.get_config())
    assert clone.latent_shape == (4,) and clone.seed == 3
    assert [w.shape for w in clone.generator.weights] == [
        w.shape for w in gan.generator.weights
    ]

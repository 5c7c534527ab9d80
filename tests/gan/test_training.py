"""Small MLP GANs on a ring of Gaussians: every piece of state moves as it should."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_graft
from tests.gan.helpers import mlp_pair, ring_of_gaussians, weights

DATA = ring_of_gaussians(256)
LOGGED = {
    "d_loss",
    "g_loss",
    "d_real",
    "d_fake",
    "d_pace",
    "g_pace",
    "pace_ratio",
    "d_grad_norm",
    "g_grad_norm",
}


def _slots(optimizer):
    return [v for v in optimizer.variables if "momentum" in v.path]


@pytest.mark.parametrize("d_steps", [1, 2])
def test_training_moves_all_state(d_steps):
    g, d = mlp_pair(batchnorm=True)
    bn = [
        layer
        for layer in g.layers
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    bn_before = [
        np.array(keras.ops.convert_to_numpy(layer.moving_mean)) for layer in bn
    ]
    g_before, d_before = weights(g), weights(d)
    gan = keras_graft.GAN(g, d, seed=3)
    gan.compile(
        keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3), d_steps=d_steps
    )
    history = gan.fit(DATA, batch_size=64, epochs=2, verbose=0)

    assert LOGGED <= set(history.history)
    for key in LOGGED:
        assert np.all(np.isfinite(history.history[key])), key
    assert all(p > 0 for p in history.history["d_pace"] + history.history["g_pace"])
    assert all(
        n > 0 for n in history.history["d_grad_norm"] + history.history["g_grad_norm"]
    )
    steps = 2 * (256 // 64)
    assert int(gan.g_optimizer.iterations) == steps
    assert int(gan.d_optimizer.iterations) == d_steps * steps
    for opt in (gan.d_optimizer, gan.g_optimizer):
        slots = _slots(opt)
        assert slots
        for s in slots:
            assert np.any(keras.ops.convert_to_numpy(s) != 0), s.path
    # Every trainable weight of both players changed; BN statistics changed.
    for before, v in zip(d_before, d.weights):
        assert not np.allclose(before, keras.ops.convert_to_numpy(v)), v.path
    for before, v in zip(g_before, g.weights):
        if v.trainable:
            assert not np.allclose(before, keras.ops.convert_to_numpy(v)), v.path
    for before, layer in zip(bn_before, bn):
        assert not np.allclose(before, keras.ops.convert_to_numpy(layer.moving_mean))


def test_hinge_simultaneous_without_pace():
    # The other losses are checked against numpy in test_losses.py.
    gan = keras_graft.GAN(*mlp_pair(), seed=0)
    gan.compile(
        keras.optimizers.Adam(1e-3),
        keras.optimizers.Adam(1e-3),
        loss="hinge",
        update="simultaneous",
        track_pace=False,
    )
    history = gan.fit(DATA, batch_size=128, epochs=1, verbose=0)
    assert {"d_loss", "g_loss"} <= set(history.history)
    assert not {"d_pace", "d_grad_norm", "g_grad_norm"} & set(history.history)
    assert np.isfinite(history.history["d_loss"][-1])


class _Points(keras.utils.PyDataset):
    def __init__(self, x, batch, labels):
        super().__init__()
        self.x, self.batch, self.labels = x, batch, labels

    def __len__(self):
        return len(self.x) // self.batch

    def __getitem__(self, i):
        x = self.x[i * self.batch : (i + 1) * self.batch]
        return (x, np.zeros(len(x))) if self.labels else x


@pytest.mark.parametrize(
    "source", ["tf.data", "pydataset", "pydataset_labels", "numpy_xy"]
)
def test_data_sources(source):
    gan = keras_graft.GAN(*mlp_pair(), seed=0)
    gan.compile(keras.optimizers.SGD(1e-2), keras.optimizers.SGD(1e-2))
    labels = np.arange(len(DATA)) % 8
    if source == "tf.data":
        data = tf.data.Dataset.from_tensor_slices((DATA, labels)).batch(64)
        gan.fit(data, epochs=1, shuffle=False, verbose=0)
    elif source == "numpy_xy":
        gan.fit(DATA, labels, batch_size=64, epochs=1, verbose=0)
    else:
        gan.fit(_Points(DATA, 64, source.endswith("labels")), epochs=1, verbose=0)
    assert int(gan.g_optimizer.iterations) == 4
    assert int(gan.d_optimizer.iterations) == 4


def test_run_eagerly_matches_compiled_run():
    """`run_eagerly=True` trains on every backend (it failed on TensorFlow in
    the non-finite check) and gives the compiled run's weights."""
    runs = []
    for eager in (False, True):
        gan = keras_graft.GAN(*mlp_pair(seed=2), seed=0)
        gan.compile(
            keras_graft.optimizers.AdaNSGDA(1e-3),
            keras.optimizers.Adam(1e-3),
            gradient_penalty="r1",
            run_eagerly=eager,
        )
        history = gan.fit(DATA[:128], batch_size=32, epochs=1, shuffle=False, verbose=0)
        assert set(history.history) == LOGGED | {"penalty"}
        runs.append(weights(gan))
    for a, b in zip(*runs):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n", [320, 330])
def test_scan_steps_trains_as_keras_loop(n, monkeypatch):
    """`scan_steps=True` (one `jax.lax.scan` per execution on JAX; no effect
    elsewhere) gives the same weights, optimizer state and logs as Keras's
    loop, bit for bit: 320 samples are 10 batches of 32 (two executions of
    4 scanned, then 2 batches one at a time), 330 add a ragged batch of 10."""
    spe = 1 if keras.backend.backend() == "torch" else 4  # torch allows only 1
    data = ring_of_gaussians(n, seed=5)
    scans = []
    if keras.backend.backend() == "jax":
        import jax

        real_scan = jax.lax.scan
        monkeypatch.setattr(
            jax.lax, "scan", lambda *a, **k: scans.append(1) or real_scan(*a, **k)
        )
    out = []
    for scan in (False, True):
        gan = keras_graft.GAN(*mlp_pair(seed=2), seed=7)
        gan.compile(
            keras.optimizers.Adam(1e-3, beta_1=0.5),
            keras_graft.optimizers.NSGDA(1e-2, momentum=0.5),
            steps_per_execution=spe,
            scan_steps=scan,
        )
        rows = []
        logger = keras.callbacks.LambdaCallback(
            on_train_batch_end=lambda batch, logs: rows.append(
                (batch, {k: float(v) for k, v in logs.items()})
            )
        )
        scans.clear()
        history = gan.fit(
            data, batch_size=32, epochs=2, shuffle=False, verbose=0, callbacks=[logger]
        )
        # Traced once, on JAX only, and only when asked for.
        assert len(scans) == (scan and keras.backend.backend() == "jax")
        state = weights(gan.generator) + weights(gan.discriminator)
        state += [keras.ops.convert_to_numpy(v) for v in gan.optimizer.variables]
        out.append((state, rows, history.history))
    (plain, plain_rows, plain_hist), (scanned, scan_rows, scan_hist) = out
    assert int(gan.g_optimizer.iterations) == 2 * -(-n // 32)
    assert len(plain) == len(scanned)
    for a, b in zip(plain, scanned):
        np.testing.assert_array_equal(a, b)
    assert scan_rows == plain_rows
    assert len(scan_rows) == 2 * -(-n // 32 // spe)  # one row per execution
    assert scan_hist == plain_hist

"""The optimizers in `model.compile` + `fit`: training, saving, mixed precision."""

import os

import keras
import numpy as np
import pytest

from keras_graft import optimizers

FACTORIES = {
    "ada_nsgda": lambda: optimizers.AdaNSGDA(0.01),
    "ada_dir": lambda: optimizers.AdaDir(0.05),
    "nsgda": lambda: optimizers.NSGDA(0.01, momentum=0.5),
    "nsgda_global_sqrt": lambda: optimizers.NSGDA(
        1e-3, scale="sqrt_size", granularity="global"
    ),
    "graft_layer": lambda: optimizers.Graft(
        keras.optimizers.Adam(0.01),
        keras.optimizers.SGD(momentum=0.9),
        granularity="layer",
    ),
}


def _regression_data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).astype("float32")
    w = rng.standard_normal((6, 1)).astype("float32")
    y = np.tanh(x @ w) + 0.05 * rng.standard_normal((n, 1)).astype("float32")
    return x, y.astype("float32")


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(16, activation="tanh", name="hidden"),
            keras.layers.Dense(1, name="out"),
        ]
    )


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_fit_reduces_the_loss(name):
    x, y = _regression_data()
    model = _model()
    model.compile(optimizer=FACTORIES[name](), loss="mse")  # default jit_compile
    history = model.fit(x, y, batch_size=32, epochs=6, verbose=0, shuffle=False)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses))
    assert losses[-1] < 0.6 * losses[0], losses
    assert int(model.optimizer.iterations) == 6 * 8


@pytest.mark.parametrize("name", ["ada_nsgda", "nsgda", "graft_layer"])
def test_training_continues_exactly_after_save_and_load(name, tmp_path):
    x, y = _regression_data()
    uninterrupted = _model(seed=1)
    uninterrupted.compile(optimizer=FACTORIES[name](), loss="mse")
    uninterrupted.fit(x, y, batch_size=32, epochs=4, verbose=0, shuffle=False)

    first = _model(seed=1)
    first.compile(optimizer=FACTORIES[name](), loss="mse")
    first.fit(x, y, batch_size=32, epochs=2, verbose=0, shuffle=False)
    path = os.path.join(tmp_path, "model.keras")
    first.save(path)
    resumed = keras.saving.load_model(path)
    assert type(resumed.optimizer) is type(first.optimizer)
    assert int(resumed.optimizer.iterations) == 16
    resumed.fit(x, y, batch_size=32, epochs=2, verbose=0, shuffle=False)

    for a, b in zip(resumed.get_weights(), uninterrupted.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for a, b in zip(resumed.optimizer.variables, uninterrupted.optimizer.variables):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(a),
            keras.ops.convert_to_numpy(b),
            rtol=1e-5,
            atol=1e-6,
        )


@pytest.mark.parametrize("name", ["ada_nsgda", "nsgda", "graft_layer"])
def test_mixed_float16_policy_trains_with_loss_scaling(name):
    keras.config.set_dtype_policy("mixed_float16")
    x, y = _regression_data()
    model = _model(seed=2)
    model.compile(optimizer=FACTORIES[name](), loss="mse")
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    history = model.fit(x, y, batch_size=32, epochs=5, verbose=0, shuffle=False)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses))
    assert losses[-1] < 0.7 * losses[0], losses
    for w in model.get_weights():
        assert w.dtype == np.float32 and np.all(np.isfinite(w))


def test_explicit_loss_scale_optimizer_unscales_before_the_graft():
    x, y = _regression_data()
    a, b = _model(seed=3), _model(seed=3)
    a.compile(
        optimizer=keras.optimizers.LossScaleOptimizer(optimizers.AdaNSGDA(0.01)),
        loss="mse",
    )
    b.compile(optimizer=optimizers.AdaNSGDA(0.01), loss="mse")
    a.fit(x, y, batch_size=64, epochs=2, verbose=0, shuffle=False)
    b.fit(x, y, batch_size=64, epochs=2, verbose=0, shuffle=False)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-4, atol=1e-6)

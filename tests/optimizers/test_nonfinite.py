"""`skip_nonfinite=True`: a step with NaN/Inf gradients changes nothing, is counted."""

import keras
import numpy as np
import pytest

from keras_graft import optimizers
from tests.optimizers.helpers import (
    gradient_sequence,
    numpy_values,
    run,
    two_layer_model,
)

FACTORIES = {
    "ada_nsgda": lambda **kw: optimizers.AdaNSGDA(0.05, **kw),
    "ada_dir": lambda **kw: optimizers.AdaDir(0.05, **kw),
    "nsgda": lambda **kw: optimizers.NSGDA(0.05, momentum=0.9, **kw),
    "graft": lambda **kw: optimizers.Graft(
        "adam", keras.optimizers.SGD(momentum=0.9), **kw
    ),
}


def _state(optimizer):
    """Every optimizer variable but the skip counter."""
    return [
        keras.ops.convert_to_numpy(v)
        for v in optimizer.variables
        if v is not optimizer._skipped_steps
    ]


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_nonfinite_step_is_skipped_and_counted(name, bad):
    skipping = FACTORIES[name](skip_nonfinite=True)
    plain = FACTORIES[name]()
    _, a_vars = two_layer_model(seed=0)
    _, b_vars = two_layer_model(seed=0)
    grads = gradient_sequence(a_vars, steps=4, seed=1)
    poisoned = [g.copy() for g in grads[1]]
    poisoned[2][0, 0] = bad

    run(skipping, a_vars, grads[:1])
    values, state = numpy_values(a_vars), _state(skipping)
    run(skipping, a_vars, [poisoned])
    for a, b in zip(numpy_values(a_vars), values):
        np.testing.assert_array_equal(a, b)
    assert int(skipping.iterations) == 1
    assert int(skipping.skipped_steps) == 1
    after = _state(skipping)
    assert len(after) == len(state) > 3
    for a, b in zip(after, state):
        np.testing.assert_array_equal(a, b)

    # The run goes on as if the bad step had never happened.
    run(skipping, a_vars, grads[2:])
    run(plain, b_vars, [grads[0]] + grads[2:])
    for a, b in zip(numpy_values(a_vars), numpy_values(b_vars)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert int(skipping.skipped_steps) == 1


def test_off_by_default_nan_propagates():
    optimizer = optimizers.NSGDA(0.05)
    assert optimizer.skip_nonfinite is False and optimizer.skipped_steps == 0
    _, variables = two_layer_model(seed=0)
    grads = gradient_sequence(variables, steps=1, seed=1)
    grads[0][0][0, 0] = np.nan
    run(optimizer, variables, grads)
    assert np.isnan(numpy_values(variables)[0]).any()


def test_skip_nonfinite_in_fit_and_config():
    x = np.random.default_rng(0).standard_normal((64, 5)).astype("float32")
    y = np.zeros((64, 3), "float32")
    model, _ = two_layer_model(seed=1)
    optimizer = optimizers.AdaNSGDA(0.01, skip_nonfinite=True)
    model.compile(optimizer=optimizer, loss="mse")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert int(optimizer.iterations) == 4 and int(optimizer.skipped_steps) == 0
    x_bad = x.copy()
    x_bad[:16] = np.inf
    before = model.get_weights()
    model.fit(x_bad[:16], y[:16], batch_size=16, epochs=1, verbose=0)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    assert int(optimizer.skipped_steps) == 1 and int(optimizer.iterations) == 4
    assert (
        optimizers.AdaNSGDA.from_config(optimizer.get_config()).skip_nonfinite is True
    )


def test_skip_nonfinite_must_be_bool():
    with pytest.raises(TypeError, match="skip_nonfinite"):
        optimizers.NSGDA(skip_nonfinite="yes")

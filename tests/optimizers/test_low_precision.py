"""float16/bfloat16 variables: norms in float32, no overflow, steps near float32."""

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
    "ada_nsgda": lambda: optimizers.AdaNSGDA(0.01),
    "ada_dir": lambda: optimizers.AdaDir(0.01),
    "nsgda": lambda: optimizers.NSGDA(0.01, momentum=0.9, granularity="layer"),
    # Keras's Adam computes its bias correction in the variable's dtype, where
    # 1 - 0.999**t is 0 in bfloat16: its own bfloat16 steps vanish. RMSprop
    # has no such constant, so it stands for a child in 16 bits here.
    "graft": lambda: optimizers.Graft(
        keras.optimizers.RMSprop(0.01), "sgd", granularity="global"
    ),
}


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_large_gradients_in_16_bit_variables(name, dtype):
    # Gradients of a few hundred: their squares (and any sum of squares) overflow
    # float16 (max 65504); a norm computed in 16 bits would be inf.
    _, low = two_layer_model(seed=0, dtype=dtype)
    _, full = two_layer_model(seed=0, dtype="float32")
    for a, b in zip(low, full):
        b.assign(keras.ops.cast(a, "float32"))  # same (rounded) start
    scales = [300.0, 200.0, 500.0, 250.0]
    if name == "graft":
        # A Graft's children are Keras's optimizers, whose slots keep the
        # variable's dtype: Keras's own Adam squares a float16 gradient of 300
        # to inf. The graft's norms are float32; the children's state is theirs.
        scales = [10.0, 5.0, 20.0, 8.0]
    grads = gradient_sequence(full, steps=5, seed=1, scales=scales)

    low_history = run(FACTORIES[name](), low, grads)
    full_history = run(FACTORIES[name](), full, grads)

    for values in low_history:
        for v in values:
            assert np.all(np.isfinite(v))
    moved_low = [a - b for a, b in zip(low_history[-1], low_history[0])]
    moved_full = [a - b for a, b in zip(full_history[-1], full_history[0])]
    for a, b in zip(moved_low, moved_full):
        tolerance = 0.05 if dtype == "float16" else 0.15
        assert np.linalg.norm(a - b) <= tolerance * np.linalg.norm(b) + 1e-3


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_zero_and_tiny_gradients_in_16_bit_variables(dtype):
    _, variables = two_layer_model(seed=2, dtype=dtype)
    before = numpy_values(variables)
    grads = [
        [np.full(v.shape, 1e-8, "float32") for v in variables],
        [np.zeros(v.shape, "float32") for v in variables],
    ]
    optimizer = optimizers.NSGDA(0.01)
    history = run(optimizer, variables, grads)
    for values in history:
        for v in values:
            assert np.all(np.isfinite(v))
    # A 1e-8 gradient underflows to 0 in float16 (a zero step), or is normalized
    # to a step of length 0.01 in bfloat16; the zero gradient never moves anything.
    for a, b in zip(history[1], history[0]):
        np.testing.assert_array_equal(a, b)
    moved = np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(history[0], before)))
    assert moved <= 0.01 * 2 + 1e-3
    for v in optimizer.variables:
        assert np.all(np.isfinite(keras.ops.convert_to_numpy(v)))

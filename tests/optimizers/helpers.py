"""Small models, gradient sequences and runners shared by the optimizer tests."""

from __future__ import annotations

import keras
import numpy as np

# Blocks of the two-layer model below, per granularity (kernel, bias, kernel, bias).
BLOCKS = {
    "variable": [0, 1, 2, 3],
    "layer": [0, 0, 1, 1],
    "global": [0, 0, 0, 0],
}


def two_layer_model(seed: int = 0, dtype: str = "float32", scale: float = 0.1):
    """A 5 -> 4 -> 3 MLP with small, seeded weights; returns (model, variables)."""
    model = keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(4, dtype=dtype, name="hidden"),
            keras.layers.Dense(3, dtype=dtype, name="out"),
        ]
    )
    rng = np.random.default_rng(seed)
    for v in model.trainable_variables:
        v.assign((scale * rng.standard_normal(v.shape)).astype(dtype))
    return model, list(model.trainable_variables)


def gradient_sequence(variables, steps: int, seed: int = 1, scales=None):
    """`steps` lists of seeded random gradients with per-variable scales.

    Scales differ by orders of magnitude between variables, so that a wrong
    block assignment or a missing normalization shows.
    """
    rng = np.random.default_rng(seed)
    scales = scales or [1.0, 0.01, 30.0, 0.3][: len(variables)]
    return [
        [
            (s * rng.standard_normal(v.shape)).astype("float32")
            for v, s in zip(variables, scales)
        ]
        for _ in range(steps)
    ]


def numpy_values(variables):
    return [
        np.array(keras.ops.convert_to_numpy(v), dtype=np.float64) for v in variables
    ]


def run(optimizer, variables, grad_seq):
    """Applies each gradient list with `optimizer.apply`; values after each step."""
    history = []
    for grads in grad_seq:
        optimizer.apply(
            [
                keras.ops.convert_to_tensor(g, dtype=v.dtype)
                for g, v in zip(grads, variables)
            ],
            variables,
        )
        history.append(numpy_values(variables))
    return history


def displacement_error(actual, expected, initial) -> float:
    """Relative error of the displacement from `initial` (sharper than of values)."""
    num = np.sqrt(sum(np.sum((a - e) ** 2) for a, e in zip(actual, expected)))
    den = np.sqrt(sum(np.sum((e - i) ** 2) for e, i in zip(expected, initial)))
    return float(num / den)

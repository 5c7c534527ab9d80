"""What the data/model-parallel scripts share: optimizers, data, model, error.

Imported by the subprocess scripts after they have set the backend and the
device flags (it imports keras).
"""

import keras
import numpy as np

from keras_graft import optimizers

FACTORIES = {
    "ada_nsgda": lambda g: optimizers.AdaNSGDA(0.02, granularity=g),
    "ada_dir": lambda g: optimizers.AdaDir(0.05, granularity=g),
    "nsgda": lambda g: optimizers.NSGDA(0.02, momentum=0.5, granularity=g),
    "graft": lambda g: optimizers.Graft(
        "adam", keras.optimizers.SGD(momentum=0.9), granularity=g
    ),
}

# What the scripts train, each case on one device and distributed: every
# optimizer with one block over all its variables ("global", where every
# shard of every variable enters one norm), and the other two granularities
# (per variable, per layer) with one optimizer: the block norms are the base
# class's code, shared by all of them.
CASES = [(name, "global") for name in sorted(FACTORIES)] + [
    ("ada_nsgda", "variable"),
    ("ada_nsgda", "layer"),
]


def data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 8)).astype("float32")
    y = np.tanh(x @ rng.standard_normal((8, 4))).astype("float32")
    return x, y


def compiled_model(name, granularity):
    """The seeded 8 -> 16 -> 4 MLP (layers "d1", "d2") compiled with `name`."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(16, activation="tanh", name="d1"),
            keras.layers.Dense(4, name="d2"),
        ]
    )
    model.compile(optimizer=FACTORIES[name](granularity), loss="mse")
    return model


def rel(a_list, b_list):
    """Largest relative difference between corresponding arrays."""
    return max(
        float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-12))
        for a, b in zip(a_list, b_list)
    )

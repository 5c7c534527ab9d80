"""Run in a subprocess: MirroredStrategy over two logical CPU devices.

Trains every grafted optimizer, at every granularity, on one device and with
`tf.distribute.MirroredStrategy` over two logical CPUs (same global batch);
prints a JSON line of the largest relative weight differences.
"""

import json
import os
import sys

os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_graft import optimizers  # noqa: E402

FACTORIES = {
    "ada_nsgda": lambda g: optimizers.AdaNSGDA(0.02, granularity=g),
    "ada_dir": lambda g: optimizers.AdaDir(0.05, granularity=g),
    "nsgda": lambda g: optimizers.NSGDA(0.02, momentum=0.5, granularity=g),
    "graft": lambda g: optimizers.Graft("adam", keras.optimizers.SGD(momentum=0.9), granularity=g),
}


def data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 8)).astype("float32")
    y = np.tanh(x @ rng.standard_normal((8, 4))).astype("float32")
    return x, y


def build(name, granularity):
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


def train(name, granularity, strategy=None):
    x, y = data()
    if strategy is None:
        model = build(name, granularity)
    else:
        with strategy.scope():
            model = build(name, granularity)
    model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    spread = 0.0
    if strategy is not None:  # the two replicas' copies of every variable agree
        for v in model.trainable_variables + model.optimizer.variables:
            copies = [np.asarray(c) for c in v.value.values]
            spread = max(spread, max(float(np.max(np.abs(c - copies[0]))) for c in copies))
    iterations = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    return [np.asarray(w) for w in model.get_weights()], iterations, spread


def rel(a_list, b_list):
    return max(
        float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-12)) for a, b in zip(a_list, b_list)
    )


def main():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    results = {"replicas": strategy.num_replicas_in_sync, "runs": []}
    for name in sorted(FACTORIES):
        for granularity in ("variable", "layer", "global"):
            single, steps_single, _ = train(name, granularity)
            mirrored, steps_mirrored, spread = train(name, granularity, strategy)
            results["runs"].append(
                {
                    "optimizer": name,
                    "granularity": granularity,
                    "mirrored": rel(mirrored, single),
                    "iterations": [steps_single, steps_mirrored],
                    "replica_spread": spread,
                }
            )
    print("RESULT " + json.dumps(results))


if __name__ == "__main__":
    sys.exit(main())

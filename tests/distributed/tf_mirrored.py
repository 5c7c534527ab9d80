"""Run in a subprocess: MirroredStrategy over two logical CPU devices.

Trains every grafted optimizer (the cases of `common.CASES`) on one device and with
`tf.distribute.MirroredStrategy` over two logical CPUs (same global batch);
prints a JSON line of the largest relative weight differences.
"""

import json
import os
import sys

os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu,
    [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()],
)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tests.distributed.common import CASES, compiled_model, data, rel  # noqa: E402


def train(name, granularity, strategy=None):
    x, y = data()
    if strategy is None:
        model = compiled_model(name, granularity)
    else:
        with strategy.scope():
            model = compiled_model(name, granularity)
    model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    spread = 0.0
    if strategy is not None:  # the two replicas' copies of every variable agree
        for v in model.trainable_variables + model.optimizer.variables:
            copies = [np.asarray(c) for c in v.value.values]
            spread = max(
                spread, max(float(np.max(np.abs(c - copies[0]))) for c in copies)
            )
    iterations = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    return [np.asarray(w) for w in model.get_weights()], iterations, spread


def main():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    results = {"replicas": strategy.num_replicas_in_sync, "runs": []}
    for name, granularity in CASES:
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

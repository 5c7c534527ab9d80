"""Run in a subprocess: the GAN on one device vs. two devices, same global batch.

argv[1] = "tensorflow" (MirroredStrategy over two logical CPUs) or "jax"
(keras.distribution.DataParallel over two host devices). Prints a JSON line
with the largest relative weight difference and the step counts.
"""

import json
import os
import sys

BACKEND = sys.argv[1]
os.environ["KERAS_BACKEND"] = BACKEND
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if BACKEND == "jax":
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
else:
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu,
        [
            tf.config.LogicalDeviceConfiguration(),
            tf.config.LogicalDeviceConfiguration(),
        ],
    )

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_graft  # noqa: E402
from keras_graft import optimizers  # noqa: E402
from tests.gan.helpers import mlp_pair, ring_of_gaussians  # noqa: E402


def build():
    gan = keras_graft.GAN(*mlp_pair(seed=1), seed=7)
    gan.compile(
        optimizers.AdaNSGDA(1e-2, beta_1=0.5),
        keras.optimizers.Adam(1e-2, beta_1=0.5),
        d_steps=2,
    )
    return gan


def train(mode):
    data = ring_of_gaussians(128)
    if mode == "mirrored":
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        with strategy.scope():
            gan = build()
    else:
        if mode == "data_parallel":
            keras.distribution.set_distribution(
                keras.distribution.DataParallel(
                    devices=keras.distribution.list_devices()
                )
            )
        gan = build()
    try:
        h = gan.fit(data, batch_size=32, epochs=2, shuffle=False, verbose=0)
    finally:
        if BACKEND == "jax":
            keras.distribution.set_distribution(None)
    weights = [np.asarray(w, dtype="float64") for w in gan.get_weights()]
    steps = int(keras.ops.convert_to_numpy(gan.optimizer.iterations))
    return weights, steps, {k: float(v[-1]) for k, v in h.history.items()}


def main():
    single, s1, logs1 = train("single")
    multi, s2, logs2 = train("mirrored" if BACKEND == "tensorflow" else "data_parallel")
    rel = max(
        float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-12))
        for a, b in zip(multi, single)
    )
    log_diff = max(abs(logs1[k] - logs2[k]) / max(abs(logs1[k]), 1e-6) for k in logs1)
    print(
        "RESULT "
        + json.dumps(
            {"rel": rel, "steps": [s1, s2], "log_rel": log_diff, "logs": [logs1, logs2]}
        )
    )


if __name__ == "__main__":
    sys.exit(main())

"""Run in a subprocess with two JAX host devices (XLA_FLAGS set before jax loads).

Trains every grafted optimizer (the cases of `common.CASES`) on one device, with
`keras.distribution.DataParallel` over two devices, and with `ModelParallel`
sharding the kernels across two devices; prints a JSON line of the largest
relative weight differences against the single-device run.
"""

import json
import os
import sys

os.environ["KERAS_BACKEND"] = "jax"
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"

import keras
import numpy as np

from tests.distributed.common import CASES, compiled_model, data, rel


def train(name, granularity, distribution=None):
    keras.distribution.set_distribution(distribution)
    try:
        model = compiled_model(name, granularity)
        x, y = data()
        model.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0)
        kernel = model.layers[0].kernel.value
        shards = len(getattr(kernel, "addressable_shards", [None]))
        sharding = str(getattr(kernel, "sharding", ""))
        return [np.asarray(w) for w in model.get_weights()], shards, sharding
    finally:
        keras.distribution.set_distribution(None)


def main():
    devices = keras.distribution.list_devices()
    assert len(devices) == 2, devices
    results = {"devices": len(devices), "runs": []}
    for name, granularity in CASES:
        single, _, _ = train(name, granularity)
        dp, _, _ = train(
            name, granularity, keras.distribution.DataParallel(devices=devices)
        )
        mesh = keras.distribution.DeviceMesh((1, 2), ["batch", "model"], devices)
        layout = keras.distribution.LayoutMap(mesh)
        layout[".*d1/kernel"] = (None, "model")
        layout[".*d2/kernel"] = ("model", None)
        mp, shards, sharding = train(
            name,
            granularity,
            keras.distribution.ModelParallel(layout_map=layout, batch_dim_name="batch"),
        )
        results["runs"].append(
            {
                "optimizer": name,
                "granularity": granularity,
                "data_parallel": rel(dp, single),
                "model_parallel": rel(mp, single),
                "kernel_shards": shards,
                "kernel_sharding": sharding,
            }
        )
    print("RESULT " + json.dumps(results))


if __name__ == "__main__":
    sys.exit(main())

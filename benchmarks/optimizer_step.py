"""Median optimizer step time of the grafted optimizers, as a ratio to Keras's own.

About 4.3 million parameters in tensors shaped like a DCGAN pair for 28x28
images (26 tensors). Every optimizer is timed in the same process,
interleaved round by round, so the ratios hold on a noisy shared machine.

    python benchmarks/optimizer_step.py              # every backend, one process each
    KERAS_BACKEND=jax python benchmarks/optimizer_step.py --single

Goal: AdaNSGDA <= 1.25x Adam and NSGDA <= 1.5x SGD on every backend.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from functools import partial

SHAPES = [
    # generator: dense 128 -> 7x7x256 (+ batch norm), transposed convolutions
    # 256 -> 128 -> 64 -> 1 (5x5, + batch norms)
    (128, 7 * 7 * 256),
    (7 * 7 * 256,),
    (7 * 7 * 256,),
    (7 * 7 * 256,),
    (5, 5, 128, 256),
    (128,),
    (128,),
    (128,),
    (5, 5, 64, 128),
    (64,),
    (64,),
    (64,),
    (5, 5, 1, 64),
    (1,),
    # discriminator: convolutions 1 -> 64 -> 128 -> 256 (5x5), 256 -> 256 (3x3),
    # dense logit
    (5, 5, 1, 64),
    (64,),
    (5, 5, 64, 128),
    (128,),
    (5, 5, 128, 256),
    (256,),
    (3, 3, 256, 256),
    (256,),
    (7 * 7 * 256, 1),
    (1,),
]


def _bench_one_backend(rounds: int, steps: int) -> None:
    import keras
    import numpy as np

    from keras_graft import optimizers

    backend = keras.backend.backend()
    rng = np.random.default_rng(0)
    factories = {
        "keras Adam": lambda: keras.optimizers.Adam(1e-3),
        "keras SGD": lambda: keras.optimizers.SGD(1e-2),
        "AdaNSGDA": lambda: optimizers.AdaNSGDA(1e-3),
        "AdaDir": lambda: optimizers.AdaDir(1e-2),
        "NSGDA": lambda: optimizers.NSGDA(1e-2),
        "Graft(Adam, SGD)": lambda: optimizers.Graft("adam", "sgd"),
    }
    grads_np = [rng.standard_normal(s).astype("float32") for s in SHAPES]
    n_params = sum(g.size for g in grads_np)

    def make_step(optimizer):
        variables = [
            keras.Variable(0.1 * g, name=f"v{i}") for i, g in enumerate(grads_np)
        ]
        grads = [keras.ops.convert_to_tensor(g) for g in grads_np]
        optimizer.build(variables)
        if backend == "jax":
            import jax

            state = {
                "t": [v.value for v in variables],
                "o": [v.value for v in optimizer.variables],
            }

            # Donated buffers, as in Keras's JAX trainer: updates run in place.
            @partial(jax.jit, donate_argnums=(0, 1))
            def apply(t, o, g):
                return optimizer.stateless_apply(o, g, t)

            def step():
                state["t"], state["o"] = apply(state["t"], state["o"], grads)
                jax.block_until_ready(state["t"])

            return step
        if backend == "tensorflow":
            import tensorflow as tf

            apply = tf.function(
                lambda: optimizer.apply(grads, variables), autograph=False
            )

            def step():
                apply()
                variables[0].value.numpy()  # wait for the update

            return step
        return lambda: optimizer.apply(grads, variables)

    steps_of = {name: make_step(f()) for name, f in factories.items()}
    for step in steps_of.values():  # compile and warm up
        for _ in range(3):
            step()
    times = {name: [] for name in factories}
    for _ in range(rounds):
        for name, step in steps_of.items():
            start = time.perf_counter()
            for _ in range(steps):
                step()
            times[name].append((time.perf_counter() - start) / steps * 1e3)
    median = {name: float(np.median(t)) for name, t in times.items()}
    print(
        f"\nbackend={backend}  parameters={n_params / 1e6:.2f}M  "
        f"rounds={rounds}x{steps} steps"
    )
    print(f"{'optimizer':<18} {'median ms/step':>15} {'vs Adam':>8} {'vs SGD':>8}")
    for name, ms in median.items():
        print(
            f"{name:<18} {ms:>15.3f} {ms / median['keras Adam']:>7.2f}x "
            f"{ms / median['keras SGD']:>7.2f}x"
        )
    print(
        f"goal: AdaNSGDA/Adam = "
        f"{median['AdaNSGDA'] / median['keras Adam']:.2f} (<= 1.25), "
        f"NSGDA/SGD = {median['NSGDA'] / median['keras SGD']:.2f} (<= 1.5)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--single", action="store_true", help="only the backend of KERAS_BACKEND"
    )
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    if args.single:
        _bench_one_backend(args.rounds, args.steps)
        return
    for backend in ("tensorflow", "jax", "torch"):
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--single",
                f"--rounds={args.rounds}",
                f"--steps={args.steps}",
            ],
            env=env,
            check=True,
        )


if __name__ == "__main__":
    main()

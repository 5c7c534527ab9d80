"""Seconds of a ring run: the MLPs as one `DenseStack` layer against a chain of layers.

The `default` preset's ring benchmark (MLPs of width 64, batch 64) trained by
`keras_graft.experiments.gan_runs.run_gan`, once with the networks of
`keras_graft.experiments.networks` (one `DenseStack` layer per network) and
once with the same networks written as a chain of `Dense` and `LeakyReLU`
layers (the networks before `DenseStack`), alternately, in one process, on
the running backend. Both give the same numbers bit for bit (checked here on
the run's final samples); only the time differs. On PyTorch Keras runs each
layer call in Python, so the chain's five layer calls per network call are
most of the step.

    KERAS_BACKEND=torch python benchmarks/ring_run.py [--steps 1000] [--rounds 3]

One intra-op thread, as the workers of `keras-graft reproduce` run. The
first round of each is a warm-up (not timed on JAX and TensorFlow, which
compile there).
"""

from __future__ import annotations

import argparse
import math
import statistics
from dataclasses import replace


def _chain(seed: int, latent_dim: int, hidden: int):
    """The ring networks as chains of layers (same seeds as `networks`)."""
    import keras
    from keras import layers

    def init(i: int):
        return keras.initializers.GlorotUniform(seed=seed * 1000 + i)

    x = z = keras.Input((latent_dim,))
    for i in range(2):
        x = layers.Dense(hidden, activation="relu", kernel_initializer=init(i))(x)
    generator = keras.Model(z, layers.Dense(2, kernel_initializer=init(2))(x))
    x = p = keras.Input((2,))
    for i in range(2):
        x = layers.LeakyReLU(0.2)(
            layers.Dense(hidden, kernel_initializer=init(10 + i))(x)
        )
    discriminator = keras.Model(p, layers.Dense(1, kernel_initializer=init(20))(x))
    return generator, discriminator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="steps per run")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs of each")
    parser.add_argument("--optimizer", default="nsgda")
    args = parser.parse_args()

    import keras
    import numpy as np

    from keras_graft.experiments import gan_runs
    from keras_graft.experiments.presets import PRESETS

    backend = keras.backend.backend()
    if backend == "torch":
        import torch

        torch.set_num_threads(1)
    config = PRESETS["default"].gans[0].config
    every = args.steps // 2
    config = replace(
        config,
        steps=args.steps,
        eval_every=every,
        steps_per_execution=math.gcd(config.steps_per_execution, every),
    )
    stacked = gan_runs._networks

    def chained(cfg, seed, shape):
        return _chain(seed, cfg.latent_dim, cfg.width)

    times = {"DenseStack": [], "chain of layers": []}
    samples = {}
    for r in range(args.rounds + 1):
        for name, build in (("DenseStack", stacked), ("chain of layers", chained)):
            gan_runs._networks = build
            try:
                out = gan_runs.run_gan(config, args.optimizer, seed=7)
            finally:
                gan_runs._networks = stacked
            if r:
                times[name].append(out["seconds"])
            samples[name] = np.asarray(out["samples"])
    same = np.array_equal(samples["DenseStack"], samples["chain of layers"])
    print(
        f"backend={backend} ring, width {config.width}, batch {config.batch_size}, "
        f"{args.steps} steps, {args.optimizer}; median of {args.rounds} runs"
    )
    for name, t in times.items():
        median = statistics.median(t)
        print(f"{name:<16}  {median:8.2f} s  ({args.steps / median:.0f} steps/s)")
    ratio = statistics.median(times["DenseStack"]) / statistics.median(
        times["chain of layers"]
    )
    print(f"DenseStack / chain = {ratio:.2f}; final samples identical: {same}")


if __name__ == "__main__":
    main()

"""Endurance: many GAN steps on CPU, memory (RSS) and throughput over time.

Small MLP generator and discriminator on a 2-D ring of Gaussians, batch 256,
AdaNSGDA for both players. Prints VmRSS at the start (after the first window,
i.e. after compilation) and at the end, steps/s for every 1,000-step window,
and a verdict on memory growth.

    KERAS_BACKEND=jax python benchmarks/endurance.py [--steps 20000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras
import numpy as np

import keras_graft
from keras_graft import optimizers


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS")


def ring(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 8, n) * (2 * np.pi / 8)
    return (
        2 * np.stack([np.cos(a), np.sin(a)], 1) + 0.05 * rng.standard_normal((n, 2))
    ).astype("float32")


def mlp(i: int, o: int, name: str) -> keras.Model:
    x = inp = keras.Input((i,))
    for _ in range(2):
        x = keras.layers.Dense(64, activation="relu")(x)
    return keras.Model(inp, keras.layers.Dense(o)(x), name=name)


class Windows(keras.callbacks.Callback):
    def __init__(self, every: int):
        super().__init__()
        self.every, self.t0, self.rows = every, None, []

    def on_train_batch_end(self, batch, logs=None):
        step = batch + 1
        if step % self.every == 0:
            now = time.perf_counter()
            if self.t0 is not None:
                self.rows.append((step, self.every / (now - self.t0), rss_mib()))
            else:
                self.rows.append(
                    (step, float("nan"), rss_mib())
                )  # includes compilation
            self.t0 = now


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=20000)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--window", type=int, default=1000)
    args = p.parse_args()
    keras.utils.set_random_seed(0)
    rss0 = rss_mib()
    gan = keras_graft.GAN(mlp(8, 2, "generator"), mlp(2, 1, "discriminator"), seed=0)
    gan.compile(
        optimizers.AdaNSGDA(1e-4, beta_1=0.5), optimizers.AdaNSGDA(1e-4, beta_1=0.5)
    )
    data = ring(args.steps * args.batch)
    win = Windows(args.window)
    t = time.perf_counter()
    gan.fit(
        data, batch_size=args.batch, epochs=1, shuffle=False, verbose=0, callbacks=[win]
    )
    total = time.perf_counter() - t
    print(
        f"backend={keras.backend.backend()} steps={args.steps} batch={args.batch} "
        f"total={total:.1f}s rss_before_model={rss0:.1f}MiB"
    )
    print("window_end_step steps_per_s rss_MiB")
    for step, sps, rss in win.rows:
        print(f"{step:7d} {sps:10.1f} {rss:9.1f}")
    start, end = win.rows[0][2], win.rows[-1][2]
    rates = [r[1] for r in win.rows[1:]]
    growth = end - start
    # Noise: allocator jitter of a few MiB; a leak of even 1 KiB/step would be
    # ~20 MiB over 20,000 steps.
    verdict = "no growth beyond noise" if growth < 10.0 else "GROWTH"
    print(
        f"RSS after first window {start:.1f} MiB, at the end {end:.1f} MiB, "
        f"growth {growth:+.1f} MiB: {verdict}"
    )
    if rates:
        print(
            f"throughput steps/s: first {rates[0]:.0f}, last {rates[-1]:.0f}, "
            f"median {np.median(rates):.0f}, min {min(rates):.0f}, max {max(rates):.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

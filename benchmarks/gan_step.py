"""Steps per second of `keras_graft.GAN.fit` vs a minimal hand-written loop.

Same DCGAN networks (28x28x1, batch 64, about 270k parameters in total),
non-saturating loss, Adam for both players, one discriminator step per
generator step. Three runs are interleaved chunk by chunk after a warmup, and
the median over the timed chunks is reported:

* `fit, pace on`: `GAN.fit` with `track_pace=True` (the default);
* `fit, pace off`: `GAN.fit` with `track_pace=False`;
* `hand loop`: the same step written directly for the backend (a
  `tf.function` with two tapes, a `jax.jit` step over `stateless_call` and
  `stateless_apply`, or plain torch autograd), fed the same numpy batches;
  it reads its loss back only after the first and the last step;
* `hand, read each step`: the same loop reading its loss back after every
  step. On a CPU the two hand loops run alike; on a GPU the read makes the
  host wait for each step before it queues the next;
* `fit 0.1, read each call`: `GAN.fit` as keras_graft 0.1 ran it, reading
  its non-finite flag back in the training thread after every train call
  (measured on an H200, JAX: 0.58-0.59x the hand loop). `GAN.fit` now leaves
  the flag on the device and reads it where Keras reads the logs anyway:
  this row is the before, `fit, pace on` the after, side by side;
* `fit, spe=N` (JAX, TensorFlow): `GAN.fit` with `steps_per_execution=N`
  (`--spe`, default 4): N steps per train call, one dispatch and one
  callback call per N steps;
* `keras Model.fit` (TensorFlow and PyTorch): the hand loop's step as the
  `train_step` of a minimal `keras.Model` subclass (keras.io's GAN pattern,
  two `Mean` metrics), trained by `fit` on the same array as `GAN.fit`: what
  Keras's `fit` costs any model, apart from what `keras_graft.GAN` adds.

Each `fit` call trains one chunk (one epoch) and pays a fixed setup that the
hand-written loop does not: the data pipeline (on TensorFlow a `tf.data`
dataset is traced per call), resetting the metrics, the callbacks, the end
of the epoch. A real run pays it once per `fit` call (and part of it once
per epoch), not once every `--chunk` steps, so two rates are reported:

* `steps/s`: the steady training rate, timed from the end of a chunk's first
  step to the end of its last (for `fit`, in a callback's
  `on_train_batch_end`, which Keras calls with the step's logs read back,
  i.e. once the step is done; for the hand-written loops, after blocking on
  the first step's loss; with `steps_per_execution=N`, from the end of the
  first call's N steps). The iterator and the callbacks are in it. The timing callback
  is marked `async_safe`, as Keras's own callbacks are: otherwise Keras
  would read every log value back to the host after every step, in the
  training thread, which costs any model's `fit` a wait per log value on a
  GPU and is not what a user's `fit` does;
* `whole call`: chunk steps over the whole call's time, setup included (the
  number this benchmark printed before), with the setup per call in
  milliseconds.

`vs hand` is the median over the rounds of each round's ratio to the hand
loop's chunk of the same round (paired: a slow spell of the machine slows
both), and `range` the lowest and highest of those ratios.

`--tiny` keeps the layers but gives them 2 channels at most and a batch of 8:
the per-step cost on the host, which bounds a step of this size on a GPU.

Usage:
    KERAS_BACKEND=jax python benchmarks/gan_step.py [--chunk 40] [--repeats 5] [--tiny]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
from keras import layers, ops

import keras_graft

BATCH = 64
LATENT = 64
#: Channels of the widest layer (the generator's first, the discriminator's
#: last); the others scale with it. `--tiny` sets 2 (and a batch of 8).
WIDTH = 64


def dcgan(seed: int = 0):
    keras.utils.set_random_seed(seed)
    w = WIDTH
    z = keras.Input((LATENT,))
    x = layers.Dense(7 * 7 * w, use_bias=False)(z)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Reshape((7, 7, w))(x)
    x = layers.Conv2DTranspose(
        max(w // 2, 1), 4, strides=2, padding="same", use_bias=False
    )(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Conv2DTranspose(
        max(w // 4, 1), 4, strides=2, padding="same", use_bias=False
    )(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    out = layers.Conv2D(1, 3, padding="same", activation="tanh")(x)
    g = keras.Model(z, out, name="generator")
    i = keras.Input((28, 28, 1))
    y = layers.Conv2D(max(w // 2, 1), 4, strides=2, padding="same")(i)
    y = layers.LeakyReLU(0.2)(y)
    y = layers.Conv2D(w, 4, strides=2, padding="same")(y)
    y = layers.LeakyReLU(0.2)(y)
    y = layers.Flatten()(y)
    d = keras.Model(i, layers.Dense(1)(y), name="discriminator")
    return g, d


def adam():
    return keras.optimizers.Adam(2e-4, beta_1=0.5)


def d_loss_fn(real_logits, fake_logits):
    return ops.mean(ops.softplus(-real_logits)) + ops.mean(ops.softplus(fake_logits))


def g_loss_fn(fake_logits):
    return ops.mean(ops.softplus(-fake_logits))


# --------------------------------------------------------------------------
# Hand-written loops: each returns `run(batches)` that trains on a list of
# numpy batches, blocks until done, and returns the time at which its first
# step had finished (`time.perf_counter()`).


def tensorflow_step(g, d, d_opt, g_opt, real):
    """One D step and one G step (two tapes); returns both losses."""
    import tensorflow as tf

    z = tf.random.normal((BATCH, LATENT))
    fake = g(z, training=True)
    with tf.GradientTape() as tape:
        loss = d_loss_fn(d(real, training=True), d(fake, training=True))
    d_opt.apply(tape.gradient(loss, d.trainable_variables), d.trainable_variables)
    z = tf.random.normal((BATCH, LATENT))
    with tf.GradientTape() as tape:
        g_loss = g_loss_fn(d(g(z, training=True), training=True))
    g_opt.apply(tape.gradient(g_loss, g.trainable_variables), g.trainable_variables)
    return loss, g_loss


def torch_step(g, d, d_opt, g_opt, real):
    """One D step and one G step (torch autograd); returns both losses."""
    import torch

    d_vars, g_vars = d.trainable_variables, g.trainable_variables
    z = torch.randn(BATCH, LATENT)
    with torch.no_grad():
        fake = g(z, training=True)
    loss = d_loss_fn(d(real, training=True), d(fake, training=True))
    grads = torch.autograd.grad(loss, [v.value for v in d_vars])
    with torch.no_grad():
        d_opt.apply(grads, d_vars)
    z = torch.randn(BATCH, LATENT)
    g_loss = g_loss_fn(d(g(z, training=True), training=True))
    grads = torch.autograd.grad(g_loss, [v.value for v in g_vars])
    with torch.no_grad():
        g_opt.apply(grads, g_vars)
    return loss, g_loss


def built_adams(g, d):
    """Adam for each player, built on its trainable variables."""
    d_opt, g_opt = adam(), adam()
    d_opt.build(d.trainable_variables)
    g_opt.build(g.trainable_variables)
    return d_opt, g_opt


def hand_tensorflow(g, d, read_each_step=False):
    import tensorflow as tf

    d_opt, g_opt = built_adams(g, d)

    @tf.function
    def step(real):
        return tensorflow_step(g, d, d_opt, g_opt, real)

    def run(batches):
        for i, b in enumerate(batches):
            out = step(tf.convert_to_tensor(b))
            if read_each_step or i == 0:
                float(out[0])
            if i == 0:
                first = time.perf_counter()
        float(out[0])
        return first, 1

    return run


def hand_torch(g, d, read_each_step=False):
    d_opt, g_opt = built_adams(g, d)

    def step(real):
        return torch_step(g, d, d_opt, g_opt, real)

    def run(batches):
        for i, b in enumerate(batches):
            out = step(ops.convert_to_tensor(b))
            if read_each_step or i == 0:
                float(out[0].detach())
            if i == 0:
                first = time.perf_counter()
        float(out[0].detach())
        return first, 1

    return run


def hand_jax(g, d, read_each_step=False):
    import jax

    d_opt, g_opt = built_adams(g, d)

    def d_loss(d_tv, d_ntv, g_tv, g_ntv, real, z):
        fake, g_ntv = g.stateless_call(g_tv, g_ntv, z, training=True)
        fake = jax.lax.stop_gradient(fake)
        rl, d_ntv = d.stateless_call(d_tv, d_ntv, real, training=True)
        fl, d_ntv = d.stateless_call(d_tv, d_ntv, fake, training=True)
        return d_loss_fn(rl, fl), (d_ntv, g_ntv)

    def g_loss(g_tv, g_ntv, d_tv, d_ntv, z):
        fake, g_ntv = g.stateless_call(g_tv, g_ntv, z, training=True)
        fl, d_ntv = d.stateless_call(d_tv, d_ntv, fake, training=True)
        return g_loss_fn(fl), (g_ntv, d_ntv)

    @jax.jit
    def step(state, real):
        d_tv, d_ntv, g_tv, g_ntv, d_ov, g_ov, key = state
        key, k1, k2 = jax.random.split(key, 3)
        z = jax.random.normal(k1, (BATCH, LATENT))
        (loss, (d_ntv, g_ntv)), grads = jax.value_and_grad(d_loss, has_aux=True)(
            d_tv, d_ntv, g_tv, g_ntv, real, z
        )
        d_tv, d_ov = d_opt.stateless_apply(d_ov, grads, d_tv)
        z = jax.random.normal(k2, (BATCH, LATENT))
        (gl, (g_ntv, d_ntv)), grads = jax.value_and_grad(g_loss, has_aux=True)(
            g_tv, g_ntv, d_tv, d_ntv, z
        )
        g_tv, g_ov = g_opt.stateless_apply(g_ov, grads, g_tv)
        return (d_tv, d_ntv, g_tv, g_ntv, d_ov, g_ov, key), loss

    def values(vs):
        return [v.value for v in vs]

    state = [
        (
            values(d.trainable_variables),
            values(d.non_trainable_variables),
            values(g.trainable_variables),
            values(g.non_trainable_variables),
            values(d_opt.variables),
            values(g_opt.variables),
            jax.random.PRNGKey(0),
        )
    ]

    def run(batches):
        s = state[0]
        for i, b in enumerate(batches):
            s, loss = step(s, b)
            if read_each_step or i == 0:
                float(loss)
            if i == 0:
                first = time.perf_counter()
        state[0] = s
        float(loss)
        return first, 1

    return run


# --------------------------------------------------------------------------
# The hand loops' steps as the `train_step` of a minimal keras.Model (keras.io's
# GAN pattern): what `fit` costs any model with a custom step.


def keras_model(g, d):
    """A compiled `keras.Model` whose `train_step` is the hand loop's step."""
    import keras

    backend = keras.backend.backend()

    step = tensorflow_step if backend == "tensorflow" else torch_step

    class PlainGAN(keras.Model):
        def __init__(self):
            super().__init__()
            self.d_loss = keras.metrics.Mean(name="d_loss")
            self.g_loss = keras.metrics.Mean(name="g_loss")
            self.built = True  # both players are built; `call` is not used

        @property
        def metrics(self):
            return [self.d_loss, self.g_loss]

        def compile(self):
            super().compile()
            self.d_opt, self.g_opt = built_adams(g, d)

        def train_step(self, real):
            loss, g_loss = step(g, d, self.d_opt, self.g_opt, real)
            self.d_loss.update_state(loss)
            self.g_loss.update_state(g_loss)
            return {m.name: m.result() for m in self.metrics}

    model = PlainGAN()
    model.compile()
    return model


# --------------------------------------------------------------------------


class _FirstStepEnd(keras.callbacks.Callback):
    """Records when the first batch of an epoch has finished.

    `async_safe`: Keras calls it from a worker thread with the logs read back
    there, instead of reading every log value in the training thread after
    every step (see the module docstring).
    """

    async_safe = True

    def on_epoch_begin(self, epoch, logs=None):
        self.first = None

    def on_train_batch_end(self, batch, logs=None):
        if self.first is None:  # batch 0, or `steps_per_execution - 1`
            self.first = (time.perf_counter(), batch + 1)


class ReadEachCallGAN(keras_graft.GAN):
    """`GAN.fit` as in keras_graft 0.1: the non-finite flag read back to the
    host in the training thread after every train call (the step waits)."""

    def make_train_function(self, force=False):
        fn = super().make_train_function(force=force)
        if getattr(fn, "_reads", False):
            return fn

        def reading(*args, **kwargs):
            out = fn(*args, **kwargs)
            code, _ = self._nonfinite_pending
            float(ops.convert_to_numpy(code))
            return out

        reading._reads = True
        self.train_function = reading
        return reading


def fit_runner(g, d, track_pace: bool, cls=keras_graft.GAN, spe: int = 1):
    gan = cls(g, d, seed=0)
    gan.compile(
        adam(),
        adam(),
        loss="non_saturating",
        track_pace=track_pace,
        steps_per_execution=spe,
    )
    return model_runner(gan)


def model_runner(model):
    """`run(batches)` that trains `model` with `fit` on the batches as one array."""
    data = {}
    timer = _FirstStepEnd()

    def run(batches):
        key = (id(batches[0]), len(batches))
        if key not in data:  # the hand loops get ready-made batches too
            data[key] = np.concatenate(batches)
        model.fit(
            data[key],
            batch_size=BATCH,
            epochs=1,
            shuffle=False,
            verbose=0,
            callbacks=[timer],
        )
        return timer.first

    return run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunk", type=int, default=40, help="steps per timed chunk")
    parser.add_argument("--repeats", type=int, default=5, help="timed chunks per run")
    parser.add_argument(
        "--spe",
        type=int,
        default=4,
        help="steps_per_execution of the `fit, spe=N` run (JAX, TensorFlow); "
        "the run is left out unless N divides --chunk and is smaller",
    )
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="the same layers with 2 channels at most and a batch of 8: the "
        "per-step cost on the host alone",
    )
    args = parser.parse_args(argv)
    global BATCH, WIDTH
    if args.tiny:
        BATCH, WIDTH = 8, 2

    backend = keras.backend.backend()
    rng = np.random.default_rng(0)
    batches = [
        np.tanh(rng.standard_normal((BATCH, 28, 28, 1))).astype("float32")
        for _ in range(args.chunk)
    ]
    hand = {"tensorflow": hand_tensorflow, "torch": hand_torch, "jax": hand_jax}[
        backend
    ]
    makers = [
        ("fit, pace on", lambda g, d: fit_runner(g, d, True)),
        ("fit, pace off", lambda g, d: fit_runner(g, d, False)),
        (
            "fit 0.1, read each call",
            lambda g, d: fit_runner(g, d, True, cls=ReadEachCallGAN),
        ),
        ("hand loop", hand),
        ("hand, read each step", lambda g, d: hand(g, d, read_each_step=True)),
    ]
    fits = args.chunk % args.spe == 0 and 1 < args.spe < args.chunk
    if backend != "torch" and fits:  # Keras's torch trainer takes only 1
        makers.append(
            (
                f"fit, spe={args.spe}",
                lambda g, d: fit_runner(g, d, True, spe=args.spe),
            )
        )
    if backend in ("tensorflow", "torch"):
        makers.append(("keras Model.fit", lambda g, d: model_runner(keras_model(g, d))))
    runs = {}
    for name, make in makers:
        g, d = dcgan()
        runs[name] = make(g, d)
    n_params = sum(
        int(np.prod(v.shape)) for v in g.trainable_variables + d.trainable_variables
    )

    for run in runs.values():  # warmup: tracing, compilation, caches
        run(batches[:4])
        run(batches)
    steady: dict[str, list[float]] = {name: [] for name in runs}
    whole: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            first, done = run(batches)
            end = time.perf_counter()
            steady[name].append((end - first) / (args.chunk - done))
            whole[name].append(end - start)

    step_s = {name: statistics.median(t) for name, t in steady.items()}
    call_s = {name: statistics.median(t) for name, t in whole.items()}
    rate = {name: 1.0 / t for name, t in step_s.items()}
    call_rate = {name: args.chunk / t for name, t in call_s.items()}
    # Each round's ratio to the hand loop's chunk of the same round.
    paired = {
        name: [h / t for h, t in zip(steady["hand loop"], times)]
        for name, times in steady.items()
    }
    paired_call = {
        name: [h / t for h, t in zip(whole["hand loop"], times)]
        for name, times in whole.items()
    }
    print(
        f"backend={backend}  batch={BATCH}{' (--tiny)' if args.tiny else ''}  "
        f"trainable params={n_params}  "
        f"chunk={args.chunk} steps  median of {args.repeats}"
    )
    print(
        f"{'run':<26}{'steps/s':>8}{'vs hand':>10}{'range':>13}"
        f"{'whole call':>12}{'vs hand':>10}{'setup ms':>10}"
    )
    for name in runs:
        setup_ms = 1e3 * (call_s[name] - args.chunk * step_s[name])
        low, high = min(paired[name]), max(paired[name])
        print(
            f"{name:<26}{rate[name]:>8.1f}"
            f"{statistics.median(paired[name]):>9.2f}x"
            f"{f'{low:.2f}-{high:.2f}':>13}"
            f"{call_rate[name]:>12.1f}"
            f"{statistics.median(paired_call[name]):>9.2f}x{setup_ms:>10.0f}"
        )
    print(
        f"pace logging cost: {rate['fit, pace off'] / rate['fit, pace on'] - 1:+.1%} "
        "time per step"
    )
    if "keras Model.fit" in steady:
        own = [k / f for k, f in zip(steady["keras Model.fit"], steady["fit, pace on"])]
        print(
            f"GAN.fit (pace on) / keras Model.fit: {statistics.median(own):.2f}x "
            f"(range {min(own):.2f}-{max(own):.2f})"
        )


if __name__ == "__main__":
    main()

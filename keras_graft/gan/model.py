"""`GAN`: a Keras model that trains a generator against a discriminator.

Everything here is written once with `keras.ops`; the few lines that differ per
backend (how gradients are taken and applied, input gradients for penalties,
the trainer's step signatures) live in `_backend/`. The compile arguments are
checked in `_config.py`, the players in `_players.py`, the non-finite check in
`_nonfinite.py`, the logged metrics in `_trackers.py`.
"""

from __future__ import annotations

import inspect
from typing import Any, Sequence

import keras
import numpy as np
from keras import ops

from keras_graft import _validation as check
from keras_graft._backend import backend_module
from keras_graft.gan import _nonfinite
from keras_graft.gan import losses as losses_lib
from keras_graft.gan._config import (
    UPDATES,
    TrainConfig,
    check_train_config,
    is_mixed_float16,
    loss_scaled,
    resolve_optimizer,
)
from keras_graft.gan._container import _PlayerOptimizers
from keras_graft.gan._players import check_num_classes, inspect_players, shapes_match
from keras_graft.gan._trackers import make_trackers

gan_backend = backend_module("keras_graft.gan._backend")

__all__ = ["GAN", "UPDATES"]
_PACE_EPS = 1e-30
#: `keras.Model.fit`'s arguments after `self`, to find `callbacks` however given.
_FIT_SIGNATURE = inspect.signature(keras.Model.fit).replace(
    parameters=list(inspect.signature(keras.Model.fit).parameters.values())[1:]
)


@keras.saving.register_keras_serializable(package="keras_graft")
class GAN(keras.Model):
    """A generator and a discriminator trained against each other by `fit`.

    `fit` takes real samples (numpy arrays, `tf.data.Dataset`,
    `keras.utils.PyDataset`). Each batch makes `d_steps` discriminator updates
    and one generator update, on every Keras backend, with the default
    `jit_compile`.

    Players: any `keras.Model` (Sequential, Functional, or subclassed with its
    own `call`, built or not). Shapes are read from a player's `keras.Input`
    where it has one; otherwise the generator is called once on zeros of
    shape `(2, *latent_shape)` (pass `latent_dim`) to build it and find the
    sample shape, and the discriminator on its output.

    Class-conditional GANs (`num_classes=K`): the data yields `(samples,
    labels)` with integer labels in `[0, K)`; the generator takes
    `[latents, labels]` and the discriminator `[samples, labels]` (labels of
    shape `(batch,)`, or `(batch, 1)` where a Functional player declares its
    label input so); samples are generated for the labels of the real batch.
    `generate(labels=...)` and `SampleGrid` (one row per class) follow. An
    unconditional GAN ignores the labels of `(samples, labels)` data.

    `evaluate(x)` and `fit(..., validation_data=x)` report `d_loss`,
    `g_loss`, `d_real` and `d_fake` on held-out real samples and as many
    generated ones, with both players in inference mode (`training=False`):
    no weight, optimizer state or BatchNorm statistic changes. Their latents
    come from a separate stream (seeded `seed + 1`) that restarts at every
    `evaluate` call, so the same weights and data give the same numbers, and
    validation does not change the training run.

    BatchNorm statistics: the discriminator's moving statistics are updated
    by its training-mode passes on real and on generated samples; the
    gradient penalty's pass does not update them (the same on every backend).

    Scheduling (`compile(update=...)`):

    * `"alternating"`: `d_steps` discriminator steps, each on the same real
      batch with fresh latents, then one generator step, with fresh latents,
      against the updated discriminator.
    * `"simultaneous"`: `d_steps - 1` discriminator-only steps as above, then
      the last discriminator gradient and the generator gradient are both taken
      at the same parameters and on the same latents, and only then applied.

    Logged every step: `d_loss` (without the penalty), `g_loss`, `d_real` and
    `d_fake` (mean discriminator output on the real batch and on generated
    samples in the last discriminator step), `penalty` (weighted, when a
    gradient penalty is set), running means over the epoch; and, when
    `track_pace=True`, the values of this step of
    `d_pace = ||theta_D(after) - theta_D(before)|| / ||theta_D(before)||`
    over the whole step (all `d_steps` updates), `g_pace` likewise,
    `pace_ratio = d_pace / g_pace` (0 when `g_pace` is 0), and the players'
    gradient norms `d_grad_norm = ||grad_{theta_D} L_D||` (global L2 norm over
    all of D's trainable variables, of the gradient of D's last update in the
    step, penalty included) and `g_grad_norm = ||grad_{theta_G} L_G||` (G's
    update). With Adam these typically stay away from zero while the samples
    improve: training gives good samples without converging to a stationary
    point. They are the gradients the step computes anyway, in float32, of the
    unscaled loss under a `LossScaleOptimizer` and, under `tf.distribute`, of
    the global batch (as on one device).

    Randomness (latents, interpolation weights of WGAN-GP) comes from a
    `keras.random.SeedGenerator` owned by the model and saved with it, so a
    fixed `seed` gives a reproducible run on one backend, also across a
    save/load or `keras.callbacks.BackupAndRestore` resume.

    Example:
        ```python
        gan = keras_graft.GAN(generator, discriminator, seed=0)
        gan.compile(
            d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
            g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
            loss="non_saturating",
        )
        gan.fit(images, batch_size=64, epochs=5)
        samples = gan.generate(num=16)
        ```

    Args:
        generator (keras.Model): maps a latent batch (and labels, when
            conditional) to a sample batch.
        discriminator (keras.Model): maps a sample batch (and labels) to
            scores (logits), one per sample; its input shape must match the
            generator's output.
        latent_dim (int | tuple[int, ...] | None): shape of one latent vector;
            `None` reads it from the generator's `keras.Input` (required for
            a generator without one, e.g. a subclassed model).
        seed (int | None): seed of the model's `SeedGenerator`.
        num_classes (int | None): number of classes of a class-conditional
            GAN (>= 2); `None` for an unconditional one.
        **kwargs (Any): passed to `keras.Model` (e.g. `name`).
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        latent_dim: int | Sequence[int] | None = None,
        seed: int | None = None,
        num_classes: int | None = None,
        **kwargs: Any,
    ):
        seed = check.check_optional_int(seed, "seed", minimum=0)
        if seed is not None and seed >= 2**31:
            check.fail(ValueError, "seed", "None or an int in [0, 2**31)", seed)
        num_classes = check_num_classes(num_classes)
        players = inspect_players(generator, discriminator, latent_dim, num_classes)
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.latent_shape = players.latent_shape
        self.sample_shape = players.sample_shape
        self._players = players
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="gan_seed")
        # Latents of `evaluate`: their own stream (not saved), so that
        # validation leaves the training run unchanged.
        self._eval_seed_generator = keras.random.SeedGenerator(
            None if seed is None else seed + 1, name="gan_eval_seed"
        )
        self._eval_seed_start = ops.convert_to_numpy(self._eval_seed_generator.state)
        self._ema_generator = None
        self._gan_compiled = False
        # No symbolic call: `inspect_players` built the players.
        self.built = True

    # ------------------------------------------------------------------ compile

    def compile(
        self,
        d_optimizer: keras.optimizers.Optimizer | str = "adam",
        g_optimizer: keras.optimizers.Optimizer | str = "adam",
        loss: str = "non_saturating",
        gradient_penalty: str | None = None,
        penalty_weight: float = 10.0,
        d_steps: int = 1,
        update: str = "alternating",
        generator_ema: float | None = None,
        track_pace: bool = True,
        jit_compile: bool | str = "auto",
        steps_per_execution: int = 1,
        run_eagerly: bool = False,
        auto_scale_loss: bool = True,
        scan_steps: bool = False,
    ) -> None:
        """Configure the two players' training.

        Args:
            d_optimizer (keras.optimizers.Optimizer | str): the discriminator's
                optimizer (any Keras optimizer, including ones owning other
                optimizers). A string is resolved by `keras.optimizers.get`.
            g_optimizer (keras.optimizers.Optimizer | str): the generator's
                optimizer; must be a different instance from `d_optimizer`.
            loss (str): `"non_saturating"`, `"minimax"`, `"hinge"`,
                `"wasserstein"` or `"least_squares"` (see
                `keras_graft.gan.losses`).
            gradient_penalty (str | None): `None`, `"wgan_gp"` (on random
                interpolates of real and generated samples,
                `E[(||grad D|| - 1)^2]`) or `"r1"` (on real samples,
                `1/2 E[||grad D||^2]`).
            penalty_weight (float): weight of the penalty: lambda for WGAN-GP,
                gamma for R1 (the added term is `gamma/2 E||grad D||^2`).
            d_steps (int): discriminator updates per generator update (>= 1),
                all on the same real batch with fresh latents.
            update (str): `"alternating"` or `"simultaneous"` (see the class
                docstring).
            generator_ema (float | None): momentum of an exponential moving
                average of the generator's weights (e.g. 0.999), used by
                `generate(ema=True)` and `sample_generator`; `None` for none.
            track_pace (bool): log, for each step, `d_pace`, `g_pace`,
                `pace_ratio`, `d_grad_norm` and `g_grad_norm`:
                `d_pace = ||theta_D(after) - theta_D(before)|| / ||theta_D(before)||`
                over the whole step (all `d_steps` updates), `g_pace` likewise,
                `pace_ratio = d_pace / g_pace` (0 when `g_pace` is 0), and
                `d_grad_norm = sqrt(sum_v ||dL_D/dv||^2)` over D's trainable
                variables `v`, of the gradient of the last of the `d_steps`
                updates (`L_D` the discriminator loss plus the weighted
                penalty, at the parameters and latents that update used; with
                `update="simultaneous"` those of the generator's gradient),
                `g_grad_norm` likewise for the generator's update and loss
                `L_G`. The norms reuse the gradients the step computes,
                summed in float32; under a `LossScaleOptimizer` they are
                divided by the loss scale that gradient was taken with, so
                they are norms of the unscaled loss's gradient; under
                `tf.distribute` the replicas' gradients are summed first (one
                extra all-reduce per player and step), so every replica logs
                the norm of the global batch's gradient, as on one device.
                With SGD(lr), `d_steps=1` and alternating updates,
                `d_grad_norm = ||theta_D(after) - theta_D(before)|| / lr`.
            jit_compile (bool | str): as in `keras.Model.compile`.
            steps_per_execution (int): as in `keras.Model.compile`: this many
                steps per call of the train function (JAX and TensorFlow;
                Keras's PyTorch trainer takes 1). For small models, whose steps
                are bound by the host, it pays most: 4 ran 2.2x the steps per
                second of 1 on JAX (`benchmarks/gan_step.py --tiny`).
            run_eagerly (bool): as in `keras.Model.compile`.
            auto_scale_loss (bool): under the `"mixed_float16"` dtype policy
                (global, or the generator's or discriminator's), wrap each
                player's optimizer in `keras.optimizers.LossScaleOptimizer`
                (unless it already is one) and scale each player's loss with its
                own optimizer's `scale_loss`: both players get dynamic loss
                scaling, not just `model.optimizer` as in `keras.Model`.
            scan_steps (bool): on JAX, run the `steps_per_execution` steps of
                a call of the train function in one compiled `jax.lax.scan`
                over the stacked batches, where Keras's JAX trainer dispatches
                one compiled step per batch from Python. The same step; what
                it saves is the host's work per step. Measured on one CPU core
                (`benchmarks/scan_steps.py`, `steps_per_execution=50`): the
                planar-mixture MLP GAN of the experiments (width 64, batch 64)
                trained at 1.95x the steps per second, with the same numbers
                bit for bit; the digit DCGAN at 0.2x, with numbers that
                differ in rounding: XLA:CPU compiles convolutions inside a
                loop otherwise. Off by default; no effect on TensorFlow (its
                trainer loops inside one `tf.function` already), on PyTorch
                (one step per call), with `steps_per_execution=1`,
                `run_eagerly=True`, `jit_compile=False` or under
                `keras.distribution`. A call that gets fewer than
                `steps_per_execution` batches (the end of an epoch) or batches
                of different shapes runs them one at a time.

        Non-finite losses: if a player's loss (the discriminator's including its
        penalty) or one of its gradients is NaN or Inf at some step and that
        player's optimizer does not skip non-finite steps (`skip_nonfinite=True`
        of the keras_graft optimizers, or a `LossScaleOptimizer`), `fit` raises
        FloatingPointError naming the player and the first bad step, on every
        backend. The check stays on the device and is read where Keras reads
        the step's logs anyway, so no step waits for it: right after the bad
        step on TensorFlow, with `verbose=1` or with a callback that has its
        own `on_train_batch_end` (Keras reads every step's logs in the
        training thread there); on JAX and PyTorch otherwise a step or a few
        later (Keras reads them on a worker thread); at the latest at the
        epoch's end. The steps in between run on the bad step's non-finite
        weights. `train_on_batch` raises on the call with the bad step. With
        skipping optimizers, training goes on and the optimizers count the
        skipped steps.

        Raises:
            TypeError: an optimizer is not a `keras.optimizers.Optimizer`, or
                `d_steps` is not an int.
            ValueError: one optimizer instance for both players; unknown
                `loss`, `gradient_penalty` or `update`; `d_steps < 1`;
                a negative `penalty_weight`; `generator_ema` outside [0, 1).
        """
        d_optimizer = resolve_optimizer(d_optimizer, "d_optimizer")
        g_optimizer = resolve_optimizer(g_optimizer, "g_optimizer")
        if d_optimizer is g_optimizer:
            raise ValueError(
                "Arguments `d_optimizer` and `g_optimizer` must be two optimizer "
                "instances; received the same one twice (each player needs its "
                "own, e.g. two keras.optimizers.Adam(...) calls)."
            )
        config = check_train_config(
            loss,
            gradient_penalty,
            penalty_weight,
            d_steps,
            update,
            generator_ema,
            track_pace,
            jit_compile,
            steps_per_execution,
            run_eagerly,
            auto_scale_loss,
            scan_steps,
        )
        if config.auto_scale_loss and is_mixed_float16(
            self.generator, self.discriminator
        ):
            d_optimizer = loss_scaled(d_optimizer)
            g_optimizer = loss_scaled(g_optimizer)
        self._train_config = config
        self._loss = losses_lib.get_loss(config.loss)
        self._d_checked = not _nonfinite.skips_nonfinite(d_optimizer)
        self._g_checked = not _nonfinite.skips_nonfinite(g_optimizer)
        self._penalty_fn = (
            None
            if config.gradient_penalty is None
            else losses_lib.PENALTIES[config.gradient_penalty]
        )
        container = _PlayerOptimizers(d_optimizer, g_optimizer)
        super().compile(
            optimizer=container,
            jit_compile=config.jit_compile,
            steps_per_execution=config.steps_per_execution,
            run_eagerly=config.run_eagerly,
            auto_scale_loss=False,
        )
        container.build_players(self.discriminator, self.generator)
        if config.generator_ema is not None and self._ema_generator is None:
            ema = keras.models.clone_model(self.generator)
            if not ema.built:  # a subclassed generator: build it by a call
                z = ops.zeros(
                    (2,) + self.latent_shape, dtype=self._players.latent_dtype
                )
                labels = None if self.num_classes is None else ops.zeros((2,), "int32")
                self._g(z, labels, training=False, net=ema)
            ema.set_weights(self.generator.get_weights())
            ema.trainable = False
            self._ema_generator = ema
        self._trackers = make_trackers(self._penalty_fn is not None, config.track_pace)
        self._nonfinite = _nonfinite.NonFiniteFlags()
        self._flagless_train_function = None
        self._gan_compiled = True

    # --------------------------------------------------------------- accessors

    @property
    def train_config(self) -> TrainConfig:
        """TrainConfig: how the GAN trains (set by `compile`; frozen)."""
        self._assert_compile_called("train_config")
        return self._train_config

    @property
    def d_optimizer(self) -> keras.optimizers.Optimizer:
        """keras.optimizers.Optimizer: the discriminator's optimizer."""
        return self.optimizer.d_optimizer

    @property
    def g_optimizer(self) -> keras.optimizers.Optimizer:
        """keras.optimizers.Optimizer: the generator's optimizer."""
        return self.optimizer.g_optimizer

    @property
    def ema_generator(self) -> keras.Model | None:
        """keras.Model | None: the moving-average generator, if `generator_ema`."""
        return self._ema_generator

    @property
    def sample_generator(self) -> keras.Model:
        """keras.Model: the generator to sample from (the EMA one when present)."""
        return (
            self._ema_generator if self._ema_generator is not None else self.generator
        )

    @property
    def metrics(self) -> list:
        """list: the loss, output, pace and gradient-norm trackers logged by `fit`."""
        trackers = list(getattr(self, "_trackers", []))
        # The non-finite flags travel with the metrics (threaded on JAX, reset
        # each epoch) but are not logged: see `make_train_function`.
        return trackers + ([self._nonfinite] if trackers else [])

    # --------------------------------------------------------------- sampling

    def sample_latents(self, num: int, seed: Any = None):
        """Draw `num` standard-normal latent vectors.

        Args:
            num (int): batch size.
            seed (Any): a seed for `keras.random.normal`; `None` uses (and
                advances) the model's seed generator.

        Returns:
            Tensor: latents of shape `(num, *latent_shape)`.
        """
        return gan_backend.normal(
            (num,) + self.latent_shape,
            self.seed_generator if seed is None else seed,
        )

    def generate(
        self,
        z: Any = None,
        num: int | None = None,
        ema: bool | None = None,
        training: bool = False,
        labels: Any = None,
    ):
        """Generate samples.

        Args:
            z (Any): latents `(batch, *latent_shape)`; `None` draws `num` of them.
            num (int | None): number of samples when `z` is `None`; with
                `labels` given as an array, defaults to its length.
            ema (bool | None): use the moving-average generator; `None` uses it
                when it exists. `True` without `generator_ema` raises ValueError.
            training (bool): run the generator in training mode.
            labels (Any): class labels, for a class-conditional GAN only (an
                unconditional one raises ValueError on them): one int for
                every sample, or integer ids `(batch,)` in `[0, num_classes)`.

        Returns:
            Tensor: generated samples.
        """
        if num is not None:
            num = check.check_int(num, "num", minimum=1)
        labels = self._generate_labels(labels, z, num)
        if z is None:
            if num is None:
                if labels is None:
                    raise ValueError("generate() needs z (latents) or num.")
                num = int(labels.shape[0])
            z = self.sample_latents(int(num))
        if ema and self._ema_generator is None:
            raise ValueError(
                "generate(ema=True) needs compile(generator_ema=<momentum>)."
            )
        net = self.generator if ema is False else self.sample_generator
        z = ops.convert_to_tensor(z, dtype=self._players.latent_dtype)
        if labels is not None and int(labels.shape[0]) != int(z.shape[0]):
            raise ValueError(
                f"generate(): {int(labels.shape[0])} labels for {int(z.shape[0])} "
                "latents; pass one label per sample (or one int for all)."
            )
        return self._g(z, labels, training=training, net=net)

    def _generate_labels(self, labels, z, num):
        """`labels` of `generate` as int32 `(batch,)`, checked."""
        if self.num_classes is None:
            if labels is not None:
                raise ValueError(
                    "generate(labels=...) needs a class-conditional GAN "
                    "(GAN(..., num_classes=...)); this one is unconditional."
                )
            return None
        if labels is None:
            raise ValueError(
                f"generate() of a class-conditional GAN (num_classes="
                f"{self.num_classes}) needs labels: one int, or one per sample."
            )
        values = np.asarray(ops.convert_to_numpy(labels))
        if values.dtype.kind not in "iu" or values.ndim > 1:
            raise ValueError(
                "generate(): labels must be an int or a 1-D array of integer class "
                f"ids; received dtype {values.dtype} and shape {values.shape}."
            )
        if values.size and (values.min() < 0 or values.max() >= self.num_classes):
            raise ValueError(
                f"generate(): labels must be in [0, {self.num_classes}); received "
                f"values in [{values.min()}, {values.max()}]."
            )
        if values.ndim == 0:
            if z is None and num is None:
                raise ValueError("generate() with one label needs z or num.")
            count = int(num) if z is None else int(ops.shape(z)[0])
            values = np.full((count,), int(values))
        return ops.convert_to_tensor(values.astype("int32"))

    def call(self, *args: Any, **kwargs: Any):
        raise NotImplementedError(
            "A GAN has no forward pass; use gan.generate(z) or gan.discriminator(x)."
        )

    # ------------------------------------------------------------ objectives

    def _labels_for(self, labels, label_shape):
        if labels is None or label_shape is None:
            return None
        return ops.reshape(labels, (-1,) + label_shape)

    def _g(self, z, labels=None, training=True, net=None):
        """The generator (or `net`) on latents `z` and, if conditional, labels."""
        net = self.generator if net is None else net
        labels = self._labels_for(labels, self._players.g_label_shape)
        return net(z if labels is None else [z, labels], training=training)

    def _d(self, x, labels=None, training=True):
        """The discriminator's scores of samples `x` (and labels), in float32.

        Losses are computed in float32 also under a mixed (16-bit compute)
        policy.
        """
        labels = self._labels_for(labels, self._players.d_label_shape)
        out = self.discriminator(
            x if labels is None else [x, labels], training=training
        )
        return ops.cast(out, "float32")

    def _penalty(self, real, fake, alpha, labels=None):
        """Unweighted gradient penalty on `real` (R1) or interpolates (WGAN-GP).

        The penalty's forward pass runs the discriminator in training mode
        (batch statistics in BatchNorm, as the loss's passes) but does not
        update its moving statistics or other non-trainable state: these
        follow the passes on real and generated samples only, the same on
        every backend.
        """
        if self._train_config.gradient_penalty == "wgan_gp":
            x = alpha * real + (1.0 - alpha) * fake
        else:
            x = real
        state = self.discriminator.non_trainable_variables
        saved = [ops.copy(v.value) for v in state]

        def scores_sum(x):
            return ops.sum(self._d(x, labels, training=True))

        grads = gan_backend.input_gradient(scores_sum, ops.stop_gradient(x))
        for v, value in zip(state, saved):
            v.assign(value)
        return self._penalty_fn(grads)

    def gradient_penalty(
        self, real: Any, fake: Any | None = None, alpha: Any = None, labels: Any = None
    ):
        """The weighted gradient penalty as it enters the discriminator loss.

        Args:
            real (Any): real samples.
            fake (Any | None): generated samples (WGAN-GP only); `None` draws them.
            alpha (Any): interpolation weights `(batch, 1, ...)` (WGAN-GP only);
                `None` draws them uniformly.
            labels (Any): class labels `(batch,)` of a class-conditional GAN.

        Returns:
            Tensor: `penalty_weight * penalty`, a scalar.
        """
        self._assert_compile_called("gradient_penalty")
        if self._penalty_fn is None:
            raise ValueError("compile(gradient_penalty=...) was not set.")
        real = ops.convert_to_tensor(real, dtype=self._players.sample_dtype)
        batch = ops.shape(real)[0]
        labels = self._generate_labels(labels, real, None)
        if fake is None:
            fake = self._g(self.sample_latents(batch), labels, training=False)
        if alpha is None:
            alpha = self._draw_alpha(batch, len(ops.shape(real)))
        fake = ops.convert_to_tensor(fake, dtype=real.dtype)
        alpha = ops.convert_to_tensor(alpha, dtype=real.dtype)
        return self._train_config.penalty_weight * self._penalty(
            real, fake, alpha, labels
        )

    def _draw_alpha(self, batch, ndim):
        return keras.random.uniform(
            (batch,) + (1,) * (ndim - 1), seed=self.seed_generator
        )

    def _d_objective(self, real, z, alpha, labels=None):
        with gan_backend.no_grad():
            fake = self._g(z, labels, training=True)
        fake = ops.stop_gradient(fake)
        real_logits = self._d(real, labels)
        fake_logits = self._d(fake, labels)
        d_loss = self._loss.d_fn(real_logits, fake_logits)
        aux = {
            "d_loss": d_loss,
            "d_real": ops.mean(real_logits),
            "d_fake": ops.mean(fake_logits),
        }
        total = d_loss
        if self._penalty_fn is not None:
            penalty = self._train_config.penalty_weight * ops.cast(
                self._penalty(real, fake, alpha, labels), "float32"
            )
            aux["penalty"] = penalty
            total = total + penalty
        return total, aux

    def _g_objective(self, z, labels=None):
        fake = self._g(z, labels, training=True)
        fake_logits = self._d(fake, labels)
        g_loss = self._loss.g_fn(fake_logits)
        return g_loss, {"g_loss": g_loss}

    @staticmethod
    def _for_gradients(objective, optimizer):
        """`objective` with its loss as differentiated: loss-scaled, per replica.

        The aux values (logged) stay unscaled. Under `tf.distribute` each
        replica's loss is divided by the number of replicas, since the
        optimizer sums the replicas' gradients (as `keras.Model` does).
        """
        replicas = gan_backend.num_replicas()
        scaled = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
        if replicas == 1 and not scaled:
            return objective

        def fn(*args):
            loss, aux = objective(*args)
            if replicas > 1:
                loss = loss * (1.0 / replicas)
            if scaled:
                loss = optimizer.scale_loss(loss)
            return loss, aux

        return fn

    def _step_latents(self, batch, seed=None):
        """This replica's latents: rows of one draw for the global batch."""
        replicas = gan_backend.num_replicas()
        z = self.sample_latents(batch * replicas, seed=seed)
        return gan_backend.replica_rows(z, batch) if replicas > 1 else z

    # ------------------------------------------------------------- the step

    def _unpack(self, data, what: str = "GAN.fit"):
        """`(real, labels)` of a batch; `labels` is None when unconditional."""
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        if isinstance(x, (list, tuple)):
            if len(x) != 1:
                raise ValueError(
                    f"{what} expects batches of real samples (or (samples, labels) "
                    f"pairs); received a structure of {len(x)} inputs."
                )
            x = x[0]
        shape = tuple(x.shape[1:])
        if not shapes_match(shape, self.sample_shape):
            raise ValueError(
                f"The data's sample shape {shape} does not match the discriminator "
                f"input shape {self.sample_shape} (batch axis excluded)."
            )
        real = ops.cast(x, self._players.sample_dtype)
        if self.num_classes is None:
            return real, None
        if y is None:
            raise ValueError(
                f"{what}: a class-conditional GAN (num_classes={self.num_classes}) "
                "expects (samples, labels) batches with integer class labels; "
                "the data has no labels."
            )
        if isinstance(y, (list, tuple)) or tuple(y.shape[1:]) not in ((), (1,)):
            raise ValueError(
                f"{what}: labels must be integer class ids of shape (batch,) or "
                f"(batch, 1); received shape {tuple(getattr(y, 'shape', ()))}."
            )
        return real, ops.reshape(ops.cast(y, "int32"), (-1,))

    def _d_step(self, real, batch, labels, d_vars):
        z = self._step_latents(batch)
        alpha = None
        if self._train_config.gradient_penalty == "wgan_gp":
            replicas = gan_backend.num_replicas()
            alpha = self._draw_alpha(batch * replicas, len(real.shape))
            if replicas > 1:
                alpha = gan_backend.replica_rows(alpha, batch)
        objective = self._for_gradients(self._d_objective, self.d_optimizer)
        return gan_backend.gradients(objective, d_vars, real, z, alpha, labels), z

    def _train_step_common(self, data):
        cfg = self._train_config
        real, labels = self._unpack(data)
        batch = ops.shape(real)[0]
        d_vars = self.discriminator.trainable_variables
        g_vars = self.generator.trainable_variables
        track = cfg.track_pace
        if track:
            before = gan_backend.snapshot(d_vars + g_vars)
        step = ops.copy(ops.convert_to_tensor(self.optimizer.iterations))
        simultaneous = cfg.update == "simultaneous"
        # False (a Python bool) until a check gives a tensor: no op for an
        # unchecked player.
        d_bad = False
        # The gradients' norms, for pace logging (on the last D step); also
        # `any_nonfinite`'s shortcut where they were read on the host.
        d_grad_norm = g_grad_norm = None
        for i in range(cfg.d_steps):
            (d_grads, d_aux), z = self._d_step(real, batch, labels, d_vars)
            if track and i == cfg.d_steps - 1:
                # Before `apply`: a LossScaleOptimizer updates its scale there.
                d_grad_norm = self._grad_norm(d_grads, self.d_optimizer)
            if self._d_checked:
                losses = [d_aux[k] for k in ("d_loss", "penalty") if k in d_aux]
                bad = _nonfinite.any_nonfinite(losses, d_grads, d_grad_norm)
                d_bad = _nonfinite.either(d_bad, bad)
            if simultaneous and i == cfg.d_steps - 1:
                break
            gan_backend.apply(self.d_optimizer, d_grads, d_vars)
        if not simultaneous:
            z = self._step_latents(batch)
        g_objective = self._for_gradients(self._g_objective, self.g_optimizer)
        g_grads, g_aux = gan_backend.gradients(g_objective, g_vars, z, labels)
        if track:
            g_grad_norm = self._grad_norm(g_grads, self.g_optimizer)
        g_bad = (
            _nonfinite.any_nonfinite([g_aux["g_loss"]], g_grads, g_grad_norm)
            if self._g_checked
            else False
        )
        if simultaneous:
            gan_backend.apply(self.d_optimizer, d_grads, d_vars)
        gan_backend.apply(self.g_optimizer, g_grads, g_vars)
        if self._ema_generator is not None:
            with gan_backend.no_grad():
                self._update_ema()

        values = {**d_aux, **g_aux}
        if track:
            with gan_backend.no_grad():
                values.update(gan_backend.pace_logs(before, d_vars, g_vars, _PACE_EPS))
                values["d_grad_norm"] = d_grad_norm
                values["g_grad_norm"] = g_grad_norm
        logs = gan_backend.log_values(self._trackers, values)
        # `d_bad` and `g_bad` stay False for a player that is not checked.
        logs.update(gan_backend.record_nonfinite(self._nonfinite, d_bad, g_bad, step))
        return logs

    @staticmethod
    def _grad_norm(grads, optimizer):
        """The global L2 norm of `grads` in float32, of the unscaled loss.

        `grads` are as `gan_backend.gradients` returns them: of the loss times the
        optimizer's loss scale (under a `LossScaleOptimizer`, read here before
        `apply` changes it) and, under `tf.distribute`, of this replica's loss
        divided by the number of replicas, so their sum over the replicas (one
        all-reduce, as the optimizer does) is the gradient of the global batch.
        """
        with gan_backend.no_grad():
            if gan_backend.num_replicas() > 1:
                grads = gan_backend.replica_sum(grads)
            norm = gan_backend.global_norm(grads)
            if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
                # The scale `scale_loss` multiplied the loss by.
                scale = (
                    optimizer.dynamic_scale
                    if optimizer.built
                    else optimizer.initial_scale
                )
                norm = norm / ops.cast(scale, "float32")
        return norm

    def _update_ema(self):
        m = self._train_config.generator_ema
        for ema_v, v in zip(self._ema_generator.weights, self.generator.weights):
            if v.trainable:
                ema_v.assign(
                    m * ema_v.value + (1.0 - m) * ops.cast(v.value, ema_v.dtype)
                )
            else:
                ema_v.assign(v.value)

    def _test_step_common(self, data):
        """Evaluation: the players' losses and D's mean outputs, nothing trained.

        Both players run in inference mode (`training=False`: BatchNorm uses
        and keeps its moving statistics) on the batch's real samples and on
        as many generated samples, whose latents come from the model's
        evaluation seed stream (so validation does not change training).
        """
        real, labels = self._unpack(data, "GAN.evaluate")
        batch = ops.shape(real)[0]
        with gan_backend.no_grad():
            z = self._step_latents(batch, seed=self._eval_seed_generator)
            fake = self._g(z, labels, training=False)
            real_logits = self._d(real, labels, training=False)
            fake_logits = self._d(fake, labels, training=False)
            values = {
                "d_loss": self._loss.d_fn(real_logits, fake_logits),
                "g_loss": self._loss.g_fn(fake_logits),
                "d_real": ops.mean(real_logits),
                "d_fake": ops.mean(fake_logits),
            }
            trackers = [t for t in self._trackers if t.name in values]
            for tracker in trackers:
                tracker.update_state(values[tracker.name])
        return {t.name: t.result() for t in trackers}

    def train_step(self, *args: Any):
        """One training step (`(data)`, or `(state, data)` on JAX)."""
        return gan_backend.train_step(self, *args)

    def test_step(self, *args: Any):
        """One evaluation step (`(data)`, or `(state, data)` on JAX)."""
        return gan_backend.test_step(self, *args)

    def make_train_function(self, force: bool = False):
        """Keras's train function, with the non-finite flags taken out of its
        logs (kept for `NonFiniteCheck`, not read). See
        `keras_graft.gan._nonfinite`.
        """
        super().make_train_function(force=force)
        inner = self.train_function
        if inner is None or inner is self._flagless_train_function:
            return inner
        if self._train_config.scan_steps:
            inner = gan_backend.scanned_steps(self, inner)
        self._nonfinite_pending = None
        self._flagless_train_function = _nonfinite.flags_out_of_logs(
            inner, keep=self._keep_nonfinite_flags
        )
        self.train_function = self._flagless_train_function
        return self.train_function

    def _keep_nonfinite_flags(self, code, step) -> None:
        self._nonfinite_pending = (code, step)

    def _nonfinite_check(self) -> _nonfinite.NonFiniteCheck:
        return _nonfinite.NonFiniteCheck(
            pending=lambda: getattr(self, "_nonfinite_pending", None),
            players=lambda: {
                "discriminator": self.d_optimizer,
                "generator": self.g_optimizer,
            },
        )

    def __setattr__(self, name: str, value: Any) -> None:
        # Keras's JAX trainer sets `_jax_state` (a private name: its dict of the
        # step's arrays) after every step; a layer's attribute tracking walks
        # all of them and finds nothing to track, a cost per step on the host.
        if name == "_jax_state":
            object.__setattr__(self, name, value)
            return
        super().__setattr__(name, value)

    def evaluate(self, *args: Any, **kwargs: Any):
        if not getattr(self, "_gan_compiled", False):
            raise RuntimeError(
                "Call gan.compile(d_optimizer=..., g_optimizer=...) before evaluate."
            )
        # Every evaluation draws the same latents: evaluating the same weights
        # on the same data gives the same numbers (also as validation in fit).
        self._eval_seed_generator.state.assign(self._eval_seed_start)
        return super().evaluate(*args, **kwargs)

    evaluate.__doc__ = keras.Model.evaluate.__doc__

    def fit(self, *args: Any, **kwargs: Any):
        if not getattr(self, "_gan_compiled", False):
            raise RuntimeError(
                "Call gan.compile(d_optimizer=..., g_optimizer=...) before fit."
            )
        # The non-finite check runs where Keras reads the logs anyway, first
        # among the callbacks (it takes the flags out of the logs that the
        # others see at the epoch's end).
        bound = _FIT_SIGNATURE.bind_partial(*args, **kwargs)
        callbacks = bound.arguments.get("callbacks")
        check = self._nonfinite_check()
        self._nonfinite_pending = None
        if isinstance(callbacks, keras.callbacks.CallbackList):
            callbacks.callbacks.insert(0, check)
            check.set_model(self)
            try:
                return super().fit(*bound.args, **bound.kwargs)
            finally:
                callbacks.callbacks.remove(check)
        bound.arguments["callbacks"] = [check] + list(callbacks or [])
        return super().fit(*bound.args, **bound.kwargs)

    fit.__doc__ = keras.Model.fit.__doc__

    def train_on_batch(self, *args: Any, **kwargs: Any):
        self._nonfinite_pending = None
        logs = super().train_on_batch(*args, **kwargs)
        # `train_on_batch` reads its logs back anyway.
        self._nonfinite_check().check()
        return logs

    train_on_batch.__doc__ = keras.Model.train_on_batch.__doc__

    # ------------------------------------------------------------ saving

    def get_config(self) -> dict:
        config = {
            "name": self.name,
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "latent_dim": self.latent_dim,
            "num_classes": self.num_classes,
            "seed": self.seed,
        }
        if isinstance(config["latent_dim"], tuple):
            config["latent_dim"] = list(config["latent_dim"])
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        config = dict(config)
        generator = keras.saving.deserialize_keras_object(
            config.pop("generator"), custom_objects=custom_objects
        )
        discriminator = keras.saving.deserialize_keras_object(
            config.pop("discriminator"), custom_objects=custom_objects
        )
        return cls(generator, discriminator, **config)

    def get_compile_config(self) -> dict | None:
        """The arguments of `compile` (optimizers serialized), or None."""
        if not getattr(self, "_gan_compiled", False):
            return None
        return {
            "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
            "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
            **self._train_config.to_dict(),
        }

    def compile_from_config(self, config: dict) -> None:
        config = dict(config)
        for key in ("d_optimizer", "g_optimizer"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        self.compile(**config)

    def get_build_config(self) -> None:
        return None

    def save_own_variables(self, store) -> None:
        """The seed generator's state (the players save their own weights)."""
        store["seed_generator_state"] = self.seed_generator.state.numpy()

    def load_own_variables(self, store) -> None:
        """Restore the seed generator's state."""
        if "seed_generator_state" in store.keys():
            self.seed_generator.state.assign(store["seed_generator_state"])

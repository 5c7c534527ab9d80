"""GAN runs through `keras_graft.GAN.fit`: planar mixtures and image datasets.

`run_gan` trains one generator/discriminator pair with one optimizer (the same
kind for both players) and evaluates it on a schedule:

- ``"ring"`` / ``"grid"``: MLPs on a ring of 8 or a grid of 25 Gaussians,
  scored with `keras_graft.metrics.mode_coverage` (modes covered, the
  high-quality share, KL to uniform, and the balanced quality: the
  high-quality share of each mode capped at 1/K, summed);
- ``"digits"``: a small DCGAN on the 8,000 shipped training digits, scored with
  the digit Fréchet distance (`FrechetDistance("digits")` against the 2,000
  held-out digits) and `class_coverage`;
- ``"cifar10"``: the WGAN-GP ResNet pair on CIFAR-10 through tfds
  `load_images` (a GPU run; needs the dataset on disk).

The image metrics can use ``metric="pixels"`` instead: a Fréchet distance on a
fixed random projection of the pixels (and, for digits, class coverage by the
nearest class mean). It needs no classifier or InceptionV3 weights and serves
the tests only (the `tiny` preset, `presets.shrink`).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import keras
import numpy as np

from keras_graft._validation import check_choice, check_int, fail
from keras_graft.experiments import networks
from keras_graft.experiments.factory import make_optimizer
from keras_graft.experiments.schedules import LinearDecay

EXPERIMENTS = ("ring", "grid", "digits", "cifar10")


@dataclass(frozen=True)
class GANConfig:
    """One GAN benchmark: data, networks, training and evaluation.

    Attributes:
        experiment (str): "ring", "grid", "digits" or "cifar10".
        steps (int): Generator updates.
        eval_every (int): Steps between evaluations (divides `steps`).
        batch_size (int): Real batch size.
        eval_samples (int): Generated samples per evaluation.
        latent_dim (int): Latent dimension.
        width (int): Hidden units (MLP) or base channels (DCGAN, ResNet).
        loss (str): GAN loss (see `keras_graft.GAN.compile`).
        gradient_penalty (str | None): None, "wgan_gp" or "r1".
        d_steps (int): Discriminator updates per generator update.
        update (str): "alternating" or "simultaneous".
        lr_decay (bool): Decay every learning rate linearly to zero.
        learning_rates (dict[str, float]): Learning rate per optimizer name.
        options (dict[str, dict]): Extra optimizer arguments per name.
        optimizers (tuple[str, ...]): The optimizers compared.
        metric (str): "digits" (classifier features; InceptionV3 for
            CIFAR-10) or "pixels" (random projection; tests only).
        steps_per_execution (int): Passed to `GAN.compile` where the backend
            allows it (`execution_steps`); the pace logs are kept every this
            many steps on every backend.
        num_train (int | None): Real examples used (None: all).
        mixture_std (float): Standard deviation of each mode of a planar
            mixture (the coverage radius is 3 of them).
        run_eagerly (bool): Passed to `GAN.compile` (the `tiny` preset: a
            few eager steps cost less than compiling them).
        upsample (str): Upsampling of the DCGAN generator, "subpixel" or
            "transpose" (see `networks.dcgan_generator`).
    """

    experiment: str = "digits"
    steps: int = 1000
    eval_every: int = 250
    batch_size: int = 64
    eval_samples: int = 1000
    latent_dim: int = 32
    width: int = 16
    loss: str = "non_saturating"
    gradient_penalty: str | None = None
    d_steps: int = 1
    update: str = "alternating"
    lr_decay: bool = False
    learning_rates: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    optimizers: tuple = ("adam", "ada_nsgda", "ada_dir", "nsgda", "sgda")
    metric: str = "digits"
    steps_per_execution: int = 25
    num_train: int | None = None
    mixture_std: float = 0.05
    run_eagerly: bool = False
    upsample: str = "subpixel"

    def __post_init__(self) -> None:
        check_choice(self.experiment, "experiment", EXPERIMENTS)
        check_int(self.steps, "steps", minimum=1)
        check_int(self.eval_every, "eval_every", minimum=1)
        check_int(self.steps_per_execution, "steps_per_execution", minimum=1)
        if self.steps % self.eval_every:
            fail(
                ValueError,
                "eval_every",
                f"a divisor of steps={self.steps}",
                self.eval_every,
            )
        if self.eval_every % self.steps_per_execution:
            fail(
                ValueError,
                "steps_per_execution",
                f"a divisor of eval_every={self.eval_every}",
                self.steps_per_execution,
            )


def _load_data(config: GANConfig, seed: int) -> tuple[np.ndarray, dict]:
    """Real training samples and what the evaluation needs."""
    from keras_graft import datasets

    if config.experiment in ("ring", "grid"):
        mix = (
            datasets.GaussianMixture2D.ring(std=config.mixture_std)
            if config.experiment == "ring"
            else datasets.GaussianMixture2D.grid(std=config.mixture_std)
        )
        x, _ = mix.sample(config.num_train or 16384, seed=100 + seed)
        return x, {"centers": mix.centers, "std": mix.std}
    if config.experiment == "digits":
        x, _ = datasets.load_embedded_digits("train", limit=config.num_train)
        return x, {}
    x, _ = datasets.load_images("cifar10", "train", limit=config.num_train)
    return x, {}


def _networks(config: GANConfig, seed: int, sample_shape: tuple) -> tuple:
    if config.experiment in ("ring", "grid"):
        return (
            networks.mlp_generator(config.latent_dim, config.width, seed=seed),
            networks.mlp_discriminator(2, config.width, seed=seed),
        )
    if config.experiment == "cifar10":
        return (
            networks.resnet_generator(config.latent_dim, config.width, seed=seed),
            networks.resnet_discriminator(config.width, seed=seed),
        )
    size, channels = sample_shape[0], sample_shape[2]
    return (
        networks.dcgan_generator(
            config.latent_dim,
            config.width,
            size,
            channels,
            seed,
            upsample=config.upsample,
        ),
        networks.dcgan_discriminator(config.width, size, channels, seed),
    )


class _PixelMetric:
    """The `metric="pixels"` stand-in for digits.

    Features are a fixed random projection of the pixels; class scores are
    minus the squared distance to each class's mean digit.
    """

    def __init__(self) -> None:
        from keras_graft.datasets import load_embedded_digits

        x, y = load_embedded_digits("all")
        flat = x.reshape(len(x), -1).astype(np.float64)
        rng = np.random.default_rng(0)
        self.proj = rng.normal(0.0, 1.0 / 28.0, (flat.shape[1], 32))
        self.means = np.stack([flat[y == c].mean(0) for c in range(10)])
        from keras_graft.metrics import feature_statistics

        self.real = feature_statistics(flat[8000:] @ self.proj)

    def features(self, images: np.ndarray) -> np.ndarray:
        return images.reshape(len(images), -1).astype(np.float64) @ self.proj

    def scores(self, images: np.ndarray) -> np.ndarray:
        flat = images.reshape(len(images), -1).astype(np.float64)
        return -((flat[:, None, :] - self.means[None]) ** 2).sum(-1)


def _projection(shape: tuple) -> np.ndarray:
    """A fixed random projection of flattened samples to 32 features."""
    n = int(np.prod(shape))
    return np.random.default_rng(0).normal(0.0, 1.0 / math.sqrt(n), (n, 32))


def _projected_statistics(samples: np.ndarray, projection: np.ndarray) -> tuple:
    from keras_graft.metrics import feature_statistics

    flat = np.asarray(samples, np.float64).reshape(len(samples), -1)
    return feature_statistics(flat @ projection)


class _Evaluator:
    """Scores generated samples with the metric of an experiment."""

    def __init__(self, config: GANConfig, info: dict) -> None:
        self.config, self.info = config, info
        if config.experiment == "digits" and config.metric == "digits":
            from keras_graft.metrics import (
                FrechetDistance,
                digit_classifier,
                digit_statistics,
            )

            self.fd = FrechetDistance("digits")
            self.real = digit_statistics("test")
            self.classifier = digit_classifier()
        elif config.experiment == "digits":
            self.pixels = _PixelMetric()

    def diverged(self) -> dict:
        """The metrics of a diverged run (nan scores, nothing covered)."""
        if self.config.experiment in ("ring", "grid"):
            keys = {
                "modes_covered": 0.0,
                "high_quality": 0.0,
                "balanced_quality": 0.0,
                "kl_to_uniform": math.nan,
            }
        elif self.config.experiment == "cifar10":
            keys = {"fid": math.nan}
        else:
            keys = {"fd": math.nan, "classes_covered": 0.0, "class_kl": math.nan}
        return {**keys, "diverged": 1.0}

    def __call__(self, samples: np.ndarray | None) -> dict:
        from keras_graft import metrics

        if samples is None or not np.all(np.isfinite(samples)):
            return self.diverged()
        if self.config.experiment in ("ring", "grid"):
            cov = metrics.mode_coverage(samples, self.info["centers"], self.info["std"])
            return {
                "modes_covered": float(cov.modes_covered),
                "high_quality": float(cov.high_quality_fraction),
                # High-quality mass on each mode, capped at its fair share 1/K:
                # 1 for a perfect generator, lowered alike by poor samples and by
                # modes that are missing or over-filled (a continuous coverage).
                "balanced_quality": float(
                    np.minimum(cov.counts / len(samples), 1.0 / len(cov.counts)).sum()
                ),
                "kl_to_uniform": float(cov.kl_to_uniform),
            }
        if self.config.experiment == "cifar10" and self.config.metric == "pixels":
            mu, sigma = _projected_statistics(samples, self.info["projection"])
            fid = metrics.frechet_distance(*self.info["real_stats"], mu, sigma)
            return {"fid": float(fid)}
        if self.config.experiment == "cifar10":
            return {"fid": float(metrics.fid(self.info["real_stats"], samples))}
        if self.config.metric == "digits":
            fd = self.fd(self.real, samples)
            cov = metrics.class_coverage(samples, self.classifier)
        else:
            mu, sigma = metrics.feature_statistics(self.pixels.features(samples))
            fd = metrics.frechet_distance(*self.pixels.real, mu, sigma)
            cov = metrics.class_coverage(samples, self.pixels.scores)
        return {
            "fd": float(fd),
            "classes_covered": float(cov.classes_covered),
            "class_kl": float(cov.kl_to_uniform),
        }


#: The most steps per compiled call each backend's `fit` accepts (Keras's
#: PyTorch trainer runs one step per call).
_MAX_STEPS_PER_EXECUTION = {"torch": 1}


def execution_steps(config: GANConfig) -> int:
    """Steps per compiled call on the running backend.

    ``config.steps_per_execution`` where the backend allows it, else as many
    as it allows. The results do not depend on it: the logs are kept every
    ``config.steps_per_execution`` steps either way.

    Args:
        config (GANConfig): The benchmark.

    Returns:
        int: The ``steps_per_execution`` given to `GAN.compile`.
    """
    limit = _MAX_STEPS_PER_EXECUTION.get(keras.backend.backend())
    spe = config.steps_per_execution
    return spe if limit is None else min(spe, limit)


class _LogCollector(keras.callbacks.Callback):
    """Keeps the logs (pace and losses) of every `every`-th step of a `fit`.

    With ``steps_per_execution = k`` Keras calls back once per k steps, at the
    last step of each call; keeping every `every`-th step (a multiple of k)
    keeps the same rows whatever k the backend runs with.
    """

    def __init__(self, every: int) -> None:
        super().__init__()
        self.every = every
        self.rows: list[dict] = []

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if (batch + 1) % self.every == 0:
            self.rows.append({k: float(v) for k, v in (logs or {}).items()})


#: Benchmarks whose steps run in one `jax.lax.scan` per compiled call on JAX
#: (`GAN.compile(scan_steps=True)`): the planar mixtures' MLPs, whose steps
#: are bound by the host's work per dispatch: a ring run of the `default`
#: preset trained at 1.95x the steps per second on one CPU core, the same
#: numbers bit for bit (`benchmarks/scan_steps.py`), so the stored ring runs
#: stand. Not the convolutional pairs: XLA:CPU runs convolutions inside a loop
#: at 0.2x the speed, with other rounding (the digit DCGAN).
_SCAN_EXPERIMENTS = ("ring", "grid")
#: Backends whose `fit` traces the GAN's step once per GAN (JAX: about 0.7 s
#: of a 1.4 s ring run on a CPU core, with XLA's compilation cached). On
#: them a run restarts the GAN of an earlier run of the same benchmark,
#: optimizer and rate (`_restart`) instead of tracing its own; PyTorch runs
#: each step eagerly and has nothing to save.
_REUSE_BACKENDS = ("jax", "tensorflow")
#: GANs of finished runs in this process, by `_reuse_key`, the most recent last.
_FINISHED: dict = {}
_KEEP = 4


def _reuse_key(config: GANConfig, optimizer: str, lr: float) -> str:
    # Everything a traced step depends on besides the variables' values.
    import json

    what = [
        config_dict(config),
        optimizer,
        lr,
        execution_steps(config),
        config.experiment in _SCAN_EXPERIMENTS,
    ]
    return json.dumps(what, sort_keys=True)


def _state(gan: Any) -> list:
    """Every variable of a compiled GAN's training state, in a fixed order.

    The JAX trainer's train state (the players' weights, the seed generators,
    both optimizers' slots and iterations, the loss trackers): all that
    differs between two runs of one benchmark, optimizer and rate.
    """
    return [
        *gan.trainable_variables,
        *gan.non_trainable_variables,
        *gan.optimizer.variables,
        *gan.metrics_variables,
    ]


def _restart(fresh: Any, key: str) -> Any:
    """The GAN to train: an earlier run's (same `key`) given `fresh`'s state.

    `fresh` is the new run's GAN, built and compiled but not trained. The
    earlier GAN takes every value of its state (`_state`), so it trains
    exactly as `fresh` would, with the step it has traced already. Without
    one (another backend, a first run, a diverged one) `fresh` itself.
    """
    earlier = _FINISHED.pop(key, None)
    if earlier is None:
        return fresh
    source, target = _state(fresh), _state(earlier)
    if [tuple(v.shape) for v in source] != [tuple(v.shape) for v in target]:
        return fresh
    for src, dst in zip(source, target):
        dst.assign(src.value)
    earlier.seed = fresh.seed
    return earlier


def _keep(gan: Any, key: str) -> None:
    _FINISHED[key] = gan
    while len(_FINISHED) > _KEEP:
        del _FINISHED[next(iter(_FINISHED))]


def run_gan(
    config: GANConfig,
    optimizer: str,
    seed: int = 0,
    learning_rate: float | None = None,
) -> dict:
    """Train one GAN with `optimizer` for both players and evaluate it.

    Args:
        config (GANConfig): The benchmark.
        optimizer (str): A name of `keras_graft.experiments.OPTIMIZERS`.
        seed (int): Seed of the networks, the latents and the data order.
        learning_rate (float | None): Overrides
            ``config.learning_rates[optimizer]``.

    Returns:
        dict: ``optimizer``, ``seed``, ``learning_rate``, ``eval_steps``,
        ``evals`` (one metric dict per evaluation), ``final`` (the last one),
        ``pace`` (``d_pace``, ``g_pace``, ``pace_ratio``, ``d_grad_norm``,
        ``g_grad_norm`` per logged batch),
        ``steps_per_s``, ``seconds``, ``diverged`` (the losses became NaN or
        Inf and training stopped; later evaluations score nan), and
        ``samples`` (numpy, the last generated batch; not JSON).
    """
    from keras_graft import GAN

    if learning_rate is None:
        learning_rate = config.learning_rates[optimizer]
    lr = float(learning_rate)
    keras.utils.set_random_seed(seed)
    x, info = _load_data(config, seed)
    if config.experiment == "cifar10" and config.metric == "pixels":
        info["projection"] = _projection(x.shape[1:])
        info["real_stats"] = _projected_statistics(x[:10000], info["projection"])
    elif config.experiment == "cifar10":
        from keras_graft.metrics import InceptionFeatures, feature_statistics

        info["real_stats"] = feature_statistics(InceptionFeatures()(x[:10000]))
    generator, discriminator = _networks(config, seed, x.shape[1:])
    gan = GAN(generator, discriminator, seed=seed)
    options = dict(config.options.get(optimizer, {}))

    def rate() -> Any:
        return LinearDecay(lr, config.steps) if config.lr_decay else lr

    gan.compile(
        d_optimizer=make_optimizer(optimizer, rate(), **options),
        g_optimizer=make_optimizer(optimizer, rate(), **options),
        loss=config.loss,
        gradient_penalty=config.gradient_penalty,
        d_steps=config.d_steps,
        update=config.update,
        steps_per_execution=execution_steps(config),
        run_eagerly=config.run_eagerly,
        scan_steps=config.experiment in _SCAN_EXPERIMENTS,
    )
    reuse = keras.backend.backend() in _REUSE_BACKENDS and not config.run_eagerly
    key = _reuse_key(config, optimizer, lr) if reuse else ""
    if reuse:
        gan = _restart(gan, key)
    evaluate = _Evaluator(config, info)
    rng = np.random.default_rng(seed)
    z_eval = rng.normal(size=(config.eval_samples, config.latent_dim)).astype("float32")
    per_fit = config.eval_every * config.batch_size
    epochs = config.steps * config.batch_size // len(x) + 1
    order = np.concatenate([rng.permutation(len(x)) for _ in range(epochs)])
    collector = _LogCollector(config.steps_per_execution)
    evals, eval_steps, train_seconds = [], [], 0.0
    samples, diverged = None, False
    for k in range(config.steps // config.eval_every):
        eval_steps.append((k + 1) * config.eval_every)
        if diverged:
            evals.append(evaluate.diverged())
            continue
        batch = x[order[k * per_fit : (k + 1) * per_fit]]
        start = time.perf_counter()
        try:
            gan.fit(
                batch,
                batch_size=config.batch_size,
                epochs=1,
                shuffle=False,
                verbose=0,
                callbacks=[collector],
            )
        except FloatingPointError:
            # keras_graft.GAN stops a run whose losses became NaN or Inf.
            diverged = True
        train_seconds += time.perf_counter() - start
        if diverged:
            # On JAX the model's state is not synced back after the error:
            # keep the samples of the last evaluation.
            evals.append(evaluate.diverged())
            continue
        samples = keras.ops.convert_to_numpy(gan.generate(z_eval))
        evals.append(evaluate(samples))
    if reuse and not diverged:
        _keep(gan, key)
    pace = {
        k: [r.get(k, math.nan) for r in collector.rows]
        for k in ("d_pace", "g_pace", "pace_ratio", "d_grad_norm", "g_grad_norm")
    }
    return {
        "experiment": config.experiment,
        "optimizer": optimizer,
        "seed": seed,
        "learning_rate": lr,
        "eval_steps": eval_steps,
        "evals": evals,
        "final": evals[-1],
        "pace": pace,
        "seconds": train_seconds,
        "diverged": diverged,
        "steps_per_s": config.steps / max(train_seconds, 1e-9),
        "samples": samples
        if samples is not None
        else np.full((config.eval_samples, *x.shape[1:]), np.nan, np.float32),
    }


def config_dict(config: GANConfig) -> dict:
    """A JSON-ready dict of `config`.

    Args:
        config (GANConfig): The config.

    Returns:
        dict: Its fields.
    """
    out = asdict(config)
    out["optimizers"] = list(config.optimizers)
    return out

"""Experiments of the paper: the synthetic framework, planar mixtures, digits.

- `reproduce`: run a preset ("tiny", "default", "paper") end to end and write a
  report folder (report.md with a verdict per claim, PNG plots, results.json).
- `SyntheticConfig`, `SyntheticRun`, `train_synthetic`: the synthetic
  framework (linear generator, cubic discriminator, K orthonormal modes),
  trained by the optimizers of Keras and keras_graft, vectorized on JAX.
- `GANConfig`, `run_gan`: GANs through `keras_graft.GAN.fit` (ring, grid,
  digits, CIFAR-10).
- `make_optimizer`, `OPTIMIZERS`, `LinearDecay`, `linear_decay`, the
  networks, `PRESETS` and `get_preset`.
"""

from keras_graft.experiments import networks, report, synthetic
from keras_graft.experiments.factory import OPTIMIZERS, make_optimizer
from keras_graft.experiments.gan_runs import GANConfig, run_gan
from keras_graft.experiments.presets import PRESETS, Preset, get_preset
from keras_graft.experiments.reproduce import reproduce, synthetic_runs
from keras_graft.experiments.schedules import LinearDecay, linear_decay
from keras_graft.experiments.synthetic import (
    SyntheticConfig,
    SyntheticResult,
    SyntheticRun,
    train_synthetic,
)

__all__ = [
    "GANConfig",
    "LinearDecay",
    "OPTIMIZERS",
    "PRESETS",
    "Preset",
    "SyntheticConfig",
    "SyntheticResult",
    "SyntheticRun",
    "get_preset",
    "linear_decay",
    "make_optimizer",
    "networks",
    "report",
    "reproduce",
    "run_gan",
    "synthetic",
    "synthetic_runs",
    "train_synthetic",
]

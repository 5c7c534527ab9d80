"""Presets of `reproduce`: what is run, how long, over how many seeds.

- ``tiny``: seconds per backend, for the tests (tiny networks, few steps, the
  pixel stand-in metric for digits).
- ``default``: the embedded default, the whole `reproduce` in well under 10
  minutes on 2 CPU cores (JAX).
- ``paper``: longer runs and more seeds for a GPU, with a learning-rate
  search for each optimizer on digits and CIFAR-10 (WGAN-GP ResNet) through
  tfds `load_images` (the dataset must be prepared on disk).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from keras_graft.experiments.gan_runs import GANConfig
from keras_graft.experiments.synthetic import SyntheticConfig

#: Learning rates of the image GANs: the best of a 4-5 point search each in a
#: first study on the shipped digits (paper-notes), the same effort for all.
DIGIT_LEARNING_RATES = {
    "adam": 3e-3, "ada_nsgda": 3e-3, "ada_dir": 3e-2, "nsgda": 1e-3, "sgda": 1e-2,
}
#: Optimizer arguments of the image and mixture GANs.
GAN_OPTIONS = {
    "adam": {"beta_1": 0.5},
    "ada_nsgda": {"beta_1": 0.5},
    "ada_dir": {"beta_1": 0.5},
    "nsgda": {"scale": "sqrt_size"},
}
#: Learning rates of the planar mixtures.
MIXTURE_LEARNING_RATES = {
    "adam": 2e-3, "ada_nsgda": 2e-3, "ada_dir": 2e-2, "nsgda": 2e-3, "sgda": 2e-2,
}


@dataclass(frozen=True)
class Preset:
    """Everything `reproduce` runs.

    Attributes:
        name (str): Preset name.
        seeds (int): Seeds of every synthetic configuration.
        gan_seeds (int): Seeds of every GAN benchmark and optimizer.
        synthetic (SyntheticConfig): The synthetic problem.
        sgda_grid (tuple[float, ...]): Learning rates; SGDA runs every pair
            (lr_G, lr_D) of them.
        simultaneous_grid (bool): Also run the SGDA grid with simultaneous
            updates.
        sweeps (dict[str, tuple[float, ...]]): Per other optimizer, learning
            rates (lr_G = lr_D) tried on the synthetic problem.
        synthetic_options (dict[str, dict]): Optimizer arguments there.
        gans (tuple[GANConfig, ...]): The GAN benchmarks.
        lr_multipliers (tuple[float, ...]): Each GAN optimizer is run at its
            learning rate times each of these (the same search for all); the
            best mean score is reported.
    """

    name: str
    seeds: int
    gan_seeds: int
    synthetic: SyntheticConfig
    sgda_grid: tuple
    simultaneous_grid: bool
    sweeps: dict
    synthetic_options: dict = field(default_factory=dict)
    gans: tuple = ()
    lr_multipliers: tuple = (1.0,)


def _gans(steps_mix: int, steps_digits: int, width_mix: int, width_digits: int,
          batch_digits: int, metric: str, eval_samples: int, spe: int,
          every_mix: int, every_digits: int, eager: bool = False) -> tuple:
    mixture = dict(
        run_eagerly=eager,
        steps=steps_mix, eval_every=every_mix, batch_size=64, eval_samples=eval_samples,
        latent_dim=8, width=width_mix, learning_rates=dict(MIXTURE_LEARNING_RATES),
        options=dict(GAN_OPTIONS), steps_per_execution=spe,
    )
    return (
        GANConfig(experiment="ring", **mixture),
        GANConfig(experiment="grid", **mixture),
        GANConfig(
            experiment="digits", steps=steps_digits, eval_every=every_digits,
            batch_size=batch_digits, eval_samples=eval_samples, latent_dim=32,
            width=width_digits, learning_rates=dict(DIGIT_LEARNING_RATES),
            options=dict(GAN_OPTIONS), metric=metric, steps_per_execution=spe,
            run_eagerly=eager,
        ),
    )


_SWEEPS = {
    "nsgda": (0.01, 0.03, 0.1, 0.3),
    "ada_nsgda": (0.001, 0.003, 0.01, 0.03),
    "adam": (0.0003, 0.001, 0.003, 0.01),
}

PRESETS: dict[str, Preset] = {
    "tiny": Preset(
        name="tiny",
        seeds=2,
        gan_seeds=1,
        synthetic=SyntheticConfig(dim=8, num_modes=2, steps=200, log_every=50),
        sgda_grid=(0.3, 1.0),
        simultaneous_grid=False,
        sweeps={"nsgda": (0.1,), "ada_nsgda": (0.01,), "adam": (0.01,)},
        gans=_gans(4, 4, 8, 4, 16, "pixels", 64, 1, 2, 2, eager=True),
    ),
    "default": Preset(
        name="default",
        seeds=3,
        gan_seeds=2,
        synthetic=SyntheticConfig(dim=64, num_modes=4, steps=3000, log_every=100),
        sgda_grid=(0.1, 0.3, 1.0, 3.0, 10.0),
        simultaneous_grid=True,
        sweeps=dict(_SWEEPS),
        gans=_gans(2000, 600, 64, 16, 32, "digits", 1000, 50, 500, 200),
    ),
}

_paper_gans = _gans(10000, 5000, 128, 64, 64, "digits", 5000, 100, 1000, 500)
PRESETS["paper"] = Preset(
    name="paper",
    seeds=10,
    gan_seeds=5,
    synthetic=SyntheticConfig(dim=128, num_modes=8, steps=20000, log_every=500),
    sgda_grid=(0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0),
    simultaneous_grid=True,
    sweeps={k: v + (v[-1] * 3,) for k, v in _SWEEPS.items()},
    gans=_paper_gans + (
        GANConfig(
            experiment="cifar10", steps=100000, eval_every=10000, batch_size=64,
            eval_samples=10000, latent_dim=128, width=128, loss="wasserstein",
            gradient_penalty="wgan_gp", d_steps=5, lr_decay=True,
            learning_rates={"adam": 2e-4, "ada_nsgda": 2e-4, "ada_dir": 2e-2,
                            "nsgda": 2e-4, "sgda": 2e-2},
            options={"adam": {"beta_1": 0.0, "beta_2": 0.9},
                     "ada_nsgda": {"beta_1": 0.0, "beta_2": 0.9},
                     "ada_dir": {"beta_1": 0.0, "beta_2": 0.9},
                     "nsgda": {"scale": "sqrt_size"}},
            steps_per_execution=100,
        ),
    ),
    lr_multipliers=(1 / 3, 1.0, 3.0),
)


def get_preset(name: str, seeds: int | None = None) -> Preset:
    """A preset by name, optionally with another number of seeds.

    Args:
        name (str): "tiny", "default" or "paper".
        seeds (int | None): Overrides both ``seeds`` and ``gan_seeds``.

    Returns:
        Preset: The preset.
    """
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; expected one of {list(PRESETS)}")
    preset = PRESETS[name]
    if seeds is not None:
        if seeds < 1:
            raise ValueError(f"seeds must be >= 1, got {seeds}")
        preset = replace(preset, seeds=int(seeds), gan_seeds=int(seeds))
    return preset

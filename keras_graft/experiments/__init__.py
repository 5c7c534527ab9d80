"""Experiments of the paper: the synthetic framework, planar mixtures, digits.

- `reproduce`: run a preset ("tiny", "default", "long", "gpu", "paper") end to
  end and write a report folder (report.md with a verdict per claim, PNG
  plots, results.json), resumable: every finished run is stored there
  (`Run`, `plan_runs`; `report_from_folder` reports on a folder again).
- `SyntheticConfig`, `SyntheticRun`, `train_synthetic`, `classify`: the
  synthetic framework (linear generator, cubic discriminator, K orthonormal
  modes), trained by the optimizers of Keras and keras_graft, vectorized on JAX
  and PyTorch.
- `GANConfig`, `run_gan`: GANs through `keras_graft.GAN.fit` (ring, grid,
  digits, CIFAR-10).
- `stats`: the intervals behind the verdicts; `claims`: each claim with its
  rule and its verdict; `analysis`: the summaries they read; `plots`: one
  function per figure of the report.
- `make_optimizer`, `OPTIMIZERS`, `LinearDecay`, `linear_decay`, the
  networks, `PRESETS`, `Preset`, `SyntheticPlan`, `GANBenchmark` and
  `get_preset`.
"""

from typing import TYPE_CHECKING

from keras_graft import _lazy

if TYPE_CHECKING:  # for type checkers and the API reference; at run time, lazy
    from keras_graft.experiments import networks, stats
    from keras_graft.experiments.factory import OPTIMIZERS, make_optimizer
    from keras_graft.experiments.gan_runs import GANConfig, run_gan
    from keras_graft.experiments.presets import (
        PRESETS,
        GANBenchmark,
        Preset,
        SyntheticPlan,
        get_preset,
    )
    from keras_graft.experiments.reproduce import report_from_folder, reproduce
    from keras_graft.experiments.runs import Run, plan_runs, synthetic_jobs
    from keras_graft.experiments.schedules import LinearDecay, linear_decay
    from keras_graft.experiments.synthetic import (
        OUTCOMES,
        SyntheticConfig,
        SyntheticResult,
        SyntheticRun,
        classify,
        train_synthetic,
    )

# Each name is imported on first use: `import keras_graft.experiments` (and
# `keras_graft.experiments.schedules`, which Keras needs to load a saved
# schedule) imports neither the datasets nor the metrics nor matplotlib.
__getattr__, __dir__ = _lazy.lazy_attributes(
    __name__,
    {
        "GANBenchmark": "presets",
        "GANConfig": "gan_runs",
        "LinearDecay": "schedules",
        "OPTIMIZERS": "factory",
        "OUTCOMES": "synthetic",
        "PRESETS": "presets",
        "Preset": "presets",
        "SyntheticConfig": "synthetic",
        "SyntheticPlan": "presets",
        "SyntheticResult": "synthetic",
        "SyntheticRun": "synthetic",
        "classify": "synthetic",
        "get_preset": "presets",
        "linear_decay": "schedules",
        "make_optimizer": "factory",
        "Run": "runs",
        "plan_runs": "runs",
        "report_from_folder": "reproduce",
        "reproduce": "reproduce",
        "run_gan": "gan_runs",
        "synthetic_jobs": "runs",
        "train_synthetic": "synthetic",
    },
    ("networks", "stats"),
)

__all__ = [
    "GANBenchmark",
    "GANConfig",
    "LinearDecay",
    "OPTIMIZERS",
    "OUTCOMES",
    "PRESETS",
    "Preset",
    "Run",
    "SyntheticConfig",
    "SyntheticPlan",
    "SyntheticResult",
    "SyntheticRun",
    "classify",
    "get_preset",
    "linear_decay",
    "make_optimizer",
    "networks",
    "plan_runs",
    "report_from_folder",
    "reproduce",
    "run_gan",
    "stats",
    "synthetic_jobs",
    "train_synthetic",
]

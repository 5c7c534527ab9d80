"""Datasets: image datasets (tfds, offline digits), 2-D mixtures, synthetic modes.

- `load_images`: MNIST, Fashion-MNIST, CIFAR-10... through tensorflow-datasets,
  as float32 NHWC in [-1, 1]; fails in seconds with a clear error when offline.
- `load_embedded_digits`: 10,000 real MNIST digits shipped with the package
  (MNIST by LeCun, Cortes and Burges, CC BY-SA 3.0).
- `ring_of_gaussians`, `grid_of_gaussians`, `GaussianMixture2D`: 2-D mixtures.
- `synthetic_modes`, `SyntheticModes`: the multi-mode data of the paper's
  theoretical framework.
"""

from keras_graft.datasets.embedded import (
    EMBEDDED_DIGITS_SHA256,
    EMBEDDED_DIGITS_TRAIN_SIZE,
    embedded_digits_path,
    embedded_digits_sha256,
    load_embedded_digits,
    scale_images,
)
from keras_graft.datasets.images import (
    DOWNLOAD_HOSTS,
    DatasetUnavailableError,
    load_images,
    numpy_to_dataset,
)
from keras_graft.datasets.mixtures import (
    GaussianMixture2D,
    grid_of_gaussians,
    ring_of_gaussians,
)
from keras_graft.datasets.synthetic import SyntheticModes, synthetic_modes

__all__ = [
    "DOWNLOAD_HOSTS",
    "EMBEDDED_DIGITS_SHA256",
    "EMBEDDED_DIGITS_TRAIN_SIZE",
    "DatasetUnavailableError",
    "GaussianMixture2D",
    "SyntheticModes",
    "embedded_digits_path",
    "embedded_digits_sha256",
    "grid_of_gaussians",
    "load_embedded_digits",
    "load_images",
    "numpy_to_dataset",
    "ring_of_gaussians",
    "scale_images",
    "synthetic_modes",
]

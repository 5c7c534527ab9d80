"""The 10,000 real MNIST digits shipped inside keras_graft (works offline).

See ``keras_graft/datasets/data/README.md`` for the provenance and the
CC BY-SA 3.0 attribution of the MNIST database.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
from typing import Any

import numpy as np

from keras_graft._validation import check_choice, check_optional_int

#: sha256 of the shipped ``mnist_10k.npz``.
EMBEDDED_DIGITS_SHA256 = (
    "c03d6af810269a0b25ef8e8971f521767d52b05849e4fd977d6ca9528003c0b3"
)
#: Number of digits in the train split (the first ones); the rest is the test split.
EMBEDDED_DIGITS_TRAIN_SIZE = 8000
_SPLITS = ("all", "train", "test")


def embedded_digits_path() -> str:
    """Path of the shipped ``mnist_10k.npz`` file.

    Returns:
        str: Absolute path of the file inside the installed package.
    """
    resource = importlib.resources.files("keras_graft.datasets").joinpath(
        "data/mnist_10k.npz"
    )
    return str(resource)


def embedded_digits_sha256() -> str:
    """sha256 of the shipped digits file, to check it against `EMBEDDED_DIGITS_SHA256`.

    Returns:
        str: The hexadecimal digest.
    """
    with open(embedded_digits_path(), "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@functools.lru_cache(maxsize=1)
def _raw_digits() -> tuple[np.ndarray, np.ndarray]:
    with np.load(embedded_digits_path()) as data:
        x, y = data["x"], data["y"]
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def scale_images(images: np.ndarray) -> np.ndarray:
    """Scale uint8 images in [0, 255] to float32 in [-1, 1].

    Args:
        images (np.ndarray): Integer pixel values in [0, 255], any shape.

    Returns:
        np.ndarray: ``images / 127.5 - 1`` as float32.
    """
    return (np.asarray(images, dtype=np.float32) / np.float32(127.5)) - np.float32(1.0)


def load_embedded_digits(
    split: str = "all",
    as_dataset: bool = False,
    batch_size: int | None = None,
    limit: int | None = None,
    seed: int | None = 0,
) -> tuple[np.ndarray, np.ndarray] | Any:
    """Load the 10,000 real MNIST digits shipped with keras_graft (no network).

    The digits come from the MNIST database (LeCun, Cortes, Burges; CC BY-SA 3.0),
    shuffled once; ``"train"`` is the first 8,000 and ``"test"`` the last 2,000.

    Args:
        split (str): ``"all"``, ``"train"`` or ``"test"``.
        as_dataset (bool): If True, return a shuffled, batched ``tf.data.Dataset``
            of images only (needs TensorFlow); otherwise numpy arrays.
        batch_size (int | None): Batch size of the dataset (default 64); ignored
            for numpy arrays.
        limit (int | None): Keep only the first `limit` examples of the split.
        seed (int | None): Shuffle seed of the dataset.

    Returns:
        tuple[np.ndarray, np.ndarray] | tf.data.Dataset: ``(images, labels)`` with
        images float32 of shape (N, 28, 28, 1) in [-1, 1] and labels int32 of shape
        (N,), or the dataset of image batches.

    Example:
        >>> x, y = load_embedded_digits("test")
        >>> x.shape, y.shape
        ((2000, 28, 28, 1), (2000,))
    """
    check_choice(split, "split", _SPLITS)
    limit = check_optional_int(limit, "limit", minimum=1)
    x, y = _raw_digits()
    if split == "train":
        x, y = x[:EMBEDDED_DIGITS_TRAIN_SIZE], y[:EMBEDDED_DIGITS_TRAIN_SIZE]
    elif split == "test":
        x, y = x[EMBEDDED_DIGITS_TRAIN_SIZE:], y[EMBEDDED_DIGITS_TRAIN_SIZE:]
    if limit is not None:
        x, y = x[:limit], y[:limit]
    images = scale_images(x)[..., None]
    labels = y.astype(np.int32)
    if as_dataset:
        from keras_graft.datasets.images import numpy_to_dataset

        return numpy_to_dataset(images, batch_size=batch_size, seed=seed)
    return images, labels

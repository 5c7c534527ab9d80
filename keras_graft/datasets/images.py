"""Image datasets through tensorflow-datasets, in [-1, 1], failing fast offline."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from keras_graft._validation import check_optional_int
from keras_graft.datasets import _folders, _network
from keras_graft.datasets.embedded import load_embedded_digits, scale_images

#: Host each known dataset is downloaded from (probed before tfds tries to download).
DOWNLOAD_HOSTS = {
    "mnist": "storage.googleapis.com",
    "fashion_mnist": "fashion-mnist.s3-website.eu-central-1.amazonaws.com",
    "cifar10": "www.cs.toronto.edu",
    "cifar100": "www.cs.toronto.edu",
}
_DEFAULT_HOST = "storage.googleapis.com"
_PROBE_TIMEOUT = 2.5
_DEFAULT_BATCH_SIZE = 64
_SHUFFLE_BUFFER = 10_000
_OFFLINE_NAMES = ("embedded_digits",)


class DatasetUnavailableError(ConnectionError):
    """A dataset is not prepared locally and cannot be downloaded from here."""


def _download_reachable(name: str) -> bool:
    """Whether the download host of dataset `name` answers within a few seconds."""
    host = DOWNLOAD_HOSTS.get(name, _DEFAULT_HOST)
    return _network.host_reachable(host, timeout=_PROBE_TIMEOUT)


def _import_tfds() -> Any:
    try:
        import tensorflow_datasets as tfds
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ImportError(
            "keras_graft.datasets.load_images needs tensorflow-datasets: "
            "`pip install keras-graft[data]`, or use the offline "
            "`load_embedded_digits()` (name='embedded_digits')."
        ) from err
    return tfds


def numpy_to_dataset(
    images: np.ndarray, batch_size: int | None = None, seed: int | None = 0
) -> Any:
    """A shuffled, batched ``tf.data.Dataset`` of in-memory images (one pass).

    Args:
        images (np.ndarray): Images, first axis the examples.
        batch_size (int | None): Batch size (default 64). The last partial batch
            is dropped, so every batch has the same shape.
        seed (int | None): Shuffle seed.

    Returns:
        tf.data.Dataset: Batches of images, reshuffled at every pass.
    """
    import tensorflow as tf

    batch_size = batch_size or _DEFAULT_BATCH_SIZE
    ds = tf.data.Dataset.from_tensor_slices(images)
    ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def _image_pipeline(ds: Any, batch_size: int | None, seed: int | None) -> Any:
    """uint8 (image, label) pairs to shuffled batches of [-1, 1] float32 images.

    The uint8 images are cached in memory (4x smaller than float32) and scaled
    per batch.
    """
    import tensorflow as tf

    batch_size = batch_size or _DEFAULT_BATCH_SIZE
    ds = ds.map(lambda image, label: image).cache()
    ds = ds.shuffle(_SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=True)
    ds = ds.map(
        lambda x: tf.cast(x, tf.float32) / 127.5 - 1.0,
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return ds.prefetch(tf.data.AUTOTUNE)


def _prepare_builder(name: str, data_dir: str | None) -> Any:
    """A tfds builder whose data is on disk, or a quick `DatasetUnavailableError`."""
    tfds = _import_tfds()
    builder = tfds.builder(name, data_dir=data_dir)
    if builder.is_prepared():
        return builder
    if not _download_reachable(name):
        host = DOWNLOAD_HOSTS.get(name, _DEFAULT_HOST)
        raise DatasetUnavailableError(
            f"Dataset {name!r} is not prepared in {builder.data_dir!r} and its "
            f"download host {host!r} cannot be reached (checked in "
            f"{_PROBE_TIMEOUT:g} s). Prepare it on a machine with internet "
            "(`tfds.builder(name, data_dir=...).download_and_prepare()`) and pass "
            "that data_dir, or use the 10,000 real MNIST digits shipped with "
            "keras_graft: `keras_graft.datasets.load_embedded_digits()` "
            "(or `load_images('embedded_digits')`)."
        )
    scopes = _download_scopes(builder)
    before = _folders.existing(scopes)
    try:
        builder.download_and_prepare()
    except BaseException:
        # A failed download leaves empty folders behind (the data dir, its
        # downloads/, downloads/<name>/ with one tmp folder per file, <name>/):
        # take back those this call made, keep what was there and any file.
        _folders.remove_new_empty(scopes, before)
        raise
    return builder


def _download_scopes(builder: Any) -> list[_folders.Scope]:
    """Where tfds's `download_and_prepare` makes folders, as `_folders` scopes.

    The data dir (or its highest missing parent) and its direct subfolders; the
    direct subfolders of ``downloads/`` and ``downloads/extracted/``; all of
    ``downloads/<name>/`` and ``<name>/`` (this dataset's folders, small).
    """
    root = os.fspath(builder.data_dir_root)
    if "://" in root:  # a remote file system (gs://...): nothing to take back here
        return []
    root = os.path.abspath(root)
    top = root
    while not os.path.exists(os.path.dirname(top)):
        top = os.path.dirname(top)
    downloads = os.path.join(root, "downloads")
    return [
        (top, 1),
        (downloads, 1),
        (os.path.join(downloads, "extracted"), 1),
        (os.path.join(downloads, builder.name), None),
        (os.path.join(root, builder.name), None),
    ]


def load_images(
    name: str,
    split: str = "train",
    as_dataset: bool = False,
    batch_size: int | None = None,
    limit: int | None = None,
    data_dir: str | os.PathLike | None = None,
    seed: int | None = 0,
) -> tuple[np.ndarray, np.ndarray] | Any:
    """Load an image dataset as float32 NHWC images in [-1, 1].

    Datasets come from tensorflow-datasets (``"mnist"``, ``"fashion_mnist"``,
    ``"cifar10"``, or any tfds image dataset with ``(image, label)`` supervised
    keys). If the dataset is not already prepared in `data_dir`, the download host
    is probed for a few seconds first, so an offline machine gets a clear
    `DatasetUnavailableError` at once instead of minutes of retries. A download
    that fails takes back the empty folders it made in the data directory
    (folders that were there before, and files, are kept).
    ``name="embedded_digits"`` loads the 10,000 MNIST digits shipped with the
    package (no network, no tensorflow-datasets; split ``"all"``, ``"train"`` or
    ``"test"``).

    Args:
        name (str): tfds dataset name, or ``"embedded_digits"``.
        split (str): tfds split, e.g. ``"train"`` or ``"test"``.
        as_dataset (bool): If True, return a shuffled (10,000-example buffer),
            batched ``tf.data.Dataset`` of images only (for ``GAN.fit``);
            otherwise numpy arrays.
        batch_size (int | None): Batch size of the dataset (default 64; the last
            partial batch is dropped). Ignored for numpy arrays.
        limit (int | None): Keep only the first `limit` examples.
        data_dir (str | os.PathLike | None): tfds data directory (default: tfds's,
            ``~/tensorflow_datasets`` or ``$TFDS_DATA_DIR``).
        seed (int | None): Shuffle seed of the dataset.

    Returns:
        tuple[np.ndarray, np.ndarray] | tf.data.Dataset: ``(images, labels)``,
        images float32 (N, H, W, C) in [-1, 1] and labels int32 (N,), or the
        dataset of image batches.

    Raises:
        DatasetUnavailableError: The dataset is not on disk and cannot be
            downloaded from this machine.
        TypeError: `limit` is neither None nor an int.
        ValueError: `limit` is an int below 1.

    Example:
        >>> x, y = load_images("embedded_digits", split="test")
        >>> ds = load_images("mnist", as_dataset=True, batch_size=64)  # doctest: +SKIP
    """
    limit = check_optional_int(limit, "limit", minimum=1)
    if name in _OFFLINE_NAMES:
        return load_embedded_digits(
            split=split,
            as_dataset=as_dataset,
            batch_size=batch_size,
            limit=limit,
            seed=seed,
        )
    tfds = _import_tfds()
    builder = _prepare_builder(name, None if data_dir is None else os.fspath(data_dir))
    ds = builder.as_dataset(split=split, as_supervised=True, shuffle_files=False)
    if limit is not None:
        ds = ds.take(limit)
    if as_dataset:
        return _image_pipeline(ds, batch_size=batch_size, seed=seed)
    images_u8, labels = [], []
    for image, label in tfds.as_numpy(ds.batch(4096)):
        images_u8.append(image)
        labels.append(label)
    if not images_u8:
        raise ValueError(f"split {split!r} of {name!r} is empty")
    images = scale_images(np.concatenate(images_u8))
    if images.ndim == 3:
        images = images[..., None]
    return images, np.concatenate(labels).astype(np.int32)


__all__ = [
    "DOWNLOAD_HOSTS",
    "DatasetUnavailableError",
    "load_images",
    "numpy_to_dataset",
]

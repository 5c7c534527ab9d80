"""Fréchet distance between Gaussian fits of features, with pluggable extractors.

``d^2 = ||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1^{1/2} S2 S1^{1/2})^{1/2})``: with
InceptionV3 pool features this is FID (Heusel et al., 2017); with the penultimate
features of the shipped digit classifier it is an offline metric for 28x28 digits.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Union

import numpy as np

from keras_graft._utils import keras_home, save_atomically
from keras_graft._validation import fail
from keras_graft.datasets import _network
from keras_graft.metrics import classifier as _classifier

#: A feature extractor: images (N, H, W, C) in [-1, 1] to features (N, F).
FeatureExtractor = Callable[[np.ndarray], np.ndarray]
#: Images, or precomputed ``(mu, sigma)`` statistics.
ImagesOrStatistics = Union[np.ndarray, tuple[np.ndarray, np.ndarray]]

_INCEPTION_WEIGHTS = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
_INCEPTION_HOST = "storage.googleapis.com"


class WeightsUnavailableError(ConnectionError):
    """Pretrained weights are not on disk and cannot be downloaded from here."""


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (unbiased, ddof=1) of a set of feature vectors.

    Args:
        features (np.ndarray): Features of shape (N, F), N >= 2.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``mu`` float64 (F,) and ``sigma`` float64
        (F, F).
    """
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        fail(ValueError, "features.shape", "(N, F) with N >= 2", f.shape)
    return f.mean(axis=0), np.atleast_2d(np.cov(f, rowvar=False))


def _clip_round_off(eigenvalues: np.ndarray) -> np.ndarray:
    """Zero the eigenvalues of a PSD matrix that are round-off (as matrix_rank does).

    The square root amplifies round-off: an eigenvalue of 1e-16 that should be 0
    would add 1e-8 to the trace of the square root, once per null direction.
    """
    w = np.asarray(eigenvalues)
    tol = max(float(w.max(initial=0.0)), 0.0) * len(w) * np.finfo(np.float64).eps
    return np.where(w > tol, w, 0.0)


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray
) -> float:
    """Squared Fréchet (2-Wasserstein) distance between two Gaussians.

    ``||mu1 - mu2||^2 + tr(sigma1) + tr(sigma2) - 2 tr((sigma1 sigma2)^{1/2})``,
    where ``tr((sigma1 sigma2)^{1/2})`` is computed as the sum of the square roots
    of the eigenvalues of the symmetric matrix ``sigma1^{1/2} sigma2 sigma1^{1/2}``
    (symmetric eigen-decompositions in float64; eigenvalues below the round-off
    level ``max eigenvalue * F * machine epsilon``, negative ones included, are
    set to zero). This needs no complex arithmetic and stays exact
    for singular covariances (fewer samples than features), where
    ``scipy.linalg.sqrtm(sigma1 @ sigma2)`` can return complex noise.

    Args:
        mu1 (np.ndarray): Mean of the first Gaussian, shape (F,).
        sigma1 (np.ndarray): Covariance of the first Gaussian, shape (F, F).
        mu2 (np.ndarray): Mean of the second Gaussian, shape (F,).
        sigma2 (np.ndarray): Covariance of the second Gaussian, shape (F, F).

    Returns:
        float: The squared distance (non-negative).

    Example:
        >>> frechet_distance([0.0], [[1.0]], [3.0], [[4.0]])  # (0-3)^2 + (1-2)^2
        10.0
    """
    mu1 = np.atleast_1d(np.asarray(mu1, dtype=np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, dtype=np.float64))
    sigma1 = np.atleast_2d(np.asarray(sigma1, dtype=np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, dtype=np.float64))
    if mu1.ndim != 1:
        fail(ValueError, "mu1.shape", "(F,)", mu1.shape)
    f = mu1.shape[0]
    for name, array, shape in (
        ("mu2", mu2, (f,)),
        ("sigma1", sigma1, (f, f)),
        ("sigma2", sigma2, (f, f)),
    ):
        if array.shape != shape:
            fail(ValueError, f"{name}.shape", f"{shape} as mu1 is ({f},)", array.shape)
    sigma1 = (sigma1 + sigma1.T) / 2.0
    sigma2 = (sigma2 + sigma2.T) / 2.0
    w1, v1 = np.linalg.eigh(sigma1)
    sqrt1 = (v1 * np.sqrt(_clip_round_off(w1))) @ v1.T
    middle = sqrt1 @ sigma2 @ sqrt1
    w = np.linalg.eigvalsh((middle + middle.T) / 2.0)
    tr_covmean = np.sqrt(_clip_round_off(w)).sum()
    diff = mu1 - mu2
    d2 = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * tr_covmean
    return float(max(d2, 0.0))


class DigitFeatures:
    """The 128 penultimate features of the shipped digit classifier.

    Args:
        classifier (Any | None): A Keras model built by
            `build_digit_classifier` (e.g. from `digit_classifier(...)`); None
            for the cached default `digit_classifier()`.
        batch_size (int): Prediction batch size.
    """

    def __init__(self, classifier: Any | None = None, batch_size: int = 500) -> None:
        self.model = _classifier.digit_feature_model(classifier)
        self.batch_size = batch_size

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """Features of digits.

        Args:
            images (np.ndarray): Images (N, 28, 28, 1) in [-1, 1].

        Returns:
            np.ndarray: Features float64 (N, 128).
        """
        x = np.asarray(images, dtype=np.float32)
        if x.ndim == 3:
            x = x[..., None]
        if x.shape[1:] != (28, 28, 1):
            fail(ValueError, "images.shape", "(N, 28, 28, 1)", x.shape)
        out = self.model.predict(x, batch_size=self.batch_size, verbose=0)
        return np.asarray(out, dtype=np.float64)


def inception_weights_path() -> str:
    """Where Keras keeps the InceptionV3 (no top) ImageNet weights.

    Returns:
        str: ``$KERAS_HOME/models/inception_v3_..._notop.h5`` (``~/.keras`` if
        ``KERAS_HOME`` is unset).
    """
    return os.path.join(keras_home(), "models", _INCEPTION_WEIGHTS)


class InceptionFeatures:
    """InceptionV3 average-pool features (2048), the extractor of FID.

    Images are resized to 299x299 (bilinear); grayscale images are repeated to
    three channels. Inputs in [-1, 1] are what InceptionV3 expects. The ImageNet
    weights come from ``keras.applications`` (on disk under
    ``$KERAS_HOME/models``, or downloaded once); if they are missing and the
    download host cannot be reached within a few seconds, construction fails at
    once with `WeightsUnavailableError`.

    Args:
        batch_size (int): Prediction batch size.
    """

    def __init__(self, batch_size: int = 64) -> None:
        if not os.path.exists(inception_weights_path()) and not _network.host_reachable(
            _INCEPTION_HOST, timeout=2.5
        ):
            raise WeightsUnavailableError(
                "InceptionV3 weights are not in "
                f"{os.path.dirname(inception_weights_path())!r} and "
                f"{_INCEPTION_HOST!r} cannot be reached. Copy "
                f"{_INCEPTION_WEIGHTS} there (or set KERAS_HOME), or use the "
                "offline digit features: FrechetDistance(extractor='digits')."
            )
        import keras

        self.model = keras.applications.InceptionV3(
            include_top=False, weights="imagenet", pooling="avg"
        )
        self.batch_size = batch_size

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """InceptionV3 pool features.

        Args:
            images (np.ndarray): Images (N, H, W, 1 or 3) in [-1, 1].

        Returns:
            np.ndarray: Features float64 (N, 2048).
        """
        import keras

        x = np.asarray(images, dtype=np.float32)
        if x.ndim != 4 or x.shape[-1] not in (1, 3):
            fail(ValueError, "images.shape", "(N, H, W, 1 or 3)", x.shape)
        feats = []
        for start in range(0, len(x), self.batch_size):
            batch = x[start : start + self.batch_size]
            if batch.shape[-1] == 1:
                batch = np.repeat(batch, 3, axis=-1)
            batch = keras.ops.image.resize(batch, (299, 299), interpolation="bilinear")
            batch = keras.ops.clip(batch, -1.0, 1.0)
            out = self.model(batch, training=False)
            feats.append(np.asarray(keras.ops.convert_to_numpy(out), dtype=np.float64))
        return np.concatenate(feats)


def _resolve_extractor(extractor: str | FeatureExtractor) -> FeatureExtractor:
    if callable(extractor):
        return extractor
    if extractor == "digits":
        return DigitFeatures()
    if extractor == "inception":
        return InceptionFeatures()
    fail(ValueError, "extractor", "'digits', 'inception' or a callable", extractor)


class FrechetDistance:
    """Fréchet distance between two image sets in the space of a feature extractor.

    Args:
        extractor (str | FeatureExtractor): ``"digits"`` (penultimate features of
            the shipped MNIST classifier, offline, for 28x28x1 images),
            ``"inception"`` (InceptionV3, i.e. FID) or a callable mapping images
            to features (N, F).

    Example:
        >>> fd = FrechetDistance("digits")  # doctest: +SKIP
        >>> fd(digit_statistics("test"), generated_images)  # doctest: +SKIP
    """

    def __init__(self, extractor: str | FeatureExtractor = "digits") -> None:
        self.extractor = _resolve_extractor(extractor)

    def features(self, images: np.ndarray) -> np.ndarray:
        """Features of images.

        Args:
            images (np.ndarray): Images (N, H, W, C) in [-1, 1].

        Returns:
            np.ndarray: Features (N, F).
        """
        return np.asarray(self.extractor(images))

    def statistics(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and covariance of the features of images.

        Args:
            images (np.ndarray): Images (N, H, W, C) in [-1, 1], N >= 2.

        Returns:
            tuple[np.ndarray, np.ndarray]: ``(mu, sigma)``.
        """
        return feature_statistics(self.features(images))

    def _stats(self, x: ImagesOrStatistics) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(x, tuple):
            return x
        return self.statistics(x)

    def __call__(self, real: ImagesOrStatistics, fake: ImagesOrStatistics) -> float:
        """The distance between two image sets (or their precomputed statistics).

        Args:
            real (ImagesOrStatistics): Images, or a ``(mu, sigma)`` tuple.
            fake (ImagesOrStatistics): Images, or a ``(mu, sigma)`` tuple.

        Returns:
            float: The squared Fréchet distance of the two feature Gaussians.
        """
        mu1, sigma1 = self._stats(real)
        mu2, sigma2 = self._stats(fake)
        return frechet_distance(mu1, sigma1, mu2, sigma2)


def fid(
    real_images: ImagesOrStatistics,
    fake_images: ImagesOrStatistics,
    extractor: str | FeatureExtractor = "inception",
) -> float:
    """Fréchet Inception Distance (or a Fréchet distance with another extractor).

    Args:
        real_images (ImagesOrStatistics): Images (N, H, W, C) in [-1, 1], or
            ``(mu, sigma)``.
        fake_images (ImagesOrStatistics): Images, or ``(mu, sigma)``.
        extractor (str | FeatureExtractor): ``"inception"`` (FID proper; needs
            the ImageNet weights on disk or a network), ``"digits"`` (offline) or
            a callable images -> features.

    Returns:
        float: The squared Fréchet distance.
    """
    return FrechetDistance(extractor)(real_images, fake_images)


_stats_memory: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def digit_statistics(
    split: str = "train",
    epochs: int = 3,
    seed: int = 0,
    cache_dir_path: str | os.PathLike | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Feature statistics of the shipped real digits, cached on disk.

    Stored next to the classifier weights as
    ``<cache>/digit_classifier_v2_e{epochs}_s{seed}.stats_{split}.npz``.

    Args:
        split (str): ``"all"``, ``"train"`` (first 8,000) or ``"test"`` (last 2,000).
        epochs (int): Training epochs of the classifier (see `digit_classifier`).
        seed (int): Seed of the classifier.
        cache_dir_path (str | os.PathLike | None): Cache folder (see `cache_dir`).

    Returns:
        tuple[np.ndarray, np.ndarray]: ``(mu, sigma)`` of the 128 digit features.
    """
    from keras_graft.datasets import load_embedded_digits

    folder = _classifier.cache_dir(cache_dir_path)
    stem = _classifier.classifier_key(epochs, seed)
    path = os.path.join(folder, f"{stem}.stats_{split}.npz")
    if path in _stats_memory:
        return _stats_memory[path]
    if os.path.exists(path):
        with np.load(path) as data:
            stats = (data["mu"], data["sigma"])
    else:
        clf = _classifier.digit_classifier(epochs, seed, cache_dir_path=folder)
        images, _ = load_embedded_digits(split)
        stats = feature_statistics(DigitFeatures(clf)(images))
        mu, sigma = stats
        save_atomically(
            path, lambda file: np.savez(file, mu=mu, sigma=sigma), suffix=".npz"
        )
    _stats_memory[path] = stats
    return stats

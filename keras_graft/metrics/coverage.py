"""Mode and class coverage: how many modes a generator reaches, and how evenly."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from keras_graft._validation import check_float, fail


def _kl_to_uniform(counts: np.ndarray) -> float:
    """KL(p || uniform) of the histogram `counts` (nan if it is empty)."""
    total = counts.sum()
    if total == 0:
        return math.nan
    p = counts[counts > 0] / total
    return float(np.sum(p * np.log(p * len(counts))))


def _check_rows(
    x: np.ndarray, name: str, reference: np.ndarray, reference_name: str
) -> None:
    """Check that `x` and `reference` are 2-D with rows of the same length."""
    if reference.ndim != 2:
        fail(ValueError, f"{reference_name}.shape", "(K, D)", reference.shape)
    if x.ndim != 2 or x.shape[1] != reference.shape[1]:
        fail(
            ValueError,
            f"{name}.shape",
            f"(N, D) with D = {reference.shape[1]} as in {reference_name}",
            x.shape,
        )


def _default_min_count(n: int, k: int) -> int:
    """A tenth of the count a uniform spread of `n` samples over `k` bins would give."""
    return max(1, int(math.ceil(0.1 * n / k)))


@dataclass(frozen=True)
class ModeCoverage:
    """Coverage of the modes of a 2-D mixture by generated samples.

    Attributes:
        modes_covered (int): Modes that received at least `min_count`
            high-quality samples.
        num_modes (int): Number of modes K.
        high_quality_fraction (float): Share of samples within
            ``threshold * std`` of their nearest centre.
        kl_to_uniform (float): KL divergence (nats) of the mode histogram of the
            high-quality samples to the uniform distribution over the K modes
            (0 for a perfectly even spread, log K for one mode; nan if no sample
            is high-quality).
        counts (np.ndarray): High-quality samples per mode, int64 (K,).
        min_count (int): The count a mode needed to be covered.
    """

    modes_covered: int
    num_modes: int
    high_quality_fraction: float
    kl_to_uniform: float
    counts: np.ndarray
    min_count: int


def mode_coverage(
    samples: np.ndarray,
    centers: np.ndarray,
    std: float,
    threshold: float = 3.0,
    min_count: int | None = None,
) -> ModeCoverage:
    """Modes covered, sample quality and evenness for a mixture of Gaussians.

    Each sample is assigned to its nearest centre; it is high-quality if it lies
    within ``threshold * std`` (Euclidean) of that centre. A mode is covered if at
    least `min_count` high-quality samples fall on it (the usual protocol of
    unrolled GAN / VEEGAN / PacGAN evaluations).

    Args:
        samples (np.ndarray): Generated points (N, D).
        centers (np.ndarray): Mode centres (K, D).
        std (float): Standard deviation of the modes.
        threshold (float): Quality radius, in standard deviations.
        min_count (int | None): High-quality samples a mode needs to be covered;
            None for a tenth of a uniform share, ``ceil(0.1 * N / K)``.

    Returns:
        ModeCoverage: ``modes_covered``, ``high_quality_fraction``,
        ``kl_to_uniform``, ``counts``...

    Example:
        >>> from keras_graft.datasets import GaussianMixture2D
        >>> ring = GaussianMixture2D.ring()
        >>> x, _ = ring.sample(1000, seed=0)
        >>> mode_coverage(x, ring.centers, ring.std).modes_covered
        8
    """
    x = np.asarray(samples, dtype=np.float64)
    c = np.asarray(centers, dtype=np.float64)
    _check_rows(x, "samples", c, "centers")
    std = check_float(std, "std", low=0.0, low_open=True)
    threshold = check_float(threshold, "threshold", low=0.0, low_open=True)
    n, k = len(x), len(c)
    if min_count is None:
        min_count = _default_min_count(n, k)
    if n == 0:
        return ModeCoverage(0, k, math.nan, math.nan, np.zeros(k, np.int64), min_count)
    dist2 = ((x[:, None, :] - c[None, :, :]) ** 2).sum(-1)
    nearest = dist2.argmin(axis=1)
    good = dist2[np.arange(n), nearest] <= (threshold * std) ** 2
    counts = np.bincount(nearest[good], minlength=k).astype(np.int64)
    return ModeCoverage(
        modes_covered=int((counts >= min_count).sum()),
        num_modes=k,
        high_quality_fraction=float(good.mean()),
        kl_to_uniform=_kl_to_uniform(counts),
        counts=counts,
        min_count=int(min_count),
    )


@dataclass(frozen=True)
class ClassCoverage:
    """Coverage of the classes of a labelled dataset by generated images.

    Attributes:
        classes_covered (int): Classes predicted for at least `min_count` images.
        num_classes (int): Number of classes.
        kl_to_uniform (float): KL divergence (nats) of the predicted-class
            histogram to uniform.
        counts (np.ndarray): Images predicted per class, int64 (num_classes,).
        min_count (int): The count a class needed to be covered.
    """

    classes_covered: int
    num_classes: int
    kl_to_uniform: float
    counts: np.ndarray
    min_count: int


def class_coverage(
    images: np.ndarray,
    classifier: Any | Callable[[np.ndarray], np.ndarray] | None = None,
    min_count: int | None = None,
    batch_size: int = 500,
) -> ClassCoverage:
    """Classes a generator covers, judged by a classifier (digits by default).

    Args:
        images (np.ndarray): Generated images (N, H, W, C) in [-1, 1].
        classifier (Any | Callable[[np.ndarray], np.ndarray] | None): A Keras
            model (called through ``predict``) or a callable returning class
            scores (N, num_classes); None for `digit_classifier()`.
        min_count (int | None): Predicted images a class needs to be covered;
            None for a tenth of a uniform share, ``ceil(0.1 * N / num_classes)``.
        batch_size (int): Prediction batch size for a Keras model.

    Returns:
        ClassCoverage: ``classes_covered``, ``kl_to_uniform``, ``counts``...
    """
    if classifier is None:
        from keras_graft.metrics.classifier import digit_classifier

        classifier = digit_classifier()
    x = np.asarray(images, dtype=np.float32)
    if hasattr(classifier, "predict"):
        scores = classifier.predict(x, batch_size=batch_size, verbose=0)
    else:
        scores = classifier(x)
    scores = np.asarray(scores)
    if scores.ndim != 2 or len(scores) != len(x):
        raise ValueError(
            f"classifier must return scores (N, classes), got {scores.shape}"
        )
    num_classes = scores.shape[1]
    if min_count is None:
        min_count = _default_min_count(len(x), num_classes)
    counts = np.bincount(scores.argmax(axis=1), minlength=num_classes).astype(np.int64)
    return ClassCoverage(
        classes_covered=int((counts >= min_count).sum()),
        num_classes=num_classes,
        kl_to_uniform=_kl_to_uniform(counts),
        counts=counts,
        min_count=int(min_count),
    )


@dataclass(frozen=True)
class ModesRecovered:
    """Which modes of the synthetic framework the generator's neurons recovered.

    Attributes:
        count (int): Modes recovered.
        recovered (np.ndarray): bool (K,), whether mode k is recovered.
        cosines (np.ndarray): Cosine of neuron i with mode k, float64 (m_G, K)
            (0 for a zero neuron).
        norms (np.ndarray): Norm of every neuron, float64 (m_G,).
        best_neuron (np.ndarray): int64 (K,), the neuron of highest cosine with
            mode k among those that pass the norm test (-1 if none does).
    """

    count: int
    recovered: np.ndarray
    cosines: np.ndarray
    norms: np.ndarray
    best_neuron: np.ndarray


def modes_recovered(
    generator_neurons: np.ndarray,
    modes: np.ndarray,
    cos_threshold: float = 0.9,
    norm_range: tuple[float, float] | None = None,
) -> ModesRecovered:
    """Count the modes u_k that some generator neuron v_i aligns with.

    Mode k is recovered if a neuron has ``cos(v_i, u_k) >= cos_threshold`` and,
    when `norm_range` is given, ``lo <= ||v_i|| <= hi`` (the right scale: a
    cubic discriminator matches third moments, so a neuron that alone carries
    mode k, with mass 1/m_G, settles where ``||v_i||^3 / m_G = p_k``, at norm
    ``(m_G p_k)^(1/3)``; see `SyntheticConfig.norm_range` in
    `keras_graft.experiments.synthetic`).

    Args:
        generator_neurons (np.ndarray): Neurons v_i as rows, shape (m_G, d).
        modes (np.ndarray): Mode directions u_k as rows, shape (K, d).
        cos_threshold (float): Minimum cosine.
        norm_range (tuple[float, float] | None): Inclusive ``(lo, hi)`` bounds on
            the neuron's norm, or None for no norm test.

    Returns:
        ModesRecovered: ``count``, ``recovered``, ``cosines`` (m_G, K), ``norms``,
        ``best_neuron``.

    Example:
        >>> import numpy as np
        >>> u = np.eye(2, 4)
        >>> modes_recovered(np.array([[2.0, 0, 0, 0], [0, 0, 1, 0]]), u).count
        1
    """
    v = np.asarray(generator_neurons, dtype=np.float64)
    u = np.asarray(modes, dtype=np.float64)
    _check_rows(v, "generator_neurons", u, "modes")
    norms = np.linalg.norm(v, axis=1)
    u_norms = np.linalg.norm(u, axis=1)
    denom = norms[:, None] * u_norms[None, :]
    dots = v @ u.T
    cosines = np.divide(dots, denom, out=np.zeros_like(dots), where=denom > 0)
    ok_norm = np.ones(len(v), dtype=bool)
    if norm_range is not None:
        lo, hi = norm_range
        ok_norm = (norms >= lo) & (norms <= hi)
    candidate = np.where(ok_norm[:, None], cosines, -np.inf)
    recovered = (candidate >= cos_threshold).any(axis=0)
    best = candidate.argmax(axis=0) if len(v) else np.zeros(len(u), np.int64)
    best = np.where(ok_norm.any(), best, -1).astype(np.int64)
    return ModesRecovered(
        count=int(recovered.sum()),
        recovered=recovered,
        cosines=cosines,
        norms=norms,
        best_neuron=best,
    )


def mode_mass(
    generator_neurons: np.ndarray,
    modes: np.ndarray,
    probs: np.ndarray | None = None,
    cos_threshold: float = 0.9,
) -> np.ndarray:
    """The generator's mass on each mode, as a share of the data's.

    For the synthetic framework's linear generator (each neuron v_i is one
    sample of mass 1 / m_G) and cubic discriminator, which matches third
    moments along its neurons: the mass on mode k is
    ``M_k = (1 / m_G) sum_{i : cos(v_i, u_k) >= cos_threshold} <v_i, u_k>^3``,
    the part of the data's third moment ``E <X, u_k>^3 = p_k`` (unit modes)
    that the neurons aligned with u_k carry, and the function returns
    ``M_k / p_k``. At the equilibrium where n neurons share mode k at norm
    ``(m_G p_k / n)^(1/3)`` each, it is 1 whatever n; a neuron that merely
    points at the mode near the origin carries almost none, and a mode that
    holds most of the generator's neurons carries more than 1.

    Args:
        generator_neurons (np.ndarray): Neurons as rows, (m_G, d), or a batch
            of runs (R, m_G, d).
        modes (np.ndarray): Unit mode directions u_k as rows, (K, d).
        probs (np.ndarray | None): Mode probabilities p_k (None: uniform).
        cos_threshold (float): Minimum cosine of a neuron counted on a mode.

    Returns:
        np.ndarray: ``M_k / p_k``, shape (K,) or (R, K); nan where the neurons
        are not finite.

    Example:
        >>> import numpy as np
        >>> u = np.eye(2, 4)
        >>> v = np.array([[2 ** (1 / 3), 0, 0, 0], [0, 2 ** (1 / 3), 0, 0]])
        >>> np.round(mode_mass(v, u), 6).tolist()
        [1.0, 1.0]
    """
    v = np.asarray(generator_neurons, dtype=np.float64)
    u = np.asarray(modes, dtype=np.float64)
    if u.ndim != 2:
        fail(ValueError, "modes.shape", "(K, d)", u.shape)
    if v.ndim not in (2, 3) or v.shape[-1] != u.shape[1]:
        fail(
            ValueError,
            "generator_neurons.shape",
            f"(m_G, d) or (R, m_G, d) with d = {u.shape[1]} as in modes",
            v.shape,
        )
    single = v.ndim == 2
    if single:
        v = v[None]
    if probs is None:
        p = np.full(len(u), 1.0 / len(u))
    else:
        p = np.asarray(probs, np.float64)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        dots = v @ u.T  # (R, m_G, K)
        norms = np.linalg.norm(v, axis=-1)[..., None] * np.linalg.norm(u, axis=1)
        cos = np.where(norms > 0, dots / np.where(norms > 0, norms, 1.0), 0.0)
        aligned = cos >= cos_threshold
        mass = np.where(aligned, dots**3, 0.0).sum(axis=1) / v.shape[1] / p
    finite = np.all(np.isfinite(v), axis=(1, 2))
    mass = np.where(finite[:, None], mass, np.nan)
    return mass[0] if single else mass

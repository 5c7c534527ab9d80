"""Coverage metrics on hand-made samples with known answers."""

import math

import numpy as np
import pytest

from keras_graft import metrics

CENTERS = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])


def test_mode_coverage_counts_quality_and_kl():
    samples = np.array(
        [[0.0, 0.05]] * 6  # mode 0, within 3 std (std 0.1)
        + [[10.0, 0.2]] * 2  # mode 1, within 3 std
        + [[0.0, 10.5]] * 2  # nearest mode 2 but 5 std away: low quality
        + [[5.0, 5.0]] * 0
    )
    cov = metrics.mode_coverage(samples, CENTERS, std=0.1, threshold=3.0, min_count=2)
    assert cov.num_modes == 4
    np.testing.assert_array_equal(cov.counts, [6, 2, 0, 0])
    assert cov.modes_covered == 2
    assert cov.high_quality_fraction == pytest.approx(0.8)
    p = np.array([0.75, 0.25])
    assert cov.kl_to_uniform == pytest.approx(np.sum(p * np.log(p * 4)))
    # A stricter min_count drops mode 1, a wider radius adds mode 2.
    assert metrics.mode_coverage(samples, CENTERS, 0.1, min_count=3).modes_covered == 1
    wide = metrics.mode_coverage(samples, CENTERS, 0.1, threshold=6.0, min_count=2)
    assert wide.modes_covered == 3 and wide.high_quality_fraction == 1.0


def test_mode_coverage_uniform_and_collapsed():
    even = np.repeat(CENTERS, 5, axis=0)
    cov = metrics.mode_coverage(even, CENTERS, std=0.1)
    assert cov.modes_covered == 4 and cov.kl_to_uniform == pytest.approx(0.0)
    assert cov.min_count == 1  # ceil(0.1 * 20 / 4)
    collapsed = np.repeat(CENTERS[:1], 20, axis=0)
    cov = metrics.mode_coverage(collapsed, CENTERS, std=0.1)
    assert cov.modes_covered == 1 and cov.kl_to_uniform == pytest.approx(math.log(4))
    nowhere = np.full((5, 2), 5.0)
    cov = metrics.mode_coverage(nowhere, CENTERS, std=0.1)
    assert cov.modes_covered == 0 and cov.high_quality_fraction == 0.0
    assert math.isnan(cov.kl_to_uniform)


def test_mode_coverage_default_min_count_ignores_stragglers():
    samples = np.concatenate(
        [np.repeat(CENTERS[:3], 100, axis=0), CENTERS[3:]]  # one stray sample on mode 3
    )
    cov = metrics.mode_coverage(samples, CENTERS, std=0.1)
    assert cov.min_count == math.ceil(0.1 * 301 / 4)
    assert cov.modes_covered == 3


def test_mode_coverage_on_a_true_ring_sample():
    from keras_graft.datasets import GaussianMixture2D

    ring = GaussianMixture2D.ring()
    x, _ = ring.sample(2000, seed=0)
    cov = metrics.mode_coverage(x, ring.centers, ring.std)
    assert cov.modes_covered == 8
    assert cov.high_quality_fraction > 0.98
    assert cov.kl_to_uniform < 0.01


def test_class_coverage_with_a_callable_classifier():
    labels = np.array([0] * 50 + [1] * 30 + [2] * 15 + [3] * 5)

    def classify(images):
        assert images.shape == (100, 2, 2, 1)
        return np.eye(10)[labels]

    cov = metrics.class_coverage(np.zeros((100, 2, 2, 1)), classifier=classify)
    assert cov.num_classes == 10 and cov.min_count == 1
    np.testing.assert_array_equal(cov.counts, [50, 30, 15, 5, 0, 0, 0, 0, 0, 0])
    assert cov.classes_covered == 4
    p = np.array([0.5, 0.3, 0.15, 0.05])
    assert cov.kl_to_uniform == pytest.approx(np.sum(p * np.log(p * 10)))
    strict = metrics.class_coverage(np.zeros((100, 2, 2, 1)), classify, min_count=10)
    assert strict.classes_covered == 3


def test_modes_recovered_on_hand_made_neurons():
    u = np.eye(3, 5)
    neurons = np.array(
        [
            [2.0, 0.1, 0.0, 0.0, 0.0],  # mode 0, cos ~0.9988, norm ~2
            [0.0, 0.5, 0.5, 0.0, 0.0],  # between modes 1 and 2: cos 0.707
            [0.0, 0.0, 0.0, 0.0, 0.0],  # dead neuron
            [0.0, 0.0, -1.0, 0.0, 0.0],  # anti-aligned with mode 2
        ]
    )
    res = metrics.modes_recovered(neurons, u)
    assert res.count == 1
    np.testing.assert_array_equal(res.recovered, [True, False, False])
    assert res.cosines.shape == (4, 3)
    assert res.cosines[0, 0] == pytest.approx(2.0 / np.hypot(2.0, 0.1))
    assert res.cosines[1, 1] == pytest.approx(1 / np.sqrt(2))
    np.testing.assert_array_equal(res.cosines[2], 0.0)
    assert res.cosines[3, 2] == pytest.approx(-1.0)
    np.testing.assert_allclose(res.norms, [np.hypot(2.0, 0.1), np.sqrt(0.5), 0.0, 1.0])
    assert res.best_neuron[0] == 0
    # A looser threshold recovers mode 1 (and mode 2) through neuron 1.
    assert metrics.modes_recovered(neurons, u, cos_threshold=0.7).count == 3
    # The norm test rejects the neuron of norm 2.
    res = metrics.modes_recovered(neurons, u, norm_range=(0.5, 1.5))
    assert res.count == 0
    res = metrics.modes_recovered(neurons, u, cos_threshold=0.7, norm_range=(0.5, 1.5))
    assert res.count == 2 and not res.recovered[0]


def test_input_validation():
    with pytest.raises(
        ValueError,
        match=r"Argument `samples.shape` must be \(N, D\) "
        r"with D = 2 as in centers; received "
        r"samples.shape=\(3, 3\)\.",
    ):
        metrics.mode_coverage(np.zeros((3, 3)), CENTERS, 0.1)
    with pytest.raises(
        ValueError, match="Argument `std` must be a finite float > 0; received std=0.0."
    ):
        metrics.mode_coverage(np.zeros((3, 2)), CENTERS, 0.0)
    with pytest.raises(ValueError, match="Argument `threshold` must be a finite"):
        metrics.mode_coverage(np.zeros((3, 2)), CENTERS, 0.1, threshold=-1.0)
    with pytest.raises(ValueError, match="Argument `generator_neurons.shape` must be"):
        metrics.modes_recovered(np.zeros((2, 4)), np.eye(2, 5))
    with pytest.raises(ValueError, match=r"`modes.shape` must be \(K, d\)"):
        metrics.mode_mass(np.zeros((2, 4)), np.zeros(4))
    with pytest.raises(ValueError, match=r"\(m_G, d\) or \(R, m_G, d\) with d = 4"):
        metrics.mode_mass(np.zeros((2, 5)), np.eye(2, 4))

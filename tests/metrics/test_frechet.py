"""Fréchet distance: closed forms and an independent scipy computation."""

import time

import numpy as np
import pytest
import scipy.linalg

from keras_graft import metrics
from keras_graft.metrics import frechet


def _reference(mu1, s1, mu2, s2):
    """The usual FID formula (pytorch-fid): scipy.linalg.sqrtm of sigma1 @ sigma2."""
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    covmean = np.real(covmean)
    diff = mu1 - mu2
    return diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)


@pytest.fixture
def two_feature_sets():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 12)) @ rng.normal(size=(12, 12))
    b = rng.normal(size=(300, 12)) @ rng.normal(size=(12, 12)) + 0.5
    return a, b


def test_feature_statistics_is_mean_and_unbiased_covariance(two_feature_sets):
    a, _ = two_feature_sets
    mu, sigma = metrics.feature_statistics(a)
    np.testing.assert_allclose(mu, a.mean(0))
    centred = a - a.mean(0)
    np.testing.assert_allclose(sigma, centred.T @ centred / (len(a) - 1))
    with pytest.raises(
        ValueError,
        match=r"Argument `features.shape` must be \(N, F\) "
        r"with N >= 2; received features.shape",
    ):
        metrics.feature_statistics(a[:1])


def test_matches_scipy_sqrtm_reference(two_feature_sets):
    a, b = two_feature_sets
    s_a, s_b = metrics.feature_statistics(a), metrics.feature_statistics(b)
    got = metrics.frechet_distance(*s_a, *s_b)
    want = _reference(*s_a, *s_b)
    assert got > 1.0
    np.testing.assert_allclose(got, want, rtol=1e-8)
    # Symmetric in its two arguments.
    np.testing.assert_allclose(metrics.frechet_distance(*s_b, *s_a), got, rtol=1e-8)


def test_closed_forms():
    rng = np.random.default_rng(1)
    m = rng.normal(size=(5, 5))
    sigma = m @ m.T + 0.1 * np.eye(5)
    mu = rng.normal(size=5)
    d = rng.normal(size=5)
    fd = metrics.frechet_distance
    assert fd(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-9)
    # Equal covariances: the squared distance of the means.
    assert fd(mu, sigma, mu + d, sigma) == pytest.approx(d @ d, rel=1e-8)
    # 1-D: (m1 - m2)^2 + (s1 - s2)^2.
    assert metrics.frechet_distance([1.0], [[4.0]], [-2.0], [[0.25]]) == pytest.approx(
        9.0 + (2.0 - 0.5) ** 2
    )
    # Commuting (diagonal) covariances: sum of (sqrt a_i - sqrt b_i)^2.
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 0.0])
    want = np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert fd(np.zeros(3), np.diag(a), np.zeros(3), np.diag(b)) == pytest.approx(want)


def test_singular_covariances_fewer_samples_than_features():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(10, 64))  # rank-9 covariance in 64 dimensions
    s = metrics.feature_statistics(a)
    assert metrics.frechet_distance(*s, *s) == pytest.approx(0.0, abs=1e-8)
    b = a + np.full(64, 0.1)
    s_b = metrics.feature_statistics(b)
    assert metrics.frechet_distance(*s, *s_b) == pytest.approx(64 * 0.01, rel=1e-9)


def test_shape_mismatch_is_an_error():
    with pytest.raises(
        ValueError,
        match=r"Argument `mu2.shape` must be \(3,\) as mu1 "
        r"is \(3,\); received mu2.shape=\(2,\)\.",
    ):
        metrics.frechet_distance(np.zeros(3), np.eye(3), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match=r"`sigma1.shape` must be \(3, 3\)"):
        metrics.frechet_distance(np.zeros(3), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match=r"`mu1.shape` must be \(F,\)"):
        metrics.frechet_distance(np.zeros((1, 3)), np.eye(3), np.zeros(3), np.eye(3))


def test_frechet_distance_class_with_a_custom_extractor():
    rng = np.random.default_rng(3)
    real = rng.normal(size=(200, 4, 4, 1)).astype(np.float32)
    fake = (rng.normal(size=(150, 4, 4, 1)) * 2.0 + 1.0).astype(np.float32)

    def flatten(images):
        return np.asarray(images, dtype=np.float64).reshape(len(images), -1)

    fd = metrics.FrechetDistance(flatten)
    want = metrics.frechet_distance(
        *metrics.feature_statistics(flatten(real)),
        *metrics.feature_statistics(flatten(fake)),
    )
    assert fd(real, fake) == pytest.approx(want)
    # Precomputed statistics are accepted on either side.
    assert fd(fd.statistics(real), fake) == pytest.approx(want)
    got = metrics.fid(real, fd.statistics(fake), extractor=flatten)
    assert got == pytest.approx(want)
    assert fd.features(real).shape == (200, 16)


def test_unknown_extractor_name():
    with pytest.raises(
        ValueError,
        match="Argument `extractor` must be 'digits', "
        "'inception' or a callable; received "
        "extractor='vgg'.",
    ):
        metrics.FrechetDistance("vgg")


def test_inception_fails_fast_offline(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    probed = []

    def offline(host, port=443, timeout=2.5):
        probed.append(host)
        return False

    monkeypatch.setattr(frechet._network, "host_reachable", offline)
    start = time.perf_counter()
    with pytest.raises(metrics.WeightsUnavailableError, match="digits"):
        metrics.fid(np.zeros((2, 28, 28, 1)), np.zeros((2, 28, 28, 1)))
    with pytest.raises(metrics.WeightsUnavailableError):
        metrics.InceptionFeatures()
    assert time.perf_counter() - start < 5.0
    assert probed == ["storage.googleapis.com"] * 2
    assert metrics.inception_weights_path().startswith(str(tmp_path))

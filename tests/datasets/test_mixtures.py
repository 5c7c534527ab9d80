"""2-D mixtures of Gaussians and the synthetic multi-mode data."""

import numpy as np
import pytest

from keras_graft import datasets


def _nearest(x, centers):
    d = np.linalg.norm(x[:, None, :] - centers[None], axis=-1)
    return d.argmin(1), d.min(1)


def test_ring_centres_and_samples():
    x, centers = datasets.ring_of_gaussians(
        4000, num_modes=8, radius=2.0, std=0.02, seed=0
    )
    assert x.shape == (4000, 2) and x.dtype == np.float32
    assert centers.shape == (8, 2)
    np.testing.assert_allclose(np.linalg.norm(centers, axis=1), 2.0, rtol=1e-6)
    np.testing.assert_allclose(centers[0], [2.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(centers[2], [0.0, 2.0], atol=1e-6)
    mode, dist = _nearest(x, centers)
    assert dist.max() < 6 * 0.02  # every sample near its centre
    counts = np.bincount(mode, minlength=8)
    assert counts.min() > 400 and counts.max() < 600  # about 500 each


def test_grid_centres_and_samples():
    x, centers = datasets.grid_of_gaussians(5000, seed=1)
    assert centers.shape == (25, 2)
    assert sorted(set(centers[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert len({tuple(c) for c in centers.tolist()}) == 25
    mode, dist = _nearest(x, centers)
    assert dist.max() < 6 * 0.02
    assert np.bincount(mode, minlength=25).min() > 120  # about 200 each
    # Empirical spread per coordinate matches the std.
    resid = x - centers[mode]
    np.testing.assert_allclose(resid.std(0), 0.02, rtol=0.1)


def test_mixture_object_is_seeded_and_reports_modes():
    ring = datasets.GaussianMixture2D.ring(num_modes=4, radius=1.0, std=0.1)
    a, ma = ring.sample(100, seed=3)
    b, mb = ring.sample(100, seed=3)
    c, _ = ring.sample(100, seed=4)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ma, mb)
    assert not np.array_equal(a, c)
    assert ring.num_modes == 4
    mode, _ = _nearest(a, ring.centers)
    np.testing.assert_array_equal(mode, ma)


def test_synthetic_modes_orthonormal_and_sampled():
    data = datasets.synthetic_modes(dim=64, num_modes=3, noise_std=0.05, seed=0)
    assert data.u.shape == (3, 64) and data.dim == 64 and data.num_modes == 3
    np.testing.assert_allclose(data.u @ data.u.T, np.eye(3), atol=1e-6)
    np.testing.assert_allclose(data.probs, [1 / 3] * 3)
    x, k = data.sample(3000, seed=1)
    assert x.shape == (3000, 64) and x.dtype == np.float32
    for j in range(3):
        np.testing.assert_allclose(x[k == j].mean(0), data.u[j], atol=0.02)
    np.testing.assert_allclose((x - data.u[k]).std(), 0.05, rtol=0.05)
    freq = np.bincount(k, minlength=3) / 3000
    np.testing.assert_allclose(freq, 1 / 3, atol=0.04)


def test_synthetic_modes_imbalanced_and_noiseless():
    data = datasets.synthetic_modes(dim=8, num_modes=2, probs=[7, 3], noise_std=0.0)
    np.testing.assert_allclose(data.probs, [0.7, 0.3])
    x, k = data.sample(5000, seed=0)
    np.testing.assert_allclose(x, data.u[k])  # exactly on the modes
    assert abs((k == 0).mean() - 0.7) < 0.03


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(dim=2, num_modes=3),
            r"Argument `num_modes` must be an int in \[1, dim=2\]; "
            r"received num_modes=3\.",
        ),
        (
            dict(num_modes=2, probs=[1.0]),
            "Argument `probs` must be 2 non-negative numbers with a positive sum",
        ),
        (dict(num_modes=2, probs=[-1.0, 2.0]), "Argument `probs` must be"),
        (
            dict(noise_std=-0.1),
            "Argument `noise_std` must be a finite float >= 0; "
            "received noise_std=-0.1.",
        ),
    ],
)
def test_synthetic_modes_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        datasets.synthetic_modes(**kwargs)


def test_mixtures_reject_bad_sizes():
    with pytest.raises(
        ValueError,
        match="Argument `num_modes` must be an int >= 1; received num_modes=0.",
    ):
        datasets.GaussianMixture2D.ring(num_modes=0)
    with pytest.raises(TypeError, match="Argument `grid` must be an int >= 1"):
        datasets.grid_of_gaussians(10, grid=2.5)

"""2-D mixtures of Gaussians: the ring and the grid used to study mode collapse."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from keras_graft._validation import check_int


@dataclass(frozen=True)
class GaussianMixture2D:
    """An isotropic mixture of Gaussians in the plane.

    Attributes:
        centers (np.ndarray): Mode centres, float32 of shape (K, 2).
        std (float): Standard deviation of every mode, per coordinate.
        probs (np.ndarray): Mode probabilities, shape (K,), summing to 1.
    """

    centers: np.ndarray
    std: float
    probs: np.ndarray

    @property
    def num_modes(self) -> int:
        """int: Number of modes K."""
        return int(self.centers.shape[0])

    @classmethod
    def ring(
        cls, num_modes: int = 8, radius: float = 2.0, std: float = 0.02
    ) -> GaussianMixture2D:
        """Equal modes evenly spaced on a circle (mode k at angle 2 pi k / K).

        Args:
            num_modes (int): Number of modes K.
            radius (float): Radius of the circle.
            std (float): Standard deviation of each mode.

        Returns:
            GaussianMixture2D: The mixture.
        """
        num_modes = check_int(num_modes, "num_modes", minimum=1)
        angles = 2.0 * np.pi * np.arange(num_modes) / num_modes
        centers = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
        probs = np.full(num_modes, 1.0 / num_modes)
        return cls(centers.astype(np.float32), float(std), probs)

    @classmethod
    def grid(
        cls, grid: int = 5, spacing: float = 2.0, std: float = 0.02
    ) -> GaussianMixture2D:
        """Equal modes on a `grid` x `grid` square lattice centred at the origin.

        With the defaults the centres are {-4, -2, 0, 2, 4}^2 (25 modes).

        Args:
            grid (int): Number of modes per side.
            spacing (float): Distance between neighbouring modes.
            std (float): Standard deviation of each mode.

        Returns:
            GaussianMixture2D: The mixture.
        """
        grid = check_int(grid, "grid", minimum=1)
        coords = spacing * (np.arange(grid) - (grid - 1) / 2.0)
        xs, ys = np.meshgrid(coords, coords, indexing="ij")
        centers = np.stack([xs.ravel(), ys.ravel()], axis=1)
        k = grid * grid
        return cls(centers.astype(np.float32), float(std), np.full(k, 1.0 / k))

    def sample(
        self, n: int, seed: int | np.random.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw `n` points.

        Args:
            n (int): Number of samples.
            seed (int | np.random.Generator | None): Seed or generator.

        Returns:
            tuple[np.ndarray, np.ndarray]: Samples float32 (n, 2) and the index
            of the mode each came from, int64 (n,).
        """
        rng = np.random.default_rng(seed)
        modes = rng.choice(self.num_modes, size=n, p=self.probs)
        noise = rng.normal(0.0, self.std, size=(n, 2))
        return (self.centers[modes] + noise).astype(np.float32), modes


def ring_of_gaussians(
    n: int,
    num_modes: int = 8,
    radius: float = 2.0,
    std: float = 0.02,
    seed: int | np.random.Generator | None = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Samples of `num_modes` Gaussians evenly spaced on a circle.

    Args:
        n (int): Number of samples.
        num_modes (int): Number of modes.
        radius (float): Radius of the circle.
        std (float): Standard deviation of each mode.
        seed (int | np.random.Generator | None): Seed or generator.

    Returns:
        tuple[np.ndarray, np.ndarray]: Samples float32 (n, 2) and the mode
        centres float32 (num_modes, 2). `GaussianMixture2D.ring` gives the
        mixture object itself.

    Example:
        >>> x, centers = ring_of_gaussians(1000, seed=0)
        >>> x.shape, centers.shape
        ((1000, 2), (8, 2))
    """
    mixture = GaussianMixture2D.ring(num_modes=num_modes, radius=radius, std=std)
    return mixture.sample(n, seed)[0], mixture.centers


def grid_of_gaussians(
    n: int,
    grid: int = 5,
    spacing: float = 2.0,
    std: float = 0.02,
    seed: int | np.random.Generator | None = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Samples of `grid` x `grid` Gaussians on a square lattice (25 by default).

    Args:
        n (int): Number of samples.
        grid (int): Number of modes per side.
        spacing (float): Distance between neighbouring modes.
        std (float): Standard deviation of each mode.
        seed (int | np.random.Generator | None): Seed or generator.

    Returns:
        tuple[np.ndarray, np.ndarray]: Samples float32 (n, 2) and the mode
        centres float32 (grid**2, 2).
    """
    mixture = GaussianMixture2D.grid(grid=grid, spacing=spacing, std=std)
    return mixture.sample(n, seed)[0], mixture.centers

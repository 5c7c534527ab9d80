"""The multi-mode data of the paper's theoretical framework.

X = u_k with probability p_k, plus small isotropic Gaussian noise, where the mode
directions u_1..u_K are orthonormal in R^d.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from keras_graft._validation import check_float, check_int, fail


@dataclass(frozen=True)
class SyntheticModes:
    """A distribution of K orthonormal modes in R^d.

    Attributes:
        u (np.ndarray): Orthonormal mode directions, float32 of shape (K, d).
        probs (np.ndarray): Mode probabilities p_k, float64 of shape (K,).
        noise_std (float): Standard deviation of the additive Gaussian noise,
            per coordinate.
    """

    u: np.ndarray
    probs: np.ndarray
    noise_std: float

    @property
    def num_modes(self) -> int:
        """int: Number of modes K."""
        return int(self.u.shape[0])

    @property
    def dim(self) -> int:
        """int: Dimension d."""
        return int(self.u.shape[1])

    def sample(
        self, n: int, seed: int | np.random.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw `n` points ``x = u_k + noise`` with ``k ~ probs``.

        Args:
            n (int): Number of samples.
            seed (int | np.random.Generator | None): Seed or generator.

        Returns:
            tuple[np.ndarray, np.ndarray]: Samples float32 (n, d) and the mode
            index of each, int64 (n,).
        """
        rng = np.random.default_rng(seed)
        modes = rng.choice(self.num_modes, size=n, p=self.probs)
        x = self.u[modes].astype(np.float64)
        if self.noise_std > 0:
            x = x + rng.normal(0.0, self.noise_std, size=x.shape)
        return x.astype(np.float32), modes


def synthetic_modes(
    dim: int = 64,
    num_modes: int = 2,
    probs: np.ndarray | list[float] | None = None,
    noise_std: float = 0.01,
    seed: int | np.random.Generator | None = 0,
) -> SyntheticModes:
    """The K-mode distribution of the synthetic framework.

    ``X = u_k`` with probability ``p_k``, plus isotropic Gaussian noise of
    standard deviation `noise_std`: the data that the linear generator and
    cubic discriminator of `keras_graft.experiments.synthetic` learn. The
    directions are the orthonormalised columns (QR) of a Gaussian matrix drawn
    with `seed`, so ``u @ u.T`` is the identity.

    Args:
        dim (int): Dimension d.
        num_modes (int): Number of modes K (at most `dim`).
        probs (np.ndarray | list[float] | None): Mode probabilities; None for
            uniform. Pass unequal values for the imbalanced variant, e.g.
            ``[0.7, 0.3]``; they are normalised to sum to 1.
        noise_std (float): Standard deviation of the additive Gaussian noise.
        seed (int | np.random.Generator | None): Seed of the directions.

    Returns:
        SyntheticModes: The distribution (``.u``, ``.probs``, ``.sample(n, seed)``).

    Example:
        >>> data = synthetic_modes(dim=16, num_modes=2, probs=[0.7, 0.3])
        >>> x, k = data.sample(128, seed=1)
        >>> x.shape
        (128, 16)
    """
    dim = check_int(dim, "dim", minimum=1)
    num_modes = check_int(num_modes, "num_modes", minimum=1)
    if num_modes > dim:
        fail(ValueError, "num_modes", f"an int in [1, dim={dim}]", num_modes)
    noise_std = check_float(noise_std, "noise_std", low=0.0)
    if probs is None:
        p = np.full(num_modes, 1.0 / num_modes)
    else:
        p = np.asarray(probs, dtype=np.float64)
        if p.shape != (num_modes,) or np.any(p < 0) or p.sum() <= 0:
            fail(
                ValueError,
                "probs",
                f"{num_modes} non-negative numbers with a positive sum",
                probs,
            )
        p = p / p.sum()
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(dim, num_modes)))
    return SyntheticModes(u=q.T.astype(np.float32), probs=p, noise_std=noise_std)

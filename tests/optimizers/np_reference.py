"""Independent numpy (float64) implementations of the update rules under test.

Each child rule returns the step it would subtract from a variable; the graft
combines two rules block by block, as the optimizers' docstrings write it:
theta_b <- theta_b - ||M_b|| * D_b / ||D_b|| (no move when D_b == 0).
"""

from __future__ import annotations

import numpy as np


class Adam:
    """Keras's Adam (epsilon hat): step = alpha * m / (sqrt(v) + eps)."""

    def __init__(self, lr=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        self.lr, self.b1, self.b2, self.eps = lr, beta_1, beta_2, epsilon
        self.m, self.v = {}, {}

    def step(self, i, g, t, lr=None):
        lr = self.lr if lr is None else lr
        m = self.m.get(i, np.zeros_like(g))
        v = self.v.get(i, np.zeros_like(g))
        m = self.b1 * m + (1 - self.b1) * g
        v = self.b2 * v + (1 - self.b2) * g * g
        self.m[i], self.v[i] = m, v
        alpha = lr * np.sqrt(1 - self.b2**t) / (1 - self.b1**t)
        return alpha * m / (np.sqrt(v) + self.eps)


class SGD:
    """Keras's SGD: m = mu*m - lr*g; step = -m (or -(mu*m - lr*g) with Nesterov)."""

    def __init__(self, lr=0.01, momentum=0.0, nesterov=False):
        self.lr, self.mu, self.nesterov = lr, momentum, nesterov
        self.m = {}

    def step(self, i, g, t, lr=None):
        lr = self.lr if lr is None else lr
        if self.mu == 0:
            return lr * g
        m = self.mu * self.m.get(i, np.zeros_like(g)) - lr * g
        self.m[i] = m
        return -(self.mu * m - lr * g) if self.nesterov else -m


class RMSprop:
    """Keras's RMSprop (no momentum, not centered)."""

    def __init__(self, lr=1e-3, rho=0.9, epsilon=1e-7):
        self.lr, self.rho, self.eps = lr, rho, epsilon
        self.v = {}

    def step(self, i, g, t, lr=None):
        lr = self.lr if lr is None else lr
        v = self.rho * self.v.get(i, np.zeros_like(g)) + (1 - self.rho) * g * g
        self.v[i] = v
        return lr * g / np.sqrt(v + self.eps)


class Gradient:
    """The raw gradient (SGD's direction, any learning rate)."""

    def step(self, i, g, t, lr=None):
        return g


class HeavyBall:
    """nSGDA's momentum direction: u = mu*u + g; direction u (or g + mu*u)."""

    def __init__(self, momentum, nesterov=False):
        self.mu, self.nesterov = momentum, nesterov
        self.u = {}

    def step(self, i, g, t, lr=None):
        u = self.mu * self.u.get(i, np.zeros_like(g)) + g
        self.u[i] = u
        return g + self.mu * u if self.nesterov else u


def graft_trajectory(
    params,
    grad_seq,
    blocks,
    magnitude,
    direction,
    block_length=None,
    *,
    lr_at=None,
    transform=None,
    weight_decay=None,
):
    """Runs the block-wise graft; returns the parameters after each step.

    Args:
        params: list of arrays (copied, computed in float64).
        grad_seq: list over steps of lists of gradient arrays.
        blocks: block id of each variable.
        magnitude: a rule whose step norm is the magnitude, or None when
            `block_length(size, lr)` gives each block's step length directly.
        direction: a rule whose step is the direction.
        block_length: function of a block's size and the learning rate.
        lr_at: learning rate at step t (1-based) for the magnitude rule and
            `block_length`; None keeps the rule's own.
        transform: function applied to each step's gradient list (clipping).
        weight_decay: (wd, mask): w -= w * wd * lr before the step, where mask[i].
    """
    params = [np.array(p, dtype=np.float64) for p in params]
    history = []
    for t, grads in enumerate(grad_seq, start=1):
        grads = [np.asarray(g, dtype=np.float64) for g in grads]
        if transform is not None:
            grads = transform(grads)
        lr = None if lr_at is None else lr_at(t)
        if weight_decay is not None:
            wd, mask = weight_decay
            params = [p - p * wd * lr if keep else p for p, keep in zip(params, mask)]
        d = [direction.step(i, g, t) for i, g in enumerate(grads)]
        m = None
        if magnitude is not None:
            m = [magnitude.step(i, g, t, lr) for i, g in enumerate(grads)]
        for b in sorted(set(blocks)):
            members = [i for i, bb in enumerate(blocks) if bb == b]
            d_norm = np.sqrt(sum(np.sum(d[i] ** 2) for i in members))
            if m is None:
                length = block_length(sum(params[i].size for i in members), lr)
            else:
                length = np.sqrt(sum(np.sum(m[i] ** 2) for i in members))
            scale = length / d_norm if d_norm > 0 else 0.0
            for i in members:
                params[i] = params[i] - scale * d[i]
        history.append([p.copy() for p in params])
    return history


def relative_error(actual, expected) -> float:
    """Norm-wise relative error ||a - e|| / ||e|| over a list of arrays."""
    num = np.sqrt(
        sum(
            np.sum((np.asarray(a, np.float64) - e) ** 2)
            for a, e in zip(actual, expected)
        )
    )
    den = np.sqrt(sum(np.sum(np.asarray(e, np.float64) ** 2) for e in expected))
    return float(num / den)

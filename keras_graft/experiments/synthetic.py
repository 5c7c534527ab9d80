"""The synthetic framework: orthonormal modes, linear generator, cubic discriminator.

Data ``X = u_k`` with probability ``p_k`` (plus small noise) in R^d. The
generator ``G(z) = sum_i z_i v_i`` has m_G neurons and a one-hot latent code
``z`` drawn uniformly, so its samples are exactly the neurons ``v_i``, each with
mass ``1 / m_G``. The discriminator is
``D(x) = sum_j a_j sigma(<w_j, x>) + b`` with ``sigma(t) = t^3``, m_D neurons,
output weights ``a_j = 1`` (trainable on request; with an odd activation a
fixed ``a_j = 1`` loses nothing, the sign goes into ``w_j``) and a trainable
bias. Both players are trained on exact full-batch expectations over the modes
(a fixed set of noisy copies of each mode) and over the m_G latent codes, with
the logistic GAN loss, so a run has no sampling noise and costs little.

The losses and their gradients are written in closed form with `keras.ops`
(`discriminator_gradients`, `generator_gradients`), so one code serves every
backend and the tests check them against numpy. The updates are made by the
optimizers of Keras and keras_graft themselves. On JAX a whole chunk of steps
of many runs at once is one compiled call (`optimizer.stateless_apply` inside
`jax.lax.scan`, vectorized over runs with `jax.vmap`); on PyTorch a chunk of
steps is vectorized over runs with `torch.func.vmap`; on TensorFlow a plain
loop runs the same step, run after run.

The learning rate of every player decays linearly to zero over the run
(`linear_decay`), the same for every optimizer: with a constant rate the
normalized iterates keep moving by a fixed length and never settle.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import keras
import numpy as np
from keras import ops

from keras_graft._backend import backend_module
from keras_graft._validation import check_choice, check_int, fail
from keras_graft.datasets import synthetic_modes
from keras_graft.experiments.factory import make_optimizer
from keras_graft.experiments.schedules import linear_decay
from keras_graft.gan.model import UPDATES
from keras_graft.metrics import mode_mass

LOSSES = ("non_saturating", "minimax")
#: How a run ends (see `classify`).
OUTCOMES = ("recovered", "collapsed", "stuck", "diverged")


@dataclass(frozen=True)
class SyntheticConfig:
    """The synthetic problem and its training schedule.

    Attributes:
        dim (int): Dimension d.
        num_modes (int): Number of modes K.
        probs (tuple[float, ...] | None): Mode probabilities (None: uniform).
        noise_std (float): Noise of the real points, per coordinate.
        samples_per_mode (int): Fixed noisy copies of each mode in the real
            expectation (each weighs ``p_k / samples_per_mode``).
        generator_neurons (int | None): m_G (None: 2K).
        discriminator_neurons (int | None): m_D (None: 4K).
        init_std (float): Standard deviation of the Gaussian initialisation of
            ``v_i`` and ``w_j``.
        train_output_weights (bool): Train the discriminator's ``a_j``.
        loss (str): Generator loss, "non_saturating" or "minimax".
        update (str): "alternating" (D, then G against the new D) or
            "simultaneous".
        steps (int): Steps per run.
        log_every (int): Steps between measurements (divides `steps`).
        cos_threshold (float): Cosine a neuron needs to count on a mode.
        mass_band (tuple[float, float]): A mode is recovered when the
            generator's mass on it, as a share of the data's
            (`keras_graft.metrics.mode_mass`), lies in this band.
        stuck_factor (float): A finite run is "stuck" when its largest
            generator neuron ends below this factor times its largest initial
            one (the generator never left its initial scale).
        data_seed (int): Seed of the mode directions and the noise.
    """

    dim: int = 32
    num_modes: int = 4
    probs: tuple[float, ...] | None = None
    noise_std: float = 0.01
    samples_per_mode: int = 4
    generator_neurons: int | None = None
    discriminator_neurons: int | None = None
    init_std: float = 0.02
    train_output_weights: bool = False
    loss: str = "non_saturating"
    update: str = "alternating"
    steps: int = 2000
    log_every: int = 100
    cos_threshold: float = 0.9
    mass_band: tuple[float, float] = (0.5, 2.0)
    stuck_factor: float = 2.0
    data_seed: int = 0

    def __post_init__(self) -> None:
        check_choice(self.loss, "loss", LOSSES)
        check_choice(self.update, "update", UPDATES)
        check_int(self.steps, "steps", minimum=1)
        check_int(self.log_every, "log_every", minimum=1)
        if self.steps % self.log_every:
            fail(
                ValueError,
                "log_every",
                f"a divisor of steps={self.steps}",
                self.log_every,
            )

    @property
    def m_g(self) -> int:
        """int: Generator neurons m_G."""
        return int(self.generator_neurons or 2 * self.num_modes)

    @property
    def m_d(self) -> int:
        """int: Discriminator neurons m_D."""
        return int(self.discriminator_neurons or 4 * self.num_modes)

    def mode_probs(self) -> np.ndarray:
        """The mode probabilities p_k.

        Returns:
            np.ndarray: float64 (K,), summing to 1.
        """
        if self.probs is None:
            return np.full(self.num_modes, 1.0 / self.num_modes)
        p = np.asarray(self.probs, dtype=np.float64)
        return p / p.sum()

    def norm_range(self) -> tuple[float, float]:
        """Norms a neuron may have to count as recovering a mode.

        A cubic discriminator matches third moments: ``n`` neurons sharing mode
        k settle at norm ``(m_G p_k / n)^(1/3)`` each, between ``p_k^(1/3)``
        (all m_G on it) and ``(m_G p_k)^(1/3)`` (one neuron). The range is that
        interval widened by a factor of 2 below and 1.5 above, over all modes;
        it rules out neurons that merely point the right way near the origin.

        Returns:
            tuple[float, float]: ``(lo, hi)``.
        """
        p = self.mode_probs()
        lo = 0.5 * float(p.min()) ** (1 / 3)
        hi = 1.5 * float(self.m_g * p.max()) ** (1 / 3)
        return lo, hi


@dataclass(frozen=True)
class SyntheticProblem:
    """The data of one synthetic configuration.

    Attributes:
        modes (np.ndarray): Mode directions u_k, float32 (K, d).
        real_x (np.ndarray): Real points of the expectation, float32 (n, d).
        real_w (np.ndarray): Their weights, float32 (n,), summing to 1.
    """

    modes: np.ndarray
    real_x: np.ndarray
    real_w: np.ndarray


def make_problem(config: SyntheticConfig) -> SyntheticProblem:
    """The mode directions and the weighted real points of `config`.

    Args:
        config (SyntheticConfig): The problem.

    Returns:
        SyntheticProblem: ``modes``, ``real_x``, ``real_w``.
    """
    data = synthetic_modes(
        dim=config.dim,
        num_modes=config.num_modes,
        probs=config.mode_probs(),
        noise_std=config.noise_std,
        seed=config.data_seed,
    )
    s = config.samples_per_mode
    rng = np.random.default_rng(config.data_seed + 1)
    x = np.repeat(data.u.astype(np.float64), s, axis=0)
    x = x + rng.normal(0.0, config.noise_std, size=x.shape)
    w = np.repeat(data.probs / s, s)
    return SyntheticProblem(data.u, x.astype(np.float32), w.astype(np.float32))


def init_params(config: SyntheticConfig, seed: int) -> dict[str, np.ndarray]:
    """Small Gaussian initial parameters of both players.

    Args:
        config (SyntheticConfig): The problem.
        seed (int): Seed of this run.

    Returns:
        dict[str, np.ndarray]: ``v`` (m_G, d), ``w`` (m_D, d), ``a`` (m_D,)
        (ones), ``b`` (scalar 0), float32.
    """
    rng = np.random.default_rng(1000 + seed)
    s = config.init_std
    return {
        "v": rng.normal(0.0, s, (config.m_g, config.dim)).astype(np.float32),
        "w": rng.normal(0.0, s, (config.m_d, config.dim)).astype(np.float32),
        "a": np.ones(config.m_d, np.float32),
        "b": np.zeros((), np.float32),
    }


def discriminator(x: Any, w: Any, a: Any, b: Any) -> Any:
    """``D(x) = sum_j a_j <w_j, x>^3 + b`` for a batch of points.

    Args:
        x (Any): Points (n, d).
        w (Any): Neurons (m_D, d).
        a (Any): Output weights (m_D,).
        b (Any): Bias (scalar).

    Returns:
        Any: Scores (n,).
    """
    h = ops.matmul(x, ops.transpose(w))
    return ops.matmul(h * h * h, a) + b


def losses(
    v: Any,
    w: Any,
    a: Any,
    b: Any,
    real_x: Any,
    real_w: Any,
    loss: str = "non_saturating",
) -> tuple[Any, Any]:
    """Exact expected losses of both players.

    ``L_D = sum_r q_r softplus(-D(x_r)) + mean_i softplus(D(v_i))``;
    ``L_G = mean_i softplus(-D(v_i))`` (non-saturating) or
    ``-mean_i softplus(D(v_i))`` (minimax).

    Args:
        v (Any): Generator neurons (m_G, d).
        w (Any): Discriminator neurons (m_D, d).
        a (Any): Output weights (m_D,).
        b (Any): Bias.
        real_x (Any): Real points (n, d).
        real_w (Any): Their weights q_r (n,).
        loss (str): "non_saturating" or "minimax".

    Returns:
        tuple[Any, Any]: ``(L_D, L_G)`` scalars.
    """
    d_real = discriminator(real_x, w, a, b)
    d_fake = discriminator(v, w, a, b)
    l_d = ops.sum(real_w * ops.softplus(-d_real)) + ops.mean(ops.softplus(d_fake))
    if loss == "non_saturating":
        l_g = ops.mean(ops.softplus(-d_fake))
    else:
        l_g = -ops.mean(ops.softplus(d_fake))
    return l_d, l_g


def _backprop(x: Any, w: Any, a: Any, c: Any) -> tuple[Any, Any, Any]:
    """Gradients of ``sum_n c_n D(x_n)`` w.r.t. w, a and x."""
    h = ops.matmul(x, ops.transpose(w))
    s = 3.0 * h * h * a[None, :] * c[:, None]  # (n, m_D)
    grad_w = ops.matmul(ops.transpose(s), x)
    grad_a = ops.matmul(c, h * h * h)
    grad_x = ops.matmul(s, w)
    return grad_w, grad_a, grad_x


def discriminator_gradients(
    v: Any, w: Any, a: Any, b: Any, real_x: Any, real_w: Any
) -> tuple[Any, Any, Any]:
    """Closed-form gradient of L_D (see `losses`) w.r.t. ``w``, ``a``, ``b``.

    Args:
        v (Any): Generator neurons (m_G, d).
        w (Any): Discriminator neurons (m_D, d).
        a (Any): Output weights (m_D,).
        b (Any): Bias.
        real_x (Any): Real points (n, d).
        real_w (Any): Their weights (n,).

    Returns:
        tuple[Any, Any, Any]: ``(dL/dw, dL/da, dL/db)``.
    """
    m_g = ops.shape(v)[0]
    c_real = -real_w * ops.sigmoid(-discriminator(real_x, w, a, b))
    c_fake = ops.sigmoid(discriminator(v, w, a, b)) / float(m_g)
    gw_r, ga_r, _ = _backprop(real_x, w, a, c_real)
    gw_f, ga_f, _ = _backprop(v, w, a, c_fake)
    return gw_r + gw_f, ga_r + ga_f, ops.sum(c_real) + ops.sum(c_fake)


def generator_gradients(
    v: Any, w: Any, a: Any, b: Any, loss: str = "non_saturating"
) -> Any:
    """Closed-form gradient of L_G (see `losses`) w.r.t. the neurons ``v``.

    Args:
        v (Any): Generator neurons (m_G, d).
        w (Any): Discriminator neurons (m_D, d).
        a (Any): Output weights (m_D,).
        b (Any): Bias.
        loss (str): "non_saturating" or "minimax".

    Returns:
        Any: ``dL_G/dv`` (m_G, d).
    """
    m_g = ops.shape(v)[0]
    d_fake = discriminator(v, w, a, b)
    if loss == "non_saturating":
        c = -ops.sigmoid(-d_fake) / float(m_g)
    else:
        c = -ops.sigmoid(d_fake) / float(m_g)
    return _backprop(v, w, a, c)[2]


@dataclass(frozen=True)
class SyntheticRun:
    """One training run: an optimizer, the players' learning rates and a seed.

    Attributes:
        optimizer (str): A name of `keras_graft.experiments.OPTIMIZERS`.
        lr_g (float): Generator learning rate (initial; decays to 0).
        lr_d (float): Discriminator learning rate (initial; decays to 0).
        seed (int): Seed of the initialisation.
        options (dict): Keyword arguments of the optimizer (both players).
        tag (str): A label for grouping (e.g. "grid", "sweep").
    """

    optimizer: str
    lr_g: float
    lr_d: float
    seed: int = 0
    options: dict = field(default_factory=dict)
    tag: str = ""


def classify(
    config: SyntheticConfig,
    mass: np.ndarray,
    init_norm: float,
    final_norm: float,
    finite: bool,
) -> str:
    """How a run ended: "recovered", "collapsed", "stuck" or "diverged".

    - diverged: a parameter of either player is NaN or Inf;
    - recovered: every mode's mass share (`keras_graft.metrics.mode_mass`)
      lies in ``config.mass_band``;
    - stuck: otherwise, when the largest generator neuron ends below
      ``config.stuck_factor`` times its initial size (G never left its
      initial scale: no mode was even approached);
    - collapsed: finite, the generator grew, and some mode is missing or
      carries the wrong mass.

    Args:
        config (SyntheticConfig): The problem (mass band, stuck factor).
        mass (np.ndarray): Mass share per mode, (K,).
        init_norm (float): Largest initial generator-neuron norm.
        final_norm (float): Largest final generator-neuron norm.
        finite (bool): Whether every parameter stayed finite.

    Returns:
        str: One of `OUTCOMES`.
    """
    if not finite or not np.all(np.isfinite(mass)):
        return "diverged"
    lo, hi = config.mass_band
    if np.all((mass >= lo) & (mass <= hi)):
        return "recovered"
    if final_norm < config.stuck_factor * init_norm:
        return "stuck"
    return "collapsed"


def _recovered_counts(config: SyntheticConfig, mass: np.ndarray) -> np.ndarray:
    lo, hi = config.mass_band
    with np.errstate(invalid="ignore"):
        return np.sum((mass >= lo) & (mass <= hi), axis=-1)


@dataclass
class SyntheticResult:
    """What one run measured.

    Attributes:
        run (SyntheticRun): The run.
        log_steps (list[int]): Steps at which it was measured (after that many
            updates).
        modes_recovered (list[int]): Modes recovered (mass share in the band)
            at each log step.
        d_step (list[float]): Mean norm of the discriminator's per-step update
            over each window of `log_every` steps (all its parameters).
        g_step (list[float]): The same for the generator.
        mode_mass (list[float]): Final mass share per mode (see
            `keras_graft.metrics.mode_mass`).
        best_cosines (list[float]): Per mode, the largest final cosine of a
            generator neuron with it.
        d_cosines (list[float]): Per mode, the largest final cosine of a
            discriminator neuron with it.
        init_norm (float): Largest initial generator-neuron norm.
        final_norm (float): Largest final generator-neuron norm.
        final_modes (int): Modes recovered at the end.
        outcome (str): "recovered", "collapsed", "stuck" or "diverged"
            (`classify`).
        finite (bool): The parameters stayed finite.
    """

    run: SyntheticRun
    log_steps: list[int]
    modes_recovered: list[int]
    d_step: list[float]
    g_step: list[float]
    mode_mass: list[float]
    best_cosines: list[float]
    d_cosines: list[float]
    init_norm: float
    final_norm: float
    final_modes: int
    outcome: str
    finite: bool

    @property
    def success(self) -> bool:
        """bool: The run recovered every mode."""
        return self.outcome == "recovered"

    def pace_ratio(self) -> list[float]:
        """Per window, the ratio of D's to G's mean step norm (nan if G is still).

        Returns:
            list[float]: One ratio per log window.
        """
        return [d / g if g > 0 else math.nan for d, g in zip(self.d_step, self.g_step)]

    def to_dict(self) -> dict:
        """A JSON-ready dict.

        Returns:
            dict: Every field, the run expanded, plus ``success`` and
            ``pace_ratio``.
        """
        out = asdict(self)
        out["success"] = self.success
        out["pace_ratio"] = self.pace_ratio()
        return out


def _best_cosines(x: np.ndarray, modes: np.ndarray) -> np.ndarray:
    """Per run and mode, the largest cosine of a row of x (R, m, d) with the mode."""
    with np.errstate(invalid="ignore", divide="ignore"):
        n = np.linalg.norm(x, axis=-1, keepdims=True)
        cos = (x / np.maximum(n, 1e-30)) @ modes.T.astype(np.float64)
    return cos.max(axis=1)


def _results(
    config: SyntheticConfig,
    problem: SyntheticProblem,
    runs: list[SyntheticRun],
    counts: np.ndarray,
    d_step: np.ndarray,
    g_step: np.ndarray,
    v0: np.ndarray,
    v: np.ndarray,
    w: np.ndarray,
) -> list[SyntheticResult]:
    """Results of R runs from their per-window logs and final parameters.

    counts, d_step, g_step: (R, windows); v0, v: (R, m_G, d); w: (R, m_D, d).
    """
    v = np.asarray(v, np.float64)
    w = np.asarray(w, np.float64)
    probs = config.mode_probs()
    mass = mode_mass(v, problem.modes, probs, config.cos_threshold)
    finite = np.all(np.isfinite(v), axis=(1, 2)) & np.all(np.isfinite(w), axis=(1, 2))
    g_cos = _best_cosines(v, problem.modes)
    d_cos = _best_cosines(w, problem.modes)
    init_norm = np.linalg.norm(np.asarray(v0, np.float64), axis=-1).max(axis=1)
    with np.errstate(invalid="ignore"):
        final_norm = np.linalg.norm(v, axis=-1).max(axis=1)
    steps = list(range(config.log_every, config.steps + 1, config.log_every))
    out = []
    for i, run in enumerate(runs):
        out.append(
            SyntheticResult(
                run=run,
                log_steps=steps,
                modes_recovered=[int(c) for c in counts[i]],
                d_step=[float(x) for x in d_step[i]],
                g_step=[float(x) for x in g_step[i]],
                mode_mass=[float(x) for x in np.round(mass[i], 5)],
                best_cosines=[float(x) for x in np.round(g_cos[i], 5)],
                d_cosines=[float(x) for x in np.round(d_cos[i], 5)],
                init_norm=float(init_norm[i]),
                final_norm=float(final_norm[i]),
                final_modes=int(_recovered_counts(config, mass[i])),
                outcome=classify(
                    config,
                    mass[i],
                    float(init_norm[i]),
                    float(final_norm[i]),
                    bool(finite[i]),
                ),
                finite=bool(finite[i]),
            )
        )
    return out


def _optimizer_pair(run: SyntheticRun) -> tuple[Any, Any]:
    """The discriminator's and the generator's optimizers of `run`.

    Float rates become optimizer variables, which the loops overwrite with
    the linearly decayed value before every step.
    """
    return (
        make_optimizer(run.optimizer, float(run.lr_d), **run.options),
        make_optimizer(run.optimizer, float(run.lr_g), **run.options),
    )


def _learning_rate_index(optimizer: keras.optimizers.Optimizer) -> int:
    """Where the learning rate sits in ``optimizer.variables``.

    For a float rate, ``optimizer.learning_rate`` is the `keras.Variable`
    that holds it, one of the optimizer's variables.
    """
    target = optimizer.learning_rate
    for i, variable in enumerate(optimizer.variables):
        if variable is target:
            return i
    raise RuntimeError("the optimizer's learning rate is not one of its variables")


def train_synthetic(
    config: SyntheticConfig,
    runs: list[SyntheticRun],
    progress: Callable[[int], None] | None = None,
) -> tuple[list[SyntheticResult], dict]:
    """Train every run of `runs` on the problem of `config`.

    On JAX the runs that share an optimizer (name and options) are trained
    together, vectorized; elsewhere one after the other.

    Args:
        config (SyntheticConfig): The problem and schedule.
        runs (list[SyntheticRun]): The runs.
        progress (Callable[[int], None] | None): Called with a number of
            finished runs x log windows, as training advances.

    Returns:
        tuple[list[SyntheticResult], dict]: The results, in the order of
        `runs`, and timing (``seconds``, ``steps_per_s`` counting every run's
        steps, ``backend``).
    """
    problem = make_problem(config)
    start = time.perf_counter()
    results: list[SyntheticResult | None] = [None] * len(runs)
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(runs):
        groups.setdefault(f"{r.optimizer}|{sorted(r.options.items())}", []).append(i)
    for indices in groups.values():
        group = [runs[i] for i in indices]
        out = backend_module("keras_graft.experiments._backend").train_group(
            config, problem, group, progress
        )
        for i, res in zip(indices, out):
            results[i] = res
    seconds = time.perf_counter() - start
    timing = {
        "seconds": seconds,
        "steps_per_s": len(runs) * config.steps / max(seconds, 1e-9),
        "backend": keras.backend.backend(),
    }
    return [r for r in results if r is not None], timing


def _discriminator_parts(
    config: SyntheticConfig, d_params: list, a_fixed: Any
) -> tuple[Any, Any, Any]:
    """``(w, a, b)`` from D's trained parameters (and the fixed ``a``)."""
    if config.train_output_weights:
        w, a, b = d_params
    else:
        (w, b), a = d_params, a_fixed
    return w, a, b


def _d_gradients(
    config: SyntheticConfig,
    d_params: list,
    a_fixed: Any,
    v: Any,
    real_x: Any,
    real_w: Any,
) -> list:
    """Gradients of L_D w.r.t. D's trained parameters, in their order."""
    w, a, b = _discriminator_parts(config, d_params, a_fixed)
    grad_w, grad_a, grad_b = discriminator_gradients(v, w, a, b, real_x, real_w)
    if config.train_output_weights:
        return [grad_w, grad_a, grad_b]
    return [grad_w, grad_b]


def _g_gradients(config: SyntheticConfig, d_params: list, a_fixed: Any, v: Any) -> list:
    """Gradient of L_G w.r.t. G's neurons ``v``, as a one-item list."""
    w, a, b = _discriminator_parts(config, d_params, a_fixed)
    return [generator_gradients(v, w, a, b, config.loss)]


def _initial_lists(config: SyntheticConfig, seed: int) -> tuple[list, list, np.ndarray]:
    """D's trained parameters, G's (``[v]``) and D's output weights ``a``."""
    p = init_params(config, seed)
    if config.train_output_weights:
        d_params = [p["w"], p["a"], p["b"]]
    else:
        d_params = [p["w"], p["b"]]
    return d_params, [p["v"]], p["a"]


def _loop_step(
    config: SyntheticConfig,
    problem: SyntheticProblem,
    optimizers: tuple,
    d_vars: list,
    g_vars: list,
    a_fixed: keras.Variable,
) -> Callable:
    """One step of the plain loop, as `step(lr_d, lr_g) -> [d_norm, g_norm]`.

    Writes the two rates into the optimizers' learning-rate variables, takes
    D's step and G's (alternating, or simultaneous from the same iterate),
    and returns the norm of each player's step. `a_fixed` holds D's fixed
    output weights.
    """
    d_optimizer, g_optimizer = optimizers
    real_x = ops.convert_to_tensor(problem.real_x)
    real_w = ops.convert_to_tensor(problem.real_w)
    simultaneous = config.update == "simultaneous"

    def step(lr_d, lr_g):
        # Assigns the decayed rate to the optimizer's learning-rate variable.
        d_optimizer.learning_rate = lr_d
        g_optimizer.learning_rate = lr_g
        a = a_fixed.value
        d_old = [ops.copy(v.value) for v in d_vars]
        g_old = [ops.copy(v.value) for v in g_vars]
        v = g_old[0]
        d_grads = _d_gradients(config, d_old, a, v, real_x, real_w)
        if simultaneous:
            g_grads = _g_gradients(config, d_old, a, v)
        d_optimizer.apply(d_grads, d_vars)
        if not simultaneous:
            d_new = [x.value for x in d_vars]
            g_grads = _g_gradients(config, d_new, a, v)
        g_optimizer.apply(g_grads, g_vars)
        d_norm = ops.sqrt(
            sum(ops.sum(ops.square(x.value - o)) for x, o in zip(d_vars, d_old))
        )
        g_norm = ops.sqrt(
            sum(ops.sum(ops.square(x.value - o)) for x, o in zip(g_vars, g_old))
        )
        return ops.stack([d_norm, g_norm])

    return step


def _decayed_rates(base: float, steps: range, total: int) -> np.ndarray:
    """``float32(linear_decay(base, t, total))`` for each step `t` of `steps`."""
    return np.array([linear_decay(base, t, total) for t in steps]).astype(np.float32)


class _RunLog:
    """The per-window logs of one run of a plain loop, and its result."""

    def __init__(self, config: SyntheticConfig, problem: SyntheticProblem) -> None:
        self.config, self.problem = config, problem
        self.counts: list[int] = []
        self.d_steps: list[float] = []
        self.g_steps: list[float] = []

    def window(
        self,
        v_now: np.ndarray,
        norms: np.ndarray,
        progress: Callable[[int], None] | None,
    ) -> None:
        """Log a window: G's neurons at its end, its steps' norms `(n, 2)`."""
        config = self.config
        mass = mode_mass(
            v_now, self.problem.modes, config.mode_probs(), config.cos_threshold
        )
        self.counts.append(int(_recovered_counts(config, mass)))
        self.d_steps.append(float(norms[:, 0].mean()))
        self.g_steps.append(float(norms[:, 1].mean()))
        if progress is not None:
            progress(1)

    def result(
        self, run: SyntheticRun, v0: np.ndarray, v: np.ndarray, w: np.ndarray
    ) -> SyntheticResult:
        """The run's result from its logs, G's initial and final neurons and
        D's final ones."""
        (result,) = _results(
            self.config,
            self.problem,
            [run],
            counts=np.array([self.counts]),
            d_step=np.array([self.d_steps]),
            g_step=np.array([self.g_steps]),
            v0=v0[None],
            v=v[None],
            w=w[None],
        )
        return result


def train_loop(
    config: SyntheticConfig,
    problem: SyntheticProblem,
    run: SyntheticRun,
    progress: Callable[[int], None] | None,
    compile_step: Callable[[Callable], Callable],
) -> SyntheticResult:
    """Train one run with a plain loop of `optimizer.apply` (torch's fallback,
    and TensorFlow's for a group of one run).

    `compile_step` wraps the step function as the backend needs (a
    `tf.function`, `torch.no_grad`).
    """
    optimizers = _optimizer_pair(run)
    d_init, g_init, a_values = _initial_lists(config, run.seed)
    d_vars = [keras.Variable(x) for x in d_init]
    g_vars = [keras.Variable(x) for x in g_init]
    for optimizer, variables in zip(optimizers, (d_vars, g_vars)):
        optimizer.build(variables)
    step = compile_step(
        _loop_step(
            config, problem, optimizers, d_vars, g_vars, keras.Variable(a_values)
        )
    )
    log = _RunLog(config, problem)
    n = config.log_every
    for start in range(0, config.steps, n):
        steps = range(start, start + n)
        rates = zip(
            _decayed_rates(run.lr_d, steps, config.steps),
            _decayed_rates(run.lr_g, steps, config.steps),
        )
        norms = [
            step(ops.convert_to_tensor(lr_d), ops.convert_to_tensor(lr_g))
            for lr_d, lr_g in rates
        ]
        norms = np.stack([ops.convert_to_numpy(x) for x in norms])
        log.window(ops.convert_to_numpy(g_vars[0].value), norms, progress)
    return log.result(
        run,
        g_init[0],
        ops.convert_to_numpy(g_vars[0].value),
        ops.convert_to_numpy(d_vars[0].value),
    )

"""The synthetic framework against numpy references, on the current backend."""

import math

import keras
import numpy as np
import pytest
from keras import ops

from keras_graft.experiments import (
    LinearDecay,
    SyntheticConfig,
    SyntheticRun,
    linear_decay,
    train_synthetic,
)
from keras_graft.experiments import synthetic as syn
from keras_graft.gan.model import UPDATES
from keras_graft.metrics import mode_mass


def _softplus(x):
    return np.logaddexp(0.0, x)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _np_losses(v, w, a, b, x, q, loss):
    def d(p):
        return ((p @ w.T) ** 3) @ a + b

    l_d = np.sum(q * _softplus(-d(x))) + np.mean(_softplus(d(v)))
    if loss == "non_saturating":
        l_g = np.mean(_softplus(-d(v)))
    else:
        l_g = -np.mean(_softplus(d(v)))
    return l_d, l_g


def _instance(seed=0):
    rng = np.random.default_rng(seed)
    v = rng.normal(0, 0.7, (3, 4))
    w = rng.normal(0, 0.7, (5, 4))
    a = rng.normal(0, 1.0, 5)
    b = np.float64(0.3)
    x = rng.normal(0, 1.0, (6, 4))
    q = rng.uniform(0.5, 1.0, 6)
    return v, w, a, b, x, q / q.sum()


def _t(x):
    return ops.convert_to_tensor(np.asarray(x, np.float32))


def _num_grad(f, x, eps=1e-6):
    g = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        g[i] = (f(xp) - f(xm)) / (2 * eps)
    return g


@pytest.mark.parametrize("loss", ["non_saturating", "minimax"])
def test_losses_and_gradients_match_numpy(loss):
    v, w, a, b, x, q = _instance()
    l_d, l_g = syn.losses(_t(v), _t(w), _t(a), _t(b), _t(x), _t(q), loss)
    ref_d, ref_g = _np_losses(v, w, a, b, x, q, loss)
    np.testing.assert_allclose(float(l_d), ref_d, rtol=1e-4)
    np.testing.assert_allclose(float(l_g), ref_g, rtol=1e-4)

    def l_d_of(w_=w, a_=a, b_=b):
        return _np_losses(v, w_, a_, b_, x, q, loss)[0]

    def l_g_of(v_):
        return _np_losses(v_, w, a, b, x, q, loss)[1]

    gw, ga, gb = syn.discriminator_gradients(_t(v), _t(w), _t(a), _t(b), _t(x), _t(q))
    np.testing.assert_allclose(
        ops.convert_to_numpy(gw),
        _num_grad(lambda w_: l_d_of(w_=w_), w),
        rtol=2e-3,
        atol=1e-5,
    )
    np.testing.assert_allclose(
        ops.convert_to_numpy(ga),
        _num_grad(lambda a_: l_d_of(a_=a_), a),
        rtol=2e-3,
        atol=1e-5,
    )
    np.testing.assert_allclose(
        float(gb), _num_grad(lambda b_: l_d_of(b_=b_), np.array(b)), rtol=2e-3
    )
    gv = syn.generator_gradients(_t(v), _t(w), _t(a), _t(b), loss)
    np.testing.assert_allclose(
        ops.convert_to_numpy(gv), _num_grad(l_g_of, v), rtol=2e-3, atol=1e-5
    )


def test_problem_weights_modes_and_norm_range():
    cfg = SyntheticConfig(dim=6, num_modes=3, probs=(0.5, 0.3, 0.2), samples_per_mode=2)
    p = syn.make_problem(cfg)
    np.testing.assert_allclose(p.modes @ p.modes.T, np.eye(3), atol=1e-6)
    np.testing.assert_allclose(p.real_w, [0.25, 0.25, 0.15, 0.15, 0.1, 0.1], rtol=1e-6)
    assert np.abs(p.real_x - np.repeat(p.modes, 2, axis=0)).max() < 0.1
    lo, hi = cfg.norm_range()
    assert math.isclose(lo, 0.5 * 0.2 ** (1 / 3))
    assert math.isclose(hi, 1.5 * (6 * 0.5) ** (1 / 3))
    assert (cfg.m_g, cfg.m_d) == (6, 12)


def test_mode_mass_of_a_recovered_and_a_collapsed_generator():
    cfg = SyntheticConfig(dim=5, num_modes=2)
    u = syn.make_problem(cfg).modes.astype(np.float64)
    m_g = cfg.m_g  # 4 neurons, modes of mass 1/2 each
    # Equilibrium: two neurons per mode at norm (m_G p / 2)^(1/3) = 1.
    v = np.stack([u[0], u[0], u[1], u[1]])
    np.testing.assert_allclose(mode_mass(v, u), [1.0, 1.0], rtol=1e-6)
    # One neuron per mode at norm (m_G p)^(1/3), two spares pulled to -u_k.
    r = (m_g * 0.5) ** (1 / 3)
    v = np.stack([r * u[0], r * u[1], -u[0], -u[1]])
    np.testing.assert_allclose(mode_mass(v, u), [1.0, 1.0], rtol=1e-6)
    # All the generator's mass on mode 0: mode 1 carries none, mode 0 too much.
    v = np.stack([r * u[0]] * 4)
    np.testing.assert_allclose(mode_mass(v, u), [4.0, 0.0], rtol=1e-6)
    # Pointing at mode 1 near the origin carries almost no mass.
    v = np.stack([u[0], u[0], 0.1 * u[1], 0.1 * u[1]])
    assert mode_mass(v, u)[1] < 0.01
    assert np.isnan(mode_mass(np.full((4, 5), np.nan), u)).all()
    runs = np.stack([np.stack([r * u[0]] * 4), np.stack([u[0], u[0], u[1], u[1]])])
    batch = mode_mass(runs, u)
    np.testing.assert_allclose(batch, [[4.0, 0.0], [1.0, 1.0]], rtol=1e-6)


def _final_state(cfg, u, v, w=None, v0=None):
    v0 = np.full_like(v, 0.01) if v0 is None else v0
    w = np.ones((cfg.m_d, cfg.dim)) if w is None else w
    (res,) = syn._results(
        cfg,
        syn.make_problem(cfg),
        [SyntheticRun("sgda", 1.0, 1.0)],
        np.zeros((1, 2)),
        np.full((1, 2), 2.0),
        np.full((1, 2), 0.5),
        v0[None],
        v[None],
        w[None],
    )
    return res


def test_run_classification_on_hand_built_final_states():
    cfg = SyntheticConfig(dim=5, num_modes=2, steps=2, log_every=1)
    u = syn.make_problem(cfg).modes.astype(np.float64)
    recovered = _final_state(cfg, u, np.stack([u[0], u[0], u[1], u[1]]))
    assert recovered.outcome == "recovered" and recovered.success
    assert recovered.final_modes == 2 and recovered.pace_ratio() == [4.0, 4.0]
    r = (cfg.m_g * 0.5) ** (1 / 3)
    collapsed = _final_state(cfg, u, np.stack([r * u[0]] * 4))
    assert collapsed.outcome == "collapsed" and collapsed.final_modes == 0
    assert collapsed.mode_mass == [4.0, 0.0]
    # The generator stayed at its initial scale (0.05 per coordinate).
    v0 = np.full((cfg.m_g, cfg.dim), 0.05)
    stuck = _final_state(cfg, u, 1.5 * v0, v0=v0)
    assert stuck.outcome == "stuck" and not stuck.success
    diverged = _final_state(
        cfg,
        u,
        np.stack([u[0], u[0], u[1], u[1]]),
        w=np.full((cfg.m_d, cfg.dim), np.inf),
    )
    assert diverged.outcome == "diverged" and not diverged.finite
    assert syn.classify(cfg, np.array([1.0, 2.5]), 0.1, 1.0, True) == "collapsed"
    assert syn.classify(cfg, np.array([1.0, 2.0]), 0.1, 1.0, True) == "recovered"


def test_linear_decay():
    assert linear_decay(0.5, 0, 10) == 0.5
    assert math.isclose(linear_decay(0.5, 9, 10), 0.05)
    assert linear_decay(0.5, 12, 10) == 0.0
    sched = LinearDecay(0.5, 10)
    for t in (0, 3, 9, 15):
        np.testing.assert_allclose(float(sched(t)), linear_decay(0.5, t, 10), rtol=1e-6)
    assert LinearDecay.from_config(sched.get_config()).total_steps == 10


def _one_step_reference(cfg, lr, seed):
    p = syn.make_problem(cfg)
    init = syn.init_params(cfg, seed)
    v, w, a, b = (init[k].astype(np.float64) for k in "vwab")
    x, q = p.real_x.astype(np.float64), p.real_w.astype(np.float64)
    gw = _num_grad(lambda w_: _np_losses(v, w_, a, b, x, q, cfg.loss)[0], w)
    gb = _num_grad(lambda b_: _np_losses(v, w, a, b_, x, q, cfg.loss)[0], np.array(b))
    # Alternating: G steps against the updated D; simultaneous: against the old D.
    if cfg.update == "alternating":
        w1, b1 = w - lr * gw, b - lr * gb
    else:
        w1, b1 = w, b
    gv = _num_grad(lambda v_: _np_losses(v_, w1, a, b1, x, q, cfg.loss)[1], v)
    return np.sqrt(np.sum((lr * gw) ** 2) + (lr * gb) ** 2), np.linalg.norm(lr * gv)


def test_one_alternating_step_matches_numpy():
    cfg = SyntheticConfig(dim=4, num_modes=2, steps=1, log_every=1, init_std=0.5)
    lr = 0.05
    runs = [SyntheticRun("sgda", lr, lr, 0), SyntheticRun("nsgda", lr, lr, 0)]
    (sgd, nsgd), timing = train_synthetic(cfg, runs)
    d_ref, g_ref = _one_step_reference(cfg, lr, 0)
    np.testing.assert_allclose(sgd.d_step[0], d_ref, rtol=2e-3)
    np.testing.assert_allclose(sgd.g_step[0], g_ref, rtol=2e-3)
    # nSGDA moves each block (w, b; v) by exactly lr.
    np.testing.assert_allclose(nsgd.d_step[0], lr * math.sqrt(2), rtol=1e-4)
    np.testing.assert_allclose(nsgd.g_step[0], lr, rtol=1e-4)
    assert timing["backend"] == keras.backend.backend() and timing["steps_per_s"] > 0


def test_one_simultaneous_step_matches_numpy():
    cfg = SyntheticConfig(
        dim=4, num_modes=2, steps=1, log_every=1, init_std=0.5, update="simultaneous"
    )
    lr = 0.05
    (sgd,), _ = train_synthetic(cfg, [SyntheticRun("sgda", lr, lr, 0)])
    d_ref, g_ref = _one_step_reference(cfg, lr, 0)
    np.testing.assert_allclose(sgd.d_step[0], d_ref, rtol=2e-3)
    np.testing.assert_allclose(sgd.g_step[0], g_ref, rtol=2e-3)


def test_config_checks_its_arguments():
    assert syn.UPDATES is UPDATES  # one list of update rules, the GAN's
    with pytest.raises(
        ValueError,
        match=r"Argument `update` must be one of "
        r"\['alternating', 'simultaneous'\]; "
        r"received update='both'\.",
    ):
        SyntheticConfig(update="both")
    with pytest.raises(ValueError, match="Argument `loss` must be one of"):
        SyntheticConfig(loss="wasserstein")
    with pytest.raises(
        ValueError,
        match="Argument `log_every` must be a divisor of "
        "steps=10; received log_every=3.",
    ):
        SyntheticConfig(steps=10, log_every=3)
    with pytest.raises(TypeError, match="Argument `steps` must be an int >= 1"):
        SyntheticConfig(steps=10.0, log_every=5)
    with pytest.raises(ValueError, match="Argument `log_every` must be an int >= 1"):
        SyntheticConfig(steps=10, log_every=0)


def test_training_recovers_modes_and_logs():
    cfg = SyntheticConfig(dim=8, num_modes=2, steps=200, log_every=50)
    (res,), _ = train_synthetic(cfg, [SyntheticRun("nsgda", 0.1, 0.1, 0)])
    assert res.log_steps == [50, 100, 150, 200]
    assert len(res.modes_recovered) == 4 and len(res.d_step) == 4
    assert res.success and res.final_modes == 2 and res.outcome == "recovered"
    np.testing.assert_allclose(res.mode_mass, 1.0, atol=0.5)
    np.testing.assert_allclose(res.pace_ratio(), math.sqrt(2), rtol=1e-3)

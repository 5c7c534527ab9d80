"""Reliability of GAN training: mixed precision, non-finite losses, interruption.

* Mixed precision: under `mixed_float16` and `mixed_bfloat16` the GAN trains
  with every optimizer, both players get loss scaling under `mixed_float16`,
  and a few steps stay close to the float32 trajectory; a classifier trains
  with every optimizer under both policies.
* Non-finite losses stop `fit` with an error naming the player and the step,
  unless the player's optimizer skips non-finite steps (then they are counted).
* A run killed by SIGKILL and resumed with `keras.callbacks.BackupAndRestore`
  ends with the weights of an uninterrupted run (subprocesses).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_graft
from keras_graft import optimizers
from tests.gan.helpers import mlp_pair, ring_of_gaussians

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

OPTIMIZERS = {
    "adam": lambda: keras.optimizers.Adam(1e-3, beta_1=0.5),
    "ada_nsgda": lambda: optimizers.AdaNSGDA(1e-3, beta_1=0.5),
    "ada_dir": lambda: optimizers.AdaDir(1e-3, beta_1=0.5),
    "nsgda": lambda: optimizers.NSGDA(1e-3, momentum=0.5),
    "graft": lambda: optimizers.Graft(
        keras.optimizers.Adam(1e-3, beta_1=0.5), keras.optimizers.SGD(1e-2)
    ),
}

# Mixed precision vs float32 after STEPS steps: largest relative deviation
# ||w_mixed - w_32|| / ||w_32 - w_0|| over the weight tensors, i.e. relative to
# how far float32 training moved them. Forward and backward passes round to
# 2^-11 (float16) or 2^-8 (bfloat16) relative; the updates here are normalized
# (Adam-like or unit-norm directions), so a rounding error in a gradient changes
# an update by about as much relatively, and errors add up over the steps:
# STEPS * 2^-8 ~ 3% for bfloat16. Measured: see docs/reliability.md; the bounds
# below leave about 3x headroom over the largest deviation seen on any backend.
STEPS = 4
TOL = {"mixed_float16": 0.05, "mixed_bfloat16": 0.2}


def _weights(model):
    return [
        np.array(keras.ops.convert_to_numpy(v), dtype="float64")
        for v in model.trainable_weights
    ]


def _train_gan(policy, name, steps=STEPS, batch=32):
    keras.config.set_dtype_policy(policy)
    try:
        gan = keras_graft.GAN(*mlp_pair(seed=1), seed=3)
        start = _weights(gan.generator) + _weights(gan.discriminator)
        gan.compile(OPTIMIZERS[name](), OPTIMIZERS[name]())
        history = gan.fit(
            ring_of_gaussians(steps * batch),
            batch_size=batch,
            epochs=1,
            shuffle=False,
            verbose=0,
        )
        end = _weights(gan.generator) + _weights(gan.discriminator)
    finally:
        keras.config.set_dtype_policy("float32")
    return gan, start, end, history.history


def _relative_deviation(start, ref, other):
    flat = lambda ws: np.concatenate([w.ravel() for w in ws])  # noqa: E731
    s, r, o = flat(start), flat(ref), flat(other)
    return float(np.linalg.norm(o - r) / np.linalg.norm(r - s))


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_gan_mixed_precision_close_to_float32(name):
    _, start32, end32, _ = _train_gan("float32", name)
    deviations = {}
    for policy in ("mixed_float16", "mixed_bfloat16"):
        gan, start, end, logs = _train_gan(policy, name)
        compute = "float16" if policy == "mixed_float16" else "bfloat16"
        assert gan.discriminator.layers[1].compute_dtype == compute
        assert all(w.dtype == "float32" for w in gan.trainable_weights)
        for s, s32 in zip(start, start32):  # same initial weights
            np.testing.assert_array_equal(s, s32)
        assert all(np.all(np.isfinite(w)) for w in end), (policy, name)
        assert all(np.isfinite(v[-1]) for v in logs.values()), (policy, name, logs)
        for opt in (gan.d_optimizer, gan.g_optimizer):
            scaled = isinstance(opt, keras.optimizers.LossScaleOptimizer)
            assert scaled == (policy == "mixed_float16"), (policy, opt)
            inner = opt.inner_optimizer if scaled else opt
            assert int(keras.ops.convert_to_numpy(inner.iterations)) == STEPS
            if scaled:  # dynamic scale in use: no overflow, so still the initial 2^15
                assert float(keras.ops.convert_to_numpy(opt.dynamic_scale)) == 2.0**15
        deviations[policy] = _relative_deviation(start32, end32, end)
        print(
            f"MIXED {keras.backend.backend()} {name} {policy} {deviations[policy]:.4g}"
        )
    for policy, deviation in deviations.items():
        assert deviation < TOL[policy], (policy, name, deviation)


def test_both_players_losses_are_scaled():
    """Each player's gradient is taken of `scale_loss(loss)`: with a large
    scale the float16 gradients of a tiny loss survive (no underflow)."""
    keras.config.set_dtype_policy("mixed_float16")
    try:
        gan = keras_graft.GAN(*mlp_pair(seed=1), seed=3)
        d_opt = keras.optimizers.LossScaleOptimizer(
            keras.optimizers.SGD(1.0), initial_scale=2.0**15
        )
        g_opt = keras.optimizers.LossScaleOptimizer(
            keras.optimizers.SGD(1.0), initial_scale=2.0**15
        )
        seen = {}
        for player, opt in (("d", d_opt), ("g", g_opt)):
            orig = opt.scale_loss
            seen[player] = 0

            def spy(loss, orig=orig, player=player):
                seen[player] += 1
                return orig(loss)

            opt.scale_loss = spy
        # Traced once per player (jit); run_eagerly=True is not used because
        # LossScaleOptimizer fails eagerly on TensorFlow 2.21 (tf.cond over
        # variables: "'NoneType' object has no attribute 'is_set'").
        gan.compile(d_opt, g_opt)
        assert (
            gan.d_optimizer is d_opt and gan.g_optimizer is g_opt
        )  # not wrapped twice
        gan.fit(ring_of_gaussians(64), batch_size=32, epochs=1, verbose=0)
        assert seen["d"] >= 1 and seen["g"] >= 1, seen
        for opt in (d_opt, g_opt):
            assert int(keras.ops.convert_to_numpy(opt.inner_optimizer.iterations)) == 2
    finally:
        keras.config.set_dtype_policy("float32")


def test_auto_scale_loss_off_leaves_optimizers_alone():
    keras.config.set_dtype_policy("mixed_float16")
    try:
        gan = keras_graft.GAN(*mlp_pair(seed=1))
        gan.compile(
            keras.optimizers.Adam(), keras.optimizers.Adam(), auto_scale_loss=False
        )
        for opt in (gan.d_optimizer, gan.g_optimizer):
            assert not isinstance(opt, keras.optimizers.LossScaleOptimizer)
            assert isinstance(opt, keras.optimizers.Adam)
    finally:
        keras.config.set_dtype_policy("float32")


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_classifier_mixed_precision_every_optimizer(policy):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 8)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int32")
    keras.config.set_dtype_policy(policy)
    try:
        for name, make in OPTIMIZERS.items():
            keras.utils.set_random_seed(0)
            model = keras.Sequential(
                [
                    keras.Input((8,)),
                    keras.layers.Dense(16, activation="relu"),
                    keras.layers.Dense(2),
                ]
            )
            model.compile(
                make(),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            )
            history = model.fit(x, y, batch_size=32, epochs=2, verbose=0)
            losses = history.history["loss"]
            assert np.all(np.isfinite(losses)), (name, losses)
            assert losses[-1] < losses[0], (name, losses)
            assert all(np.all(np.isfinite(w)) for w in model.get_weights()), name
            scaled = isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
            assert scaled == (policy == "mixed_float16"), (name, model.optimizer)
    finally:
        keras.config.set_dtype_policy("float32")


# ------------------------------------------------------------------ non-finite


def _poisoned_ring(n=128, bad_from=64):
    """Ring data whose samples from `bad_from` on are NaN (batches of 32)."""
    x = ring_of_gaussians(n)
    x[bad_from:] = np.nan
    return x


@pytest.mark.parametrize("skipping", ["none", "discriminator", "both"])
def test_nonfinite_loss_stops_or_is_skipped(skipping):
    gan = keras_graft.GAN(*mlp_pair(seed=1), seed=0)
    d_opt = optimizers.AdaNSGDA(1e-3, skip_nonfinite=skipping != "none")
    g_opt = optimizers.AdaNSGDA(1e-3, skip_nonfinite=skipping == "both")
    gan.compile(d_opt, g_opt)
    data = _poisoned_ring()
    if skipping == "none":
        # NaN real samples: the discriminator loss is NaN at step 2 (batches of 32).
        # D's NaN weights then make G's loss NaN in the same step: both named.
        with pytest.raises(
            FloatingPointError, match=r"step 2 .*the discriminator loss"
        ):
            gan.fit(data, batch_size=32, epochs=2, shuffle=False, verbose=0)
        # Training stopped in the first epoch, at the bad step (steps 0, 1, 2
        # of the epoch's 4) or at the step after it, whose logs Keras was
        # reading on its worker thread (JAX, PyTorch) when the check raised.
        assert len(data) // 32 == 4
        assert int(keras.ops.convert_to_numpy(g_opt.iterations)) in (3, 4)
        assert int(keras.ops.convert_to_numpy(d_opt.iterations)) in (3, 4)
        # The model's variables hold the state of the step where fit stopped
        # (on JAX they are written back from the trainer's state).
        assert not all(np.all(np.isfinite(w)) for w in gan.discriminator.get_weights())
        return
    if skipping == "discriminator":
        # D skips (weights stay finite), so G's loss stays finite: no error;
        # D's skipped steps are counted.
        gan.fit(data, batch_size=32, epochs=1, shuffle=False, verbose=0)
        assert int(keras.ops.convert_to_numpy(d_opt.skipped_steps)) == 2
        assert int(keras.ops.convert_to_numpy(g_opt.iterations)) == 4
        assert all(np.all(np.isfinite(w)) for w in gan.get_weights())
        return
    gan.fit(data, batch_size=32, epochs=1, shuffle=False, verbose=0)
    assert int(keras.ops.convert_to_numpy(d_opt.skipped_steps)) == 2
    assert int(keras.ops.convert_to_numpy(g_opt.skipped_steps)) == 0


def test_nonfinite_generator_loss_names_the_generator():
    """Inf generator weights make both losses non-finite; D's optimizer skips,
    G's does not, so the error names the generator only."""
    gan = keras_graft.GAN(*mlp_pair(seed=1), seed=0)
    d_opt = optimizers.AdaNSGDA(1e-3, skip_nonfinite=True)
    gan.compile(d_opt, optimizers.NSGDA(1e-3), loss="hinge")
    w = gan.generator.layers[-1].kernel
    w.assign(np.full(w.shape, np.inf, dtype="float32"))
    with pytest.raises(
        FloatingPointError, match=r"step 0 .*the generator loss \(optimizer NSGDA"
    ) as err:
        gan.fit(ring_of_gaussians(64), batch_size=32, epochs=1, verbose=0)
    assert "discriminator loss" not in str(err.value)
    # Stopped after the bad step or, where Keras reads the logs on a worker
    # thread (JAX, PyTorch), at the latest at the end of the epoch's two.
    assert int(keras.ops.convert_to_numpy(d_opt.skipped_steps)) in (1, 2)


class _ReadsEveryStep(keras.callbacks.Callback):
    """A callback with its own batch end: Keras reads every step's logs in the
    training thread before calling it."""

    def __init__(self):
        super().__init__()
        self.steps = []

    def on_train_batch_end(self, batch, logs=None):
        assert not any(k.startswith("_gan") for k in logs), logs
        self.steps.append(batch)


@pytest.mark.parametrize("how", ["sync_callback", "callback_list", "spe2", "spe2_scan"])
def test_nonfinite_is_named_at_its_step_however_fit_reads_the_logs(how):
    """The flags stay on the device; the check raises where Keras reads the
    logs: with a synchronous callback right after the bad step, with
    `steps_per_execution=2` after the execution that holds it (also when the
    execution's steps run in one scan, `scan_steps=True`)."""
    gan = keras_graft.GAN(*mlp_pair(seed=1), seed=0)
    d_opt, g_opt = optimizers.AdaNSGDA(1e-3), optimizers.AdaNSGDA(1e-3)
    spe = 2 if how.startswith("spe2") and keras.backend.backend() != "torch" else 1
    gan.compile(d_opt, g_opt, steps_per_execution=spe, scan_steps=how.endswith("scan"))
    data = _poisoned_ring(n=192, bad_from=96)  # 6 batches; step 3 is bad
    callback = _ReadsEveryStep()
    callbacks = [callback]
    if how == "callback_list":
        callbacks = keras.callbacks.CallbackList([callback], model=gan)
    with pytest.raises(FloatingPointError, match=r"step 3 .*the discriminator loss"):
        gan.fit(
            data, batch_size=32, epochs=1, shuffle=False, verbose=0, callbacks=callbacks
        )
    # Keras read each step's logs in the training thread: no step after the
    # bad one (with spe=2: none after the execution of steps 2 and 3).
    assert int(keras.ops.convert_to_numpy(g_opt.iterations)) == 4
    assert callback.steps == ([0, 1, 2] if spe == 1 else [1])
    if how == "callback_list":
        assert callbacks.callbacks == [callback]  # the check was taken out again


def test_nonfinite_in_the_last_step_is_caught_at_the_epoch_end():
    gan = keras_graft.GAN(*mlp_pair(seed=1), seed=0)
    d_opt, g_opt = optimizers.AdaNSGDA(1e-3), optimizers.AdaNSGDA(1e-3)
    gan.compile(d_opt, g_opt)
    data = _poisoned_ring(n=128, bad_from=96)  # the epoch's last batch
    history = []
    logger = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: history.append(epoch)
    )
    with pytest.raises(FloatingPointError, match=r"step 3 .*the discriminator loss"):
        gan.fit(
            data, batch_size=32, epochs=3, shuffle=False, verbose=0, callbacks=[logger]
        )
    # Raised before any other callback saw the epoch end, and no second epoch.
    assert history == []
    assert int(keras.ops.convert_to_numpy(g_opt.iterations)) == 4


def test_nonfinite_train_on_batch_raises_on_the_bad_call():
    gan = keras_graft.GAN(*mlp_pair(seed=1), seed=0)
    gan.compile(optimizers.NSGDA(1e-3), optimizers.NSGDA(1e-3))
    good = ring_of_gaussians(32)
    logs = gan.train_on_batch(good, return_dict=True)
    assert not any(k.startswith("_gan") for k in logs), logs
    with pytest.raises(FloatingPointError, match=r"step 1 .*the discriminator loss"):
        gan.train_on_batch(np.full_like(good, np.nan))


def test_finite_run_logs_no_flags():
    gan = keras_graft.GAN(*mlp_pair(seed=1), seed=0)
    spe = 1 if keras.backend.backend() == "torch" else 2  # torch allows only 1
    gan.compile(
        keras.optimizers.Adam(), keras.optimizers.Adam(), steps_per_execution=spe
    )
    history = gan.fit(ring_of_gaussians(128), batch_size=32, epochs=1, verbose=0)
    assert not any(k.startswith("_gan") for k in history.history), history.history


@pytest.mark.parametrize(
    "case",
    ["finite", "huge", "nan", "inf", "-inf", "nan_in_scalar", "float16_inf", "empty"],
)
def test_backend_finite_check_matches_keras_ops(case):
    # The backend's check (fused on torch) against one isfinite per tensor.
    from keras_graft.gan import _nonfinite
    from keras_graft.gan._backend import common
    from keras_graft.gan.model import gan_backend

    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype("float32") for s in ((3, 4), (5,), ())]
    if case == "huge":
        arrays[0][1, 2] = 3e38  # finite; its square would overflow
    elif case == "nan":
        arrays[1][3] = np.nan
    elif case == "inf":
        arrays[0][0, 0] = np.inf
    elif case == "-inf":
        arrays[1][0] = -np.inf
    elif case == "nan_in_scalar":
        arrays[2] = np.array(np.nan, "float32")
    elif case == "float16_inf":
        arrays.append(np.array([1.0, np.inf], "float16"))
    elif case == "empty":
        arrays.append(np.zeros((0, 3), "float32"))
    tensors = [keras.ops.convert_to_tensor(a) for a in arrays]
    expected = all(np.isfinite(a).all() for a in arrays)
    assert bool(keras.ops.convert_to_numpy(gan_backend.all_finite(tensors))) is expected
    assert bool(keras.ops.convert_to_numpy(common.all_finite(tensors))) is expected
    # Scalars alone (a player's losses; read one by one on torch's host path).
    scalars = [tensors[2], keras.ops.convert_to_tensor(np.float32(1.5))]
    got = bool(keras.ops.convert_to_numpy(gan_backend.all_finite(scalars)))
    assert got is bool(np.isfinite(arrays[2]))
    # The step's flag: a loss and the gradients, a Python bool or a tensor.
    bad = _nonfinite.any_nonfinite(tensors[-1:], tensors[:-1])
    assert bool(keras.ops.convert_to_numpy(bad)) is not expected
    # With the gradients' norm, as the step passes it when it logs the pace:
    # the same answer. On torch's host path the norm is a Python float; a
    # finite one answers for the gradients ("nan_in_scalar": the loss is still
    # checked), a non-finite one ("huge": an overflow; "nan", "inf") leaves
    # the gradients to the exact check.
    norm = gan_backend.global_norm(tensors[:-1])
    with_norm = _nonfinite.any_nonfinite(tensors[-1:], tensors[:-1], norm)
    assert bool(keras.ops.convert_to_numpy(with_norm)) is not expected
    for earlier in (False, True, keras.ops.convert_to_tensor(False)):
        either = _nonfinite.either(earlier, bad)
        got = bool(keras.ops.convert_to_numpy(either))
        assert got is (bool(keras.ops.convert_to_numpy(earlier)) or not expected)


# ------------------------------------------------------------------ interruption


_SCRIPT = r"""
import json, os, signal, sys
import keras
import numpy as np
import keras_graft
from tests.gan.helpers import mlp_pair, ring_of_gaussians

backup, out, kill_after = sys.argv[1], sys.argv[2], int(sys.argv[3])
epochs_run = []


class Record(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        epochs_run.append(epoch)


class Kill(keras.callbacks.Callback):
    # Runs after BackupAndRestore (callbacks run in list order): the backup of
    # this epoch is on disk when the process dies.
    def on_epoch_end(self, epoch, logs=None):
        if epoch == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)


gan = keras_graft.GAN(*mlp_pair(seed=1), seed=5)
gan.compile(keras_graft.optimizers.AdaNSGDA(1e-3), keras.optimizers.Adam(1e-3))
gan.fit(ring_of_gaussians(128), batch_size=32, epochs=6, shuffle=False, verbose=0,
        callbacks=[Record(), keras.callbacks.BackupAndRestore(backup), Kill()])
with open(out, "w") as f:
    json.dump({
        "epochs_run": epochs_run,
        "iterations": int(keras.ops.convert_to_numpy(gan.optimizer.iterations)),
        "weights": [np.asarray(w).tolist() for w in gan.get_weights()],
    }, f)
"""


def _run_script(tmp_path, *args):
    script = tmp_path / "interrupted_run.py"
    script.write_text(_SCRIPT)
    env = dict(
        os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")
    )
    return subprocess.run(
        [sys.executable, str(script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )


# A real SIGKILL mid-run, the backup read back by a new process: what is
# tested is the file-level resume, which Keras writes the same way on every
# backend; PyTorch's eager steps make it the cheapest (40-70 s on the others).
# Resuming from a backup on each backend: test_reproducibility.py.
@pytest.mark.backend("torch")
def test_sigkill_and_backup_and_restore_resume_matches_uninterrupted(
    tmp_path, monkeypatch
):
    backup = str(tmp_path / "backup")
    killed = _run_script(tmp_path, backup, str(tmp_path / "killed.json"), "2")
    assert killed.returncode == -9, (killed.returncode, killed.stderr[-3000:])
    assert not (tmp_path / "killed.json").exists()
    assert os.path.isdir(backup)
    resumed = _run_script(tmp_path, backup, str(tmp_path / "resumed.json"), "-1")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    # The uninterrupted run in this process (the same script; one process
    # start less, 10-20 s of the suite on each backend).
    argv = [str(tmp_path / "straight.py")]
    argv += [str(tmp_path / "other_backup"), str(tmp_path / "straight.json"), "-1"]
    monkeypatch.setattr(sys, "argv", argv)
    exec(compile(_SCRIPT, argv[0], "exec"), {"__name__": "__straight__"})
    r = json.loads((tmp_path / "resumed.json").read_text())
    s = json.loads((tmp_path / "straight.json").read_text())
    # The resumed run really started from the backup (epochs 3.. only).
    assert r["epochs_run"] == [3, 4, 5], r["epochs_run"]
    assert s["epochs_run"] == [0, 1, 2, 3, 4, 5]
    assert r["iterations"] == s["iterations"] == 24
    diff = max(
        float(np.max(np.abs(np.array(a) - np.array(b))))
        for a, b in zip(r["weights"], s["weights"])
    )
    print(f"INTERRUPT {keras.backend.backend()} max_abs_diff={diff:.3g}")
    assert diff <= 1e-5, diff


def test_keras_file_stores_each_optimizer_state_once(tmp_path):
    """The optimizer container saves nothing of its own: each player's
    optimizer state is stored once (it was stored twice: 89,898 bytes and 69
    arrays for this model before, 73,986 and 41 after)."""
    import zipfile

    import h5py

    gan = keras_graft.GAN(*mlp_pair(seed=1), seed=0)
    d_opt, g_opt = keras.optimizers.Adam(1e-3), optimizers.AdaNSGDA(1e-3)
    gan.compile(d_opt, g_opt)
    gan.fit(ring_of_gaussians(64), batch_size=32, epochs=1, verbose=0)
    path = str(tmp_path / "gan.keras")
    gan.save(path)
    arrays = []
    with zipfile.ZipFile(path) as archive, archive.open("model.weights.h5") as f:
        h5py.File(f, "r").visititems(
            lambda name, obj: (
                arrays.append(name) if isinstance(obj, h5py.Dataset) else None
            )
        )
    optimizer_arrays = [
        a for a in arrays if a.split("/")[0] in ("d_optimizer", "g_optimizer")
    ]
    assert len(optimizer_arrays) == len(d_opt.variables) + len(g_opt.variables)
    model_arrays = (
        len(gan.generator.weights) + len(gan.discriminator.weights) + 1
    )  # + seed
    assert len(arrays) == len(optimizer_arrays) + model_arrays, arrays
    loaded = keras.saving.load_model(path)
    for a, b in zip(gan.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b)
        )

"""The GAN step's backend pieces against numpy and Keras: latents, logged
values, non-finite flags. On PyTorch these are fused paths of their own (fewer
host calls per step); elsewhere the `keras.ops` versions in `common.py`."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from keras_graft.gan import _nonfinite
from keras_graft.gan._trackers import LastValue, ScalarMean
from keras_graft.gan.model import gan_backend

# The dtype of `optimizer.iterations` (the step the GAN passes): int64, but
# int32 on JAX without x64 (which would warn on int64 and truncate).
STEP_DTYPE = "int32" if keras.backend.backend() == "jax" else "int64"


def _np(x):
    return keras.ops.convert_to_numpy(x)


@pytest.mark.parametrize("shape", [(4, 3), (2, 5, 2)])
def test_latents_equal_keras_random_normal(shape):
    # The same numbers and the same seed state as keras.random.normal, draw
    # after draw.
    ours, keras_own = keras.random.SeedGenerator(7), keras.random.SeedGenerator(7)
    for _ in range(3):
        z = gan_backend.normal(shape, ours)
        expected = keras.random.normal(shape, seed=keras_own)
        np.testing.assert_array_equal(_np(z), _np(expected))
        assert tuple(z.shape) == shape
        assert keras.backend.standardize_dtype(z.dtype) == keras.config.floatx()
        np.testing.assert_array_equal(_np(ours.state), _np(keras_own.state))
    # An int seed draws as Keras does and leaves nothing to advance.
    np.testing.assert_array_equal(
        _np(gan_backend.normal(shape, 3)), _np(keras.random.normal(shape, seed=3))
    )


def test_latents_differ_between_draws():
    seed = keras.random.SeedGenerator(0)
    a, b = _np(gan_backend.normal((8, 4), seed)), _np(gan_backend.normal((8, 4), seed))
    assert not np.allclose(a, b)
    assert abs(a.mean()) < 1.0 and 0.3 < a.std() < 2.0


def test_logged_values_are_running_means_and_last_values():
    rng = np.random.default_rng(0)
    trackers = [ScalarMean("a"), LastValue("p"), ScalarMean("b"), LastValue("q")]
    steps = [
        {name: np.float32(rng.standard_normal()) for name in "apbq"} for _ in range(5)
    ]
    for k, values in enumerate(steps, start=1):
        tensors = {n: keras.ops.convert_to_tensor(v) for n, v in values.items()}
        logs = gan_backend.log_values(trackers, tensors)
        assert list(logs) == ["a", "p", "b", "q"]
        for name in "ab":
            mean = np.mean([s[name] for s in steps[:k]], dtype=np.float64)
            np.testing.assert_allclose(_np(logs[name]), mean, rtol=1e-6)
        for name in "pq":
            np.testing.assert_array_equal(_np(logs[name]), values[name])
    last = _np(logs["p"])
    for t in trackers:  # the logs are not the metrics' variables
        t.reset_state()
    np.testing.assert_array_equal(_np(logs["p"]), last)
    assert float(_np(trackers[0].result())) == 0.0


def test_logged_values_take_16_bit_and_python_values():
    trackers = [ScalarMean("a"), LastValue("p")]
    logs = gan_backend.log_values(
        trackers, {"a": keras.ops.convert_to_tensor(1.5, "float16"), "p": 2.0}
    )
    np.testing.assert_allclose(_np(logs["a"]), 1.5)
    np.testing.assert_allclose(_np(logs["p"]), 2.0)
    # A float32 tensor, or a Python float where the backend read it on the
    # host (torch on a CPU).
    a = logs["a"]
    assert isinstance(a, float) or keras.backend.standardize_dtype(a.dtype) == "float32"
    assert keras.backend.standardize_dtype(trackers[0].total.dtype) == "float32"


@pytest.mark.parametrize("as_tensors", [True, False])
def test_nonfinite_flags_keep_the_first_bad_step(as_tensors):
    # (d_bad, g_bad) per step, and the expected (code, first bad step) after
    # it; the flags as bool tensors, or as Python bools (`any_nonfinite` on
    # torch's host path).
    flags = _nonfinite.NonFiniteFlags()
    flag = keras.ops.convert_to_tensor if as_tensors else bool
    sequence = [
        (False, False, 0, 0),
        (False, True, 2, 1),
        (True, False, 3, 1),
        (False, False, 3, 1),
    ]
    for step, (d_bad, g_bad, code, first) in enumerate(sequence):
        logs = gan_backend.record_nonfinite(
            flags,
            flag(d_bad),
            flag(g_bad),
            keras.ops.convert_to_tensor(step, STEP_DTYPE),
        )
        assert set(logs) == {_nonfinite.CODE, _nonfinite.STEP}
        assert float(_np(logs[_nonfinite.CODE])) == code
        assert float(_np(logs[_nonfinite.STEP])) == first
    flags.reset_state()
    assert float(_np(logs[_nonfinite.CODE])) == 3  # the logs are copies
    assert float(_np(flags.result())) == 0.0


@pytest.mark.parametrize("case", ["moved", "g_still", "d_from_zero", "float16"])
def test_pace_logs_against_numpy(case):
    # float32 (on torch's host path: flat copies) and float16 variables.
    rng = np.random.default_rng(1)
    dtype = "float16" if case == "float16" else "float32"
    shapes_d, shapes_g = [(3, 2), (2,)], [(4,), (2, 2), ()]
    d = [keras.Variable(rng.standard_normal(s), dtype=dtype) for s in shapes_d]
    g = [keras.Variable(rng.standard_normal(s), dtype=dtype) for s in shapes_g]
    if case == "d_from_zero":
        for v in d:
            v.assign(np.zeros(v.shape, "float32"))
    before = gan_backend.snapshot(d + g)
    old = [_np(v) for v in d + g]
    for v in d + (g if case != "g_still" else []):
        v.assign(_np(v) + 0.1 * rng.standard_normal(v.shape).astype(dtype))
    new = [_np(v).astype("float64") for v in d + g]
    old = [o.astype("float64") for o in old]

    def pace(i, j):
        upd = sum(np.sum((new[k] - old[k]) ** 2, dtype=np.float64) for k in range(i, j))
        size = sum(np.sum(old[k] ** 2, dtype=np.float64) for k in range(i, j))
        return np.sqrt(upd) / np.sqrt(size) if size > 0 else 0.0

    logs = gan_backend.pace_logs(before, d, g, 1e-30)
    d_pace, g_pace = pace(0, 2), pace(2, 5)
    rtol = 1e-3 if case == "float16" else 1e-5
    np.testing.assert_allclose(_np(logs["d_pace"]), d_pace, rtol=rtol)
    np.testing.assert_allclose(_np(logs["g_pace"]), g_pace, rtol=rtol)
    ratio = d_pace / g_pace if g_pace > 0 else 0.0
    np.testing.assert_allclose(_np(logs["pace_ratio"]), ratio, rtol=rtol)
    assert (case == "g_still") == (float(_np(logs["g_pace"])) == 0.0)
    assert (case == "d_from_zero") == (float(_np(logs["d_pace"])) == 0.0)


def test_nonfinite_flags_take_false_for_an_unchecked_player():
    flags = _nonfinite.NonFiniteFlags()
    for step, g_bad in enumerate([False, True]):
        logs = gan_backend.record_nonfinite(
            flags,
            False,
            keras.ops.convert_to_tensor(g_bad),
            keras.ops.convert_to_tensor(step + 4, STEP_DTYPE),
        )
    assert float(_np(logs[_nonfinite.CODE])) == 2  # the generator only
    assert float(_np(logs[_nonfinite.STEP])) == 5


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_global_norm_against_numpy(dtype):
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal(s).astype(dtype) for s in ((3, 4), (5,), ())]
    norm = gan_backend.global_norm([keras.ops.convert_to_tensor(a) for a in arrays])
    expected = np.sqrt(sum(np.sum(a.astype("float64") ** 2) for a in arrays))
    np.testing.assert_allclose(float(_np(norm)), expected, rtol=1e-6)

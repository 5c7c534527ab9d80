"""Property-based bad input: only ValueError/TypeError naming the argument.

For every constructor argument of GAN, AdaNSGDA, AdaDir, NSGDA and Graft and
every GAN.compile argument, hypothesis draws values of the wrong type, negative,
NaN or infinite numbers, unknown strings and None; each must raise ValueError
or TypeError whose message names the argument (never silent acceptance, never
an error from deep inside a backend).
"""

from __future__ import annotations

import math

import keras
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import keras_graft
from keras_graft import optimizers
from tests.gan.helpers import mlp_pair

SETTINGS = settings(max_examples=20, deadline=None, derandomize=True)

nonsense = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-10, -1),
    st.lists(st.integers(), max_size=2),
    st.builds(object),
)


def _real(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# Values that are valid for the argument and must therefore not be drawn.
VALID = {
    "penalty_weight": lambda v: (
        isinstance(v, (int, float))
        and not isinstance(v, bool)
        and math.isfinite(v)
        and v >= 0
    ),
    "generator_ema": lambda v: (
        v is None
        or (isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < 1)
    ),
    "gradient_penalty": lambda v: v is None or v in ("wgan_gp", "r1"),
    "loss": lambda v: (
        v in ("non_saturating", "minimax", "hinge", "wasserstein", "least_squares")
    ),
    "update": lambda v: v in ("alternating", "simultaneous"),
    "d_optimizer": lambda v: (
        isinstance(v, str) and v.lower() in ("adam", "sgd", "rmsprop")
    ),
    "g_optimizer": lambda v: (
        isinstance(v, str) and v.lower() in ("adam", "sgd", "rmsprop")
    ),
    "jit_compile": lambda v: isinstance(v, bool) or v == "auto",
    "latent_dim": lambda v: v is None or v == 4 or v == [4],
    "seed": lambda v: (
        v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 0)
    ),
    # The test's players are unconditional: any class count is refused for them.
    "num_classes": lambda v: v is None,
    "granularity": lambda v: v in ("variable", "layer", "global"),
    "scale": lambda v: isinstance(v, str) and v in ("constant",),
    "learning_rate": lambda v: _real(v) and math.isfinite(v) and v >= 0,
    "beta_1": lambda v: _real(v) and 0 <= v < 1,
    "beta_2": lambda v: _real(v) and 0 <= v < 1,
    "momentum": lambda v: _real(v) and 0 <= v < 1,
    "epsilon": lambda v: _real(v) and math.isfinite(v) and v > 0,
}
for _flag in (
    "track_pace",
    "run_eagerly",
    "scan_steps",
    "auto_scale_loss",
    "skip_nonfinite",
    "nesterov",
):
    VALID[_flag] = lambda v: isinstance(v, bool)


def _check(fn, arg, value):
    if VALID.get(arg, lambda v: False)(value):
        return
    with pytest.raises((ValueError, TypeError)) as err:
        fn()
    assert arg in str(err.value), (arg, value, str(err.value))


COMPILE_ARGS = [
    "d_optimizer",
    "g_optimizer",
    "loss",
    "gradient_penalty",
    "penalty_weight",
    "d_steps",
    "update",
    "generator_ema",
    "track_pace",
    "jit_compile",
    "steps_per_execution",
    "run_eagerly",
    "auto_scale_loss",
    "scan_steps",
]


@pytest.mark.parametrize("arg", COMPILE_ARGS)
@SETTINGS
@given(value=nonsense)
def test_gan_compile_rejects_nonsense(arg, value):
    gan = keras_graft.GAN(*mlp_pair())
    kwargs = {
        "d_optimizer": keras.optimizers.Adam(),
        "g_optimizer": keras.optimizers.Adam(),
    }
    kwargs[arg] = value
    _check(lambda: gan.compile(**kwargs), arg, value)


@pytest.mark.parametrize("arg", ["latent_dim", "seed", "num_classes"])
@SETTINGS
@given(value=nonsense)
def test_gan_constructor_rejects_nonsense(arg, value):
    g, d = mlp_pair()
    _check(lambda: keras_graft.GAN(g, d, **{arg: value}), arg, value)


@pytest.mark.parametrize("arg", ["generator", "discriminator"])
@SETTINGS
@given(value=nonsense)
def test_gan_models_reject_nonsense(arg, value):
    g, d = mlp_pair()
    models = {"generator": g, "discriminator": d}
    models[arg] = value
    _check(lambda: keras_graft.GAN(**models), arg, value)


OPTIMIZER_ARGS = {
    optimizers.AdaNSGDA: [
        "learning_rate",
        "beta_1",
        "beta_2",
        "epsilon",
        "granularity",
        "skip_nonfinite",
    ],
    optimizers.AdaDir: [
        "learning_rate",
        "beta_1",
        "beta_2",
        "epsilon",
        "granularity",
        "skip_nonfinite",
    ],
    optimizers.NSGDA: [
        "learning_rate",
        "momentum",
        "nesterov",
        "scale",
        "granularity",
        "skip_nonfinite",
    ],
}


@pytest.mark.parametrize(
    "cls,arg",
    [(cls, arg) for cls, args in OPTIMIZER_ARGS.items() for arg in args],
    ids=lambda x: getattr(x, "__name__", x),
)
@SETTINGS
@given(value=nonsense)
def test_optimizer_constructor_rejects_nonsense(cls, arg, value):
    _check(lambda: cls(**{arg: value}), arg, value)


@pytest.mark.parametrize(
    "arg", ["magnitude", "direction", "granularity", "learning_rate", "skip_nonfinite"]
)
@SETTINGS
@given(value=nonsense)
def test_graft_constructor_rejects_nonsense(arg, value):
    kwargs = {"magnitude": keras.optimizers.Adam(), "direction": keras.optimizers.SGD()}
    kwargs[arg] = value
    if (
        arg in ("magnitude", "direction")
        and isinstance(value, str)
        and value.lower()
        in (
            "adam",
            "sgd",
            "rmsprop",
            "adagrad",
            "adamw",
            "nadam",
            "adamax",
            "lion",
            "ftrl",
            "adadelta",
            "lamb",
            "muon",
            "adafactor",
        )
    ):
        return
    if arg == "learning_rate" and value is None:  # documented: the magnitude's rate
        return
    _check(lambda: optimizers.Graft(**kwargs), arg, value)

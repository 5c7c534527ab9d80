"""Bad inputs fail before training with errors that name the argument."""

import keras
import numpy as np
import pytest

import keras_graft
from tests.gan.helpers import mlp, mlp_pair, ring_of_gaussians


def gan():
    return keras_graft.GAN(*mlp_pair())


def test_same_optimizer_instance():
    opt = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="`d_optimizer` and `g_optimizer` must be two"):
        gan().compile(d_optimizer=opt, g_optimizer=opt)


def test_not_an_optimizer():
    with pytest.raises(TypeError, match="g_optimizer"):
        gan().compile(keras.optimizers.Adam(), g_optimizer=object())


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(loss="bce"), r"`loss` must be one of .*'hinge'.*; received loss='bce'"),
        (
            dict(gradient_penalty="gp"),
            r"`gradient_penalty` must be one of .*'r1'.*gradient_penalty='gp'",
        ),
        (
            dict(update="parallel"),
            r"`update` must be one of .*'simultaneous'.*update='parallel'",
        ),
        (dict(d_steps=0), r"`d_steps` must be an int >= 1; received d_steps=0"),
        (dict(generator_ema=1.5), r"`generator_ema` must be a float in \[0, 1\)"),
    ],
)
def test_bad_compile_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gan().compile(keras.optimizers.Adam(), keras.optimizers.Adam(), **kwargs)


def test_d_steps_type():
    with pytest.raises(
        TypeError, match=r"`d_steps` must be an int >= 1; received d_steps=1.5"
    ):
        gan().compile(keras.optimizers.Adam(), keras.optimizers.Adam(), d_steps=1.5)


@pytest.mark.parametrize("value, error", [("yes", ValueError), (1, TypeError)])
def test_jit_compile_kind(value, error):
    with pytest.raises(
        error,
        match=r"`jit_compile` must be True, False or 'auto'; received jit_compile=",
    ):
        gan().compile(
            keras.optimizers.Adam(), keras.optimizers.Adam(), jit_compile=value
        )


@pytest.mark.parametrize("num, error", [(0, ValueError), (2.5, TypeError)])
def test_generate_num(num, error):
    with pytest.raises(error, match=rf"`num` must be an int >= 1; received num={num}"):
        gan().generate(num=num)


def test_generator_output_vs_discriminator_input():
    with pytest.raises(ValueError, match=r"generator output shape \(3,\).*\(2,\)"):
        keras_graft.GAN(mlp(4, 3, "g"), mlp(2, 1, "d"))


def test_latent_dim_mismatch():
    with pytest.raises(ValueError, match="latent_dim=5"):
        keras_graft.GAN(*mlp_pair(), latent_dim=5)


def test_subclassed_model_without_input():
    class Net(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match="declares no input.*pass latent_dim"):
        keras_graft.GAN(Net(), mlp(2, 1, "d"))


def test_data_vs_discriminator_input():
    model = keras_graft.GAN(mlp(4, 3, "g"), mlp(3, 1, "d"))
    model.compile(keras.optimizers.Adam(), keras.optimizers.Adam())
    with pytest.raises(ValueError, match=r"data's sample shape \(2,\).*\(3,\)"):
        model.fit(ring_of_gaussians(64), batch_size=32, epochs=1, verbose=0)


def test_fit_before_compile():
    with pytest.raises(RuntimeError, match="compile"):
        gan().fit(np.zeros((8, 2), "float32"), verbose=0)

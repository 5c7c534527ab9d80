"""Bad input raises ValueError/TypeError naming the argument, before anything is
built, in the message style of `keras_graft._validation`."""

import keras
import pytest

from keras_graft import optimizers


def _loss_scaled_adam():
    return keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam())


@pytest.mark.parametrize(
    "make, error, words",
    [
        (
            lambda: optimizers.AdaNSGDA(granularity="block"),
            ValueError,
            ["granularity", "layer"],
        ),
        (lambda: optimizers.NSGDA(granularity=None), ValueError, ["granularity"]),
        (lambda: optimizers.AdaNSGDA(-1e-3), ValueError, ["learning_rate", ">= 0"]),
        (lambda: optimizers.NSGDA(float("nan")), ValueError, ["learning_rate"]),
        (lambda: optimizers.AdaDir("fast"), TypeError, ["learning_rate"]),
        (lambda: optimizers.AdaNSGDA(beta_1=1.0), ValueError, ["beta_1", "[0, 1)"]),
        (lambda: optimizers.AdaDir(beta_2=-0.1), ValueError, ["beta_2"]),
        (lambda: optimizers.AdaNSGDA(epsilon=0.0), ValueError, ["epsilon", "> 0"]),
        (lambda: optimizers.NSGDA(momentum=1.5), ValueError, ["momentum"]),
        (lambda: optimizers.NSGDA(scale="adam"), ValueError, ["scale", "sqrt_size"]),
        (lambda: optimizers.NSGDA(nesterov="yes"), TypeError, ["nesterov"]),
        (
            lambda: optimizers.Graft(object(), "sgd"),
            TypeError,
            ["magnitude", "Optimizer"],
        ),
        (lambda: optimizers.Graft("adam", 3), TypeError, ["direction"]),
        (
            lambda: optimizers.Graft("not_an_optimizer", "sgd"),
            ValueError,
            ["magnitude"],
        ),
        (
            lambda: optimizers.Graft(_loss_scaled_adam(), "sgd"),
            ValueError,
            ["magnitude", "cannot be grafted"],
        ),
        (
            lambda: optimizers.Graft("adam", optimizers.NSGDA()),
            ValueError,
            ["direction", "cannot be grafted"],
        ),
        (
            lambda: optimizers.Graft(keras.optimizers.Adam(clipnorm=1.0), "sgd"),
            ValueError,
            ["magnitude", "clipnorm"],
        ),
        (
            lambda: optimizers.Graft("adam", keras.optimizers.SGD(use_ema=True)),
            ValueError,
            ["direction", "use_ema"],
        ),
        (
            lambda: optimizers.Graft("adam", "sgd", granularity="row"),
            ValueError,
            ["granularity"],
        ),
        (
            lambda: optimizers.Graft("adam", "sgd", learning_rate=-1.0),
            ValueError,
            ["learning_rate"],
        ),
    ],
)
def test_bad_arguments(make, error, words):
    with pytest.raises(error) as info:
        make()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


@pytest.mark.parametrize(
    "cls, name, value",
    [
        (optimizers.AdaNSGDA, "learning_rate", -1.0),
        (optimizers.AdaDir, "learning_rate", "fast"),
        (optimizers.NSGDA, "learning_rate", True),
        (optimizers.AdaNSGDA, "beta_1", 1.0),
        (optimizers.AdaDir, "beta_2", "0.9"),
        (optimizers.AdaNSGDA, "epsilon", float("inf")),
        (optimizers.NSGDA, "momentum", -0.5),
        (optimizers.NSGDA, "nesterov", 1),
        (optimizers.NSGDA, "scale", "adam"),
        (optimizers.AdaDir, "granularity", "row"),
        (optimizers.AdaNSGDA, "skip_nonfinite", "no"),
    ],
)
def test_messages_follow_the_package_style(cls, name, value):
    # "Argument `x` must be ...; received x=...", as keras_graft._validation.
    with pytest.raises((TypeError, ValueError)) as info:
        cls(**{name: value})
    message = str(info.value)
    assert message.startswith(f"Argument `{name}` must be "), message
    assert message.endswith(f"; received {name}={value!r}."), message


def test_same_instance_as_both_children():
    adam = keras.optimizers.Adam()
    with pytest.raises(
        ValueError, match="`magnitude` and `direction` must be two different"
    ):
        optimizers.Graft(adam, adam)


def test_already_built_child():
    sgd = keras.optimizers.SGD()
    sgd.build([keras.Variable([1.0, 2.0])])
    with pytest.raises(ValueError, match="`direction`.*already built"):
        optimizers.Graft("adam", sgd)


def test_a_child_that_does_not_write_its_variable_is_reported():
    class Silent(keras.optimizers.Optimizer):
        def update_step(self, gradient, variable, learning_rate):
            pass

    graft = optimizers.Graft(Silent(0.1), "sgd")
    variable = keras.Variable([1.0, 2.0])
    with pytest.raises(ValueError, match="Silent cannot be grafted"):
        graft.apply([keras.ops.ones((2,))], [variable])


def test_multi_step_optimizers_cannot_be_grafted():
    class Whole(keras.optimizers.SGD):
        def _backend_update_step(self, grads, trainable_variables, learning_rate):
            super()._backend_update_step(grads, trainable_variables, learning_rate)

    with pytest.raises(ValueError, match="`magnitude` cannot be grafted"):
        optimizers.Graft(Whole(), "sgd")

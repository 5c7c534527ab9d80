"""Graft: an optimizer grafted onto itself is that optimizer; children are checked."""

import keras
import numpy as np
import pytest

from keras_graft import optimizers
from tests.optimizers.helpers import gradient_sequence, run, two_layer_model
from tests.optimizers.np_reference import relative_error

SUPPORTED = {
    "sgd": lambda: keras.optimizers.SGD(0.05),
    "sgd_momentum": lambda: keras.optimizers.SGD(0.05, momentum=0.9),
    "sgd_nesterov": lambda: keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    "adam": lambda: keras.optimizers.Adam(0.01),
    "adam_amsgrad": lambda: keras.optimizers.Adam(0.01, amsgrad=True),
    "adamw": lambda: keras.optimizers.AdamW(0.01, weight_decay=0.1),
    "rmsprop": lambda: keras.optimizers.RMSprop(0.01),
    "rmsprop_centered_momentum": lambda: keras.optimizers.RMSprop(
        0.01, momentum=0.5, centered=True
    ),
    "adagrad": lambda: keras.optimizers.Adagrad(0.05),
    "adamax": lambda: keras.optimizers.Adamax(0.01),
    "nadam": lambda: keras.optimizers.Nadam(0.01),
    "lion": lambda: keras.optimizers.Lion(0.003),
}


@pytest.mark.parametrize("name", sorted(SUPPORTED))
def test_graft_onto_itself_is_the_optimizer(name, granularity="global"):
    # "global": every variable's step enters one norm, the hardest case for
    # the ratio of equal norms to stay 1.
    make = SUPPORTED[name]
    _, graft_vars = two_layer_model(seed=0)
    _, plain_vars = two_layer_model(seed=0)

    _, builtin_vars = two_layer_model(seed=0)
    grads = gradient_sequence(graft_vars, steps=20, seed=2)

    grafted = run(
        optimizers.Graft(make(), make(), granularity=granularity), graft_vars, grads
    )
    # Keras's per-variable algorithm: a subclass runs `update_step` on every
    # backend (on torch the built-in class itself takes a fused path).
    reference = make()
    public_class = getattr(keras.optimizers, type(reference).__name__)
    generic = type(f"PerVariable{public_class.__name__}", (public_class,), {})
    plain = run(generic.from_config(reference.get_config()), plain_vars, grads)
    builtin = run(make(), builtin_vars, grads)

    for step in (0, 19):
        assert relative_error(grafted[step], plain[step]) <= 1e-6, f"step {step + 1}"
    # Against the built-in class (fused on torch: Keras's own fused Nadam
    # differs from its per-variable Nadam by about 3e-6 after 20 steps).
    assert relative_error(grafted[-1], builtin[-1]) <= 1e-5


def test_graft_of_adam_and_sgd_is_ada_nsgda():
    _, a_vars = two_layer_model(seed=1)
    _, b_vars = two_layer_model(seed=1)
    grads = gradient_sequence(a_vars, steps=10, seed=3)
    grafted = run(
        optimizers.Graft(keras.optimizers.Adam(0.02), keras.optimizers.SGD(123.0)),
        a_vars,
        grads,
    )
    direct = run(optimizers.AdaNSGDA(0.02), b_vars, grads)
    assert relative_error(grafted[-1], direct[-1]) <= 1e-6


def test_graft_of_sgd_and_adam_is_ada_dir():
    _, a_vars = two_layer_model(seed=1)
    _, b_vars = two_layer_model(seed=1)
    grads = gradient_sequence(a_vars, steps=10, seed=3)
    grafted = run(
        optimizers.Graft(keras.optimizers.SGD(0.02), keras.optimizers.Adam(5.0)),
        a_vars,
        grads,
    )
    direct = run(optimizers.AdaDir(0.02), b_vars, grads)
    assert relative_error(grafted[-1], direct[-1]) <= 1e-6


def test_children_keep_their_own_state_and_iterations():
    graft = optimizers.Graft("adam", keras.optimizers.SGD(0.1, momentum=0.9))
    _, variables = two_layer_model()
    run(graft, variables, gradient_sequence(variables, steps=3))
    assert int(graft.iterations) == 3
    assert int(graft.magnitude.iterations) == 3
    assert int(graft.direction.iterations) == 3
    assert len(graft.variables) == (
        len(graft._variables)
        + len(graft.magnitude.variables)
        + len(graft.direction.variables)
    )
    # Adam's first moment and SGD's momentum are both non-zero.
    assert np.any(keras.ops.convert_to_numpy(graft.magnitude._momentums[0]) != 0)
    assert np.any(keras.ops.convert_to_numpy(graft.direction.momentums[0]) != 0)


def test_set_weights_restores_the_childrens_state():
    """Keras's contract: `set_weights(other.variables)` restores every variable
    `variables` lists; afterwards both grafts take the same next step."""

    def make():
        return optimizers.Graft(keras.optimizers.Adam(0.01), keras.optimizers.Adam())

    _, a_vars = two_layer_model(seed=3)
    _, b_vars = two_layer_model(seed=3)
    grads = gradient_sequence(a_vars, steps=3, seed=4)
    first = make()
    run(first, a_vars, grads[:2])
    second = make()
    second.build(b_vars)
    for v, w in zip(b_vars, a_vars):
        v.assign(w)
    second.set_weights([v.numpy() for v in first.variables])
    for mine, theirs in zip(second.variables, first.variables):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    assert int(second.magnitude.iterations) == 2
    assert int(second.direction.iterations) == 2
    assert np.any(second.direction._velocities[0].numpy() != 0)
    # The same state gives the same next step (a fresh second graft would not:
    # Adam's bias correction at step 1 differs from step 3).
    after_first = run(first, a_vars, grads[2:])[-1]
    after_second = run(second, b_vars, grads[2:])[-1]
    for x, y in zip(after_first, after_second):
        np.testing.assert_allclose(x, y, rtol=1e-6, atol=0)


def test_set_weights_checks_everything_before_assigning():
    graft = optimizers.Graft(keras.optimizers.Adam(), keras.optimizers.SGD())
    _, variables = two_layer_model()
    run(graft, variables, gradient_sequence(variables, steps=1))
    before = [v.numpy().copy() for v in graft.variables]
    weights = [np.zeros(v.shape, v.dtype) for v in graft.variables]
    with pytest.raises(ValueError, match=r"`weights` must hold \d+ arrays"):
        graft.set_weights(weights[:-1])
    weights[-1] = np.zeros((7,), "float32")  # the last one has a wrong shape
    with pytest.raises(ValueError, match=r"entry \d+ has shape \(7,\)"):
        graft.set_weights(weights)
    for v, b in zip(graft.variables, before):
        np.testing.assert_array_equal(v.numpy(), b)
    with pytest.raises(ValueError, match="before it is built"):
        optimizers.Graft("adam", "sgd").set_weights([])


def test_children_by_name_and_config():
    graft = optimizers.Graft(
        "adam", {"class_name": "SGD", "config": {"learning_rate": 0.3}}
    )
    assert isinstance(graft.magnitude, keras.optimizers.Adam)
    assert isinstance(graft.direction, keras.optimizers.SGD)
    np.testing.assert_allclose(float(graft.direction.learning_rate), 0.3)
    # The graft's learning rate is the magnitude's.
    np.testing.assert_allclose(float(graft.learning_rate), 0.001)


def test_magnitude_learning_rate_override():
    _, a_vars = two_layer_model(seed=4)
    _, b_vars = two_layer_model(seed=4)
    grads = gradient_sequence(a_vars, steps=5, seed=5)
    overridden = run(
        optimizers.Graft(keras.optimizers.Adam(0.5), "sgd", learning_rate=0.01),
        a_vars,
        grads,
    )
    direct = run(optimizers.AdaNSGDA(0.01), b_vars, grads)
    assert relative_error(overridden[-1], direct[-1]) <= 1e-6

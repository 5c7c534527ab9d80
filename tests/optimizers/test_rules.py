"""Every rule and granularity against an independent numpy implementation.

One step and a 20-step trajectory, relative error of the displacement at most
1e-5, on the backend under test (the suite runs once per backend).
"""

import keras
import numpy as np
import pytest

from keras_graft import optimizers
from tests.optimizers import np_reference as ref
from tests.optimizers.helpers import (
    BLOCKS,
    displacement_error,
    gradient_sequence,
    numpy_values,
    run,
    two_layer_model,
)

# name: (keras optimizer factory, numpy (magnitude, direction, block_length) factory)
CASES = {
    "ada_nsgda": (
        lambda g: optimizers.AdaNSGDA(0.05, beta_1=0.9, beta_2=0.99, granularity=g),
        lambda: (ref.Adam(0.05, 0.9, 0.99), ref.Gradient(), None),
    ),
    "ada_nsgda_beta1_0": (
        lambda g: optimizers.AdaNSGDA(
            0.05, beta_1=0.0, beta_2=0.9, epsilon=1e-3, granularity=g
        ),
        lambda: (ref.Adam(0.05, 0.0, 0.9, 1e-3), ref.Gradient(), None),
    ),
    "ada_dir": (
        lambda g: optimizers.AdaDir(0.05, beta_1=0.5, beta_2=0.99, granularity=g),
        lambda: (ref.SGD(0.05), ref.Adam(1.0, 0.5, 0.99), None),
    ),
    "nsgda": (
        lambda g: optimizers.NSGDA(0.05, granularity=g),
        lambda: (None, ref.Gradient(), lambda n, lr: 0.05),
    ),
    "nsgda_sqrt_size": (
        lambda g: optimizers.NSGDA(0.01, scale="sqrt_size", granularity=g),
        lambda: (None, ref.Gradient(), lambda n, lr: 0.01 * np.sqrt(n)),
    ),
    "nsgda_momentum": (
        lambda g: optimizers.NSGDA(0.05, momentum=0.9, granularity=g),
        lambda: (None, ref.HeavyBall(0.9), lambda n, lr: 0.05),
    ),
    "nsgda_nesterov": (
        lambda g: optimizers.NSGDA(0.05, momentum=0.5, nesterov=True, granularity=g),
        lambda: (None, ref.HeavyBall(0.5, nesterov=True), lambda n, lr: 0.05),
    ),
    "graft_adam_sgd_momentum": (
        lambda g: optimizers.Graft(
            keras.optimizers.Adam(0.05, beta_2=0.99),
            keras.optimizers.SGD(0.1, momentum=0.9),
            granularity=g,
        ),
        lambda: (ref.Adam(0.05, 0.9, 0.99), ref.SGD(0.1, 0.9), None),
    ),
    "graft_rmsprop_adam": (
        lambda g: optimizers.Graft(
            keras.optimizers.RMSprop(0.02), keras.optimizers.Adam(0.3), granularity=g
        ),
        lambda: (ref.RMSprop(0.02), ref.Adam(0.3), None),
    ),
    "graft_sgd_nesterov_rmsprop": (
        lambda g: optimizers.Graft(
            keras.optimizers.SGD(0.05, momentum=0.5, nesterov=True),
            keras.optimizers.RMSprop(0.01),
            granularity=g,
        ),
        lambda: (ref.SGD(0.05, 0.5, nesterov=True), ref.RMSprop(0.01), None),
    ),
}


@pytest.mark.parametrize("granularity", ["variable", "layer", "global"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_numpy_reference(case, granularity):
    make_optimizer, make_reference = CASES[case]
    _, variables = two_layer_model(seed=0)
    initial = numpy_values(variables)
    grad_seq = gradient_sequence(variables, steps=20, seed=1)

    history = run(make_optimizer(granularity), variables, grad_seq)

    magnitude, direction, block_length = make_reference()
    expected = ref.graft_trajectory(
        initial, grad_seq, BLOCKS[granularity], magnitude, direction, block_length
    )
    assert displacement_error(history[0], expected[0], initial) <= 1e-5, "step 1"
    assert displacement_error(history[-1], expected[-1], initial) <= 1e-5, "step 20"


@pytest.mark.parametrize("granularity", ["variable", "layer", "global"])
def test_nsgda_moves_every_block_by_exactly_the_learning_rate(granularity):
    _, variables = two_layer_model(seed=3)
    before = numpy_values(variables)
    grads = gradient_sequence(variables, steps=1, seed=4)
    after = run(optimizers.NSGDA(0.125, granularity=granularity), variables, grads)[0]
    blocks = BLOCKS[granularity]
    for b in set(blocks):
        moved = np.sqrt(
            sum(np.sum((after[i] - before[i]) ** 2) for i in range(4) if blocks[i] == b)
        )
        np.testing.assert_allclose(moved, 0.125, rtol=1e-5)


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda: optimizers.AdaNSGDA(0.05),
        lambda: optimizers.AdaDir(0.05),
        lambda: optimizers.NSGDA(0.05, momentum=0.9),
        lambda: optimizers.Graft(
            keras.optimizers.Adam(0.05), keras.optimizers.SGD(0.1)
        ),
    ],
    ids=["ada_nsgda", "ada_dir", "nsgda", "graft"],
)
@pytest.mark.parametrize("granularity", ["variable", "layer"])
def test_zero_gradient_block_does_not_move(make_optimizer, granularity):
    optimizer = make_optimizer()
    optimizer.granularity = granularity
    _, variables = two_layer_model(seed=5)
    grads = gradient_sequence(variables, steps=3, seed=6)
    for step in grads:
        step[2] = np.zeros_like(step[2])  # the output layer gets no gradient
        step[3] = np.zeros_like(step[3])
    before = numpy_values(variables)
    after = run(optimizer, variables, grads)[-1]
    np.testing.assert_array_equal(after[2], before[2])
    np.testing.assert_array_equal(after[3], before[3])
    assert not np.allclose(after[0], before[0])
    for v in optimizer.variables:
        assert np.all(np.isfinite(keras.ops.convert_to_numpy(v))), v.name


def test_all_zero_gradients_give_finite_state_and_no_move():
    for optimizer in [
        optimizers.AdaNSGDA(),
        optimizers.AdaDir(),
        optimizers.NSGDA(granularity="global"),
        optimizers.Graft("adam", "sgd", granularity="global"),
    ]:
        _, variables = two_layer_model(seed=7)
        before = numpy_values(variables)
        zeros = [[np.zeros(v.shape, "float32") for v in variables]] * 2
        after = run(optimizer, variables, zeros)[-1]
        for a, b in zip(after, before):
            np.testing.assert_array_equal(a, b)
        for v in optimizer.variables:
            assert np.all(np.isfinite(keras.ops.convert_to_numpy(v)))

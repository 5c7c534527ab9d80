"""What every Keras optimizer gives, working with the grafted optimizers.

Learning-rate schedules, decoupled weight decay with exclusions, the three
clipping options, EMA, gradient accumulation and configs, each checked against
the numpy reference with the base optimizer's semantics.
"""

import copy

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


def _trajectories(optimizer, reference_kwargs, steps=8, granularity="layer", seed=0):
    _, variables = two_layer_model(seed=seed)
    initial = numpy_values(variables)
    grads = gradient_sequence(variables, steps=steps, seed=seed + 10)
    history = run(optimizer, variables, grads)
    expected = ref.graft_trajectory(
        initial, grads, BLOCKS[granularity], **reference_kwargs
    )
    return history, expected, initial


def test_schedule_drives_the_step_length():
    schedule = keras.optimizers.schedules.ExponentialDecay(
        0.05, decay_steps=1, decay_rate=0.8
    )
    history, expected, initial = _trajectories(
        optimizers.AdaNSGDA(schedule, granularity="layer"),
        dict(
            magnitude=ref.Adam(None),
            direction=ref.Gradient(),
            lr_at=lambda t: 0.05 * 0.8 ** (t - 1),
        ),
    )
    assert displacement_error(history[-1], expected[-1], initial) <= 1e-5


def test_schedule_on_a_graft_child_is_honoured():
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([3], [0.05, 0.01])
    history, expected, initial = _trajectories(
        optimizers.Graft(keras.optimizers.Adam(schedule), "sgd", granularity="layer"),
        dict(
            magnitude=ref.Adam(None),
            direction=ref.Gradient(),
            lr_at=lambda t: 0.05 if t - 1 <= 3 else 0.01,
        ),
    )
    assert displacement_error(history[-1], expected[-1], initial) <= 1e-5


def test_nsgda_schedule_sets_each_steps_length():
    schedule = keras.optimizers.schedules.PolynomialDecay(
        0.2, decay_steps=4, end_learning_rate=0.0
    )
    history, expected, initial = _trajectories(
        optimizers.NSGDA(schedule, granularity="global"),
        dict(
            magnitude=None,
            direction=ref.Gradient(),
            block_length=lambda n, lr: lr,
            lr_at=lambda t: 0.2 * max(0.0, 1 - (t - 1) / 4),
        ),
        granularity="global",
    )
    assert displacement_error(history[-1], expected[-1], initial) <= 1e-5
    # After the schedule reaches zero nothing moves.
    np.testing.assert_allclose(history[-1][0], history[4][0], rtol=0, atol=0)


def test_weight_decay_with_exclusion():
    optimizer = optimizers.NSGDA(0.05, weight_decay=0.5, granularity="layer")
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    history, expected, initial = _trajectories(
        optimizer,
        dict(
            magnitude=None,
            direction=ref.Gradient(),
            block_length=lambda n, lr: lr,
            lr_at=lambda t: 0.05,
            weight_decay=(0.5, [True, False, True, False]),
        ),
    )
    assert displacement_error(history[-1], expected[-1], initial) <= 1e-5


def _clip_value(grads):
    return [np.clip(g, -0.5, 0.5) for g in grads]


def _clip_norm(grads):
    return [g * min(1.0, 0.5 / np.linalg.norm(g)) for g in grads]


def _clip_global_norm(grads):
    total = np.sqrt(sum(np.sum(g**2) for g in grads))
    return [g * min(1.0, 0.5 / total) for g in grads]


@pytest.mark.parametrize(
    "option, transform",
    [
        ("clipvalue", _clip_value),
        ("clipnorm", _clip_norm),
        ("global_clipnorm", _clip_global_norm),
    ],
)
def test_clipping_runs_before_the_graft(option, transform):
    # AdaDir's magnitude is the (clipped) gradient's norm, so clipping shows.
    history, expected, initial = _trajectories(
        optimizers.AdaDir(0.05, granularity="layer", **{option: 0.5}),
        dict(magnitude=ref.SGD(0.05), direction=ref.Adam(1.0), transform=transform),
    )
    assert displacement_error(history[-1], expected[-1], initial) <= 1e-5


def test_ema_tracks_and_finalizes():
    optimizer = optimizers.AdaNSGDA(0.05, use_ema=True, ema_momentum=0.7)
    _, variables = two_layer_model(seed=2)
    grads = gradient_sequence(variables, steps=5, seed=3)
    history = run(optimizer, variables, grads)
    average = [np.array(h) for h in history[0]]  # the first step copies the weights
    for values in history[1:]:
        average = [0.7 * a + 0.3 * v for a, v in zip(average, values)]
    ema = [
        keras.ops.convert_to_numpy(v) for v in optimizer._model_variables_moving_average
    ]
    for e, a in zip(ema, average):
        np.testing.assert_allclose(e, a, rtol=1e-5, atol=1e-7)
    optimizer.finalize_variable_values(variables)
    for v, a in zip(numpy_values(variables), average):
        np.testing.assert_allclose(v, a, rtol=1e-5, atol=1e-7)


def test_gradient_accumulation_averages_then_steps():
    optimizer = optimizers.AdaNSGDA(
        0.05, gradient_accumulation_steps=2, granularity="layer"
    )
    _, variables = two_layer_model(seed=4)
    initial = numpy_values(variables)
    grads = gradient_sequence(variables, steps=6, seed=5)
    history = run(optimizer, variables, grads)
    averaged = [
        [(a + b) / 2 for a, b in zip(grads[k], grads[k + 1])] for k in range(0, 6, 2)
    ]
    expected = ref.graft_trajectory(
        initial, averaged, BLOCKS["layer"], ref.Adam(0.05), ref.Gradient()
    )
    # Nothing moves on the accumulation micro-steps.
    np.testing.assert_array_equal(history[0][0], initial[0])
    assert displacement_error(history[-1], expected[-1], initial) <= 1e-5
    assert int(optimizer.iterations) == 3


CONFIGURED = [
    lambda: optimizers.AdaNSGDA(
        0.01, beta_1=0.5, beta_2=0.9, epsilon=1e-6, granularity="layer", clipnorm=1.0
    ),
    lambda: optimizers.AdaDir(0.2, beta_1=0.0, granularity="global", weight_decay=0.01),
    lambda: optimizers.NSGDA(
        keras.optimizers.schedules.CosineDecay(0.1, 100),
        momentum=0.9,
        nesterov=True,
        scale="sqrt_size",
    ),
    lambda: optimizers.Graft(
        keras.optimizers.AdamW(0.003, weight_decay=0.1),
        keras.optimizers.Lion(1e-4),
        granularity="layer",
        use_ema=True,
    ),
]


@pytest.mark.parametrize(
    "make", CONFIGURED, ids=["ada_nsgda", "ada_dir", "nsgda", "graft"]
)
def test_config_round_trip_gives_the_same_optimizer(make):
    original = make()
    config = original.get_config()
    restored = type(original).from_config(copy.deepcopy(config))
    assert restored.get_config() == config
    serialized = keras.optimizers.serialize(original)
    assert serialized["registered_name"].startswith("keras_graft>")
    again = keras.optimizers.deserialize(serialized)
    assert type(again) is type(original)

    _, a_vars = two_layer_model(seed=6)
    _, b_vars = two_layer_model(seed=6)
    grads = gradient_sequence(a_vars, steps=4, seed=7)
    for a, b in zip(run(original, a_vars, grads)[-1], run(restored, b_vars, grads)[-1]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)

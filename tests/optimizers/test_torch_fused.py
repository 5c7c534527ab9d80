"""PyTorch's fused rules against the `keras.ops` rules they stand for.

On PyTorch, `AdaNSGDA`, `AdaDir` and `NSGDA` run a fused multi-tensor form of
their `_rule` (`keras_graft/optimizers/_backend/torch.py`, picked by
`fused_rule`). Each case runs the same gradients from the same start twice,
once fused and once with `fused_rule` patched to give None (the `keras.ops`
path of the algorithm files), and the two must agree to float32 rounding after
every step: variables and optimizer state, every granularity, 16-bit variables
included.
"""

import keras
import numpy as np
import pytest

from keras_graft import optimizers
from tests.optimizers.helpers import (
    displacement_error,
    gradient_sequence,
    numpy_values,
    run,
    two_layer_model,
)

pytestmark = pytest.mark.backend("torch")

STEPS = 6

CASES = {
    "ada_nsgda": lambda g: optimizers.AdaNSGDA(
        0.05, beta_1=0.9, beta_2=0.99, granularity=g
    ),
    "ada_nsgda_beta1_0": lambda g: optimizers.AdaNSGDA(
        0.05, beta_1=0.0, beta_2=0.9, epsilon=1e-3, granularity=g
    ),
    "ada_dir": lambda g: optimizers.AdaDir(
        0.05, beta_1=0.5, beta_2=0.99, granularity=g
    ),
    "ada_dir_schedule": lambda g: optimizers.AdaDir(
        keras.optimizers.schedules.ExponentialDecay(0.05, 2, 0.5), granularity=g
    ),
    "nsgda": lambda g: optimizers.NSGDA(0.05, granularity=g),
    "nsgda_sqrt_size": lambda g: optimizers.NSGDA(
        0.01, scale="sqrt_size", granularity=g
    ),
    "nsgda_momentum": lambda g: optimizers.NSGDA(0.05, momentum=0.9, granularity=g),
    "nsgda_nesterov": lambda g: optimizers.NSGDA(
        0.05, momentum=0.5, nesterov=True, granularity=g
    ),
}


def _torch_backend():
    # Imported in the tests: the module imports torch, and this file is
    # collected (then deselected) on every backend.
    from keras_graft.optimizers._backend import torch as torch_backend

    return torch_backend


def _trajectory(make, granularity, dtype, fused):
    """Values after each step and the final optimizer state, as float64."""
    _, variables = two_layer_model(seed=0, dtype=dtype)
    grads = gradient_sequence(variables, steps=STEPS, seed=1)
    optimizer = make(granularity)
    with pytest.MonkeyPatch.context() as patch:
        if not fused:
            patch.setattr(_torch_backend(), "fused_rule", lambda optimizer: None)
        history = run(optimizer, variables, grads)
    return history, numpy_values(optimizer.variables)


def _assert_close(actual, expected, rtol):
    """Each array within `rtol` of its expected value, in norm."""
    assert len(actual) == len(expected)
    for i, (a, e) in enumerate(zip(actual, expected)):
        assert np.linalg.norm(a - e) <= rtol * np.linalg.norm(e), i


@pytest.mark.parametrize("granularity", optimizers.GRANULARITIES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_fused_rule_matches_keras_ops_rule(name, granularity):
    _, start = two_layer_model(seed=0)
    initial = numpy_values(start)
    fused, fused_state = _trajectory(CASES[name], granularity, "float32", True)
    plain, plain_state = _trajectory(CASES[name], granularity, "float32", False)
    for step, (a, b) in enumerate(zip(fused, plain)):
        assert displacement_error(a, b, initial) <= 1e-6, step
        _assert_close(a, b, rtol=1e-6)
    _assert_close(fused_state, plain_state, rtol=1e-6)


# One unit in the last place of 1.0, in each 16-bit dtype.
EPS = {"float16": 2.0**-10, "bfloat16": 2.0**-7}


@pytest.mark.parametrize("dtype", sorted(EPS))
@pytest.mark.parametrize("name", sorted(CASES))
def test_fused_rule_matches_keras_ops_rule_in_16_bits(name, dtype):
    # The slots are float32 (see `add_variable_from_reference`), the gradients
    # 16-bit: both paths cast the gradient up and round the step to the
    # variable's dtype. The values agree to their last bit (equal today; one
    # unit of rounding apart is allowed), the float32 state as in float32.
    fused, fused_state = _trajectory(CASES[name], "layer", dtype, True)
    plain, plain_state = _trajectory(CASES[name], "layer", dtype, False)
    for step, (a, b) in enumerate(zip(fused, plain)):
        for x, y in zip(a, b):
            np.testing.assert_allclose(
                x, y, rtol=EPS[dtype], atol=0, err_msg=f"step {step}"
            )
    _assert_close(fused_state, plain_state, rtol=1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_apply_takes_the_fused_rule(name, monkeypatch):
    torch_backend = _torch_backend()
    table = torch_backend.fused_rule
    calls = []

    def spy(optimizer):
        rule = table(optimizer)

        def counted(*args):
            calls.append(type(args[0]))
            return rule(*args)

        return None if rule is None else counted

    monkeypatch.setattr(torch_backend, "fused_rule", spy)
    optimizer = CASES[name]("variable")
    _, variables = two_layer_model(seed=0)
    run(optimizer, variables, gradient_sequence(variables, steps=3, seed=1))
    assert calls == [type(optimizer)] * 3


def test_only_the_exact_classes_are_fused():
    fused_rule = _torch_backend().fused_rule

    class Sub(optimizers.AdaNSGDA):
        def _rule(self, gradient, variable, learning_rate):
            return super()._rule(2.0 * gradient, variable, learning_rate)

    for optimizer in (optimizers.AdaNSGDA(), optimizers.AdaDir(), optimizers.NSGDA()):
        assert fused_rule(optimizer) is not None, type(optimizer).__name__
    # A subclass may change the rule, and a Graft's rule is its children's.
    assert fused_rule(Sub()) is None
    assert fused_rule(optimizers.Graft("adam", "sgd")) is None

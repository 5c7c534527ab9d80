"""PyTorch's fused rules against the `keras.ops` rules they stand for.

On PyTorch, `AdaNSGDA`, `AdaDir`, `NSGDA` and `Graft` run a fused multi-tensor
form of their `_rule` (`keras_graft/optimizers/_backend/torch.py`, picked by
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
    # Graft: its children's own fused Keras steps (`_graft`), or `_rule` per
    # variable where a child cannot be fused (Nadam, weight decay).
    "graft_adam_sgd_momentum": lambda g: optimizers.Graft(
        keras.optimizers.Adam(0.01),
        keras.optimizers.SGD(0.1, momentum=0.9),
        granularity=g,
    ),
    "graft_sgd_nesterov_adam_amsgrad": lambda g: optimizers.Graft(
        keras.optimizers.SGD(0.05, momentum=0.5, nesterov=True),
        keras.optimizers.Adam(0.01, amsgrad=True),
        granularity=g,
    ),
    "graft_rmsprop_adagrad": lambda g: optimizers.Graft(
        keras.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
        keras.optimizers.Adagrad(0.05),
        granularity=g,
    ),
    "graft_lion_adamax": lambda g: optimizers.Graft(
        keras.optimizers.Lion(0.003), keras.optimizers.Adamax(0.01), granularity=g
    ),
    "graft_nadam_adamw": lambda g: optimizers.Graft(
        keras.optimizers.Nadam(0.01),
        keras.optimizers.AdamW(0.01, weight_decay=0.1),
        granularity=g,
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

    class SubGraft(optimizers.Graft):
        pass

    # A subclass may change the rule.
    assert fused_rule(Sub()) is None
    assert fused_rule(SubGraft("adam", "sgd")) is None
    assert fused_rule(optimizers.Graft("adam", "sgd")) is not None


@pytest.mark.parametrize(
    "children, dtype, fused",
    [
        (("adam", "sgd"), "float32", True),
        (("rmsprop", "lion"), "float32", True),
        (("nadam", "sgd"), "float32", False),  # Nadam's fused step differs
        (("adam", "adamw"), "float32", False),  # a child's weight decay
        (("adam", "sgd"), "float16", False),
    ],
)
def test_graft_runs_its_childrens_fused_steps(children, dtype, fused, monkeypatch):
    """No per-variable `_rule` call where both children are Keras's fused
    classes and the variables float32; `_rule` per variable otherwise."""
    calls = []
    rule = optimizers.Graft._rule

    def counted(self, *args):
        calls.append(1)
        return rule(self, *args)

    monkeypatch.setattr(optimizers.Graft, "_rule", counted)
    magnitude, direction = (keras.optimizers.get(c) for c in children)
    if children[1] == "adamw":
        direction = keras.optimizers.AdamW(weight_decay=0.1)
    optimizer = optimizers.Graft(magnitude, direction)
    _, variables = two_layer_model(seed=0, dtype=dtype)
    run(optimizer, variables, gradient_sequence(variables, steps=2, seed=1))
    assert len(calls) == (0 if fused else 2 * len(variables))
    assert int(optimizer.magnitude.iterations) == 2
    assert int(optimizer.direction.iterations) == 2


# The torch forms of the machinery around the rules: block scales, the step,
# Adam's directions and their norms on the host. Each is the same ops as the
# `keras.ops` form it stands for, so each must agree exactly.


def _moments(seed=0, shapes=((5, 4), (4,), (4, 3), (3,))):
    import torch

    rng = np.random.default_rng(seed)
    m = [torch.tensor(rng.standard_normal(s), dtype=torch.float32) for s in shapes]
    v = [torch.tensor(rng.random(s), dtype=torch.float32) for s in shapes]
    v[1].zero_()  # sqrt(0) + epsilon in a denominator
    m[1].zero_()
    return m, v


@pytest.mark.parametrize("granularity", optimizers.GRANULARITIES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_torch_block_scales_equal_the_keras_ops_ones(name, granularity):
    import torch

    _, variables = two_layer_model(seed=0)
    optimizer = CASES[name](granularity)
    optimizer.build(variables)
    direction_sq = torch.tensor([4.0, 0.0, 0.25, 9.0])  # a zero direction
    magnitude_sq = torch.tensor([1.0, 2.0, 0.0, 0.5])
    if name.startswith("nsgda"):
        magnitude_sq = None
    learning_rate = optimizer.learning_rate
    torch_scales = _torch_backend().block_scales(
        optimizer, magnitude_sq, direction_sq, variables, learning_rate
    )
    ops_scales = optimizer._block_scales(
        magnitude_sq, direction_sq, variables, learning_rate
    )
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(torch_scales),
        keras.ops.convert_to_numpy(ops_scales),
    )
    assert torch_scales.dtype == torch.float32


def test_the_host_and_device_steps_equal_value_minus_scale_times_direction():
    # On the host, exactly the `keras.ops` step (`step = scale * direction`,
    # then `value - step`, two roundings); on a device the kernel may fuse the
    # multiply-add (one rounding): within one unit in the last place.
    import torch

    torch_backend = _torch_backend()
    m, v = _moments()
    scales = torch.tensor([0.5, 0.0, 3.0, 1e-3])
    expected = [a - s * b for a, b, s in zip(v, m, scales)]
    values = [t.clone() for t in v]
    torch_backend._sub_scaled_on_host(values, m, scales)
    for a, e in zip(values, expected):
        torch.testing.assert_close(a, e, rtol=0, atol=0)
    values = [t.clone() for t in v]
    torch_backend._sub_scaled_on_device(values, m, scales)
    for a, e in zip(values, expected):
        ulp = torch.finfo(torch.float32).eps * float(e.abs().max())
        torch.testing.assert_close(a, e, rtol=0, atol=ulp)


def test_host_adam_directions_and_norms_equal_the_unbuffered_ones():
    # Small variables take `_foreach` calls, large ones (from `_HOST_LARGE`
    # elements) the kept buffer; both must give the `_foreach` values.
    import torch

    torch_backend = _torch_backend()
    optimizer = optimizers.AdaNSGDA(epsilon=1e-3)
    side = int(np.ceil(np.sqrt(torch_backend._HOST_LARGE)))
    m, v = _moments(shapes=((5, 4), (4,), (side, side), (3,)))

    def expected_directions(m, v):
        return torch._foreach_div(m, torch._foreach_add(torch._foreach_sqrt(v), 1e-3))

    expected = expected_directions(m, v)
    directions = torch_backend._adam_directions(optimizer, m, v)
    for a, e in zip(directions, expected):
        torch.testing.assert_close(a, e, rtol=0, atol=0)
    expected_norms = torch_backend.squared_norms(expected)
    for _ in range(2):  # the second time through the kept buffer
        norms = torch_backend._adam_direction_squared_norms(optimizer, m, v)
        torch.testing.assert_close(norms, expected_norms, rtol=0, atol=0)
    # A larger variable later: the buffer grows.
    big_m, big_v = _moments(seed=1, shapes=((3,), (side + 1, side)))
    m, v = m + big_m, v + big_v
    norms = torch_backend._adam_direction_squared_norms(optimizer, m, v)
    expected_norms = torch_backend.squared_norms(expected_directions(m, v))
    torch.testing.assert_close(norms, expected_norms, rtol=0, atol=0)


def test_squared_norms_are_float32_sums_of_squares_within_float_rounding():
    # Small tensors through `_foreach_norm`, large ones (on the host) through
    # `dot`; a million squares summed within 1e-5 of the float64 sum (the
    # squared `_foreach_norm` of the large one is off by about 5e-5).
    import torch

    torch_backend = _torch_backend()
    rng = np.random.default_rng(3)
    arrays = [
        rng.standard_normal(shape).astype("float32")
        for shape in ((3, 4), (1000, 1000), (0,), (7,), (2, torch_backend._HOST_LARGE))
    ]
    tensors = [torch.from_numpy(a) for a in arrays]
    tensors[1] = tensors[1].t()  # not contiguous
    sums = torch_backend.squared_norms(tensors + [tensors[0].half()])
    assert sums.dtype == torch.float32 and sums.shape == (6,)
    expected = [np.sum(np.square(a, dtype=np.float64)) for a in arrays]
    expected.append(np.sum(np.square(arrays[0].astype(np.float16), dtype=np.float64)))
    np.testing.assert_allclose(sums.numpy(), expected, rtol=1e-5, atol=0)


@pytest.mark.parametrize("total", ["flat", "over_flat"])
def test_small_tensors_squared_norms_against_numpy(total):
    # Small host tensors only: up to `_HOST_FLAT` elements in all through one
    # flat copy, more through `_foreach_norm`; the same sums either way.
    import torch

    torch_backend = _torch_backend()
    rng = np.random.default_rng(4)
    shapes = [(), (3, 1, 2), (0,), (5,), (1,)]
    if total == "over_flat":
        shapes.append((torch_backend._HOST_FLAT,))
    arrays = [rng.standard_normal(s).astype("float32") for s in shapes]
    tensors = [torch.from_numpy(a) for a in arrays]
    tensors[1] = tensors[1].permute(2, 1, 0)  # not contiguous
    sums = torch_backend.squared_norms(tensors)
    expected = [np.sum(np.square(a, dtype=np.float64)) for a in arrays]
    assert sums.dtype == torch.float32 and sums.shape == (len(shapes),)
    np.testing.assert_allclose(sums.numpy(), expected, rtol=2e-6, atol=0)
    assert sums[2] == 0.0


def test_mixed_float32_and_float64_variables_take_the_same_step():
    # The host buffer serves one dtype; mixed slots fall back to `_foreach`.
    variables = [
        keras.Variable(np.full((3, 2), 0.5), dtype="float32", name="a"),
        keras.Variable(np.full((2,), -0.5), dtype="float64", name="b"),
    ]
    grads = [np.ones((3, 2), "float32"), np.arange(2.0)]
    results = {}
    for fused in (True, False):
        for v, start in zip(variables, (0.5, -0.5)):
            v.assign(np.full(v.shape, start))
        optimizer = optimizers.AdaNSGDA(0.1)
        with pytest.MonkeyPatch.context() as patch:
            if not fused:
                patch.setattr(_torch_backend(), "fused_rule", lambda optimizer: None)
            run(optimizer, variables, [grads, grads])
        results[fused] = numpy_values(variables)
    _assert_close(results[True], results[False], rtol=1e-6)


@pytest.mark.parametrize("name", ["ada_nsgda", "ada_dir"])
def test_a_large_variable_takes_the_same_steps_fused(name):
    # From `_HOST_LARGE` elements on, Adam's directions go through the host
    # buffer (AdaNSGDA) or over their denominators (AdaDir).
    side = int(np.ceil(np.sqrt(_torch_backend()._HOST_LARGE)))
    rng = np.random.default_rng(0)
    start = [rng.standard_normal((side, side)), rng.standard_normal((7,))]
    grads = [
        [rng.standard_normal(s.shape).astype("float32") for s in start]
        for _ in range(3)
    ]
    results = {}
    for fused in (True, False):
        variables = [
            keras.Variable(s.astype("float32"), name=f"w{i}")
            for i, s in enumerate(start)
        ]
        with pytest.MonkeyPatch.context() as patch:
            if not fused:
                patch.setattr(_torch_backend(), "fused_rule", lambda optimizer: None)
            results[fused] = run(CASES[name]("variable"), variables, grads)
    for a, b in zip(results[True], results[False]):
        _assert_close(a, b, rtol=1e-6)


@pytest.mark.parametrize(
    "name", ["ada_nsgda", "nsgda_momentum", "graft_adam_sgd_momentum"]
)
def test_stateless_apply_reads_the_scope_not_the_variables(name):
    """The fused rules read variables' tensors directly (`variable_tensors`)
    only outside a stateless scope: `stateless_apply` takes its state from
    its arguments, leaves the variables alone, and equals `apply`."""
    _, variables = two_layer_model(seed=0)
    grads = [
        keras.ops.convert_to_tensor(g)
        for g in gradient_sequence(variables, steps=1, seed=1)[0]
    ]
    stateful = CASES[name]("layer")
    stateful.build(variables)
    stateless = CASES[name]("layer")
    stateless.build(variables)
    start = numpy_values(variables)
    shifted = [keras.ops.convert_to_tensor(v + 0.5) for v in start]
    new_values, new_state = stateless.stateless_apply(
        [v.value for v in stateless.variables], grads, shifted
    )
    # The variables themselves did not move.
    for v, s in zip(numpy_values(variables), start):
        np.testing.assert_array_equal(v, s)
    for v, s in zip(variables, shifted):
        v.assign(s)
    stateful.apply(grads, variables)
    for a, b in zip(numpy_values(new_values), numpy_values(variables)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    for a, b in zip(numpy_values(new_state), numpy_values(stateful.variables)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)

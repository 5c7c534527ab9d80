"""Graft: one optimizer's step magnitude on another optimizer's step direction."""

from __future__ import annotations

import keras
from keras import ops

from keras_graft._validation import fail
from keras_graft.optimizers._base import GraftedOptimizer

# Base-optimizer options that the graft applies itself; a child must not carry
# them, since the graft calls the child's `update_step` only.
_OUTER_OPTIONS = (
    "clipnorm",
    "clipvalue",
    "global_clipnorm",
    "use_ema",
    "gradient_accumulation_steps",
    "loss_scale_factor",
)


@keras.saving.register_keras_serializable(package="keras_graft")
class Graft(GraftedOptimizer):
    r"""Grafting: the step length of `magnitude` along the step of `direction`.

    Grafting $M\#D$ (Agarwal et al., arXiv 2002.11803): at each step both child
    optimizers see the same gradient at the same iterate and update their own
    state; with $s^M_b$ and $s^D_b$ their steps on block $b$ (see
    `granularity`), the block moves by

    $$
    \theta_b \leftarrow \theta_b - \lVert s^M_b \rVert\,
        \frac{s^D_b}{\lVert s^D_b \rVert},
    $$

    and does not move when $s^D_b = 0$. Grafting an optimizer onto itself gives
    that optimizer; `Graft(Adam(), SGD())` is Ada-nSGDA and
    `Graft(SGD(), Adam())` its reverse.

    Both steps are computed in one pass: each child's `update_step` runs once
    per variable with its writes to the model variable recorded instead of
    applied (no copy of the model is made).

    The magnitude child is stepped with the graft's learning rate, which is
    the magnitude's own unless `learning_rate` is given; the direction child
    uses its own learning rate. A child's decoupled weight decay (AdamW's) is
    part of its step. Clipping, EMA, gradient accumulation and loss scaling
    belong on the graft (its keyword arguments), not on a child.

    Example:

    ```python
    opt = keras_graft.optimizers.Graft(
        magnitude=keras.optimizers.Adam(1e-3),
        direction=keras.optimizers.SGD(momentum=0.9),
        granularity="layer",
    )
    model.compile(optimizer=opt, loss="mse")
    ```

    Args:
        magnitude (keras.optimizers.Optimizer | str | dict): the optimizer whose
            step length is used (an instance, a name such as "adam", or a
            serialized config). Any per-variable Keras optimizer: SGD (with
            momentum and Nesterov), Adam, AdamW, RMSprop, Adagrad, Adamax,
            Nadam, Lion, Adadelta, Adafactor, Ftrl.
        direction (keras.optimizers.Optimizer | str | dict): the optimizer whose
            step direction is used; a different instance from `magnitude`.
        granularity (str): what a block is: "variable" (default), "layer" or
            "global".
        learning_rate (float | keras.optimizers.schedules.LearningRateSchedule | None):
            the magnitude child's learning rate; `None` (default) takes the
            magnitude's own.
        **kwargs (Any): `skip_nonfinite` and Keras's base-optimizer arguments
            (`name`, `weight_decay`, clipping, EMA, loss scaling, gradient
            accumulation), shared by every optimizer of this package and
            documented once under
            [`GraftedOptimizer`][keras_graft.optimizers.GraftedOptimizer].
    """

    def __init__(
        self,
        magnitude,
        direction,
        granularity: str = "variable",
        learning_rate=None,
        name: str = "graft",
        **kwargs,
    ):
        magnitude = _resolve(magnitude, "magnitude")
        direction = _resolve(direction, "direction")
        if magnitude is direction:
            raise ValueError(
                "Arguments `magnitude` and `direction` must be two different "
                "optimizer instances: each child keeps its own state and is "
                "stepped once per update. To graft an optimizer onto itself, pass "
                "a copy, e.g. `type(opt).from_config(opt.get_config())`."
            )
        if learning_rate is None:
            learning_rate = _learning_rate_of(magnitude)
        super().__init__(learning_rate, granularity=granularity, name=name, **kwargs)
        self.magnitude = magnitude
        self.direction = direction

    @property
    def variables(self):
        return self._variables + self.magnitude.variables + self.direction.variables

    def _build_rule(self, var_list):
        self.magnitude.build(var_list)
        self.direction.build(var_list)

    def _grafted_update(self, grads, variables, learning_rate, fused_rule=None):
        for child in (self.magnitude, self.direction):
            _before_step(child)
        super()._grafted_update(grads, variables, learning_rate, fused_rule)
        for child in (self.magnitude, self.direction):
            # A child has no gradient accumulation (see `_resolve`), so its
            # `iterations` is its step counter itself, a variable.
            child.iterations.assign_add(ops.cast(1, child.iterations.dtype))

    def _rule(self, gradient, variable, learning_rate):
        magnitude_step = _child_step(self.magnitude, gradient, variable, learning_rate)
        direction_step = _child_step(
            self.direction, gradient, variable, self.direction.learning_rate
        )
        return self._sum_of_squares(magnitude_step), direction_step

    def set_weights(self, weights):
        """Set every variable that `variables` lists, in order: the graft's own,
        then the magnitude child's, then the direction child's.

        Every shape is checked before anything is assigned, so a bad list
        leaves the optimizer as it was.

        Raises:
            ValueError: the optimizer is not built, `weights` has another
                length than `variables`, or a shape differs.
        """
        if not self.built:
            raise ValueError(
                f"Cannot set the weights of Graft '{self.name}' before it is "
                "built: call `optimizer.build(trainable_variables)` first."
            )
        variables = self.variables
        weights = list(weights)
        if len(weights) != len(variables):
            raise ValueError(
                f"Argument `weights` must hold {len(variables)} arrays for Graft "
                f"'{self.name}' (its own {len(self._variables)}, then its "
                f"children's {len(self.magnitude.variables)} and "
                f"{len(self.direction.variables)}, as `variables` lists them); "
                f"received {len(weights)}."
            )
        for i, (variable, weight) in enumerate(zip(variables, weights)):
            if tuple(variable.shape) != tuple(ops.shape(weight)):
                raise ValueError(
                    f"Argument `weights`: entry {i} has shape "
                    f"{tuple(ops.shape(weight))}; variable {variable.path!r} "
                    f"has shape {tuple(variable.shape)}."
                )
        for variable, weight in zip(variables, weights):
            variable.assign(weight)

    def save_own_variables(self, store):
        # The children save their own variables (they are attributes).
        for i, variable in enumerate(self._variables):
            store[str(i)] = variable.numpy()

    def load_own_variables(self, store):
        if len(store.keys()) != len(self._variables):
            raise ValueError(
                f"Cannot load the state of Graft '{self.name}': it has "
                f"{len(self._variables)} variables of its own, the saved one "
                f"{len(store.keys())}. Build the optimizer first."
            )
        for i, variable in enumerate(self._variables):
            variable.assign(store[str(i)])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "magnitude": keras.optimizers.serialize(self.magnitude),
                "direction": keras.optimizers.serialize(self.direction),
            }
        )
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("magnitude", "direction"):
            config[key] = keras.optimizers.deserialize(
                config[key], custom_objects=custom_objects
            )
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = keras.saving.deserialize_keras_object(
                config["learning_rate"], custom_objects=custom_objects
            )
        return cls(**config)


class _Recorder:
    """Stands in for a child optimizer during one `update_step`.

    Every attribute is the child's, except that writes to `variable` (the model
    variable being updated) are recorded as a step instead of being applied.
    Writes to the child's own slots go through.
    """

    def __init__(self, child, variable):
        self._child = child
        self._variable = variable
        self.delta = None  # float32; the variable moves by +delta

    def __getattr__(self, name):
        return getattr(self._child, name)

    def _record(self, delta):
        delta = ops.cast(delta, "float32")
        self.delta = delta if self.delta is None else self.delta + delta

    def assign(self, variable, value):
        if variable is self._variable:
            # The variable itself is never written, so it still holds the iterate.
            self.delta = ops.cast(value, "float32") - ops.cast(variable, "float32")
        else:
            self._child.assign(variable, value)

    def assign_add(self, variable, value):
        if variable is self._variable:
            self._record(value)
        else:
            self._child.assign_add(variable, value)

    def assign_sub(self, variable, value):
        if variable is self._variable:
            self._record(ops.negative(ops.cast(value, "float32")))
        else:
            self._child.assign_sub(variable, value)


def _child_step(child, gradient, variable, learning_rate):
    """The step (to subtract) that `child` would take on `variable`, in float32."""
    recorder = _Recorder(child, variable)
    type(child).update_step(recorder, gradient, variable, learning_rate)
    if recorder.delta is None:
        raise ValueError(
            f"Optimizer {type(child).__name__} cannot be grafted: its "
            "`update_step` did not write the variable through `assign`, "
            "`assign_add` or `assign_sub`."
        )
    step = ops.negative(recorder.delta)
    # `_use_weight_decay` applies the child's `exclude_from_weight_decay`; no
    # public method does.
    if child.weight_decay is not None and child._use_weight_decay(variable):
        decay = ops.cast(child.weight_decay, "float32") * ops.cast(
            learning_rate, "float32"
        )
        step = step + decay * ops.cast(variable, "float32")
    return step


def _before_step(child):
    """Once-per-step work that a child does outside `update_step`.

    Of Keras's optimizers only Nadam has such work: the running product of its
    momentum schedule, updated in its `_backend_update_step`.
    """
    if isinstance(child, keras.optimizers.Nadam):
        # Nadam keeps the product in `_u_product`, which has no public name.
        dtype = child._u_product.dtype
        factor = 1.0 - 0.5 * ops.power(0.96, ops.cast(child.iterations + 1, dtype))
        child.assign(child._u_product, child._u_product * child.beta_1 * factor)


def _learning_rate_of(optimizer):
    """`optimizer`'s learning rate as given: a float, a schedule or a callable."""
    # `_learning_rate`: the public `learning_rate` evaluates a schedule.
    lr = optimizer._learning_rate
    if isinstance(lr, keras.Variable):
        return float(ops.convert_to_numpy(lr))
    return lr


def _resolve(optimizer, name: str):
    """An optimizer instance from an instance, a name or a config; or a clear error."""
    if isinstance(optimizer, (str, dict)):
        try:
            optimizer = keras.optimizers.get(optimizer)
        except ValueError as error:
            raise ValueError(
                f"Argument `{name}` must be a Keras optimizer, its name (e.g. "
                f"'adam', 'sgd') or its config; could not build one from "
                f"{optimizer!r}: {error}"
            ) from None
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        fail(
            TypeError,
            name,
            "a `keras.optimizers.Optimizer` instance, a name such as 'adam', "
            "or a config dict",
            optimizer,
        )
    if isinstance(optimizer, (keras.optimizers.LossScaleOptimizer, GraftedOptimizer)):
        raise ValueError(
            f"Argument `{name}` cannot be grafted: {type(optimizer).__name__} "
            "does not take a per-variable step of its own. Pass a per-variable "
            "optimizer such as Adam or SGD (loss scaling wraps the graft)."
        )
    if _replaces_per_variable_update(optimizer):
        raise ValueError(
            f"Argument `{name}` cannot be grafted: {type(optimizer).__name__} "
            "replaces the per-variable update (`apply` or "
            "`_backend_update_step`), so its step cannot be read variable "
            "by variable."
        )
    for option in _OUTER_OPTIONS:
        if getattr(optimizer, option, None):
            raise ValueError(
                f"Argument `{name}` has `{option}` set; set it on the Graft "
                "instead (the graft calls the child's per-variable step only)."
            )
    if optimizer.built:
        raise ValueError(
            f"Argument `{name}` is an optimizer that is already built on some "
            "variables; pass a fresh (unbuilt) optimizer."
        )
    return optimizer


def _replaces_per_variable_update(optimizer) -> bool:
    """Whether a class of `optimizer` replaces Keras's per-variable update.

    Keras's own base classes (`keras.optimizers.Optimizer` and those under it)
    define `apply` and `_backend_update_step`, which call `update_step`; so
    does Nadam, whose extra once-per-step work `_before_step` repeats.
    """
    for cls in type(optimizer).__mro__:
        if cls in keras.optimizers.Optimizer.__mro__ or cls is keras.optimizers.Nadam:
            continue
        # The fused classes Keras's torch backend swaps in for its own
        # optimizers have no public name: they are known by their module.
        if cls.__module__.startswith("keras.src.backend.torch."):
            continue
        if "_backend_update_step" in vars(cls) or "apply" in vars(cls):
            return True
    return False

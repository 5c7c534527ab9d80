"""The GAN's training configuration: checked once, then frozen.

`check_train_config` validates the arguments of `GAN.compile` (before anything
is changed) and returns a `TrainConfig`; the GAN keeps it as `gan.train_config`
and saves it with the model. Optimizers are resolved here too.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras

from keras_graft import _validation as check
from keras_graft.gan import losses as losses_lib

UPDATES = ("alternating", "simultaneous")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How a `GAN` trains (the arguments of `GAN.compile` but the optimizers).

    Attributes:
        loss (str): name of the GAN loss (see `keras_graft.gan.losses`).
        gradient_penalty (str | None): `None`, `"wgan_gp"` or `"r1"`.
        penalty_weight (float): weight of the penalty.
        d_steps (int): discriminator updates per generator update.
        update (str): `"alternating"` or `"simultaneous"`.
        generator_ema (float | None): momentum of the generator's moving
            average, or `None`.
        track_pace (bool): whether the pace and gradient norms are logged.
        jit_compile (bool | str): as in `keras.Model.compile`.
        steps_per_execution (int): as in `keras.Model.compile`.
        run_eagerly (bool): as in `keras.Model.compile`.
        scan_steps (bool): run the `steps_per_execution` steps of a call in
            one compiled loop (JAX).
        auto_scale_loss (bool): wrap both players' optimizers in a
            `LossScaleOptimizer` under `mixed_float16`.
    """

    loss: str = "non_saturating"
    gradient_penalty: str | None = None
    penalty_weight: float = 10.0
    d_steps: int = 1
    update: str = "alternating"
    generator_ema: float | None = None
    track_pace: bool = True
    jit_compile: bool | str = "auto"
    steps_per_execution: int = 1
    run_eagerly: bool = False
    scan_steps: bool = False
    auto_scale_loss: bool = True

    def to_dict(self) -> dict:
        """The fields as a dict (the keyword arguments of `GAN.compile`)."""
        return dataclasses.asdict(self)


def check_train_config(
    loss: Any,
    gradient_penalty: Any,
    penalty_weight: Any,
    d_steps: Any,
    update: Any,
    generator_ema: Any,
    track_pace: Any,
    jit_compile: Any,
    steps_per_execution: Any,
    run_eagerly: Any,
    auto_scale_loss: Any,
    scan_steps: Any = False,
) -> TrainConfig:
    """Check `GAN.compile`'s arguments; return them as a `TrainConfig`.

    Raises:
        TypeError, ValueError: an argument of the wrong kind or value; the
            message names it.
    """
    losses_lib.get_loss(loss)
    if gradient_penalty is not None:
        check.check_choice(
            gradient_penalty, "gradient_penalty", sorted(losses_lib.PENALTIES)
        )
    if not (isinstance(jit_compile, str) and jit_compile == "auto"):
        if type(jit_compile).__name__ not in ("bool", "bool_"):
            error = ValueError if isinstance(jit_compile, str) else TypeError
            check.fail(error, "jit_compile", "True, False or 'auto'", jit_compile)
        jit_compile = bool(jit_compile)
    return TrainConfig(
        loss=loss,
        gradient_penalty=gradient_penalty,
        penalty_weight=check.check_float(penalty_weight, "penalty_weight", low=0.0),
        d_steps=check.check_int(d_steps, "d_steps", minimum=1),
        update=check.check_choice(update, "update", UPDATES),
        generator_ema=None
        if generator_ema is None
        else check.check_float(
            generator_ema, "generator_ema", low=0.0, high=1.0, high_open=True
        ),
        track_pace=check.check_bool(track_pace, "track_pace"),
        jit_compile=jit_compile,
        steps_per_execution=check.check_int(
            steps_per_execution, "steps_per_execution", minimum=1
        ),
        run_eagerly=check.check_bool(run_eagerly, "run_eagerly"),
        scan_steps=check.check_bool(scan_steps, "scan_steps"),
        auto_scale_loss=check.check_bool(auto_scale_loss, "auto_scale_loss"),
    )


def resolve_optimizer(optimizer: Any, name: str) -> keras.optimizers.Optimizer:
    """An optimizer instance from an instance or a name (`keras.optimizers.get`)."""
    if isinstance(optimizer, str):
        try:
            optimizer = keras.optimizers.get(optimizer)
        except ValueError as e:
            check.fail(ValueError, name, f"a known optimizer name ({e})", optimizer)
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        check.fail(
            TypeError,
            name,
            "a keras.optimizers.Optimizer instance (or its name)",
            optimizer,
        )
    return optimizer


def is_mixed_float16(*models: keras.Model) -> bool:
    """Whether the global policy or one of `models`' is `mixed_float16`."""
    names = [keras.config.dtype_policy().name]
    names += [getattr(getattr(m, "dtype_policy", None), "name", "") for m in models]
    return "mixed_float16" in names


def loss_scaled(optimizer: keras.optimizers.Optimizer) -> keras.optimizers.Optimizer:
    """`optimizer` wrapped in a `LossScaleOptimizer` (unless it is one)."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    return keras.optimizers.LossScaleOptimizer(
        optimizer, name=f"loss_scaled_{optimizer.name}"
    )

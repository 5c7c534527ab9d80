"""Stopping a GAN's training at the first non-finite loss or gradient.

Inside the (jitted) step, `any_nonfinite` tells whether a player's losses or
gradients hold a NaN or Inf, and `NonFiniteFlags` (a metric, so that it is
threaded through the step's state on every backend and reset every epoch)
records which player went bad first and at which step. Its two values travel in
the step's logs under `CODE` and `STEP`; `flags_out_of_logs` wraps the train
function so that, after every call, it takes them out of the logs (without
reading them), and the callback `NonFiniteCheck` reads them where Keras reads
the logs anyway and raises `FloatingPointError` naming the player and the
step. No step waits on the host for the check.

Only players whose optimizer does not skip non-finite steps are checked
(`skips_nonfinite`): `skip_nonfinite=True` of the keras_graft optimizers, or a
`LossScaleOptimizer`.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import keras
from keras import ops

from keras_graft._backend import backend_module

gan_backend = backend_module("keras_graft.gan._backend")

CODE = "_gan_nonfinite_player"
STEP = "_gan_nonfinite_step"


def skips_nonfinite(optimizer: keras.optimizers.Optimizer) -> bool:
    """Whether `optimizer` leaves the weights alone on a non-finite gradient."""
    return isinstance(optimizer, keras.optimizers.LossScaleOptimizer) or (
        getattr(optimizer, "skip_nonfinite", False) is True
    )


def any_nonfinite(values: Sequence, grads: Sequence, grad_norm=None):
    """Whether a loss in `values` or a gradient in `grads` has a NaN or Inf.

    The gradients too: NaN weights need not give a NaN loss (TensorFlow's
    ReLU maps NaN to 0 on CPU). One fused check on torch (`_backend`).

    `grad_norm` is the gradients' global norm where the step computed it
    already (pace logging). A finite Python float (read on the host: torch
    on a CPU) answers for the gradients: `sum g^2` is finite only when every
    `g` is (a NaN or Inf term makes the sum NaN or Inf), so only `values` are
    checked then. A non-finite norm may be an overflow of finite gradients:
    the gradients are checked one by one, as without it.
    """
    if isinstance(grad_norm, float) and math.isfinite(grad_norm):
        grads = []
    finite = gan_backend.all_finite(list(values) + list(grads))
    # A Python bool where the backend read it on the host (torch on a CPU).
    return not finite if isinstance(finite, bool) else ops.logical_not(finite)


def either(a, b):
    """`a or b` for flags from `any_nonfinite` (Python bools or bool tensors;
    `False` for none yet): no op where Python can answer."""
    if a is False or b is False:
        return b if a is False else a
    if isinstance(a, bool) and isinstance(b, bool):
        return a or b
    return ops.logical_or(a, b)


class NonFiniteFlags(keras.metrics.Metric):
    """Which player first had a non-finite loss this epoch, and at which step.

    `result()` is `d_flag + 2 * g_flag` (bit 1: the discriminator, bit 2: the
    generator); `step` holds the step of the first bad one.
    """

    def __init__(self, name: str = "gan_nonfinite"):
        super().__init__(name=name, dtype="float32")
        self.d_flag = self.add_variable(shape=(), initializer="zeros", name="d_flag")
        self.g_flag = self.add_variable(shape=(), initializer="zeros", name="g_flag")
        self.step = self.add_variable(
            shape=(),
            initializer="zeros",
            name="step",
            aggregation="only_first_replica",
        )

    def update_state(self, d_bad, g_bad, step) -> None:
        """Record this step's flags (`d_bad`, `g_bad`: bool tensors, or
        False for a player not checked)."""
        first = ops.logical_and(
            self.d_flag.value + self.g_flag.value == 0, ops.logical_or(d_bad, g_bad)
        )
        self.step.assign(ops.where(first, ops.cast(step, "float32"), self.step.value))
        self.d_flag.assign(ops.maximum(self.d_flag.value, ops.cast(d_bad, "float32")))
        self.g_flag.assign(ops.maximum(self.g_flag.value, ops.cast(g_bad, "float32")))

    def result(self):
        """`d_flag + 2 * g_flag`."""
        return self.d_flag.value + 2.0 * self.g_flag.value

    def logs(self) -> dict:
        """The two values for the step's logs (tensors, not the variables:
        TensorFlow's eager trainer wraps logs in a `tf.data` Optional, which
        takes no variables)."""
        return self.named(self.result(), ops.copy(self.step.value))

    @staticmethod
    def named(code, step) -> dict:
        """`{CODE: code, STEP: step}`: the flags' two values as logged."""
        return {CODE: code, STEP: step}


def flags_out_of_logs(inner: Callable, keep: Callable) -> Callable:
    """`inner` (a train function) with the flags taken out of its logs.

    Nothing is read back here: the two tensors are handed to `keep(code, step)`
    as they are, and `NonFiniteCheck` reads them when Keras reads the logs
    anyway. The flags are sticky within an epoch (`NonFiniteFlags`), so the
    values of any later call still name the first bad step.
    """

    def without_flags(*args, **kwargs):
        out = inner(*args, **kwargs)
        # (logs, state) on JAX, logs elsewhere; the flags leave the logs here.
        logs = out[0] if isinstance(out, tuple) else out
        code = logs.pop(CODE, None)
        step = logs.pop(STEP, None)
        if code is not None:
            keep(code, step)
        return out

    return without_flags


class NonFiniteCheck(keras.callbacks.Callback):
    """Raises `FloatingPointError` once a checked player's loss went non-finite.

    It reads the flags of the latest train call (`pending()`: the two tensors
    `flags_out_of_logs` kept, or `None`) where Keras reads every step's logs
    anyway: after each step in `on_train_batch_end`, which Keras runs in the
    training thread on TensorFlow, with `verbose=1` or with a callback of its
    own at batch end, and otherwise (JAX and PyTorch) on a worker thread,
    whose exception Keras raises in the training thread a step or a few
    later; and at the end of each epoch, at the latest. So a step never waits
    on this check, and training stops after at most the few steps in flight
    (on NaN weights: the bad step's update has been applied), never after
    the epoch's end.

    Args:
        pending (Callable[[], tuple | None]): the latest `(code, step)`.
        players (Callable[[], dict]): `{"discriminator": opt, "generator":
            opt}` for the message.
    """

    async_safe = True

    def __init__(self, pending: Callable, players: Callable[[], dict]):
        super().__init__()
        self._pending = pending
        self._players = players

    def check(self) -> None:
        """Raise if the latest flags say a checked player went non-finite."""
        flags = self._pending()
        if flags is None:
            return
        code, step = flags
        if _as_int(code):
            raise_nonfinite(_as_int(code), _as_int(step), self._players())

    def on_train_batch_end(self, batch, logs=None):
        self.check()

    def on_epoch_end(self, epoch, logs=None):
        self.check()


def _as_int(value) -> int:
    return int(round(float(ops.convert_to_numpy(value))))


def raise_nonfinite(code: int, step: int, optimizers: dict) -> None:
    """Raise the `FloatingPointError` for flag `code` at `step`."""
    players = [
        name for bit, name in ((1, "discriminator"), (2, "generator")) if code & bit
    ]
    which = " and ".join(
        f"the {p} loss (optimizer {type(optimizers[p]).__name__} "
        f"{optimizers[p].name!r})"
        for p in players
    )
    raise FloatingPointError(
        f"GAN training stopped at step {step} (0-based count of generator "
        f"updates): {which} became NaN or Inf, and the optimizer does not skip "
        "non-finite steps. Lower the learning rate, check the data, use a "
        "keras_graft optimizer with skip_nonfinite=True, or (under "
        "mixed_float16) a keras.optimizers.LossScaleOptimizer."
    )

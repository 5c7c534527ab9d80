"""nSGDA: normalized SGD, every block moves a fixed length per step."""

from __future__ import annotations

import keras
from keras import ops

from keras_graft._validation import check_bool, check_choice, check_float
from keras_graft.optimizers._base import GraftedOptimizer

SCALES = ("constant", "sqrt_size")


@keras.saving.register_keras_serializable(package="keras_graft")
class NSGDA(GraftedOptimizer):
    r"""Normalized SGD(A): each block moves a set length along its gradient.

    With $d_{t,b}$ the gradient of block $b$ (or its momentum average, below),

    $$
    \theta_b \leftarrow \theta_b - \eta_b\,\frac{d_{t,b}}{\lVert d_{t,b} \rVert},
    \qquad
    \eta_b = \begin{cases}
        \eta & \text{scale="constant" (default)}\\
        \eta \sqrt{n_b} & \text{scale="sqrt\_size"}
    \end{cases}
    $$

    where $n_b$ is the number of parameters of the block. A block whose
    direction is zero does not move.

    With `scale="constant"` every block moves exactly `learning_rate` per step,
    whatever the scale of its gradient: the paper's nSGDA. `scale="sqrt_size"`
    mimics Adam's step length (with steady gradients each coordinate of Adam's
    step is about $\eta$ in size, so a block of $n_b$ parameters moves about
    $\eta\sqrt{n_b}$), so that Adam's learning rates carry over.

    Options the paper leaves open, and the choices here:

    - momentum: `momentum > 0` averages then normalizes (heavy ball,
      $u_t = \mu u_{t-1} + g_t$, direction $u_t$, or $g_t + \mu u_t$ with
      `nesterov=True`), as in normalized SGD with momentum (Cutkosky and
      Mehta, 2020). The default `momentum=0` is the paper's plain nSGDA.
    - block: `granularity` (a variable, a layer, or all parameters).
    - schedule: any Keras learning-rate schedule; a decay to zero lets the
      normalized iterates settle (a constant step keeps moving by $\eta$).
    - sparse gradients (an `Embedding`'s `tf.IndexedSlices` or JAX `BCOO`):
      made dense before the step, which is then the dense gradient's. Only
      with `momentum=0` and no weight decay would the rows outside the
      gradient stay put (a sparse step); that case alone is not worth a second
      code path.

    Args:
        learning_rate (float | keras.optimizers.schedules.LearningRateSchedule):
            the step length $\eta$ of a block. Defaults to 0.01.
        momentum (float): momentum $\mu$ in [0, 1). Defaults to 0.
        nesterov (bool): use Nesterov momentum. Defaults to False.
        scale (str): "constant" or "sqrt_size": how a block's step length
            depends on its size. Defaults to "constant".
        granularity (str): what a block is: "variable" (default), "layer" or
            "global".
        **kwargs (Any): `skip_nonfinite` and Keras's base-optimizer arguments
            (`name`, `weight_decay`, clipping, EMA, loss scaling, gradient
            accumulation), shared by every optimizer of this package and
            documented once under
            [`GraftedOptimizer`][keras_graft.optimizers.GraftedOptimizer].
    """

    def __init__(
        self,
        learning_rate=0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        scale: str = "constant",
        granularity: str = "variable",
        name: str = "nsgda",
        **kwargs,
    ):
        momentum = check_float(momentum, "momentum", low=0.0, high=1.0, high_open=True)
        nesterov = check_bool(nesterov, "nesterov")
        scale = check_choice(scale, "scale", SCALES)
        super().__init__(learning_rate, granularity=granularity, name=name, **kwargs)
        self.momentum, self.nesterov, self.scale = momentum, nesterov, scale

    def _build_rule(self, var_list):
        self._momentums = []
        if self.momentum > 0:
            self._momentums = self.add_optimizer_variables(var_list, "momentum")

    def _rule(self, gradient, variable, learning_rate):
        if self.momentum == 0:
            return None, gradient
        u = self._momentums[self._get_variable_index(variable)]
        gradient = ops.cast(gradient, u.dtype)
        self.assign(u, ops.add(ops.multiply(u, self.momentum), gradient))
        if self.nesterov:
            return None, ops.add(gradient, ops.multiply(u, self.momentum))
        return None, u

    def _block_magnitude(self, magnitude_sq, block_size, learning_rate):
        if self.scale == "sqrt_size":
            return learning_rate * ops.sqrt(block_size)
        # Every block's length is the rate: the scalar, which broadcasts over
        # the blocks (no vector of ones to build each step).
        return learning_rate

    def get_config(self):
        config = super().get_config()
        config.update(
            {"momentum": self.momentum, "nesterov": self.nesterov, "scale": self.scale}
        )
        return config

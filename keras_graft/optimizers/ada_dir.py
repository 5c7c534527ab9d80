"""AdaDir: SGD's step magnitude on Adam's direction (the reverse graft)."""

from __future__ import annotations

import keras
from keras import ops

from keras_graft.optimizers._adam import AdamGraft


@keras.saving.register_keras_serializable(package="keras_graft")
class AdaDir(AdamGraft):
    r"""The reverse graft: each block moves as far as SGD would, along Adam's step.

    SGD#Adam in the notation of Agarwal et al. With Adam's moments $m_t, v_t$
    updated from the raw gradient $g_t$ (as in `AdaNSGDA`) and Adam's direction
    $D_t = m_t / (\sqrt{v_t} + \hat\epsilon)$ (the positive bias-correction factor
    does not change a direction), each block $b$ moves by

    $$
    \theta_b \leftarrow \theta_b - \eta\,\lVert g_{t,b} \rVert\,
        \frac{D_{t,b}}{\lVert D_{t,b} \rVert},
    $$

    and does not move when $D_{t,b} = 0$. The paper finds that this graft does
    *not* recover Adam's performance in GANs: Adam's magnitude is what matters.

    Args:
        learning_rate (float | keras.optimizers.schedules.LearningRateSchedule):
            SGD's learning rate $\eta$. Defaults to 0.01.
        beta_1 (float): decay of Adam's first moment, in [0, 1). Defaults to 0.9.
        beta_2 (float): decay of Adam's second moment, in [0, 1). Defaults to 0.999.
        epsilon (float): Adam's "epsilon hat". Defaults to 1e-7.
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
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        granularity: str = "variable",
        name: str = "ada_dir",
        **kwargs,
    ):
        super().__init__(
            learning_rate, beta_1, beta_2, epsilon, granularity, name, **kwargs
        )

    def _rule(self, gradient, variable, learning_rate):
        gradient, direction = self._adam_direction(gradient, variable)
        lr = ops.cast(learning_rate, "float32")
        gradient_sq = self._sum_of_squares(gradient)
        return ops.square(lr) * gradient_sq, direction

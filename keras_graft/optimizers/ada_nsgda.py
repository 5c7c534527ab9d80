"""Ada-nSGDA: Adam's step magnitude on SGD's normalized direction."""

from __future__ import annotations

import keras
from keras import ops

from keras_graft.optimizers._adam import AdamGraft


@keras.saving.register_keras_serializable(package="keras_graft")
class AdaNSGDA(AdamGraft):
    r"""Ada-nSGDA: each block moves as far as Adam would, along the gradient.

    The paper's graft of Adam's magnitude onto SGD's direction (Adam#SGD in the
    notation of Agarwal et al.). With gradient ``g`` and Adam's moments updated
    from the raw gradient as usual,

    $$
    m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad
    v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,
    $$

    $$
    A_t = \eta\,\frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t}\,
          \frac{m_t}{\sqrt{v_t} + \hat\epsilon}
    \quad\text{(Keras's Adam step)},
    $$

    each block $b$ (see ``granularity``) moves by

    $$
    \theta_b \leftarrow \theta_b - \lVert A_{t,b} \rVert\,
        \frac{g_{t,b}}{\lVert g_{t,b} \rVert},
    $$

    and does not move when $g_{t,b} = 0$. Norms are taken in float32.

    Example:

    ```python
    model.compile(optimizer=keras_graft.optimizers.AdaNSGDA(1e-3), loss="mse")
    ```

    Args:
        learning_rate (float | keras.optimizers.schedules.LearningRateSchedule):
            Adam's learning rate. Defaults to 0.001.
        beta_1 (float): decay of Adam's first moment, in [0, 1). Defaults to 0.9.
        beta_2 (float): decay of Adam's second moment, in [0, 1). Defaults to 0.999.
        epsilon (float): Adam's "epsilon hat" (Keras's convention, added to
            ``sqrt(v_t)`` before bias correction). Defaults to 1e-7.
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
        learning_rate=0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        granularity: str = "variable",
        name: str = "ada_nsgda",
        **kwargs,
    ):
        super().__init__(
            learning_rate, beta_1, beta_2, epsilon, granularity, name, **kwargs
        )

    def _rule(self, gradient, variable, learning_rate):
        gradient, adam = self._adam_direction(gradient, variable)
        alpha = self._alpha(learning_rate)
        return ops.square(alpha) * self._sum_of_squares(adam), gradient

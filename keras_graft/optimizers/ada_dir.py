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
        **kwargs (Any): base optimizer arguments (`name`, `weight_decay`, `clipnorm`,
            `clipvalue`, `global_clipnorm`, `use_ema`, `ema_momentum`,
            `ema_overwrite_frequency`, `loss_scale_factor`,
            `gradient_accumulation_steps`).
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
        super().__init__(learning_rate, beta_1, beta_2, epsilon, granularity, name, **kwargs)

    def _rule(self, gradient, variable, learning_rate):
        gradient, direction = self._adam_direction(gradient, variable)
        lr = ops.cast(learning_rate, "float32")
        magnitude_sq = ops.square(lr) * ops.sum(ops.square(ops.cast(gradient, "float32")))
        return magnitude_sq, direction

    def _torch_foreach_rule(self, grads, variables, learning_rate):
        import torch

        grads, directions = self._torch_adam_directions(grads, variables)
        lr = ops.cast(learning_rate, "float32")
        norms = torch._foreach_norm([g if g.dtype == torch.float32 else g.float() for g in grads])
        return lr * lr * torch.stack(norms) ** 2, directions

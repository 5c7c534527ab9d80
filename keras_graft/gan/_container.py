"""One optimizer object holding both players' optimizers.

The JAX trainer threads only `model.optimizer.variables` through a step, and
`Model.compile` builds a default optimizer when given none. `GAN.compile` sets
`model.optimizer` to this container (modelled on keras `LossScaleOptimizer`):
its `variables` are the discriminator optimizer's followed by the generator
optimizer's, so every backend, checkpoint and `.keras` file sees both states.
"""

from __future__ import annotations

from typing import Any

import keras


@keras.saving.register_keras_serializable(package="keras_graft")
class _PlayerOptimizers(keras.optimizers.Optimizer):
    """Container for `d_optimizer` and `g_optimizer` (not applied directly)."""

    def __init__(
        self,
        d_optimizer: keras.optimizers.Optimizer,
        g_optimizer: keras.optimizers.Optimizer,
        name: str = "gan_optimizers",
        **kwargs: Any,
    ):
        super().__init__(learning_rate=0.0, name=name, **kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        # The players' variables, behind a function: an optimizer tracks the
        # variables (and lists of them) assigned to it as its own state.
        self._player_variables = lambda: ([], [])

    def build_players(self, discriminator: keras.Model, generator: keras.Model) -> None:
        """Build both optimizers on their players' trainable variables."""
        self._player_variables = lambda: (
            discriminator.trainable_variables,
            generator.trainable_variables,
        )
        d_vars, g_vars = self._player_variables()
        if not self.d_optimizer.built:
            self.d_optimizer.build(d_vars)
        if not self.g_optimizer.built:
            self.g_optimizer.build(g_vars)
        self.built = True

    def build(self, var_list: list) -> None:
        # Built by `GAN.compile` through `build_players`; Keras may call this
        # with all trainable variables, which must not create any state.
        self.built = True

    @property
    def variables(self) -> list:
        return self.d_optimizer.variables + self.g_optimizer.variables

    @property
    def iterations(self):
        # One generator update per batch: this is the model's step counter.
        return self.g_optimizer.iterations

    def apply(self, grads, trainable_variables=None):
        raise NotImplementedError(
            "The GAN's optimizer container is not applied directly; use "
            "`gan.d_optimizer` and `gan.g_optimizer`."
        )

    def stateless_apply(self, optimizer_variables, grads, trainable_variables):
        raise NotImplementedError(
            "The GAN's optimizer container is not applied directly; use "
            "`gan.d_optimizer` and `gan.g_optimizer`."
        )

    def save_own_variables(self, store) -> None:
        """Nothing: the players' optimizers save their own states.

        They are attributes of the container, so a `.keras` file or a
        checkpoint visits each of them; saving `variables` here too (as the
        base class would) stored every state twice.
        """

    def load_own_variables(self, store) -> None:
        """Nothing to load (files from keras_graft 0.1.0 hold a copy here)."""

    def scale_loss(self, loss):
        return loss

    def finalize_variable_values(self, var_list):
        """Each optimizer on its player's variables (e.g. EMA weights)."""
        d_vars, g_vars = self._player_variables()
        self.d_optimizer.finalize_variable_values(d_vars)
        self.g_optimizer.finalize_variable_values(g_vars)

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
            "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        config = dict(config)
        d = keras.saving.deserialize_keras_object(
            config.pop("d_optimizer"), custom_objects=custom_objects
        )
        g = keras.saving.deserialize_keras_object(
            config.pop("g_optimizer"), custom_objects=custom_objects
        )
        return cls(d, g, **config)

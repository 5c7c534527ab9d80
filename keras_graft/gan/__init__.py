"""The GAN model of keras_graft and its losses.

`GAN` trains a generator against a discriminator with `fit` on every Keras
backend; `TrainConfig` is how it trains (`gan.train_config`, set by
`compile`); `losses` holds the GAN losses and gradient penalties written with
`keras.ops`.
"""

from keras_graft.gan import losses
from keras_graft.gan._config import TrainConfig
from keras_graft.gan.model import GAN

__all__ = ["GAN", "TrainConfig", "losses"]

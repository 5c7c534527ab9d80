"""The GAN model of keras_graft and its losses.

`GAN` trains a generator against a discriminator with `fit` on every Keras
backend; `losses` holds the GAN losses and gradient penalties written with
`keras.ops`.
"""

from keras_graft.gan import losses
from keras_graft.gan.model import GAN

__all__ = ["GAN", "losses"]

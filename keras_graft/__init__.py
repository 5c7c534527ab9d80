"""keras_graft: grafted optimizers and a multi-backend GAN for Keras 3.

Implements "Dissecting adaptive methods in GANs" (Jelassi, Dobre, Mensch, Li,
Gidel; arXiv 2210.04319): Adam's update split into a magnitude and a direction,
grafted onto SGD (Ada-nSGDA), normalized SGDA (nSGDA), and the tools to see why
they train GANs.
"""

__version__ = "0.1.0"

from keras_graft import optimizers  # noqa: E402,F401
from keras_graft.gan import GAN  # noqa: E402,F401
from keras_graft import callbacks  # noqa: E402,F401
from keras_graft import datasets, metrics  # noqa: E402,F401
from keras_graft import experiments  # noqa: E402,F401

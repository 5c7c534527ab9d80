"""Grafted optimizers: Keras optimizers that combine a step magnitude and a direction.

- `AdaNSGDA`: Adam's magnitude on SGD's normalized direction (the paper's Ada-nSGDA).
- `AdaDir`: SGD's magnitude on Adam's direction (the reverse graft).
- `NSGDA`: normalized SGD(A).
- `Graft`: any optimizer's magnitude on any other optimizer's direction.

All are `keras.optimizers.Optimizer` subclasses, registered for serialization
under the package name "keras_graft".
"""

from keras_graft.optimizers._base import GRANULARITIES, GraftedOptimizer
from keras_graft.optimizers.ada_dir import AdaDir
from keras_graft.optimizers.ada_nsgda import AdaNSGDA
from keras_graft.optimizers.graft import Graft
from keras_graft.optimizers.nsgda import NSGDA

__all__ = ["AdaDir", "AdaNSGDA", "GRANULARITIES", "Graft", "GraftedOptimizer", "NSGDA"]

"""The one place that picks a backend module for the running Keras backend.

`keras_graft.optimizers._backend` and `keras_graft.gan._backend` each hold one
module per backend (`tensorflow.py`, `jax.py`, `torch.py`) with the few lines
that differ per backend; `backend_module` imports the one for the backend Keras
runs on, or raises a clear error for a backend keras_graft does not support.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import keras

SUPPORTED = ("tensorflow", "jax", "torch")


def backend_module(package: str) -> ModuleType:
    """`<package>.<backend>` for Keras's backend (`keras.backend.backend()`).

    Raises:
        ImportError: the backend is not one keras_graft supports.
    """
    name = keras.backend.backend()
    if name not in SUPPORTED:
        raise ImportError(
            f"keras_graft supports the Keras backends {list(SUPPORTED)}; Keras runs "
            f"on {name!r}. Set KERAS_BACKEND to one of them before importing keras."
        )
    return importlib.import_module(f"{package}.{name}")

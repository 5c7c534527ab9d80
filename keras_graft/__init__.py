"""keras_graft: grafted optimizers and a multi-backend GAN for Keras 3.

Implements "Dissecting adaptive methods in GANs" (Jelassi, Dobre, Mensch, Li,
Gidel; arXiv 2210.04319): Adam's update split into a magnitude and a direction,
grafted onto SGD (Ada-nSGDA), normalized SGDA (nSGDA), and the tools to see why
they train GANs.
"""

__version__ = "0.1.0"


def _pick_installed_backend() -> None:
    """Chooses an installed Keras backend when Keras's default one is missing.

    Keras uses the backend of ``KERAS_BACKEND`` or ``keras.json``, TensorFlow by
    default, and fails to import when that package is missing. When it is
    (e.g. after ``pip install keras-graft[jax]``), use an installed one (JAX,
    then PyTorch). Nothing changes when keras is already imported, when
    ``KERAS_BACKEND`` is set, or when the configured backend is installed.
    """
    import importlib.util
    import json
    import os
    import sys

    if "keras" in sys.modules or os.environ.get("KERAS_BACKEND"):
        return
    from keras_graft._utils import keras_home  # imports no keras

    home = keras_home()
    try:
        with open(os.path.join(home, "keras.json")) as f:
            configured = json.load(f).get("backend", "tensorflow")
    except (OSError, ValueError):
        configured = "tensorflow"
    if importlib.util.find_spec(configured) is not None:
        return
    for name in ("jax", "torch", "tensorflow"):
        if importlib.util.find_spec(name) is not None:
            os.environ["KERAS_BACKEND"] = name
            return


_pick_installed_backend()

from typing import TYPE_CHECKING  # noqa: E402

from keras_graft import _lazy  # noqa: E402 (imports no keras)

if TYPE_CHECKING:  # for type checkers and the API reference; at run time, lazy
    from keras_graft import (
        callbacks,
        datasets,
        experiments,
        gan,
        metrics,
        optimizers,
    )
    from keras_graft.gan import GAN

# Public names, imported on first use; the Keras classes are registered with
# Keras as soon as Keras is imported (see `keras_graft._lazy`).
__getattr__, __dir__ = _lazy.lazy_attributes(
    __name__,
    {"GAN": "gan"},
    ("callbacks", "datasets", "experiments", "gan", "metrics", "optimizers"),
)
__all__ = [
    "GAN",
    "callbacks",
    "datasets",
    "experiments",
    "gan",
    "metrics",
    "optimizers",
]
_lazy.register_with_keras()

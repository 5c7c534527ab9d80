"""One backend dispatch for the package, with a clear error for other backends."""

import os
import subprocess
import sys

import pytest


@pytest.mark.backend("jax")
def test_unsupported_backend_gets_a_clear_error():
    env = dict(os.environ, KERAS_BACKEND="numpy")
    proc = subprocess.run(
        [sys.executable, "-c", "import keras_graft"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0
    assert "ImportError: keras_graft supports the Keras backends" in proc.stderr
    assert "'numpy'" in proc.stderr


def test_gan_and_optimizers_use_the_running_backend():
    import keras

    from keras_graft.gan import model
    from keras_graft.optimizers import _backend

    name = keras.backend.backend()
    assert model._B.__name__ == f"keras_graft.gan._backend.{name}"
    assert _backend.update_step.__module__ == f"keras_graft.optimizers._backend.{name}"

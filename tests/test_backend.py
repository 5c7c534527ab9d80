"""One backend dispatch for the package, with a clear error for other backends."""

import os
import pathlib
import re
import subprocess
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "keras_graft"


@pytest.mark.backend("jax")
def test_unsupported_backend_gets_a_clear_error():
    env = dict(os.environ, KERAS_BACKEND="numpy")
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            # Keras itself still imports after keras_graft (the import hook
            # that registers keras_graft's classes lets the error pass); the
            # error comes when keras_graft is used.
            "import keras_graft, keras; print(keras.backend.backend()); "
            "keras_graft.optimizers",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0
    assert proc.stdout.split() == ["numpy"]
    assert "ImportError: keras_graft supports the Keras backends" in proc.stderr
    assert "'numpy'" in proc.stderr


def test_gan_and_optimizers_use_the_running_backend():
    import keras

    from keras_graft._backend import backend_module
    from keras_graft.gan import model
    from keras_graft.optimizers import _backend

    name = keras.backend.backend()
    assert model.gan_backend.__name__ == f"keras_graft.gan._backend.{name}"
    assert _backend.update_step.__module__ == f"keras_graft.optimizers._backend.{name}"
    experiments = backend_module("keras_graft.experiments._backend")
    assert experiments.__name__ == f"keras_graft.experiments._backend.{name}"


def test_backend_imports_stay_in_the_backend_modules():
    # TensorFlow, JAX and PyTorch are imported by the backend modules only,
    # and TensorFlow by the tfds data loading.
    pattern = re.compile(r"^\s*(import|from) (tensorflow|jax|torch)\b", re.M)
    allowed = {"datasets/images.py"}
    found = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        if "/_backend/" in f"/{relative}" or relative in allowed:
            continue
        found += [
            f"{relative}: {m.group(0).strip()}"
            for m in pattern.finditer(path.read_text())
        ]
    assert found == []
    # The checks above would find one: the backend modules do import them.
    assert pattern.search((PACKAGE / "experiments/_backend/jax.py").read_text())

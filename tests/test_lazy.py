"""`keras_graft._lazy`: nothing heavy at `import keras_graft`, Keras classes
registered as soon as Keras is imported, names imported on first use.

Each check runs in a fresh interpreter: the order of imports is the subject.
The saved-model check runs on every backend (TensorFlow imports Keras while it
is itself imported); the others, which do not depend on the backend, on JAX.
"""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest


def _python(code: str, tmp_path=None) -> str:
    """Runs `code` in a fresh interpreter on this test's backend; its stdout."""
    env = dict(os.environ, KERAS_BACKEND=keras.backend.backend())
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


@pytest.mark.backend("jax")  # the import order, not the backend, is tested
def test_import_loads_no_keras_and_keras_registers_the_classes():
    out = _python(
        """
        import sys
        import keras_graft
        print("after keras_graft:", "keras" in sys.modules, "tensorflow" in sys.modules)
        import keras
        for name in ("AdaNSGDA", "NSGDA", "AdaDir", "Graft", "GAN", "LinearDecay",
                     "DepthToSpace"):
            assert keras.saving.get_registered_object(f"keras_graft>{name}"), name
        loaded = [m for m in ("keras_graft.experiments.synthetic",
                              "keras_graft.experiments.plots", "keras_graft.metrics",
                              "keras_graft.datasets", "keras_graft.callbacks",
                              "tensorflow_datasets") if m in sys.modules]
        print("loaded on first use only:", loaded)
        from keras_graft import GAN, optimizers
        from keras_graft.experiments import reproduce, SyntheticConfig
        print(GAN.__module__, optimizers.AdaNSGDA.__name__, reproduce.__module__,
              SyntheticConfig.__name__)
        print("GAN" in dir(keras_graft), "reproduce" in dir(keras_graft.experiments))
        """
    )
    lines = out.splitlines()
    assert lines[0] == "after keras_graft: False False"
    assert lines[1] == "loaded on first use only: []"
    assert lines[2].split() == [
        "keras_graft.gan.model",
        "AdaNSGDA",
        "keras_graft.experiments.reproduce",
        "SyntheticConfig",
    ]
    assert lines[3] == "True True"


@pytest.mark.backend("jax")  # the import order, not the backend, is tested
def test_keras_imported_first_registers_at_import():
    out = _python(
        """
        import sys
        import keras
        import keras_graft
        print(keras.saving.get_registered_object("keras_graft>AdaNSGDA").__name__)
        print("keras_graft.experiments.reproduce" in sys.modules)
        """
    )
    assert out.split() == ["AdaNSGDA", "False"]


def test_unknown_name_raises_attribute_error():
    import keras_graft
    import keras_graft.experiments

    with pytest.raises(AttributeError, match="'keras_graft' has no attribute 'Gan'"):
        keras_graft.Gan
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        keras_graft.experiments.nope


# TensorFlow imports Keras while it is itself being imported: the order that
# most needs the hook; JAX's is the plain one. (PyTorch's is JAX's.)
@pytest.mark.backend("tensorflow", "jax")
def test_saved_model_loads_after_a_bare_import(tmp_path):
    # Saved here, loaded in another process that imports keras_graft before
    # keras and touches none of its names: the hook registered the classes.
    from keras_graft.experiments import LinearDecay
    from keras_graft.optimizers import AdaNSGDA

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=AdaNSGDA(LinearDecay(0.1, 10)), loss="mse")
    model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    model.save(str(tmp_path / "m.keras"))
    # A search for Keras alone loads nothing (TensorFlow searches, then
    # imports Keras while it is itself being imported).
    out = _python(
        f"""
        import importlib.util
        import keras_graft
        importlib.util.find_spec("keras")
        import {keras.backend.backend()}
        import keras

        model = keras.saving.load_model("m.keras")
        config = model.optimizer.get_config()
        print(type(model.optimizer).__name__,
              config["learning_rate"]["registered_name"],
              int(model.optimizer.iterations))
        """,
        tmp_path,
    )
    assert out.split() == ["AdaNSGDA", "keras_graft>LinearDecay", "1"]


@pytest.mark.backend("jax")  # the import order, not the backend, is tested
def test_cli_help_imports_no_keras():
    out = _python(
        """
        import runpy, sys
        sys.argv = ["keras-graft", "--help"]
        try:
            runpy.run_module("keras_graft", run_name="__main__")
        except SystemExit as e:
            assert e.code == 0, e.code
        print("keras imported:", "keras" in sys.modules)
        """
    )
    assert "reproduce" in out
    assert "keras imported: False" in out


@pytest.mark.parametrize("name", ["keras_graft", "keras_graft.experiments"])
def test_public_names_resolve_and_match_the_static_imports(name):
    import ast
    import importlib

    module = importlib.import_module(name)
    for public in module.__all__:
        assert getattr(module, public) is not None, public
    # The TYPE_CHECKING imports (what type checkers and the API reference
    # read) name exactly the public names.
    tree = ast.parse(open(module.__file__).read())
    guarded = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING"
    )
    static = {
        alias.asname or alias.name
        for node in ast.walk(guarded)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert static == set(module.__all__)


def test_a_submodule_import_keeps_the_public_name():
    # `keras_graft.experiments.reproduce` is the function, defined in the
    # submodule of the same name; importing that submodule (`import
    # keras_graft.experiments.reproduce`, a worker unpickling a job) binds it
    # to the package, as below, and must not replace the function.
    import importlib

    experiments = importlib.import_module("keras_graft.experiments")
    module = importlib.import_module("keras_graft.experiments.reproduce")
    experiments.reproduce = module  # what the import system does
    assert experiments.reproduce is module.reproduce
    assert callable(experiments.reproduce)
    experiments.stats = importlib.import_module("keras_graft.experiments.stats")
    assert experiments.stats.__name__ == "keras_graft.experiments.stats"

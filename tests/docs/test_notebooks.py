"""Every tutorial notebook executes headless on the current backend.

Each notebook runs in a fresh Jupyter kernel with `KERAS_BACKEND` set to this
process's backend and `KERAS_GRAFT_TUTORIAL_SIZE=ci` (a few seconds of
compute), from a temporary folder, and must finish without an error output.
"""

import os
import sys
import time

import keras
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import notebooks  # noqa: E402

NOTEBOOKS = notebooks.notebooks()


def test_there_are_five_tutorials():
    names = [os.path.basename(p) for p in NOTEBOOKS]
    assert names == [
        "01_quickstart.ipynb",
        "02_dissecting_adam.ipynb",
        "03_mode_collapse_synthetic.ipynb",
        "04_nsgda_image_datasets.ipynb",
        "05_extending.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_notebook_runs_at_ci_size(path, tmp_path):
    backend = keras.backend.backend()
    start = time.perf_counter()
    try:
        nb, seconds = notebooks.execute(path, backend, "ci", timeout=300, cwd=str(tmp_path))
    except Exception as error:  # nbclient's CellExecutionError carries the traceback
        pytest.fail(f"{os.path.basename(path)} failed on {backend}:\n{error}")
    assert notebooks.error_outputs(nb) == []
    print(f"{os.path.basename(path)} on {backend}: {time.perf_counter() - start:.1f} s")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_notebook_structure(path):
    """Badge, guarded install, backend chosen before Keras, size parameter."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    name = os.path.basename(path)
    sources = [c.source for c in nb.cells]
    text = "\n".join(sources)
    badge = (
        "https://colab.research.google.com/github/keras-graft/keras_graft/blob/main/"
        f"tutorials/{name}"
    )
    assert badge in sources[0] or badge in sources[1]
    assert 'find_spec("keras_graft") is None' in text and "keras-graft" in text
    backend_cell = next(i for i, s in enumerate(sources) if "KERAS_BACKEND" in s)
    assert 'os.environ.setdefault("KERAS_BACKEND", "jax")' in sources[backend_cell]
    import_cell = next(i for i, s in enumerate(sources) if "import keras" in s)
    assert backend_cell < import_cell
    assert "KERAS_GRAFT_TUTORIAL_SIZE" in text
    assert 'matplotlib.use("Agg")' not in text
    assert os.path.getsize(path) < 1.5e6


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_notebook_carries_outputs_of_a_run(path):
    """The committed notebooks show the outputs of a real run, figures included."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code), "not every cell was run"
    assert notebooks.error_outputs(nb) == []
    kinds = {
        k for c in code for out in c.get("outputs", []) for k in out.get("data", {})
    }
    assert "image/png" in kinds

"""Shared test setup: quiet logs, a throw-away KERAS_HOME, no network."""

import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
# JAX on CPU: XLA's LLVM back end at its lowest optimization level. The
# suite's models are tiny, so compiling them, not running them, takes most of
# the JAX suite's time (its GAN tests run about 40% faster); the results stay
# within the tests' tolerances. Inherited by the subprocesses and notebook
# kernels the tests start; a value set by the caller wins.
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0")
if "KERAS_HOME" not in os.environ:
    os.environ["KERAS_HOME"] = tempfile.mkdtemp(prefix="keras_home_")

import keras
import pytest

from tests.run_backends import PART_ENV


@pytest.fixture(autouse=True)
def _reset_keras_state():
    """Each test starts with float32, the default policy and fresh names."""
    keras.config.set_floatx("float32")
    keras.config.set_dtype_policy("float32")
    keras.utils.clear_session(free_memory=False)
    yield
    keras.config.set_dtype_policy("float32")


@pytest.fixture(scope="module")
def one_torch_thread():
    """torch single-threaded for a module (other backends untouched).

    On a shared 2-core machine torch's OpenMP threads spin when the CPUs are
    oversubscribed (training took 58 s with 2 threads vs 7 s with 1 under load).
    Use with `pytestmark = pytest.mark.usefixtures("one_torch_thread")`.
    """
    if keras.backend.backend() != "torch":
        yield
        return
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


#: The end-to-end tests (the tutorials, the site, the `reproduce` command):
#: `KERAS_GRAFT_TEST_PART=end-to-end` (`PART_ENV`) selects them, `unit` the
#: rest, so that `tests/run_backends.py` runs a long suite in two processes.
#: Unset: all.
END_TO_END = ("tests/docs/", "tests/experiments/test_reproduce.py")
PARTS = ("unit", "end-to-end")


def _in_part(item, part: str | None) -> bool:
    if part is None:
        return True
    return item.nodeid.startswith(END_TO_END) == (part == "end-to-end")


def pytest_collection_modifyitems(config, items):
    """Tests marked `backend("jax")` run only in the pytest process of that backend.

    Such tests start their own subprocess with that backend (device flags must
    be set before the framework loads), so running them in each of the three
    per-backend processes would only repeat them. With
    `KERAS_GRAFT_TEST_PART` set, only that part's tests run (`PARTS`).
    """
    backend = keras.backend.backend()
    part = os.environ.get(PART_ENV) or None
    if part is not None and part not in PARTS:
        raise pytest.UsageError(
            f"{PART_ENV}: expected one of {PARTS}; received {part!r}"
        )
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("backend")
        skip = marker and backend not in marker.args
        (drop if skip or not _in_part(item, part) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep

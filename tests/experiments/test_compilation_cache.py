"""JAX workers keep XLA's compiled steps on disk: faster runs, the same numbers."""

import numpy as np
import pytest

pytestmark = pytest.mark.backend("jax")


def test_worker_cache_gives_the_same_numbers(tmp_path, monkeypatch):
    import jax

    from keras_graft.experiments import get_preset
    from keras_graft.experiments._backend import jax as backend
    from keras_graft.experiments.gan_runs import run_gan

    from dataclasses import replace

    from jax._src import compilation_cache

    import filelock  # noqa: F401  (the cache needs it: the `jax` extra has it)

    from keras_graft.experiments import gan_runs

    # Every run builds and compiles its own GAN here (no restarted GANs).
    monkeypatch.setattr(gan_runs, "_REUSE_BACKENDS", ())
    # Compiled steps (the tiny preset's run eagerly).
    bench = replace(get_preset("tiny").gans[1].config, run_eagerly=False)
    before = run_gan(bench, "adam", seed=3)  # compiled, no cache yet
    saved = {
        k: getattr(jax.config, k)
        for k in (
            "jax_compilation_cache_dir",
            "jax_compilation_cache_max_size",
            "jax_persistent_cache_min_compile_time_secs",
        )
    }
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", str(tmp_path / "cache"))
    try:
        backend.init_worker()
        # A worker sets the cache before its first compilation; this process
        # compiled already, and JAX decides once whether it uses a cache.
        compilation_cache.reset_cache()
        assert jax.config.jax_compilation_cache_dir == str(tmp_path / "cache")
        assert (
            jax.config.jax_compilation_cache_max_size == backend.COMPILATION_CACHE_BYTES
        )
        first = run_gan(bench, "adam", seed=3)  # compiled and written
        second = run_gan(bench, "adam", seed=3)  # read back from the cache
    finally:
        for k, v in saved.items():
            jax.config.update(k, v)
        compilation_cache.reset_cache()
    assert any((tmp_path / "cache").iterdir())
    for r in (first, second):
        assert r["evals"] == before["evals"]
        assert r["pace"] == before["pace"]
        np.testing.assert_array_equal(r["samples"], before["samples"])


def test_the_jax_extra_installs_what_the_cache_needs():
    """Without `filelock` JAX keeps no shared cache and every run of the
    README's main command (`pip install ".[jax]"`) compiles its steps again:
    the default's ring runs took 4.2-7.1 s each instead of 1.2-1.9 s."""
    import os
    import tomllib

    root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    with open(os.path.join(root, "pyproject.toml"), "rb") as f:
        extras = tomllib.load(f)["project"]["optional-dependencies"]
    assert any(r.startswith("filelock") for r in extras["jax"]), extras["jax"]

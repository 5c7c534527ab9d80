"""Tests of the tutorials and of the documentation site.

The notebooks run on every backend (each pytest process of
`tests/run_backends.py` tests its own `KERAS_BACKEND`). The site does not
depend on the backend, so `test_site.py` (the strict MkDocs build and the
headless-browser check) is collected only in the JAX process: it runs once per
`run_backends.py` invocation, not skipped twice. Run it alone with
`KERAS_BACKEND=jax python -m pytest tests/docs/test_site.py`.
"""

import keras

collect_ignore = []
if keras.backend.backend() != "jax":
    collect_ignore.append("test_site.py")

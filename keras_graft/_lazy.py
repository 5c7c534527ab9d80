"""Imports on first use, and keras_graft's Keras classes registered with Keras.

`import keras_graft` imports neither Keras nor TensorFlow: the package's
modules are imported when first used (`keras_graft.GAN`,
`keras_graft.experiments`, ...; PEP 562 module ``__getattr__``), so that the
`keras-graft` command answers ``--help`` at once and sets ``KERAS_BACKEND``
before Keras is imported.

One thing cannot wait for first use: `keras.saving.load_model` finds a class
of this package (an optimizer, the GAN, a schedule) only once the module that
defines it has run its `keras.saving.register_keras_serializable`. So the
modules in `REGISTERING` are imported as soon as Keras is: at once if Keras is
already imported, otherwise right after its import finishes (a one-shot import
hook on the ``keras`` module, removed when Keras loads).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from types import ModuleType
from typing import Any, Callable

#: The modules that register Keras classes (optimizers, the GAN and its
#: optimizer container, the experiments' schedule and layer).
REGISTERING = (
    "keras_graft.optimizers",
    "keras_graft.gan",
    "keras_graft.experiments.schedules",
    "keras_graft.experiments.networks",
)


def lazy_attributes(
    package: str, attributes: dict[str, str], submodules: tuple[str, ...] = ()
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module ``__getattr__`` and ``__dir__`` that import names on first use.

    Args:
        package (str): The module's name (its ``__name__``).
        attributes (dict[str, str]): Each public name to the submodule of
            `package` that defines it (``{"GAN": "gan"}``).
        submodules (tuple[str, ...]): Public submodules (``("metrics",)``).

    Returns:
        tuple: ``(__getattr__, __dir__)`` for the module.
    """

    def __getattr__(name: str) -> Any:
        if name in submodules:
            # The import binds the submodule to the package: no second call.
            return importlib.import_module(f"{package}.{name}")
        if name not in attributes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{attributes[name]}"), name)
        # Bound after the import, which binds a submodule of the same name.
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        names = set(vars(sys.modules[package])) | set(attributes) | set(submodules)
        return sorted(names)

    class _Package(ModuleType):
        def __setattr__(self, name: str, value: Any) -> None:
            # The import system binds a submodule to its package once loaded;
            # a public name that its submodule of the same name defines
            # (`experiments.reproduce`, the function) keeps meaning that.
            if (
                name in attributes
                and isinstance(value, ModuleType)
                and value.__name__ == f"{package}.{attributes[name]}"
            ):
                value = getattr(value, name)
            super().__setattr__(name, value)

    sys.modules[package].__class__ = _Package
    return __getattr__, __dir__


def register_with_keras() -> None:
    """Imports the modules of `REGISTERING` now if Keras is imported, else after it."""
    if "keras" in sys.modules:
        _import_registering()
    elif not any(isinstance(f, _AfterKeras) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterKeras())


def _import_registering() -> None:
    for name in REGISTERING:
        importlib.import_module(name)


class _AfterKeras(importlib.abc.MetaPathFinder):
    """Finds ``keras`` with the other finders and wraps its loader.

    It stays on `sys.meta_path` until Keras is loaded: a search alone
    (``importlib.util.find_spec("keras")``, as TensorFlow does) loads nothing.
    """

    def __init__(self) -> None:
        self._searching = False

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != "keras" or self._searching:
            return None
        self._searching = True  # the search below asks the other finders
        try:
            spec = importlib.util.find_spec("keras")
        finally:
            self._searching = False
        if spec is not None and spec.loader is not None:
            spec.loader = _RegisteringLoader(spec.loader, self)
        return spec


class _RegisteringLoader(importlib.abc.Loader):
    """Keras's own loader, then `_import_registering` once Keras has run."""

    def __init__(self, loader: importlib.abc.Loader, finder: _AfterKeras) -> None:
        self._loader = loader
        self._finder = finder

    def create_module(self, spec: Any) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        if self._finder in sys.meta_path:
            sys.meta_path.remove(self._finder)  # its one job is done
        self._loader.exec_module(module)
        try:
            _import_registering()
        except ImportError:
            # A Keras backend keras_graft does not support: using the package
            # raises the clear error (`keras_graft._backend`); Keras still loads.
            pass

    def __getattr__(self, name: str) -> Any:
        # get_source, get_resource_reader, ...: Keras's loader answers.
        return getattr(self._loader, name)

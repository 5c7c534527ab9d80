"""A small MNIST classifier trained on the shipped digits.

Its penultimate features give an offline Fréchet distance for 28x28 digits (the
role InceptionV3 plays in FID) and its predictions measure class coverage. The
default one (3 epochs, seed 0) ships with the package, so a Fréchet distance
is one function of the samples on every backend and machine; others are
trained at first use and cached on disk.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import os
import threading
from typing import Any

import numpy as np

from keras_graft._utils import keras_home, save_atomically

#: Name of the penultimate (feature) layer of the digit classifier.
FEATURE_LAYER = "features"
#: Bumped whenever the architecture or training recipe changes (part of the cache key).
#: 2: the default classifier ships with the package (1 trained it at first use).
_RECIPE_VERSION = 2
#: The (epochs, seed) of the classifier that ships, its file in ``metrics/data``
#: and the sha256 of its weights (`_weights_sha256`), checked when they load.
_SHIPPED = (3, 0)
_SHIPPED_FILE = "digit_classifier_e3_s0.npz"
_SHIPPED_SHA256 = "0c6d13ef133b26c1cfa64783b2ce6f6a322b03321980cd5bac2ce0e3b6defe40"
_lock = threading.Lock()
_memory_cache: dict[str, Any] = {}


def cache_dir(path: str | os.PathLike | None = None) -> str:
    """The folder where keras_graft caches classifier weights and statistics.

    Args:
        path (str | os.PathLike | None): Explicit folder; if None,
            ``$KERAS_HOME/keras_graft`` when ``KERAS_HOME`` is set, else
            ``~/.keras/keras_graft``.

    Returns:
        str: The folder (created if missing).
    """
    if path is None:
        path = os.path.join(keras_home(), "keras_graft")
    path = os.fspath(path)
    os.makedirs(path, exist_ok=True)
    return path


def classifier_key(epochs: int = 3, seed: int = 0) -> str:
    """The cache key (file stem) of the digit classifier trained with these settings.

    Args:
        epochs (int): Training epochs.
        seed (int): Seed of the initialisation and the data order.

    Returns:
        str: E.g. ``"digit_classifier_v2_e3_s0"``.
    """
    return f"digit_classifier_v{_RECIPE_VERSION}_e{epochs}_s{seed}"


def build_digit_classifier(seed: int = 0) -> Any:
    """The (untrained) architecture: two conv blocks, a 128-unit feature layer, logits.

    Args:
        seed (int): Seed of the weight initialisers.

    Returns:
        keras.Model: Input (28, 28, 1) in [-1, 1], output 10 logits; the layer
        named ``"features"`` holds the 128 penultimate features.
    """
    import keras
    from keras import layers

    def init(i: int) -> Any:
        return keras.initializers.GlorotUniform(seed=seed * 100 + i)

    inputs = keras.Input((28, 28, 1), name="image")
    x = layers.Conv2D(32, 3, activation="relu", kernel_initializer=init(0))(inputs)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(64, 3, activation="relu", kernel_initializer=init(1))(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(
        128, activation="relu", kernel_initializer=init(2), name=FEATURE_LAYER
    )(x)
    outputs = layers.Dense(10, kernel_initializer=init(3), name="logits")(x)
    return keras.Model(inputs, outputs, name="digit_classifier")


def _train(model: Any, epochs: int, seed: int, verbose: int) -> None:
    import keras

    from keras_graft.datasets import load_embedded_digits

    x, y = load_embedded_digits("train")
    rng = np.random.default_rng(seed)
    # The data order is fixed here (one permutation per epoch), not by `fit`.
    order = np.concatenate([rng.permutation(len(x)) for _ in range(epochs)])
    batch_size = 32
    schedule = keras.optimizers.schedules.CosineDecay(2e-3, len(order) // batch_size)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(
        x[order],
        y[order],
        batch_size=batch_size,
        epochs=1,
        shuffle=False,
        verbose=verbose,
    )


def _weights_sha256(weights: list) -> str:
    """sha256 of a model's weights (float32, concatenated in order).

    Args:
        weights (list): Arrays, e.g. ``model.get_weights()``.

    Returns:
        str: The hexadecimal digest.
    """
    flat = [np.ravel(np.asarray(w, np.float32)) for w in weights]
    return hashlib.sha256(np.concatenate(flat).tobytes()).hexdigest()


def _shipped_weights() -> list:
    resource = importlib.resources.files("keras_graft.metrics").joinpath(
        "data/" + _SHIPPED_FILE
    )
    with resource.open("rb") as f, np.load(f) as data:
        weights = [data[f"w{i}"] for i in range(len(data.files))]
    digest = _weights_sha256(weights)
    if digest != _SHIPPED_SHA256:
        raise RuntimeError(
            f"The shipped digit classifier {_SHIPPED_FILE} is damaged: its "
            f"weights' sha256 is {digest}, expected {_SHIPPED_SHA256}. "
            "Reinstall keras_graft."
        )
    return weights


def digit_classifier(
    epochs: int = 3,
    seed: int = 0,
    cache_dir_path: str | os.PathLike | None = None,
    verbose: int = 0,
) -> Any:
    """The MNIST classifier of the first 8,000 shipped digits.

    The default (``epochs=3, seed=0``) ships with the package: trained once
    with this recipe (JAX, 2 CPU cores) and loaded from
    ``keras_graft/metrics/data/digit_classifier_e3_s0.npz``, never trained
    again, so its Fréchet distances are the same on every backend and
    machine. It reaches 97.95% accuracy on the last 2,000 shipped digits.
    Training it again gives other weights on another backend (other
    initial values), thread count or CPU, and Fréchet distances that differ
    by up to about 15% for the same samples.

    Other settings train at first use (Adam, learning rate 2e-3 with cosine
    decay, batch 32; a few epochs of a small convnet, well under a minute on
    two CPU cores) and save their weights as
    ``<cache>/digit_classifier_v2_e{epochs}_s{seed}.weights.h5`` (a Keras
    weights file, readable by every backend); later calls, in any process,
    load them. On a CPU shared with other busy processes, torch's default
    threads can slow training down tenfold or more;
    ``torch.set_num_threads(1)`` around the first call avoids it.

    Args:
        epochs (int): Training epochs.
        seed (int): Seed of the initialisation and the data order.
        cache_dir_path (str | os.PathLike | None): Cache folder (see `cache_dir`)
            of the trained ones.
        verbose (int): Verbosity of `fit` when training.

    Returns:
        keras.Model: Outputs 10 logits for images (N, 28, 28, 1) in [-1, 1].

    Example:
        >>> clf = digit_classifier()  # doctest: +SKIP
        >>> logits = clf.predict(images)  # doctest: +SKIP
    """
    shipped = (epochs, seed) == _SHIPPED
    if shipped:
        path = "shipped:" + _SHIPPED_FILE
    else:
        folder = cache_dir(cache_dir_path)
        path = os.path.join(folder, classifier_key(epochs, seed) + ".weights.h5")
    with _lock:
        if path in _memory_cache:
            return _memory_cache[path]
        model = build_digit_classifier(seed)
        if shipped:
            model.set_weights(_shipped_weights())
        elif os.path.exists(path):
            model.load_weights(path)
        else:
            _train(model, epochs, seed, verbose)
            save_atomically(path, model.save_weights, suffix=".weights.h5")
        _memory_cache[path] = model
        return model


def digit_feature_model(classifier: Any | None = None) -> Any:
    """A model mapping digits to the classifier's 128 penultimate features.

    Args:
        classifier (keras.Model | None): A model built by
            `build_digit_classifier`; None for `digit_classifier()`.

    Returns:
        keras.Model: Images (N, 28, 28, 1) in [-1, 1] to features (N, 128).
    """
    import keras

    classifier = classifier if classifier is not None else digit_classifier()
    return keras.Model(classifier.inputs, classifier.get_layer(FEATURE_LAYER).output)

"""The digit classifier (the shipped default; one trained per module, 1 epoch) and its
Fréchet distance."""

import os

import numpy as np
import pytest

from keras_graft import metrics
from keras_graft.datasets import load_embedded_digits
from keras_graft.metrics import classifier as clf_module
from keras_graft.metrics import frechet

EPOCHS = 1  # the default is 3 (about 98%); one epoch keeps the suite fast


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("keras_graft_cache"))


@pytest.fixture(scope="module")
def classifier(cache):
    return metrics.digit_classifier(epochs=EPOCHS, seed=0, cache_dir_path=cache)


@pytest.fixture(scope="module")
def test_digits():
    return load_embedded_digits("test")


def test_held_out_accuracy(classifier, test_digits):
    x, y = test_digits
    logits = classifier.predict(x, batch_size=500, verbose=0)
    assert logits.shape == (2000, 10)
    accuracy = (logits.argmax(1) == y).mean()
    assert accuracy > 0.93, accuracy


def test_weights_are_cached_on_disk_and_reloaded(classifier, cache, test_digits):
    path = os.path.join(cache, f"{metrics.classifier_key(EPOCHS, 0)}.weights.h5")
    assert os.path.exists(path)
    assert metrics.digit_classifier(epochs=EPOCHS, cache_dir_path=cache) is classifier
    # A fresh process would load the file instead of training: simulate it.
    fresh = metrics.build_digit_classifier()
    fresh.load_weights(path)
    x = test_digits[0][:64]
    np.testing.assert_allclose(
        fresh.predict(x, verbose=0), classifier.predict(x, verbose=0), atol=1e-4
    )


def test_cache_dir_follows_keras_home(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert metrics.cache_dir() == os.path.join(str(tmp_path), "keras_graft")
    assert os.path.isdir(metrics.cache_dir())


@pytest.mark.parametrize("keras_home", [None, ""])
def test_cache_dir_defaults_to_the_home_folder(monkeypatch, tmp_path, keras_home):
    # Unset or empty KERAS_HOME: ~/.keras, as Keras itself does.
    if keras_home is None:
        monkeypatch.delenv("KERAS_HOME", raising=False)
    else:
        monkeypatch.setenv("KERAS_HOME", keras_home)
    monkeypatch.setenv("HOME", str(tmp_path))
    expected = os.path.join(str(tmp_path), ".keras", "keras_graft")
    assert metrics.cache_dir() == expected and os.path.isdir(expected)


def test_frechet_distance_real_vs_real_and_noise(classifier, cache):
    train = metrics.digit_statistics("train", epochs=EPOCHS, cache_dir_path=cache)
    test = metrics.digit_statistics("test", epochs=EPOCHS, cache_dir_path=cache)
    assert train[0].shape == (128,) and train[1].shape == (128, 128)
    assert os.path.exists(
        os.path.join(cache, f"{metrics.classifier_key(EPOCHS, 0)}.stats_test.npz")
    )
    real_vs_real = metrics.frechet_distance(*train, *test)
    rng = np.random.default_rng(0)
    noise = rng.uniform(-1.0, 1.0, size=(1000, 28, 28, 1)).astype(np.float32)
    fd = metrics.FrechetDistance(metrics.DigitFeatures(classifier))
    real_vs_noise = fd(train, noise)
    assert real_vs_real < 5.0, real_vs_real
    assert real_vs_noise > 50 * real_vs_real, (real_vs_noise, real_vs_real)
    # Written in one step: no temporary file is left next to the cached ones.
    assert not [name for name in os.listdir(cache) if ".tmp" in name]
    # The statistics loaded back from disk are the ones computed.
    frechet._stats_memory.clear()
    reloaded = metrics.digit_statistics("test", epochs=EPOCHS, cache_dir_path=cache)
    np.testing.assert_allclose(reloaded[1], test[1])


def test_class_coverage_of_real_and_collapsed_digits(classifier, test_digits):
    x, y = test_digits
    real = metrics.class_coverage(x, classifier)
    assert real.classes_covered == 10
    assert real.kl_to_uniform < 0.05
    ones = x[y == 1]
    collapsed = metrics.class_coverage(ones, classifier)
    assert collapsed.classes_covered <= 2
    assert collapsed.kl_to_uniform > 1.5  # log(10) = 2.30 for a single class


def test_digit_features_reject_other_shapes(classifier):
    with pytest.raises(
        ValueError,
        match=r"Argument `images.shape` must be "
        r"\(N, 28, 28, 1\); received "
        r"images.shape=\(2, 32, 32, 3\)\.",
    ):
        metrics.DigitFeatures(classifier)(np.zeros((2, 32, 32, 3), np.float32))


def test_memory_cache_is_per_file(classifier, cache):
    assert any(k.startswith(cache) for k in clf_module._memory_cache)


def _numpy_features(weights: list, images: np.ndarray) -> np.ndarray:
    """The classifier's 128 features in numpy: two valid 3x3 convs with ReLU and
    2x2 max pooling, flatten, a dense ReLU layer (the independent reference)."""

    def conv(x, kernel, bias):
        k = kernel.shape[0]
        h, w = x.shape[1] - k + 1, x.shape[2] - k + 1
        patches = np.stack(
            [x[:, i : i + h, j : j + w, :] for i in range(k) for j in range(k)], -2
        )  # (N, h, w, k*k, C_in)
        out = np.einsum(
            "nhwpc,pco->nhwo", patches, kernel.reshape(k * k, *kernel.shape[2:])
        )
        return np.maximum(out + bias, 0.0)

    def pool(x):
        n, h, w, c = x.shape
        x = x[:, : h // 2 * 2, : w // 2 * 2]
        return x.reshape(n, h // 2, 2, w // 2, 2, c).max((2, 4))

    w = [np.asarray(v, np.float64) for v in weights]
    x = pool(conv(np.asarray(images, np.float64), w[0], w[1]))
    x = pool(conv(x, w[2], w[3]))
    return np.maximum(x.reshape(len(x), -1) @ w[4] + w[5], 0.0)


@pytest.fixture
def fresh_memory(monkeypatch):
    # A process that has not loaded any classifier yet.
    monkeypatch.setattr(clf_module, "_memory_cache", {})


def test_shipped_default_is_loaded_not_trained(fresh_memory, monkeypatch, test_digits):
    def no_training(*args, **kwargs):
        raise AssertionError("the default classifier was trained")

    monkeypatch.setattr(clf_module, "_train", no_training)
    model = metrics.digit_classifier()
    assert clf_module._weights_sha256(model.get_weights()) == (
        clf_module._SHIPPED_SHA256
    )
    assert metrics.digit_classifier() is model
    x, y = test_digits
    accuracy = (model.predict(x, batch_size=500, verbose=0).argmax(1) == y).mean()
    assert abs(accuracy - 0.9795) <= 0.001, accuracy  # 1959 of 2,000 on JAX


def test_shipped_features_equal_a_numpy_forward_pass(fresh_memory, test_digits):
    # The Fréchet distance's features are one function on every backend.
    model = metrics.digit_classifier()
    images = test_digits[0][:32]
    expected = _numpy_features(model.get_weights(), images)
    got = metrics.DigitFeatures(model)(images)
    assert got.shape == (32, 128) and expected.std() > 0.1
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_a_damaged_shipped_file_is_refused(fresh_memory, monkeypatch):
    monkeypatch.setattr(clf_module, "_SHIPPED_SHA256", "0" * 64)
    with pytest.raises(RuntimeError, match="digit_classifier_e3_s0.npz is damaged"):
        metrics.digit_classifier()
    assert clf_module._memory_cache == {}

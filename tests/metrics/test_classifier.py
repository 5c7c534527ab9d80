"""The digit classifier (trained once per module, 1 epoch) and its Fréchet distance."""

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
    path = os.path.join(cache, f"digit_classifier_v1_e{EPOCHS}_s0.weights.h5")
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
        os.path.join(cache, f"digit_classifier_v1_e{EPOCHS}_s0.stats_test.npz")
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

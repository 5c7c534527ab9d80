"""The report folder as a store of finished runs (`experiments/store.py`)."""

import json
import math

import numpy as np
import pytest

from keras_graft.experiments.runs import Run, digest
from keras_graft.experiments.store import IncompatibleFolder, RunStore

MANIFEST = {"preset": "tiny", "seed_offset": 0}


def _run(i: int) -> Run:
    spec = {"kind": "test", "seed": i}
    return Run(spec=spec, key=digest(spec), label=f"run {i}", fn=print, args=(), cost=1)


def test_a_stored_run_reads_back_exactly_nan_and_samples_included(tmp_path):
    store = RunStore(str(tmp_path), MANIFEST)
    samples = np.arange(6, dtype=np.float32).reshape(3, 2)
    result = {"fd": float("nan"), "ratio": 1 / 3, "inf": -math.inf, "samples": samples}
    back = store.put(_run(0), result)
    assert math.isnan(back["fd"]) and back["inf"] == -math.inf
    assert back["ratio"] == 1 / 3 and back["samples"] is None
    np.testing.assert_array_equal(store.samples(_run(0).key), samples)
    assert store.samples(_run(1).key) is None
    again = RunStore(str(tmp_path), MANIFEST).finished()
    assert list(again) == [_run(0).key] and again[_run(0).key]["ratio"] == 1 / 3


def test_a_write_cut_short_by_a_kill_is_not_a_result_and_is_cleaned_up(tmp_path):
    """A process killed mid-write leaves ``<key>.tmp<pid>.json``, maybe empty:
    the store reads neither it nor a failure record as a finished run, and
    removes it when the folder is opened again."""
    store = RunStore(str(tmp_path), MANIFEST)
    store.put(_run(0), {"fd": 1.0})
    store.fail(_run(1), "Traceback ...\nMemoryError: out of memory")
    runs = tmp_path / "runs"
    (runs / f"{_run(2).key}.tmp4242.json").write_text("")
    (runs / f"{_run(3).key}.tmp4242.npy").write_bytes(b"\x93NUMPY")
    assert list(store.finished()) == [_run(0).key]
    reopened = RunStore(str(tmp_path), MANIFEST)
    assert list(reopened.finished()) == [_run(0).key]
    left = sorted(p.name for p in runs.iterdir())
    assert left == sorted([f"{_run(0).key}.json", f"{_run(1).key}.failed.json"])
    failed = json.loads((runs / f"{_run(1).key}.failed.json").read_text())
    assert failed["error"] == "MemoryError: out of memory"


def test_storing_a_run_clears_its_failure_record(tmp_path):
    store = RunStore(str(tmp_path), MANIFEST)
    store.fail(_run(0), "")
    assert (tmp_path / "runs" / f"{_run(0).key}.failed.json").exists()
    store.put(_run(0), {"fd": 2.0})
    assert not (tmp_path / "runs" / f"{_run(0).key}.failed.json").exists()
    assert store.finished() == {_run(0).key: {"fd": 2.0}}


def test_another_manifest_is_refused_naming_the_difference_and_fresh_starts_over(
    tmp_path,
):
    RunStore(str(tmp_path), MANIFEST).put(_run(0), {"fd": 1.0})
    with pytest.raises(IncompatibleFolder, match=r"seed_offset is 0 there, 3 here"):
        RunStore(str(tmp_path), {**MANIFEST, "seed_offset": 3})
    assert RunStore(str(tmp_path), MANIFEST).finished() != {}  # left untouched
    fresh = RunStore(str(tmp_path), {**MANIFEST, "seed_offset": 3}, fresh=True)
    assert fresh.finished() == {}


def test_a_run_file_that_does_not_read_back_is_removed_and_named(tmp_path):
    store = RunStore(str(tmp_path), MANIFEST)
    store.put(_run(0), {"fd": 1.0})
    store.put(_run(1), {"fd": 2.0})
    path = tmp_path / "runs" / f"{_run(1).key}.json"
    path.write_text(path.read_text()[:10])  # cut short
    (tmp_path / "runs" / f"{_run(2).key}.json").write_text("[1, 2]")  # no result
    reopened = RunStore(str(tmp_path), MANIFEST)
    assert reopened.finished() == {_run(0).key: {"fd": 1.0}}
    assert sorted(reopened.discarded) == sorted(
        [f"{_run(1).key}.json", f"{_run(2).key}.json"]
    )
    assert not path.exists()
    assert reopened.finished() == {_run(0).key: {"fd": 1.0}}  # nothing more


def test_an_unreadable_manifest_is_refused_in_one_line(tmp_path):
    RunStore(str(tmp_path), MANIFEST)
    (tmp_path / "manifest.json").write_text("")
    with pytest.raises(
        IncompatibleFolder, match=r"manifest.json is unreadable.*--fresh"
    ):
        RunStore(str(tmp_path), MANIFEST)
    assert RunStore(str(tmp_path), MANIFEST, fresh=True).finished() == {}

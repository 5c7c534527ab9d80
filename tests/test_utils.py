"""`keras_graft._utils`: helpers shared by several modules."""

import json
import math
import os

import numpy as np
import pytest

from keras_graft._utils import jsonable, save_atomically

pytestmark = pytest.mark.backend("jax")  # numpy only: one process


def test_jsonable_gives_strict_json():
    value = {
        1: np.float32(0.5),
        "a": (np.int64(3), np.bool_(True), np.arange(3)),
        "nan": [math.nan, np.float64("nan")],
        "inf": np.array([np.inf, -np.inf]),
        "nested": {"x": [np.float16(2.0), "text", None]},
    }
    out = jsonable(value)
    assert out == {
        "1": 0.5,
        "a": [3, True, [0, 1, 2]],
        "nan": [None, None],
        "inf": ["inf", "-inf"],
        "nested": {"x": [2.0, "text", None]},
    }
    assert type(out["a"][0]) is int and type(out["a"][1]) is bool
    json.dumps(out, allow_nan=False)  # strict JSON: raises on NaN or Infinity


def test_save_atomically_syncs_the_content_before_it_replaces_the_file(
    tmp_path, monkeypatch
):
    path = tmp_path / "a.json"
    path.write_text("old")
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", str(src)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)

    def write(tmp):
        assert tmp != str(path) and tmp.endswith(".json")
        with open(tmp, "w") as f:
            f.write("new")

    save_atomically(str(path), write, ".json")
    (temporary,) = {name for _, name in events}
    assert events == [("fsync", temporary), ("replace", temporary)]
    assert path.read_text() == "new" and os.listdir(tmp_path) == ["a.json"]

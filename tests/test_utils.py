"""`keras_graft._utils`: helpers shared by several modules."""

import json
import math

import numpy as np
import pytest

from keras_graft._utils import jsonable

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

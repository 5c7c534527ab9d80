"""Helpers shared by several modules: Keras's home, atomic file writes, tiling,
JSON-ready values.

This module imports numpy only (not keras), so that any module, even one that
runs before keras is imported, can use it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np


def keras_home() -> str:
    """The folder where Keras keeps its settings, weights and caches.

    Returns:
        str: ``$KERAS_HOME`` when it is set (and not empty), else ``~/.keras``.
    """
    default = os.path.join(os.path.expanduser("~"), ".keras")
    return os.environ.get("KERAS_HOME") or default


#: Marks the temporary file of a `save_atomically` write: ``<stem>.tmp<pid><suffix>``.
TEMPORARY_MARK = ".tmp"


def is_temporary(name: str) -> bool:
    """Whether a file name is a `save_atomically` temporary file (a write under
    way, or one cut short by a killed process).

    Args:
        name (str): A file name.

    Returns:
        bool: Whether it carries `TEMPORARY_MARK`.
    """
    return TEMPORARY_MARK in name


def save_atomically(path: str, write: Callable[[str], None], suffix: str) -> None:
    """Write `path` in one step: `write` fills a temporary file that replaces it.

    The temporary file replaces `path` with `os.replace`, so another process
    reading `path` meanwhile (two workers filling the same cache) sees either
    no file or a whole one, never a half-written one; the content is synced
    to the disk first, so that holds after a crash of the machine too. The
    temporary file sits next to `path`, named after this process, and keeps
    the suffix, because some writers need it (Keras's ``save_weights`` wants
    ``.weights.h5``; ``np.savez`` appends ``.npz`` when it is missing).

    Args:
        path (str): The file to write; it must end with `suffix`.
        write (Callable[[str], None]): Writes the content to the path it is
            given.
        suffix (str): The suffix the temporary file keeps, e.g. ``".npz"``.
    """
    temporary = path[: -len(suffix)] + f"{TEMPORARY_MARK}{os.getpid()}" + suffix
    write(temporary)
    # On the disk before the rename: after a crash of the machine (not only
    # of the process) `path` is then whole or absent, and files written one
    # after the other reach the disk in that order.
    with open(temporary, "rb") as f:
        os.fsync(f.fileno())
    os.replace(temporary, path)


def tile_images(
    images: np.ndarray,
    ncols: int,
    nrows: int | None = None,
    border: int = 0,
    fill: float = 0.0,
) -> np.ndarray:
    """Images laid out row by row in a grid, as one image.

    Image ``i`` goes to row ``i // ncols`` and column ``i % ncols``; tiles
    left empty, and a frame of `border` pixels around and between the tiles,
    take the value `fill`.

    Args:
        images (np.ndarray): Images (N, H, W, C).
        ncols (int): Tiles per row.
        nrows (int | None): Rows of tiles; None for as many as the images
            need. Images past ``nrows * ncols`` are left out.
        border (int): Width in pixels of the frame around and between tiles.
        fill (float): Value of the frame and of the empty tiles.

    Returns:
        np.ndarray: The grid, of shape ``(nrows * (H + border) + border,
        ncols * (W + border) + border, C)`` and the dtype of `images`.
    """
    n, height, width, channels = images.shape
    if nrows is None:
        nrows = -(-n // ncols)
    shape = (
        nrows * (height + border) + border,
        ncols * (width + border) + border,
        channels,
    )
    grid = np.full(shape, fill, images.dtype)
    for i in range(min(n, nrows * ncols)):
        row, col = divmod(i, ncols)
        top = border + row * (height + border)
        left = border + col * (width + border)
        grid[top : top + height, left : left + width] = images[i]
    return grid


def jsonable(x: Any) -> Any:
    """`x` ready for `json.dump`: numpy scalars and arrays as Python numbers and
    lists, dict keys as strings, a non-finite float as None (nan) or "inf"/"-inf"
    (strict JSON has no NaN or Infinity).

    Args:
        x (Any): Nested dicts, lists, tuples, numbers and numpy values.

    Returns:
        Any: The same structure in JSON's types.
    """
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, (np.ndarray, np.generic)):
        return jsonable(x.tolist())
    if isinstance(x, float) and not math.isfinite(x):
        return None if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return x

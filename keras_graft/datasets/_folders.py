"""Take back the empty folders that a failed download made (private).

A scope is ``(path, depth)``: the folder `path` and its subfolders down to
`depth` levels below it (all of them when `depth` is None). `existing` lists
the folders of some scopes before a download; `remove_new_empty` then removes,
after a failure, the folders of the same scopes that were not there before and
hold no file, with their (new, file-less) subfolders. Folders that were there
before are never removed, and files never deleted.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

Scope = tuple[str, int | None]


def _walk(path: str, depth: int | None) -> Iterable[str]:
    if not os.path.isdir(path):
        return
    yield path
    if depth == 0:
        return
    try:
        entries = list(os.scandir(path))
    except OSError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(entry.path, None if depth is None else depth - 1)


def existing(scopes: Iterable[Scope]) -> set[str]:
    """The folders of `scopes` that exist now."""
    return {folder for path, depth in scopes for folder in _walk(path, depth)}


def remove_new_empty(scopes: Iterable[Scope], before: set[str]) -> None:
    """Removes the folders of `scopes` not in `before` that hold no file."""
    new = existing(scopes) - before
    # Deepest first, so that a new folder whose new subfolders go is empty.
    for folder in sorted(new, key=lambda f: f.count(os.sep), reverse=True):
        for path, _, _ in os.walk(folder, topdown=False):
            try:
                os.rmdir(path)
            except OSError:  # it holds a file (or is gone already)
                pass

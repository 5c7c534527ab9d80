"""The report folder as a store of finished runs, so that a reproduction resumes.

Layout of a report folder:

- ``manifest.json``: what the folder holds runs of (the preset and its whole
  configuration, the seed offset, the backend, the library version);
- ``runs/<key>.json``: one finished run (its spec, label and result), written
  the moment it finishes, in one step (a temporary file renamed over it);
  ``runs/<key>.npy``: the samples a run keeps for the plots;
  ``runs/<key>.failed.json``: a run that failed twice, with its error;
  ``runs/<key>.tmp<pid>.json``: a write under way (or cut short by a kill:
  ignored, and removed when the folder is opened again); a run file that
  does not read back (a disk that lost it) is removed and its run trained
  again;
- ``logs/``: the workers' output and the failed runs' tracebacks;
- ``results.json``, ``report.md`` and the plots, written from the stored runs.

Results are stored as JSON that keeps NaN and infinities (Python's `json`
reads them back exactly), and `reproduce` builds its report only from what it
reads back, so a resumed reproduction and an uninterrupted one give the same
numbers.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Any

import numpy as np

from keras_graft._utils import is_temporary, save_atomically
from keras_graft.experiments.runs import Run, plain

#: Bumped when the folder's layout changes.
FORMAT = 1


class IncompatibleFolder(ValueError):
    """The report folder holds runs of another preset, configuration or version."""


def _difference(old: Any, new: Any, path: str = "") -> str | None:
    """The first place where two JSON values differ, as ``path: old -> new``."""
    if isinstance(old, dict) and isinstance(new, dict):
        for k in list(old) + [k for k in new if k not in old]:
            found = _difference(old.get(k), new.get(k), f"{path}.{k}" if path else k)
            if found:
                return found
        return None
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new)):
            found = _difference(a, b, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if old == new else f"{path} is {old!r} there, {new!r} here"


class RunStore:
    """Finished runs of one reproduction, kept in its report folder.

    Args:
        folder (str): The report folder (created).
        manifest (dict): What this reproduction is (JSON-ready).
        fresh (bool): Delete the stored runs first.

    Raises:
        IncompatibleFolder: The folder holds runs of a different manifest
            (the message names the first difference).
    """

    def __init__(self, folder: str, manifest: dict, fresh: bool = False) -> None:
        self.folder = folder
        self.runs_dir = os.path.join(folder, "runs")
        self.logs_dir = os.path.join(folder, "logs")
        manifest = plain({"format": FORMAT, **manifest})
        path = os.path.join(folder, "manifest.json")
        if fresh:
            for sub in (self.runs_dir, self.logs_dir):
                shutil.rmtree(sub, ignore_errors=True)
            if os.path.exists(path):
                os.remove(path)
        if os.path.exists(path):
            try:
                with open(path) as f:
                    old = json.load(f)
            except ValueError as e:
                raise IncompatibleFolder(
                    f"{path} is unreadable ({e}); use --fresh to start over there, "
                    "or another --out"
                ) from None
            diff = _difference(old, manifest)
            if diff:
                raise IncompatibleFolder(
                    f"{folder} holds runs of another reproduction ({diff}); "
                    "use --fresh to start over there, or another --out"
                )
        elif os.path.isdir(self.runs_dir) and os.listdir(self.runs_dir):
            raise IncompatibleFolder(
                f"{folder} holds runs without a manifest; use --fresh to start over "
                "there, or another --out"
            )
        os.makedirs(self.runs_dir, exist_ok=True)
        os.makedirs(self.logs_dir, exist_ok=True)
        for name in os.listdir(self.runs_dir):
            if is_temporary(name):  # half-written by a process killed mid-write
                os.remove(os.path.join(self.runs_dir, name))
        self.manifest = manifest
        #: Run files that `finished` found unreadable and removed.
        self.discarded: list[str] = []
        self._write_json(path, manifest)

    @staticmethod
    def _write_json(path: str, value: Any) -> None:
        def write(tmp: str) -> None:
            with open(tmp, "w") as f:
                json.dump(value, f, separators=(",", ":"))

        save_atomically(path, write, ".json")

    def _path(self, key: str, suffix: str) -> str:
        return os.path.join(self.runs_dir, key + suffix)

    def finished(self) -> dict[str, Any]:
        """The stored results, by run key.

        A run file that does not read back as a stored run is removed (its
        run is trained again) and its name added to `discarded`.

        Returns:
            dict[str, Any]: Key -> result, as read back from disk.
        """
        out = {}
        for name in sorted(os.listdir(self.runs_dir)):
            key = name[: -len(".json")]
            # A key is a digest: ``<key>.failed.json`` and the temporary
            # ``<key>.tmp<pid>.json`` of a write under way are not results.
            if name.endswith(".json") and "." not in key:
                path = os.path.join(self.runs_dir, name)
                try:
                    with open(path) as f:
                        out[key] = json.load(f)["result"]
                except (ValueError, KeyError, TypeError):
                    # Not whole (written by hand, or a disk that lost it):
                    # the run is trained again.
                    os.remove(path)
                    self.discarded.append(name)
        return out

    def put(self, run: Run, result: Any) -> Any:
        """Store a finished run; return its result as it reads back.

        A GAN result's ``samples`` (numpy) go to ``<key>.npy``; the JSON holds
        everything else. A failure recorded for the run before is removed.

        Args:
            run (Run): The run.
            result (Any): What its function returned.

        Returns:
            Any: The stored result (JSON's types; what the report reads).
        """
        if isinstance(result, dict) and result.get("samples") is not None:
            samples = np.asarray(result["samples"])
            save_atomically(
                self._path(run.key, ".npy"), lambda p: np.save(p, samples), ".npy"
            )
            result = {**result, "samples": None}
        value = {"key": run.key, "label": run.label, "spec": run.spec}
        value["result"] = plain(result)
        self._write_json(self._path(run.key, ".json"), value)
        if os.path.exists(self._path(run.key, ".failed.json")):
            os.remove(self._path(run.key, ".failed.json"))
        with open(self._path(run.key, ".json")) as f:
            return json.load(f)["result"]

    def samples(self, key: str) -> np.ndarray | None:
        """The samples a run kept, or None.

        Args:
            key (str): The run's key.

        Returns:
            np.ndarray | None: The samples.
        """
        path = self._path(key, ".npy")
        return np.load(path) if os.path.exists(path) else None

    def fail(self, run: Run, error: str) -> None:
        """Record a run that failed, its error's last line in the record and the
        whole text in ``logs/errors.log``.

        Args:
            run (Run): The run.
            error (str): The error's text (a traceback).
        """
        last = error.strip().splitlines()[-1] if error.strip() else "unknown error"
        self._write_json(
            self._path(run.key, ".failed.json"),
            {"key": run.key, "label": run.label, "spec": run.spec, "error": last},
        )
        with open(os.path.join(self.logs_dir, "errors.log"), "a") as f:
            f.write(f"=== {run.label} ({run.key})\n{error.rstrip()}\n")


__all__ = ["FORMAT", "IncompatibleFolder", "RunStore"]

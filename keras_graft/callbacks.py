"""Callbacks for `keras_graft.GAN`: sample grids and a pace log.

Both work on every backend. On JAX the model's variables are detached during
an epoch, so per-batch hooks that read weights call `model.jax_state_sync()`
first.
"""

from __future__ import annotations

import csv
import os
from typing import Any, Sequence

import keras
import numpy as np

from keras_graft import _validation as check
from keras_graft._utils import tile_images
from keras_graft.gan import GAN
from keras_graft.gan._trackers import PACE_LOGS as PACE_KEYS

__all__ = ["PaceLogger", "SampleGrid"]


def _sync(model: keras.Model) -> None:
    """Write a JAX model's detached training state back to its variables."""
    sync = getattr(model, "jax_state_sync", None)  # JAX trainers only
    if sync is not None:
        sync()


def _advance(callback: keras.callbacks.Callback, batch: int, every: int | None) -> bool:
    """Move `callback._step` to the steps done after `on_train_batch_end(batch)`.

    Keras passes the index of the last step of the execution (once per
    `steps_per_execution` steps), and for a last, partial execution of an
    epoch an index past the epoch's end: it is clamped to the epoch's number
    of steps when Keras knows it. Returns whether the step count passed a
    multiple of `every` (False when `every` is None).
    """
    done = int(batch) + 1
    steps = (callback.params or {}).get("steps")
    previous = callback._step
    callback._step = callback._epoch_start + (min(done, int(steps)) if steps else done)
    return bool(every) and callback._step // every != previous // every


def _figure(figsize: tuple[float, float]):
    # A pyplot-free Figure renders to files with Agg whatever the session's
    # backend is, and never opens a window or touches notebook output.
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


class SampleGrid(keras.callbacks.Callback):
    """Save a grid of generated samples on a fixed latent batch as PNG files.

    Images `(num, H, W, C)` with C in {1, 3} are tiled into a grid; 2-D points
    `(num, 2)` (toy problems) are drawn as a scatter plot.

    For a class-conditional GAN (`GAN(..., num_classes=K)`) the grid has one
    row per class: row `k` generates class `k` from the same `num` latents,
    so a column shows one latent across the classes (and a scatter plot
    colours its points by class).

    Example:
        ```python
        gan.fit(x, epochs=5, callbacks=[SampleGrid(16, directory="samples")])
        ```

    Args:
        latents (int | np.ndarray): a fixed latent batch, or how many latents
            to draw once (from `seed`) at the start of training.
        every_n_steps (int | None): save every this many batches (counted over
            the whole run); `None` for no per-step saving.
        every_n_epochs (int | None): save at the end of every this many epochs;
            `None` for no per-epoch saving.
        directory (str | os.PathLike): where the PNG files go (created).
        ema (bool | None): sample from the moving-average generator (`None`:
            when the model has one).
        value_range (tuple[float, float]): range of the generator's output,
            mapped to [0, 1] for display.
        ncols (int | None): grid columns (default: about sqrt(num); `num`
            for a class-conditional GAN).
        seed (int): seed for drawing `latents` when it is an int.
        prefix (str): file-name prefix.
    """

    def __init__(
        self,
        latents: int | np.ndarray = 16,
        every_n_steps: int | None = None,
        every_n_epochs: int | None = 1,
        directory: str | os.PathLike = "samples",
        ema: bool | None = None,
        value_range: tuple[float, float] = (-1.0, 1.0),
        ncols: int | None = None,
        seed: int = 0,
        prefix: str = "samples",
    ):
        super().__init__()
        every_n_steps = check.check_optional_int(every_n_steps, "every_n_steps", 1)
        every_n_epochs = check.check_optional_int(every_n_epochs, "every_n_epochs", 1)
        if isinstance(latents, (int, np.integer)) and not isinstance(latents, bool):
            latents = check.check_int(latents, "latents", minimum=1)
        self.latents = latents
        self.every_n_steps = every_n_steps
        self.every_n_epochs = every_n_epochs
        self.directory = os.fspath(directory)
        self.ema = ema
        self.value_range = value_range
        self.ncols = ncols
        self.seed = seed
        self.prefix = prefix
        self.paths: list[str] = []
        self._step = 0
        self._epoch_start = 0
        self._z = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        if isinstance(self.latents, (int, np.integer)):
            rng = np.random.default_rng(self.seed)
            shape = (int(self.latents),) + tuple(self.model.latent_shape)
            self._z = rng.standard_normal(shape).astype("float32")
        else:
            self._z = np.asarray(self.latents, dtype="float32")
        os.makedirs(self.directory, exist_ok=True)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_start = self._step

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if _advance(self, batch, self.every_n_steps):
            _sync(self.model)
            self.save(
                os.path.join(self.directory, f"{self.prefix}_step{self._step:07d}.png")
            )

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.every_n_epochs and (epoch + 1) % self.every_n_epochs == 0:
            _sync(self.model)
            self.save(
                os.path.join(self.directory, f"{self.prefix}_epoch{epoch + 1:04d}.png")
            )

    def _labels(self) -> np.ndarray | None:
        """Class of each sample: `num` of class 0, then of class 1, ... (or None)."""
        classes = getattr(self.model, "num_classes", None)
        if classes is None:
            return None
        return np.repeat(np.arange(classes, dtype="int32"), len(self._z))

    def samples(self) -> np.ndarray:
        """Generate from the fixed latents with the model's current weights.

        Returns:
            np.ndarray: the samples; for a class-conditional GAN, those of
            every class in turn (`num_classes * num` samples).
        """
        labels = self._labels()
        if labels is None:
            out = self.model.generate(self._z, ema=self.ema, training=False)
        else:
            z = np.tile(self._z, (self.model.num_classes,) + (1,) * (self._z.ndim - 1))
            out = self.model.generate(z, ema=self.ema, training=False, labels=labels)
        return np.asarray(keras.ops.convert_to_numpy(out))

    def save(self, path: str) -> str:
        """Generate and write one PNG to `path`.

        Args:
            path (str): the file to write.

        Returns:
            str: `path`.
        """
        x = self.samples()
        labels = self._labels()
        if x.ndim == 2:
            fig = _figure((4, 4))
            ax = fig.subplots()
            ax.scatter(
                x[:, 0],
                x[:, 1] if x.shape[1] > 1 else np.zeros(len(x)),
                s=4,
                c=labels,
                cmap="tab10" if labels is not None else None,
            )
            ax.set_aspect("equal", adjustable="datalim")
        else:
            if x.ndim == 3:
                x = x[..., None]
            lo, hi = self.value_range
            x = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
            n, c = len(x), x.shape[-1]
            default = len(self._z) if labels is not None else int(np.ceil(np.sqrt(n)))
            ncols = self.ncols or default
            nrows = int(np.ceil(n / ncols))
            # White frames of one pixel around and between the samples.
            grid = tile_images(x, ncols, nrows=nrows, border=1, fill=1.0)
            fig = _figure((max(ncols, 1), max(nrows, 1)))
            ax = fig.subplots()
            ax.imshow(
                grid[..., 0] if c == 1 else grid,
                cmap="gray" if c == 1 else None,
                vmin=0.0,
                vmax=1.0,
                interpolation="nearest",
            )
            ax.axis("off")
        fig.savefig(path, dpi=100, bbox_inches="tight")
        self.paths.append(path)
        return path


class PaceLogger(keras.callbacks.Callback):
    """Record the per-step pace and gradient norms of both players.

    The pace of a player is the norm of its last update over the norm of its
    weights (`d_pace`, `g_pace`, and their `pace_ratio`); `d_grad_norm` and
    `g_grad_norm` are the norms of the gradients of those updates, which stay
    away from zero in a GAN that gives good samples without converging.

    Steps count generator updates from the start of training; with
    `steps_per_execution > 1` Keras calls the callback once per execution, so
    a row is the last step of an execution (the values logged for it).

    Needs `GAN.compile(track_pace=True)` (the default). Rows are kept in
    `self.rows` as dicts `{"step", "epoch", "d_pace", "g_pace", "pace_ratio",
    "d_grad_norm", "g_grad_norm"}` and written to `filename` (CSV) at the end
    of every epoch when given.

    Example:
        ```python
        log = PaceLogger("pace.csv")
        gan.fit(x, epochs=3, callbacks=[log])
        log.plot("pace.png")
        ```

    Args:
        filename (str | os.PathLike | None): CSV file to write, or `None`.
        every_n_steps (int): record a row each time the step count passes a
            multiple of this.
    """

    def __init__(
        self, filename: str | os.PathLike | None = None, every_n_steps: int = 1
    ):
        super().__init__()
        every_n_steps = check.check_int(every_n_steps, "every_n_steps", minimum=1)
        self.filename = None if filename is None else os.fspath(filename)
        self.every_n_steps = every_n_steps
        self.rows: list[dict] = []
        self._step = 0
        self._epoch = 0
        self._epoch_start = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        if not (isinstance(self.model, GAN) and self.model.train_config.track_pace):
            check.fail(
                ValueError,
                "model",
                "a keras_graft.GAN compiled with track_pace=True (PaceLogger reads "
                "its pace logs)",
                self.model,
            )

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch
        self._epoch_start = self._step

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if not _advance(self, batch, self.every_n_steps) or logs is None:
            return
        row = {"step": self._step, "epoch": self._epoch}
        for key in PACE_KEYS:
            row[key] = float(logs[key])
        self.rows.append(row)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.filename:
            self.write(self.filename)

    def write(self, filename: str | os.PathLike) -> None:
        """Write the rows recorded so far as CSV.

        Args:
            filename (str | os.PathLike): the file to (over)write.
        """
        with open(filename, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=["step", "epoch", *PACE_KEYS])
            writer.writeheader()
            writer.writerows(self.rows)

    def as_arrays(self) -> dict[str, np.ndarray]:
        """The recorded columns as numpy arrays.

        Returns:
            dict[str, np.ndarray]: `step`, `epoch`, `d_pace`, `g_pace`,
            `pace_ratio`, `d_grad_norm`, `g_grad_norm`.
        """
        keys: Sequence[str] = ("step", "epoch", *PACE_KEYS)
        return {k: np.asarray([r[k] for r in self.rows]) for k in keys}

    def plot(self, path: str | os.PathLike | None = None, ax: Any = None):
        """Plot `d_pace` and `g_pace` against the step (log scale).

        Args:
            path (str | os.PathLike | None): save the figure there when given.
            ax (Any): a matplotlib Axes to draw on; `None` makes a new figure.

        Returns:
            Any: the matplotlib Figure.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            fig, ax = plt.subplots(figsize=(6, 3.5))
        else:
            fig = ax.figure
        cols = self.as_arrays()
        ax.plot(cols["step"], cols["d_pace"], label="d_pace")
        ax.plot(cols["step"], cols["g_pace"], label="g_pace")
        if (
            len(cols["step"])
            and np.all(cols["d_pace"] > 0)
            and np.all(cols["g_pace"] > 0)
        ):
            ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("||update|| / ||params||")
        ax.legend()
        if path is not None:
            fig.savefig(os.fspath(path), dpi=100, bbox_inches="tight")
        return fig

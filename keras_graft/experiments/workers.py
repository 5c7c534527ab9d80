"""Independent runs in parallel worker processes, one per core.

On a small CPU machine, two single-threaded workers pinned one per core train
more GAN steps per second in total than one process using both cores (XLA:CPU
and the other backends scale poorly across cores for these small networks).
`run_jobs` runs picklable jobs ``(function, args)`` in such workers, or in
this process when ``workers == 1``, and lets the caller add jobs as results
arrive (a learning-rate search submits the fresh-seed runs once its selection
runs are in).

Each worker is a fresh interpreter (``spawn``) with this process's Keras
backend, one thread for the backend's math, and a core of its own where the
platform allows pinning.
"""

from __future__ import annotations

import os
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Callable, Iterable

from keras_graft._validation import check_int

#: Environment of a single-threaded worker (read when the backend is imported).
_SINGLE_THREAD_ENV = {
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    "TF_CPP_MIN_LOG_LEVEL": "3",
}


def default_workers() -> int:
    """The number of cores this process may use.

    Returns:
        int: ``len(os.sched_getaffinity(0))`` where available, else
        ``os.cpu_count()`` (at least 1).
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _init_worker(counter: Any, cores: list[int]) -> None:
    with counter.get_lock():
        index = counter.value
        counter.value += 1
    if cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cores[index % len(cores)]})
    from keras_graft._backend import backend_module

    backend_module("keras_graft.experiments._backend").init_worker()


def _call(fn: Callable, args: tuple) -> Any:
    return fn(*args)


class JobRunner:
    """Runs jobs in worker processes (or inline) and hands results back as they finish.

    Args:
        workers (int): Worker processes; 1 runs every job in this process.
    """

    def __init__(self, workers: int) -> None:
        self.workers = check_int(workers, "workers", minimum=1)
        self._pool: ProcessPoolExecutor | None = None
        self._pending: dict[Future, Any] = {}
        self._inline: list[tuple[Any, Callable, tuple]] = []

    def __enter__(self) -> "JobRunner":
        if self.workers > 1:
            import multiprocessing as mp

            import keras

            ctx = mp.get_context("spawn")
            names = (*_SINGLE_THREAD_ENV, "KERAS_BACKEND")
            saved = {k: os.environ.get(k) for k in names}
            os.environ.update(_SINGLE_THREAD_ENV)
            os.environ["KERAS_BACKEND"] = keras.backend.backend()
            try:
                if hasattr(os, "sched_getaffinity"):
                    cores = sorted(os.sched_getaffinity(0))
                else:
                    cores = []
                self._pool = ProcessPoolExecutor(
                    self.workers,
                    mp_context=ctx,
                    initializer=_init_worker,
                    initargs=(ctx.Value("i", 0), cores),
                )
                # Start the workers now, under the single-thread environment.
                n = self.workers
                list(self._pool.map(_call, [len] * n, [((),)] * n))
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=exc[0] is None, cancel_futures=True)
            self._pool = None

    def submit(self, key: Any, fn: Callable, *args: Any) -> None:
        """Queue ``fn(*args)``; its result comes back from `results` with `key`.

        Args:
            key (Any): Returned with the result.
            fn (Callable): A module-level (picklable) function.
            *args (Any): Picklable arguments.
        """
        if self._pool is None:
            self._inline.append((key, fn, args))
        else:
            self._pending[self._pool.submit(_call, fn, args)] = key

    def results(self) -> Iterable[tuple[Any, Any]]:
        """Yield ``(key, result)`` as jobs finish, including jobs submitted meanwhile.

        Yields:
            tuple[Any, Any]: The key and the result of a finished job. An
            exception of a job is raised here.
        """
        while self._pending or self._inline:
            if self._pool is None:
                key, fn, args = self._inline.pop(0)
                yield key, fn(*args)
                continue
            done, _ = wait(list(self._pending), return_when=FIRST_COMPLETED)
            for fut in done:
                key = self._pending.pop(fut)
                yield key, fut.result()


__all__ = ["JobRunner", "default_workers"]

"""The local executor: independent runs in worker processes, over cores or GPUs.

On a small CPU machine, two single-threaded workers pinned one per core train
more GAN steps per second in total than one process using both cores (XLA:CPU
and the other backends scale poorly across cores for these small networks).
On a machine with GPUs the runs are small too, bound by the host: several
workers share each GPU, and each worker sees exactly one GPU
(``CUDA_VISIBLE_DEVICES``), with JAX's preallocation off and TensorFlow's
memory growth on so that they fit side by side.

`placement` decides the worker slots (which core or GPU each one gets);
`LocalExecutor` runs picklable calls ``fn(*args)`` in them and hands results
back as they finish. Its workers are fresh interpreters (``spawn``) that
ignore SIGINT (the parent decides), exit when the parent dies (they watch its
pid), and write their output to a log file instead of the terminal unless
asked not to. A worker that dies takes only its own run with it: the run comes
back as failed, and a new worker takes the slot. The executor knows nothing of
what a run means.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from keras_graft._validation import check_optional_int

#: Environment of a single-threaded worker (read when the backend is imported).
SINGLE_THREAD_ENV = {
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
}
#: Environment of a worker that shares a GPU with others.
GPU_ENV = {
    "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
    "TF_FORCE_GPU_ALLOW_GROWTH": "true",
}
#: The backends' C++ logs off (shown with ``verbose``).
QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "GRPC_VERBOSITY": "ERROR"}
#: Runs per GPU when not given: the runs of every preset are small (host-bound
#: steps of a few ms), so one GPU serves several workers; capped by the cores.
RUNS_PER_GPU = 4
#: Seconds a worker gets to exit after SIGTERM before it is killed.
_GRACE = 3.0


class Stopped(KeyboardInterrupt):
    """A stop signal (SIGTERM) reached the parent; raised like Ctrl-C."""


def _cores() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:
        return []


def visible_gpus() -> list[str]:
    """The NVIDIA GPUs this process may use, as ``CUDA_VISIBLE_DEVICES`` ids.

    ``CUDA_VISIBLE_DEVICES`` when it is set (empty: none), else the GPUs that
    ``nvidia-smi -L`` lists; no GPU where there is no ``nvidia-smi``. No
    backend is asked: a JAX or TensorFlow process that looks at its GPUs
    takes their memory.

    Returns:
        list[str]: Device ids, e.g. ``["0", "1"]``.
    """
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [d.strip() for d in env.split(",") if d.strip() and d.strip() != "-1"]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(out.splitlines()) if line.startswith("GPU")]


@dataclass(frozen=True)
class Slot:
    """One worker's place: a core to pin it to, or a GPU it alone sees.

    Attributes:
        index (int): The worker's number.
        core (int | None): The CPU core it is pinned to (None: not pinned).
        gpu (str | None): The id of the one GPU it sees (None: no GPU).
        env (dict[str, str]): Its environment on top of the parent's.
    """

    index: int
    core: int | None = None
    gpu: str | None = None
    env: dict = field(default_factory=dict)


def placement(
    workers: int | None = None,
    gpus: list[str] | None = None,
    runs_per_gpu: int | None = None,
    cores: list[int] | None = None,
) -> list[Slot]:
    """The worker slots of the local executor.

    Without GPUs: `workers` slots (default: one per core), each pinned to a
    core in turn and single-threaded. With GPUs: ``len(gpus) * runs_per_gpu``
    slots (or `workers`, when given), dealt to the GPUs in turn, so slot i
    sees GPU ``gpus[i % len(gpus)]`` only; each is single-threaded, unpinned,
    with JAX's preallocation off and TensorFlow's memory growth on.

    Args:
        workers (int | None): Worker processes (None: as above).
        gpus (list[str] | None): GPU ids (None: `visible_gpus`; ``[]``: none).
        runs_per_gpu (int | None): Workers per GPU (None: `RUNS_PER_GPU`,
            at most the cores per GPU).
        cores (list[int] | None): Cores to pin to (None: this process's).

    Returns:
        list[Slot]: One per worker.
    """
    workers = check_optional_int(workers, "workers", minimum=1)
    runs_per_gpu = check_optional_int(runs_per_gpu, "runs_per_gpu", minimum=1)
    gpus = visible_gpus() if gpus is None else list(gpus)
    cores = _cores() if cores is None else list(cores)
    if not gpus:
        n = workers or max(1, len(cores))
        return [
            Slot(
                i,
                core=cores[i % len(cores)] if cores else None,
                env=dict(SINGLE_THREAD_ENV),
            )
            for i in range(n)
        ]
    if runs_per_gpu is None:
        runs_per_gpu = max(1, min(RUNS_PER_GPU, len(cores) // len(gpus) or 1))
    n = workers or len(gpus) * runs_per_gpu
    return [
        Slot(
            i,
            gpu=gpus[i % len(gpus)],
            env={
                **SINGLE_THREAD_ENV,
                **GPU_ENV,
                "CUDA_VISIBLE_DEVICES": gpus[i % len(gpus)],
            },
        )
        for i in range(n)
    ]


def _watch_parent(parent: int) -> None:
    """Exit this worker as soon as its parent is gone (killed, even by SIGKILL)."""
    while True:
        if os.getppid() != parent:
            os._exit(1)
        time.sleep(0.5)


def _worker_main(conn: Any, slot: Slot, parent: int, log_path: str | None) -> None:
    """A worker process: set up, then run calls from `conn` until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if log_path is not None:
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    os.environ.update(slot.env)
    if slot.core is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {slot.core})
    from keras_graft._backend import backend_module

    backend_module("keras_graft.experiments._backend").init_worker()
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            break
        if message is None:
            break
        task, fn, args = message
        try:
            reply = (task, True, fn(*args))
        except BaseException:  # report every failure of a run, then go on
            reply = (task, False, traceback.format_exc())
        try:
            conn.send(reply)
        except Exception:  # e.g. a result that cannot be pickled
            conn.send((task, False, traceback.format_exc()))


class _Worker:
    def __init__(self, ctx: Any, slot: Slot, log_path: str | None) -> None:
        self.slot = slot
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=_worker_main,
            args=(child, slot, os.getpid(), log_path),
            daemon=True,
            name=f"keras-graft-worker-{slot.index}",
        )
        self.process.start()
        child.close()
        self.task: Any = None


class LocalExecutor:
    """Runs calls in worker processes on this machine (or inline) as results arrive.

    Use as a context manager; leaving it (normally, or on an exception such
    as Ctrl-C) ends every worker within a few seconds.

    Args:
        slots (list[Slot]): The workers (`placement`). One slot without a GPU
            runs every call in this process instead.
        backend (str): The Keras backend of the workers.
        log_dir (str | None): Where each worker writes its output
            (``worker-<i>.log``), with the backends' C++ logs off; None: the
            terminal, with every log.
    """

    def __init__(self, slots: list[Slot], backend: str, log_dir: str | None = None):
        if not slots:
            raise ValueError("Argument `slots` must be a non-empty list; received [].")
        self.slots = list(slots)
        self.backend = backend
        self.log_dir = log_dir
        self.inline = len(slots) == 1 and slots[0].gpu is None
        self._workers: list[_Worker] = []
        self._queue: deque = deque()
        self._ctx: Any = None

    @property
    def description(self) -> str:
        """str: What runs where, in a few words."""
        gpus = sorted({s.gpu for s in self.slots if s.gpu is not None})
        if gpus:
            return f"{len(self.slots)} worker(s) on {len(gpus)} GPU(s)"
        return f"{len(self.slots)} worker(s)"

    def __enter__(self) -> "LocalExecutor":
        if not self.inline:
            import multiprocessing as mp

            self._ctx = mp.get_context("spawn")
            os.environ["KERAS_BACKEND"] = self.backend
            if self.log_dir is not None:
                os.makedirs(self.log_dir, exist_ok=True)
        return self

    def _start(self, slot: Slot) -> _Worker:
        path = None
        if self.log_dir is not None:
            path = os.path.join(self.log_dir, f"worker-{slot.index}.log")
        # The child reads its environment at start: the backend's thread and
        # log settings must be there before it imports the backend.
        env = {**slot.env, **(QUIET_ENV if path is not None else {})}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            return _Worker(self._ctx, slot, path)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def __exit__(self, *exc: Any) -> None:
        self.close(graceful=exc[0] is None)

    def close(self, graceful: bool = True) -> None:
        """End every worker: ask them to stop, or terminate them at once.

        Args:
            graceful (bool): Let idle workers exit on their own (False: SIGTERM
                at once, SIGKILL after a grace period).
        """
        workers, self._workers = self._workers, []
        for w in workers:
            if graceful and w.task is None:
                try:
                    w.conn.send(None)
                except OSError:
                    pass
            else:
                w.process.terminate()
        deadline = time.monotonic() + _GRACE
        for w in workers:
            w.process.join(max(0.0, deadline - time.monotonic()))
            if w.process.is_alive():
                w.process.kill()
                w.process.join(1.0)
            w.conn.close()
        self._queue.clear()

    def submit(self, key: Any, fn: Callable, args: tuple) -> None:
        """Queue ``fn(*args)``; its outcome comes back from `next_result` with `key`.

        Args:
            key (Any): Returned with the outcome.
            fn (Callable): A module-level (picklable) function.
            args (tuple): Picklable arguments.
        """
        self._queue.append((key, fn, args))

    def _n_busy(self) -> int:
        return sum(w.task is not None for w in self._workers)

    @property
    def busy(self) -> bool:
        """bool: Whether a call is queued or running."""
        return bool(self._queue) or any(w.task is not None for w in self._workers)

    def _dispatch(self) -> None:
        # Workers start when there is work for them (none for a finished run).
        while len(self._workers) < min(
            len(self.slots), len(self._queue) + self._n_busy()
        ):
            self._workers.append(self._start(self.slots[len(self._workers)]))
        for i, w in enumerate(self._workers):
            if not self._queue:
                return
            if w.task is None:
                if not w.process.is_alive():
                    w = self._workers[i] = self._start(w.slot)
                key, fn, args = self._queue.popleft()
                w.task = key
                w.conn.send((key, fn, args))

    def next_result(self) -> tuple[Any, bool, Any]:
        """Wait for the next call to finish.

        Returns:
            tuple[Any, bool, Any]: ``(key, ok, value)``: the call's result, or,
            when it raised or its worker died, ``ok`` False and the error's
            text (a traceback).

        Raises:
            RuntimeError: Nothing is queued or running.
        """
        if self.inline:
            if not self._queue:
                raise RuntimeError("no call is queued or running")
            key, fn, args = self._queue.popleft()
            try:
                return key, True, fn(*args)
            except Exception:
                return key, False, traceback.format_exc()
        from multiprocessing.connection import wait

        while True:
            self._dispatch()
            busy = [w for w in self._workers if w.task is not None]
            if not busy:
                raise RuntimeError("no call is queued or running")
            wait([w.conn for w in busy] + [w.process.sentinel for w in busy])
            for i, w in enumerate(self._workers):
                if w.task is None:
                    continue
                if w.conn.poll():
                    try:
                        key, ok, value = w.conn.recv()
                    except (EOFError, OSError):
                        pass  # died while answering: handled below
                    else:
                        w.task = None
                        return key, ok, value
                if not w.process.is_alive():
                    key, w.task = w.task, None
                    code = w.process.exitcode
                    w.conn.close()
                    self._workers[i] = self._start(w.slot)
                    return key, False, f"the worker process died (exit code {code})"


def stop_on_sigterm() -> Callable[[], None]:
    """Turn SIGTERM into `Stopped` (a KeyboardInterrupt) in this process.

    Only in the main thread (elsewhere nothing changes).

    Returns:
        Callable[[], None]: Restores the previous handler.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, frame: Any) -> None:
        raise Stopped(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    return lambda: signal.signal(signal.SIGTERM, previous)


__all__ = [
    "LocalExecutor",
    "Slot",
    "Stopped",
    "placement",
    "stop_on_sigterm",
    "visible_gpus",
]

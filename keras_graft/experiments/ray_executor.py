"""The Ray executor: the runs of `reproduce` as Ray tasks, on one machine or a cluster.

Past one machine keras_graft does not grow an engine of its own: each run is a
Ray task (``ray.remote``) with one CPU and a fraction ``1 / runs_per_gpu`` of
a GPU where the cluster has GPUs, so that Ray packs several runs onto each GPU
and spreads them over every node (a cluster started on Slurm, Kubernetes or
cloud VMs as Ray's own documentation sets it up). Ray gives each task the GPU
it reserved (``CUDA_VISIBLE_DEVICES``); the task's environment carries the
Keras backend, one intra-op thread, JAX's preallocation off and TensorFlow's
memory growth on. Ray's own retries are off: `reproduce` applies the same
failure rule to every executor (one retry, then the run is recorded as
failed).

Every node needs the same Python environment (keras_graft and its backend
installed); ``ray.init(address=...)`` connects to a running cluster, and
without an address a local Ray instance starts on this machine.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from keras_graft.experiments.workers import (
    GPU_ENV,
    QUIET_ENV,
    RUNS_PER_GPU,
    SINGLE_THREAD_ENV,
)


def _ray_call(fn: Callable, args: tuple) -> Any:
    """Inside a Ray worker: the worker's backend set-up, then the call."""
    from keras_graft._backend import backend_module

    backend_module("keras_graft.experiments._backend").init_worker()
    return fn(*args)


class RayExecutor:
    """Runs calls as Ray tasks and hands results back as they finish.

    Use as a context manager: it connects to (or starts) Ray on entry, and on
    exit cancels what is still running and, if it started Ray, shuts it down.

    Args:
        backend (str): The Keras backend of the tasks.
        address (str | None): A Ray cluster's address (``"auto"``, or
            ``"ray://host:10001"``); None starts a local Ray instance (or
            joins the one ``RAY_ADDRESS`` names).
        runs_per_gpu (int | None): Tasks sharing one GPU (None:
            `workers.RUNS_PER_GPU`, as the local executor).
        num_cpus (int | None): CPUs of a local instance (None: all).
        verbose (bool): Show the tasks' output and Ray's logs.
    """

    def __init__(
        self,
        backend: str,
        address: str | None = None,
        runs_per_gpu: int | None = None,
        num_cpus: int | None = None,
        verbose: bool = False,
    ) -> None:
        self.backend = backend
        self.address = address
        self.runs_per_gpu = runs_per_gpu or RUNS_PER_GPU
        self.num_cpus = num_cpus
        self.verbose = verbose
        self._refs: dict[Any, Any] = {}
        self._remote: Any = None
        self.description = "Ray"

    def __enter__(self) -> "RayExecutor":
        import ray

        env = {"KERAS_BACKEND": self.backend, **SINGLE_THREAD_ENV, **GPU_ENV}
        if not self.verbose:
            env.update(QUIET_ENV)
        self._started = not ray.is_initialized()
        if self._started:
            ray.init(
                address=self.address,
                num_cpus=self.num_cpus if self.address is None else None,
                runtime_env={"env_vars": env},
                include_dashboard=False,
                log_to_driver=self.verbose,
                logging_level=logging.INFO if self.verbose else logging.ERROR,
            )
        resources = ray.cluster_resources()
        gpus = float(resources.get("GPU", 0.0))
        self._remote = ray.remote(_ray_call).options(
            num_cpus=1,
            num_gpus=1.0 / self.runs_per_gpu if gpus else 0,
            max_retries=0,
        )
        self.description = (
            f"Ray: {resources.get('CPU', 0):g} CPU(s), {gpus:g} GPU(s), "
            f"{len(ray.nodes())} node(s)"
        )
        return self

    def __exit__(self, *exc: Any) -> None:
        import ray

        for ref in list(self._refs):
            try:
                ray.cancel(ref, force=True)
            except Exception:  # already finished or gone: nothing to cancel
                pass
        self._refs.clear()
        if self._started:
            ray.shutdown()

    def submit(self, key: Any, fn: Callable, args: tuple) -> None:
        """Submit ``fn(*args)`` as a task; its outcome comes back from `next_result`.

        Args:
            key (Any): Returned with the outcome.
            fn (Callable): A module-level (picklable) function.
            args (tuple): Picklable arguments.
        """
        self._refs[self._remote.remote(fn, args)] = key

    @property
    def busy(self) -> bool:
        """bool: Whether a task is pending."""
        return bool(self._refs)

    def next_result(self) -> tuple[Any, bool, Any]:
        """Wait for the next task to finish.

        Returns:
            tuple[Any, bool, Any]: ``(key, ok, value)``: the result, or ``ok``
            False and the error's text when the task raised or its worker died.

        Raises:
            RuntimeError: No task is pending.
        """
        import ray

        if not self._refs:
            raise RuntimeError("no call is queued or running")
        (ref,), _ = ray.wait(list(self._refs), num_returns=1)
        key = self._refs.pop(ref)
        try:
            return key, True, ray.get(ref)
        except Exception as e:  # RayTaskError, WorkerCrashedError, ...
            return key, False, f"{type(e).__name__}: {e}"


__all__ = ["RayExecutor"]

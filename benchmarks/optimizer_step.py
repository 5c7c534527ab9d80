"""Median optimizer step time of the grafted optimizers, as a ratio to Keras's own.

About 4.3 million parameters in tensors shaped like a DCGAN pair for 28x28
images (24 tensors). Every optimizer is timed in the same process,
interleaved round by round, so the ratios hold on a noisy shared machine.

    python benchmarks/optimizer_step.py              # every backend, one process each
    KERAS_BACKEND=jax python benchmarks/optimizer_step.py --single

    python benchmarks/optimizer_step.py --threads 1  # one thread per backend

Goal: AdaNSGDA <= 1.2x Adam, NSGDA <= 1.4x SGD and Graft(Adam, SGD) <= 1.6x
Adam on every backend (with `--tiny`: 1.2x, 1.6x and 2x). The
floors, in passes over memory (reads and writes of one array of the size of
the parameters): Adam reads g, m, v, theta and writes m, v, theta (7);
AdaNSGDA needs at least one more read (the norm of g before the step), 8/7 =
1.14x Adam; NSGDA reads g for its norm, then g and theta, and writes theta
(4), against SGD's 3: 1.33x. On PyTorch, `torch.optim.Adam` (foreach and
fused) on the same tensors is timed too, for reference.

Each round times `--steps` steps and then waits once for the device (JAX:
`block_until_ready`; TensorFlow: a read of a variable; PyTorch:
`torch.cuda.synchronize()` on a GPU): on a GPU a step only queues work, and
waiting after every step would add a host-device round trip to each.

`--tiny` keeps the 24 variables but gives each one element: what is left is
the per-step cost on the host (Python, Keras's `apply`, one dispatch per
op), the part that bounds a step of this size on a GPU. On an H200 the
4.3M-parameter steps take 0.2-2 ms where their memory traffic needs about
0.03 ms (`docs/results.md`, GPU check), and `--tiny` on a CPU gives about
the same ratios, so the host cost can be worked on without a GPU. The
memory-traffic floors do not apply to it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from functools import partial

SHAPES = [
    # generator: dense 128 -> 7x7x256 (+ batch norm), transposed convolutions
    # 256 -> 128 -> 64 -> 1 (5x5, + batch norms)
    (128, 7 * 7 * 256),
    (7 * 7 * 256,),
    (7 * 7 * 256,),
    (7 * 7 * 256,),
    (5, 5, 128, 256),
    (128,),
    (128,),
    (128,),
    (5, 5, 64, 128),
    (64,),
    (64,),
    (64,),
    (5, 5, 1, 64),
    (1,),
    # discriminator: convolutions 1 -> 64 -> 128 -> 256 (5x5), 256 -> 256 (3x3),
    # dense logit
    (5, 5, 1, 64),
    (64,),
    (5, 5, 64, 128),
    (128,),
    (5, 5, 128, 256),
    (256,),
    (3, 3, 256, 256),
    (256,),
    (7 * 7 * 256, 1),
    (1,),
]


# (name, reference, goal, goal with --tiny, memory-traffic floor or None):
# the ratios checked.
GOALS = [
    ("AdaNSGDA", "keras Adam", 1.2, 1.2, 8 / 7),
    ("NSGDA", "keras SGD", 1.4, 1.6, 4 / 3),
    ("Graft(Adam, SGD)", "keras Adam", 1.6, 2.0, None),
]


def _set_threads(backend: str, threads: int) -> None:
    """Limits the backend to `threads` threads (before any op runs)."""
    if backend == "torch":
        import torch

        torch.set_num_threads(threads)
        torch.set_num_interop_threads(threads)
    elif backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    # JAX: through XLA_FLAGS, set by `main` before the process starts.


def _torch_reference_steps(grads_np):
    """`torch.optim.Adam` steps (foreach, fused) on copies of the same tensors.

    A variant this torch cannot run (fused Adam on some devices or versions)
    is reported as unavailable instead of timed.
    """
    import torch

    steps, unavailable = {}, {}
    for name, kwargs in (
        ("torch Adam foreach", {"foreach": True}),
        ("torch Adam fused", {"fused": True}),
    ):
        params = [torch.nn.Parameter(torch.tensor(0.1 * g)) for g in grads_np]
        for p, g in zip(params, grads_np):
            p.grad = torch.tensor(g)
        try:
            optimizer = torch.optim.Adam(params, lr=1e-3, **kwargs)
            optimizer.step()
        except (RuntimeError, TypeError, ValueError) as error:
            unavailable[name] = f"{type(error).__name__}: {error}".splitlines()[0]
            continue
        steps[name] = optimizer.step
    return steps, unavailable


def _bench_one_backend(
    rounds: int, steps: int, threads: int | None, tiny: bool = False
) -> None:
    import keras
    import numpy as np

    from keras_graft import optimizers

    class PerVariableGraft(optimizers.Graft):
        """A subclass: no backend's fused table lists it, so each child's step
        is read variable by variable (`Graft._rule`)."""

    backend = keras.backend.backend()
    if threads:
        _set_threads(backend, threads)
    shapes = [(1,) * len(s) for s in SHAPES] if tiny else SHAPES
    rng = np.random.default_rng(0)
    factories = {
        "keras Adam": lambda: keras.optimizers.Adam(1e-3),
        "keras SGD": lambda: keras.optimizers.SGD(1e-2),
        "AdaNSGDA": lambda: optimizers.AdaNSGDA(1e-3),
        "AdaDir": lambda: optimizers.AdaDir(1e-2),
        "NSGDA": lambda: optimizers.NSGDA(1e-2),
        "Graft(Adam, SGD)": lambda: optimizers.Graft("adam", "sgd"),
        # keras_graft 0.1's Graft: each child's per-variable `update_step`,
        # which the general path still runs for children it cannot fuse.
        "Graft 0.1 per-var": lambda: PerVariableGraft("adam", "sgd"),
    }
    grads_np = [rng.standard_normal(s).astype("float32") for s in shapes]
    n_params = sum(g.size for g in grads_np)

    def make_step(optimizer):
        """`(step, wait)`: one update, and a wait until the updates are done."""
        variables = [
            keras.Variable(0.1 * g, name=f"v{i}") for i, g in enumerate(grads_np)
        ]
        grads = [keras.ops.convert_to_tensor(g) for g in grads_np]
        optimizer.build(variables)
        if backend == "jax":
            import jax

            state = {
                "t": [v.value for v in variables],
                "o": [v.value for v in optimizer.variables],
            }

            # Donated buffers, as in Keras's JAX trainer: updates run in place.
            @partial(jax.jit, donate_argnums=(0, 1))
            def apply(t, o, g):
                return optimizer.stateless_apply(o, g, t)

            def step():
                state["t"], state["o"] = apply(state["t"], state["o"], grads)

            return step, lambda: jax.block_until_ready(state["t"])
        if backend == "tensorflow":
            import tensorflow as tf

            apply = tf.function(
                lambda: optimizer.apply(grads, variables), autograph=False
            )
            return apply, lambda: variables[0].value.numpy()
        return lambda: optimizer.apply(grads, variables), _torch_wait

    steps_of = {name: make_step(f()) for name, f in factories.items()}
    unavailable = {}
    if backend == "torch":
        torch_steps, unavailable = _torch_reference_steps(grads_np)
        steps_of.update({k: (s, _torch_wait) for k, s in torch_steps.items()})
    for step, wait in steps_of.values():  # compile and warm up
        for _ in range(3):
            step()
        wait()
    times = {name: [] for name in steps_of}
    for _ in range(rounds):
        for name, (step, wait) in steps_of.items():
            start = time.perf_counter()
            for _ in range(steps):
                step()
            wait()
            times[name].append((time.perf_counter() - start) / steps * 1e3)
    median = {name: float(np.median(t)) for name, t in times.items()}
    print(
        f"\nbackend={backend}  parameters={n_params / 1e6:.2f}M"
        f"{' (--tiny: one per variable)' if tiny else ''}  "
        f"rounds={rounds}x{steps} steps  threads={threads or 'default'}"
    )
    print(f"{'optimizer':<20} {'median ms/step':>15} {'vs Adam':>8} {'vs SGD':>8}")
    for name, ms in median.items():
        print(
            f"{name:<20} {ms:>15.3f} {ms / median['keras Adam']:>7.2f}x "
            f"{ms / median['keras SGD']:>7.2f}x"
        )
    for name, reason in unavailable.items():
        print(f"{name:<20} unavailable ({reason})")
    for name, reference, goal, tiny_goal, floor in GOALS:
        ratio = median[name] / median[reference]
        goal = tiny_goal if tiny else goal
        verdict = "met" if ratio <= goal else "NOT met"
        floor_text = (
            "" if tiny or floor is None else f"memory-traffic floor {floor:.2f}, "
        )
        print(
            f"{name}/{reference.split()[-1]} = {ratio:.2f}  "
            f"({floor_text}goal <= {goal}: {verdict})"
        )
    for name in ("torch Adam foreach", "torch Adam fused"):
        if name in median:
            print(f"AdaNSGDA/{name} = {median['AdaNSGDA'] / median[name]:.2f}")


def _torch_wait() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--single", action="store_true", help="only the backend of KERAS_BACKEND"
    )
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads per backend (default: the backend's own choice); one "
        "thread gives steadier ratios on a loaded machine",
    )
    parser.add_argument(
        "--backends", default="tensorflow,jax,torch", help="comma-separated"
    )
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="one element per variable: the per-step host cost alone",
    )
    args = parser.parse_args()
    if args.single:
        _bench_one_backend(args.rounds, args.steps, args.threads, args.tiny)
        return
    for backend in args.backends.split(","):
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
        if args.threads and backend == "jax":
            env["XLA_FLAGS"] = (
                env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false "
                f"intra_op_parallelism_threads={args.threads}"
            ).strip()
        command = [sys.executable, __file__, "--single"]
        command += [f"--rounds={args.rounds}", f"--steps={args.steps}"]
        if args.threads:
            command.append(f"--threads={args.threads}")
        if args.tiny:
            command.append("--tiny")
        subprocess.run(command, env=env, check=True)


if __name__ == "__main__":
    main()

"""`reproduce`: plan a preset's runs, execute them, and report from what is stored.

Three steps, as in Ray Tune's trial / experiment / executor split:

1. **Plan** (`keras_graft.experiments.runs.plan_runs`): the list of runs
   (`Run`: a frozen configuration with a key) the preset asks for, given the
   results so far; a learning-rate search's later runs appear once the runs
   they depend on are in.
2. **Execute**: an executor (`workers.LocalExecutor` over this machine's
   cores or GPUs, or `ray_executor.RayExecutor` over a Ray cluster) trains
   the runs; each result is stored in the report folder the moment it
   finishes (`store.RunStore`). A run that raises, or whose worker dies, is
   tried once more, then recorded as failed; the others go on. Running the
   same command again skips what is stored and retries what failed.
3. **Report** (`write_report`): analysis, claims, plots, ``results.json``
   and ``report.md`` from the stored results alone, so a folder can be
   reported on again without training (`report_from_folder`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any, Callable

from keras_graft._utils import jsonable
from keras_graft._validation import (
    check_bool,
    check_choice,
    check_int,
    check_optional_int,
)
from keras_graft.experiments.presets import (
    PRESETS,
    GANBenchmark,
    Preset,
    get_preset,
)
from keras_graft.experiments.runs import (
    SELECTION_SEED_BASE,
    Run,
    plain,
    plan_runs,
    synthetic_jobs,
    synthetic_runs,
)

#: Executors of `reproduce`.
EXECUTORS = ("local", "ray")
#: Tries of a run before it is recorded as failed.
ATTEMPTS = 2


def git_commit() -> str | None:
    """The git commit of the package's checkout, ``-dirty`` if its code has changes.

    Only changes to tracked files under ``keras_graft/`` (the code that made
    the report) count as dirty; documentation edits do not.

    Returns:
        str | None: The commit, or None outside a git checkout.
    """
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()

    try:
        sha = git("rev-parse", "HEAD")
        dirty = git(
            "status", "--porcelain", "--untracked-files=no", "--", "keras_graft"
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return sha + ("-dirty" if dirty else "") if sha else None


def _log(msg: str, stream: Any) -> None:
    if stream is not None:
        print(msg, file=stream, flush=True)


def _manifest(
    preset: Preset, seed_offset: int, backend: str, seeds: int | None
) -> dict:
    from keras_graft import __version__

    return {
        "keras_graft_version": __version__,
        "backend": backend,
        "preset": preset.name,
        "seeds": seeds,
        "seed_offset": seed_offset,
        "preset_config": plain(preset),
    }


def _executor(
    executor: str,
    backend: str,
    workers: int | None,
    runs_per_gpu: int | None,
    address: str | None,
    log_dir: str | None,
) -> Any:
    if executor == "ray":
        from keras_graft.experiments.ray_executor import RayExecutor

        return RayExecutor(
            backend,
            address=address,
            runs_per_gpu=runs_per_gpu,
            num_cpus=workers,
            verbose=log_dir is None,
        )
    from keras_graft.experiments.workers import GPU_ENV, LocalExecutor, placement

    slots = placement(workers=workers, runs_per_gpu=runs_per_gpu)
    if any(s.gpu is not None for s in slots):
        # This process may touch a GPU too (the digit classifier): it must
        # not take the memory the workers need.
        for k, v in GPU_ENV.items():
            os.environ.setdefault(k, v)
    return LocalExecutor(slots, backend, log_dir=log_dir)


def execute(
    preset: Preset,
    store: Any,
    seed_offset: int,
    executor: Any,
    gans: tuple,
    log: Any = None,
    errors: Any = sys.stderr,
    progress: Callable[[float, float, str], None] | None = None,
) -> dict[str, Any]:
    """Train every planned run that is not stored yet, storing each as it finishes.

    Args:
        preset (Preset): The preset.
        store (RunStore): The report folder's store.
        seed_offset (int): Added to every seed.
        executor (Any): A `LocalExecutor` or `RayExecutor` (entered here).
        gans (tuple[GANBenchmark, ...]): The benchmarks to run.
        log (Any): A text stream for a line per finished run (None: silent).
        errors (Any): A text stream for a line per failed try and the number
            of runs resumed (None: silent).
        progress (Callable[[float, float, str], None] | None): Called as
            ``progress(done, total, label)`` (estimated work) after each run;
            the runs already stored count as done.

    Returns:
        dict[str, Any]: Key -> result of every finished run (None: failed).
    """
    from keras_graft.experiments.workers import stop_on_sigterm

    finished: dict[str, Any] = store.finished()
    if finished:
        _log(
            f"resuming: {len(finished)} run(s) already stored in {store.folder}",
            errors,
        )
    if store.discarded:
        _log(
            f"{len(store.discarded)} unreadable run file(s) in {store.runs_dir} "
            "removed; their runs are trained again",
            errors,
        )
    synthetic = synthetic_runs(preset.synthetic, seed_offset)  # made once
    tries: dict[str, int] = {}
    running: dict[str, Run] = {}
    restore = stop_on_sigterm()
    try:
        with executor:
            while True:
                planned = plan_runs(preset, seed_offset, finished, gans, synthetic)
                todo = [
                    r for r in planned if r.key not in finished and r.key not in running
                ]
                for run in sorted(todo, key=lambda r: -r.cost):
                    running[run.key] = run
                    executor.submit(run.key, run.fn, run.args)
                if progress is not None:
                    done = [r for r in planned if r.key in finished]
                    progress(
                        sum(r.cost for r in done),
                        sum(r.cost for r in planned),
                        f"{len(done)}/{len(planned)} runs",
                    )
                if not running:
                    return finished
                key, ok, value = executor.next_result()
                run = running.pop(key)
                if ok:
                    finished[key] = store.put(run, value)
                    _log(_result_line(run, finished[key]), log)
                    continue
                tries[key] = tries.get(key, 0) + 1
                last = value.strip().splitlines()[-1] if value.strip() else "error"
                if tries[key] < ATTEMPTS:
                    _log(f"[failed, retrying] {run.label}: {last}", errors)
                else:
                    store.fail(run, value)
                    finished[key] = None
                    _log(
                        f"[failed] {run.label}: {last} (traceback in "
                        f"{os.path.join(store.logs_dir, 'errors.log')})",
                        errors,
                    )
    finally:
        restore()


def _result_line(run: Run, result: Any) -> str:
    if run.spec["kind"] != "gan":
        return f"[{run.label}] {len(result)} runs"
    final = ", ".join(
        f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
        for k, v in result["final"].items()
    )
    return (
        f"[{run.label}]: {final} ({result['seconds']:.1f} s, "
        f"{result['steps_per_s']:.0f} steps/s)"
    )


def reproduce(
    preset: str | Preset = "default",
    out_dir: str | os.PathLike = "keras_graft_report",
    seeds: int | None = None,
    seed_offset: int = 0,
    log: Any = sys.stderr,
    progress: Callable[[float, float, str], None] | None = None,
    workers: int | None = None,
    executor: str = "local",
    address: str | None = None,
    runs_per_gpu: int | None = None,
    fresh: bool = False,
    verbose: bool = False,
    notices: Any = sys.stderr,
) -> dict:
    """Run every experiment of a preset and write the report folder.

    Writes ``report.md`` (a plain-words summary, then one section per claim
    with its rule, its intervals and its verdict), the PNG plots and
    ``results.json`` (every number of the report, the configs and the
    per-run measurements) into `out_dir`, and keeps every finished run there
    (``runs/``) as soon as it finishes: calling `reproduce` again with the
    same arguments and folder skips the stored runs, retries the failed ones,
    and writes the same report. A folder holding runs of another preset,
    configuration, backend or library version is refused (``fresh=True``
    starts over).

    With more than one worker the runs go to spawned worker processes (one
    per core, each single-threaded and pinned to its core; on a machine with
    GPUs, `runs_per_gpu` per GPU, each seeing one GPU). Spawned workers
    import the calling script again, so a script that calls `reproduce` must
    do so under ``if __name__ == "__main__":``, as with any `multiprocessing`
    code; notebooks and the `keras-graft` command need nothing. Pass
    ``workers=1`` to run everything in this process. ``executor="ray"``
    submits every run as a Ray task instead (``pip install
    "keras-graft[ray]"``).

    Args:
        preset (str | Preset): "tiny", "default", "long", "gpu", "paper", or
            a `Preset`.
        out_dir (str | os.PathLike): The report folder (created).
        seeds (int | None): Overrides the preset's numbers of seeds.
        seed_offset (int): Added to every seed of the run (fresh and selection
            seeds alike).
        log (Any): A text stream for progress lines and failed runs (None:
            silent).
        progress (Callable[[float, float, str], None] | None): Called as
            ``progress(done, total, label)`` after each finished run, with the
            estimated work done so far (stored runs included) and in all, and
            a label.
        workers (int | None): Local worker processes (None: one per CPU core,
            or `runs_per_gpu` per GPU); with Ray, the CPUs of a local instance.
        executor (str): "local" (this machine) or "ray".
        address (str | None): The Ray cluster to use (None: a local instance).
        runs_per_gpu (int | None): Runs sharing a GPU (None: the executor's
            default).
        fresh (bool): Delete the folder's stored runs first.
        verbose (bool): Workers write to the terminal (else to
            ``logs/worker-<i>.log``), with the backends' logs on.
        notices (Any): A text stream for what the user must see even without
            `log`: a line per failed run, a resumed or skipped part (None:
            silent).

    Returns:
        dict: The results (as saved in ``results.json``).
    """
    import keras

    from keras_graft.experiments.store import RunStore

    seed_offset = check_int(seed_offset, "seed_offset", minimum=0)
    workers = check_optional_int(workers, "workers", minimum=1)
    runs_per_gpu = check_optional_int(runs_per_gpu, "runs_per_gpu", minimum=1)
    executor = check_choice(executor, "executor", EXECUTORS)
    fresh = check_bool(fresh, "fresh")
    if address is not None and executor != "ray":
        raise ValueError(
            "Argument `address` must be None unless executor='ray'; received "
            f"address={address!r}."
        )
    if isinstance(preset, str):
        preset = get_preset(check_choice(preset, "preset", list(PRESETS)), seeds)
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    start = time.perf_counter()
    commit = git_commit()  # the code the run starts with, whatever changes meanwhile
    backend = keras.backend.backend()
    manifest = _manifest(preset, seed_offset, backend, seeds)
    store = RunStore(out_dir, manifest, fresh=fresh)
    runner = _executor(
        executor,
        backend,
        workers,
        runs_per_gpu,
        address,
        None if verbose else store.logs_dir,
    )
    _log(
        f"keras-graft reproduce: preset {preset.name}, backend {backend}, "
        f"{runner.description}, seed offset {seed_offset}",
        log,
    )
    slow_synthetic(preset, backend, notices)
    slots = getattr(runner, "slots", None)  # None: a Ray cluster's, unknown
    if slots is not None:
        eager_gan_steps(preset, backend, any(s.gpu is not None for s in slots), notices)
    gans = _available_gans(preset, notices)
    if any(
        b.config.experiment == "digits" and b.config.metric == "digits" for b in gans
    ):
        # Loaded (the shipped default) and the real digits' statistics cached
        # on disk, before the workers read them.
        from keras_graft.metrics import digit_classifier, digit_statistics

        digit_classifier()
        digit_statistics("test")
    finished = execute(
        preset,
        store,
        seed_offset,
        runner,
        gans,
        log=log,
        errors=notices,
        progress=progress,
    )
    meta = {
        "executor": runner.description,
        "workers": len(getattr(runner, "slots", ())) or workers or 1,
        "git_commit": commit,
    }
    results = write_report(preset, store, seed_offset, gans, finished, meta)
    results["meta"]["seconds"] = time.perf_counter() - start
    _save(results, out_dir)
    for c in results["claims"]:
        _log(f"Claim {c['id']}: {c['verdict']}", log)
    if results["failed_runs"]:
        _log(
            f"{len(results['failed_runs'])} run(s) failed; run the same command "
            "again to retry them",
            notices,
        )
    _log(f"report written to {out_dir} in {results['meta']['seconds']:.1f} s", log)
    return results


def slow_synthetic(preset: Preset, backend: str, notices: Any) -> bool:
    """Say up front when this backend trains the synthetic runs one at a time.

    Args:
        preset (Preset): The preset.
        backend (str): The Keras backend.
        notices (Any): The stream for the line (None: silent).

    Returns:
        bool: Whether the line was due.
    """
    from keras_graft._backend import backend_module

    if backend_module("keras_graft.experiments._backend").VECTORIZED:
        return False
    runs = sum(len(group) for _, _, group in synthetic_jobs(preset.synthetic))
    _log(
        f"note: on {backend} the {runs} synthetic runs train one after another, "
        "not a group at once as on jax and torch (about 0.5 s a run of the "
        "default's 3000 steps on one core): KERAS_BACKEND=jax or torch "
        "finishes much sooner",
        notices,
    )
    return True


#: The `default` preset's wall time on 2 idle CPU cores, PyTorch over JAX
#: (2,466 s against 602 s; `benchmarks/results/reproduce_default*`, a test
#: holds this to them). A ring run takes 19 s there against 1.5 s on JAX.
TORCH_CPU_SLOWDOWN = 4


def eager_gan_steps(preset: Preset, backend: str, gpus: bool, notices: Any) -> bool:
    """Say up front when the GAN runs go one eager step per call (PyTorch on CPUs).

    Keras's PyTorch trainer runs one step per call, eagerly, where JAX and
    TensorFlow compile `steps_per_execution` steps into one call; without a
    GPU the host's work per step is then the whole cost of a small GAN.

    Args:
        preset (Preset): The preset.
        backend (str): The Keras backend.
        gpus (bool): Whether the workers have GPUs.
        notices (Any): The stream for the line (None: silent).

    Returns:
        bool: Whether the line was due.
    """
    per_call = max((b.config.steps_per_execution for b in preset.gans), default=1)
    if backend != "torch" or gpus or per_call == 1:
        return False
    _log(
        "note: on torch without a GPU Keras runs every GAN step eagerly, one per "
        f"call (jax and tensorflow compile up to {per_call} per call): the default "
        f"takes about {TORCH_CPU_SLOWDOWN}x its time on jax on 2 CPU cores; "
        "KERAS_BACKEND=jax finishes much sooner",
        notices,
    )
    return True


def _available_gans(preset: Preset, log: Any) -> tuple:
    gans = tuple(
        b for b in preset.gans if b.config.experiment != "cifar10" or _cifar_available()
    )
    if len(gans) < len(preset.gans):
        _log("[cifar10] skipped: tfds cifar10 is not prepared on this machine", log)
    return gans


def _save(results: dict, out_dir: str) -> None:
    from keras_graft.experiments.report import render_markdown

    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=None, separators=(",", ":"))
    with open(os.path.join(out_dir, "report.md"), "w") as f:
        f.write(render_markdown(results))


def write_report(
    preset: Preset,
    store: Any,
    seed_offset: int,
    gans: tuple,
    finished: dict[str, Any],
    meta: dict | None = None,
) -> dict:
    """The results of a reproduction from its stored runs, and its plots.

    Only the runs the plan asks for count (with their stored results); the
    runs it asks for without a result are listed as failed, and each claim
    that depends on them says so.

    Args:
        preset (Preset): The preset.
        store (RunStore): The report folder's store (plots go there too).
        seed_offset (int): Added to every seed.
        gans (tuple[GANBenchmark, ...]): The benchmarks run.
        finished (dict[str, Any]): Key -> stored result (None: failed).
        meta (dict | None): Extra ``meta`` entries (executor, commit).

    Returns:
        dict: The results (``results.json``'s content; ``meta.seconds`` 0).
    """
    import keras

    from keras_graft import __version__
    from keras_graft.experiments import analysis, claims, plots, stability

    planned = plan_runs(preset, seed_offset, finished, gans)
    syn_runs: list[dict] = []
    gan_runs: dict[str, list[dict]] = {b.config.experiment: [] for b in gans}
    samples: dict[str, dict] = {b.config.experiment: {} for b in gans}
    failed = []
    for run in planned:
        result = finished.get(run.key)
        if result is None:
            failed.append({"label": run.label, "key": run.key, "spec": run.spec})
            continue
        spec = run.spec
        if spec["kind"] == "synthetic":
            syn_runs += result
            continue
        exp = spec["config"]["experiment"]
        result = {**result, "phase": spec["phase"]}
        result.pop("samples", None)
        if spec["samples"]:
            x = store.samples(run.key)
            if x is not None:
                samples[exp][spec["optimizer"]] = x
        gan_runs[exp].append(result)
    for f in failed:
        f["error"] = _failure(store, f["key"])
    # The plan's order is fixed, but sort anyway so that the summaries (their
    # sums, the example runs they pick) never depend on it.
    syn_runs.sort(
        key=lambda r: (
            (r["kind"], r["loss"], r["label"])
            + tuple(r[k] for k in ("init_std", "dim", "lr_g", "lr_d", "seed"))
        )
    )
    for b in gans:
        optimizers = list(b.config.optimizers)
        gan_runs[b.config.experiment].sort(
            key=lambda r, optimizers=optimizers: (
                optimizers.index(r["optimizer"]),
                r["phase"] != "selection",
                r["learning_rate"],
                r["seed"],
            )
        )
    syn = analysis.summarize_synthetic(syn_runs, preset.synthetic)
    gan_summaries = {
        b.config.experiment: analysis.summarize_gan(
            gan_runs[b.config.experiment], b, preset.margin
        )
        for b in gans
    }
    verdicts = claims.evaluate_claims(syn, gan_summaries, preset)
    claims.note_failures(verdicts, failed)
    results = {
        "meta": {
            "preset": preset.name,
            "description": preset.description,
            "backend": keras.backend.backend(),
            "keras_version": keras.__version__,
            "keras_graft_version": __version__,
            "git_commit": None,
            "seed_offset": seed_offset,
            "workers": 1,
            "seconds": 0.0,
            "margin": preset.margin,
            **(meta or {}),
        },
        "synthetic": syn,
        "gans": {
            b.config.experiment: {
                "config": _config_dict(b),
                "runs": [
                    analysis.compact_gan_run(r) for r in gan_runs[b.config.experiment]
                ],
                "summary": gan_summaries[b.config.experiment],
            }
            for b in gans
        },
        "claims": verdicts,
        "failed_runs": [{k: f[k] for k in ("label", "key", "error")} for f in failed],
    }
    results = jsonable(results)
    stability.attach(results)
    results["plots"] = plots.make_plots(results, samples, store.folder)
    return results


def _failure(store: Any, key: str) -> str:
    path = os.path.join(store.runs_dir, key + ".failed.json")
    if not os.path.exists(path):
        return "not run"
    with open(path) as f:
        return json.load(f)["error"]


def report_from_folder(
    out_dir: str | os.PathLike, preset: Preset | None = None
) -> dict:
    """Write the report of a folder again from its stored runs, training nothing.

    Args:
        out_dir (str | os.PathLike): A report folder of `reproduce`.
        preset (Preset | None): Its preset (None: the named preset of its
            manifest, with the manifest's configuration).

    Returns:
        dict: The results (as saved in ``results.json``).

    Raises:
        IncompatibleFolder: `preset` is not the folder's.
    """
    import keras

    from keras_graft.experiments.store import RunStore

    out_dir = os.fspath(out_dir)
    with open(os.path.join(out_dir, "manifest.json")) as f:
        manifest = json.load(f)
    if preset is None:
        preset = get_preset(manifest["preset"], manifest["seeds"])
    offset, seeds = manifest["seed_offset"], manifest["seeds"]
    backend = keras.backend.backend()
    store = RunStore(out_dir, _manifest(preset, offset, backend, seeds))
    finished = store.finished()
    planned = plan_runs(preset, offset, finished)
    for run in planned:
        if run.key not in finished and os.path.exists(
            os.path.join(store.runs_dir, run.key + ".failed.json")
        ):
            finished[run.key] = None
    gans = tuple(
        b
        for b in preset.gans
        if any(
            r.spec["kind"] == "gan"
            and r.spec["config"]["experiment"] == b.config.experiment
            and r.key in finished
            for r in planned
        )
    )
    old = {}
    if os.path.exists(os.path.join(out_dir, "results.json")):
        with open(os.path.join(out_dir, "results.json")) as f:
            old = json.load(f).get("meta", {})
    keep = ("executor", "workers", "git_commit", "seconds")
    meta = {k: old[k] for k in keep if k in old}
    # The runs came from `git_commit`; the analysis and the report from this code.
    meta["report_git_commit"] = git_commit()
    results = write_report(preset, store, offset, gans, finished, meta)
    _save(results, out_dir)
    return results


def _config_dict(b: GANBenchmark) -> dict:
    from keras_graft.experiments.gan_runs import config_dict

    return {
        **config_dict(b.config),
        "seeds": b.seeds,
        "search": list(b.search),
        "selection_seeds": b.selection_seeds,
        "extend": b.extend,
        "score_evals": b.score_evals,
    }


def _cifar_available() -> bool:
    try:
        from keras_graft.datasets import load_images

        load_images("cifar10", "train", limit=1)
        return True
    except Exception:  # any failure means "not available here"
        return False


__all__ = [
    "ATTEMPTS",
    "EXECUTORS",
    "SELECTION_SEED_BASE",
    "eager_gan_steps",
    "execute",
    "git_commit",
    "report_from_folder",
    "reproduce",
    "slow_synthetic",
    "synthetic_jobs",
    "write_report",
]

"""GPU check: is the accelerator found and used, how fast, does `reproduce` run.

For each Keras backend (tensorflow, jax, torch), each in its own subprocesses
with ``KERAS_BACKEND`` set (the backend is fixed when keras is imported):

1. device: whether a GPU is visible (TensorFlow:
   ``tf.config.list_physical_devices("GPU")``; JAX: the platform of
   ``jax.devices()``; torch: ``torch.cuda.is_available()``) and whether keras
   puts its variables on it (the device of a ``keras.Variable``'s value and of
   a matmul of it). Without a GPU the report says "no GPU: ran on CPU";
2. the optimizer benchmark (``benchmarks/optimizer_step.py --single``) and the
   GAN step benchmark (``benchmarks/gan_step.py``), with their ratio lines;
3. a short ``keras-graft reproduce --preset tiny`` (claim verdicts and wall
   time; its runs placed by the executor, several per GPU), or with
   ``--reproduce default`` the whole default preset (the goal on one
   H100-class GPU: under a minute; use ``--reproduce-seeds 0`` and a longer
   ``--timeout``), or with ``--reproduce smoke`` one short ``keras-graft train`` run of
   the synthetic experiment instead (what ``--quick`` uses: the tiny preset
   takes minutes on a loaded 2-core CPU);

then writes ``gpu_check_report.md`` (and the same numbers as
``gpu_check.json``) into ``--out``: the machine (nvidia-smi, CPU count,
versions), and per backend the device found and used, the benchmark ratios,
the reproduce timing and verdicts, and PASS/FAIL of each step. Every step's
full output is kept in ``--out/logs``, the reproduce report folders in
``--out/reproduce_<backend>_<mode>``.

The device probe runs in the optimizer benchmark's process, just before it
(the device reported is the one that benchmark ran on). ``--skip STEP``
(optimizer, gan, reproduce; repeatable) leaves a step out, and the report
says so.

Exit status: 0 when no step failed, 1 otherwise. A machine without a GPU is
not a failure (the device step says "no GPU: ran on CPU"), unless
``--require-gpu`` is given; a GPU that is visible but not used is one.

On a lent GPU machine, from the repository root (the check itself needs no
network; each step is stopped after ``--timeout`` = 300 s; on an NVIDIA H200
the default options took 215 s for PyTorch and JAX, `docs/results.md`)::

    python -m pip install -e ".[test]" -c .ci/constraints.txt
    python benchmarks/gpu_check.py --require-gpu --out reports/gpu_check
    cat reports/gpu_check/gpu_check_report.md

``benchmarks/gpu_check.sh [ARGS]`` does these three. The constraints pin the
versions CI tests with on machines without a GPU: where a backend reports
"no GPU" on a GPU machine, its CUDA build is missing. torch's Linux wheels
from PyPI include CUDA; JAX needs its CUDA plugin (``jax[cuda12]`` or
``jax[cuda13]`` at the pinned version) and TensorFlow the CUDA libraries
(``tensorflow[and-cuda]`` at the pinned version), installed on top.

On a machine with no network whose Python already has CUDA builds of JAX and
PyTorch (as on the H200 above), install Keras and what it needs beyond them
(``keras``, ``namex``, ``optree``) from wheels brought along, put the
repository on ``PYTHONPATH`` and run the check for those backends::

    python -m pip install --no-index --no-deps --target /tmp/site wheels/*.whl
    export PYTHONPATH=/tmp/site:$PWD
    python benchmarks/gpu_check.py --require-gpu --backends torch,jax

On a CPU (what tests/test_gpu_check.py runs)::

    python benchmarks/gpu_check.py --quick --backends jax

``--quick`` uses the smallest benchmark settings, ``--reproduce smoke`` and
one torch thread: measured here (2 cores) 40-55 CPU seconds per backend for
tensorflow and torch, 80 for JAX, whose GAN step benchmark compiles three
DCGAN steps with XLA:CPU (about 50 of them; the test skips it on JAX with
``--skip gan``).

Options: ``--backends`` (comma-separated), ``--out`` (default
``reports/gpu_check``, ignored by git), ``--quick``, ``--reproduce
tiny|smoke``, ``--reproduce-seeds``, ``--timeout`` (per step), ``--skip``,
``--require-gpu``; run with ``--help`` for all of them.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from importlib import metadata

BACKENDS = ("tensorflow", "jax", "torch")
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PROBE_TAG = "GPU_CHECK_PROBE "
NO_GPU = "no GPU: ran on CPU"

#: Settings of each step: the default (for a GPU, a few minutes per backend)
#: and ``--quick`` (a CPU smoke run, about a minute of CPU time per backend).
SETTINGS = {
    "default": {
        "optimizer": ["--rounds", "5", "--steps", "10"],
        "gan": ["--chunk", "20", "--repeats", "3"],
        "reproduce": "tiny",
        "smoke_steps": 200,
        "timeout": 300,
    },
    "quick": {
        "optimizer": ["--rounds", "1", "--steps", "1"],
        "gan": ["--chunk", "2", "--repeats", "1"],
        "reproduce": "smoke",
        "smoke_steps": 20,
        "timeout": 180,
    },
}

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|nan|inf"


# --------------------------------------------------------------------------
# The probe: runs inside a subprocess with KERAS_BACKEND set.


def _describe(x) -> str:
    """The device(s) an array of the current backend lives on, as text."""
    device = getattr(x, "device", None)
    if callable(device):  # old jax arrays: .device() method
        device = device()
    if device is None and hasattr(x, "devices"):  # jax arrays: a set
        device = ", ".join(sorted(str(d) for d in x.devices()))
    return str(device)


def probe() -> dict:
    """What this process's backend sees and where keras puts a variable.

    Returns:
        dict: ``backend``, ``gpus`` (names of the visible GPUs), ``variable``
        and ``matmul`` (the device of a keras.Variable's value and of a matmul
        of it), ``on_gpu`` (both on a GPU) and ``versions``.
    """
    import keras
    import numpy as np

    backend = keras.backend.backend()
    versions = {"keras": keras.__version__}
    if backend == "tensorflow":
        import tensorflow as tf

        versions["tensorflow"] = tf.__version__
        gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    elif backend == "jax":
        import jax

        versions["jax"] = jax.__version__
        gpus = [str(d) for d in jax.devices() if d.platform == "gpu"]
    elif backend == "torch":
        import torch

        versions["torch"] = torch.__version__
        versions["torch cuda"] = str(torch.version.cuda)
        gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    else:
        gpus = []
    variable = keras.Variable(np.ones((64, 64), "float32"), name="probe")
    product = keras.ops.matmul(variable.value, variable.value)
    var_device = _describe(variable.value)
    out_device = _describe(product)
    on_gpu = all(
        any(tag in d.lower() for tag in ("gpu", "cuda"))
        for d in (var_device, out_device)
    )
    return {
        "backend": backend,
        "gpus": gpus,
        "variable": var_device,
        "matmul": out_device,
        "on_gpu": on_gpu,
        "versions": versions,
    }


# --------------------------------------------------------------------------
# Parsing the steps' human-readable output.


def parse_optimizer(output: str) -> dict[str, float]:
    """The ratios (``A/B = x``) of `optimizer_step.py`'s summary lines.

    ``goal: AdaNSGDA/Adam = 1.05 (<= 1.25), NSGDA/SGD = 1.20 (<= 1.5)`` (or
    the same ratios on lines of their own) gives
    ``{"AdaNSGDA/Adam": 1.05, "NSGDA/SGD": 1.2}``.
    """
    ratios = {}
    for line in output.splitlines():
        for name, value in re.findall(
            rf"(?:^|(?<=[\s:,]))([A-Za-z][\w(]*(?:, \w+\))?/[A-Za-z][\w(), ]*?)"
            rf" = ({_NUMBER})",
            line,
        ):
            ratios[name] = float(value)
    return ratios


def parse_optimizer_table(output: str) -> dict[str, float]:
    """Median ms/step per optimizer of `optimizer_step.py`'s table."""
    times = {}
    for line in output.splitlines():
        m = re.match(rf"^(.+?)\s+({_NUMBER})\s+({_NUMBER})x\s+({_NUMBER})x\s*$", line)
        if m:
            times[m.group(1).strip()] = float(m.group(2))
    return times


def parse_gan(output: str) -> dict[str, dict[str, float]]:
    """Steps/s and the ratio to the hand loop per run of `gan_step.py`.

    A table row ``fit, pace on       35.2     0.95x ...`` (the first two
    columns; later ones are ignored) gives
    ``{"fit, pace on": {"steps_per_s": 35.2, "vs_hand": 0.95}}``.
    """
    runs = {}
    for line in output.splitlines():
        row = rf"^([A-Za-z][\w ,().=]*?)\s{{2,}}({_NUMBER})\s+({_NUMBER})x"
        m = re.match(row, line)
        if m:
            runs[m.group(1)] = {
                "steps_per_s": float(m.group(2)),
                "vs_hand": float(m.group(3)),
            }
    return runs


def parse_reproduce(output: str) -> dict:
    """Wall time and claim verdicts of `keras-graft reproduce`'s output."""
    result: dict = {"verdicts": {}}
    for line in output.splitlines():
        m = re.match(rf"^(.*report\.md) written in ({_NUMBER}) s", line)
        if m:
            result["report"] = m.group(1)
            result["seconds"] = float(m.group(2))
        m = re.match(r"^claim (\S+): (.+)$", line)
        if m:
            result["verdicts"][m.group(1)] = m.group(2).strip()
    return result


def parse_train(output: str) -> dict:
    """The metrics line of `keras-graft train --experiment synthetic`."""
    for line in output.splitlines():
        m = re.search(rf"({_NUMBER}) steps/s", line)
        if m and "modes recovered" in line:
            return {"line": line.strip(), "steps_per_s": float(m.group(1))}
    return {}


# --------------------------------------------------------------------------
# Running the steps.


def _run(
    cmd: list[str], backend: str, log_path: str, timeout: float, quick: bool
) -> dict:
    """Runs `cmd` with KERAS_BACKEND=`backend`; its output goes to `log_path`."""
    env = dict(os.environ, KERAS_BACKEND=backend)
    if quick and backend == "torch":
        # On a loaded CPU torch's OpenMP threads spin (tests/conftest.py).
        env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("MPLBACKEND", "Agg")
    # One process at a time holds the GPU: JAX need not grab 75% of it up front.
    env.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    start = time.perf_counter()
    cpu = _children_cpu()
    try:
        proc = subprocess.run(
            cmd,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        code, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as e:
        code = None
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
    seconds = time.perf_counter() - start
    cpu = _children_cpu() - cpu
    with open(log_path, "w") as f:
        f.write(f"$ KERAS_BACKEND={backend} {' '.join(cmd)}\n")
        f.write(f"# exit status {code}, {seconds:.1f} s, {cpu:.1f} CPU s\n\n")
        f.write(f"--- stdout\n{out}")
        f.write(f"\n--- stderr\n{err}")
    if code is None:
        error = f"timed out after {timeout:.0f} s"
    elif code != 0:
        tail = [line for line in err.strip().splitlines() if line.strip()][-1:]
        error = f"exit status {code}" + (f": {tail[0][:200]}" if tail else "")
    else:
        error = None
    return {
        "stdout": out,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "error": error,
        "log": log_path,
    }


def _children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes so far."""
    try:
        import resource
    except ImportError:  # not on Unix
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def check_backend(backend: str, args: argparse.Namespace, out_dir: str) -> dict:
    """Runs the four steps for one backend and returns their results."""
    settings = SETTINGS["quick" if args.quick else "default"]
    logs = os.path.join(out_dir, "logs")
    os.makedirs(logs, exist_ok=True)
    py = sys.executable
    result: dict = {"backend": backend, "steps": {}}

    def step(cmd: list[str], parsers: dict, log_name: str) -> list[dict]:
        """Runs `cmd`; each step of `parsers` ({name: parse}) reads its output."""
        print(f"[{backend}] {', '.join(parsers)} ...", flush=True)
        log = os.path.join(logs, f"{backend}_{log_name}.log")
        run = _run(cmd, backend, log, args.timeout or settings["timeout"], args.quick)
        infos = []
        for name, parse in parsers.items():
            parsed = parse(run["stdout"])
            # The probe's line counts even if the benchmark after it failed.
            error = None if parsed and name == "device" else run["error"]
            if error is None and not parsed:
                error = "its output had none of the expected lines"
            info = {
                "status": "PASS" if error is None else "FAIL",
                "seconds": round(run["seconds"], 1),
                "cpu_seconds": round(run["cpu_seconds"], 1),
                "error": error,
                "log": os.path.relpath(log, out_dir),
                "result": parsed,
            }
            print(
                f"[{backend}] {name}: {info['status']} in {run['seconds']:.0f} s "
                f"({run['cpu_seconds']:.0f} CPU s)" + (f" ({error})" if error else ""),
                flush=True,
            )
            result["steps"][name] = info
            infos.append(info)
        return infos

    def parse_probe(out: str) -> dict:
        lines = [x for x in out.splitlines() if x.startswith(PROBE_TAG)]
        return json.loads(lines[-1][len(PROBE_TAG) :]) if lines else {}

    def parse_optimizer_step(out: str) -> dict:
        ratios = parse_optimizer(out)
        if not ratios:
            return {}
        return {"ratios": ratios, "ms_per_step": parse_optimizer_table(out)}

    def parse_gan_step(out: str) -> dict:
        runs = parse_gan(out)
        return {"runs": runs} if runs else {}

    def parse_reproduce_step(out: str) -> dict:
        parsed = parse_reproduce(out)
        return parsed if "seconds" in parsed else {}

    def skipped(name: str, flag: str) -> dict:
        info = {
            "status": "SKIPPED",
            "seconds": 0.0,
            "cpu_seconds": 0.0,
            "error": f"not run: --skip {flag}",
            "log": None,
            "result": {},
        }
        print(f"[{backend}] {name}: SKIPPED (--skip {flag})", flush=True)
        result["steps"][name] = info
        return info

    # The device probe runs in the optimizer benchmark's process, before it:
    # the device seen is the one the benchmark runs on (and one import less).
    probe_cmd = [py, os.path.abspath(__file__), "--probe"]
    if "optimizer" in args.skip:
        (device,) = step(probe_cmd, {"device": parse_probe}, "device")
        skipped("optimizer benchmark", "optimizer")
    else:
        device, _ = step(
            [
                *probe_cmd,
                os.path.join(HERE, "optimizer_step.py"),
                "--single",
                *settings["optimizer"],
            ],
            {"device": parse_probe, "optimizer benchmark": parse_optimizer_step},
            "device_and_optimizer_benchmark",
        )
    found = device["result"]
    if device["status"] == "PASS":
        if found.get("error"):
            device["status"] = "FAIL"
            device["error"] = f"the probe failed: {found['error']}"
        elif found["gpus"] and not found["on_gpu"]:
            device["status"] = "FAIL"
            device["error"] = (
                f"GPU visible ({', '.join(found['gpus'])}) but keras used "
                f"{found['variable']}"
            )
        elif not found["gpus"]:
            device["status"] = "FAIL" if args.require_gpu else "CPU"
            device["error"] = NO_GPU

    if "gan" in args.skip:
        skipped("GAN step benchmark", "gan")
    else:
        step(
            [py, os.path.join(HERE, "gan_step.py"), *settings["gan"]],
            {"GAN step benchmark": parse_gan_step},
            "gan_step_benchmark",
        )

    mode = args.reproduce or settings["reproduce"]
    if "reproduce" in args.skip:
        info = skipped("reproduce", "reproduce")
        info["mode"] = mode
        info["command"] = "-"
        return result
    if mode in ("tiny", "default"):
        # The executor places the runs (several per GPU), as a user's run does.
        folder = os.path.join(out_dir, f"reproduce_{backend}_{mode}")
        cmd = [
            py,
            "-m",
            "keras_graft",
            "reproduce",
            "--preset",
            mode,
            "--backend",
            backend,
            "--quiet",
            "--fresh",
            "--out",
            folder,
        ]
        if args.reproduce_seeds:
            cmd += ["--seeds", str(args.reproduce_seeds)]
        (info,) = step(cmd, {"reproduce": parse_reproduce_step}, "reproduce")
    else:
        steps = settings["smoke_steps"]
        cmd = [
            py,
            "-m",
            "keras_graft",
            "train",
            "--experiment",
            "synthetic",
            "--optimizer",
            "ada_nsgda",
            "--preset",
            "tiny",
            "--steps",
            str(steps),
            "--backend",
            backend,
            "--out",
            os.path.join(logs, f"{backend}_train.json"),
        ]
        (info,) = step(cmd, {"reproduce": parse_train}, "reproduce")
    info["mode"] = mode
    # As a user types it; paths relative to the report folder.
    info["command"] = "keras-graft " + " ".join(
        os.path.relpath(c, out_dir) if c.startswith(out_dir) else c for c in cmd[3:]
    )
    return result


# --------------------------------------------------------------------------
# The machine and the report.


def machine() -> dict:
    """The machine: CPU count, OS, Python, installed versions, nvidia-smi."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    info = {
        "cpus": os.cpu_count(),
        "cpus usable": usable,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {},
    }
    for name in (
        "keras",
        "keras-graft",
        "tensorflow",
        "tensorflow-cpu",
        "jax",
        "jaxlib",
        "torch",
        "numpy",
    ):
        try:
            info["versions"][name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            info["nvidia-smi"] = subprocess.run(
                [smi], capture_output=True, text=True, timeout=30
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError) as e:
            info["nvidia-smi"] = f"nvidia-smi failed: {e}"
    else:
        info["nvidia-smi"] = None
    return info


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def render(report: dict) -> str:
    """The markdown report."""
    m = report["machine"]
    lines = [
        "# keras_graft GPU check",
        "",
        f"Run {report['date']} with `{report['command']}` "
        f"({'quick' if report['quick'] else 'default'} settings), "
        f"{report['seconds']:.0f} s in all. Overall: **{report['overall']}**.",
        "",
        "## Machine",
        "",
        f"- CPUs: {m['cpus']} ({m['cpus usable']} usable by this process)",
        f"- {m['platform']}, Python {m['python']}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
    ]
    if m["nvidia-smi"]:
        lines += ["- nvidia-smi:", "", "```", m["nvidia-smi"], "```"]
    else:
        lines.append("- nvidia-smi: not found (no NVIDIA driver on this machine)")
    lines += [
        "",
        "## Summary",
        "",
        "| backend | device | optimizer benchmark | GAN step benchmark | reproduce |",
        "|---|---|---|---|---|",
    ]
    names = ("device", "optimizer benchmark", "GAN step benchmark", "reproduce")
    for b in report["backends"]:
        lines.append(
            f"| {b['backend']} | "
            + " | ".join(b["steps"][n]["status"] for n in names)
            + " |"
        )
    lines += [
        "",
        "PASS: the step ran and its output parsed; FAIL: it did not (see "
        "its log); CPU: no GPU is visible to this backend, it ran on CPU; "
        "SKIPPED: not run (--skip).",
    ]
    for b in report["backends"]:
        s = b["steps"]
        lines += ["", f"## Backend: {b['backend']}", ""]
        dev = s["device"]
        found = dev["result"]
        if "gpus" in found:
            gpus = ", ".join(found["gpus"]) or "none"
            lines.append(f"- device found: GPUs: {gpus}")
            lines.append(
                f"- device used: keras.Variable on `{found['variable']}`, "
                f"matmul on `{found['matmul']}`"
            )
            if not found["gpus"]:
                lines.append(f"- **{NO_GPU}**")
            versions = ", ".join(f"{k} {v}" for k, v in found["versions"].items())
            lines.append(f"- versions seen by the backend: {versions}")
        lines.append(_status_line("device", dev))
        opt = s["optimizer benchmark"]
        for name, value in opt["result"].get("ratios", {}).items():
            lines.append(f"- optimizer ratio {name}: {_fmt(value)}")
        for name, ms in opt["result"].get("ms_per_step", {}).items():
            lines.append(f"- optimizer median ms/step {name}: {_fmt(ms)}")
        lines.append(_status_line("optimizer benchmark", opt))
        gan = s["GAN step benchmark"]
        for name, r in gan["result"].get("runs", {}).items():
            lines.append(
                f"- GAN ratio {name} vs hand loop: {_fmt(r['vs_hand'])} "
                f"({_fmt(r['steps_per_s'])} steps/s)"
            )
        lines.append(_status_line("GAN step benchmark", gan))
        rep = s["reproduce"]
        if rep["status"] != "SKIPPED":
            lines.append(f"- reproduce command: `{rep['command']}`")
        if rep["status"] == "SKIPPED":
            pass
        elif rep["mode"] == "smoke":
            lines.append(
                "- reproduce limited (smoke): one short `keras-graft train` "
                "run of the synthetic experiment instead of "
                "`keras-graft reproduce --preset tiny` (no claim verdicts)"
            )
            if rep["result"]:
                lines.append(f"- reproduce output: {rep['result']['line']}")
        else:
            r = rep["result"]
            if r:
                lines.append(f"- reproduce wall time: {_fmt(r['seconds'])} s")
                for claim, verdict in r["verdicts"].items():
                    lines.append(f"- reproduce claim {claim}: {verdict}")
        lines.append(_status_line("reproduce", rep))
    return "\n".join(lines) + "\n"


def _status_line(name: str, info: dict) -> str:
    note = f" ({info['error']})" if info["error"] else ""
    if info["status"] == "SKIPPED":
        return f"- step {name}: **SKIPPED**{note}"
    return (
        f"- step {name}: **{info['status']}**{note} in {info['seconds']:.0f} s "
        f"({info['cpu_seconds']:.0f} CPU s), log `{info['log']}`"
    )


def _probe_then_run(script_and_args: list[str]) -> None:
    """Prints the probe's line, then runs a script (if any) in this process."""
    try:
        found = probe()
    except Exception as e:  # reported as the device step's failure
        found = {"error": f"{type(e).__name__}: {e}"}
    print(PROBE_TAG + json.dumps(found), flush=True)
    if script_and_args:
        import runpy

        sys.argv = list(script_and_args)
        runpy.run_path(script_and_args[0], run_name="__main__")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="See the module docstring for how to run it on a GPU machine.",
    )
    parser.add_argument(
        "--backends",
        default=",".join(BACKENDS),
        help="comma-separated backends (default: all three)",
    )
    parser.add_argument(
        "--out",
        default=os.path.join("reports", "gpu_check"),
        help="report folder (default: %(default)s)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smallest benchmark settings, --reproduce smoke and one torch "
        "thread: a CPU smoke run, not a measurement",
    )
    parser.add_argument(
        "--reproduce",
        choices=("tiny", "default", "smoke"),
        default=None,
        help="tiny or default: keras-graft reproduce with that preset; smoke: "
        "one short keras-graft train run (default: tiny, smoke with "
        "--quick)",
    )
    parser.add_argument(
        "--reproduce-seeds",
        type=int,
        default=1,
        metavar="N",
        help="--seeds of reproduce; 0: the preset's (default: %(default)s)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="S",
        help="limit per step in seconds (default: 300, 180 with --quick)",
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=("optimizer", "gan", "reproduce"),
        help="do not run this step (repeatable); the report says it was skipped",
    )
    parser.add_argument(
        "--require-gpu",
        action="store_true",
        help="count a backend without a GPU as a failure",
    )
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["--probe"]:  # internal: probe, then run a script, if given
        _probe_then_run(argv[1:])
        return 0
    args = parser.parse_args(argv)
    backends = [b for b in args.backends.split(",") if b]
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown or not backends:
        parser.error(f"--backends: expected some of {BACKENDS}; got {args.backends!r}")
    if args.reproduce_seeds < 0:
        parser.error("--reproduce-seeds: expected an int >= 0")
    out_dir = os.path.abspath(args.out)
    os.makedirs(out_dir, exist_ok=True)
    start = time.perf_counter()
    report = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": " ".join(["python", "benchmarks/gpu_check.py", *argv]),
        "quick": args.quick,
        "machine": machine(),
        "backends": [check_backend(b, args, out_dir) for b in backends],
    }
    report["seconds"] = time.perf_counter() - start
    failed = any(
        s["status"] == "FAIL" for b in report["backends"] for s in b["steps"].values()
    )
    report["overall"] = "FAIL" if failed else "PASS"
    with open(os.path.join(out_dir, "gpu_check.json"), "w") as f:
        json.dump(report, f, indent=1)
    path = os.path.join(out_dir, "gpu_check_report.md")
    with open(path, "w") as f:
        f.write(render(report))
    print(f"{path} written in {report['seconds']:.0f} s: {report['overall']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""The `keras-graft` command line."""

import argparse
import io
import json
import os
import re
import subprocess
import sys
import textwrap

import keras
import pytest
import tqdm

from keras_graft import cli, experiments

CLI_PATH = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "keras_graft", "cli.py"
)


def _env():
    env = dict(os.environ, PYTHONPATH=os.getcwd(), TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("KERAS_BACKEND", None)
    return env


def _subparsers():
    parser = cli.build_parser()
    (action,) = [
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    ]
    return action.choices


# --- parsing -------------------------------------------------------------------


def test_parser():
    args = cli.build_parser().parse_args(
        [
            "reproduce",
            "--preset",
            "tiny",
            "--backend",
            "torch",
            "--seeds",
            "2",
            "--seed-offset",
            "5",
            "--workers",
            "3",
            "--verbose",
        ]
    )
    assert (args.preset, args.backend, args.seeds) == ("tiny", "torch", 2)
    assert (args.seed_offset, args.workers) == (5, 3)
    assert (args.verbose, args.quiet) == (True, False)
    args = cli.build_parser().parse_args(["reproduce", "--preset", "long"])
    assert (args.preset, args.seeds) == ("long", None)
    assert (args.seed_offset, args.workers) == (0, None)
    assert (args.out, args.quiet, args.verbose) == ("keras_graft_report", False, False)
    args = cli.build_parser().parse_args(
        [
            "train",
            "--optimizer",
            "adam",
            "--experiment",
            "ring",
            "--lr",
            "1e-3",
            "--seed",
            "0",
            "--steps",
            "1",
        ]
    )
    assert (args.lr, args.seed, args.steps) == (1e-3, 0, 1)
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["reproduce", "--preset", "huge"])
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["train", "--experiment", "ring"])


@pytest.fixture
def no_work(monkeypatch):
    """`experiments.reproduce` fails the test if a bad command line reaches it."""

    def reproduce(*args, **kwargs):
        raise AssertionError("reproduce ran despite a bad argument")

    monkeypatch.setattr(experiments, "reproduce", reproduce)


def _assert_usage_error(capsys, argv, command, argument):
    """`main(argv)` exits 2 with argparse's one-line error naming `argument`."""
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    error_lines = [line for line in err.splitlines() if "error:" in line]
    assert len(error_lines) == 1, err
    assert err.splitlines()[-1] == error_lines[0]
    prefix = f"keras-graft {command}: error: argument {argument}"
    assert error_lines[0].startswith(prefix), err
    return error_lines[0]


@pytest.mark.parametrize(
    "argv, argument",
    [
        (["--seeds", "0"], "--seeds"),
        (["--seeds", "-2"], "--seeds"),
        (["--seeds", "two"], "--seeds"),
        (["--seed-offset", "-1"], "--seed-offset"),
        (["--workers", "0"], "--workers"),
        (["--workers", "-4"], "--workers"),
        (["--quiet", "--verbose"], "--verbose"),
    ],
)
def test_reproduce_rejects_bad_numbers(capsys, no_work, tmp_path, argv, argument):
    out = tmp_path / "rep"
    line = _assert_usage_error(
        capsys,
        ["reproduce", "--preset", "tiny", "--out", str(out), *argv],
        "reproduce",
        argument,
    )
    if argument in ("--seeds", "--workers"):
        assert f"must be an int >= 1; received {argument}=" in line
    if argument == "--seed-offset":
        assert "must be an int >= 0; received --seed-offset=-1." in line
    if argv == ["--seeds", "two"]:
        assert line.endswith("received --seeds='two'.")
    assert not out.exists()  # checked before anything is created


@pytest.mark.parametrize(
    "argv, argument, phrase",
    [
        (["--steps", "0"], "--steps", "must be an int >= 1; received --steps=0."),
        (["--steps", "-10"], "--steps", "must be an int >= 1; received --steps=-10."),
        (["--steps", "1.5"], "--steps", "must be an int >= 1; received --steps='1.5'."),
        (["--seed", "-1"], "--seed", "must be an int >= 0; received --seed=-1."),
        (["--lr", "0"], "--lr", "must be a finite float > 0; received --lr=0.0."),
        (["--lr", "-0.1"], "--lr", "must be a finite float > 0; received --lr=-0.1."),
        (["--lr", "nan"], "--lr", "must be a finite float > 0; received --lr=nan."),
        (["--lr", "fast"], "--lr", "must be a finite float > 0; received --lr='fast'."),
        (["--lr-d", "0"], "--lr-d", "must be a finite float > 0; received --lr-d=0.0."),
    ],
)
def test_train_rejects_bad_numbers(capsys, argv, argument, phrase):
    line = _assert_usage_error(
        capsys,
        ["train", "--optimizer", "nsgda", "--experiment", "synthetic", *argv],
        "train",
        argument,
    )
    assert phrase in line


def _read_only_dir(tmp_path):
    """A folder this process cannot write in (root writes anywhere but /proc)."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return "/proc"
    path = tmp_path / "read_only"
    path.mkdir()
    path.chmod(0o555)
    return str(path)


def test_reproduce_rejects_unwritable_out(capsys, no_work, tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    backend = ["--backend", keras.backend.backend()]
    line = _assert_usage_error(
        capsys,
        ["reproduce", *backend, "--out", str(a_file / "rep")],
        "reproduce",
        "--out",
    )
    assert "cannot create folder" in line and str(a_file / "rep") in line
    line = _assert_usage_error(
        capsys, ["reproduce", *backend, "--out", str(a_file)], "reproduce", "--out"
    )
    assert "cannot create folder" in line
    read_only = _read_only_dir(tmp_path)
    try:
        line = _assert_usage_error(
            capsys, ["reproduce", *backend, "--out", read_only], "reproduce", "--out"
        )
        assert "cannot write in folder" in line and read_only in line
        assert not [p for p in os.listdir(read_only) if p.startswith(".keras_graft")]
    finally:
        if read_only != "/proc":
            os.chmod(read_only, 0o755)  # so that tmp_path can be cleaned up


def test_train_rejects_unwritable_out(capsys, tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    line = _assert_usage_error(
        capsys,
        [
            "train",
            "--optimizer",
            "nsgda",
            "--experiment",
            "synthetic",
            "--backend",
            keras.backend.backend(),
            "--out",
            str(a_file / "run.json"),
        ],
        "train",
        "--out",
    )
    assert "cannot write file" in line


def test_rejects_backend_not_installed(capsys, no_work, monkeypatch, tmp_path):
    # A backend other than the one this process runs on, made unimportable.
    missing = "tensorflow" if keras.backend.backend() == "torch" else "torch"
    monkeypatch.setitem(sys.modules, missing, None)
    for command, rest in [
        ("reproduce", ["--out", str(tmp_path / "rep")]),
        ("train", ["--optimizer", "adam", "--experiment", "ring"]),
    ]:
        line = _assert_usage_error(
            capsys, [command, "--backend", missing, *rest], command, "--backend"
        )
        assert f"backend {missing!r} is not installed" in line
    assert not (tmp_path / "rep").exists()
    monkeypatch.setenv("KERAS_BACKEND", missing)  # the default backend, same answer
    line = _assert_usage_error(
        capsys, ["reproduce", "--out", str(tmp_path / "rep")], "reproduce", "--backend"
    )
    assert f"backend {missing!r} is not installed" in line
    monkeypatch.setenv("KERAS_BACKEND", "mxnet")
    with pytest.raises(SystemExit) as exc:
        cli.main(["reproduce", "--out", str(tmp_path / "rep")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "KERAS_BACKEND='mxnet'" in err.splitlines()[-1]


@pytest.mark.backend("jax")  # two interpreter starts: once per suite
def test_bad_arguments_in_a_real_process(tmp_path):
    # The module entry point: a one-line error, exit 2, no traceback.
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "keras_graft",
            "reproduce",
            "--seeds",
            "0",
            "--out",
            str(tmp_path / "rep"),
        ],
        capture_output=True,
        text=True,
        env=dict(_env(), KERAS_BACKEND="jax"),
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        "keras-graft reproduce: error: argument --seeds: "
        "must be an int >= 1; received --seeds=0."
    )
    assert not (tmp_path / "rep").exists()
    # A backend that cannot be imported in that interpreter.
    script = textwrap.dedent(f"""
        import sys
        from keras_graft import cli
        sys.modules["torch"] = None  # as if torch were not installed
        sys.exit(cli.main(["reproduce", "--backend", "torch",
                           "--out", {str(tmp_path / "rep")!r}]))
    """)
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=dict(_env(), KERAS_BACKEND="jax"),
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert (
        proc.stderr.strip()
        .splitlines()[-1]
        .startswith(
            "keras-graft reproduce: error: argument --backend: "
            "backend 'torch' is not installed"
        )
    )


# --- the progress bar ----------------------------------------------------------


@pytest.fixture
def bars(monkeypatch):
    """Every tqdm bar the CLI opens, with whether it was closed."""
    made = []

    class RecordingTqdm(tqdm.tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.was_closed = False
            self.kwargs = kwargs
            made.append(self)

        def close(self):
            self.was_closed = True
            super().close()

    monkeypatch.setattr(tqdm, "tqdm", RecordingTqdm)
    return made


def _fake_reproduce(calls, steps):
    """A stand-in for `experiments.reproduce` with the interface the CLI codes to."""

    def reproduce(
        preset,
        out_dir,
        seeds=None,
        seed_offset=0,
        log=None,
        progress=None,
        workers=None,
        notices=None,
        **options,
    ):
        calls.append(
            dict(
                preset=preset,
                out_dir=str(out_dir),
                seeds=seeds,
                seed_offset=seed_offset,
                log=log,
                workers=workers,
            )
        )
        calls[-1]["options"] = options
        calls[-1]["notices"] = notices
        total = sum(steps)
        done = 0.0
        for i, step in enumerate(steps):
            done += step  # float sums: need not land exactly on `total`
            if log is not None:
                print(f"unit {i} done", file=log)
            if progress is not None:
                progress(min(done, total), total, f"unit-{i}")
        if progress is not None:
            progress(total, total, "report")
        return {
            "claims": [
                {"id": "C1", "verdict": "supported"},
                {"id": "C2", "verdict": "not supported"},
            ]
        }

    return reproduce


def test_progress_bar_over_the_whole_run(monkeypatch, capsys, bars, tmp_path):
    calls = []
    steps = [0.1] * 7 + [2.5, 0.3, 1 / 3]
    monkeypatch.setattr(experiments, "reproduce", _fake_reproduce(calls, steps))
    out = tmp_path / "rep"
    code = cli.main(
        [
            "reproduce",
            "--preset",
            "tiny",
            "--backend",
            keras.backend.backend(),
            "--seeds",
            "4",
            "--seed-offset",
            "7",
            "--workers",
            "3",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    (call,) = calls
    options, notices = call.pop("options"), call.pop("notices")
    assert call == dict(
        preset="tiny", out_dir=str(out), seeds=4, seed_offset=7, log=None, workers=3
    )  # no progress lines under the bar
    assert options == dict(
        executor="local", address=None, runs_per_gpu=None, fresh=False, verbose=False
    )
    assert notices is not None  # failed runs still reach the terminal
    assert out.is_dir() and os.listdir(out) == []  # created, probe removed
    (bar,) = bars
    assert bar.was_closed
    assert bar.total == sum(steps) and bar.n == bar.total
    captured = capsys.readouterr()
    assert "100%" in captured.err and "unit-3" in captured.err
    assert "report" in captured.err
    assert "unit 0 done" not in captured.err
    assert f"{out / 'report.md'} written in" in captured.out
    assert "claim C1: supported" in captured.out
    assert "claim C2: not supported" in captured.out


def test_progress_quiet_and_verbose(monkeypatch, capsys, bars, tmp_path):
    calls = []
    monkeypatch.setattr(experiments, "reproduce", _fake_reproduce(calls, [1.0, 2.0]))
    backend = ["--backend", keras.backend.backend()]
    quiet = ["reproduce", *backend, "--quiet", "--out", str(tmp_path / "a")]
    assert cli.main(quiet) == 0
    captured = capsys.readouterr()
    # The executor chooses the workers (one per core, or per GPU).
    assert calls[-1]["log"] is None and calls[-1]["workers"] is None
    assert calls[-1]["seeds"] is None and calls[-1]["seed_offset"] == 0
    assert calls[-1]["preset"] == "default"
    assert captured.err == "" and "claim C1: supported" in captured.out
    assert bars[-1].was_closed and bars[-1].n == bars[-1].total == 3.0

    verbose = ["reproduce", *backend, "--verbose", "--out", str(tmp_path / "b")]
    assert cli.main(verbose) == 0
    captured = capsys.readouterr()
    assert calls[-1]["log"] is sys.stderr
    assert "unit 0 done" in captured.err and "unit 1 done" in captured.err
    assert "%|" not in captured.err  # lines, no bar
    assert bars[-1].was_closed


def test_progress_bar_closed_when_the_run_fails(monkeypatch, capsys, bars, tmp_path):
    def reproduce(preset, out_dir, progress=None, **kwargs):
        progress(1.0, 4.0, "first")
        raise RuntimeError("boom")

    monkeypatch.setattr(experiments, "reproduce", reproduce)
    with pytest.raises(RuntimeError, match="boom"):
        cli.main(
            [
                "reproduce",
                "--backend",
                keras.backend.backend(),
                "--out",
                str(tmp_path / "rep"),
            ]
        )
    (bar,) = bars
    assert bar.was_closed and (bar.n, bar.total) == (1.0, 4.0)


def test_progress_callback_is_monotone_and_capped():
    bar = cli._ProgressBar("x", disable=True)
    bar(1.0, 4.0, "a")
    bar(0.5, 4.0, "b")  # never backwards
    assert bar.bar.n == 1.0
    bar(5.0, 4.0, "c")  # never past the total
    assert bar.bar.n == bar.bar.total == 4.0
    bar.close()


def test_progress_bar_draws_each_state_once():
    out = io.StringIO()
    bar = cli._ProgressBar("run", file=out)
    bar.bar.mininterval = 0  # as if each call came seconds after the last
    drawn = out.getvalue().count("run:")  # the bar drawn when created
    for i, label in enumerate(["a", "b", "c", "d"], start=1):
        bar(float(i), 4.0, label)
        frames = out.getvalue().count("run:")
        assert frames == drawn + 1, (label, out.getvalue())
        drawn = frames
        assert f"{label}]" in out.getvalue().rsplit("\r", 1)[-1]
    bar.close()


# --- help ----------------------------------------------------------------------


def test_every_option_has_help():
    for name, sub in _subparsers().items():
        text = sub.format_help()
        for action in sub._actions:
            assert action.help, (name, action.dest)
            for option in action.option_strings:
                assert option in text, (name, option)
    rep = _subparsers()["reproduce"]
    assert "report.md" in rep.description
    assert "8 minutes on 2 CPU cores" in rep.description
    preset_help = next(a.help for a in rep._actions if a.dest == "preset")
    for preset in ("tiny", "default", "long", "paper"):
        assert f"{preset}: " in preset_help


def test_help_without_keras():
    # cli.py loaded alone (as the docs build does) in a fresh interpreter: the parser
    # and --help import neither keras, nor a backend, nor tqdm.
    script = textwrap.dedent(f"""
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location("_cli", {CLI_PATH!r})
        cli = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(cli)
        cli.build_parser()
        for argv in (["--help"], ["reproduce", "--help"], ["train", "--help"]):
            try:
                cli.main(argv)
            except SystemExit as e:
                assert e.code == 0, e.code
            print("=====")
        heavy = [m for m in ("keras", "tensorflow", "jax", "torch", "tqdm", "numpy")
                 if m in sys.modules]
        print("HEAVY", heavy)
    """)
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=dict(_env(), COLUMNS="100"),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "HEAVY []" in proc.stdout
    top, rep, train, _ = proc.stdout.split("=====")
    assert "reproduce" in top and "train" in top
    for option in (
        "--preset",
        "--backend",
        "--seeds",
        "--seed-offset",
        "--workers",
        "--out",
        "--quiet",
        "--verbose",
        "tiny",
        "default",
        "long",
        "paper",
        "report.md",
        "8 minutes",
    ):
        assert option in rep, option
    for option in (
        "--optimizer",
        "--experiment",
        "--lr",
        "--lr-d",
        "--seed",
        "--steps",
        "--preset",
        "--backend",
        "--out",
    ):
        assert option in train, option


# --- real runs -----------------------------------------------------------------


def test_train_synthetic_in_process(tmp_path, capsys):
    out = tmp_path / "run.json"
    code = cli.main(
        [
            "train",
            "--optimizer",
            "nsgda",
            "--experiment",
            "synthetic",
            "--preset",
            "tiny",
            "--lr",
            "0.1",
            "--steps",
            "200",
            "--backend",
            keras.backend.backend(),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    result = json.loads(out.read_text())
    assert result["run"]["optimizer"] == "nsgda" and result["run"]["lr_d"] == 0.1
    assert result["final_modes"] == 2
    assert "modes recovered 2/2" in capsys.readouterr().out


def test_train_ring_in_process(tmp_path):
    out = tmp_path / "run.json"
    code = cli.main(
        [
            "train",
            "--optimizer",
            "ada_nsgda",
            "--experiment",
            "ring",
            "--preset",
            "tiny",
            "--steps",
            "2",
            "--out",
            str(out),
            "--backend",
            keras.backend.backend(),
        ]
    )
    assert code == 0
    result = json.loads(out.read_text())
    assert result["optimizer"] == "ada_nsgda" and result["eval_steps"] == [2]
    assert "modes_covered" in result["final"]


@pytest.mark.backend("jax")  # its own TensorFlow process: in one lane only
def test_reproduce_keeps_the_backend_s_start_up_lines_off_the_terminal(tmp_path):
    # TensorFlow writes C++ lines ("Could not find cuda drivers", "failed call
    # to cuInit" on a machine without a GPU) to stderr before any log level
    # applies. `reproduce` shows the progress bar and the results only; the
    # run itself is replaced by one TensorFlow op, which initialises devices.
    script = textwrap.dedent(f"""
        import sys
        from keras_graft import cli, experiments

        def reproduce(preset, out, **kwargs):
            import keras
            keras.ops.convert_to_numpy(keras.ops.add(1.0, 2.0))
            return {{"claims": [{{"id": 1, "verdict": "reproduced"}}]}}

        experiments.reproduce = reproduce
        sys.exit(cli.main(["reproduce", "--backend", "tensorflow",
                           "--out", {str(tmp_path / "rep")!r}]))
    """)
    env = _env()
    env.pop("TF_CPP_MIN_LOG_LEVEL")  # as in a user's shell
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "claim 1: reproduced" in proc.stdout
    pieces = [p.strip() for p in re.split(r"[\r\n]", proc.stderr) if p.strip()]
    assert pieces and all(p.startswith("reproduce default:") for p in pieces), (
        proc.stderr
    )

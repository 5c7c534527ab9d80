"""The results page says what the stored reproduction reports say.

Its summary tables give each claim's verdict and each probe line's for the
default preset at every stored seed offset; its introduction names the
commit and the run time of each stored report. Both are read back from the
reports' `results.json`, so a rerun that changes a verdict, a commit or a
time makes this fail until the page is updated.
"""

import json
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RESULTS = os.path.join(ROOT, "benchmarks", "results")
REPORTS = {
    "default": (
        "reproduce_default",
        "reproduce_default_offset100",
        "reproduce_default_offset7",
    ),
    "long": ("reproduce_long",),
}
#: The column of each stored report in the page's summary tables.
COLUMNS = {
    "reproduce_default": "default, offset 0",
    "reproduce_default_offset100": "default, offset 100",
    "reproduce_default_offset7": "default, offset 7",
    "reproduce_long": "long",
}


def _page() -> str:
    with open(os.path.join(ROOT, "docs", "results.md"), encoding="utf-8") as f:
        return f.read()


def _report(name: str) -> dict:
    with open(os.path.join(RESULTS, name, "results.json"), encoding="utf-8") as f:
        return json.load(f)


def _plain_words(page: str) -> str:
    """The page's opening section (its summary tables)."""
    return page.split("## In plain words", 1)[1].split("\n## ", 1)[0]


def _table(text: str, first: str) -> tuple[list[str], list[list[str]]]:
    """The header and rows of the table whose header starts with `first`."""
    lines = text.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith(f"| {first}"))
    cells = []
    for line in lines[i:]:
        if not line.startswith("|"):
            break
        cells.append([c.strip() for c in line.strip().strip("|").split("|")])
    return cells[0], cells[2:]


def _verdict_cell(c: dict) -> str:
    """A verdict and its stability as the tables write them."""
    s = c.get("stability") or {}
    return f"{c['verdict']} ({s['percent']:g}%)"


def test_opening_is_a_dozen_plain_lines_then_the_tables():
    words = _plain_words(_page()).strip().split("\n|", 1)[0]
    lines = [line for line in words.splitlines() if line.strip()]
    assert 0 < len(lines) <= 12, len(lines)


def test_summary_table_verdicts_are_the_stored_reports():
    columns, rows = _table(_plain_words(_page()), "the paper's claim")
    for preset, names in REPORTS.items():
        for name in names:
            col = columns.index(COLUMNS[name])
            claims = _report(name)["claims"]
            assert len(rows) == len(claims)
            for row, c in zip(rows, claims):
                assert row[col] == _verdict_cell(c), (name, row[0], row[col])


def test_probe_table_is_the_stored_reports():
    columns, rows = _table(_plain_words(_page()), "probe")
    for names in REPORTS.values():
        for name in names:
            col = columns.index(COLUMNS[name])
            probes = [
                (c["id"], p) for c in _report(name)["claims"] for p in c["probes"]
            ]
            assert len(rows) == len(probes)
            for row, (cid, p) in zip(rows, probes):
                assert row[0].startswith(f"claim {cid}: {p['name']}"), row[0]
                assert row[col] == _verdict_cell(p), (name, row[0], row[col])


def test_every_claim_s_verdict_is_stable_and_an_unstable_probe_says_so():
    # The bar of the issue that asked for the simulation: the same verdict at
    # 95% or more of simulated seed offsets. Every claim meets it; a probe
    # line that does not is marked as no stable finding in the report.
    for names in REPORTS.values():
        for name in names:
            path = os.path.join(RESULTS, name, "report.md")
            with open(path, encoding="utf-8") as f:
                text = f.read()
            for c in _report(name)["claims"]:
                assert c["stability"]["share"] >= 0.95, (name, c["id"])
                section = text.split(f"## Claim {c['id']}:")[1].split("\n## ")[0]
                for p in c["probes"]:
                    line = section.split(f"Probe, {p['name']}:")[1].split("\n")[0]
                    flagged = "not a stable finding" in line
                    assert flagged == (p["stability"]["share"] < 0.95), p["name"]


def _digit_run_seconds(report: dict) -> float:
    """The median seconds of a report's digit runs: its machine's speed."""
    import statistics

    return statistics.median(r["seconds"] for r in report["gans"]["digits"]["runs"])


def test_default_reports_agree_and_take_about_ten_minutes():
    names = REPORTS["default"]
    verdicts = [[c["verdict"] for c in _report(n)["claims"]] for n in names]
    assert all(v == verdicts[0] for v in verdicts), verdicts
    # The goal is 10 minutes on 2 idle cores, and cores differ: the stored
    # run took 725 s on a machine whose digit runs took 26.5 s (median); the
    # run before it with 3 more digit runs and a smaller grid, 602 s on one
    # whose digit runs took 22.4 s (`grid32/`). At that machine's speed the
    # stored run would take about 614 s. The bound, 10.5 minutes at the
    # speed of the 602-s run, fails if the default grows by a few runs.
    stored = _report(names[0])
    reference = _report("grid32/reproduce_default")
    assert reference["meta"]["seconds"] <= 610
    speed = _digit_run_seconds(reference) / _digit_run_seconds(stored)
    assert stored["meta"]["seconds"] * speed <= 630


@pytest.mark.parametrize("name", [n for names in REPORTS.values() for n in names])
def test_introduction_names_each_report_s_commit_and_time(name):
    meta = _report(name)["meta"]
    intro = _plain_words(_page())
    assert f"`{meta['git_commit'][:7]}`" in intro, (name, meta["git_commit"])
    seconds = meta["seconds"]
    stated = (
        f"{seconds:,.0f} s",
        f"{seconds / 60:.0f} minutes",
    )
    assert any(s in intro for s in stated), (name, stated)


# The GPU check's table: each column one backend of one stored run.
GPU_RUNS = os.path.join(RESULTS, "gpu_check_h200")
GPU_COLUMNS = [
    ("torch", "run1"),
    ("torch", "run2"),
    ("torch", "run3"),
    ("jax", "run1"),
    ("jax", "run2"),
    ("jax", "run3"),
]
GPU_OPTIMIZER_ROWS = {
    "Keras Adam, ms per step": "keras Adam",
    "Keras SGD": "keras SGD",
    "AdaNSGDA": "AdaNSGDA",
    "AdaDir": "AdaDir",
    "NSGDA": "NSGDA",
    "Graft(Adam, SGD)": "Graft(Adam, SGD)",
}
GPU_RATIO_ROWS = {
    "AdaNSGDA / Keras Adam": "AdaNSGDA/Adam",
    "NSGDA / Keras SGD": "NSGDA/SGD",
}
GPU_GAN_ROWS = {
    "`GAN.fit` pace on, steps/s (vs hand loop)": "fit, pace on",
    "`GAN.fit` pace off": "fit, pace off",
    "hand loop": "hand loop",
    "hand loop reading its loss each step": "hand, read each step",
    "plain `keras.Model.fit`": "keras Model.fit",
}


def _numbers(cell: str) -> list[float]:
    return [float(x) for x in re.findall(r"\d+(?:\.\d+)?", cell)]


def test_gpu_check_table_is_the_stored_reports():
    page = _page()
    table = page.split("<!-- gpu-check-h200 -->")[1]
    table = table.split("<!-- /gpu-check-h200 -->")[0]
    rows = {}
    for line in table.strip().splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    checked = 0
    for col, (backend, run) in enumerate(GPU_COLUMNS):
        with open(os.path.join(GPU_RUNS, run, "gpu_check.json"), encoding="utf-8") as f:
            report = json.load(f)
        assert report["overall"] == "PASS", run
        steps = next(b for b in report["backends"] if b["backend"] == backend)["steps"]
        device = steps["device"]["result"]
        assert device["on_gpu"] and device["gpus"], (backend, run)
        placed = rows["GPU found; variable and matmul placed on"][col]
        assert device["variable"] in placed, (backend, run)
        optimizer = steps["optimizer benchmark"]["result"]
        for label, key in GPU_OPTIMIZER_ROWS.items():
            assert _numbers(rows[label][col]) == [optimizer["ms_per_step"][key]], label
            checked += 1
        for label, key in GPU_RATIO_ROWS.items():
            assert _numbers(rows[label][col]) == [optimizer["ratios"][key]], label
            checked += 1
        gan = steps["GAN step benchmark"]["result"]["runs"]
        for label, key in GPU_GAN_ROWS.items():
            if key not in gan:
                assert rows[label][col] == "", (label, backend, run)
                continue
            expected = [gan[key]["steps_per_s"]]
            if key != "hand loop":
                expected.append(gan[key]["vs_hand"])
            assert _numbers(rows[label][col]) == expected, label
            checked += 1
        reproduce = steps["reproduce"]
        cell = rows["`keras-graft reproduce --preset tiny` (1 seed)"][col]
        if reproduce["status"] == "PASS":
            assert _numbers(cell) == [reproduce["result"]["seconds"]], (backend, run)
        else:
            assert cell == "", (backend, run)
    # GAN rows: PyTorch 4 in runs 1-2, 5 in run 3; JAX 3, then 4.
    gan_rows = 4 + 4 + 5 + 3 + 3 + 4
    assert (
        checked
        == len(GPU_COLUMNS) * (len(GPU_OPTIMIZER_ROWS) + len(GPU_RATIO_ROWS)) + gan_rows
    )


BACKEND_REPORTS = {  # column: (stored report, its backend)
    "JAX": ("before_scope/reproduce_default", "jax"),
    "PyTorch": ("before_scope/reproduce_default_torch", "torch"),
    "TensorFlow": ("before_scope/reproduce_default_tensorflow", "tensorflow"),
}


BACKEND_REPORTS_RING16 = {  # the preset with 16 ring seeds
    "JAX": ("ring16/reproduce_default", "jax"),
    "PyTorch": ("ring16/reproduce_default_torch", "torch"),
    "TensorFlow": ("ring16/reproduce_default_tensorflow", "tensorflow"),
}


@pytest.mark.parametrize(
    "marker, reports, shares",
    [
        ("backends-table", BACKEND_REPORTS, False),
        ("backends-ring16-table", BACKEND_REPORTS_RING16, True),
    ],
)
def test_backends_table_verdicts_and_times_are_the_stored_reports(
    marker, reports, shares
):
    """The default preset per backend: each column's verdicts (with their
    simulated shares, for the preset as it is now) and wall time are those of
    that backend's stored `results.json`."""
    lines = _page().split(f"<!-- {marker} -->", 1)[1].splitlines()
    table = [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in lines[1:12]
        if line.strip().startswith("|")
    ]
    columns = table[0]
    rows = [r for r in table if re.match(r"\d+\.", r[0])]
    time_row = next(r for r in table if r[0] == "wall time")
    for column, (name, backend) in reports.items():
        col = columns.index(column)
        report = _report(name)
        assert report["meta"]["backend"] == backend
        expected = [
            f"{c['verdict']} ({c['stability']['percent']:g}%)"
            if shares
            else c["verdict"]
            for c in report["claims"]
        ]
        assert [r[col] for r in rows] == expected
        seconds = f"{round(report['meta']['seconds']):,} s"
        assert time_row[col].startswith(seconds), (column, time_row[col], seconds)
        assert report["meta"]["git_commit"][:7] in time_row[col]


def _readme() -> str:
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        return f.read()


def test_readme_table_is_the_stored_default_reports():
    """The README's four rows: each claim's verdict at every default offset,
    with the lowest and highest simulated share of the same verdict."""
    text = _readme().split("<!-- readme-verdicts -->")[1]
    text = text.split("<!-- /readme-verdicts -->")[0]
    _, rows = _table(text, "the paper's claim")
    reports = [_report(n) for n in REPORTS["default"]]
    assert len(rows) == 4
    for i, row in enumerate(rows):
        claims = [r["claims"][i] for r in reports]
        assert row[0].startswith(f"{claims[0]['id']}.")
        assert {c["verdict"] for c in claims} == {claims[0]["verdict"]}
        shares = sorted(c["stability"]["percent"] for c in claims)
        span = f"{shares[0]:g}" + (f"-{shares[-1]:g}" if shares[-1] > shares[0] else "")
        assert row[-1] == f"**{claims[0]['verdict']}** ({span}%)", row


def test_readme_states_the_default_s_time():
    minutes = _report("reproduce_default")["meta"]["seconds"] / 60
    tf_minutes = _report("reproduce_default_tensorflow")["meta"]["seconds"] / 60
    text = " ".join(_readme().split())
    assert (
        f"takes about {minutes:.0f} minutes on 2 idle CPU cores with JAX and "
        f"about {tf_minutes:.0f} with TensorFlow" in text
    )
    # PyTorch's run and the JAX run it is compared with ran on one machine
    # (another than the reports above: `grid32/`).
    torch_minutes = _report("reproduce_default_torch")["meta"]["seconds"] / 60
    jax_minutes = _report("grid32/reproduce_default")["meta"]["seconds"] / 60
    assert f"{torch_minutes:.0f} minutes where JAX took {jax_minutes:.0f}" in text
    # The line `reproduce` prints before it starts on PyTorch without a GPU.
    from keras_graft.experiments.reproduce import TORCH_CPU_SLOWDOWN

    assert f"about {TORCH_CPU_SLOWDOWN}x JAX's time" in text
    assert round(torch_minutes / jax_minutes) == TORCH_CPU_SLOWDOWN
    assert len(_readme().splitlines()) <= 110

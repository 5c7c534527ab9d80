"""The results page says what the stored reproduction reports say.

Its summary table gives one verdict per claim for the default preset (both
seed offsets) and one for `long`; its introduction names the commit and the
run time of each stored report. Both are read back from the reports'
`results.json`, so a rerun that changes a verdict, a commit or a time makes
this fail until the page is updated.
"""

import json
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RESULTS = os.path.join(ROOT, "benchmarks", "results")
REPORTS = {
    "default": ("reproduce_default", "reproduce_default_offset100"),
    "long": ("reproduce_long",),
}


def _page() -> str:
    with open(os.path.join(ROOT, "docs", "results.md"), encoding="utf-8") as f:
        return f.read()


def _report(name: str) -> dict:
    with open(os.path.join(RESULTS, name, "results.json"), encoding="utf-8") as f:
        return json.load(f)


def _summary_rows(page: str) -> list[list[str]]:
    """The cells of the summary table's claim rows (claims 1, 2, ...)."""
    rows = [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in page.splitlines()
        if re.match(r"\|\s*\d+\.", line)
    ]
    assert rows, "no summary table on the results page"
    return rows


def test_summary_table_verdicts_are_the_stored_reports():
    page = _page()
    header = next(line for line in page.splitlines() if "the paper's claim" in line)
    columns = [c.strip() for c in header.strip().strip("|").split("|")]
    rows = _summary_rows(page)
    for preset, names in REPORTS.items():
        col = next(i for i, c in enumerate(columns) if c.startswith(preset))
        verdicts = [[c["verdict"] for c in _report(n)["claims"]] for n in names]
        assert len(rows) == len(verdicts[0])
        for row, *stored in zip(rows, *verdicts):
            for verdict in stored:
                assert row[col] == verdict, (preset, row[0], row[col], stored)


@pytest.mark.parametrize("name", [n for names in REPORTS.values() for n in names])
def test_introduction_names_each_report_s_commit_and_time(name):
    meta = _report(name)["meta"]
    intro = _page().split("| the paper's claim")[0]
    assert f"`{meta['git_commit'][:7]}`" in intro, (name, meta["git_commit"])
    seconds = meta["seconds"]
    stated = (
        f"{seconds:,.0f} s",
        f"{seconds / 60:.0f} minutes",
    )
    assert any(s in intro for s in stated), (name, stated)

"""`report.md` of `reproduce`, written from the results dict alone.

Every number in the report is a value of ``results.json`` formatted by `fmt`;
the verdicts, their rules and their one-sentence summaries come from
`keras_graft.experiments.claims`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: What the paper reports for each claim, for the "differs from the paper" notes.
PAPER = {
    1: "the paper finds Ada-nSGDA on par with Adam and the reverse graft clearly worse",
    2: "the paper finds nSGDA recovers Adam's performance on its image benchmarks",
    3: "the paper proves SGDA collapses for every learning-rate pair in its setting "
    "while nSGDA recovers all modes",
    4: "the paper attributes nSGDA's success to D and G moving at the same pace",
}


def fmt(x: Any) -> str:
    """How a number is written in the report (3 significant digits).

    Args:
        x (Any): An int, float, bool, None or an "inf" / "-inf" string.

    Returns:
        str: ``str(int)`` for ints, ``"nan"`` for nan/None, else ``f"{x:.3g}"``.
    """
    if x is None:
        return "nan"
    if isinstance(x, str):
        return x
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    x = float(x)
    if math.isnan(x):
        return "nan"
    return f"{x:.3g}"


def _cell(x: Any) -> str:
    return x if isinstance(x, str) else fmt(x)


def _seeds(seeds: Any) -> str:
    """ "8" or "8 (AdaDir (reverse graft) 4)" for per-optimizer seeds."""
    if not isinstance(seeds, dict):
        return fmt(seeds)
    from keras_graft.experiments.claims import LABELS

    most = max(set(seeds.values()), key=list(seeds.values()).count)
    others = [f"{LABELS.get(o, o)} {fmt(n)}" for o, n in seeds.items() if n != most]
    return fmt(most) + (f" ({', '.join(others)})" if others else "")


def _unstable(entry: dict) -> str:
    """A warning for a verdict that other seed offsets often do not repeat."""
    from keras_graft.experiments.stability import STABLE

    share = (entry.get("stability") or {}).get("share")
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return ""
    if share >= STABLE:
        return ""
    return (
        "; not a stable finding at this budget: its effect sits near the margin, "
        "where more seeds than this preset runs are needed"
    )


def _stability(s: Any) -> str:
    """ " (the same at 99.6% of simulated seed offsets)", or "" when not simulated."""
    percent = s.get("percent") if isinstance(s, dict) else None
    if percent is None or (isinstance(percent, float) and math.isnan(percent)):
        return ""
    return f" (the same at {fmt(percent)}% of simulated seed offsets)"


def render_markdown(results: dict) -> str:
    """`report.md` from the results dict (every number comes from it).

    Args:
        results (dict): What `reproduce` saves as `results.json`.

    Returns:
        str: Markdown.
    """
    meta = results["meta"]
    commit = meta.get("git_commit") or "not a git checkout"
    out = [
        "# keras_graft: reproduction report",
        "",
        f"Preset `{meta['preset']}` ({meta.get('description', '')}), backend "
        f"`{meta['backend']}`, keras_graft {meta.get('keras_graft_version')} at commit "
        f"`{commit}`, Keras {meta['keras_version']}, seed offset "
        f"{meta.get('seed_offset', 0)}, "
        f"{meta.get('executor') or str(meta.get('workers', 1)) + ' worker(s)'}, "
        "total wall time "
        f"{fmt(meta['seconds'])} s."
        + (
            f" Report rebuilt from the stored runs at commit "
            f"`{meta['report_git_commit']}`."
            if meta.get("report_git_commit")
            and meta.get("report_git_commit") != meta.get("git_commit")
            else ""
        )
        + " Every number below is in `results.json`.",
        "",
        "## Summary",
        "",
        "| the paper's claim | what we measured | verdict |",
        "|---|---|---|",
    ]
    for c in results["claims"]:
        out.append(
            f"| {c['id']}. {c['title']} | {c['summary']} | **{c['verdict']}**"
            f"{_stability(c.get('stability'))}{_unstable(c)} |"
        )
        for p in c.get("probes", []):
            out.append(
                f"| {c['id']}, probe: {p['name']} | {p['summary']} | {p['verdict']}"
                f"{_stability(p.get('stability'))}{_unstable(p)} |"
            )
    out += [
        "",
        "Each verdict's share is how often the same rule gives the same verdict "
        "at a new seed offset, simulated from this report's per-seed data "
        "(`keras_graft.experiments.stability`). A probe line is beyond the claim's "
        "scope and counts neither for nor against it.",
    ]
    differs = [c for c in results["claims"] if c["verdict"] != "reproduced"]
    if differs:
        out += ["", "Where this differs from the paper:", ""]
        for c in differs:
            out.append(
                f"- Claim {c['id']} is **{c['verdict']}** here; {PAPER[c['id']]}."
            )
    syn = results["synthetic"]["config"]
    out += [
        "",
        "## Setup",
        "",
        "Synthetic problem: dimension d = {}, K = {} modes, m_G = {}, m_D = {}, "
        "init std {}, noise {}, {} steps per run with learning rates decayed linearly "
        "to zero, {} updates; grid of learning rates {} for both players of every "
        "optimizer, {} seeds per cell, losses {}.".format(
            fmt(syn["dim"]),
            fmt(syn["num_modes"]),
            fmt(syn["m_g"]),
            fmt(syn["m_d"]),
            fmt(syn["init_std"]),
            fmt(syn["noise_std"]),
            fmt(syn["steps"]),
            syn["update"],
            ", ".join(fmt(x) for x in syn["grid"]),
            fmt(syn["seeds"]),
            " and ".join(syn["losses"]),
        ),
    ]
    for exp, g in results["gans"].items():
        c = g["config"]
        search = (
            (
                "the rates of a stored search on selection seeds (x1/3, x1, x3, "
                "extended at an edge; `benchmarks/tune_default.py`)"
                if meta["preset"] == "default"
                else "base rate"
            )
            if len(c["search"]) == 1
            else "best of x{} the base rate on {} selection seed(s)".format(
                ", x".join(fmt(m) for m in c["search"]), c["selection_seeds"]
            )
        )
        if c.get("extend"):
            search += (
                ", extended one step at a time (up to {}) while the best rate "
                "sat at an edge of the rates tried".format(fmt(c["extend"]))
            )
        out.append(
            "GAN `{}`: {} steps, batch {}, width {}, {} loss, learning rates decayed "
            "linearly: {}; {} fresh seeds; {} samples per evaluation, score over the "
            "last {} evaluations.".format(
                exp,
                fmt(c["steps"]),
                fmt(c["batch_size"]),
                fmt(c["width"]),
                c["loss"],
                search,
                _seeds(c["seeds"]),
                fmt(c["eval_samples"]),
                fmt(c["score_evals"]),
            )
        )
    for c in results["claims"]:
        out += [
            "",
            f"## Claim {c['id']}: {c['title']}",
            "",
            "Scope: " + c.get("scope", ""),
            "",
            "Rule: " + c["rule"],
            "",
            "| " + " | ".join(c["columns"]) + " |",
            "|" + "---|" * len(c["columns"]),
        ]
        for row in c["rows"]:
            out.append("| " + " | ".join(_cell(x) for x in row) + " |")
        out += [
            "",
            c["summary"],
            "",
            f"Verdict: **{c['verdict']}**"
            f"{_stability(c.get('stability'))}{_unstable(c)}.",
        ]
        for p in c.get("probes", []):
            out += [
                "",
                f"Probe, {p['name']}: {p['summary'].rstrip('.')}. Verdict of this "
                "line: "
                f"{p['verdict']}{_stability(p.get('stability'))}{_unstable(p)}.",
            ]
    selections = {
        exp: g["summary"]["selection"]
        for exp, g in results["gans"].items()
        if g["summary"]["selection"]
    }
    if selections:
        out += [
            "",
            "## Learning-rate search (selection seeds, mean score, lower is better)",
            "",
            "| benchmark | optimizer | learning rate: score |",
            "|---|---|---|",
        ]
        for exp, per in selections.items():
            for opt, by_lr in per.items():
                cells = ", ".join(
                    f"{fmt(float(lr))}: {fmt(s)}" for lr, s in by_lr.items()
                )
                out.append(f"| {exp} | {opt} | {cells} |")
    failed = results.get("failed_runs") or []
    if failed:
        out += [
            "",
            f"## Failed runs ({len(failed)})",
            "",
            "Each failed twice and is missing from the numbers above; run the same "
            "command again to retry them (tracebacks in `logs/errors.log`).",
            "",
        ]
        out += [f"- {f['label']}: {f['error']}" for f in failed]
    out += ["", "## Plots", ""]
    for name, caption in results.get("plots", {}).items():
        out.append(f"![{caption}]({name})")
        out.append("")
    return "\n".join(out) + "\n"


__all__ = ["PAPER", "fmt", "render_markdown"]

"""The paper's four claims, each with its rule and the code of its verdict side by side.

A `Claim` holds a title (the paper's claim in our words), the rule's text as
the report prints it, and the function that applies that rule to the
summaries of `analysis`. Every verdict is one of "reproduced", "not
reproduced" or "inconclusive", and comes from intervals
(`keras_graft.experiments.stats`), never from a point estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive"
VERDICTS = (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE)
#: Display names of the optimizers and synthetic variants.
LABELS = {
    "sgda": "SGDA",
    "nsgda": "nSGDA",
    "nsgda_global": "nSGDA (global)",
    "ada_nsgda": "Ada-nSGDA",
    "adam": "Adam",
    "ada_dir": "AdaDir (reverse graft)",
}
#: Claim 3's success threshold on the family-wise interval of a cell's rate.
MOST_SEEDS = 0.5


@dataclass(frozen=True)
class Claim:
    """One claim: its title, its rule and the code that applies the rule.

    Attributes:
        id (int): The claim's number, 1-4, in the order of `CLAIMS` and the report.
        title (str): The claim, in plain words.
        rule (str): The verdict rule, as printed in the report.
        decide (Callable[[dict, dict, Any], dict]): ``decide(synthetic,
            gans, preset)`` returns ``verdict``, ``summary`` (one sentence
            with the effect sizes and intervals), ``columns``, ``rows`` and
            ``stats``.
    """

    id: int
    title: str
    rule: str
    decide: Callable[[dict, dict, Any], dict]

    def evaluate(self, synthetic: dict, gans: dict, preset: Any) -> dict:
        """Apply the rule.

        Args:
            synthetic (dict): `analysis.summarize_synthetic` output.
            gans (dict): Per benchmark, `analysis.summarize_gan` output.
            preset (Preset): The preset (margin, next preset).

        Returns:
            dict: ``id``, ``title``, ``rule`` and the output of `decide`.
        """
        out = self.decide(synthetic, gans, preset)
        if out["verdict"] not in VERDICTS:
            raise ValueError(f"claim {self.id}: unknown verdict {out['verdict']!r}")
        return {"id": self.id, "title": self.title, "rule": self.rule, **out}


def _f(x: Any, digits: int = 3) -> str:
    if isinstance(x, str):  # "inf" / "-inf" as saved in results.json
        return x
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "nan" if x is None or math.isnan(x) else ("inf" if x > 0 else "-inf")
    return f"{x:.{digits}g}"


#: The most paired seeds an inconclusive verdict's estimate looks at.
MAX_SEEDS_TO_DECIDE = 200


def _seeds_to_decide(c: dict, limit: int = MAX_SEEDS_TO_DECIDE) -> int | None:
    """Paired seeds at which comparison `c`'s interval would clear its margin.

    If the mean difference and its spread stayed as measured, the one-sided
    bound ``mean +- t_{m-1} sd / sqrt(m)`` clears the margin at the smallest
    such m. None when it cannot be estimated (fewer than 2 seeds, no spread,
    a diverged seed of the subject) or would need more than `limit` seeds.
    """
    from scipy import stats

    n, mean, upper = c["n"], c["mean"], c["upper"]
    if n < 2 or c["subject_diverged"] or not math.isfinite(upper):
        return None
    sd = (upper - mean) * math.sqrt(n) / float(stats.t.ppf(c["confidence"], n - 1))
    gap = abs(mean - c["margin"])
    if sd <= 0 or gap == 0:
        return None
    for m in range(n + 1, limit + 1):
        if float(stats.t.ppf(c["confidence"], m - 1)) * sd / math.sqrt(m) < gap:
            return m
    return None


def _undecided(preset: Any, pending: dict | None = None) -> str:
    """What an inconclusive verdict would need, worked out from its data.

    Args:
        preset (Any): The preset that ran (its `next_preset` is named).
        pending (dict | None): ``(benchmark, optimizer) -> comparison`` of the
            undecided paired comparisons (claims 1-2), or None.

    Returns:
        str: Sentences to append to the verdict's summary.
    """
    parts = []
    for (exp, opt), c in (pending or {}).items():
        if c["outcome"] != "inconclusive":
            continue
        if c["subject_diverged"]:
            need = f"it diverged in {c['subject_diverged']} seed(s)"
        elif (m := _seeds_to_decide(c)) is None:
            need = (
                f"at this effect and spread, more than {MAX_SEEDS_TO_DECIDE} "
                "paired seeds"
            )
        else:
            need = f"at this effect and spread, about {m} paired seeds"
        parts.append(f"{exp} {LABELS[opt]} ({c['n']} paired seeds; {need})")
    text = ""
    if parts:
        text = (
            " Undecided: "
            + "; ".join(parts)
            + ". Seed counts assume the measured mean difference and spread hold; "
            "a mean near the margin needs many."
        )
    nxt = getattr(preset, "next_preset", None)
    if nxt:
        return text + (
            f" The `{nxt}` preset (more seeds, longer runs) is the next budget to "
            "try; it need not decide it."
        )
    return text + " Only more seeds than this preset runs can decide it."


# ------------------------------------------------------ claims 1-2 (GANs)

GAN_COLUMNS = [
    "benchmark",
    "optimizer",
    "lr",
    "seeds",
    "diverged",
    "metric (mean)",
    "ratio to Adam",
    "95% bound(s)",
    "outcome",
]


def _comparison_rows(gans: dict, shown: tuple) -> tuple[list, dict]:
    rows, outcomes = [], {}
    for exp, g in gans.items():
        m = g["metric"]
        for opt in shown:
            e = g["optimizers"].get(opt)
            if e is None:
                continue
            c = g["comparisons"].get(opt)
            if c is None:
                if opt == "adam":
                    note = "1 (reference)"
                elif not g.get("informative", True):
                    note = "n/a: Adam fails this benchmark"
                else:
                    note = "n/a"
                rows.append(
                    [
                        exp,
                        LABELS[opt],
                        e["lr"],
                        len(e["seeds"]),
                        e["diverged"],
                        e.get(m),
                        note,
                        "",
                        "",
                    ]
                )
                continue
            outcomes[(exp, opt)] = c
            # Scores are -log(balanced quality) for coverage: the ratio is Adam's
            # over the subject's; for FD the subject's FD over Adam's. Lower is better.
            bounds = f"[{_f(c['ratio_lower'])}, {_f(c['ratio_upper'])}]"
            rows.append(
                [
                    exp,
                    LABELS[opt],
                    e["lr"],
                    len(e["seeds"]),
                    e["diverged"],
                    e.get(m),
                    c["ratio"],
                    bounds,
                    c["outcome"],
                ]
            )
    return rows, outcomes


def _describe(outcomes: dict, gans: dict, opt: str) -> str:
    parts = []
    for (exp, o), c in outcomes.items():
        if o != opt:
            continue
        what = (
            "FD ratio"
            if not gans[exp]["higher_is_better"]
            else "Adam's balanced quality over the subject's"
        )
        diverged = c["subject_diverged"]
        div = f", diverged in {diverged} seed(s)" if diverged else ""
        parts.append(
            f"{exp}: {what} {_f(c['ratio'])} (one-sided 95% bounds "
            f"{_f(c['ratio_lower'])} to {_f(c['ratio_upper'])}, margin "
            f"{_f(math.exp(c['margin']))}, {c['n']} paired seeds{div}) -> "
            f"{c['outcome']}"
        )
    return "; ".join(parts) if parts else "not run"


CLAIM1_RULE = (
    "Per benchmark and fresh seed, the score is log FD (digits) or -log of the "
    "balanced quality (ring: the share of samples within 3 standard deviations of a "
    "mode, each mode's share capped at 1/8, summed, so that both poor samples and "
    "missing or over-filled modes lower it), averaged over the last evaluations, so a "
    "difference of scores is a log ratio. The paired difference with Adam on the same "
    "seed (same initialisation, data order and latents) gets a one-sided 95% Student-t "
    "interval: an optimizer is *as good* as Adam when the upper bound of the ratio is "
    "below the margin (1.25: at most 25% worse), *worse* when the lower bound is above "
    "it (or it diverged in at least half of the seeds where Adam did not), otherwise "
    "*inconclusive*. Each optimizer's learning rate is the base rate or the best of "
    "the preset's search (x1/3, x1, x3, extended one x3 step at a time while the "
    "best rate sits at an edge; the same for every optimizer) on separate "
    "selection seeds. A ring benchmark on which Adam's mean balanced quality is below "
    "0.5 does not count. Reproduced: Ada-nSGDA as good as Adam on every benchmark and "
    "the reverse graft worse on every benchmark it ran on; not reproduced: Ada-nSGDA "
    "worse somewhere or the reverse graft as good somewhere; otherwise inconclusive."
)


def _claim1(syn: dict, gans: dict, preset: Any) -> dict:
    rows, outcomes = _comparison_rows(gans, ("adam", "ada_nsgda", "ada_dir"))
    ada = [c["outcome"] for (e, o), c in outcomes.items() if o == "ada_nsgda"]
    rev = [c["outcome"] for (e, o), c in outcomes.items() if o == "ada_dir"]
    ada_as_good = all(x == "as good" for x in ada)
    if ada and rev and ada_as_good and all(x == "worse" for x in rev):
        verdict = REPRODUCED
    elif "worse" in ada or "as good" in rev:
        verdict = NOT_REPRODUCED
    else:
        verdict = INCONCLUSIVE
    summary = (
        f"Ada-nSGDA against Adam, {_describe(outcomes, gans, 'ada_nsgda')}. "
        f"Reverse graft against Adam, {_describe(outcomes, gans, 'ada_dir')}."
    )
    if verdict == INCONCLUSIVE:
        summary += _undecided(preset, outcomes)
    return {
        "verdict": verdict,
        "summary": summary,
        "columns": GAN_COLUMNS,
        "rows": rows,
        "stats": {f"{o}/{e}": c["outcome"] for (e, o), c in outcomes.items()},
    }


CLAIM2_RULE = (
    "The comparison of claim 1, for nSGDA (per variable, steps scaled by sqrt(size), "
    "learning rate decayed linearly like every optimizer's). Reproduced: nSGDA as good "
    "as Adam on every benchmark; not reproduced: worse on some benchmark; otherwise "
    "inconclusive. SGDA is compared too, for reference (not part of the verdict)."
)


def _claim2(syn: dict, gans: dict, preset: Any) -> dict:
    rows, outcomes = _comparison_rows(gans, ("adam", "nsgda", "sgda"))
    ns = [c["outcome"] for (e, o), c in outcomes.items() if o == "nsgda"]
    if ns and all(x == "as good" for x in ns):
        verdict = REPRODUCED
    elif "worse" in ns:
        verdict = NOT_REPRODUCED
    else:
        verdict = INCONCLUSIVE
    summary = (
        f"nSGDA against Adam, {_describe(outcomes, gans, 'nsgda')}. "
        "For reference, SGDA against Adam, "
        f"{_describe(outcomes, gans, 'sgda')}."
    )
    if verdict == INCONCLUSIVE:
        summary += _undecided(
            preset, {k: c for k, c in outcomes.items() if k[1] == "nsgda"}
        )
    return {
        "verdict": verdict,
        "summary": summary,
        "columns": GAN_COLUMNS,
        "rows": rows,
        "stats": {f"{o}/{e}": c["outcome"] for (e, o), c in outcomes.items()},
    }


# ------------------------------------------------- claim 3 (synthetic modes)

CLAIM3_RULE = (
    "Every optimizer runs the same (lr_G, lr_D) grid, each cell over the preset's "
    "seeds. A run recovers when every mode carries between 0.5 and 2 times its share "
    "of the data's mass (the generator neurons aligned with it, cosine >= 0.9, "
    "weighted by the third moment the cubic discriminator matches); otherwise it is "
    "collapsed, stuck (the generator never left its initial scale) or diverged. Each "
    "cell's success rate gets a Clopper-Pearson interval, Bonferroni-adjusted over the "
    "grid's cells (95% for the whole grid at once). Reproduced: some nSGDA cell "
    "succeeds in most seeds (lower bound >= 0.5) while every SGDA cell fails in most "
    "seeds (upper bound < 0.5); not reproduced: some SGDA cell succeeds in most seeds "
    "(lower bound >= 0.5), or no nSGDA cell can (every upper bound < 0.5); otherwise "
    "inconclusive. The headline verdict is the non-saturating loss's (the loss of the "
    "GAN benchmarks); the minimax loss gets its own verdict in the table."
)


def _grid_verdict(sgda: dict, nsgda: dict) -> str:
    if sgda["max_lower"] >= MOST_SEEDS or nsgda["max_upper"] < MOST_SEEDS:
        return NOT_REPRODUCED
    if nsgda["max_lower"] >= MOST_SEEDS and sgda["max_upper"] < MOST_SEEDS:
        return REPRODUCED
    return INCONCLUSIVE


def _claim3(syn: dict, gans: dict, preset: Any) -> dict:
    rows, verdicts, sentences = [], {}, []
    for loss, per in syn["grid"].items():
        for label, g in per.items():
            b, o = g["best"], g["outcomes"]
            rows.append(
                [
                    loss,
                    LABELS[label],
                    g["runs"],
                    o["recovered"],
                    o["collapsed"],
                    o["stuck"],
                    o["diverged"],
                    g["reliable_share"],
                    f"{_f(b['lr_g'])} / {_f(b['lr_d'])}",
                    f"{b['successes']}/{b['n']} [{_f(b['lower'])}, {_f(b['upper'])}]",
                ]
            )
        if "sgda" in per and "nsgda" in per:
            verdicts[loss] = _grid_verdict(per["sgda"], per["nsgda"])
            s, n = per["sgda"], per["nsgda"]
            sentences.append(
                f"{loss} loss: SGDA succeeds reliably (>= 80% of seeds) in "
                f"{_f(100 * s['reliable_share'])}% of the grid, its best cell "
                f"(lr_G {_f(s['best']['lr_g'])}, lr_D {_f(s['best']['lr_d'])}) in "
                f"{s['best']['successes']}/{s['best']['n']} seeds "
                f"(family-wise 95% interval "
                f"{_f(s['best']['lower'])}-{_f(s['best']['upper'])}); nSGDA in "
                f"{_f(100 * n['reliable_share'])}% of the grid, best "
                f"{n['best']['successes']}/{n['best']['n']} ({_f(n['best']['lower'])}-"
                f"{_f(n['best']['upper'])}) -> {verdicts[loss]}"
            )
    if "non_saturating" in verdicts:
        primary = "non_saturating"
    else:
        primary = next(iter(verdicts), None)
    verdict = verdicts.get(primary, INCONCLUSIVE)
    summary = "; ".join(sentences) + "."
    if verdict == INCONCLUSIVE:
        summary += _undecided(preset)
    return {
        "verdict": verdict,
        "summary": summary,
        "columns": [
            "loss",
            "optimizer",
            "runs",
            "recovered",
            "collapsed",
            "stuck",
            "diverged",
            "share of cells >= 80%",
            "best cell lr_G / lr_D",
            "best cell successes [family-wise 95%]",
        ],
        "rows": rows,
        "stats": {"verdict_" + k: v for k, v in verdicts.items()},
    }


# --------------------------------------------------------- claim 4 (pace)

CLAIM4_RULE = (
    "Two tests on the synthetic grid (non-saturating loss). (a) Predictive: among "
    "SGDA's finite runs, does the pace imbalance in the middle of training, |log10| of "
    "the median ratio of D's to G's step norm over the middle third of the run, "
    "separate the failed runs (collapsed or stuck) from the successful ones? AUC = P(a "
    "failed run is more imbalanced than a successful one), 95% percentile-bootstrap "
    "interval; it supports the mechanism when the lower bound is above 0.5 and "
    "contradicts it when the upper bound is below 0.5. (b) Interventional: nSGDA moves "
    "each block by exactly its learning rate, so lr_D / lr_G sets the pace ratio; the "
    "success rate of the cells with equal rates against that of the cells with rates "
    "10x or more apart (Clopper-Pearson 95%): it supports the mechanism when the equal "
    "cells' lower bound is above the unequal cells' upper bound, and contradicts it "
    "when the unequal cells' lower bound is above the equal cells' upper bound. "
    "Reproduced: both support; not reproduced: either contradicts; otherwise "
    "inconclusive."
)


def _claim4(syn: dict, gans: dict, preset: Any) -> dict:
    loss = (
        "non_saturating"
        if "non_saturating" in syn["pace_prediction"]
        else next(iter(syn["pace_prediction"]), None)
    )
    pred = syn["pace_prediction"].get(loss)
    inter = syn["pace_intervention"].get(loss)
    a = "undecided"
    if pred and pred["lower"] is not None and math.isfinite(pred["lower"] or math.nan):
        a = (
            "supports"
            if pred["lower"] > 0.5
            else ("contradicts" if pred["upper"] < 0.5 else "undecided")
        )
    b = "undecided"
    if inter and inter["equal"]["n"] and inter["unequal"]["n"]:
        eq, un = inter["equal"], inter["unequal"]
        b = (
            "supports"
            if eq["lower"] > un["upper"]
            else "contradicts"
            if un["lower"] > eq["upper"]
            else "undecided"
        )
    if a == b == "supports":
        verdict = REPRODUCED
    elif "contradicts" in (a, b):
        verdict = NOT_REPRODUCED
    else:
        verdict = INCONCLUSIVE
    rows = []
    for l_, p in syn["pace_prediction"].items():
        rows.append(
            [
                l_,
                "(a) SGDA: AUC of mid-training imbalance, failed vs successful",
                f"{p['failures']} failed / {p['successes']} successful",
                f"{_f(p['auc'])} [{_f(p['lower'])}, {_f(p['upper'])}]",
            ]
        )
        rows.append(
            [
                l_,
                "(a) same, collapsed runs only (stuck left out)",
                f"{p['collapsed']} collapsed / {p['successes']} successful",
                f"{_f(p['auc_collapsed'])} [{_f(p['lower_collapsed'])}, "
                f"{_f(p['upper_collapsed'])}]",
            ]
        )
    for l_, it in syn["pace_intervention"].items():
        for name in ("equal", "unequal"):
            x = it[name]
            rows.append(
                [
                    l_,
                    f"(b) nSGDA success, {name} rates",
                    f"{x['successes']}/{x['n']}",
                    f"{_f(x['rate'])} [{_f(x['lower'])}, {_f(x['upper'])}]",
                ]
            )
    summary = "Not measured."
    if pred and inter:
        equal, unequal = inter["equal"], inter["unequal"]
        summary = (
            "(a) SGDA's mid-training pace imbalance separates failed from successful "
            f"runs with AUC {_f(pred['auc'])} (95% {_f(pred['lower'])}-"
            f"{_f(pred['upper'])}; {pred['failures']} failed, {pred['successes']} "
            f"successful runs): {a}. (b) nSGDA succeeds in "
            f"{_f(100 * equal['rate'])}% of runs with equal rates "
            f"({_f(equal['lower'])}-{_f(equal['upper'])}) against "
            f"{_f(100 * unequal['rate'])}% with rates 10x or more apart "
            f"({_f(unequal['lower'])}-{_f(unequal['upper'])}): {b}."
        )
    if verdict == INCONCLUSIVE:
        summary += _undecided(preset)
    return {
        "verdict": verdict,
        "summary": summary,
        "columns": ["loss", "test", "runs", "value [95%]"],
        "rows": rows,
        "stats": {"predictive": a, "interventional": b},
    }


CLAIMS = (
    Claim(
        1,
        "Ada-nSGDA (Adam's magnitude, SGD's direction) trains GANs as well as "
        "Adam; the reverse graft does not",
        CLAIM1_RULE,
        _claim1,
    ),
    Claim(2, "nSGDA recovers Adam's performance", CLAIM2_RULE, _claim2),
    Claim(
        3,
        "nSGDA recovers every mode of the synthetic data; SGDA collapses for "
        "every learning-rate pair",
        CLAIM3_RULE,
        _claim3,
    ),
    Claim(
        4,
        "Normalization makes D and G move at the same pace, and unequal paces are "
        "what makes SGDA fail",
        CLAIM4_RULE,
        _claim4,
    ),
)


#: What each claim's verdict reads: the GAN runs of these optimizers (Adam's,
#: the reference of every comparison, included), or the synthetic runs.
USES = {
    1: ("gan", ("adam", "ada_nsgda", "ada_dir")),
    2: ("gan", ("adam", "nsgda", "sgda")),
    3: ("synthetic", None),
    4: ("synthetic", None),
}


def note_failures(verdicts: list[dict], failed: list[dict]) -> None:
    """Add to each verdict the failed runs it lacks (``failed_runs``), and say so.

    Args:
        verdicts (list[dict]): `evaluate_claims` output (changed in place).
        failed (list[dict]): The failed runs, each with ``label`` and ``spec``
            (`keras_graft.experiments.runs.Run.spec`).
    """
    for c in verdicts:
        kind, optimizers = USES[c["id"]]
        lacking = [
            f["label"]
            for f in failed
            if f["spec"]["kind"] == kind
            and (optimizers is None or f["spec"]["optimizer"] in optimizers)
        ]
        c["failed_runs"] = lacking
        if lacking:
            shown = ", ".join(lacking[:3]) + (", ..." if len(lacking) > 3 else "")
            c["summary"] += (
                f" This verdict lacks {len(lacking)} run(s) that failed ({shown}); "
                "run the same command again to retry them."
            )


def evaluate_claims(synthetic: dict, gans: dict, preset: Any) -> list[dict]:
    """Every claim's verdict.

    Args:
        synthetic (dict): `analysis.summarize_synthetic` output.
        gans (dict): Per benchmark, `analysis.summarize_gan` output.
        preset (Preset): The preset.

    Returns:
        list[dict]: One dict per claim (see `Claim.evaluate`).
    """
    return [c.evaluate(synthetic, gans, preset) for c in CLAIMS]


__all__ = [
    "CLAIMS",
    "Claim",
    "INCONCLUSIVE",
    "LABELS",
    "NOT_REPRODUCED",
    "REPRODUCED",
    "VERDICTS",
    "USES",
    "evaluate_claims",
    "note_failures",
]

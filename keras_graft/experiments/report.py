"""Summaries, verdicts, `report.md` and the plots of `reproduce`.

Every number in `report.md` is a value of the results JSON (`results.json`),
formatted by `fmt`; the verdicts follow the rules of `RULES`, applied by
`claim_verdicts` to those numbers.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from keras_graft.experiments.factory import OPTIMIZERS

VERDICTS = ("reproduced", "partly", "not reproduced")

#: Thresholds of the verdict rules (stored in the JSON and quoted in the report).
RULES = {
    # A GAN optimizer is "as good as Adam" on a benchmark if its mean score is
    # at most this factor times Adam's (lower is better: Fréchet distance) ...
    "fd_factor": 1.25,
    # ... or at least this fraction of Adam's (higher is better: modes covered).
    "coverage_fraction": 0.8,
    # Synthetic: a configuration "succeeds" in a seed if all K modes are
    # recovered at the end; it is "reliable" if it succeeds in at least this
    # fraction of its seeds.
    "reliable_fraction": 0.5,
    # Pace: spread = log_10(max / min) over training of the ratio of D's to G's
    # step norm (per window). SGDA must spread at least this many decades ...
    "sgda_spread": 1.0,
    # ... and every normalized or adaptive optimizer at most this many.
    "normalized_spread": 0.5,
}

_HIGHER_BETTER = {"modes_covered": True, "fd": False, "fid": False}
_PRIMARY = {"ring": "modes_covered", "grid": "modes_covered", "digits": "fd",
            "cifar10": "fid"}


def fmt(x: Any) -> str:
    """How a number is written in the report (3 significant digits).

    Args:
        x (Any): An int, float, bool or None.

    Returns:
        str: ``str(int)`` for ints, ``"nan"`` for nan/None, else ``f"{x:.3g}"``.
    """
    if x is None:
        return "nan"
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    x = float(x)
    if math.isnan(x):
        return "nan"
    return f"{x:.3g}"


def _mean_std(values: list[float]) -> tuple[float, float]:
    arr = np.asarray(values, dtype=np.float64)
    if len(arr) == 0 or np.any(~np.isfinite(arr)):
        return math.nan, math.nan
    return float(arr.mean()), float(arr.std())


def pace_spread(ratios: list[float]) -> float:
    """Decades spanned by a run's pace ratio over training.

    Args:
        ratios (list[float]): Per window, D's mean step norm over G's.

    Returns:
        float: ``log10(max / min)`` over the finite positive windows (nan if
        fewer than two).
    """
    r = np.asarray(ratios, dtype=np.float64)
    r = r[np.isfinite(r) & (r > 0)]
    if len(r) < 2:
        return math.nan
    return float(np.log10(r.max() / r.min()))


def _median(values: list[float]) -> float:
    v = [x for x in values if x is not None and math.isfinite(x)]
    return float(np.median(v)) if v else math.nan


# ----------------------------------------------------------------- synthetic


def summarize_synthetic(runs: list[dict], num_modes: int) -> dict:
    """Success counts per configuration and pace spreads per optimizer.

    Args:
        runs (list[dict]): `SyntheticResult.to_dict()` of every run.
        num_modes (int): K.

    Returns:
        dict: ``configs`` (one row per optimizer, update and learning-rate
        pair: seeds, successes, success fraction, mean and std of the final
        modes recovered) and ``pace`` (per optimizer: median spread,
        median ratio in the first and last window, runs counted).
    """
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        run = r["run"]
        key = (run["optimizer"], run["tag"], run["lr_g"], run["lr_d"])
        groups.setdefault(key, []).append(r)
    configs = []
    for (opt, tag, lr_g, lr_d), rs in groups.items():
        finals = [x["final_modes"] for x in rs]
        succ = sum(bool(x["success"]) for x in rs)
        mean, std = _mean_std(finals)
        configs.append({
            "optimizer": opt, "tag": tag, "lr_g": lr_g, "lr_d": lr_d,
            "seeds": len(rs), "successes": succ, "success_fraction": succ / len(rs),
            "mean_modes": mean, "std_modes": std,
            "curve": np.mean([x["modes_recovered"] for x in rs], axis=0).tolist(),
        })
    pace = {}
    for opt in dict.fromkeys(r["run"]["optimizer"] for r in runs):
        sel = [r for r in runs if r["run"]["optimizer"] == opt
               and r["run"]["tag"] in ("grid", "sweep") and r["finite"]]
        spreads = [pace_spread(r["pace_ratio"]) for r in sel]
        pace[opt] = {
            "runs": len(sel),
            "spread": _median(spreads),
            "spread_max": max([s for s in spreads if math.isfinite(s)], default=math.nan),
            "first": _median([r["pace_ratio"][0] for r in sel]),
            "last": _median([r["pace_ratio"][-1] for r in sel]),
        }
    return {"configs": configs, "pace": pace, "num_modes": num_modes}


def _claim3(syn: dict) -> dict:
    f = RULES["reliable_fraction"]
    sgda = [c for c in syn["configs"] if c["optimizer"] == "sgda"]
    nsgda = [c for c in syn["configs"] if c["optimizer"] == "nsgda"]
    rows = []
    for c in syn["configs"]:
        rows.append([OPTIMIZERS[c["optimizer"]], c["tag"], c["lr_g"], c["lr_d"],
                     c["successes"], c["seeds"], c["mean_modes"], c["std_modes"]])
    best_sgda = max((c["success_fraction"] for c in sgda), default=math.nan)
    best_nsgda = max((c["success_fraction"] for c in nsgda), default=math.nan)
    sgda_reliable = (sum(c["success_fraction"] >= f for c in sgda) / len(sgda)) if sgda else math.nan
    nsgda_reliable = (sum(c["success_fraction"] >= f for c in nsgda) / len(nsgda)) if nsgda else math.nan
    if best_nsgda == 1.0 and best_sgda == 0.0:
        verdict = "reproduced"
    elif best_nsgda == 1.0 and (best_sgda < 1.0 or nsgda_reliable > sgda_reliable):
        verdict = "partly"
    else:
        verdict = "not reproduced"
    return {
        "id": 3,
        "title": "nSGDA recovers every mode; SGDA collapses for every learning-rate pair",
        "columns": ["optimizer", "runs", "lr_G", "lr_D", "successes", "seeds",
                    "modes (mean)", "modes (std)"],
        "rows": rows,
        "stats": {"best_sgda_success": best_sgda, "best_nsgda_success": best_nsgda,
                  "sgda_reliable_share": sgda_reliable,
                  "nsgda_reliable_share": nsgda_reliable,
                  "num_modes": syn["num_modes"]},
        "verdict": verdict,
    }


def _claim4(syn: dict, gans: dict) -> dict:
    rows = []
    for opt, p in syn["pace"].items():
        rows.append(["synthetic", OPTIMIZERS[opt], p["runs"], p["first"], p["last"],
                     p["spread"], p["spread_max"]])
    for exp, g in gans.items():
        for opt, p in g["pace"].items():
            rows.append([exp, OPTIMIZERS[opt], p["runs"], p["first"], p["last"],
                         p["spread"], p["spread_max"]])
    sgda = syn["pace"].get("sgda", {}).get("spread", math.nan)
    others = [syn["pace"][o]["spread"] for o in ("nsgda", "ada_nsgda", "adam")
              if o in syn["pace"]]
    worst = max(others) if others and all(math.isfinite(o) for o in others) else math.nan
    if sgda >= RULES["sgda_spread"] and worst <= RULES["normalized_spread"]:
        verdict = "reproduced"
    elif math.isfinite(sgda) and math.isfinite(worst) and sgda > worst:
        verdict = "partly"
    else:
        verdict = "not reproduced"
    return {
        "id": 4,
        "title": "Normalization makes D and G move at the same pace; under SGDA one runs ahead",
        "columns": ["benchmark", "optimizer", "runs", "ratio (first window)",
                    "ratio (last window)", "spread (decades, median)",
                    "spread (decades, max)"],
        "rows": rows,
        "stats": {"sgda_spread": sgda, "normalized_spread_max": worst},
        "verdict": verdict,
    }


# ---------------------------------------------------------------------- GANs


def summarize_gan(runs: list[dict]) -> dict:
    """Per optimizer: the best learning rate's final scores, and pace spreads.

    Args:
        runs (list[dict]): `run_gan` outputs (without samples) of one benchmark.

    Returns:
        dict: ``metric`` (the primary metric), ``scores`` (per optimizer: lr,
        seeds, mean and std of each final metric), ``pace`` (per optimizer:
        median spread of the pace ratio over training, median first and last
        ratio), ``curves`` (per optimizer: mean primary metric per evaluation).
    """
    exp = runs[0]["experiment"]
    metric = _PRIMARY[exp]
    higher = _HIGHER_BETTER[metric]
    by: dict[str, dict[float, list[dict]]] = {}
    for r in runs:
        by.setdefault(r["optimizer"], {}).setdefault(r["learning_rate"], []).append(r)
    scores, pace, curves = {}, {}, {}
    for opt, per_lr in by.items():
        best_lr, best = None, None
        for lr, rs in per_lr.items():
            m, _ = _mean_std([x["final"].get(metric, math.nan) for x in rs])
            key = -math.inf if not math.isfinite(m) else (m if higher else -m)
            if best is None or key > best:
                best_lr, best = lr, key
        rs = per_lr[best_lr]
        entry = {"lr": best_lr, "seeds": len(rs)}
        for k in rs[0]["final"]:
            entry[k], entry[k + "_std"] = _mean_std([x["final"].get(k, math.nan) for x in rs])
        entry.setdefault(metric, math.nan)
        entry.setdefault(metric + "_std", math.nan)
        scores[opt] = entry
        curves[opt] = [
            _mean_std([x["evals"][i].get(metric, math.nan) for x in rs])[0]
            for i in range(len(rs[0]["evals"]))
        ]
        smoothed = []
        for x in rs:
            r = np.asarray(x["pace"]["pace_ratio"], dtype=np.float64)
            chunks = np.array_split(r, min(10, len(r))) if len(r) else []
            smoothed.append([_median(list(c)) for c in chunks])
        pace[opt] = {
            "runs": len(rs),
            "spread": _median([pace_spread(s) for s in smoothed]),
            "spread_max": max([pace_spread(s) for s in smoothed if len(s)], default=math.nan),
            "first": _median([s[0] for s in smoothed if s]),
            "last": _median([s[-1] for s in smoothed if s]),
        }
    return {"metric": metric, "higher_is_better": higher, "scores": scores,
            "pace": pace, "curves": curves, "eval_steps": runs[0]["eval_steps"]}


def as_good_as(score: float, adam: float, higher: bool) -> bool:
    """Whether a mean score is as good as Adam's under `RULES`.

    Args:
        score (float): The optimizer's mean score.
        adam (float): Adam's mean score.
        higher (bool): Whether higher is better.

    Returns:
        bool: The comparison (False when either is nan).
    """
    if not (math.isfinite(score) and math.isfinite(adam)):
        return False
    if higher:
        return score >= RULES["coverage_fraction"] * adam
    return score <= RULES["fd_factor"] * adam


def _gan_claim(gans: dict, claim: int) -> dict:
    rows, good, bad = [], [], []
    subject = "ada_nsgda" if claim == 1 else "nsgda"
    shown = ("adam", "ada_nsgda", "ada_dir") if claim == 1 else ("adam", "nsgda", "sgda")
    for exp, g in gans.items():
        m, higher = g["metric"], g["higher_is_better"]
        adam = g["scores"].get("adam", {}).get(m, math.nan)
        for opt in shown:
            s = g["scores"].get(opt)
            if s is None:
                continue
            ok = as_good_as(s[m], adam, higher)
            extra = s.get("classes_covered", s.get("high_quality", math.nan))
            informative = not (higher and not adam > 0)
            mark = ("yes" if ok else "no") if informative else "n/a (Adam covers none)"
            rows.append([exp, m, OPTIMIZERS[opt], s["lr"], s["seeds"], s[m],
                         s[m + "_std"], extra, mark])
            if not informative or opt == "adam":
                continue
            if opt == subject:
                good.append(ok)
            if claim == 1 and opt == "ada_dir":
                bad.append(not ok)
    frac = sum(good) / len(good) if good else math.nan
    if claim == 1:
        bad_frac = sum(bad) / len(bad) if bad else math.nan
        if frac == 1.0 and bad_frac == 1.0:
            verdict = "reproduced"
        elif not frac >= 0.5:
            verdict = "not reproduced"
        else:
            verdict = "partly"
        stats = {"ada_nsgda_as_good_share": frac, "ada_dir_worse_share": bad_frac}
        title = ("Ada-nSGDA (Adam's magnitude, SGD's direction) trains GANs as well "
                 "as Adam; the reverse graft does not")
    else:
        verdict = ("reproduced" if frac == 1.0 else
                   "not reproduced" if not frac > 0 else "partly")
        stats = {"nsgda_as_good_share": frac}
        title = "nSGDA recovers Adam's performance"
    return {
        "id": claim,
        "title": title,
        "columns": ["benchmark", "metric", "optimizer", "lr", "seeds", "mean", "std",
                    "classes covered / high-quality share", "as good as Adam"],
        "rows": rows,
        "stats": stats,
        "verdict": verdict,
    }


def claim_verdicts(synthetic: dict, gans: dict) -> list[dict]:
    """The four claim tables with their verdicts.

    Args:
        synthetic (dict): `summarize_synthetic` output.
        gans (dict): Per benchmark, `summarize_gan` output.

    Returns:
        list[dict]: One dict per claim: ``id``, ``title``, ``columns``,
        ``rows``, ``stats``, ``verdict`` (one of `VERDICTS`).
    """
    return [_gan_claim(gans, 1), _gan_claim(gans, 2), _claim3(synthetic),
            _claim4(synthetic, gans)]


# ------------------------------------------------------------------- markdown

_RULE_TEXT = {
    1: ("An optimizer is as good as Adam on a benchmark if its mean final score is at "
        "most {fd_factor}x Adam's (Fréchet distance) or at least {coverage_fraction}x "
        "Adam's (modes covered); a benchmark where Adam covers no mode does not count. "
        "Reproduced: Ada-nSGDA as good on every benchmark and "
        "the reverse graft not as good on every one; not reproduced: Ada-nSGDA as good "
        "on fewer than half; otherwise partly."),
    2: ("Same comparison. Reproduced: nSGDA as good as Adam on every benchmark; not "
        "reproduced: on none; otherwise partly. SGDA is shown for reference."),
    3: ("A run succeeds if all modes are recovered at the end (a neuron with cosine at "
        "least the threshold and a norm in the range of the config). Reproduced: "
        "some nSGDA learning rate succeeds in every seed and no SGDA pair succeeds in "
        "any seed. Partly: nSGDA succeeds in every seed at some rate, and either no "
        "SGDA pair succeeds in every seed or a larger share of nSGDA's rates than of "
        "SGDA's pairs succeed in at least {reliable_fraction} of the seeds. Otherwise "
        "not reproduced."),
    4: ("Spread = decimal log of max/min over training of the ratio of D's to G's step norm "
        "(synthetic: per window of steps; GANs: relative steps, medians of tenths of "
        "training). Reproduced: SGDA's median spread on the synthetic problem is at "
        "least {sgda_spread} decades and that of nSGDA, Ada-nSGDA and Adam at most "
        "{normalized_spread}; partly: SGDA's spread is larger than theirs; otherwise "
        "not reproduced. Diverged runs are left out."),
}


def _cell(x: Any) -> str:
    if isinstance(x, str):
        return x
    return fmt(x)


def render_markdown(results: dict) -> str:
    """`report.md` from the results dict (every number comes from it).

    Args:
        results (dict): What `reproduce` saves as `results.json`.

    Returns:
        str: Markdown.
    """
    meta = results["meta"]
    out = [
        "# keras_graft: reproduction report",
        "",
        f"Preset `{meta['preset']}`, backend `{meta['backend']}`, total wall time "
        f"{fmt(meta['seconds'])} s. Synthetic training: {fmt(meta['synthetic_steps_per_s'])} "
        "steps/s over all runs. Every number below is in `results.json`.",
        "",
        "| claim | verdict |",
        "|---|---|",
    ]
    for c in results["claims"]:
        out.append(f"| Claim {c['id']}: {c['title']} | **{c['verdict']}** |")
    syn = results["synthetic"]["config"]
    out += [
        "",
        "Synthetic problem: dimension d = {}, K = {} modes, m_G = {}, m_D = {}, init "
        "std {}, noise {}, {} steps per run, {} loss, {} updates, cosine threshold {}, "
        "norm range {} to {}; learning rates decay linearly to zero.".format(
            fmt(syn["dim"]), fmt(syn["num_modes"]), fmt(syn["m_g"]), fmt(syn["m_d"]),
            fmt(syn["init_std"]), fmt(syn["noise_std"]), fmt(syn["steps"]), syn["loss"],
            syn["update"], fmt(syn["cos_threshold"]), fmt(syn["norm_range"][0]),
            fmt(syn["norm_range"][1])),
    ]
    for exp, g in results["gans"].items():
        c = g["config"]
        out.append(
            "GAN `{}`: {} steps, batch {}, width {}, {} loss, {} samples per evaluation, "
            "metric `{}`.".format(exp, fmt(c["steps"]), fmt(c["batch_size"]),
                                  fmt(c["width"]), c["loss"], fmt(c["eval_samples"]),
                                  c["metric"] if exp == "digits" else "mode_coverage"))
    for c in results["claims"]:
        out += ["", f"## Claim {c['id']}: {c['title']}", "",
                "Rule: " + _RULE_TEXT[c["id"]].format(**{k: fmt(v) for k, v in results["rules"].items()}),
                "", "| " + " | ".join(c["columns"]) + " |",
                "|" + "---|" * len(c["columns"])]
        for row in c["rows"]:
            out.append("| " + " | ".join(_cell(x) for x in row) + " |")
        out += ["", "Key numbers: " + ", ".join(
            f"{k} = {fmt(v)}" for k, v in c["stats"].items()) + ".",
            "", f"Verdict: **{c['verdict']}**."]
    out += ["", "## Plots", ""]
    for name, caption in results["plots"].items():
        out.append(f"![{caption}]({name})")
        out.append("")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------- plots


def _fig(w: float, h: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(w, h))


def make_plots(results: dict, samples: dict, out_dir: str) -> dict[str, str]:
    """Write the PNG plots of a report.

    Args:
        results (dict): The results dict (synthetic runs and summaries, GANs).
        samples (dict): Per benchmark, per optimizer, the last generated
            samples of the first seed (numpy).
        out_dir (str): Destination folder.

    Returns:
        dict[str, str]: File name to caption.
    """
    plots: dict[str, str] = {}
    syn = results["synthetic"]
    cfg = syn["config"]
    steps = np.arange(1, len(syn["summary"]["configs"][0]["curve"]) + 1) * cfg["log_every"]

    # Modes recovered over training.
    fig = _fig(7, 4)
    ax = fig.add_subplot(1, 1, 1)
    colors = {"sgda": "tab:gray", "nsgda": "tab:blue", "adam": "tab:red",
              "ada_nsgda": "tab:green"}
    for c in syn["summary"]["configs"]:
        lw = 0.6 if c["optimizer"] == "sgda" else 1.5
        ax.plot(steps, c["curve"], color=colors.get(c["optimizer"], "k"), lw=lw, alpha=0.8)
    for opt, col in colors.items():
        ax.plot([], [], color=col, label=OPTIMIZERS[opt])
    ax.set(xlabel="step", ylabel="modes recovered (mean over seeds)",
           title="Synthetic: modes recovered (thin grey: SGDA grid pairs)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "modes_recovered.png"), dpi=80)
    plots["modes_recovered.png"] = "Modes recovered over training, per configuration"

    # SGDA grid heatmaps.
    tags = [t for t in ("grid", "grid_simultaneous")
            if any(c["tag"] == t for c in syn["summary"]["configs"])]
    fig = _fig(4.5 * len(tags), 4)
    for i, tag in enumerate(tags):
        cs = [c for c in syn["summary"]["configs"] if c["tag"] == tag]
        lrs = sorted({c["lr_g"] for c in cs})
        grid = np.full((len(lrs), len(lrs)), np.nan)
        for c in cs:
            grid[lrs.index(c["lr_g"]), lrs.index(c["lr_d"])] = c["success_fraction"]
        ax = fig.add_subplot(1, len(tags), i + 1)
        im = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis", origin="lower")
        ax.set_xticks(range(len(lrs)), [fmt(x) for x in lrs])
        ax.set_yticks(range(len(lrs)), [fmt(x) for x in lrs])
        ax.set(xlabel="lr_D", ylabel="lr_G", title=f"SGDA success share ({tag})")
        fig.colorbar(im, ax=ax)
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "sgda_grid.png"), dpi=80)
    plots["sgda_grid.png"] = "SGDA: share of seeds recovering every mode, per (lr_G, lr_D)"

    # Pace under SGDA and nSGDA.
    fig = _fig(11, 4)
    axes = [fig.add_subplot(1, 3, i + 1) for i in range(3)]
    picked = []
    for opt, tag in (("sgda", "grid"), ("nsgda", "sweep")):
        rs = [r for r in syn["runs"] if r["run"]["optimizer"] == opt
              and r["run"]["tag"] == tag and r["run"]["seed"] == 0 and r["finite"]]
        picked += rs[:: max(1, len(rs) // 3)][:3]
    for r in picked:
        lab = f"{OPTIMIZERS[r['run']['optimizer']]} {fmt(r['run']['lr_g'])}/{fmt(r['run']['lr_d'])}"
        ls = "-" if r["run"]["optimizer"] == "nsgda" else "--"
        axes[0].semilogy(steps, np.maximum(r["d_step"], 1e-30), ls, label=lab)
        axes[1].semilogy(steps, np.maximum(r["g_step"], 1e-30), ls, label=lab)
        axes[2].semilogy(steps, r["pace_ratio"], ls, label=lab)
    axes[0].set(title="D step norm", xlabel="step")
    axes[1].set(title="G step norm", xlabel="step")
    axes[2].set(title="ratio D / G", xlabel="step")
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "pace.png"), dpi=80)
    plots["pace.png"] = "Pace: per-step update norms of D and G and their ratio (SGDA dashed, nSGDA solid)"

    # GAN metric curves and pace.
    gans = results["gans"]
    if gans:
        fig = _fig(4 * len(gans), 3.6)
        fig2 = _fig(4 * len(gans), 3.6)
        for i, (exp, g) in enumerate(gans.items()):
            s = g["summary"]
            ax = fig.add_subplot(1, len(gans), i + 1)
            ax2 = fig2.add_subplot(1, len(gans), i + 1)
            for opt, curve in s["curves"].items():
                ax.plot(s["eval_steps"], curve, marker="o", label=OPTIMIZERS[opt])
            ax.set(title=exp, xlabel="step", ylabel=s["metric"])
            for r in g["runs"]:
                if r["seed"] == 0:
                    ratio = np.asarray(r["pace"]["pace_ratio"], dtype=np.float64)
                    ax2.semilogy(np.maximum(ratio, 1e-12), lw=0.8, label=OPTIMIZERS[r["optimizer"]])
            ax2.set(title=f"{exp}: d_pace / g_pace", xlabel="logged batch")
            if i == 0:
                ax.legend(fontsize=7)
                ax2.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(os.path.join(out_dir, "gan_metrics.png"), dpi=80)
        plots["gan_metrics.png"] = "GAN metrics over training (mean over seeds)"
        fig2.tight_layout()
        fig2.savefig(os.path.join(out_dir, "gan_pace.png"), dpi=80)
        plots["gan_pace.png"] = "GAN pace ratio (relative step of D over G), first seed"

    for exp, per_opt in samples.items():
        if not per_opt:
            continue
        fig = _fig(3 * len(per_opt), 3.2)
        for i, (opt, x) in enumerate(per_opt.items()):
            ax = fig.add_subplot(1, len(per_opt), i + 1)
            x = np.asarray(x)
            if x.ndim == 2:
                ax.scatter(x[:, 0], x[:, 1], s=2)
                ax.set_aspect("equal")
            else:
                n = int(math.sqrt(min(len(x), 64)))
                tiles = np.nan_to_num(x[: n * n, ..., 0]).reshape(n, n, *x.shape[1:3])
                img = tiles.transpose(0, 2, 1, 3).reshape(n * x.shape[1], n * x.shape[2])
                ax.imshow((img + 1) / 2, cmap="gray", vmin=0, vmax=1)
                ax.axis("off")
            ax.set_title(OPTIMIZERS[opt], fontsize=9)
        fig.tight_layout()
        name = f"samples_{exp}.png"
        fig.savefig(os.path.join(out_dir, name), dpi=80)
        plots[name] = f"Samples per optimizer ({exp}, first seed)"
    return plots

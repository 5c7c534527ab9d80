"""The figures of a `reproduce` report, one function per PNG.

Each ``plot_xxx(results, path)`` reads the JSON-ready results dict of
`reproduce` (the summaries of `keras_graft.experiments.analysis`), writes one
PNG at `path` and returns its caption, or returns None and writes nothing when
the data it needs is absent. `make_plots` calls them all.

The results have been through ``keras_graft._utils.jsonable``: a non-finite number is
None, "inf" or "-inf". Every number read here goes through `_num`, which
makes anything but a finite or infinite float nan, so that a diverged run
leaves a gap in a figure instead of breaking it.

Figures are drawn with `matplotlib.figure.Figure` (no pyplot: no global
state, no GUI backend) at 80 dpi.
"""

from __future__ import annotations

import math
import os
import warnings
from typing import Any, Callable

import numpy as np

from keras_graft._utils import tile_images
from keras_graft.experiments.analysis import COSINE_BINS, PRIMARY

#: Resolution of every figure.
DPI = 80
#: Display names of the optimizer labels.
NAMES = {
    "sgda": "SGDA",
    "nsgda": "nSGDA",
    "nsgda_global": "nSGDA (global)",
    "ada_nsgda": "Ada-nSGDA",
    "adam": "Adam",
    "ada_dir": "AdaDir",
}
#: Fixed colour per optimizer label.
COLORS = {
    "sgda": "tab:gray",
    "nsgda": "tab:blue",
    "nsgda_global": "tab:purple",
    "ada_nsgda": "tab:green",
    "adam": "tab:red",
    "ada_dir": "tab:orange",
}
#: Fixed colour per synthetic outcome, in stacking order.
OUTCOME_COLORS = {
    "recovered": "tab:green",
    "collapsed": "tab:orange",
    "stuck": "tab:gray",
    "diverged": "tab:red",
}
#: Display names of the generator losses.
LOSS_NAMES = {"non_saturating": "non-saturating", "minimax": "minimax"}
_OTHER_COLORS = ("tab:brown", "tab:pink", "tab:olive", "tab:cyan", "black")


class PlotWarning(UserWarning):
    """A figure could not be drawn (`make_plots` skips it and carries on)."""


# -------------------------------------------------------------------- helpers


def _num(x: Any) -> float:
    """A float, nan for None, strings and anything else that is not a number."""
    if isinstance(x, (bool, np.bool_)):
        return float(x)
    if isinstance(x, (int, float, np.integer, np.floating)):
        return float(x)
    return math.nan


def _arr(values: Any) -> np.ndarray:
    """A 1-D float64 array of `values` (through `_num`); empty if not a list."""
    if isinstance(values, np.ndarray):
        values = values.ravel().tolist()
    if not isinstance(values, (list, tuple)):
        return np.zeros(0)
    return np.asarray([_num(v) for v in values], dtype=np.float64)


def _positive(values: np.ndarray) -> np.ndarray:
    """`values` with the non-positive and non-finite entries made nan (log axes)."""
    v = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(v) & (v > 0), v, np.nan)


def _dict(x: Any) -> dict:
    return x if isinstance(x, dict) else {}


def _list(x: Any) -> list:
    return x if isinstance(x, list) else []


def _name(label: str) -> str:
    return NAMES.get(label, str(label))


def _loss_name(loss: str) -> str:
    return LOSS_NAMES.get(loss, str(loss))


def _color(label: str, i: int = 0) -> str:
    return COLORS.get(label, _OTHER_COLORS[i % len(_OTHER_COLORS)])


def _order(labels: Any) -> list[str]:
    """Optimizer labels in the display order of `NAMES`, others after, as given."""
    labels = list(dict.fromkeys(labels))
    return [k for k in NAMES if k in labels] + [k for k in labels if k not in NAMES]


def _fmt_lr(x: float) -> str:
    """A compact learning rate: 0.01 ... 30 plainly, others as 1e-03."""
    if not math.isfinite(x):
        return "?"
    if x == 0 or 1e-2 <= abs(x) < 100:
        return f"{x:g}"
    return f"{x:.0e}"


def _fmt(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}" if math.isfinite(x) else "n/a"


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _save(fig: Any, path: str) -> None:
    fig.savefig(path, dpi=DPI)


def _plain_log_formatter(**kwargs: Any) -> Any:
    """A log-axis tick formatter writing 0.3, 30, 1e-05 instead of 3x10^-1."""
    from matplotlib.ticker import LogFormatterSciNotation

    class _Plain(LogFormatterSciNotation):
        def __call__(self, x: float, pos: Any = None) -> str:
            return f"{x:g}" if super().__call__(x, pos) else ""

    return _Plain(**kwargs)


def _set_log_y(ax: Any, *arrays: np.ndarray) -> None:
    """Log y axis when some value is finite and positive (else matplotlib warns)."""
    if any(np.any(np.isfinite(a) & (a > 0)) for a in arrays if len(a)):
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(_plain_log_formatter())
        ax.yaxis.set_minor_formatter(_plain_log_formatter(labelOnlyBase=False))


def _empty(ax: Any, text: str = "no data") -> None:
    ax.text(
        0.5,
        0.5,
        text,
        ha="center",
        va="center",
        transform=ax.transAxes,
        fontsize=9,
        color="0.4",
    )
    ax.set_xticks([])
    ax.set_yticks([])


def _heatmap(
    ax: Any,
    values: np.ndarray,
    labels: list[list[str]],
    rows: list[str],
    cols: list[str],
    fontsize: float,
) -> Any:
    """An imshow of `values` in [0, 1] (rows bottom-up) with a text per cell."""
    masked = np.ma.masked_invalid(values)
    im = ax.imshow(
        masked, vmin=0.0, vmax=1.0, cmap="viridis", origin="lower", aspect="auto"
    )
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            if labels[i][j]:
                v = values[i, j]
                color = "black" if math.isfinite(v) and v > 0.6 else "white"
                if not math.isfinite(v):
                    color = "black"
                ax.text(
                    j,
                    i,
                    labels[i][j],
                    ha="center",
                    va="center",
                    fontsize=fontsize,
                    color=color,
                )
    ax.set_xticks(
        range(len(cols)), cols, rotation=45 if len(cols) > 4 else 0, fontsize=8
    )
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    return im


def _synthetic(results: dict) -> dict:
    return _dict(_dict(results).get("synthetic"))


def _gans(results: dict) -> dict:
    """The benchmarks with a summary (dicts only)."""
    return {
        k: v
        for k, v in _dict(_dict(results).get("gans")).items()
        if isinstance(v, dict)
    }


def _first_fresh(runs: list, optimizer: str) -> dict | None:
    """The fresh run of `optimizer` with the lowest seed."""
    rs = [
        r
        for r in runs
        if isinstance(r, dict)
        and r.get("optimizer") == optimizer
        and r.get("phase", "fresh") == "fresh"
    ]
    if not rs:
        return None

    def seed(run: dict) -> float:
        value = _num(run.get("seed"))
        return value if math.isfinite(value) else math.inf

    return min(rs, key=seed)


def _batch_steps(run: dict, config: dict, n: int) -> tuple[np.ndarray, str]:
    """Generator steps of a run's `n` logged batches, and the axis label.

    `fit` logs once per execution of ``steps_per_execution`` steps; without
    that setting the index of the logged batch is used.
    """
    spe = _num(_dict(config).get("steps_per_execution"))
    if math.isfinite(spe) and spe >= 1:
        return (np.arange(n) + 1) * spe, "generator step"
    return np.arange(n) + 1.0, "logged batch"


# ------------------------------------------------------------------ synthetic


def plot_synthetic_grid(results: dict, path: str) -> str | None:
    """Success rate over the (lr_G, lr_D) grid, per loss and optimizer.

    Args:
        results (dict): The results of `reproduce`.
        path (str): The PNG to write.

    Returns:
        str | None: The caption (None: no grid, nothing written).
    """
    grid = _dict(_synthetic(results).get("grid"))
    losses = [
        loss
        for loss, per in grid.items()
        if any(_list(_dict(s).get("cells")) for s in _dict(per).values())
    ]
    if not losses:
        return None
    labels = _order(
        label
        for loss in losses
        for label, s in _dict(grid[loss]).items()
        if _list(_dict(s).get("cells"))
    )
    n_lr = max(
        len(
            {
                _num(c.get("lr_g"))
                for c in _list(_dict(s).get("cells"))
                if isinstance(c, dict)
            }
        )
        for loss in losses
        for s in _dict(grid[loss]).values()
    )
    side = max(2.4, 0.32 * n_lr + 1.0)
    fig = _figure(side * len(labels) + 1.0, side * len(losses) + 0.4)
    axes = fig.subplots(len(losses), len(labels), squeeze=False)
    im = None
    fontsize = max(4.0, min(8.0, 40.0 / max(1, n_lr)))
    for r, loss in enumerate(losses):
        for c, label in enumerate(labels):
            ax = axes[r][c]
            cells = [
                x
                for x in _list(_dict(_dict(grid[loss]).get(label)).get("cells"))
                if isinstance(x, dict)
            ]
            cells = [
                x
                for x in cells
                if math.isfinite(_num(x.get("lr_g")))
                and math.isfinite(_num(x.get("lr_d")))
            ]
            title = f"{_name(label)}, {_loss_name(loss)}"
            if not cells:
                _empty(ax, "not run")
                ax.set_title(title, fontsize=9)
                continue
            lr_g = sorted({_num(x["lr_g"]) for x in cells})
            lr_d = sorted({_num(x["lr_d"]) for x in cells})
            values = np.full((len(lr_g), len(lr_d)), np.nan)
            text = [[""] * len(lr_d) for _ in lr_g]
            for x in cells:
                i, j = lr_g.index(_num(x["lr_g"])), lr_d.index(_num(x["lr_d"]))
                k, n = _num(x.get("successes")), _num(x.get("n"))
                rate = _num(x.get("rate"))
                if not math.isfinite(rate) and math.isfinite(k) and n > 0:
                    rate = k / n
                values[i, j] = rate
                known = math.isfinite(k) and math.isfinite(n)
                text[i][j] = f"{int(k)}/{int(n)}" if known else "?"
            im = _heatmap(
                ax,
                values,
                text,
                [_fmt_lr(x) for x in lr_g],
                [_fmt_lr(x) for x in lr_d],
                fontsize,
            )
            ax.set_title(title, fontsize=9)
            if r == len(losses) - 1:
                ax.set_xlabel("lr_D")
            if c == 0:
                ax.set_ylabel("lr_G")
    if im is None:
        return None
    fig.colorbar(
        im,
        ax=axes.ravel().tolist(),
        shrink=0.8,
        label="success rate (all modes recovered)",
    )
    fig.suptitle(
        "Synthetic: share of seeds recovering every mode per (lr_G, lr_D)", fontsize=10
    )
    _save(fig, path)
    return (
        "Synthetic framework: per optimizer (columns) and generator loss (rows), "
        "the share of seeds that recovered every mode in each (lr_G, lr_D) cell "
        "(annotated successes/seeds)."
    )


def plot_synthetic_outcomes(results: dict, path: str) -> str | None:
    """Stacked shares of the run outcomes per optimizer and loss.

    Args:
        results (dict): The results of `reproduce`.
        path (str): The PNG to write.

    Returns:
        str | None: The caption (None: no grid, nothing written).
    """
    grid = _dict(_synthetic(results).get("grid"))
    panels = []
    for loss, per in grid.items():
        rows = []
        for label in _order(_dict(per)):
            counts = {
                o: _num(_dict(_dict(per[label]).get("outcomes")).get(o))
                for o in OUTCOME_COLORS
            }
            counts = {
                o: v if math.isfinite(v) and v > 0 else 0.0 for o, v in counts.items()
            }
            total = sum(counts.values())
            if total > 0:
                shares = {o: v / total for o, v in counts.items()}
                rows.append((label, shares, int(total)))
        if rows:
            panels.append((loss, rows))
    if not panels:
        return None
    n_rows = max(len(rows) for _, rows in panels)
    fig = _figure(4.2 * len(panels), 0.45 * n_rows + 1.6)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (loss, rows) in zip(axes, panels):
        y = np.arange(len(rows))[::-1]
        left = np.zeros(len(rows))
        for outcome, color in OUTCOME_COLORS.items():
            share = np.asarray([shares[outcome] for _, shares, _ in rows])
            ax.barh(y, share, left=left, color=color, label=outcome, height=0.7)
            for yi, li, si in zip(y, left, share):
                if si >= 0.12:
                    color = "white" if outcome != "stuck" else "black"
                    ax.text(
                        li + si / 2,
                        yi,
                        f"{si:.0%}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color=color,
                    )
            left += share
        ax.set_yticks(y, [f"{_name(label)} ({n})" for label, _, n in rows], fontsize=8)
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of runs")
        ax.set_title(f"{_loss_name(loss)} loss", fontsize=9)
    axes[-1].legend(fontsize=7, loc="lower right", framealpha=0.9)
    _save(fig, path)
    return (
        "Synthetic framework: how the runs of the whole grid ended, per optimizer "
        "(runs in brackets) and loss: recovered every mode, collapsed, stuck at "
        "the initial scale, or diverged."
    )


def plot_synthetic_cosines(results: dict, path: str) -> str | None:
    """Distribution of the final cosines per loss, one step line per optimizer.

    Args:
        results (dict): The results of `reproduce`.
        path (str): The PNG to write.

    Returns:
        str | None: The caption (None: no histogram, nothing written).
    """
    grid = _dict(_synthetic(results).get("grid"))
    bins = np.asarray(COSINE_BINS, dtype=np.float64)
    widths = np.diff(bins)
    panels = []
    for loss, per in grid.items():
        lines = []
        for label in _order(_dict(per)):
            h = _arr(_dict(per[label]).get("cosine_hist"))
            h = np.where(np.isfinite(h) & (h > 0), h, 0.0)
            if len(h) != len(widths) or h.sum() <= 0:
                continue
            lines.append((label, h / (h.sum() * widths)))
        if lines:
            panels.append((loss, lines))
    if not panels:
        return None
    fig = _figure(4.2 * len(panels), 3.4)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (loss, lines) in zip(axes, panels):
        for i, (label, density) in enumerate(lines):
            ax.stairs(density, bins, color=_color(label, i), label=_name(label), lw=1.4)
        ax.set_xlim(-1, 1)
        ax.set_xlabel("final cosine of the best generator neuron with a mode")
        ax.set_ylabel("density")
        ax.set_title(f"{_loss_name(loss)} loss", fontsize=9)
        ax.legend(fontsize=7, loc="upper left")
    _save(fig, path)
    return (
        "Synthetic framework: distribution of the final cosines between each mode "
        "and its best-aligned generator neuron, over every run and mode of the "
        "grid (density per optimizer)."
    )


def plot_phase_diagram(results: dict, path: str) -> str | None:
    """Best success rate over (init_std, dim) for SGDA and nSGDA.

    Args:
        results (dict): The results of `reproduce`.
        path (str): The PNG to write.

    Returns:
        str | None: The caption (None: no phase runs, nothing written).
    """
    phase = _dict(_synthetic(results).get("phase"))
    panels = []
    for label in ("sgda", "nsgda"):
        rows = [
            r
            for r in _list(phase.get(label))
            if isinstance(r, dict)
            and math.isfinite(_num(r.get("init_std")))
            and math.isfinite(_num(r.get("dim")))
        ]
        if rows:
            panels.append((label, rows))
    if not panels:
        return None
    inits = sorted({_num(r["init_std"]) for _, rows in panels for r in rows})
    dims = sorted({_num(r["dim"]) for _, rows in panels for r in rows})
    side = max(2.6, 0.5 * max(len(inits), len(dims)) + 1.2)
    fig = _figure(side * len(panels) + 1.0, side + 0.3)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    im = None
    for ax, (label, rows) in zip(axes, panels):
        values = np.full((len(inits), len(dims)), np.nan)
        text = [[""] * len(dims) for _ in inits]
        for r in rows:
            i, j = inits.index(_num(r["init_std"])), dims.index(_num(r["dim"]))
            values[i, j] = _num(r.get("best_rate"))
            text[i][j] = _fmt(values[i, j])
        im = _heatmap(
            ax,
            values,
            text,
            [f"{x:g}" for x in inits],
            [f"{x:g}" for x in dims],
            fontsize=8,
        )
        ax.set(xlabel="dimension d", title=f"{_name(label)}: best cell")
        if ax is axes[0]:
            ax.set_ylabel("initial scale (init_std)")
    fig.colorbar(
        im, ax=list(axes), shrink=0.8, label="success rate of the best (lr_G, lr_D)"
    )
    _save(fig, path)
    return (
        "Phase diagram (non-saturating loss): per initial scale and dimension, the "
        "success rate of the best learning-rate pair of SGDA and of nSGDA."
    )


def plot_pace_mechanism(results: dict, path: str) -> str | None:
    """The two tests of the pace mechanism.

    (a) SGDA: mid-training pace imbalance of failed against successful runs;
    (b) nSGDA: success rate against the forced pace ratio lr_D / lr_G.

    Args:
        results (dict): The results of `reproduce`.
        path (str): The PNG to write.

    Returns:
        str | None: The caption (None: neither test has data, nothing written).
    """
    syn = _synthetic(results)
    prediction = _dict(syn.get("pace_prediction"))
    intervention = _dict(syn.get("pace_intervention"))
    pred = None
    for loss, p in prediction.items():
        p = _dict(p)
        bins = _arr(p.get("hist_bins"))
        fail, succ = _arr(p.get("hist_failure")), _arr(p.get("hist_success"))
        bins_ok = len(bins) >= 2 and np.all(np.isfinite(bins))
        if bins_ok and len(fail) == len(succ) == len(bins) - 1:
            pred = (loss, p, bins, np.nan_to_num(fail), np.nan_to_num(succ))
        break
    lines = []
    for loss, iv in intervention.items():
        rows = [r for r in _list(_dict(iv).get("rows")) if isinstance(r, dict)]
        x = _arr([r.get("log10_ratio") for r in rows])
        keep = np.isfinite(x)
        if keep.any():
            lines.append(
                (
                    loss,
                    x[keep],
                    _arr([r.get("rate") for r in rows])[keep],
                    _arr([r.get("lower") for r in rows])[keep],
                    _arr([r.get("upper") for r in rows])[keep],
                )
            )
    if pred is None and not lines:
        return None
    n = int(pred is not None) + int(bool(lines))
    fig = _figure(4.6 * n, 3.6)
    axes = list(fig.subplots(1, n, squeeze=False)[0])
    parts = []
    if pred is not None:
        ax = axes.pop(0)
        loss, p, bins, fail, succ = pred
        for h, name, color in (
            (fail, "failed", "tab:red"),
            (succ, "recovered", "tab:green"),
        ):
            total = h.sum()
            share = h / total if total > 0 else h
            ax.stairs(
                share, bins, color=color, lw=1.5, label=f"{name} ({int(total)} runs)"
            )
        auc, lo, hi = _num(p.get("auc")), _num(p.get("lower")), _num(p.get("upper"))
        ax.set(
            xlabel="mid-training |log10 pace ratio D/G| (last bin: >= its edge)",
            ylabel="share of runs",
            title=f"(a) SGDA, {_loss_name(loss)}: AUC {_fmt(auc)} "
            f"[{_fmt(lo)}, {_fmt(hi)}]",
        )
        ax.title.set_fontsize(9)
        ax.legend(fontsize=7)
        parts.append(
            "(a) SGDA: how far from 1 the D/G pace ratio is in the middle of "
            "training, for failed and successful runs (AUC of the separation "
            "with its 95% bootstrap interval)"
        )
    if lines:
        ax = axes.pop(0)
        for i, (loss, x, rate, lo, hi) in enumerate(lines):
            order = np.argsort(x)
            x, rate, lo, hi = x[order], rate[order], lo[order], hi[order]
            below, above = rate - lo, hi - rate
            err = np.vstack(
                [
                    np.where(np.isfinite(below), np.maximum(below, 0), 0),
                    np.where(np.isfinite(above), np.maximum(above, 0), 0),
                ]
            )
            offset = 0.03 * (i - (len(lines) - 1) / 2)
            ax.errorbar(
                x + offset,
                rate,
                yerr=err,
                marker="o",
                capsize=3,
                ms=4,
                lw=1.2,
                label=_loss_name(loss),
            )
        ax.axvline(0.0, color="0.6", lw=0.8, ls=":")
        ax.set(
            xlabel="log10(lr_D / lr_G)",
            ylabel="success rate",
            ylim=(-0.05, 1.05),
            title="(b) nSGDA: success against the forced pace ratio",
        )
        ax.title.set_fontsize(9)
        ax.legend(fontsize=7)
        parts.append(
            "(b) nSGDA, whose pace ratio is set by lr_D / lr_G: success rate "
            "(95% Clopper-Pearson interval) against that ratio"
        )
    _save(fig, path)
    return "Pace mechanism. " + "; ".join(parts) + "."


def plot_pace_examples(results: dict, path: str) -> str | None:
    """D and G step norms and their ratio over training for the example runs.

    Args:
        results (dict): The results of `reproduce`.
        path (str): The PNG to write.

    Returns:
        str | None: The caption (None: no examples, nothing written).
    """
    syn = _synthetic(results)
    examples = [
        e
        for e in _list(syn.get("examples"))
        if isinstance(e, dict)
        and (len(_arr(e.get("d_step"))) or len(_arr(e.get("g_step"))))
    ]
    if not examples:
        return None
    every = _num(syn.get("log_every"))
    every = every if math.isfinite(every) and every > 0 else 1.0
    fig = _figure(12.0, 3.6)
    axes = fig.subplots(1, 3)
    styles = ("-", "--", ":", "-.")
    seen: dict[str, int] = {}
    for i, e in enumerate(examples):
        label = str(e.get("label"))
        k = seen[label] = seen.get(label, -1) + 1
        rates = f"{_fmt_lr(_num(e.get('lr_g')))}/{_fmt_lr(_num(e.get('lr_d')))}"
        name = f"{_name(label)} {rates} ({e.get('outcome')})"
        style = dict(color=_color(label, i), ls=styles[k % len(styles)], lw=1.3)
        for ax, key in zip(axes, ("d_step", "g_step", "pace_ratio")):
            v = _arr(e.get(key))
            ax.plot((np.arange(len(v)) + 1) * every, _positive(v), label=name, **style)
    axes[2].axhline(1.0, color="0.6", lw=0.8, ls=":")
    titles = (
        "D step norm (mean per step)",
        "G step norm (mean per step)",
        "pace ratio D / G",
    )
    for ax, title in zip(axes, titles):
        lines = [
            np.asarray(line.get_ydata(), dtype=np.float64)
            for line in ax.get_lines()
            if line.get_label() and not line.get_label().startswith("_")
        ]
        _set_log_y(ax, *lines)
        ax.set(xlabel="step", title=title)
        ax.title.set_fontsize(9)
    axes[2].legend(fontsize=7)
    _save(fig, path)
    return (
        "Synthetic framework, example runs (lr_G/lr_D, outcome): mean per-step "
        "update norm of D and of G in each logging window, and their ratio."
    )


# ----------------------------------------------------------------------- GANs


def plot_gan_metrics(results: dict, path: str) -> str | None:
    """The primary metric of each benchmark over training, per optimizer.

    Args:
        results (dict): The results of `reproduce`.
        path (str): The PNG to write.

    Returns:
        str | None: The caption (None: no benchmark, nothing written).
    """
    panels = []
    for exp, g in _gans(results).items():
        s = _dict(g.get("summary"))
        steps = _arr(s.get("eval_steps"))
        opts = _dict(s.get("optimizers"))
        curves = []
        for i, opt in enumerate(_order(opts)):
            y = _arr(_dict(opts[opt]).get("curve"))
            n = min(len(y), len(steps))
            if n:
                lr = _num(_dict(opts[opt]).get("lr"))
                curves.append((opt, i, lr, steps[:n], y[:n]))
        if curves:
            metric = s.get("metric") or PRIMARY.get(exp, ("metric",))[0]
            panels.append((exp, str(metric), curves))
    if not panels:
        return None
    fig = _figure(4.2 * len(panels), 3.6)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (exp, metric, curves) in zip(axes, panels):
        for opt, i, lr, x, y in curves:
            ax.plot(
                x,
                y,
                marker="o",
                ms=3,
                color=_color(opt, i),
                label=f"{_name(opt)} (lr {_fmt_lr(lr)})",
            )
        if metric in ("fd", "fid"):
            _set_log_y(ax, *[y for *_, y in curves])
        ax.set(xlabel="generator step", ylabel=metric, title=exp)
        ax.legend(fontsize=7)
    _save(fig, path)
    return (
        "GAN benchmarks: the primary metric over training, mean over the fresh "
        "seeds that did not diverge, per optimizer at its chosen learning rate."
    )


def plot_gan_pace(results: dict, path: str) -> str | None:
    """The D/G pace ratio over training of each optimizer's first fresh seed.

    Args:
        results (dict): The results of `reproduce`.
        path (str): The PNG to write.

    Returns:
        str | None: The caption (None: no logged pace, nothing written).
    """
    panels = []
    for exp, g in _gans(results).items():
        runs = _list(g.get("runs"))
        lines = []
        optimizers = _order(r.get("optimizer") for r in runs if isinstance(r, dict))
        for i, opt in enumerate(optimizers):
            run = _first_fresh(runs, opt)
            if run is None:
                continue
            y = _positive(_arr(_dict(run.get("pace")).get("pace_ratio")))
            if np.isfinite(y).any():
                x, xlabel = _batch_steps(run, g.get("config"), len(y))
                lines.append((opt, i, run.get("seed"), x, y, xlabel))
        if lines:
            panels.append((exp, lines))
    if not panels:
        return None
    fig = _figure(4.2 * len(panels), 3.6)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (exp, lines) in zip(axes, panels):
        for opt, i, seed, x, y, xlabel in lines:
            ax.plot(x, y, color=_color(opt, i), lw=0.9, label=_name(opt))
        _set_log_y(ax, *[y for *_, y, _ in lines])
        ax.axhline(1.0, color="0.6", lw=0.8, ls=":")
        ax.set(xlabel=lines[0][5], ylabel="pace ratio D / G", title=exp)
        ax.legend(fontsize=7)
    _save(fig, path)
    return (
        "GAN benchmarks: pace ratio (relative step of D over that of G) over "
        "training, first fresh seed of each optimizer."
    )


def plot_gan_gradients(results: dict, path: str) -> str | None:
    """Adam's gradient norms against its FD curve (the paper's Section 2).

    Digits if it ran, else the first benchmark; Adam's first fresh seed. Runs
    saved before the gradient norms were logged are skipped.

    Args:
        results (dict): The results of `reproduce`.
        path (str): The PNG to write.

    Returns:
        str | None: The caption (None: no Adam run with gradient norms,
        nothing written).
    """
    gans = _gans(results)
    if not gans:
        return None
    exp = "digits" if "digits" in gans else next(iter(gans))
    g = gans[exp]
    run = _first_fresh(_list(g.get("runs")), "adam")
    if run is None:
        return None
    pace = _dict(run.get("pace"))
    d_norm = _positive(_arr(pace.get("d_grad_norm")))
    g_norm = _positive(_arr(pace.get("g_grad_norm")))
    if not (np.isfinite(d_norm).any() or np.isfinite(g_norm).any()):
        return None
    summary = _dict(g.get("summary"))
    metric = str(summary.get("metric") or PRIMARY.get(exp, ("fd",))[0])
    steps = _arr(run.get("eval_steps"))
    evals = [_dict(e) for e in _list(run.get("evals"))]
    values = _arr([e.get(metric) for e in evals])
    n = min(len(steps), len(values))
    fig = _figure(6.4, 3.8)
    ax = fig.subplots()
    xlabel = "logged batch"
    for y, name, color in (
        (d_norm, "D gradient norm", "tab:blue"),
        (g_norm, "G gradient norm", "tab:orange"),
    ):
        if np.isfinite(y).any():
            x, xlabel = _batch_steps(run, g.get("config"), len(y))
            ax.plot(x, y, color=color, lw=0.9, label=name)
    _set_log_y(ax, d_norm, g_norm)
    ax.set(xlabel=xlabel, ylabel="gradient norm (global L2)")
    handles, labels = ax.get_legend_handles_labels()
    if n:
        twin = ax.twinx()
        (line,) = twin.plot(
            steps[:n], values[:n], color="black", marker="o", ms=4, lw=1.5, label=metric
        )
        if metric in ("fd", "fid"):
            _set_log_y(twin, values[:n])
        twin.set_ylabel(metric)
        handles.append(line)
        labels.append(metric)
    ax.legend(handles, labels, fontsize=7, loc="upper right")
    ax.set_title(f"{exp}: Adam, seed {run.get('seed')}", fontsize=9)
    _save(fig, path)
    return (
        f"{exp}, Adam (first fresh seed): the gradient norms of D and G over "
        f"training (left axis) and {metric} at each evaluation (right axis). The "
        "paper's Section 2 observation is that the gradient norms stay away from "
        f"zero while {metric} improves, so training does not converge to a "
        "stationary point."
    )


def plot_samples(
    samples: dict, experiment: str, path: str, centers: np.ndarray | None = None
) -> str | None:
    """Generated samples of each optimizer: a scatter (2-D) or an 8x8 tile grid.

    Args:
        samples (dict): Per optimizer, the samples of the first fresh seed
            ((N, 2) points or (N, H, W, C) images in [-1, 1]; may hold NaN).
        experiment (str): The benchmark.
        path (str): The PNG to write.
        centers (np.ndarray | None): Mode centres of a planar mixture, (K, 2),
            marked on each scatter (and framing it).

    Returns:
        str | None: The caption (None: no samples, nothing written).
    """
    per = {}
    for opt, x in _dict(samples).items():
        if x is None:
            continue
        try:
            x = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError):
            continue
        if x.size and (x.ndim == 2 and x.shape[1] == 2 or x.ndim in (3, 4)):
            per[opt] = x
    if not per:
        return None
    opts = _order(per)
    fig = _figure(2.8 * len(opts), 3.0)
    axes = fig.subplots(1, len(opts), squeeze=False)[0]
    lim = _scatter_limit(per, centers)
    for i, (ax, opt) in enumerate(zip(axes, opts)):
        x = per[opt]
        bad = int(np.sum(~np.all(np.isfinite(x.reshape(len(x), -1)), axis=1)))
        notes = [f"{bad} non-finite"] if bad else []
        if x.ndim == 2:
            ok = x[np.all(np.isfinite(x), axis=1)]
            if len(ok):
                ax.scatter(
                    ok[:, 0],
                    ok[:, 1],
                    s=2,
                    alpha=0.5,
                    color=_color(opt, i),
                    rasterized=True,
                )
                off = int(np.sum(np.any(np.abs(ok) > lim, axis=1)))
                if off:
                    notes.append(f"{off} off-plot")
            else:
                _empty(ax, "no finite samples")
            if centers is not None:
                ax.plot(centers[:, 0], centers[:, 1], "k+", ms=7, mew=1.2)
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.set_aspect("equal", adjustable="box")
            ax.tick_params(labelsize=7)
        else:
            img = _tiles(x)
            if img.shape[-1] == 1:
                ax.imshow(img[..., 0], cmap="gray", vmin=0.0, vmax=1.0)
            else:
                ax.imshow(img)
            ax.set_xticks([])
            ax.set_yticks([])
        remarks = f" ({', '.join(notes)})" if notes else ""
        ax.set_title(_name(opt) + remarks, fontsize=9)
    _save(fig, path)
    if next(iter(per.values())).ndim == 2:
        marks = " (+: the mixture's modes)" if centers is not None else ""
        return (
            f"{experiment}: generated points of the first fresh seed of each "
            f"optimizer{marks}."
        )
    return f"{experiment}: generated images of the first fresh seed of each optimizer."


def _scatter_limit(per: dict, centers: np.ndarray | None) -> float:
    """Half-width of the square frame of the scatters: the modes, else the points."""
    if centers is not None and np.isfinite(centers).all() and len(centers):
        return float(np.abs(centers).max()) * 1.4 + 0.1
    pts = [x[np.all(np.isfinite(x), axis=1)] for x in per.values() if x.ndim == 2]
    pts = np.concatenate(pts) if pts else np.zeros((0, 2))
    if not len(pts):
        return 1.0
    return max(float(np.quantile(np.abs(pts), 0.99)) * 1.1, 1e-3)


def _mixture_centers(experiment: str, config: Any) -> np.ndarray | None:
    """Mode centres of a planar-mixture benchmark (None for the others)."""
    if experiment not in ("ring", "grid"):
        return None
    from keras_graft.datasets import GaussianMixture2D

    std = _num(_dict(config).get("mixture_std"))
    std = std if math.isfinite(std) and std > 0 else 0.05
    mix = (
        GaussianMixture2D.ring(std=std)
        if experiment == "ring"
        else GaussianMixture2D.grid(std=std)
    )
    return np.asarray(mix.centers, dtype=np.float64)


def _tiles(x: np.ndarray, n: int = 8) -> np.ndarray:
    """An n x n tile image in [0, 1] of the first n*n images (NaN shown black)."""
    if x.ndim == 3:
        x = x[..., None]
    x = np.nan_to_num(x[: n * n], nan=-1.0, posinf=1.0, neginf=-1.0)
    x = np.clip((x + 1) / 2, 0, 1)
    if x.shape[-1] not in (1, 3):
        x = x[..., :1]
    return tile_images(x, ncols=n, nrows=n)


# ------------------------------------------------------------------ all plots

#: The figures drawn from `results`, in report order: file name, function.
FIGURES: tuple[tuple[str, Callable[[dict, str], str | None]], ...] = (
    ("synthetic_grid.png", plot_synthetic_grid),
    ("synthetic_outcomes.png", plot_synthetic_outcomes),
    ("synthetic_cosines.png", plot_synthetic_cosines),
    ("phase_diagram.png", plot_phase_diagram),
    ("pace_mechanism.png", plot_pace_mechanism),
    ("pace_examples.png", plot_pace_examples),
    ("gan_metrics.png", plot_gan_metrics),
    ("gan_pace.png", plot_gan_pace),
    ("gan_gradients.png", plot_gan_gradients),
)


def _draw(name: str, out_dir: str, draw: Callable[[str], str | None]) -> str | None:
    """Draws one figure; a failure warns (`PlotWarning`) and leaves no file."""
    path = os.path.join(out_dir, name)
    try:
        caption = draw(path)
    except Exception as e:  # one broken figure must not lose a report
        warnings.warn(f"plot {name} failed: {e!r}", PlotWarning, stacklevel=3)
        caption = None
    if caption is None:
        if os.path.exists(path):
            os.remove(path)
        return None
    return caption if os.path.exists(path) else None


def make_plots(
    results: dict, samples: dict | None, out_dir: str | os.PathLike
) -> dict[str, str]:
    """Write every figure of a report whose data is present.

    A figure that fails to draw is skipped with a `PlotWarning`.

    Args:
        results (dict): The JSON-ready results of `reproduce` (``synthetic``,
            ``gans``).
        samples (dict | None): Per benchmark, per optimizer, the generated
            samples of the first fresh seed (numpy).
        out_dir (str | os.PathLike): Destination folder (exists).

    Returns:
        dict[str, str]: PNG file name to caption, for the files written, in
        report order.
    """
    out_dir = os.fspath(out_dir)
    plots: dict[str, str] = {}
    for name, fn in FIGURES:
        caption = _draw(name, out_dir, lambda path, fn=fn: fn(results, path))
        if caption is not None:
            plots[name] = caption
    for exp, per in _dict(samples).items():
        name = f"samples_{exp}.png"

        def draw(path: str, exp: str = exp, per: Any = per) -> str | None:
            config = _dict(_gans(results).get(exp)).get("config")
            return plot_samples(per, exp, path, _mixture_centers(exp, config))

        caption = _draw(name, out_dir, draw)
        if caption is not None:
            plots[name] = caption
    return plots


__all__ = [
    "COLORS",
    "FIGURES",
    "NAMES",
    "OUTCOME_COLORS",
    "PlotWarning",
    "make_plots",
    "plot_gan_gradients",
    "plot_gan_metrics",
    "plot_gan_pace",
    "plot_pace_examples",
    "plot_pace_mechanism",
    "plot_phase_diagram",
    "plot_samples",
    "plot_synthetic_cosines",
    "plot_synthetic_grid",
    "plot_synthetic_outcomes",
]

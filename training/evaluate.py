"""Evaluation of lead scores: discrimination, calibration, cutoffs, segments, plots.

A lead score is only useful at the handoff if it is *calibrated* (a 0.3 means three in ten become
opportunities, so sales can plan capacity) and if the named cutoffs select what they promise.
Ranking metrics alone (AUC) say nothing about either, so this module reports calibration (ECE with
equal-mass bins, reliability tables with Wilson intervals), the cutoffs' precision/recall/lift and
the same per segment, where a model that is calibrated on average can still be off for one source.

Computation is pure (arrays in, numbers or DataFrames out); sklearn's metrics are used wherever
they exist, with sample weights passed through. Plotting functions take a path and write a PNG.
Inputs are aligned by position, never by a pandas index.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    roc_auc_score,
    roc_curve,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

LOG_LOSS_EPS = 1e-6
WILSON_Z = NormalDist().inv_cdf(0.975)  # two-sided 95 %
OTHER = "(other)"
MISSING = "(missing)"
HIGHER_IS_BETTER = frozenset({"roc_auc", "pr_auc"})
RELIABILITY_COLUMNS = ["bin", "n", "weight", "mean_pred", "observed", "lo", "hi"]


# --------------------------------------------------------------------------- validation


def _as_1d(values: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (got shape {arr.shape})")
    return arr


def _check_length(arr: np.ndarray, name: str, n: int) -> None:
    if len(arr) != n:
        raise ValueError(f"{name} has {len(arr)} rows but y has {n}")


def _validate(
    y: ArrayLike, p: ArrayLike, weights: ArrayLike | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check y (0/1), p (probabilities) and weights once, so every metric fails the same way.

    Returns y as int, p as float and weights as float (ones when not given).
    """
    y_arr = _as_1d(y, "y")
    n = len(y_arr)
    if n == 0:
        raise ValueError("y is empty")
    p_arr = _as_1d(p, "p")
    _check_length(p_arr, "p", n)
    try:
        y_float = y_arr.astype(float)
    except (TypeError, ValueError):
        raise ValueError("y must contain only 0 and 1") from None
    if not np.isin(y_float, (0.0, 1.0)).all():
        raise ValueError("y must contain only 0 and 1")
    p_float = p_arr.astype(float)
    if not ((p_float >= 0.0) & (p_float <= 1.0)).all():  # also rejects NaN
        raise ValueError("p must be probabilities in [0, 1] (found values outside or NaN)")
    if weights is None:
        w = np.ones(n)
    else:
        w = _as_1d(weights, "weights").astype(float)
        _check_length(w, "weights", n)
        if not np.isfinite(w).all() or (w < 0).any():
            raise ValueError("weights must be finite and non-negative")
        if w.sum() <= 0:
            raise ValueError("weights must have a positive sum")
    return y_float.astype(int), p_float, w


def _check_bins(bins: int) -> None:
    if int(bins) != bins or bins < 1:
        raise ValueError(f"bins must be a positive integer (got {bins!r})")


def _wmean(values: np.ndarray, w: np.ndarray) -> float:
    total = w.sum()
    return float(np.dot(values, w) / total) if total > 0 else math.nan


# --------------------------------------------------------------------------- calibration


def _equal_mass_bins(p: np.ndarray, w: np.ndarray, bins: int) -> np.ndarray:
    """Bin index per row: rows sorted by p (stable), cut into `bins` groups of equal weight.

    A row goes to the bin holding the midpoint of its weight mass, so weights of 2 everywhere give
    exactly the unweighted bins, and n divisible by `bins` gives groups of n / bins rows. Tied
    predictions at a boundary are split by input order (stable sort): deterministic for a given
    input.
    """
    order = np.argsort(p, kind="stable")
    w_sorted = w[order]
    mid = np.cumsum(w_sorted) - w_sorted / 2.0
    sorted_bin = np.minimum((mid * bins / w_sorted.sum()).astype(int), bins - 1)
    out = np.empty(len(p), dtype=int)
    out[order] = sorted_bin
    return out


def _bin_stats(y: np.ndarray, p: np.ndarray, w: np.ndarray, bins: int) -> pd.DataFrame:
    idx = _equal_mass_bins(p, w, bins)
    frame = pd.DataFrame({"bin": idx, "w": w, "wp": w * p, "wy": w * y, "one": 1})
    g = frame.groupby("bin", sort=True).sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_pred = g["wp"] / g["w"]
        observed = g["wy"] / g["w"]
    return pd.DataFrame(
        {
            "bin": g.index.to_numpy(dtype=int),
            "n": g["one"].to_numpy(dtype=int),
            "weight": g["w"].to_numpy(dtype=float),
            "mean_pred": mean_pred.to_numpy(dtype=float),
            "observed": observed.to_numpy(dtype=float),
        }
    )


def ece_equal_mass(
    y: ArrayLike, p: ArrayLike, *, bins: int = 10, weights: ArrayLike | None = None
) -> float:
    """Expected calibration error over equal-mass (quantile) bins of p.

    Equal-mass rather than equal-width bins because lead scores crowd near low probabilities:
    equal-width bins would leave the top bins almost empty and noisy, and the crowded bottom bin
    would hide miscalibration. ECE = sum_b (w_b / W) * |mean_p_b - observed_b|.
    """
    _check_bins(bins)
    y_arr, p_arr, w = _validate(y, p, weights)
    stats = _bin_stats(y_arr, p_arr, w, bins)
    stats = stats[stats["weight"] > 0]
    gap = (stats["mean_pred"] - stats["observed"]).abs()
    return float((stats["weight"] * gap).sum() / stats["weight"].sum())


def wilson_interval(rate: float, n: float, *, z: float = WILSON_Z) -> tuple[float, float]:
    """Wilson score interval for a rate observed on n rows.

    Wilson rather than the normal approximation because bins and segments can have rates near 0
    or 1, where rate ± z·se leaves [0, 1] or collapses to zero width.
    """
    if n <= 0 or math.isnan(rate):
        return math.nan, math.nan
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (rate + z2 / (2.0 * n)) / denom
    half = z / denom * math.sqrt(rate * (1.0 - rate) / n + z2 / (4.0 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def reliability_table(
    y: ArrayLike, p: ArrayLike, *, bins: int = 10, weights: ArrayLike | None = None
) -> pd.DataFrame:
    """Predicted vs observed rate per equal-mass bin, with a 95 % Wilson interval on the observed.

    The interval uses the row count n (not the weight sum) so that weights which only rescale
    (e.g. all 2) do not pretend to more evidence than there is. Empty bins (fewer rows than
    bins) are left out.
    """
    _check_bins(bins)
    y_arr, p_arr, w = _validate(y, p, weights)
    table = _bin_stats(y_arr, p_arr, w, bins)
    bounds = [wilson_interval(r, n) for r, n in zip(table["observed"], table["n"])]
    table["lo"] = [b[0] for b in bounds]
    table["hi"] = [b[1] for b in bounds]
    return table[RELIABILITY_COLUMNS].reset_index(drop=True)


# --------------------------------------------------------------------------- metrics


def classification_metrics(
    y: ArrayLike, p: ArrayLike, *, weights: ArrayLike | None = None, bins: int = 10
) -> dict[str, float]:
    """Discrimination and calibration in one dict, the row a model comparison needs.

    With one class only (a small segment or a quiet month), roc_auc and pr_auc are NaN rather than
    an exception, so a report over many slices does not die on one of them. n and positives are
    row counts; base_rate and all scores are weighted.
    """
    y_arr, p_arr, w = _validate(y, p, weights)
    two_classes = 0 < y_arr.sum() < len(y_arr)
    return {
        "roc_auc": float(roc_auc_score(y_arr, p_arr, sample_weight=w)) if two_classes else math.nan,
        "pr_auc": (
            float(average_precision_score(y_arr, p_arr, sample_weight=w))
            if two_classes
            else math.nan
        ),
        "brier": float(brier_score_loss(y_arr, p_arr, sample_weight=w, pos_label=1)),
        "log_loss": float(
            log_loss(
                y_arr,
                np.clip(p_arr, LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS),
                sample_weight=w,
                labels=[0, 1],
            )
        ),
        "ece": ece_equal_mass(y_arr, p_arr, bins=bins, weights=w),
        "n": float(len(y_arr)),
        "positives": float(y_arr.sum()),
        "base_rate": _wmean(y_arr, w),
    }


def cutoff_metrics(
    y: ArrayLike,
    p: ArrayLike,
    score: ArrayLike,
    cutoffs: Mapping[str, float],
    *,
    weights: ArrayLike | None = None,
) -> pd.DataFrame:
    """What each named cutoff on the score (selected = score >= cutoff) hands over, and how well.

    The cutoffs are what sales experiences, so this checks them directly: share of leads selected,
    observed precision vs the model's expected precision (mean p) among them, recall and lift over
    the base rate. An empty selection gives NaN precision/lift/expected_precision and recall 0.
    All shares and rates are weighted.
    """
    y_arr, p_arr, w = _validate(y, p, weights)
    s = _as_1d(score, "score").astype(float)
    _check_length(s, "score", len(y_arr))
    if not np.isfinite(s).all():
        raise ValueError("score has missing or infinite values")
    total_w = w.sum()
    pos_w = float(np.dot(w, y_arr))
    base_rate = pos_w / total_w
    rows: list[dict[str, Any]] = []
    for name, cutoff in cutoffs.items():
        selected = s >= cutoff
        w_sel = w[selected]
        sel_w = float(w_sel.sum())
        precision = _wmean(y_arr[selected], w_sel)
        rows.append(
            {
                "cutoff_name": name,
                "cutoff": float(cutoff),
                "share_selected": sel_w / total_w,
                "precision": precision,
                "recall": float(np.dot(w_sel, y_arr[selected])) / pos_w if pos_w > 0 else math.nan,
                "lift": precision / base_rate if base_rate > 0 else math.nan,
                "expected_precision": _wmean(p_arr[selected], w_sel),
            }
        )
    columns = [
        "cutoff_name",
        "cutoff",
        "share_selected",
        "precision",
        "recall",
        "lift",
        "expected_precision",
    ]
    return pd.DataFrame(rows, columns=columns)


def _segment_groups(column: pd.Series, min_n: int) -> list[tuple[Any, np.ndarray]]:
    """(value, row mask) per value with >= min_n rows, then "(other)" for the rest if big enough.

    Missing values form their own "(missing)" value instead of silently vanishing. Values are
    ordered by row count (descending), then by their text, so the output is deterministic.
    """
    values = column.astype(object).where(column.notna(), MISSING).to_numpy()
    counts = pd.Series(values).value_counts(sort=False)
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
    groups: list[tuple[Any, np.ndarray]] = []
    small: list[Any] = []
    for value, count in ordered:
        if count >= min_n:
            groups.append((value, values == value))
        else:
            small.append(value)
    if small:
        mask = pd.Series(values).isin(small).to_numpy()
        if mask.sum() >= min_n:
            groups.append((OTHER, mask))
    return groups


def segment_metrics(
    y: ArrayLike,
    p: ArrayLike,
    segments: pd.DataFrame,
    *,
    min_n: int = 50,
    weights: ArrayLike | None = None,
    bins: int = 10,
) -> pd.DataFrame:
    """Discrimination and calibration per value of each segment column (source, band, team...).

    A model can be calibrated overall and still over-promise for one source or team, which is
    what makes a handoff unfair; this finds those slices. Values with fewer than min_n rows are
    pooled as "(other)" (kept only if the pool reaches min_n), because metrics on a handful of
    leads are noise. Rows of `segments` are matched to y by position.
    """
    y_arr, p_arr, w = _validate(y, p, weights)
    if len(segments) != len(y_arr):
        raise ValueError(f"segments has {len(segments)} rows but y has {len(y_arr)}")
    if min_n < 1:
        raise ValueError(f"min_n must be at least 1 (got {min_n})")
    rows: list[dict[str, Any]] = []
    for col in segments.columns:
        for value, mask in _segment_groups(segments[col].reset_index(drop=True), min_n):
            ys, ps, ws = y_arr[mask], p_arr[mask], w[mask]
            if ws.sum() <= 0:
                continue
            two_classes = 0 < ys.sum() < len(ys)
            rows.append(
                {
                    "segment": str(col),
                    "value": value,
                    "n": int(mask.sum()),
                    "positives": int(ys.sum()),
                    "roc_auc": (
                        float(roc_auc_score(ys, ps, sample_weight=ws)) if two_classes else math.nan
                    ),
                    "ece": ece_equal_mass(ys, ps, bins=bins, weights=ws),
                    "mean_pred": _wmean(ps, ws),
                    "observed": _wmean(ys, ws),
                }
            )
    columns = ["segment", "value", "n", "positives", "roc_auc", "ece", "mean_pred", "observed"]
    return pd.DataFrame(rows, columns=columns)


def lift_curve(y: ArrayLike, p: ArrayLike, *, points: int = 20) -> pd.DataFrame:
    """Lift and cumulative recall when sales works the top share of leads by p.

    Answers "if reps only call the top 20 %, how many of the opportunities do they reach?".
    Share k/points selects the top ceil(k * n / points) rows; ties in p keep input order (stable
    sort), so the curve is deterministic. Unweighted. With no positives, lift and recall are NaN.
    """
    if int(points) != points or points < 1:
        raise ValueError(f"points must be a positive integer (got {points!r})")
    y_arr, p_arr, _ = _validate(y, p)
    n = len(y_arr)
    order = np.argsort(-p_arr, kind="stable")
    cum_pos = np.cumsum(y_arr[order])
    total_pos = int(cum_pos[-1])
    base_rate = total_pos / n
    ks = np.array([-(-i * n // points) for i in range(1, points + 1)])  # ceil without floats
    top_pos = cum_pos[ks - 1]
    if total_pos == 0:
        lift = np.full(points, math.nan)
        recall = np.full(points, math.nan)
    else:
        lift = (top_pos / ks) / base_rate
        recall = top_pos / total_pos
    return pd.DataFrame(
        {"share": np.arange(1, points + 1) / points, "lift": lift, "cumulative_recall": recall}
    )


# --------------------------------------------------------------------------- comparison


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.4f}"


def compare_table(
    results: Mapping[str, Mapping[str, float]],
    *,
    keys: Sequence[str] = ("roc_auc", "pr_auc", "brier", "log_loss", "ece"),
) -> str:
    """Markdown table of models × metrics with the best value of each column in bold.

    Best is the maximum for roc_auc/pr_auc and the minimum otherwise. Values are compared as
    shown (4 decimals), so models that tie on the page are all bold; missing or NaN values show
    as "n/a" and never win.
    """
    if not results:
        raise ValueError("results is empty")
    shown = {m: {k: _fmt(r.get(k)) for k in keys} for m, r in results.items()}
    best: dict[str, str | None] = {}
    for k in keys:
        vals = [float(s[k]) for s in shown.values() if s[k] != "n/a"]
        if not vals:
            best[k] = None
            continue
        best[k] = _fmt(max(vals) if k in HIGHER_IS_BETTER else min(vals))
    lines = [
        "| model | " + " | ".join(keys) + " |",
        "|---|" + "---:|" * len(keys),
    ]
    for model, cells in shown.items():
        label = str(model).replace("|", "\\|")  # a "|" in a name would split the row
        row = [f"**{cells[k]}**" if cells[k] == best[k] else cells[k] for k in keys]
        lines.append(f"| {label} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- plots


def _new_figure(figsize: tuple[float, float]) -> Figure:
    """A figure bound to the Agg canvas: no pyplot, no global backend switch, safe in servers."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=110)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: str | Path) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png")
    return out


def plot_reliability(tables: Mapping[str, pd.DataFrame], path: str | Path, *, title: str) -> Path:
    """Reliability diagram (one line per model, Wilson error bars) with bin counts underneath.

    The counts panel shows where the predictions sit, so a large gap in a near-empty region is
    not mistaken for a problem where the leads are.
    """
    fig = _new_figure((6.4, 6.4))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfect")
    for i, (name, table) in enumerate(tables.items()):
        color = f"C{i}"
        yerr = np.vstack(
            [
                (table["observed"] - table["lo"]).clip(lower=0).to_numpy(),
                (table["hi"] - table["observed"]).clip(lower=0).to_numpy(),
            ]
        )
        top.errorbar(
            table["mean_pred"],
            table["observed"],
            yerr=yerr,
            marker="o",
            markersize=4,
            capsize=3,
            color=color,
            label=name,
        )
        bottom.bar(table["mean_pred"], table["n"], width=0.015, alpha=0.6, color=color)
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.set_ylabel("observed rate (95 % Wilson)")
    top.set_title(title)
    top.legend(loc="upper left", fontsize="small")
    top.grid(alpha=0.3)
    bottom.set_xlabel("mean predicted probability (equal-mass bins)")
    bottom.set_ylabel("rows")
    bottom.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def plot_roc(
    curves: Mapping[str, tuple[ArrayLike, ArrayLike]], path: str | Path, *, title: str
) -> Path:
    """ROC curves per model from (y, p) pairs, AUC in the legend."""
    fig = _new_figure((6.4, 5.6))
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="chance")
    for name, (y, p) in curves.items():
        y_arr, p_arr, _ = _validate(y, p)
        if not 0 < y_arr.sum() < len(y_arr):
            raise ValueError(f"{name}: y has one class only, the ROC curve is undefined")
        fpr, tpr, _ = roc_curve(y_arr, p_arr)
        auc = roc_auc_score(y_arr, p_arr)
        ax.plot(fpr, tpr, linewidth=1.5, label=f"{name} (AUC {auc:.3f})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize="small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def plot_lift(curves: Mapping[str, pd.DataFrame], path: str | Path, *, title: str) -> Path:
    """Lift (left) and cumulative recall (right) against the top share worked, per model."""
    fig = _new_figure((10, 4.4))
    ax_lift, ax_recall = fig.subplots(1, 2)
    ax_lift.axhline(1.0, linestyle="--", color="grey", linewidth=1, label="random")
    ax_recall.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="random")
    for name, curve in curves.items():
        ax_lift.plot(curve["share"], curve["lift"], marker="o", markersize=3, label=name)
        ax_recall.plot(
            curve["share"], curve["cumulative_recall"], marker="o", markersize=3, label=name
        )
    ax_lift.set_xlabel("top share of leads by score")
    ax_lift.set_ylabel("lift over base rate")
    ax_lift.set_xlim(0, 1)
    ax_recall.set_xlabel("top share of leads by score")
    ax_recall.set_ylabel("cumulative recall")
    ax_recall.set_xlim(0, 1)
    ax_recall.set_ylim(0, 1.02)
    for ax in (ax_lift, ax_recall):
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)

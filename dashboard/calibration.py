"""Calibration of the champion on recent outcomes: the numbers behind the dashboard's page 4.

The SLA promises sales that a score means something: the score is 100 x P(accepted), and the
opportunity head's probability is used to plan capacity. This module checks those promises on
the outcomes that came back: reliability bins, Brier and ECE over time and per segment, the
observed rates just below and above the handoff threshold, conversion by score band x response
delay (model error vs slow follow-up), and drift of the score distribution against training.

Everything is pure (arrays or the lead table in, DataFrames or dataclasses out, no I/O, no
Streamlit). The metrics that training already has (equal-mass ECE, Brier, log loss, AUC, the
Wilson interval) come from ``training.evaluate`` so the dashboard and the model card can never
disagree. Outcomes are 0/1 with NaN = unknown (not decided yet, never worked): unknown rows are
dropped, never counted as negatives. Degenerate inputs (empty, all unknown, one class) give empty
frames or None, never an exception; only misuse (arrays of different lengths, p outside [0, 1],
y not 0/1) raises ValueError.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from training.evaluate import (
    classification_metrics,
    ece_equal_mass,
    reliability_table,
    wilson_interval,
)

RELIABILITY_COLUMNS = ["band", "n", "mean_predicted", "observed_rate", "lo", "hi"]
SUMMARY_BINS = 10
TIME_COLUMNS = ["n", "positives", "brier", "ece", "observed", "predicted", "thin"]
SEGMENT_COLUMNS = [
    "level",
    "n",
    "positives",
    "predicted",
    "observed",
    "gap",
    "lo",
    "hi",
    "brier",
    "thin",
]
WINDOW_COLUMNS = [
    "side",
    "score_from",
    "score_to",
    "outcome",
    "leads",
    "n",
    "positives",
    "observed",
    "lo",
    "hi",
    "predicted",
    "agreed_probability",
]
BAND_DELAY_COLUMNS = [
    "score_band",
    "delay_band",
    "n",
    "opportunities",
    "conversion",
    "lo",
    "hi",
    "predicted",
]
HISTOGRAM_COLUMNS = ["bin", "lo", "hi", "share_reference", "share_recent"]
DEFAULT_SCORE_BANDS = tuple(float(e) for e in range(0, 101, 10))
NOT_CONTACTED = "not contacted"
UNKNOWN_LEVEL = "unknown"
PSI_EPS = 1e-4
PSI_MODERATE = 0.1
PSI_MAJOR = 0.25


# --------------------------------------------------------------------------- inputs


def _floats(values: ArrayLike) -> np.ndarray:
    """1-d float array; None, pd.NA and non-numbers become NaN (object input: the slow path)."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        arr = pd.to_numeric(pd.Series(np.asarray(values, dtype=object)), errors="coerce")
        arr = arr.to_numpy(dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"expected a one-dimensional array (got shape {arr.shape})")
    return arr


def _flag(values: pd.Series) -> np.ndarray:
    """A boolean column with missing values as False."""
    return values.eq(True).fillna(False).to_numpy(dtype=bool)


def _known(p: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray, int]:
    """(p, y) as float arrays with the unknown rows dropped, and how many were dropped.

    A row is unknown when y is NaN/None (outcome not known yet) or p is NaN (no stored
    probability, e.g. a historical scorecard score). Aligned by position, never by index.
    """
    p_arr, y_arr = _floats(p), _floats(y)
    if p_arr.shape != y_arr.shape:
        raise ValueError(f"p has {len(p_arr)} rows but y has {len(y_arr)}")
    keep = ~(np.isnan(p_arr) | np.isnan(y_arr))
    p_k, y_k = p_arr[keep], y_arr[keep]
    if not np.isin(y_k, (0.0, 1.0)).all():
        raise ValueError("y must be 0, 1 or unknown (NaN)")
    if ((p_k < 0.0) | (p_k > 1.0)).any():
        raise ValueError("p must be probabilities in [0, 1]")
    return p_k, y_k.astype(int), int((~keep).sum())


def outcome_values(table: pd.DataFrame, outcome: str) -> pd.Series:
    """One outcome of the lead table as float 1 / 0 / NaN (unknown), following the spec's rates.

    - ``accepted``: 1 accepted, 0 rejected, NaN undecided (acceptance rate = accepted /
      (accepted + rejected); a lead nobody decided on tells nothing). ``rejected`` mirrors it.
    - any other column (``opportunity``, ``won``, or a ready float column): its value as float,
      NaN where the lead was not handed off (it could not convert), NaN stays NaN.
    """
    if outcome in ("accepted", "rejected") and {"accepted", "rejected"} <= set(table.columns):
        acc, rej = _flag(table["accepted"]), _flag(table["rejected"])
        values = np.where(acc, 1.0, np.where(rej, 0.0, np.nan))
        if outcome == "rejected":
            values = 1.0 - values
        return pd.Series(values, index=table.index, name=outcome)
    values = _column(table, outcome)
    if "handed_off" in table.columns:
        values = np.where(_flag(table["handed_off"]), values, np.nan)
    return pd.Series(values, index=table.index, name=outcome)


def _column(table: pd.DataFrame, name: str) -> np.ndarray:
    return _floats(table[name].to_numpy())


def _wilson(positives: int, n: int) -> tuple[float, float]:
    """evaluate's Wilson interval, with the ends at 0 of 0 and n of n exact (no 1e-17 residue)."""
    if n <= 0:
        return math.nan, math.nan
    lo, hi = wilson_interval(positives / n, n)
    return (0.0 if positives == 0 else lo), (1.0 if positives == n else hi)


# --------------------------------------------------------------------------- reliability


def _range_label(lo: float, hi: float) -> str:
    return f"{lo:.2f}-{hi:.2f}"


def reliability(
    p: ArrayLike, y: ArrayLike, *, bins: int = 10, strategy: str = "quantile"
) -> pd.DataFrame:
    """Predicted vs observed rate per bin of p, with a 95 % Wilson interval on the observed rate.

    ``strategy="quantile"`` is ``training.evaluate.reliability_table`` (equal-mass bins, the bins
    of the ECE); ``band`` is then the range of p inside the bin (ties at a boundary may be split
    across two bins, as in training). ``strategy="uniform"`` cuts [0, 1] into equal-width bins
    (``bins=10`` on the acceptance probability gives exactly the score bands 0-9 ... 90-100);
    ``band`` is the bin's nominal range. Empty bins are left out. Columns: band, n,
    mean_predicted, observed_rate, lo, hi. The n column sums to the rows with a known outcome.
    """
    if int(bins) != bins or bins < 1:
        raise ValueError(f"bins must be a positive integer (got {bins!r})")
    if strategy not in ("quantile", "uniform"):
        raise ValueError(f"strategy must be 'quantile' or 'uniform' (got {strategy!r})")
    p_k, y_k, _ = _known(p, y)
    if len(p_k) == 0:
        return pd.DataFrame(columns=RELIABILITY_COLUMNS)
    if strategy == "quantile":
        table = reliability_table(y_k, p_k, bins=bins)
        # evaluate's equal-mass bins are consecutive runs of the stably sorted p, so the bin's
        # range is read off the sorted p at the cumulative row counts.
        p_sorted = np.sort(p_k, kind="stable")
        ends = np.cumsum(table["n"].to_numpy())
        starts = ends - table["n"].to_numpy()
        out = pd.DataFrame(
            {
                "band": [_range_label(p_sorted[s], p_sorted[e - 1]) for s, e in zip(starts, ends)],
                "n": table["n"].to_numpy(dtype=int),
                "mean_predicted": table["mean_pred"].to_numpy(dtype=float),
                "observed_rate": table["observed"].to_numpy(dtype=float),
                "lo": np.where(table["observed"] == 0.0, 0.0, table["lo"]),
                "hi": np.where(table["observed"] == 1.0, 1.0, table["hi"]),
            }
        )
    else:
        idx = np.minimum((p_k * bins).astype(int), bins - 1)
        frame = pd.DataFrame({"bin": idx, "p": p_k, "y": y_k})
        g = frame.groupby("bin", sort=True).agg(n=("y", "size"), pos=("y", "sum"), mp=("p", "mean"))
        bounds = [_wilson(int(k), int(n)) for k, n in zip(g["pos"], g["n"])]
        out = pd.DataFrame(
            {
                "band": [_range_label(b / bins, (b + 1) / bins) for b in g.index],
                "n": g["n"].to_numpy(dtype=int),
                "mean_predicted": g["mp"].to_numpy(dtype=float),
                "observed_rate": (g["pos"] / g["n"]).to_numpy(dtype=float),
                "lo": [b[0] for b in bounds],
                "hi": [b[1] for b in bounds],
            }
        )
    if int(out["n"].sum()) != len(p_k):  # every known row in exactly one bin
        raise RuntimeError(f"reliability bins hold {out['n'].sum()} rows, expected {len(p_k)}")
    return out


# --------------------------------------------------------------------------- summary


@dataclass(frozen=True)
class CalibrationSummary:
    """Headline calibration numbers; every metric is None when there is no known outcome."""

    n: int
    n_unknown: int
    positives: int
    base_rate: float | None
    mean_predicted: float | None
    brier: float | None
    ece: float | None
    log_loss: float | None
    auc: float | None  # None with one class only: ranking is undefined


def calibration_summary(
    p: ArrayLike, y: ArrayLike, *, bins: int = SUMMARY_BINS
) -> CalibrationSummary:
    """n, base rate, mean predicted, Brier, equal-mass ECE, log loss and AUC on the known rows.

    The metrics are ``training.evaluate.classification_metrics`` (the same clipping of p for the
    log loss and the same ECE bins as the model card), so a drift between the card and the page
    means the data changed, not the formula.
    """
    p_k, y_k, dropped = _known(p, y)
    if len(p_k) == 0:
        return CalibrationSummary(0, dropped, 0, None, None, None, None, None, None)
    m = classification_metrics(y_k, p_k, bins=bins)
    return CalibrationSummary(
        n=len(p_k),
        n_unknown=dropped,
        positives=int(y_k.sum()),
        base_rate=float(m["base_rate"]),
        mean_predicted=float(p_k.mean()),
        brier=float(m["brier"]),
        ece=float(m["ece"]),
        log_loss=float(m["log_loss"]),
        auc=None if math.isnan(m["roc_auc"]) else float(m["roc_auc"]),
    )


# --------------------------------------------------------------------------- time and segments


def _group_metrics(p: np.ndarray, y: np.ndarray, bins: int) -> dict[str, float | int]:
    return {
        "n": len(p),
        "positives": int(y.sum()),
        "brier": float(np.mean((p - y) ** 2)),
        "ece": ece_equal_mass(y, p, bins=bins),
        "observed": float(y.mean()),
        "predicted": float(p.mean()),
    }


def _periods(table: pd.DataFrame, freq: str) -> pd.Series:
    """The month ("YYYY-MM", policy timezone) or quarter ("YYYY-Qn") of each lead.

    Both come from the lead table's ``month`` column, already in the policy's timezone; without
    it, from ``created_at`` in UTC.
    """
    if "month" in table.columns:
        month = table["month"].astype(str)
    else:
        created = pd.to_datetime(table["created_at"], utc=True)
        month = created.dt.strftime("%Y-%m")
    if freq == "month":
        return month
    year, mon = month.str.slice(0, 4), pd.to_numeric(month.str.slice(5, 7), errors="coerce")
    return year + "-Q" + ((mon - 1) // 3 + 1).astype("Int64").astype(str)


def calibration_over_time(
    table: pd.DataFrame,
    p_col: str,
    y_col: str,
    *,
    freq: str = "month",
    min_n: int = 30,
    bins: int = SUMMARY_BINS,
) -> pd.DataFrame:
    """Brier, equal-mass ECE, observed and predicted rate per month (or quarter) of creation.

    ``y_col`` goes through ``outcome_values`` (so "accepted" means accepted vs rejected). Only
    periods with at least one known outcome appear; those with fewer than ``min_n`` are kept but
    flagged ``thin`` so the chart can grey them instead of hiding a bad month. Columns: <freq>,
    n, positives, brier, ece, observed, predicted, thin.
    """
    if freq not in ("month", "quarter"):
        raise ValueError(f"freq must be 'month' or 'quarter' (got {freq!r})")
    columns = [freq, *TIME_COLUMNS]
    if table.empty:
        return pd.DataFrame(columns=columns)
    p = _column(table, p_col)
    y = outcome_values(table, y_col).to_numpy()
    known = ~(np.isnan(p) | np.isnan(y))
    periods = _periods(table, freq).to_numpy()[known]
    p_k, y_k, _ = _known(p[known], y[known])
    rows = []
    for period in sorted(set(periods)):
        mask = periods == period
        rows.append({freq: period, **_group_metrics(p_k[mask], y_k[mask], bins)})
    out = pd.DataFrame(rows, columns=columns[:-1])
    out["thin"] = out["n"] < min_n
    return out.astype({"n": int, "positives": int, "thin": bool})


def calibration_by_segment(
    table: pd.DataFrame, p_col: str, y_col: str, segment: str, min_n: int = 30
) -> pd.DataFrame:
    """Predicted vs observed rate, gap and Brier per level of one segment column.

    ``training.evaluate.segment_metrics`` is not reused: it pools small levels into "(other)"
    and drops them, while the review committee needs to see every source, team or rep, with the
    small ones flagged ``thin`` (n < min_n). gap = predicted - observed: positive means the model
    over-promises for that level. Missing levels are "unknown". Ordered by n, then level.
    Columns: level, n, positives, predicted, observed, gap, lo, hi (Wilson 95 % on observed),
    brier, thin.
    """
    if table.empty:
        return pd.DataFrame(columns=SEGMENT_COLUMNS)
    p = _column(table, p_col)
    y = outcome_values(table, y_col).to_numpy()
    known = ~(np.isnan(p) | np.isnan(y))
    levels_all = table[segment].astype(object)
    levels = levels_all.where(levels_all.notna(), UNKNOWN_LEVEL).astype(str).to_numpy()[known]
    p_k, y_k, _ = _known(p[known], y[known])
    if len(p_k) == 0:
        return pd.DataFrame(columns=SEGMENT_COLUMNS)
    frame = pd.DataFrame({"level": levels, "p": p_k, "y": y_k, "se": (p_k - y_k) ** 2})
    g = frame.groupby("level", sort=False).agg(
        n=("y", "size"), positives=("y", "sum"), predicted=("p", "mean"), brier=("se", "mean")
    )
    g = g.reset_index()
    g["observed"] = g["positives"] / g["n"]
    g["gap"] = g["predicted"] - g["observed"]
    bounds = [_wilson(int(k), int(n)) for k, n in zip(g["positives"], g["n"])]
    g["lo"] = [b[0] for b in bounds]
    g["hi"] = [b[1] for b in bounds]
    g["thin"] = g["n"] < min_n
    g = g.sort_values(["n", "level"], ascending=[False, True], kind="stable")
    return g[SEGMENT_COLUMNS].astype({"n": int, "positives": int}).reset_index(drop=True)


# --------------------------------------------------------------------------- threshold window


def threshold_window(
    table: pd.DataFrame,
    score_col: str,
    threshold: float,
    width: float = 5.0,
    outcomes: Sequence[str] = ("accepted", "opportunity"),
    *,
    p_cols: Mapping[str, str] | None = None,
    agreed_outcome: str = "accepted",
) -> pd.DataFrame:
    """Observed rates just below [t - width, t) and at or above [t, t + width) the threshold t.

    Answers "does a lead at the threshold really convert at the agreed probability?": the score
    is 100 x P(accepted), so a lead at the threshold was promised ``threshold / 100``
    (``agreed_probability``, filled for ``agreed_outcome`` only). Below the threshold only the
    explored leads are handed off, so the below side is thin by design: ``leads`` counts every
    lead in the window, ``n`` those with a known outcome (see ``outcome_values``). ``p_cols``
    maps an outcome to its probability column (e.g. {"accepted": "acceptance_probability",
    "opportunity": "probability"}) to add the mean predicted on the same known rows.
    One row per side x outcome: side, score_from, score_to, outcome, leads, n, positives,
    observed, lo, hi (Wilson 95 %), predicted, agreed_probability.
    """
    if width <= 0:
        raise ValueError(f"width must be positive (got {width!r})")
    p_cols = dict(p_cols or {})
    if table.empty:
        return pd.DataFrame(columns=WINDOW_COLUMNS)
    score = _column(table, score_col)
    sides = (
        ("below", threshold - width, threshold),
        ("above", threshold, threshold + width),
    )
    rows = []
    for side, lo_s, hi_s in sides:
        in_side = (score >= lo_s) & (score < hi_s)
        for name in outcomes:
            y = outcome_values(table, name).to_numpy()[in_side]
            if name in p_cols:
                p = _column(table, p_cols[name])[in_side]
                known = ~(np.isnan(y) | np.isnan(p))
            else:
                p = np.full(len(y), np.nan)
                known = ~np.isnan(y)
            n = int(known.sum())
            positives = int(np.nansum(y[known]))
            lo, hi = _wilson(positives, n)
            rows.append(
                {
                    "side": side,
                    "score_from": float(lo_s),
                    "score_to": float(hi_s),
                    "outcome": name,
                    "leads": int(in_side.sum()),
                    "n": n,
                    "positives": positives,
                    "observed": positives / n if n else math.nan,
                    "lo": lo,
                    "hi": hi,
                    "predicted": float(p[known].mean()) if n and name in p_cols else math.nan,
                    "agreed_probability": threshold / 100.0 if name == agreed_outcome else math.nan,
                }
            )
    return pd.DataFrame(rows, columns=WINDOW_COLUMNS)


# --------------------------------------------------------------------------- band x delay


def _edge_labels(edges: Sequence[float]) -> list[str]:
    """Labels of the bands [e0, e1), ..., [e_{k-1}, e_k]: "0-9" ... "90-100" for integer edges."""
    integer = all(float(e).is_integer() for e in edges)
    labels = []
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        last = i == len(edges) - 2
        if integer:
            labels.append(f"{lo:g}-{hi:g}" if last else f"{lo:g}-{hi - 1:g}")
        else:
            labels.append(f"{lo:g}-{hi:g}")
    return labels


def _delay_labels(edges: Sequence[float]) -> list[str]:
    return [
        f"{lo:g}+ bh" if math.isinf(hi) else f"{lo:g}-{hi:g} bh"
        for lo, hi in zip(edges[:-1], edges[1:])
    ]


def _check_edges(edges: Sequence[float], name: str) -> np.ndarray:
    arr = np.asarray(edges, dtype=float)
    if arr.ndim != 1 or len(arr) < 2 or not (np.diff(arr) > 0).all():
        raise ValueError(f"{name} must be at least two increasing edges (got {edges!r})")
    return arr


def conversion_by_band_and_delay(
    table: pd.DataFrame,
    *,
    score_bands: Sequence[float] = DEFAULT_SCORE_BANDS,
    delay_edges_bh: Sequence[float] = (0.0, 4.0, 24.0, 72.0, math.inf),
    score_col: str = "score",
    delay_col: str = "response_bh",
    outcome_col: str = "opportunity",
    p_col: str | None = None,
) -> pd.DataFrame:
    """Conversion (opportunities / handed off) per score band x business-hour delay to contact.

    Rows separate the two faults the SLA review argues about. Reading across a row (one score
    band), conversion falling as the delay grows is slow follow-up: the same leads convert less
    when called late. Reading down the fastest column (leads called in time), conversion that
    does not rise with the band, or sits far from ``predicted``, is model error: well-worked leads
    of that score do not do what the score says. A band that looks bad overall but fine in the
    fast column was let down by the follow-up, not by the model.

    Only handed-off leads count (when a ``handed_off`` column exists). A lead not contacted is
    in the "not contacted" column, unless its deadline is still running (``sla_state`` "open"):
    its delay is not known yet. Bands are [lo, hi), the last score band closed ([90, 100]); the
    default score bands are the lead table's "0-9" ... "90-100". Every band x delay pair is a
    row (n = 0 gives NaN rates), ordered by band then delay. Columns: score_band, delay_band,
    n, opportunities, conversion, lo, hi (Wilson 95 %), predicted (mean of ``p_col``, else NaN).
    """
    s_edges = _check_edges(score_bands, "score_bands")
    d_edges = _check_edges(delay_edges_bh, "delay_edges_bh")
    s_labels = _edge_labels(list(s_edges))
    d_labels = [*_delay_labels(list(d_edges)), NOT_CONTACTED]
    grid = pd.MultiIndex.from_product([s_labels, d_labels], names=["score_band", "delay_band"])

    if table.empty:
        return pd.DataFrame(columns=BAND_DELAY_COLUMNS)
    keep = np.ones(len(table), dtype=bool)
    if "handed_off" in table.columns:
        keep &= _flag(table["handed_off"])
    if "sla_state" in table.columns:
        keep &= table["sla_state"].ne("open").to_numpy(dtype=bool)
    sub = table.loc[keep]
    score, delay, y = _column(sub, score_col), _column(sub, delay_col), _column(sub, outcome_col)
    p = _column(sub, p_col) if p_col else np.full(len(sub), np.nan)

    s_idx = np.searchsorted(s_edges, score, side="right") - 1
    s_idx[score == s_edges[-1]] = len(s_labels) - 1  # the top edge belongs to the last band
    d_idx = np.searchsorted(d_edges, delay, side="right") - 1
    in_delay = (d_idx >= 0) & (d_idx < len(d_edges) - 1)  # a delay outside the edges is dropped
    d_idx[np.isnan(delay)] = len(d_labels) - 1  # no contact
    in_delay |= np.isnan(delay)
    in_score = (s_idx >= 0) & (s_idx < len(s_labels)) & ~np.isnan(score)
    valid = in_score & in_delay & ~np.isnan(y)
    frame = pd.DataFrame(
        {
            "score_band": np.asarray(s_labels, dtype=object)[s_idx[valid]],
            "delay_band": np.asarray(d_labels, dtype=object)[d_idx[valid]],
            "y": y[valid],
            "p": p[valid],
        }
    )
    g = frame.groupby(["score_band", "delay_band"]).agg(
        n=("y", "size"), opportunities=("y", "sum"), predicted=("p", "mean")
    )
    g = g.reindex(grid)
    g["n"] = g["n"].fillna(0).astype(int)
    g["opportunities"] = g["opportunities"].fillna(0).astype(int)
    out = g.reset_index()
    n_cells = out["n"].to_numpy()
    out["conversion"] = np.where(n_cells > 0, out["opportunities"] / np.maximum(n_cells, 1), np.nan)
    bounds = [_wilson(int(k), int(n)) for k, n in zip(out["opportunities"], out["n"])]
    out["lo"] = [b[0] for b in bounds]
    out["hi"] = [b[1] for b in bounds]
    return out[BAND_DELAY_COLUMNS]


# --------------------------------------------------------------------------- drift


@dataclass(frozen=True)
class Drift:
    """Score drift of the recent flow against the reference (training) scores.

    psi: population stability index on reference-quantile bins. Usual reading: below 0.1 stable,
    0.1 to 0.25 a moderate shift worth watching, above 0.25 a major shift (retrain or re-check
    the threshold). ks: two-sample Kolmogorov-Smirnov statistic (largest gap between the two
    empirical CDFs). Both None when either side is empty.
    """

    psi: float | None
    ks: float | None
    n_reference: int
    n_recent: int
    histogram: pd.DataFrame = field(repr=False)

    @property
    def reading(self) -> str | None:
        if self.psi is None:
            return None
        if self.psi < PSI_MODERATE:
            return "stable"
        return "moderate shift" if self.psi <= PSI_MAJOR else "major shift"


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """sup |F_a - F_b| over the pooled values, with numpy's ECDFs.

    Written with numpy rather than scipy.stats.ks_2samp so the tests can check it against scipy
    as an independent method; it is exact (the sup is reached at a sample value).
    """
    a_s, b_s = np.sort(a), np.sort(b)
    pooled = np.concatenate([a_s, b_s])
    cdf_a = np.searchsorted(a_s, pooled, side="right") / len(a_s)
    cdf_b = np.searchsorted(b_s, pooled, side="right") / len(b_s)
    return float(np.max(np.abs(cdf_a - cdf_b)))


def score_drift(
    reference_scores: ArrayLike, recent_scores: ArrayLike, *, bins: int = 10, eps: float = PSI_EPS
) -> Drift:
    """PSI and KS of the recent scores against the reference, plus a histogram frame for a chart.

    Bins are the reference's quantiles (duplicate edges from tied scores merged), so each holds
    about 1/bins of the reference and PSI is not dominated by empty tails; the outer bins are
    open (a recent score beyond the reference range still counts). PSI = sum (r - e) ln(r / e)
    with both shares floored at ``eps`` so an empty bin gives a large but finite term. NaN scores
    are dropped. histogram columns: bin (label), lo, hi, share_reference, share_recent.
    """
    if int(bins) != bins or bins < 1:
        raise ValueError(f"bins must be a positive integer (got {bins!r})")
    ref, rec = _floats(reference_scores), _floats(recent_scores)
    ref, rec = ref[~np.isnan(ref)], rec[~np.isnan(rec)]
    if len(ref) == 0 or len(rec) == 0:
        return Drift(None, None, len(ref), len(rec), pd.DataFrame(columns=HISTOGRAM_COLUMNS))
    interior = np.unique(np.quantile(ref, np.arange(1, bins) / bins))
    k = len(interior) + 1
    share_ref = np.bincount(np.searchsorted(interior, ref, side="right"), minlength=k) / len(ref)
    share_rec = np.bincount(np.searchsorted(interior, rec, side="right"), minlength=k) / len(rec)
    e, r = np.maximum(share_ref, eps), np.maximum(share_rec, eps)
    psi = float(np.sum((r - e) * np.log(r / e)))
    lows = np.concatenate([[min(ref.min(), rec.min())], interior])
    highs = np.concatenate([interior, [max(ref.max(), rec.max())]])
    histogram = pd.DataFrame(
        {
            "bin": [f"{lo:g}-{hi:g}" for lo, hi in zip(lows, highs)],
            "lo": lows,
            "hi": highs,
            "share_reference": share_ref,
            "share_recent": share_rec,
        }
    )
    return Drift(psi, ks_statistic(ref, rec), len(ref), len(rec), histogram)


def settled_opportunity(
    table: pd.DataFrame, as_of: pd.Timestamp, *, window_days: int = 90
) -> pd.Series:
    """The opportunity outcome as the opportunity head was trained on it: 1 / 0 / NaN.

    1: an opportunity within ``window_days`` of the handoff; 0: rejected, or worked with no
    opportunity in the window; NaN (unknown): not handed off, never worked or still open, or a
    window that has not elapsed by ``as_of`` (counting those as 0 would make the newest months
    look over-predicted). The rule is training/labels.py's, read off the lead table.
    """
    handed = _flag(table["handed_off"])
    at = pd.to_datetime(table["handed_off_at"], utc=True)
    opp_at = pd.to_datetime(table["opportunity_at"], utc=True)
    window = pd.Timedelta(days=window_days)
    elapsed = (pd.Timestamp(as_of) - at >= window).to_numpy(dtype=bool)
    unknown_status = table["status"].isin(["never_worked", "still_open"]).to_numpy()
    converted = (opp_at.notna() & (opp_at - at <= window)).to_numpy(dtype=bool)
    values = np.where(converted, 1.0, 0.0)
    values = np.where(handed & elapsed & ~unknown_status, values, np.nan)
    return pd.Series(values, index=table.index, name="opportunity_settled")

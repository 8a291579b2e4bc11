"""Altair charts of the dashboard: frames in, charts out; no data access, no Streamlit.

One function per kind of picture, so every page draws the same thing the same way: a target
is always a dashed red rule, observed values are blue, predicted are grey.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import altair as alt
import pandas as pd

OBSERVED = "#1f77b4"
PREDICTED = "#7f7f7f"
TARGET = "#d62728"
_HEIGHT = 260


def _empty(message: str) -> alt.Chart:
    return (
        alt.Chart(pd.DataFrame({"text": [message]}))
        .mark_text(size=14, color=PREDICTED)
        .encode(text="text:N")
        .properties(height=80)
    )


def bars_vs_target(
    frame: pd.DataFrame,
    value: str,
    target: str | None,
    *,
    title: str,
    label: str,
    x: str = "month",
    fmt: str = ",.0f",
) -> alt.Chart:
    """Bars per month (or team...) with each one's target as a red tick across the bar."""
    if frame.empty:
        return _empty("nothing in the period")
    base = alt.Chart(frame).encode(x=alt.X(f"{x}:N", title=None, sort=list(frame[x])))
    bars = base.mark_bar(color=OBSERVED).encode(
        y=alt.Y(f"{value}:Q", title=label),
        tooltip=[x, alt.Tooltip(f"{value}:Q", format=fmt)],
    )
    layers = [bars]
    if target is not None and target in frame:
        layers.append(
            base.mark_tick(color=TARGET, thickness=3).encode(
                y=f"{target}:Q", tooltip=[x, alt.Tooltip(f"{target}:Q", format=fmt)]
            )
        )
    return alt.layer(*layers).properties(title=title, height=_HEIGHT)


@functools.lru_cache(maxsize=16)
def bars_vs_target_spec(
    value: str, target: str, *, title: str, label: str, x: str = "month", fmt: str = ",.0f"
) -> dict[str, Any]:
    """``bars_vs_target`` as a Vega-Lite spec without data, built (and validated) once.

    For pages redrawn on every slider move: Altair's schema validation costs ~50 ms a chart,
    more than the numbers; ``st.vega_lite_chart(frame, spec)`` reuses the spec with new data.
    """
    sample = pd.DataFrame({x: ["a"], value: [1.0], target: [1.0]})
    spec = bars_vs_target(sample, value, target, title=title, label=label, x=x, fmt=fmt).to_dict()
    spec.pop("datasets", None)
    spec.pop("data", None)
    for layer in spec.get("layer", []):
        layer.pop("data", None)
        enc = layer.get("encoding", {})
        if "x" in enc:
            enc["x"].pop("sort", None)  # the sample's order; the frame's order is kept instead
    return spec


def monthly_rates(
    frame: pd.DataFrame,
    columns: Sequence[str],
    *,
    title: str,
    names: Sequence[str] | None = None,
    floor: float | None = None,
    floor_label: str = "target",
) -> alt.Chart:
    """One line per rate (0-1) by month, with an optional horizontal floor (e.g. 50%)."""
    if frame.empty:
        return _empty("no months in the period")
    names = list(names or columns)
    long = frame.melt(id_vars="month", value_vars=list(columns), var_name="rate", value_name="v")
    long["rate"] = long["rate"].map(dict(zip(columns, names)))
    lines = (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X("month:O", title=None),
            y=alt.Y("v:Q", title=None, axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("rate:N", title=None, legend=alt.Legend(orient="bottom")),
            tooltip=["month", "rate", alt.Tooltip("v:Q", format=".1%")],
        )
    )
    layers: list[alt.Chart] = [lines]
    if floor is not None:
        rule = pd.DataFrame({"y": [floor], "label": [floor_label]})
        layers.append(
            alt.Chart(rule)
            .mark_rule(color=TARGET, strokeDash=[6, 4])
            .encode(y="y:Q", tooltip=["label", alt.Tooltip("y:Q", format=".0%")])
        )
    return alt.layer(*layers).properties(title=title, height=_HEIGHT)


def response_vs_deadline(tiers: pd.DataFrame) -> alt.Chart:
    """Median and p90 business hours to first contact per tier, the deadline as a red tick."""
    data = tiers.dropna(subset=["deadline_bh", "median_response_bh"])
    if data.empty:
        return _empty("no contacted lead with a deadline in the period")
    long = data.melt(
        id_vars=["tier", "deadline_bh"],
        value_vars=["median_response_bh", "p90_response_bh"],
        var_name="stat",
        value_name="hours",
    )
    long["stat"] = long["stat"].map({"median_response_bh": "median", "p90_response_bh": "p90"})
    base = alt.Chart(long).encode(y=alt.Y("tier:N", title=None, sort=list(data["tier"])))
    bars = base.mark_bar().encode(
        x=alt.X("hours:Q", title="business hours to first contact"),
        yOffset="stat:N",
        color=alt.Color(
            "stat:N",
            title=None,
            scale=alt.Scale(range=[OBSERVED, "#aec7e8"]),
            legend=alt.Legend(orient="bottom"),
        ),
        tooltip=["tier", "stat", alt.Tooltip("hours:Q", format=".1f"), "deadline_bh"],
    )
    ticks = (
        alt.Chart(data)
        .mark_tick(color=TARGET, thickness=3, size=40)
        .encode(
            y=alt.Y("tier:N", sort=list(data["tier"])),
            x="deadline_bh:Q",
            tooltip=["tier", alt.Tooltip("deadline_bh:Q", title="deadline (bh)", format=".0f")],
        )
    )
    return alt.layer(bars, ticks).properties(title="Response time against the deadline")


def heatmap(
    frame: pd.DataFrame, x: str, y: str, value: str, *, title: str, fmt: str = ".0%"
) -> alt.Chart:
    """A share or rate per (x, y) cell, with the number written in the cell."""
    if frame.empty:
        return _empty("nothing to show for this selection")
    base = alt.Chart(frame).encode(
        x=alt.X(f"{x}:N", title=None, axis=alt.Axis(labelAngle=-35)),
        y=alt.Y(f"{y}:N", title=None),
    )
    cells = base.mark_rect().encode(
        color=alt.Color(f"{value}:Q", title=None, scale=alt.Scale(scheme="orangered")),
        tooltip=[x, y, alt.Tooltip(f"{value}:Q", format=fmt)]
        + [c for c in ("count", "n") if c in frame],
    )
    text = base.mark_text(fontSize=10).encode(text=alt.Text(f"{value}:Q", format=fmt))
    return alt.layer(cells, text).properties(title=title)


def rate_bars(
    frame: pd.DataFrame,
    level: str,
    rate: str,
    *,
    title: str,
    floor: float | None = None,
    flag: str | None = None,
) -> alt.Chart:
    """A rate per level, bars below the floor in red, the floor as a dashed rule."""
    if frame.empty:
        return _empty("nothing to show for this selection")
    color = (
        alt.condition(f"datum.{flag}", alt.value(TARGET), alt.value(OBSERVED))
        if flag
        else alt.value(OBSERVED)
    )
    bars = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y(f"{level}:N", title=None, sort="-x"),
            x=alt.X(f"{rate}:Q", title=None, axis=alt.Axis(format="%")),
            color=color,
            tooltip=[c for c in frame.columns if frame[c].dtype != object or c == level],
        )
    )
    layers: list[alt.Chart] = [bars]
    if floor is not None:
        layers.append(
            alt.Chart(pd.DataFrame({"x": [floor]}))
            .mark_rule(color=TARGET, strokeDash=[6, 4])
            .encode(x="x:Q")
        )
    return alt.layer(*layers).properties(title=title)


def reliability(frame: pd.DataFrame, *, title: str) -> alt.Chart:
    """Observed rate (with its interval) against the mean prediction; the diagonal is perfect."""
    if frame.empty:
        return _empty("no outcome known yet for these leads")
    diag = (
        alt.Chart(pd.DataFrame({"p": [0.0, 1.0]}))
        .mark_line(color=PREDICTED, strokeDash=[4, 4])
        .encode(x="p:Q", y="p:Q")
    )
    x = alt.X(
        "mean_predicted:Q",
        title="predicted",
        axis=alt.Axis(format="%"),
        scale=alt.Scale(domain=[0, 1]),
    )
    y = alt.Y(
        "observed_rate:Q",
        title="observed",
        axis=alt.Axis(format="%"),
        scale=alt.Scale(domain=[0, 1]),
    )
    bars = alt.Chart(frame).mark_rule(color=OBSERVED).encode(x=x, y="lo:Q", y2="hi:Q")
    points = (
        alt.Chart(frame)
        .mark_circle(color=OBSERVED)
        .encode(
            x=x,
            y=y,
            size=alt.Size("n:Q", title="leads", legend=alt.Legend(orient="bottom")),
            tooltip=[
                "band",
                "n",
                alt.Tooltip("mean_predicted:Q", format=".1%"),
                alt.Tooltip("observed_rate:Q", format=".1%"),
                alt.Tooltip("lo:Q", format=".1%"),
                alt.Tooltip("hi:Q", format=".1%"),
            ],
        )
    )
    return alt.layer(diag, bars, points).properties(title=title, height=320, width=320)


def metric_over_time(frame: pd.DataFrame, columns: Sequence[str], *, title: str) -> alt.Chart:
    """Small numbers (Brier, ECE) by month, one line each."""
    if frame.empty:
        return _empty("no month with known outcomes")
    period = "month" if "month" in frame else frame.columns[0]
    long = frame.melt(id_vars=period, value_vars=list(columns), var_name="metric", value_name="v")
    return (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X(f"{period}:O", title=None),
            y=alt.Y("v:Q", title=None),
            color=alt.Color("metric:N", title=None, legend=alt.Legend(orient="bottom")),
            tooltip=[period, "metric", alt.Tooltip("v:Q", format=".4f")],
        )
        .properties(title=title, height=_HEIGHT)
    )


def distributions(frame: pd.DataFrame, *, title: str) -> alt.Chart:
    """Two score distributions side by side per bin (reference vs recent), as shares."""
    if frame.empty:
        return _empty("not enough scores to compare")
    long = frame.melt(
        id_vars="bin",
        value_vars=["share_reference", "share_recent"],
        var_name="sample",
        value_name="share",
    )
    long["sample"] = long["sample"].str.replace("share_", "", regex=False)
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("bin:N", title="score bin", sort=list(frame["bin"])),
            xOffset="sample:N",
            y=alt.Y("share:Q", title=None, axis=alt.Axis(format="%")),
            color=alt.Color(
                "sample:N",
                title=None,
                scale=alt.Scale(range=[PREDICTED, OBSERVED]),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=["bin", "sample", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(title=title, height=_HEIGHT)
    )


def grouped_bars(
    frame: pd.DataFrame, x: str, value: str, group: str, *, title: str, fmt: str = ".0%"
) -> alt.Chart:
    """A value per x, one bar per group (e.g. conversion per score band and delay band)."""
    if frame.empty:
        return _empty("nothing to show for this selection")
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X(f"{x}:N", title=None, sort=list(dict.fromkeys(frame[x]))),
            xOffset=alt.XOffset(f"{group}:N", sort=list(dict.fromkeys(frame[group]))),
            y=alt.Y(f"{value}:Q", title=None, axis=alt.Axis(format=fmt[1:] if fmt else None)),
            color=alt.Color(
                f"{group}:N",
                title=group.replace("_", " "),
                sort=list(dict.fromkeys(frame[group])),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=[x, group, alt.Tooltip(f"{value}:Q", format=fmt)]
            + [c for c in ("n",) if c in frame],
        )
        .properties(title=title, height=_HEIGHT)
    )


def horizontal_bars(frame: pd.DataFrame, label: str, value: str, *, title: str) -> alt.Chart:
    """Plain ranked bars (e.g. SHAP importance in points)."""
    if frame.empty:
        return _empty("nothing to show")
    return (
        alt.Chart(frame)
        .mark_bar(color=OBSERVED)
        .encode(
            y=alt.Y(f"{label}:N", title=None, sort="-x"),
            x=alt.X(f"{value}:Q", title=None),
            tooltip=[label, alt.Tooltip(f"{value}:Q", format=".2f")],
        )
        .properties(title=title)
    )

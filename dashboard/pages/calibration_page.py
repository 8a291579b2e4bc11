"""Calibration: does a score of 70 mean 70%? And is a miss the model's fault or the follow-up's?"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, ui
from dashboard.calibration import (
    calibration_by_segment,
    calibration_over_time,
    calibration_summary,
    conversion_by_band_and_delay,
    outcome_values,
    reliability,
    score_drift,
    settled_opportunity,
    threshold_window,
)

HEADS = {
    "accepted": ("Acceptance by sales (the score)", "champion_p_accepted"),
    "opportunity": ("Opportunity within 90 days", "champion_p_opportunity"),
}

st.title("Calibration")
view = ui.view()
if view is None:
    st.stop()
if view.champion is None:
    ui.no_champion_note()
    st.stop()
policy = view.history.policy
table = view.filtered
if table.empty:
    st.info("No lead matches the period and filters: widen them in the sidebar.")
    st.stop()

head = st.radio(
    "Head", list(HEADS), format_func=lambda h: HEADS[h][0], horizontal=True, key="calib_head"
)
p_col = HEADS[head][1]
# both outcomes once, as the heads were trained on them; every section below reads them
outcomes = table.assign(
    accepted_y=outcome_values(table, "accepted").to_numpy(),
    opportunity_y=settled_opportunity(table, view.history.as_of).to_numpy(),
)
frame = outcomes.assign(y=outcomes[f"{head}_y"])
window = view.champion.bundle.metadata.get("window", {})
st.caption(
    f"Champion v{view.champion.version}, trained on leads created {window.get('from', '?')[:10]} "
    f"to {window.get('to', '?')[:10]} (its last 3 months were its test months). Observed "
    "outcomes: accepted = accepted / decided; opportunity = within 90 days of the handoff, "
    "known only once the 90 days have passed. Leads still undecided are left out."
)

summary = calibration_summary(frame[p_col], frame["y"])
if summary.n == 0:
    st.info("No outcome is known yet for the leads of this period.")
    st.stop()
cols = st.columns(5)
cols[0].metric("Leads with a known outcome", f"{summary.n:,}")
cols[1].metric(
    "Observed rate",
    ui.pct(summary.base_rate, 1),
    f"predicted {ui.pct(summary.mean_predicted, 1)}",
    delta_color="off",
    delta_arrow="off",
)
cols[2].metric("Brier score", f"{summary.brier:.4f}")
cols[3].metric("ECE (equal mass)", f"{summary.ece:.4f}")
cols[4].metric("ROC AUC", f"{summary.auc:.3f}" if summary.auc is not None else "n/a")

left, right = st.columns([1, 1])
rel = reliability(frame[p_col], frame["y"], bins=10)
with left:
    st.altair_chart(
        charts.reliability(rel, title="Reliability: predicted vs observed, 10 equal-size bands"),
        width="content",
    )
with right:
    st.dataframe(
        rel,
        hide_index=True,
        column_config={
            c: st.column_config.NumberColumn(c.replace("_", " "), format="percent")
            for c in ("mean_predicted", "observed_rate", "lo", "hi")
        },
    )

over_time = calibration_over_time(frame, p_col, "y")
st.altair_chart(
    charts.metric_over_time(over_time, ["brier", "ece"], title="Brier score and ECE by month"),
    width="stretch",
)

segment = st.selectbox(
    "Calibration per segment",
    [*ui.SEGMENTS, "score_band"],
    format_func=lambda s: s.replace("_", " "),
    key="calib_segment",
)
st.dataframe(
    calibration_by_segment(frame, p_col, "y", segment),
    hide_index=True,
    column_config={
        c: st.column_config.NumberColumn(c, format="percent")
        for c in ("predicted", "observed", "gap", "lo", "hi")
    },
)

st.subheader("At the threshold")
threshold = policy.handoff_threshold
window_table = threshold_window(
    outcomes,
    "champion_score",
    threshold,
    outcomes=("accepted_y", "opportunity_y"),
    p_cols={"accepted_y": "champion_p_accepted", "opportunity_y": "champion_p_opportunity"},
    agreed_outcome="accepted_y",
)
st.caption(
    f"Leads scored within 5 points of the threshold ({threshold:g}): the SLA promises that a "
    f"lead at the threshold is accepted with probability {threshold / 100:.0%}. Below the "
    "threshold only the randomly explored leads have outcomes."
)
st.dataframe(
    window_table.assign(outcome=window_table["outcome"].str.replace("_y", "", regex=False)),
    hide_index=True,
    column_config={
        c: st.column_config.NumberColumn(c.replace("_", " "), format="percent")
        for c in ("observed", "lo", "hi", "predicted", "agreed_probability")
    },
)

st.subheader("Model error or slow follow-up?")
conversion = conversion_by_band_and_delay(
    outcomes[outcomes["sla_state"] != "open"].dropna(subset=["opportunity_y"]),
    score_col="champion_score",
    outcome_col="opportunity_y",
    score_bands=(0, 25, 50, 62, 75, 101),
)
st.caption(
    "Conversion to opportunity per score band and business hours to first contact. Across a "
    "row, a drop is slow follow-up (the same leads convert less when called late); down the "
    "fastest column, a flat line is model error."
)
st.altair_chart(
    charts.grouped_bars(
        conversion.dropna(subset=["conversion"]),
        "score_band",
        "conversion",
        "delay_band",
        title="Conversion by score band and delay to first contact",
    ),
    width="stretch",
)

st.subheader("Score drift")
created = view.table["created_at"]
scores = view.table["champion_score"]
trained_from = pd.to_datetime(window.get("from"), utc=True, errors="coerce")
trained_to = pd.to_datetime(window.get("to"), utc=True, errors="coerce")
if pd.isna(trained_from) or pd.isna(trained_to):  # an old run without its data window
    trained_from, trained_to = created.min(), created.max() - pd.DateOffset(months=3)
in_training = (created >= trained_from) & (created <= trained_to)
after = created > trained_to
if after.sum() >= 100:
    recent, recent_text = scores[after], f"the {int(after.sum()):,} leads created since training"
else:  # nothing new since training yet: the last 3 months, part of its test months
    recent_mask = created >= created.max() - pd.DateOffset(months=3)
    recent = scores[recent_mask]
    recent_text = (
        f"the {int(recent_mask.sum()):,} leads of the last 3 months (fewer than 100 leads "
        "arrived since training)"
    )
reference = scores[in_training]
drift = score_drift(reference.dropna(), recent.dropna())
st.caption(
    f"Champion scores of {recent_text}, against the {int(in_training.sum()):,} leads of its "
    f"training window. PSI {drift.psi:.3f} ({drift.reading}), Kolmogorov-Smirnov "
    f"{drift.ks:.3f}."
)
st.altair_chart(
    charts.distributions(drift.histogram, title="Score distribution: reference vs recent"),
    width="stretch",
)

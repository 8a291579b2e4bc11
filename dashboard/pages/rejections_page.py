"""Rejection causes, for the monthly review committee: where sales says no, and why."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, ui
from dashboard.metrics import (
    acceptance_by_segment,
    decision_log,
    reason_contradictions,
    reason_mix,
    reason_trends,
    rep_gaps,
    superficial_acceptances,
)

SEGMENT_CHOICES = {**ui.SEGMENTS, "score_band": "Score band"}

st.title("Rejection causes")
view = ui.view()
if view is None:
    st.stop()
policy = view.history.policy
table = view.filtered
handed = table[table["handed_off"]]
st.caption(
    f"{len(handed):,} leads handed off between {view.start} and {view.end}; "
    f"{int(handed['rejected'].sum()):,} rejected. Acceptance floor "
    f"{ui.pct(policy.review_triggers.acceptance_floor)} (segments with fewer than 10 decisions "
    "are never flagged)."
)
if handed.empty:
    st.info("No handed-off lead in this period and selection.")
    st.stop()

segment = st.selectbox(
    "Segment", list(SEGMENT_CHOICES), format_func=SEGMENT_CHOICES.get, key="rejection_segment"
)
by_segment = acceptance_by_segment(table, segment, policy)
flagged = by_segment[by_segment["below_floor"]]
if not flagged.empty:
    names = ", ".join(
        f"{lvl} ({ui.pct(r)})" for lvl, r in zip(flagged["level"], flagged["acceptance_rate"])
    )
    st.warning(f"Below the acceptance floor: {names}.", icon=":material/flag:")

left, right = st.columns(2)
with left:
    st.altair_chart(
        charts.rate_bars(
            by_segment.dropna(subset=["acceptance_rate"]),
            "level",
            "acceptance_rate",
            title=f"Acceptance by {SEGMENT_CHOICES[segment].lower()} (red: below the floor)",
            floor=policy.review_triggers.acceptance_floor,
            flag="below_floor",
        ),
        width="stretch",
    )
with right:
    mix = reason_mix(table, segment)
    st.altair_chart(
        charts.heatmap(
            mix, "reason", "level", "share", title="Reason mix (share of the level's rejections)"
        ),
        width="stretch",
    )

trends = reason_trends(table)
st.altair_chart(
    charts.heatmap(
        trends, "month", "reason", "share", title="Reasons month over month (share of rejections)"
    ),
    width="stretch",
)

with st.expander("Drill down to the leads", expanded=False):
    level = st.selectbox(f"{SEGMENT_CHOICES[segment]}", list(by_segment["level"]))
    values = handed[segment].fillna("(none)").astype(str)
    rows = handed[values == str(level)]
    only_rejected = st.toggle("Rejected only", value=True)
    if only_rejected:
        rows = rows[rows["rejected"]]
    st.dataframe(
        rows[
            [
                "lead_id",
                "created_at",
                "source",
                "sector",
                "employee_band",
                "country",
                "team",
                "rep",
                "score",
                "tier",
                "status",
                "rejection_reason",
                "response_bh",
            ]
        ].sort_values("created_at", ascending=False),
        hide_index=True,
    )

st.subheader("Reps")
gaps = rep_gaps(table, policy)
st.dataframe(
    gaps,
    hide_index=True,
    column_config={
        "acceptance_rate": st.column_config.NumberColumn("acceptance", format="percent"),
        "team_acceptance_rate": st.column_config.NumberColumn("team", format="percent"),
        "gap_points": st.column_config.NumberColumn("gap (pts)", format="%+.1f"),
        "median_response_bh": st.column_config.NumberColumn("median response (bh)", format="%.1f"),
        "within_sla_share": st.column_config.NumberColumn("within SLA", format="percent"),
        "completeness": st.column_config.NumberColumn("reasons given", format="percent"),
    },
)

st.subheader("Superficial acceptances")
superficial = superficial_acceptances(table)
st.caption(
    "Accepted with one contact shorter than a minute and nothing after: an acceptance that "
    "only keeps the lead out of the rejection statistics."
)
left, right = st.columns([1, 2])
left.dataframe(
    superficial.by_rep,
    hide_index=True,
    column_config={"share": st.column_config.NumberColumn("share", format="percent")},
)
right.dataframe(superficial.leads, hide_index=True)


st.subheader("Rejections that contradict the model")
if view.champion is None:
    ui.no_champion_note()
else:
    reasons = view.reasons  # every rejected lead of the store, explained once
    sources = {f.name: f.source for f in view.champion.bundle.featurizer.feature_set.features}
    contradictions = reason_contradictions(table, reasons, feature_sources=sources)
    st.caption(
        f"{len(contradictions):,} rejected leads whose reason concerns a field the champion "
        "counts among its strongest positive drivers (+5 points or more), e.g. rejected for "
        "'no budget' when the confirmed budget is what raised the score. Each is worth a look."
    )
    st.dataframe(contradictions, hide_index=True)

st.subheader("Edge-case decision log")
log = decision_log(view.history.decisions)
if log.empty:
    st.caption("No decision recorded yet.")
else:
    st.dataframe(log.drop(columns=["case"]), hide_index=True)

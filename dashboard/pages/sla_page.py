"""SLA overview: the indicators both teams signed up to, for the period and segments chosen."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, ui
from dashboard.metrics import monthly_trends, review_triggers, sla_overview

st.title("SLA overview")
view = ui.view()
if view is None:
    st.stop()
policy = view.history.policy
table = view.filtered
st.caption(
    f"Leads created {view.start} to {view.end}: {len(table):,} leads. Policy "
    f"{policy.name} v{view.history.policy_version or '(bundled file)'}; times in business hours "
    f"(bh) of the {policy.calendar.timezone} calendar."
)
if table.empty:
    st.info("No lead matches the period and filters: widen them in the sidebar.")
    st.stop()

monthly = monthly_trends(table, policy)
overview = sla_overview(table, policy)

triggers = sorted(review_triggers(monthly, policy), key=lambda t: t.months[-1])
# the two most recent in full; older ones folded, so the numbers below stay in view
for trigger in triggers[-2:][::-1]:
    st.error(trigger.message, icon=":material/warning:")
if len(triggers) > 2:
    with st.expander(f"{len(triggers) - 2} earlier review trigger(s) in this period"):
        for trigger in triggers[-3::-1]:
            st.markdown(f"- {trigger.message}")
if not triggers:
    st.success("No review trigger fired in this period.", icon=":material/check_circle:")

met = int(overview.tiers["met"].sum())
breached = int(overview.tiers["breached"].sum())
cols = st.columns(6)
cols[0].metric(
    "Handed off (MQL)",
    f"{overview.handed_off:,}",
    f"{ui.pct(overview.commitment_share)} of {overview.commitment:,} committed",
    delta_color="off",
    delta_arrow="off",
)
cols[1].metric(
    "Acceptance rate",
    ui.pct(overview.acceptance_rate),
    f"{overview.accepted:,} accepted / {overview.rejected:,} rejected",
    delta_color="off",
    delta_arrow="off",
)
cols[2].metric(
    "First contact within SLA",
    ui.pct(met / (met + breached) if met + breached else None),
    f"{breached:,} breached",
    delta_color="off",
    delta_arrow="off",
)
cols[3].metric(
    "Rejections with a reason",
    ui.pct(overview.feedback_completeness),
    f"{overview.rejected_with_reason:,} of {overview.rejected:,}",
    delta_color="off",
    delta_arrow="off",
)
cols[4].metric(
    "MQL -> opportunity",
    ui.pct(overview.conversion, 1),
    f"{overview.opportunities:,} opportunities",
    delta_color="off",
    delta_arrow="off",
)
cols[5].metric(
    "MQL -> won",
    ui.pct(overview.won_rate, 1),
    f"{overview.won:,} won",
    delta_color="off",
    delta_arrow="off",
)

left, right = st.columns(2)
with left:
    st.altair_chart(charts.response_vs_deadline(overview.tiers), width="stretch")
with right:
    st.markdown("**Time to first contact per tier**")
    st.dataframe(
        overview.tiers,
        hide_index=True,
        column_config={
            "median_response_bh": st.column_config.NumberColumn("median (bh)", format="%.1f"),
            "p90_response_bh": st.column_config.NumberColumn("p90 (bh)", format="%.1f"),
            "deadline_bh": st.column_config.NumberColumn("deadline (bh)", format="%.0f"),
            "within_sla_share": st.column_config.ProgressColumn(
                "within SLA", format="percent", min_value=0.0, max_value=1.0
            ),
        },
    )

st.subheader("Monthly trends")
left, right = st.columns(2)
with left:
    st.altair_chart(
        charts.bars_vs_target(
            monthly,
            "handed_off",
            "commitment",
            title="Leads handed off against the monthly commitment (red)",
            label="MQLs",
        ),
        width="stretch",
    )
    st.altair_chart(
        charts.monthly_rates(
            monthly,
            ["within_sla_share", "completeness"],
            names=["first contact within SLA", "rejections with a reason"],
            title="Follow-up discipline",
        ),
        width="stretch",
    )
with right:
    st.altair_chart(
        charts.monthly_rates(
            monthly,
            ["acceptance_rate", "rejection_rate"],
            names=["acceptance", "rejection"],
            floor=policy.review_triggers.acceptance_floor,
            floor_label="acceptance floor",
            title="Acceptance by sales (dashed: the agreed floor)",
        ),
        width="stretch",
    )
    st.altair_chart(
        charts.monthly_rates(
            monthly,
            ["conversion", "won_rate"],
            names=["to opportunity", "to won"],
            title="Conversion of handed-off leads",
        ),
        width="stretch",
    )

if overview.segment_field:
    st.subheader(f"Commitment by {overview.segment_field.replace('_', ' ')}")
    st.dataframe(
        overview.by_segment,
        hide_index=True,
        column_config={
            "share": st.column_config.ProgressColumn(
                "delivered", format="percent", min_value=0.0, max_value=1.5
            )
        },
    )
with st.expander("Monthly numbers"):
    st.dataframe(monthly, hide_index=True)

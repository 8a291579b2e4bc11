"""Threshold tuning: move the handoff threshold and the tier cutoffs, see the effect at once,
and save the result as a new policy version through the API."""

from __future__ import annotations

import os

import pandas as pd
import streamlit as st

from dashboard import charts, data, ui
from dashboard.policy_edit import policy_diff, with_thresholds
from dashboard.threshold import ThresholdModel, flow_from_lead_table, last_full_months

WINDOW_MONTHS = 3
# the champion's recomputed scores, not the stored ones (the history was scored by the scorecard)
CHAMPION_COLUMNS = {
    "score": "champion_score",
    "p_accept": "champion_p_accepted",
    "p_opportunity": "champion_p_opportunity",
}

st.title("Threshold tuning")
view = ui.view()
if view is None:
    st.stop()
history, table, champion = view.history, view.table, view.champion
policy = history.policy
if len(policy.tiers) != 3:
    st.error(f"This page tunes a three-tier policy; policy {policy.name} has {len(policy.tiers)}.")
    st.stop()


@st.cache_resource(max_entries=2, ttl=ui.TTL, show_spinner="Preparing the what-if model...")
def _model(key: tuple, _table: pd.DataFrame, _policy, start, end) -> ThresholdModel:  # noqa: ANN001
    columns = CHAMPION_COLUMNS if champion is not None else {}
    flow = flow_from_lead_table(_table, **columns)
    return ThresholdModel.build(flow, _policy, start=start, end=end)


@st.cache_resource(max_entries=2, ttl=ui.TTL, show_spinner=False)
def _in_force(key: tuple, _model: ThresholdModel):  # noqa: ANN202 - WhatIf
    """The policy in force on the same flow: the reference every slider move is compared with."""
    return _model.evaluate()


tz = policy.calendar.timezone
flow_rows = view.filtered
if flow_rows.empty:
    st.info("No lead matches the period and filters: widen them in the sidebar.")
    st.stop()
# the recent flow: the last full months of the chosen period (the period itself when shorter)
start, end = last_full_months(flow_rows["created_at"].max(), policy, WINDOW_MONTHS)
start = max(start, pd.Timestamp(view.start, tz=tz).tz_convert("UTC"))
if start >= end:  # less than a whole month chosen: take it as it is
    start = pd.Timestamp(view.start, tz=tz).tz_convert("UTC")
    end = flow_rows["created_at"].max() + pd.Timedelta(seconds=1)
model_key = (view.key, view.selection, start, end)
model = _model(model_key, flow_rows, policy, start, end)
if champion is None:
    ui.no_champion_note()
segments = dict(view.selection[2])
st.caption(
    f"Lead flow: {start.tz_convert(tz):%Y-%m-%d} to "
    f"{(end.tz_convert(tz) - pd.Timedelta(seconds=1)):%Y-%m-%d} ({model.leads:,} leads"
    + (
        ", only " + "; ".join(f"{k} {', '.join(v)}" for k, v in segments.items())
        if segments
        else ""
    )
    + "), scored by "
    + (f"the champion (model v{champion.version})" if champion else "the stored scores")
    + ". Expected numbers come from the calibrated heads; the SLA projection replays the real "
    "arrival times through today's reps and capacity (first come, first served)"
    + (": with segment filters, only the selected leads are in the queues." if segments else ".")
)

tiers = policy.tiers
c1, c2, c3 = st.columns(3)
threshold = c1.slider("Handoff threshold (score)", 0, 100, int(policy.handoff_threshold))
warm = c2.slider(f"{tiers[1].name} from", 0, 100, int(tiers[1].min_score))
hot = c3.slider(f"{tiers[0].name} from", 0, 100, int(tiers[0].min_score))
if not threshold < warm < hot:
    st.error(
        f"The cutoffs must rise: threshold ({threshold}) < {tiers[1].name} ({warm}) < "
        f"{tiers[0].name} ({hot}). Move a slider."
    )
    st.stop()

now = _in_force(model_key, model)
what = model.evaluate(threshold, hot, warm)
changed = (threshold, warm, hot) != (
    policy.handoff_threshold,
    tiers[1].min_score,
    tiers[0].min_score,
)
months = max(len(what.monthly), 1)
commit = policy.monthly_commitment.total


def _change(new: float, old: float, fmt: str) -> str | None:
    """The difference with the policy in force, per month; nothing while the sliders sit on it."""
    return ui.number((new - old) / months, fmt) + " vs in force" if changed else None


within = what.tiers["within_deadline"].sum() / what.mqls if what.mqls else None
within_now = now.tiers["within_deadline"].sum() / now.mqls if now.mqls else None
cols = st.columns(5)
cols[0].metric(
    "MQLs per month",
    f"{what.mqls / months:,.0f}",
    f"commitment {commit}",
    delta_color="off",
    delta_arrow="off",
)
cols[1].metric(
    "Expected acceptance",
    ui.pct(what.expected_acceptance_rate),
    f"{ui.number(what.expected_accepted / months, ',.0f')} accepted per month",
    delta_color="off",
    delta_arrow="off",
)
cols[2].metric(
    "Expected opportunities / month",
    ui.number(what.expected_opportunities / months),
    _change(what.expected_opportunities, now.expected_opportunities, "+,.1f"),
)
cols[3].metric(
    "Opportunities lost below",
    f"{ui.number(what.lost_opportunities / months)} / month",
    _change(what.lost_opportunities, now.lost_opportunities, "+,.1f"),
    delta_color="inverse",
)
cols[4].metric(
    "Contacted within the deadline",
    ui.pct(within),
    f"{ui.pct(within - within_now, 1)} vs in force"
    if changed and within is not None and within_now is not None
    else None,
)
if what.missing_probabilities:
    st.warning(
        f"{what.missing_probabilities:,} MQLs have no calibrated probability (scored before "
        "any model): they are left out of the expected numbers."
    )

left, right = st.columns(2)
with left:
    monthly = what.monthly.assign(commitment=commit)
    # specs built once, data swapped: this page is redrawn on every slider move
    st.vega_lite_chart(
        monthly,
        charts.bars_vs_target_spec(
            "mqls", "commitment", title="MQLs per month (red: commitment)", label="MQLs"
        ),
        width="stretch",
    )
    st.vega_lite_chart(
        what.teams,
        charts.bars_vs_target_spec(
            "load_per_rep_day",
            "capacity_per_rep_day",
            x="team",
            fmt=".2f",
            label="first contacts / rep / business day",
            title="Load per rep per business day (red: agreed capacity)",
        ),
        width="stretch",
    )
with right:
    st.markdown("**Projected first contact per tier** (queue simulation)")
    st.dataframe(
        what.tiers,
        hide_index=True,
        column_config={
            "within_deadline": st.column_config.NumberColumn("contacted in time"),
            "within_share": st.column_config.ProgressColumn(
                "within deadline", format="percent", min_value=0.0, max_value=1.0
            ),
            "median_wait_bh": st.column_config.NumberColumn("median wait (bh)", format="%.1f"),
            "p90_wait_bh": st.column_config.NumberColumn("p90 wait (bh)", format="%.1f"),
        },
    )
    st.markdown("**Teams**")
    st.dataframe(
        what.teams,
        hide_index=True,
        column_config={
            "utilisation": st.column_config.ProgressColumn(
                "utilisation", format="percent", min_value=0.0, max_value=2.0
            ),
            "load_per_rep_day": st.column_config.NumberColumn("load / rep / day", format="%.2f"),
            "within_share": st.column_config.NumberColumn("within deadline", format="percent"),
        },
    )

st.subheader("Save as a new policy version")
new_body = with_thresholds(
    history.policy_body, threshold, {tiers[0].name: hot, tiers[1].name: warm}
)
diff = policy_diff(history.policy_body, new_body)
if diff.empty:
    st.caption("These are the values in force: nothing to save.")
else:
    st.dataframe(diff, hide_index=True)
    api_url = os.environ.get("HANDOFF_API_URL", data.DEFAULT_API_URL)
    default_key = "dev-admin-key" if os.environ.get("HANDOFF_DEV") == "1" else ""
    with st.form("save_policy"):
        author = st.text_input("Author", placeholder="who decides (name, role)")
        comment = st.text_area("Reason", placeholder="why, e.g. the review committee of 3 Nov")
        api_key = st.text_input(
            "Admin API key",
            value=os.environ.get("HANDOFF_DASHBOARD_API_KEY", default_key),
            type="password",
        )
        submitted = st.form_submit_button("Save the new version")
    if submitted:
        if not author.strip() or not comment.strip():
            st.error("An author and a reason are required: every rule change is on the record.")
        else:
            try:
                saved = data.post_policy(
                    new_body, author=author, comment=comment, api_url=api_url, api_key=api_key
                )
            except data.DashboardError as err:
                st.error(str(err))
            else:
                st.success(
                    f"Policy version {saved['version']} saved; the API uses it from the next "
                    "request. The dashboard shows it within a minute."
                )

st.subheader("Policy versions")
versions = history.policy_versions
if versions.empty:
    st.caption(
        "No version stored yet: the API stores the bundled policy as version 1 on its "
        "first request."
    )
else:
    shown = versions.assign(
        threshold=[b.get("handoff_threshold") for b in versions["body"]],
        tiers=[
            ", ".join(f"{t['name']} {t['min_score']}" for t in b.get("tiers", []))
            for b in versions["body"]
        ],
    ).drop(columns=["body"])
    st.dataframe(shown.sort_values("version", ascending=False), hide_index=True)

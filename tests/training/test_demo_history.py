"""The demo history shows every mechanic it claims, checked on the generated data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from feature_defs.sla import exclusion_reasons
from training.demo_history import DEMO_REPS, PARTNER_ONLY_COUNTRIES, SLA_START_MONTHS, generate


@pytest.fixture(scope="module")
def history(contract):
    return generate(contract, seed=7)


@pytest.fixture(scope="module")
def cal(contract):
    return contract.policy.business_calendar()


def _first_contact(events: pd.DataFrame) -> pd.Series:
    return events[events["type"] == "contact_attempt"].groupby("lead_id")["occurred_at"].min()


def test_deterministic_for_a_seed(contract, history) -> None:
    again = generate(contract, seed=7)
    pd.testing.assert_frame_equal(history.leads, again.leads)
    pd.testing.assert_frame_equal(history.events, again.events)
    other = generate(contract, seed=8, months=2, n_leads=1000)
    assert not other.leads["lead_id"].isin(history.leads["lead_id"]).any()


def test_leads_are_valid_against_the_contract(contract, history) -> None:
    typed = contract.fields.coerce(history.leads)
    assert len(typed) == len(history.leads)
    assert history.leads["lead_id"].is_unique
    assert not any(c.startswith("p_") for c in history.leads.columns)  # truth is never a field


def test_volumes_and_arrival_pattern(contract, history, cal) -> None:
    leads = history.leads
    assert 9_000 <= len(leads) <= 11_000
    local = leads["created_at"].dt.tz_convert("Europe/Paris")
    span_days = (local.max() - local.min()).days
    assert 540 <= span_days <= 550  # 18 months
    days = pd.date_range(local.min().normalize(), local.max().normalize(), freq="D")
    per_day = local.dt.normalize().value_counts().reindex(days, fill_value=0)
    working = np.array(
        [cal.is_working_time((d + pd.Timedelta(hours=11)).to_pydatetime()) for d in days]
    )
    wd = per_day[working]
    assert wd.min() >= 5 and wd.max() <= 50
    assert (wd <= 8).sum() >= 5 and (wd >= 45).sum() >= 5  # days of 5 and days of 50 both occur
    by_weekday = wd.groupby(wd.index.weekday).mean()
    assert by_weekday[1] > by_weekday[4]  # Tuesday busier than Friday
    assert per_day[~working].mean() < 0.3 * wd.mean()  # weekends and holidays are quiet
    month = wd.groupby(wd.index.month).mean()
    assert month[8] < 0.7 * month.drop(8).mean()  # the August dip
    q_end = wd[(wd.index.month.isin([3, 6, 9, 12])) & (wd.index.day >= 10)]
    mid = wd[(wd.index.month.isin([1, 4, 7, 10])) & (wd.index.day >= 10)]
    assert q_end.mean() > 1.2 * mid.mean()  # end-of-quarter peaks


def test_reps_teams_and_traits(contract, history) -> None:
    ev = history.events
    reps = ev["rep"].dropna().unique()
    assert 6 <= len(reps) <= 8
    assert ev.dropna(subset=["rep"]).groupby("rep")["team"].nunique().max() == 1
    assert ev["team"].dropna().nunique() == 2
    truth = history.ground_truth[history.ground_truth["handed_off"]]
    # routing follows the policy: large companies go to mid_market
    big = (
        history.leads.set_index("lead_id")
        .loc[truth["lead_id"], "employee_band"]
        .isin(["250-999", "1000-4999", "5000+"])
        .to_numpy()
    )
    assert (truth["team"].to_numpy()[big] == "mid_market").all()
    assert (truth["team"].to_numpy()[~big] == "smb").all()
    # reps differ in leniency: acceptance rates spread by more than 15 points
    dec = ev[ev["type"].isin(["accepted", "rejected"])].drop_duplicates("lead_id")
    rate = dec.groupby("rep")["type"].apply(lambda s: (s == "accepted").mean())
    assert rate.max() - rate.min() > 0.15


def test_contacts_happen_in_business_time(history, cal) -> None:
    ev = history.events
    attempts = ev[ev["type"] == "contact_attempt"]
    inside = [cal.is_working_time(t.to_pydatetime()) for t in attempts["occurred_at"]]
    assert all(inside)
    created = history.leads.set_index("lead_id")["created_at"]
    first = _first_contact(ev)
    assert (first > created.loc[first.index]).all()
    delay = cal.elapsed_many(created.loc[first.index], first) / 3600
    assert np.median(delay) < 24 and delay.max() > 48


def test_response_time_grows_with_backlog(history, cal) -> None:
    truth = history.ground_truth.dropna(subset=["response_delay_business_hours"])
    created = history.leads.set_index("lead_id")["created_at"]
    first = _first_contact(history.events)
    for rep, grp in truth.groupby("rep"):
        lead_ids = grp["lead_id"][grp["lead_id"].isin(first.index)]
        c = created.loc[lead_ids].to_numpy()
        f = first.loc[lead_ids].to_numpy()
        # backlog at arrival: this rep's leads that arrived earlier and were not yet contacted
        backlog = np.array([((c < c[k]) & (f > c[k])).sum() for k in range(len(c))])
        delay = cal.elapsed_many(pd.Series(c), pd.Series(f))
        corr = np.corrcoef(backlog, delay)[0, 1]
        assert corr > 0.3, (rep, corr)


def test_conversion_decays_with_response_delay(history) -> None:
    t = history.ground_truth
    worked = t.dropna(subset=["response_delay_business_hours"])
    ratio = worked["p_opportunity"] / worked["p_opportunity_intrinsic"]
    fast = worked["response_delay_business_hours"] < 4
    slow = worked["response_delay_business_hours"] > 24
    assert (
        ratio[fast & ~worked["superficial"]].mean()
        > ratio[slow & ~worked["superficial"]].mean() + 0.1
    )
    opp = set(history.events.loc[history.events["type"] == "opportunity", "lead_id"])
    won = worked["lead_id"].isin(opp)
    # observed too: fast leads convert more than slow ones, relative to their truth
    obs_fast = won[fast].mean() / worked.loc[fast, "p_opportunity_intrinsic"].mean()
    obs_slow = won[slow].mean() / worked.loc[slow, "p_opportunity_intrinsic"].mean()
    assert obs_fast > obs_slow


def test_reasons_follow_the_weak_point(contract, history) -> None:
    ev = history.events
    rej = ev[ev["type"] == "rejected"].merge(history.leads, on="lead_id")
    codes = set(contract.policy.rejection_codes)
    assert set(rej["reason"].dropna()) <= codes
    assert len(set(rej["reason"].dropna())) >= 8
    assert rej.loc[rej["bant_budget"] == "none", "reason"].mode()[0] == "no_budget"
    assert rej.loc[rej["employee_band"] == "1-9", "reason"].mode()[0] == "out_of_target"
    assert rej.loc[rej["bant_timeline"] == "gt_12m", "reason"].mode()[0] == "bad_timing"
    dup_ids = set(history.ground_truth.dropna(subset=["duplicate_of"])["lead_id"])
    assert rej.loc[rej["lead_id"].isin(dup_ids), "reason"].mode()[0] == "duplicate"
    assert set(rej["status"].dropna()) <= {s.code for s in contract.policy.feedback_statuses}
    assert set(rej["next_action"].dropna()) <= {a.code for a in contract.policy.next_actions}
    # feedback completeness is imperfect, as in real life, but most rejections carry a reason
    missing = rej["reason"].isna().mean()
    assert 0.01 < missing < 0.15


def test_unreachable_after_three_attempts_in_distinct_slots(contract, history) -> None:
    ev = history.events
    unreachable = ev[(ev["type"] == "rejected") & (ev["reason"] == "unreachable")]["lead_id"]
    assert len(unreachable) > 10
    att = ev[(ev["type"] == "contact_attempt") & ev["lead_id"].isin(unreachable)]
    local = att["occurred_at"].dt.tz_convert("Europe/Paris")
    slot = np.where(local.dt.hour < 13, "morning", "afternoon")
    att = att.assign(slot=[f"{d.date()}-{s}" for d, s in zip(local, slot)])
    per = att.groupby("lead_id").agg(
        n=("slot", "size"),
        slots=("slot", "nunique"),
        reached=("outcome", lambda s: (s == "reached").any()),
    )
    n_min = contract.policy.contact_attempts.min_attempts_before_unreachable
    assert (per["n"] >= n_min).all() and (per["slots"] == per["n"]).all()
    assert not per["reached"].any()


def test_outcomes_opportunities_won_lost_with_amounts(history) -> None:
    ev = history.events
    opp = ev[ev["type"] == "opportunity"].set_index("lead_id")
    closed = ev[ev["type"].isin(["won", "lost"])].set_index("lead_id")
    assert len(opp) > 300 and (closed["type"] == "won").sum() > 50
    assert closed.index.isin(opp.index).all()
    assert (closed["amount"] > 0).all() and (opp["amount"] > 0).all()
    assert (closed["occurred_at"] > opp.loc[closed.index, "occurred_at"]).all()
    accepted = set(ev.loc[ev["type"] == "accepted", "lead_id"]) | set(
        ev.loc[ev["type"] == "contact_attempt", "lead_id"]
    )
    assert set(opp.index) <= accepted


def test_superficial_touches(history) -> None:
    ev = history.events
    per = ev.groupby("lead_id").agg(
        attempts=("type", lambda s: (s == "contact_attempt").sum()),
        accepted=("type", lambda s: (s == "accepted").any()),
        max_call=("duration_s", "max"),
        rep=("rep", "first"),
    )
    superficial = per[(per["attempts"] == 1) & per["accepted"] & (per["max_call"] < 60)]
    assert len(superficial) > 50
    heavy = [r for r, t in DEMO_REPS.items() if t.superficial >= 0.3]
    assert superficial["rep"].isin(heavy).mean() > 0.8


def test_edge_cases_and_decision_log(history) -> None:
    t = history.ground_truth
    share = t["edge_case"].notna().mean()
    assert 0.10 <= share <= 0.20
    assert set(t["edge_case"].dropna()) == {
        "executive_below_size_rule",
        "partner_only_country",
        "other_division_of_customer",
    }
    leads = history.leads.set_index("lead_id")
    partner = t.loc[t["edge_case"] == "partner_only_country", "lead_id"]
    assert leads.loc[partner, "country"].isin(PARTNER_ONLY_COUNTRIES).all()
    d = history.decisions
    assert len(d) >= 20
    assert d[["case", "decision", "reasoning", "decided_by"]].notna().all().all()


def test_handoff_by_scorecard_with_exploration(contract, history) -> None:
    s = history.scores.set_index("lead_id")
    t = history.ground_truth.set_index("lead_id")
    pol = contract.policy
    above = (s["score"] >= pol.handoff_threshold) & s["excluded_reason"].isna()
    assert (t.loc[above[above].index, "handed_off"]).all()
    eligible_below = (s["score"] < pol.handoff_threshold) & s["excluded_reason"].isna()
    explored = t.loc[eligible_below, "exploration"]
    share = explored.mean()
    n = eligible_below.sum()
    sd = np.sqrt(pol.exploration_share * (1 - pol.exploration_share) / n)
    assert abs(share - pol.exploration_share) < 4 * sd
    ho = history.events[history.events["type"] == "handed_off"]
    props = ho["payload"].map(lambda p: p["propensity"])
    assert set(np.round(props.unique(), 6)) <= {1.0, pol.exploration_share}
    explored_ids = set(t.index[t["exploration"]])
    assert (props[ho["lead_id"].isin(explored_ids)] == pol.exploration_share).all()
    # once the SLA is signed, excluded leads are never handed off, except escalated customer
    # divisions; before it, students and competitors were handed off and rejected
    excl = s["excluded_reason"].notna()
    flagged = t.loc[excl & t["handed_off"], "edge_case"]
    assert len(flagged) > 0 and (flagged == "other_division_of_customer").all()
    leads = history.leads.set_index("lead_id")
    start = pd.Timestamp("2026-11-01", tz="Europe/Paris") - pd.DateOffset(months=18)
    sla_start = start + pd.DateOffset(months=SLA_START_MONTHS)
    pre = leads["created_at"] < sla_start
    rule = exclusion_reasons(leads.reset_index(), pol)
    students = pd.Series(rule == "student", index=leads.index)
    assert t.loc[students & pre, "handed_off"].mean() > 0.05
    assert not t.loc[students & ~pre, "handed_off"].any()
    assert (s.loc[pre, "excluded_reason"].isna()).all()


def test_never_worked_and_still_open(history) -> None:
    t = history.ground_truth
    assert t["never_worked"].sum() > 20
    ev = history.events
    decided = set(ev.loc[ev["type"].isin(["accepted", "rejected", "contact_attempt"]), "lead_id"])
    handed = set(t.loc[t["handed_off"], "lead_id"])
    open_recent = handed - decided - set(t.loc[t["never_worked"], "lead_id"])
    assert len(open_recent) > 0  # arrived at the very end, not yet contacted
    assert (ev["occurred_at"] < pd.Timestamp("2026-11-01", tz="Europe/Paris")).all()


def test_ground_truth_is_informative(history) -> None:
    t = history.ground_truth
    assert t["p_opportunity"].between(0, 1).all() and t["p_accept"].between(0, 1).all()
    handed = t[t["handed_off"] & ~t["never_worked"]]
    opp = handed["lead_id"].isin(
        history.events.loc[history.events["type"] == "opportunity", "lead_id"]
    )
    truth_auc = roc_auc_score(opp, handed["p_opportunity"])
    card_auc = roc_auc_score(
        opp, history.scores.set_index("lead_id").loc[handed["lead_id"], "score"]
    )
    assert truth_auc > card_auc + 0.05  # the old scorecard leaves signal on the table

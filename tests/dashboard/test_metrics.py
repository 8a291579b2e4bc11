"""Dashboard metrics against the hand-counted fixture of test_lead_table (14 leads, three months).

What the fixture holds (H = handed off; response and deadline in business hours, counted by
hand in test_lead_table.py):

lead month    team        rep      tier score status        reason         response deadline sla
A    2026-09  smb         Lea      hot  80    accepted      -               2.0      4.0     met
B    2026-09  mid_market  Hugo     warm 65    accepted      -              10.5     48.0     met
C    2026-09  smb         Tom      cold 55    rejected      no_budget      18.5     36.5     met
D    2026-09  smb         Nathan   cold 52    rejected      (none)         26.0     24.0     breached
E    2026-09  mid_market  Camille  hot  78    never_worked  -               -        4.0     breached
F    2026-10  smb         -        -    -     not handed off
G    2026-10  smb         Sarah    hot  90    rejected      out_of_target   1.5      4.0     met
H    2026-10  mid_market  Ines     warm 70    accepted      -              15.0     48.0     met
I    2026-10  smb         Lea      cold 60    rejected      no_authority   36.5     36.5     met
J    2026-10  smb         Tom      cold 40    rejected      bad_timing      7.5     36.5     met
K    2026-10  mid_market  Camille  cold 58    accepted      -               0.5     36.5     met
L    2026-11  smb         Nathan   hot  76    accepted      -               7.5      4.0     breached
M    2026-11  smb         Sarah    warm 68    still_open    -               -       48.0     breached
N    2026-11  mid_market  Camille  hot  85    still_open    -               -        4.0     open

Opportunities: A (won), H (lost), L (won). Superficial: B only.
Quantiles interpolate linearly (numpy's default): the p90 of n sorted values is at 0.9*(n-1).
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from dashboard.lead_table import build_lead_table
from dashboard.metrics import (
    REASON_FEATURES,
    acceptance_by_segment,
    decision_log,
    filter_table,
    monthly_trends,
    reason_contradictions,
    reason_mix,
    reason_trends,
    rep_gaps,
    review_triggers,
    sla_overview,
    superficial_acceptances,
)
from feature_defs.policy import ReviewTriggers
from tests.dashboard.test_lead_table import AS_OF, hand_history

approx = pytest.approx


@pytest.fixture(scope="module")
def table(contract) -> pd.DataFrame:
    leads, events, scores = hand_history()
    return build_lead_table(leads, events, scores, contract.policy, as_of=AS_OF)


@pytest.fixture(scope="module")
def policy(contract):
    return contract.policy


def _ids(frame: pd.DataFrame) -> list[str]:
    return list(frame["lead_id"])


# --- filter_table -------------------------------------------------------------------------------
def test_period_is_read_in_the_given_timezone(table) -> None:
    # F was created 2026-10-01 00:30 in Paris, 2026-09-30 22:30 in UTC
    paris = filter_table(
        table, start=date(2026, 10, 1), end=date(2026, 11, 1), timezone="Europe/Paris"
    )
    assert _ids(paris) == list("FGHIJK")
    utc = filter_table(table, start=date(2026, 10, 1), end=date(2026, 11, 1))
    assert _ids(utc) == list("GHIJK")
    # [start, end): a lead created exactly at `end` is out, exactly at `start` is in
    at_a = pd.Timestamp("2026-09-07 09:00", tz="Europe/Paris")
    assert _ids(filter_table(table, end=at_a)) == []
    assert _ids(filter_table(table, start=at_a))[0] == "A"
    assert filter_table(table).index.equals(pd.RangeIndex(14))


def test_segment_filters(table) -> None:
    smb = filter_table(table, segments={"team": ["smb"], "rep": []})  # empty selection: all
    assert _ids(smb) == list("ACDFGIJLM")
    assert _ids(filter_table(table, segments={"rep": ["Tom", "Lea"]})) == list("ACIJ")
    both = filter_table(
        table, end="2026-10-01", segments={"team": ["mid_market"]}, timezone="Europe/Paris"
    )
    assert _ids(both) == list("BE")
    assert _ids(filter_table(table, segments={"sector": ["unknown"]})) == ["F"]
    with pytest.raises(ValueError, match="cannot filter on 'status'"):
        filter_table(table, segments={"status": ["accepted"]})


# --- sla_overview -------------------------------------------------------------------------------
def test_overview_headline_numbers(table, policy) -> None:
    o = sla_overview(table, policy)
    assert (o.leads, o.handed_off, o.months, o.commitment) == (14, 13, 3, 480)  # 160 x 3
    assert o.commitment_share == approx(13 / 480)
    # accepted A B H K L, rejected C D G I J; E M N undecided and left out
    assert (o.accepted, o.rejected) == (5, 5)
    assert o.acceptance_rate == approx(0.5) and o.rejection_rate == approx(0.5)
    # C G I J carry a reason, D does not
    assert o.rejected_with_reason == 4 and o.feedback_completeness == approx(0.8)
    assert (o.opportunities, o.won) == (3, 2)
    assert o.conversion == approx(3 / 13) and o.won_rate == approx(2 / 13)
    assert sla_overview(table, policy, months=6).commitment == 960


def test_overview_per_tier(table, policy) -> None:
    t = sla_overview(table, policy).tiers.set_index("tier")
    assert list(t.index) == ["hot", "warm", "cold"]
    assert list(t["deadline"]) == ["4 business hours", "48 business hours", "5 business days"]
    assert list(t["handed_off"]) == [5, 3, 5]  # hot A E G L N; warm B H M; cold C D I J K
    assert list(t["contacted"]) == [3, 2, 5]
    # hot: responses 1.5, 2.0, 7.5 -> median 2.0; p90 at 0.9*2 = 1.8: 2.0 + 0.8*(7.5-2.0) = 6.4
    # warm: 10.5, 15.0 -> median 12.75; p90 at 0.9: 10.5 + 0.9*4.5 = 14.55
    # cold: 0.5, 7.5, 18.5, 26.0, 36.5 -> median 18.5; p90 at 3.6: 26 + 0.6*10.5 = 32.3
    assert list(t["median_response_bh"]) == approx([2.0, 12.75, 18.5])
    assert list(t["p90_response_bh"]) == approx([6.4, 14.55, 32.3])
    # deadlines: hot all 4; warm all 48; cold 36.5 x4 and D's 24 (contact_form cap) -> 36.5
    assert list(t["deadline_bh"]) == approx([4.0, 48.0, 36.5])
    # hot: met A G, breached E L, open N; warm: met B H, breached M; cold: D breached
    assert list(t["met"]) == [2, 2, 4]
    assert list(t["breached"]) == [2, 1, 1]
    assert list(t["open"]) == [1, 0, 0]
    assert list(t["within_sla_share"]) == approx([0.5, 2 / 3, 0.8])


def test_overview_commitment_by_segment(table, policy) -> None:
    o = sla_overview(table, policy)
    assert o.segment_field == "employee_band"
    seg = o.by_segment.set_index("level")
    # handed off per band: 10-49 C I M; 50-249 A G J L; 250-999 B H N; 1000-4999 E; 5000+ K
    # (D is 1-9, which has no target)
    assert seg["handed_off"].to_dict() == {
        "10-49": 3, "50-249": 4, "250-999": 3, "1000-4999": 1, "5000+": 1
    }  # fmt: skip
    assert seg["commitment"].to_dict() == {
        "10-49": 90, "50-249": 180, "250-999": 120, "1000-4999": 45, "5000+": 15
    }  # fmt: skip
    assert seg.loc["50-249", "share"] == approx(4 / 180)


def test_overview_of_a_filtered_table(table, policy) -> None:
    o = sla_overview(filter_table(table, segments={"team": ["smb"]}), policy)
    # smb handed off: A C D G I J L M; accepted A L; rejected C D G I J
    assert (o.handed_off, o.accepted, o.rejected) == (8, 2, 5)
    assert o.acceptance_rate == approx(2 / 7)


# --- monthly trends and triggers ----------------------------------------------------------------
def test_monthly_trends(table, policy) -> None:
    m = monthly_trends(table, policy).set_index("month")
    assert list(m.index) == ["2026-09", "2026-10", "2026-11"]
    assert list(m["leads"]) == [5, 6, 3]  # F is an October lead in Paris
    assert list(m["handed_off"]) == [5, 5, 3]
    assert list(m["commitment"]) == [160, 160, 160]
    # Sep: A B accepted, C D rejected; Oct: H K / G I J; Nov: L / none
    assert list(m["accepted"]) == [2, 2, 1]
    assert list(m["rejected"]) == [2, 3, 0]
    assert list(m["acceptance_rate"]) == approx([0.5, 0.4, 1.0])
    assert list(m["rejection_rate"]) == approx([0.5, 0.6, 0.0])
    # Sep: met A B C, breached D E; Oct: all five met; Nov: L M breached, N open
    assert list(m["within_sla_share"]) == approx([0.6, 1.0, 0.0])
    # Sep: 2.0 10.5 18.5 26.0 -> 14.5; Oct: 0.5 1.5 7.5 15 36.5 -> 7.5; Nov: L 7.5
    assert list(m["median_response_bh"]) == approx([14.5, 7.5, 7.5])
    assert m["completeness"].iloc[:2].tolist() == approx([0.5, 1.0])
    assert math.isnan(m.loc["2026-11", "completeness"])  # no rejection: unknown, not 0
    assert list(m["conversion"]) == approx([1 / 5, 1 / 5, 1 / 3])  # A; H; L
    assert list(m["won_rate"]) == approx([1 / 5, 0.0, 1 / 3])


def test_monthly_trends_fill_missing_months(table, policy) -> None:
    gap = table[table["month"] != "2026-10"]
    m = monthly_trends(gap, policy)
    assert list(m["month"]) == ["2026-09", "2026-10", "2026-11"]
    assert m.loc[1, "handed_off"] == 0 and math.isnan(m.loc[1, "acceptance_rate"])


def test_triggers_on_the_fixture(table, policy) -> None:
    m = monthly_trends(table, policy)
    assert review_triggers(m, policy) == []  # no month has the 10 decisions a trigger needs
    # with 2: Sep 50% is not below the floor, Oct 40% is alone, Sep->Oct drops 10 points only;
    # rejections: Sep 2 of 4 (50%) and Oct 3 of 5 (60%) are at or above 40%; Nov has 1 decision
    fired = review_triggers(m, policy, min_decisions=2)
    assert [(t.kind, t.months) for t in fired] == [
        ("revision_clause", ("2026-09",)),
        ("revision_clause", ("2026-10",)),
    ]
    assert fired[1].message == (
        "Sales rejected 60% of the decided leads in 2026-10 (3 of 5): at 40% or more, the "
        "SLA's revision clause opens."
    )
    # with 5, September's 4 decisions are too few
    assert [t.months for t in review_triggers(m, policy, min_decisions=5)] == [("2026-10",)]


def _monthly(rows: list[tuple[str, int, int]]) -> pd.DataFrame:
    """A monthly_trends-like frame from (month, decisions, accepted)."""
    m = pd.DataFrame(rows, columns=["month", "decisions", "accepted"])
    m["rejected"] = m["decisions"] - m["accepted"]
    m["acceptance_rate"] = m["accepted"] / m["decisions"]
    m["rejection_rate"] = m["rejected"] / m["decisions"]
    return m


def test_acceptance_floor_two_months_running(policy) -> None:
    m = _monthly(
        [
            ("2026-06", 20, 11),  # 55%
            ("2026-07", 20, 9),  # 45%  below
            ("2026-08", 20, 8),  # 40%  below: two months running -> fires
            ("2026-09", 9, 1),  # 11%, but 9 decisions: ignored, and it breaks the run
            ("2026-10", 10, 4),  # 40%  below, 10 decisions count, but alone
            ("2026-11", 10, 5),  # 50%  exactly the floor: not below
        ]
    )
    floor = [t for t in review_triggers(m, policy) if t.kind == "acceptance_floor"]
    assert len(floor) == 1
    assert floor[0].months == ("2026-07", "2026-08")
    assert floor[0].value == approx(0.40)
    assert floor[0].message == (
        "Acceptance was 45% in 2026-07 and 40% in 2026-08, below the 50% floor two months "
        "running: the SLA says to hold a review."
    )
    # the SLA could ask for three months: then nothing fires
    strict = policy.model_copy(
        update={
            "review_triggers": ReviewTriggers(
                acceptance_floor=0.5, consecutive_months=3, mom_drop_points=15,
                rejection_rate_revision=0.4,
            )
        }
    )  # fmt: skip
    assert [t for t in review_triggers(m, strict) if t.kind == "acceptance_floor"] == []


def test_acceptance_floor_run_of_three_and_rounding(policy) -> None:
    m = _monthly(
        [
            ("2026-01", 250, 124),  # 49.6%: shown with a decimal, "50%" would read as the floor
            ("2026-02", 250, 110),  # 44%
            ("2026-03", 20, 9),  # 45%
            ("2026-05", 20, 9),  # 45%, but April is missing: not consecutive
        ]
    )
    floor = [t for t in review_triggers(m, policy) if t.kind == "acceptance_floor"]
    assert [t.months for t in floor] == [("2026-01", "2026-02", "2026-03")]
    assert floor[0].message == (
        "Acceptance was 49.6% in 2026-01, 44% in 2026-02 and 45% in 2026-03, below the 50% "
        "floor three months running: the SLA says to hold a review."
    )


def test_month_over_month_drop(policy) -> None:
    m = _monthly(
        [
            ("2026-01", 20, 12),  # 60%
            ("2026-02", 20, 9),  # 45%: a drop of exactly 15 points -> fires
            ("2026-03", 20, 13),  # 65%
            ("2026-04", 20, 10),  # 50%: 15 points again -> fires
            ("2026-06", 20, 7),  # 35%: 15 points below April, but May is missing
            ("2026-07", 20, 10),  # 50%
            ("2026-08", 200, 140),  # 70%
            ("2026-09", 200, 111),  # 55.5%: 14.5 points -> does not fire
            ("2026-10", 9, 9),  # 100%, 9 decisions: too few
            ("2026-11", 10, 2),  # 20%: 80 points below a month that does not count
        ]
    )
    drops = [t for t in review_triggers(m, policy) if t.kind == "acceptance_drop"]
    assert [t.months for t in drops] == [("2026-01", "2026-02"), ("2026-03", "2026-04")]
    assert drops[0].value == approx(15.0)
    assert drops[0].message == (
        "Acceptance fell from 60% in 2026-01 to 45% in 2026-02, a drop of 15 points (the SLA "
        "calls for a review at 15 points or more)."
    )


def test_revision_clause_boundary(policy) -> None:
    m = _monthly(
        [
            ("2026-01", 20, 12),  # 8 of 20 rejected = 40%: fires (40% or more)
            ("2026-02", 1000, 601),  # 39.9%: does not
            ("2026-03", 9, 0),  # 100%, 9 decisions: too few
        ]
    )
    rev = [t for t in review_triggers(m, policy) if t.kind == "revision_clause"]
    assert [t.months for t in rev] == [("2026-01",)]
    assert rev[0].message == (
        "Sales rejected 40% of the decided leads in 2026-01 (8 of 20): at 40% or more, the "
        "SLA's revision clause opens."
    )


# --- segments, reasons, reps ---------------------------------------------------------------------
def test_acceptance_by_team(table, policy) -> None:
    a = acceptance_by_segment(table, "team", policy, min_decisions=2)
    # smb: 8 handed off, A L accepted, C D G I J rejected; mid_market: B E H K N, B H K accepted
    assert list(a["level"]) == ["smb", "mid_market"]
    assert list(a["handed_off"]) == [8, 5]
    assert list(a["accepted"]) == [2, 3] and list(a["rejected"]) == [5, 0]
    assert list(a["acceptance_rate"]) == approx([2 / 7, 1.0])
    assert list(a["rejection_rate"]) == approx([5 / 7, 0.0])
    assert list(a["below_floor"]) == [True, False]
    # with the default 10 decisions, 7 are too few to flag
    assert not acceptance_by_segment(table, "team", policy)["below_floor"].any()


def test_acceptance_by_score_band(table, policy) -> None:
    a = acceptance_by_segment(table, "score_band", policy)
    # 40-49 J; 50-59 C D K; 60-69 B I M; 70-79 E H L; 80-89 A N; 90-100 G
    assert list(a["level"]) == ["40-49", "50-59", "60-69", "70-79", "80-89", "90-100"]
    assert list(a["handed_off"]) == [1, 3, 3, 3, 2, 1]
    assert list(a["accepted"]) == [0, 1, 1, 2, 1, 0]
    assert list(a["rejected"]) == [1, 2, 1, 0, 0, 1]
    with pytest.raises(ValueError, match="unknown segment"):
        acceptance_by_segment(table, "status", policy)


def test_reason_mix_by_rep(table) -> None:
    mix = reason_mix(table, "rep")
    # rejections: Tom C no_budget + J bad_timing; Nathan D (no reason); Sarah G; Lea I
    assert len(mix) == 4 * 5  # every rep x reason pair, zeros included
    assert list(mix["reason"].unique()) == [
        "bad_timing", "no_authority", "no_budget", "out_of_target", "(no reason)"
    ]  # fmt: skip
    cell = mix.set_index(["level", "reason"])
    assert cell.loc[("Tom", "no_budget"), "count"] == 1
    assert cell.loc[("Tom", "no_budget"), "share"] == approx(0.5)
    assert cell.loc[("Tom", "out_of_target"), "count"] == 0
    assert cell.loc[("Tom", "out_of_target"), "share"] == 0.0
    assert cell.loc[("Tom", "bad_timing"), "rejected"] == 2
    assert cell.loc[("Nathan", "(no reason)"), "share"] == approx(1.0)
    assert mix.groupby("level")["share"].sum().tolist() == approx([1.0] * 4)


def test_reason_trends(table) -> None:
    tr = reason_trends(table).set_index(["month", "reason"])
    assert len(tr) == 3 * 5
    # Sep: C no_budget, D (no reason); Oct: G out_of_target, I no_authority, J bad_timing
    assert tr.loc[("2026-09", "no_budget"), "share"] == approx(0.5)
    assert tr.loc[("2026-09", "(no reason)"), "count"] == 1
    assert tr.loc[("2026-10", "bad_timing"), "share"] == approx(1 / 3)
    assert tr.loc[("2026-10", "bad_timing"), "rejected"] == 3
    # month over month, in points: no_budget 50% -> 0%, bad_timing 0% -> 33.3%
    assert tr.loc[("2026-10", "no_budget"), "share_change_points"] == approx(-50.0)
    assert tr.loc[("2026-10", "bad_timing"), "share_change_points"] == approx(100 / 3)
    assert math.isnan(tr.loc[("2026-09", "no_budget"), "share_change_points"])
    nov = tr.loc["2026-11"]  # no rejection in November: counts 0, shares unknown
    assert (nov["count"] == 0).all() and nov["share"].isna().all()


def test_rep_gaps(table, policy) -> None:
    r = rep_gaps(table, policy)
    # team acceptance: smb 2 of 7 (A L / C D G I J), mid_market 3 of 3 (B H K)
    assert list(r["rep"]) == ["Camille", "Hugo", "Ines", "Sarah", "Tom", "Lea", "Nathan"]
    by = r.set_index("rep")
    assert by.loc["Lea", "team"] == "smb" and by.loc["Camille", "team"] == "mid_market"
    assert by["handed_off"].to_dict() == {
        "Camille": 3, "Hugo": 1, "Ines": 1, "Sarah": 2, "Tom": 2, "Lea": 2, "Nathan": 2
    }  # fmt: skip
    # Lea: A accepted, I rejected -> 50%, gap (1/2 - 2/7) * 100 = 300/14 = 21.43 points
    assert by.loc["Lea", "acceptance_rate"] == approx(0.5)
    assert by.loc["Lea", "team_acceptance_rate"] == approx(2 / 7)
    assert by.loc["Lea", "gap_points"] == approx(300 / 14)
    assert by.loc["Tom", "gap_points"] == approx(-200 / 7)  # 0% vs 2/7
    assert by.loc["Camille", "gap_points"] == approx(0.0)  # K accepted; E N undecided
    # medians of the reps' responses: Lea 2.0 & 36.5; Tom 18.5 & 7.5; Nathan 26.0 & 7.5
    assert by.loc["Lea", "median_response_bh"] == approx(19.25)
    assert by.loc["Tom", "median_response_bh"] == approx(13.0)
    assert by.loc["Nathan", "median_response_bh"] == approx(16.75)
    assert by.loc["Camille", "median_response_bh"] == approx(0.5)  # only K was contacted
    # within SLA: Nathan D and L both breached; Sarah G met, M breached; Camille E breached,
    # K met (N open, not judged)
    assert by.loc["Nathan", "within_sla_share"] == approx(0.0)
    assert by.loc["Sarah", "within_sla_share"] == approx(0.5)
    assert by.loc["Camille", "within_sla_share"] == approx(0.5)
    # completeness: Nathan's one rejection (D) has no reason; Hugo rejected nothing
    assert by.loc["Nathan", "completeness"] == approx(0.0)
    assert by.loc["Tom", "completeness"] == approx(1.0)
    assert math.isnan(by.loc["Hugo", "completeness"])


def test_superficial_acceptances(table) -> None:
    s = superficial_acceptances(table)
    assert _ids(s.leads) == ["B"]
    assert s.leads.loc[0, "rep"] == "Hugo" and s.leads.loc[0, "tier"] == "warm"
    # accepted with a rep: A Lea, B Hugo, H Ines, K Camille, L Nathan, one each
    assert list(s.by_rep["rep"]) == ["Hugo", "Camille", "Ines", "Lea", "Nathan"]
    assert list(s.by_rep["accepted"]) == [1, 1, 1, 1, 1]
    assert list(s.by_rep["superficial"]) == [1, 0, 0, 0, 0]
    assert list(s.by_rep["share"]) == approx([1.0, 0.0, 0.0, 0.0, 0.0])
    assert s.by_rep.loc[0, "team"] == "mid_market"


def _explanations() -> pd.DataFrame:
    rows = [
        ("C", "bant_budget", "Budget: confirmed +8 pts", 8.0),  # no_budget: contradicts
        ("C", "source", "Source: partner_referral +12 pts", 12.0),  # not about the reason
        ("G", "employee_band", "Employees: 50-249 +6 pts", 6.0),  # out_of_target: contradicts
        ("G", "sector", "Sector: retail +4 pts", 4.0),  # under 5 points
        ("I", "seniority", "Seniority: c_level +5 pts", 5.0),  # exactly 5: contradicts
        ("I", "job_function", "Function: finance +5 pts", 4.99),  # just under
        ("J", "bant_timeline", "Timeline: gt_12m -7 pts", -7.0),  # negative: agrees
        ("A", "bant_budget", "Budget: confirmed +9 pts", 9.0),  # A was accepted
        ("D", "bant_budget", "Budget: confirmed +10 pts", 10.0),  # D has no reason
    ]
    return pd.DataFrame(rows, columns=["lead_id", "feature", "label", "points"])


def test_reason_contradictions(table) -> None:
    c = reason_contradictions(table, _explanations())
    assert list(c.columns) == ["lead_id", "rep", "rejection_reason", "feature", "label", "points"]
    assert c[["lead_id", "rep", "rejection_reason", "feature", "points"]].values.tolist() == [
        ["C", "Tom", "no_budget", "bant_budget", 8.0],
        ["G", "Sarah", "out_of_target", "employee_band", 6.0],
        ["I", "Lea", "no_authority", "seniority", 5.0],
    ]
    assert len(reason_contradictions(table, _explanations(), min_points=7.0)) == 1
    assert REASON_FEATURES["out_of_target"] == ("employee_band", "sector", "country")


def test_reason_contradictions_with_model_feature_names(table) -> None:
    # the model calls its budget feature "budget", computed from the bant_budget field
    expl = pd.DataFrame(
        [("C", "budget", "Budget: confirmed +8 pts", 8.0)],
        columns=["lead_id", "feature", "label", "points"],
    )
    assert reason_contradictions(table, expl).empty
    c = reason_contradictions(table, expl, feature_sources={"budget": "bant_budget"})
    assert c[["lead_id", "feature"]].values.tolist() == [["C", "budget"]]


def test_decision_log_newest_first_with_preview() -> None:
    long_case = "Executive of a company below the MQL size rule, " * 3
    d = pd.DataFrame(
        {
            "decision_id": [1, 2, 3],
            "lead_id": ["A", None, "C"],
            "case": ["Short case", long_case, "Other\ncase"],
            "decision": ["x", "y", "z"],
            "reasoning": ["r1", "r2", "r3"],
            "decided_by": ["Marie", "Julien", "Marie"],
            "decided_at": pd.to_datetime(
                ["2026-09-01 10:00", "2026-10-01 10:00", "2026-10-01 10:00"], utc=True
            ),
        }
    )
    log = decision_log(d)
    assert list(log["decision_id"]) == [3, 2, 1]  # same time: the later entry first
    assert log.loc[0, "preview"] == "Other case"  # whitespace folded to one line
    preview = log.loc[1, "preview"]
    assert len(preview) <= 80 and preview.endswith("…") and long_case.startswith(preview[:-1])
    assert log.loc[2, "preview"] == "Short case"
    assert log.loc[1, "case"] == long_case  # the whole text is kept for the drill-down


def test_everything_copes_with_an_empty_table(policy) -> None:
    empty = build_lead_table(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), policy)
    o = sla_overview(empty, policy)
    assert (o.handed_off, o.commitment) == (0, 0) and np.isnan(o.acceptance_rate)
    assert list(o.tiers["handed_off"]) == [0, 0, 0]
    m = monthly_trends(empty, policy)
    assert m.empty and review_triggers(m, policy) == []
    assert acceptance_by_segment(empty, "rep", policy).empty
    assert reason_mix(empty, "source").empty and reason_trends(empty).empty
    assert rep_gaps(empty, policy).empty
    assert superficial_acceptances(empty).by_rep.empty
    assert reason_contradictions(empty, _explanations()).empty

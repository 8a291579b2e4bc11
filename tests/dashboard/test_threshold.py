"""Threshold what-if: counts and sums against a pandas filter, the queue against event-by-event
simulations, deadlines against ``BusinessCalendar.add_days``, and a tiny case counted by hand."""

from __future__ import annotations

import copy
import heapq
import math
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from dashboard.threshold import (
    FLOW_COLUMNS,
    ThresholdModel,
    _deadlines_us,
    _quantiles,
    _working_days,
    fifo_starts,
    flow_from_lead_table,
    last_full_months,
)
from feature_defs.contract import DEFAULT_POLICY
from feature_defs.policy import parse_policy
from feature_defs.sla import assign_tier, due_at
from feature_defs.yaml_io import read_yaml

PARIS = "Europe/Paris"
H = 3_600_000_000  # µs per hour


# --- fixtures ---------------------------------------------------------------------------------


def _plain_policy(tiers: list[dict] | None = None):
    """UTC, Monday-Friday 09:00-17:00, no holidays, one team of one rep making 2 contacts a day."""
    body = copy.deepcopy(read_yaml(DEFAULT_POLICY))
    body["calendar"] = {
        "timezone": "UTC",
        "hours": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
        "holidays_country": None,
    }
    body["capacity"] = {"teams": [{"name": "solo", "reps": ["Ann"], "contacts_per_rep_per_day": 2}]}
    body["source_deadline_caps"] = []
    body["tiers"] = tiers or [
        {"name": "hot", "min_score": 80, "deadline": {"business_hours": 2}},
        {"name": "warm", "min_score": 65, "deadline": {"business_hours": 8}},
        {"name": "cold", "min_score": 50, "deadline": {"business_days": 1}},
    ]
    return parse_policy(body)


def _random_flow(n: int, seed: int, start: str, days: int, tz: str = PARIS) -> pd.DataFrame:
    """Bursty flow: some days of ~50 leads, many of ~5; ties in scores; gaps in probabilities."""
    rng = np.random.default_rng(seed)
    per_day = np.where(rng.random(days) < 0.15, 50, 5).astype(float)
    day = rng.choice(days, size=n, p=per_day / per_day.sum())
    hour = np.where(rng.random(n) < 0.8, rng.uniform(8, 19, n), rng.uniform(0, 24, n))
    local = pd.Timestamp(start) + pd.to_timedelta(day * 86400 + np.round(hour * 3600), unit="s")
    created = (
        pd.DatetimeIndex(local)
        .tz_localize(tz, nonexistent="shift_forward", ambiguous=False)
        .tz_convert("UTC")
    )
    score = np.round(rng.uniform(0, 100, n), 1)  # one decimal: many ties
    score[rng.random(n) < 0.02] = np.nan
    pa = np.clip(score / 100 + rng.normal(0, 0.05, n), 0, 1)
    po = pa * 0.3
    pa[rng.random(n) < 0.03] = np.nan
    po[rng.random(n) < 0.03] = np.nan
    flow = pd.DataFrame(
        {
            "created_at": created,
            "score": score,
            "p_accept": pa,
            "p_opportunity": po,
            "team": rng.choice(["smb", "mid_market"], n, p=[0.6, 0.4]),
            "source": rng.choice(
                ["demo_request", "webinar", "partner_referral", "paid_search", None], n
            ),
            "excluded": rng.random(n) < 0.08,
        }
    )
    return flow.sort_values("created_at", ignore_index=True)


@pytest.fixture(scope="module")
def flow() -> pd.DataFrame:
    return _random_flow(2500, seed=3, start="2026-03-01", days=92)


@pytest.fixture(scope="module")
def model(flow, contract) -> ThresholdModel:
    return ThresholdModel.build(flow, contract.policy)


# --- counts and sums: equal to a direct pandas filter-and-sum ---------------------------------


@pytest.mark.parametrize(
    ("threshold", "hot", "warm"),
    [(50, 75, 62), (0, 75, 62), (33.3, 40.1, 35.0), (62.0, 90.0, 80.5), (99.9, 100, 99.95)],
)
def test_counts_and_sums_equal_a_pandas_filter(model, flow, contract, threshold, hot, warm):
    w = model.evaluate(threshold, hot, warm)
    ok = ~flow["excluded"] & flow["score"].notna()
    mql = ok & (flow["score"] >= threshold)
    below = ok & (flow["score"] < threshold)
    has_p = flow["p_accept"].notna() & flow["p_opportunity"].notna()
    assert w.leads == len(flow)
    assert w.excluded == int(flow["excluded"].sum())
    assert w.unscored == int((~flow["excluded"] & flow["score"].isna()).sum())
    assert w.mqls == int(mql.sum())
    assert w.below_threshold == int(below.sum())
    assert w.missing_probabilities == int((mql & ~has_p).sum())
    assert w.expected_accepted == pytest.approx(flow.loc[mql & has_p, "p_accept"].sum(), rel=1e-12)
    assert w.expected_opportunities == pytest.approx(
        flow.loc[mql & has_p, "p_opportunity"].sum(), rel=1e-12
    )
    assert w.lost_opportunities == pytest.approx(
        flow.loc[below & has_p, "p_opportunity"].sum(), rel=1e-12, abs=1e-9
    )
    if (mql & has_p).any():
        assert w.expected_acceptance_rate == pytest.approx(
            flow.loc[mql & has_p, "p_accept"].mean(), rel=1e-12
        )
    else:
        assert math.isnan(w.expected_acceptance_rate)

    month = flow["created_at"].dt.tz_convert(PARIS).dt.strftime("%Y-%m")
    sums = flow[["p_accept", "p_opportunity"]].where(has_p, 0.0)
    by_month = (
        sums[mql]
        .assign(score=flow["score"])
        .groupby(month[mql])
        .agg(mqls=("score", "size"), acc=("p_accept", "sum"), opp=("p_opportunity", "sum"))
    )
    by_month = by_month.reindex(["2026-03", "2026-04", "2026-05"], fill_value=0)
    assert list(w.monthly["month"]) == ["2026-03", "2026-04", "2026-05"]
    assert list(w.monthly["mqls"]) == list(by_month["mqls"])
    assert list(w.monthly["commitment"]) == [contract.policy.monthly_commitment.total] * 3
    np.testing.assert_allclose(w.monthly["expected_accepted"], by_month["acc"], rtol=1e-12)
    np.testing.assert_allclose(w.monthly["expected_opportunities"], by_month["opp"], rtol=1e-12)

    by_team = flow[mql].groupby("team").size().reindex(["mid_market", "smb"], fill_value=0)
    assert list(w.teams["team"]) == ["mid_market", "smb"]
    assert list(w.teams["mqls"]) == list(by_team)
    pol = contract.policy.model_copy(
        update={
            "handoff_threshold": threshold,
            "tiers": [
                t.model_copy(update={"min_score": m})
                for t, m in zip(contract.policy.tiers, (hot, warm, threshold))
            ],
        }
    )
    tiers = pd.Series(assign_tier(flow.loc[mql, "score"], pol)).value_counts()
    assert list(w.tiers["mqls"]) == [int(tiers.get(n, 0)) for n in ("hot", "warm", "cold")]
    assert list(w.tiers["min_score"]) == [hot, warm, threshold]


def test_defaults_are_the_policy(model, contract) -> None:
    p = contract.policy
    w = model.evaluate()
    assert w.threshold == p.handoff_threshold
    assert w.cutoffs == (("hot", 75.0), ("warm", 62.0), ("cold", 50.0))
    assert w.mqls == model.evaluate(50, 75, 62).mqls


def test_load_per_rep_against_capacity(model, flow, contract) -> None:
    w = model.evaluate(50, 75, 62)
    # March-May 2026 in France: 22 + 22 + 21 weekdays, minus Easter Monday (6 Apr), 1 May,
    # 8 May, Ascension (14 May) and Whit Monday (25 May).
    assert w.business_days == 22 + 22 + 21 - 5 == 60
    for team in contract.policy.capacity.teams:
        row = w.teams.set_index("team").loc[team.name]
        n = int(((flow["team"] == team.name) & ~flow["excluded"] & (flow["score"] >= 50)).sum())
        assert row["reps"] == len(team.reps)
        assert row["load_per_rep_day"] == pytest.approx(n / (len(team.reps) * 60))
        assert row["utilisation"] == pytest.approx(n / (len(team.reps) * 60) / 2)
        # service time: mean business day / contacts per rep per day (Mon-Thu 7.5 h, Fri 7 h)
        cal = contract.policy.business_calendar()
        span = cal.elapsed(
            pd.Timestamp("2026-03-01", tz=PARIS).to_pydatetime(),
            pd.Timestamp("2026-06-01", tz=PARIS).to_pydatetime(),
        )
        assert row["service_hours"] == pytest.approx(span / timedelta(hours=1) / 60 / 2, abs=1e-9)


# --- the queue ----------------------------------------------------------------------------------


def _heap_starts(arrivals: np.ndarray, servers: int, service: int) -> np.ndarray:
    """Event by event: each arrival, in order, takes the server that frees first."""
    free = [0] * servers
    heapq.heapify(free)
    out = []
    for a in arrivals.tolist():
        start = max(a, heapq.heappop(free))
        out.append(start)
        heapq.heappush(free, start + service)
    return np.asarray(out, dtype=np.int64)


@pytest.mark.parametrize("servers", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fifo_recursion_equals_heap_simulation(servers, seed) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    gaps = np.where(rng.random(n) < 0.3, 0, rng.exponential(2 * H, n).astype(np.int64))
    arrivals = np.cumsum(gaps) + 10**15  # bursts of simultaneous arrivals included
    service = int(rng.integers(1, 5 * H))
    np.testing.assert_array_equal(
        fifo_starts(arrivals, servers, service), _heap_starts(arrivals, servers, service)
    )


def test_fifo_edge_cases() -> None:
    assert len(fifo_starts(np.empty(0, np.int64), 3, H)) == 0
    np.testing.assert_array_equal(fifo_starts(np.array([5, 5, 5]), 5, H), [5, 5, 5])
    np.testing.assert_array_equal(fifo_starts(np.array([0, 0, 0]), 1, 10), [0, 10, 20])


def test_hand_counted_tiny_case() -> None:
    """One rep, 2 contacts/day, 09:00-17:00 UTC: a contact takes 4 business hours.

    March 2026 (the 1st is a Sunday). Business time runs only 09:00-17:00 Mon-Fri.
      L1 Mon 2, 09:00, score 90 hot (2 h):  starts 09:00 (Mon)          wait 0       met
      L2 Mon 2, 10:00, score 70 warm (8 h): starts 13:00 (L1 ends)      wait 3 h     met
      L3 Mon 2, 11:00, score 85 hot (2 h):  starts 17:00 = Tue 09:00    wait 6 h     late
      L4 Mon 2, 20:00, score 55 cold (1 business day): arrives Tue 09:00; starts Tue 13:00
                                             wait 4 h, deadline Wed 09:00 = 8 h   met
      L5 Sat 7, 10:00, score 90 hot: arrives Mon 9, 09:00; rep idle -> wait 0      met
      L6 Fri 6, 16:00, score 40: below the threshold (lost: its p_opportunity 0.05)
      L7 Tue 3, 10:00, score 95 but excluded: never an MQL
    """
    policy = _plain_policy()
    t = pd.to_datetime(
        [
            "2026-03-02 09:00",
            "2026-03-02 10:00",
            "2026-03-02 11:00",
            "2026-03-02 20:00",
            "2026-03-07 10:00",
            "2026-03-06 16:00",
            "2026-03-03 10:00",
        ]
    ).tz_localize("UTC")
    flow = pd.DataFrame(
        {
            "created_at": t,
            "score": [90, 70, 85, 55, 90, 40, 95],
            "p_accept": [0.9, 0.7, 0.85, 0.55, 0.9, 0.4, 0.95],
            "p_opportunity": [0.3, 0.2, 0.25, 0.1, 0.3, 0.05, 0.5],
            "team": ["solo"] * 7,
            "source": ["webinar"] * 7,
            "excluded": [False] * 6 + [True],
        }
    )
    w = ThresholdModel.build(flow, policy).evaluate(50, 80, 65)
    assert (w.mqls, w.excluded, w.below_threshold) == (5, 1, 1)
    assert w.expected_accepted == pytest.approx(0.9 + 0.7 + 0.85 + 0.55 + 0.9)
    assert w.expected_opportunities == pytest.approx(0.3 + 0.2 + 0.25 + 0.1 + 0.3)
    assert w.lost_opportunities == pytest.approx(0.05)
    tiers = w.tiers.set_index("tier")
    assert list(tiers["mqls"]) == [3, 1, 1]
    assert list(tiers["within_deadline"]) == [2, 1, 1]
    assert tiers.loc["hot", "within_share"] == pytest.approx(2 / 3)
    assert tiers.loc["hot", "median_wait_bh"] == 0.0
    assert tiers.loc["hot", "p90_wait_bh"] == pytest.approx(0 + 0.8 * 6)  # waits 0, 0, 6: 1.8th
    assert tiers.loc["warm", "median_wait_bh"] == pytest.approx(3.0)
    assert tiers.loc["cold", "median_wait_bh"] == pytest.approx(4.0)
    team = w.teams.iloc[0]
    assert team["business_days"] == 22  # weekdays of March 2026
    assert team["service_hours"] == pytest.approx(4.0)
    assert team["load_per_rep_day"] == pytest.approx(5 / 22)
    assert team["utilisation"] == pytest.approx(5 / 22 / 2)
    assert team["within_share"] == pytest.approx(4 / 5)
    assert w.monthly.to_dict("records") == [
        {
            "month": "2026-03",
            "mqls": 5,
            "commitment": policy.monthly_commitment.total,
            "expected_accepted": pytest.approx(3.9),
            "expected_opportunities": pytest.approx(1.15),
        }
    ]
    # Raising the hot cutoff above 90 turns L1/L3/L5 warm (8 h): all five now within.
    w2 = ThresholdModel.build(flow, policy).evaluate(50, 95, 65)
    assert list(w2.tiers["mqls"]) == [0, 4, 1]
    assert list(w2.tiers["within_deadline"]) == [0, 4, 1]
    assert math.isnan(w2.tiers.loc[0, "within_share"])
    assert math.isnan(w2.tiers.loc[0, "median_wait_bh"])


def _reference_queue(flow: pd.DataFrame, policy, threshold: float, hot: float, warm: float):
    """Independent path: sla.due_at (scalar add_days) for deadlines, a heap per team."""
    cal = policy.business_calendar()
    pol = policy.model_copy(
        update={
            "handoff_threshold": threshold,
            "tiers": [
                t.model_copy(update={"min_score": m})
                for t, m in zip(policy.tiers, (hot, warm, threshold))
            ],
        }
    )
    mql = flow[~flow["excluded"] & (flow["score"] >= threshold)].reset_index(drop=True)
    tier = assign_tier(mql["score"], pol)
    due = due_at(mql["created_at"], tier, list(mql["source"]), pol, cal)
    allowed = cal.elapsed_many(mql["created_at"], due)  # business seconds
    arrival = cal.business_us(mql["created_at"])
    # service time: mean working-day length of the window, day by day with the scalar API
    days = pd.date_range("2026-03-01", "2026-06-01", freq="D", tz=PARIS)
    lengths = [cal.elapsed(a.to_pydatetime(), b.to_pydatetime()) for a, b in zip(days, days[1:])]
    worked = [x for x in lengths if x > timedelta(0)]
    day = sum(worked, timedelta(0)) / len(worked)
    waits = np.zeros(len(mql), dtype=np.int64)
    for team in policy.capacity.teams:
        rows = np.flatnonzero((mql["team"] == team.name).to_numpy())
        rows = rows[np.argsort(mql["created_at"].to_numpy()[rows], kind="stable")]
        s = round(day / timedelta(microseconds=1) / team.contacts_per_rep_per_day)
        starts = _heap_starts(arrival[rows], len(team.reps), s)
        waits[rows] = starts - arrival[rows]
    within = waits / 1e6 <= allowed + 1e-9
    out = {}
    for name in ("hot", "warm", "cold"):
        sel = tier == name
        w = waits[sel] / H
        out[name] = (
            int(sel.sum()),
            int(within[sel].sum()),
            float(np.quantile(w, 0.5)) if sel.any() else math.nan,
            float(np.quantile(w, 0.9)) if sel.any() else math.nan,
        )
    return out


@pytest.mark.parametrize(("threshold", "hot", "warm"), [(50, 75, 62), (20, 75, 62), (70, 90, 80)])
def test_queue_equals_an_event_by_event_simulation(
    model, flow, contract, threshold, hot, warm
) -> None:
    """Default Paris calendar (lunch, holidays, DST on 29 March), bursty days, two teams."""
    w = model.evaluate(threshold, hot, warm)
    ref = _reference_queue(flow, contract.policy, threshold, hot, warm)
    for row in w.tiers.itertuples():
        n, ok, med, p90 = ref[row.tier]
        assert (row.mqls, row.within_deadline) == (n, ok)
        assert row.median_wait_bh == pytest.approx(med, rel=1e-12, abs=1e-9)
        assert row.p90_wait_bh == pytest.approx(p90, rel=1e-12, abs=1e-9)
    if threshold == 20:  # overloaded: the backlog carries over and waits grow past a day
        assert w.teams["utilisation"].max() > 1
        assert w.tiers["p90_wait_bh"].max() > 8


def test_day_deadlines_equal_add_days(contract) -> None:
    """Business-day deadlines, vectorised, equal sla.due_at (scalar add_days) to the µs."""
    policy = contract.policy
    cal = policy.business_calendar()
    rng = np.random.default_rng(11)
    n = 600
    created = pd.Series(
        pd.Timestamp("2026-01-01", tz="UTC")
        + pd.to_timedelta(rng.integers(0, 365 * 86400, n), unit="s")
    )
    # lunch, evenings, the DST changes, Christmas and Easter explicitly
    extra = pd.Series(
        pd.to_datetime(
            [
                "2026-03-27 16:59:59",
                "2026-03-29 02:30:00",  # does not exist (spring forward): 03:00
                "2026-10-23 16:30:00",
                "2026-10-25 02:30:00",  # happens twice (fall back): the first one
                "2026-12-24 17:45:00",
                "2026-04-03 12:45:00",
                "2026-05-13 18:00:00",
                "2026-06-05 12:30:00",
            ]
        ).tz_localize(PARIS, nonexistent="shift_forward", ambiguous=True)
    ).dt.tz_convert("UTC")
    created = pd.concat([created, extra], ignore_index=True)
    sources = rng.choice(["partner_referral", "webinar", "demo_request", None], len(created))
    arrival = cal.business_us(created)
    days = _working_days(cal, pd.Timestamp("2025-12-30").date(), pd.Timestamp("2027-02-01").date())
    got = _deadlines_us(policy, sources, arrival, days)
    for t, tier in enumerate(policy.tiers):
        due = due_at(created, [tier.name] * len(created), list(sources), policy, cal)
        expected = cal.business_us(due) - arrival
        np.testing.assert_array_equal(got[t], expected)


def test_quantiles_equal_numpy() -> None:
    rng = np.random.default_rng(5)
    for n in (1, 2, 3, 10, 11, 1001):
        x = rng.integers(0, 50, n).astype(np.int64)
        np.testing.assert_allclose(
            _quantiles(x, (0.5, 0.9)), np.quantile(x, [0.5, 0.9]), rtol=1e-12
        )


# --- edge cases ---------------------------------------------------------------------------------


def test_threshold_above_every_score(flow, contract) -> None:
    flow = flow[~(flow["score"] > 99.9)]
    w = ThresholdModel.build(flow, contract.policy).evaluate(99.95, 99.99, 99.97)
    assert w.mqls == 0 and w.expected_accepted == 0 and w.expected_opportunities == 0
    assert math.isnan(w.expected_acceptance_rate)
    ok = ~flow["excluded"] & flow["score"].notna() & flow["p_accept"].notna()
    assert w.lost_opportunities == pytest.approx(flow.loc[ok, "p_opportunity"].sum())
    assert list(w.tiers["mqls"]) == [0, 0, 0]
    assert w.tiers[["within_share", "median_wait_bh", "p90_wait_bh"]].isna().all().all()
    assert list(w.teams["load_per_rep_day"]) == [0.0, 0.0]
    assert list(w.teams["utilisation"]) == [0.0, 0.0]
    assert w.teams["within_share"].isna().all()
    assert list(w.monthly["mqls"]) == [0, 0, 0]


def test_leads_without_probabilities_give_nan_not_zero(flow, contract) -> None:
    """History scored by the old scorecard has no probabilities: say "unknown", never 0."""
    old = flow.assign(p_accept=np.nan, p_opportunity=np.nan)
    w = ThresholdModel.build(old, contract.policy).evaluate()
    assert w.mqls > 0 and w.missing_probabilities == w.mqls
    assert math.isnan(w.expected_accepted) and math.isnan(w.expected_opportunities)
    assert math.isnan(w.expected_acceptance_rate) and math.isnan(w.lost_opportunities)
    assert w.monthly["expected_accepted"].isna().all()
    # Half known (March only): sums over the known leads, the rest counted as missing.
    march = old["created_at"] < pd.Timestamp("2026-04-01", tz=PARIS)
    mixed = old.assign(
        p_accept=np.where(march, 0.5, np.nan), p_opportunity=np.where(march, 0.1, np.nan)
    )
    w = ThresholdModel.build(mixed, contract.policy).evaluate()
    mql = ~mixed["excluded"] & (mixed["score"] >= 50)
    assert w.expected_accepted == pytest.approx(0.5 * (mql & march).sum())
    assert w.missing_probabilities == int((mql & ~march).sum())
    assert w.expected_acceptance_rate == pytest.approx(0.5)
    assert w.monthly["expected_opportunities"].iloc[0] == pytest.approx(0.1 * (mql & march).sum())
    assert w.monthly["expected_opportunities"].iloc[1:].isna().all()
    # No MQL at all: the sums are a true 0.
    w = ThresholdModel.build(old[old["score"] < 50], contract.policy).evaluate()
    assert (w.mqls, w.expected_accepted, w.expected_opportunities) == (0, 0.0, 0.0)


def test_empty_flow(contract) -> None:
    empty = pd.DataFrame({c: [] for c in FLOW_COLUMNS})
    w = ThresholdModel.build(empty, contract.policy).evaluate()
    assert (w.leads, w.mqls, w.business_days) == (0, 0, 0)
    assert w.monthly.empty and list(w.monthly.columns)[:3] == ["month", "mqls", "commitment"]
    assert list(w.teams["mqls"]) == [0, 0]
    assert w.teams["load_per_rep_day"].isna().all()
    assert w.tiers["within_share"].isna().all()
    # With a window: months are listed with zero MQLs and the load is 0, not NaN.
    start, end = last_full_months(pd.Timestamp("2026-06-15", tz="UTC"), contract.policy)
    w = ThresholdModel.build(empty, contract.policy, start=start, end=end).evaluate()
    assert list(w.monthly["month"]) == ["2026-03", "2026-04", "2026-05"]
    assert list(w.monthly["mqls"]) == [0, 0, 0]
    assert w.business_days == 60
    assert list(w.teams["load_per_rep_day"]) == [0.0, 0.0]


def test_team_without_leads(flow, contract) -> None:
    only_smb = flow[flow["team"] == "smb"]
    w = ThresholdModel.build(only_smb, contract.policy).evaluate()
    mid = w.teams.set_index("team").loc["mid_market"]
    assert mid["mqls"] == 0 and mid["load_per_rep_day"] == 0.0
    assert math.isnan(mid["within_share"])
    assert w.teams.set_index("team").loc["smb", "mqls"] == w.mqls > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((101, 75, 62), "threshold must be between 0 and 100, got 101"),
        ((-1, 75, 62), "threshold must be between 0 and 100"),
        ((float("nan"), 75, 62), "threshold must be a finite number"),
        (("50", 75, 62), "threshold must be a finite number"),
        ((True, 75, 62), "threshold must be a finite number"),
        ((50, 120, 62), "hot_min must be between 0 and 100"),
        ((50, 60, 62), "hot_min (60) must be above warm_min (62)"),
        ((50, 62, 62), "hot_min (62) must be above warm_min (62)"),
        ((50, 75, 50), "warm_min (50) must be above threshold (50)"),
        ((70, 75, 62), "warm_min (62) must be above threshold (70)"),
    ],
)
def test_bad_cutoffs_name_the_parameter(model, args, message) -> None:
    with pytest.raises(ValueError) as err:
        model.evaluate(*args)
    assert message in str(err.value)


def test_bad_flows_name_the_column(flow, contract) -> None:
    p = contract.policy
    cases = [
        (flow.drop(columns=["team", "excluded"]), "flow: missing column(s) team, excluded"),
        (flow.assign(created_at=flow["created_at"].dt.tz_localize(None)), "flow.created_at"),
        (flow.assign(score=flow["score"] * 2), "flow.score must be numbers between 0 and 100"),
        (flow.assign(p_accept="high"), "flow.p_accept"),
        (flow.assign(excluded=None), "flow.excluded must be booleans"),
        (flow.assign(team="enterprise"), "flow.team: unknown team(s) enterprise"),
    ]
    for bad, message in cases:
        with pytest.raises(ValueError) as err:
            ThresholdModel.build(bad, p)
        assert message in str(err.value)
    with pytest.raises(ValueError, match="start must be timezone-aware"):
        ThresholdModel.build(flow, p, start=pd.Timestamp("2026-03-01"))


def test_other_tier_counts_use_evaluate_cutoffs(flow) -> None:
    two = _plain_policy(
        [
            {"name": "fast", "min_score": 80, "deadline": {"business_hours": 4}},
            {"name": "slow", "min_score": 50, "deadline": {"business_days": 2}},
        ]
    )
    small = flow.assign(team="solo")
    model = ThresholdModel.build(small, two)
    with pytest.raises(ValueError, match="evaluate_cutoffs"):
        model.evaluate()
    w = model.evaluate_cutoffs(50, [80])
    ok = ~small["excluded"]
    assert list(w.tiers["mqls"]) == [
        int((ok & (small["score"] >= 80)).sum()),
        int((ok & (small["score"] >= 50) & (small["score"] < 80)).sum()),
    ]
    with pytest.raises(ValueError, match="cutoffs: give 1 min score"):
        model.evaluate_cutoffs(50, [80, 70])


# --- window and lead table ----------------------------------------------------------------------


def test_last_full_months_and_window(flow, contract) -> None:
    start, end = last_full_months(pd.Timestamp("2026-05-15 12:00", tz="UTC"), contract.policy, 2)
    assert start == pd.Timestamp("2026-03-01 00:00", tz=PARIS)  # 2026-02-28 23:00 UTC
    assert end == pd.Timestamp("2026-05-01 00:00", tz=PARIS)  # 2026-04-30 22:00 UTC (DST)
    w = ThresholdModel.build(flow, contract.policy, start=start, end=end).evaluate()
    inside = (flow["created_at"] >= start) & (flow["created_at"] < end)
    assert w.leads == int(inside.sum())
    assert list(w.monthly["month"]) == ["2026-03", "2026-04"]
    assert w.mqls == int((inside & ~flow["excluded"] & (flow["score"] >= 50)).sum())
    with pytest.raises(ValueError, match="as_of must be timezone-aware"):
        last_full_months(pd.Timestamp("2026-05-15"), contract.policy)


def test_flow_from_lead_table() -> None:
    table = pd.DataFrame(
        {
            "lead_id": ["a", "b"],
            "created_at": pd.to_datetime(["2026-03-02 10:00", "2026-03-03 11:00"], utc=True),
            "score": [71.0, np.nan],
            "probability": [0.2, np.nan],
            "acceptance_probability": [0.71, np.nan],
            "team": ["smb", "mid_market"],
            "source": ["webinar", "unknown"],
            "excluded_reason": [None, "student"],
        }
    )
    f = flow_from_lead_table(table)
    assert list(f.columns) == list(FLOW_COLUMNS)
    assert f["p_accept"].tolist()[0] == 0.71 and f["p_opportunity"].tolist()[0] == 0.2
    assert f["excluded"].tolist() == [False, True]

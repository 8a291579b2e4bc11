"""Labels are honest: unknown stays unknown, rejections are negatives, explored leads re-weighted."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from training.demo_history import generate
from training.labels import LABEL_COLUMNS, STATUSES, LabelSpec, build_labels, label_summary

T0 = pd.Timestamp("2026-01-05 09:00", tz="UTC")
AS_OF = T0 + pd.Timedelta(days=200)
DAY = pd.Timedelta(days=1)
HOUR = pd.Timedelta(hours=1)
PAID = {"exploration": False, "propensity": 1.0, "scorecard": 62.0}
EXPLORED = {"exploration": True, "propensity": 0.05, "scorecard": 31.0}

# lead ids in a deliberately unsorted order: the output must follow it
LEADS = [
    "M_no_payload",
    "A_no_events",
    "B_worked_not_handed",
    "C_rejected_no_reason",
    "D_accept_then_reject",
    "E_reject_then_accept",
    "F_opportunity_after_rejection",
    "G_opportunity_day_89",
    "H_opportunity_day_91",
    "I_window_open",
    "J_still_open",
    "K_never_worked",
    "L_explored",
    "N_rejected_after_as_of",
    "O_recent_contact_only",
]


def _ev(lead: str, type_: str, at: pd.Timestamp, **kw: object) -> dict[str, object]:
    return {"lead_id": lead, "type": type_, "occurred_at": at, **kw}


def _events() -> pd.DataFrame:
    late = AS_OF - pd.Timedelta(days=40)
    rows = [
        _ev("M_no_payload", "handed_off", T0, payload=None),
        _ev("M_no_payload", "contact_attempt", T0 + 2 * HOUR, outcome="no_answer"),
        _ev("B_worked_not_handed", "contact_attempt", T0 + HOUR, outcome="reached"),
        _ev("B_worked_not_handed", "accepted", T0 + 2 * HOUR),
        _ev("C_rejected_no_reason", "handed_off", T0, payload=PAID),
        _ev("C_rejected_no_reason", "contact_attempt", T0 + HOUR, outcome="reached"),
        _ev("C_rejected_no_reason", "rejected", T0 + 2 * HOUR, reason=None),
        _ev("D_accept_then_reject", "handed_off", T0, payload=PAID),
        _ev("D_accept_then_reject", "accepted", T0 + DAY),
        _ev("D_accept_then_reject", "rejected", T0 + 3 * DAY, reason="no_budget"),
        _ev("E_reject_then_accept", "handed_off", T0, payload=PAID),
        _ev("E_reject_then_accept", "rejected", T0 + DAY, reason="other"),
        _ev("E_reject_then_accept", "accepted", T0 + 2 * DAY),
        _ev("F_opportunity_after_rejection", "handed_off", T0, payload=PAID),
        _ev("F_opportunity_after_rejection", "rejected", T0 + 2 * DAY, reason="bad_timing"),
        _ev("F_opportunity_after_rejection", "opportunity", T0 + 40 * DAY, amount=9000.0),
        _ev("F_opportunity_after_rejection", "won", T0 + 60 * DAY, amount=9000.0),
        _ev("G_opportunity_day_89", "handed_off", T0, payload=PAID),
        _ev("G_opportunity_day_89", "contact_attempt", T0 + HOUR, outcome="reached"),
        _ev("G_opportunity_day_89", "opportunity", T0 + 89 * DAY),
        _ev("G_opportunity_day_89", "lost", T0 + 120 * DAY),
        _ev("H_opportunity_day_91", "handed_off", T0, payload=PAID),
        _ev("H_opportunity_day_91", "accepted", T0 + DAY),
        _ev("H_opportunity_day_91", "opportunity", T0 + 91 * DAY),
        _ev("H_opportunity_day_91", "won", T0 + 100 * DAY),
        _ev("I_window_open", "handed_off", late, payload=PAID),
        _ev("I_window_open", "accepted", late + DAY),
        # 29 days 23 hours before as_of: inside the grace period
        _ev("J_still_open", "handed_off", AS_OF - 30 * DAY + HOUR, payload=PAID),
        # exactly 30 days: the boundary is never_worked; recycling is not a sales action
        _ev("K_never_worked", "handed_off", AS_OF - 30 * DAY, payload=PAID),
        _ev("K_never_worked", "recycled_to_nurturing", AS_OF - 2 * DAY),
        _ev("L_explored", "handed_off", T0, payload=EXPLORED),
        _ev("L_explored", "contact_attempt", T0 + HOUR, outcome="reached"),
        _ev("L_explored", "accepted", T0 + 2 * HOUR),
        _ev("L_explored", "opportunity", T0 + 10 * DAY),
        _ev("N_rejected_after_as_of", "handed_off", T0, payload=PAID),
        _ev("N_rejected_after_as_of", "contact_attempt", T0 + DAY, outcome="voicemail"),
        _ev("N_rejected_after_as_of", "rejected", AS_OF + DAY, reason="unreachable"),
        _ev("O_recent_contact_only", "handed_off", AS_OF - 10 * DAY, payload=PAID),
        _ev("O_recent_contact_only", "contact_attempt", AS_OF - 9 * DAY, outcome="reached"),
        # a lead we do not know: ignored, even as the very latest event
        _ev("ZZ_unknown", "handed_off", T0, payload=PAID),
        _ev("ZZ_unknown", "opportunity", AS_OF + 5 * DAY),
    ]
    frame = pd.DataFrame(rows)
    frame["event_id"] = [f"E{i:03d}" for i in range(len(frame))]
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True)
    frame["payload"] = frame["payload"].astype(object).where(frame["payload"].notna(), None)
    # newest first: the function must order events by time itself
    return frame.iloc[::-1].reset_index(drop=True)


@pytest.fixture(scope="module")
def leads() -> pd.DataFrame:
    return pd.DataFrame({"lead_id": LEADS, "created_at": T0 - HOUR})


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return _events()


@pytest.fixture(scope="module")
def labels(leads, events) -> pd.DataFrame:
    return build_labels(leads, events, LabelSpec(as_of=AS_OF))


@pytest.fixture(scope="module")
def explicit(leads, events) -> pd.DataFrame:
    spec = LabelSpec(acceptance_definition="explicit", as_of=AS_OF)
    return build_labels(leads, events, spec)


def _nan(value: object) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _check(
    labels: pd.DataFrame,
    lead: str,
    status: str,
    accepted: float,
    opportunity: float,
    weight: float,
    won: float | None = None,
) -> None:
    row = labels.loc[lead]
    assert row["status"] == status, lead
    for name, want in (("accepted", accepted), ("opportunity", opportunity), ("weight", weight)):
        got = row[name]
        assert (_nan(got) and _nan(want)) or got == want, (lead, name, got, want)
    if won is not None:
        got = row["won"]
        assert (_nan(got) and _nan(won)) or got == won, (lead, "won", got, won)


NAN = float("nan")


# --- the hand-built frame: every rule -------------------------------------------------------


def test_one_row_per_lead_in_the_order_given(labels) -> None:
    assert list(labels.index) == LEADS
    assert labels.index.name == "lead_id"
    assert "ZZ_unknown" not in labels.index
    assert list(labels.columns) == [
        "handed_off",
        "handed_off_at",
        "propensity",
        "exploration",
        "first_contact_at",
        "decided_at",
        "rejection_reason",
        "status",
        "accepted",
        "opportunity",
        "won",
        "weight",
    ]
    assert tuple(labels.columns) == LABEL_COLUMNS
    assert labels["handed_off"].dtype == bool and labels["exploration"].dtype == bool
    assert str(labels["handed_off_at"].dt.tz) == "UTC"
    assert set(labels["status"]) <= set(STATUSES)


def test_not_handed_off_is_never_labelled(labels) -> None:
    for lead in ("A_no_events", "B_worked_not_handed"):
        _check(labels, lead, "not_handed_off", NAN, NAN, NAN, won=NAN)
        row = labels.loc[lead]
        assert not row["handed_off"] and pd.isna(row["handed_off_at"])
        assert _nan(row["propensity"]) and not row["exploration"]
        assert pd.isna(row["decided_at"])
    # the contact is still reported as a fact, it just labels nothing
    assert labels.loc["B_worked_not_handed", "first_contact_at"] == T0 + HOUR


def test_rejection_without_reason_is_a_negative_for_both_heads(labels) -> None:
    _check(labels, "C_rejected_no_reason", "rejected", 0.0, 0.0, 1.0, won=0.0)
    row = labels.loc["C_rejected_no_reason"]
    assert row["rejection_reason"] is None
    assert row["decided_at"] == T0 + 2 * HOUR
    assert row["first_contact_at"] == T0 + HOUR


def test_latest_decision_wins(labels) -> None:
    _check(labels, "D_accept_then_reject", "rejected", 0.0, 0.0, 1.0, won=0.0)
    assert labels.loc["D_accept_then_reject", "rejection_reason"] == "no_budget"
    assert labels.loc["D_accept_then_reject", "decided_at"] == T0 + 3 * DAY
    # reject then accept: accepted, and the elapsed window without an opportunity is a 0
    _check(labels, "E_reject_then_accept", "accepted", 1.0, 0.0, 1.0, won=0.0)
    assert labels.loc["E_reject_then_accept", "decided_at"] == T0 + 2 * DAY
    assert labels.loc["E_reject_then_accept", "rejection_reason"] is None


def test_an_opportunity_overrides_a_rejection(labels) -> None:
    _check(labels, "F_opportunity_after_rejection", "accepted", 1.0, 1.0, 1.0, won=1.0)
    row = labels.loc["F_opportunity_after_rejection"]
    assert row["rejection_reason"] is None  # the rejection no longer decides
    assert row["decided_at"] == T0 + 40 * DAY  # settled by the opportunity


def test_opportunity_window_is_inclusive_calendar_days(labels) -> None:
    # day 89: inside; acceptance from the first prospecting action; the deal was lost
    _check(labels, "G_opportunity_day_89", "accepted", 1.0, 1.0, 1.0, won=0.0)
    assert labels.loc["G_opportunity_day_89", "decided_at"] == T0 + HOUR
    # day 91: outside, so a 0, and a later win does not make it a won lead of this window
    _check(labels, "H_opportunity_day_91", "accepted", 1.0, 0.0, 1.0, won=0.0)


def test_window_not_elapsed_keeps_the_opportunity_unknown(labels) -> None:
    _check(labels, "I_window_open", "accepted", 1.0, NAN, 1.0, won=NAN)


def test_still_open_versus_never_worked_boundary(labels) -> None:
    _check(labels, "J_still_open", "still_open", NAN, NAN, NAN, won=NAN)
    _check(labels, "K_never_worked", "never_worked", NAN, NAN, NAN, won=NAN)
    for lead in ("J_still_open", "K_never_worked"):
        row = labels.loc[lead]
        assert row["handed_off"] and pd.isna(row["decided_at"]) and pd.isna(row["first_contact_at"])


def test_never_worked_is_not_a_rejection_even_years_later(leads, events) -> None:
    later = build_labels(leads, events, LabelSpec(as_of=AS_OF + pd.Timedelta(days=400)))
    _check(later, "J_still_open", "never_worked", NAN, NAN, NAN)
    _check(later, "K_never_worked", "never_worked", NAN, NAN, NAN)
    # the grace period is a parameter
    strict = build_labels(leads, events, LabelSpec(as_of=AS_OF, never_worked_after_days=29))
    assert strict.loc["J_still_open", "status"] == "never_worked"


def test_explored_lead_carries_the_inverse_propensity(labels) -> None:
    _check(labels, "L_explored", "accepted", 1.0, 1.0, 20.0, won=NAN)  # no outcome yet
    row = labels.loc["L_explored"]
    assert row["exploration"] and row["propensity"] == pytest.approx(0.05)
    assert row["weight"] == pytest.approx(20.0)
    assert labels["exploration"].sum() == 1


def test_missing_payload_means_propensity_one(labels) -> None:
    _check(labels, "M_no_payload", "accepted", 1.0, 0.0, 1.0)  # first action = acceptance
    row = labels.loc["M_no_payload"]
    assert row["propensity"] == 1.0 and not row["exploration"]
    assert row["decided_at"] == T0 + 2 * HOUR


def test_events_after_as_of_are_not_seen(labels, leads, events) -> None:
    _check(labels, "N_rejected_after_as_of", "accepted", 1.0, 0.0, 1.0)
    # without as_of the extraction time is the latest event of a known lead: the rejection
    latest = build_labels(leads, events, LabelSpec())
    _check(latest, "N_rejected_after_as_of", "rejected", 0.0, 0.0, 1.0)
    assert latest.loc["N_rejected_after_as_of", "rejection_reason"] == "unreachable"


def test_default_as_of_ignores_unknown_leads() -> None:
    leads = pd.DataFrame({"lead_id": ["X"]})
    events = pd.DataFrame(
        [
            _ev("X", "handed_off", T0, payload=PAID),
            _ev("unknown", "contact_attempt", T0 + 31 * DAY, payload=None),
        ]
    )
    # as_of = the handoff itself (the unknown lead's event does not count): still open
    assert build_labels(leads, events, LabelSpec()).loc["X", "status"] == "still_open"
    events.loc[1, "lead_id"] = "X"
    assert build_labels(leads, events, LabelSpec()).loc["X", "status"] == "accepted"
    spec = LabelSpec(as_of=T0 + 31 * DAY)
    assert build_labels(leads, events.iloc[:1], spec).loc["X", "status"] == "never_worked"


def test_effective_as_of_is_recorded(labels, leads, events) -> None:
    assert labels.attrs["as_of"] == AS_OF
    assert build_labels(leads, events, LabelSpec()).attrs["as_of"] == AS_OF + DAY
    assert pd.isna(build_labels(leads, events.iloc[:0], LabelSpec()).attrs["as_of"])


def test_decisions_at_the_same_instant_follow_the_input_order() -> None:
    leads = pd.DataFrame({"lead_id": ["X"]})
    both = [_ev("X", "accepted", T0 + DAY), _ev("X", "rejected", T0 + DAY, reason="other")]
    events = pd.DataFrame([_ev("X", "handed_off", T0, payload=PAID), *both])
    spec = LabelSpec(as_of=T0 + 2 * DAY)
    assert build_labels(leads, events, spec).loc["X", "status"] == "rejected"
    events = pd.DataFrame([_ev("X", "handed_off", T0, payload=PAID), *both[::-1]])
    assert build_labels(leads, events, spec).loc["X", "status"] == "accepted"


def test_first_action_definitions_agree(leads, events, labels) -> None:
    first = build_labels(
        leads, events, LabelSpec(acceptance_definition="first_prospecting_action", as_of=AS_OF)
    )
    pd.testing.assert_frame_equal(first, labels)


def test_explicit_definition(explicit, labels) -> None:
    # contact attempts alone decide nothing; an elapsed window still gives the opportunity head a 0
    _check(explicit, "M_no_payload", "worked_undecided", NAN, 0.0, 1.0, won=0.0)
    assert pd.isna(explicit.loc["M_no_payload", "decided_at"])
    _check(explicit, "N_rejected_after_as_of", "worked_undecided", NAN, 0.0, 1.0)
    # recent and undecided: nothing known, no weight
    _check(explicit, "O_recent_contact_only", "worked_undecided", NAN, NAN, NAN)
    # accepted by its first action, but handed off 10 days ago: the label waits for the 30-day
    # grace period, so quick and slow reps' leads are labelled in proportion (right-censoring)
    _check(labels, "O_recent_contact_only", "accepted", NAN, NAN, NAN)
    # an opportunity inside the window settles acceptance even without an explicit decision
    _check(explicit, "G_opportunity_day_89", "accepted", 1.0, 1.0, 1.0, won=0.0)
    assert explicit.loc["G_opportunity_day_89", "decided_at"] == T0 + 89 * DAY
    # explicit decisions are read the same way
    for lead in ("C_rejected_no_reason", "D_accept_then_reject", "E_reject_then_accept"):
        assert explicit.loc[lead, "status"] == labels.loc[lead, "status"]
        assert explicit.loc[lead, "accepted"] == labels.loc[lead, "accepted"]


def test_weight_is_nan_exactly_where_both_labels_are_unknown(labels, explicit) -> None:
    for frame in (labels, explicit):
        unknown = frame["accepted"].isna() & frame["opportunity"].isna()
        assert frame["weight"].isna().equals(unknown)
        known = frame[~unknown]
        np.testing.assert_allclose(known["weight"], 1.0 / known["propensity"])


def test_label_summary(labels) -> None:
    s = label_summary(labels)
    assert s["leads"] == 15 and s["handed_off"] == 13 and s["exploration"] == 1
    assert s["status_not_handed_off"] == 2
    assert s["status_rejected"] == 2  # C, D
    assert s["status_accepted"] == 9  # E F G H I L M N O
    assert s["status_still_open"] == 1 and s["status_never_worked"] == 1
    assert s["status_worked_undecided"] == 0
    assert sum(s[f"status_{x}"] for x in STATUSES) == 15
    assert s["accepted_known"] == 10 and s["accepted_positive"] == 8  # O is too recent
    assert s["opportunity_known"] == 9  # I and O still in their window
    assert s["opportunity_positive"] == 3  # F G L
    assert s["labelled"] == 10
    # nine weights of 1 and one of 20: (9 + 20)^2 / (9 + 400)
    assert s["effective_sample_size"] == pytest.approx(841 / 409)
    assert s["accepted_rate"] == pytest.approx(8 / 10)
    assert all(isinstance(v, int | float) for v in s.values())


# --- inputs that must be refused, and empty ones ------------------------------------------


def test_spec_from_policy_and_validation(contract) -> None:
    spec = LabelSpec.from_policy(contract.policy)
    assert spec.acceptance_definition == contract.policy.acceptance_definition
    assert spec.opportunity_window_days == 90 and spec.never_worked_after_days == 30
    spec = LabelSpec.from_policy(contract.policy, opportunity_window_days=60, as_of=AS_OF)
    assert spec.opportunity_window_days == 60 and spec.as_of == AS_OF
    paris = LabelSpec(as_of=pd.Timestamp("2026-03-01 10:00", tz="Europe/Paris"))
    assert str(paris.as_of.tz) == "UTC" and paris.as_of.hour == 9
    with pytest.raises(ValueError, match="acceptance_definition"):
        LabelSpec(acceptance_definition="implicit")
    with pytest.raises(ValueError, match="timezone-aware"):
        LabelSpec(as_of=pd.Timestamp("2026-03-01"))
    with pytest.raises(ValueError, match="opportunity_window_days"):
        LabelSpec(opportunity_window_days=0)


def test_bad_inputs_are_refused(leads, events) -> None:
    naive = events.assign(occurred_at=events["occurred_at"].dt.tz_localize(None))
    with pytest.raises(ValueError, match="timezone-aware"):
        build_labels(leads, naive, LabelSpec())
    with pytest.raises(ValueError, match="duplicate"):
        build_labels(pd.concat([leads, leads.iloc[:1]]), events, LabelSpec())
    zero = events.copy()
    zero["payload"] = [
        {"exploration": True, "propensity": 0.0} if t == "handed_off" else p
        for t, p in zip(zero["type"], zero["payload"])
    ]
    with pytest.raises(ValueError, match="propensity"):
        build_labels(leads, zero, LabelSpec())


def test_no_events_and_no_leads(leads, events) -> None:
    none = build_labels(leads, events.iloc[:0], LabelSpec())
    assert (none["status"] == "not_handed_off").all()
    assert none[["accepted", "opportunity", "weight"]].isna().all().all()
    empty = build_labels(leads.iloc[:0], events, LabelSpec())
    assert len(empty) == 0 and list(empty.columns) == list(none.columns)
    s = label_summary(empty)
    assert s["leads"] == 0 and s["effective_sample_size"] == 0.0


# --- the demo history: labels against the known truth ------------------------------------


@pytest.fixture(scope="module")
def demo(contract):
    return generate(contract, seed=3, months=6, n_leads=3000)


@pytest.fixture(scope="module")
def demo_labels(contract, demo) -> pd.DataFrame:
    return build_labels(demo.leads, demo.events, LabelSpec.from_policy(contract.policy))


@pytest.fixture(scope="module")
def truth(demo, demo_labels) -> pd.DataFrame:
    gt = demo.ground_truth.set_index("lead_id")
    assert list(gt.index) == list(demo_labels.index)
    return gt


def test_demo_handoffs_match_the_truth(demo_labels, truth) -> None:
    assert demo_labels["handed_off"].equals(truth["handed_off"].astype(bool))
    handed = truth["handed_off"].astype(bool)
    assert demo_labels.loc[handed, "exploration"].equals(truth.loc[handed, "exploration"])
    np.testing.assert_allclose(
        demo_labels.loc[handed, "propensity"], truth.loc[handed, "propensity"]
    )


def test_demo_unknown_is_never_labelled(demo_labels, truth) -> None:
    not_handed = ~truth["handed_off"].astype(bool)
    assert not_handed.sum() > 1000
    assert demo_labels.loc[not_handed, ["accepted", "opportunity", "weight"]].isna().all().all()
    assert (demo_labels.loc[not_handed, "status"] == "not_handed_off").all()
    never = truth["never_worked"].astype(bool)
    assert never.sum() >= 10
    assert demo_labels.loc[never, ["accepted", "opportunity", "weight"]].isna().all().all()
    assert set(demo_labels.loc[never, "status"]) <= {"never_worked", "still_open"}
    assert (demo_labels.loc[never, "status"] == "never_worked").sum() >= 10


def test_demo_acceptance_rate_matches_the_truth(demo_labels, truth) -> None:
    known = demo_labels["accepted"].notna()
    assert known.sum() > 500
    observed = demo_labels.loc[known, "accepted"].mean()
    expected = truth.loc[known, "p_accept"].mean()
    assert abs(observed - expected) < 0.05, (observed, expected)


def test_demo_explored_leads_are_reweighted(contract, demo_labels) -> None:
    share = contract.policy.exploration_share
    explored = demo_labels[demo_labels["exploration"] & demo_labels["weight"].notna()]
    assert len(explored) >= 30
    np.testing.assert_allclose(explored["weight"], 1.0 / share)
    others = demo_labels[~demo_labels["exploration"] & demo_labels["weight"].notna()]
    assert len(others) > 300 and (others["weight"] == 1.0).all()


def test_demo_opportunities_within_90_days_are_positive(demo, demo_labels) -> None:
    ev = demo.events
    handed_at = ev[ev["type"] == "handed_off"].groupby("lead_id")["occurred_at"].min()
    opp_at = ev[ev["type"] == "opportunity"].groupby("lead_id")["occurred_at"].min()
    delay = (opp_at - handed_at.reindex(opp_at.index)).dropna()
    inside = delay[delay <= pd.Timedelta(days=90)].index
    assert len(inside) > 50
    as_of = demo_labels.attrs["as_of"]
    settled = [i for i in inside if as_of - handed_at[i] >= pd.Timedelta(days=30)]
    assert (demo_labels.loc[settled, "accepted"] == 1.0).all()
    # right-censoring: the label waits until the whole window has elapsed, whatever the outcome
    as_of = demo_labels.attrs["as_of"]
    elapsed = (as_of - handed_at) >= pd.Timedelta(days=90)
    done = [i for i in inside if elapsed.get(i, False)]
    pending = [i for i in inside if not elapsed.get(i, False)]
    assert len(done) > 50 and len(pending) > 5
    assert (demo_labels.loc[done, "opportunity"] == 1.0).all()
    assert demo_labels.loc[pending, "opportunity"].isna().all()
    # and nothing else is positive
    positive = demo_labels.index[demo_labels["opportunity"] == 1.0]
    assert set(positive) == set(done)
    not_elapsed = elapsed.index[~elapsed]
    assert demo_labels.loc[not_elapsed, "opportunity"].isna().all()

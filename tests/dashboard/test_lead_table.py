"""The lead table: a hand-counted history of 14 leads over three months, and a demo history
checked against a plain per-lead loop.

Business time uses the default policy calendar: Europe/Paris, 09:00-12:30 and 14:00-18:00
Monday to Thursday (7.5 h), Friday until 17:00 (6.5 h), French public holidays (Wednesday
2026-11-11 is one). All times below are Paris wall-clock times. 2026-09-07, 2026-10-05,
2026-11-02 and 2026-11-16 are Mondays.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dashboard.lead_table import TABLE_DTYPES, build_lead_table, score_bands
from training.demo_history import generate

PARIS = "Europe/Paris"
PAID = {"exploration": False, "propensity": 1.0}
EXPLORED = {"exploration": True, "propensity": 0.05}


def P(text: str) -> pd.Timestamp:
    """A Paris wall-clock time as a UTC instant."""
    return pd.Timestamp(text, tz=PARIS).tz_convert("UTC")


AS_OF = P("2026-11-27 12:00")  # a Friday, noon

# lead, created (Paris), score (None: no stored score), stored tier, source, band, sector, rep
LEADS = [
    # --- 2026-09 ---------------------------------------------------------------------------
    ("A", "2026-09-07 09:00", 80, "hot", "demo_request", "50-249", "manufacturing", "Lea"),
    ("B", "2026-09-07 16:00", 65, "warm", "webinar", "250-999", "retail", "Hugo"),
    ("C", "2026-09-08 10:00", 55, None, "partner_referral", "10-49", "retail", "Tom"),
    ("D", "2026-09-09 14:00", 52, None, "contact_form", "1-9", "retail", "Nathan"),
    ("E", "2026-09-10 09:00", 78, None, "demo_request", "1000-4999", "retail", "Camille"),
    # --- 2026-10 (F: 00:30 in Paris on 1 October is still 30 September in UTC) -----------
    ("F", "2026-10-01 00:30", None, None, "whitepaper_download", "10-49", None, None),
    ("G", "2026-10-05 09:00", 90, None, "demo_request", "50-249", "retail", "Sarah"),
    ("H", "2026-10-06 14:00", 70, None, "trade_show", "250-999", "retail", "Ines"),
    ("I", "2026-10-07 09:00", 60, None, "paid_search", "10-49", "retail", "Lea"),
    ("J", "2026-10-08 10:00", 40, None, "webinar", "50-249", "retail", "Tom"),  # explored
    ("K", "2026-10-30 17:30", 58, "cold", "partner_referral", "5000+", "retail", "Camille"),
    # --- 2026-11 ---------------------------------------------------------------------------
    ("L", "2026-11-10 09:00", 76, None, "contact_form", "50-249", "retail", "Nathan"),
    ("M", "2026-11-16 10:00", 68, None, "webinar", "10-49", "retail", "Sarah"),
    ("N", "2026-11-27 10:00", 85, None, "demo_request", "250-999", "retail", "Camille"),
]
MID_MARKET = {"250-999", "1000-4999", "5000+"}


def _ev(lead: str, type_: str, at: str, **kw: object) -> dict[str, object]:
    row = {
        "lead_id": lead,
        "type": type_,
        "occurred_at": P(at),
        "rep": None,
        "team": None,
        "channel": None,
        "outcome": None,
        "duration_s": np.nan,
        "reason": None,
        "status": None,
        "next_action": None,
        "amount": np.nan,
        "payload": None,
    }
    row.update(kw)
    return row


def _call(lead: str, at: str, seconds: float, outcome: str = "reached") -> dict[str, object]:
    return _ev(lead, "contact_attempt", at, channel="phone", outcome=outcome, duration_s=seconds)


def hand_history() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(leads, events, scores) of the hand-counted fixture; frames like the store returns."""
    leads = pd.DataFrame(
        {
            "lead_id": [r[0] for r in LEADS],
            "created_at": [P(r[1]) for r in LEADS],
            "origin": "test",
            "source": [r[4] for r in LEADS],
            "employee_band": [r[5] for r in LEADS],
            "sector": [r[6] if r[6] else np.nan for r in LEADS],
            "country": ["BE" if r[0] == "G" else "FR" for r in LEADS],
        }
    )
    rows = []
    for lead, created, _, _, _, band, _, rep in LEADS:
        if lead == "F":
            continue
        team = "mid_market" if band in MID_MARKET else "smb"
        rows.append(
            _ev(
                lead,
                "handed_off",
                created,
                rep=rep,
                team=None if lead == "J" else team,  # J: no team recorded -> the policy routes
                payload=EXPLORED if lead == "J" else PAID,
            )
        )
    rows += [
        # A: contacted after 2.0 bh, accepted, opportunity, won 12,000
        _call("A", "2026-09-07 11:00", 300),
        _ev("A", "accepted", "2026-09-07 11:30", status="qualified"),
        _ev("A", "opportunity", "2026-09-08 10:00", amount=12000.0),
        _ev("A", "won", "2026-09-23 10:00", amount=12000.0),
        # B: one 59 s call, accepted, nothing after: superficial
        _call("B", "2026-09-09 10:00", 59),
        _ev("B", "accepted", "2026-09-09 10:06", status="qualified"),
        # C: no answer, then reached; rejected for no budget
        _call("C", "2026-09-10 15:00", 20, "no_answer"),
        _call("C", "2026-09-11 10:00", 600),
        _ev("C", "rejected", "2026-09-11 10:30", reason="no_budget"),
        # D: contacted late, rejected without a reason
        _call("D", "2026-09-15 09:30", 20),
        _ev("D", "rejected", "2026-09-15 09:45", reason=None),
        # E: never contacted
        # G: contacted after 1.5 bh, rejected as out of target
        _call("G", "2026-10-05 10:30", 400),
        _ev("G", "rejected", "2026-10-05 11:00", reason="out_of_target"),
        # H: accepted by its first call (no explicit acceptance), follow-up, opportunity, lost
        _call("H", "2026-10-08 14:00", 900),
        _ev("H", "contact_attempt", "2026-10-09 10:00", channel="meeting", duration_s=1800.0),
        _ev("H", "opportunity", "2026-10-12 10:00", amount=30000.0),
        _ev("H", "lost", "2026-10-20 10:00", amount=30000.0),
        # I: contacted exactly at its due time, rejected (no authority)
        _call("I", "2026-10-14 09:00", 500),
        _ev("I", "rejected", "2026-10-14 09:20", reason="no_authority"),
        # J (explored): contacted, rejected for bad timing
        _call("J", "2026-10-09 10:00", 450),
        _ev("J", "rejected", "2026-10-09 10:30", reason="bad_timing"),
        # K: created Friday after closing; one 60 s call (not under 60 s), accepted
        _call("K", "2026-11-02 09:30", 60),
        _ev("K", "accepted", "2026-11-02 10:00", status="qualified"),
        # L: contacted after the 11 November holiday, accepted, a short call but an opportunity
        _call("L", "2026-11-12 09:00", 30),
        _ev("L", "accepted", "2026-11-12 09:30", status="qualified"),
        _ev("L", "opportunity", "2026-11-19 10:00", amount=20000.0),
        _ev("L", "won", "2026-11-26 10:00", amount=20000.0),
        # M: never contacted; N: contacted only after as_of (ignored)
        _call("N", "2026-11-27 14:00", 300),
    ]
    events = pd.DataFrame(rows).sort_values("occurred_at", kind="mergesort")
    events["recorded_at"] = events["occurred_at"]
    events["event_id"] = [f"E{i:03d}" for i in range(len(events))]
    events = events.reset_index(drop=True)
    scored = [r for r in LEADS if r[2] is not None]
    scores = pd.DataFrame(
        {
            "score_id": range(1, len(scored) + 1),
            "lead_id": [r[0] for r in scored],
            "scored_at": [P(r[1]) for r in scored],
            "score": [float(r[2]) for r in scored],
            "probability": [0.42 if r[0] == "A" else np.nan for r in scored],
            "acceptance_probability": [0.7 if r[0] == "A" else np.nan for r in scored],
            "tier": [r[3] for r in scored],
            "handoff": [r[2] >= 50 for r in scored],
            "excluded_reason": None,
            # only A's due time is stored (Monday 09:00 + 4 bh = 14:30); the rest is computed
            "due_at": [P("2026-09-07 14:30") if r[0] == "A" else pd.NaT for r in scored],
        }
    )
    return leads, events, scores


@pytest.fixture(scope="module")
def table(contract) -> pd.DataFrame:
    leads, events, scores = hand_history()
    # shuffle the inputs: the table must not depend on their order
    return build_lead_table(
        leads.iloc[::-1], events.iloc[::-1], scores.iloc[::-1], contract.policy, as_of=AS_OF
    )


def _row(table: pd.DataFrame, lead: str) -> pd.Series:
    return table.set_index("lead_id").loc[lead]


def test_columns_order_and_dtypes(table) -> None:
    assert list(table.columns) == list(TABLE_DTYPES)
    assert {c: str(t) for c, t in table.dtypes.items()} == TABLE_DTYPES
    assert list(table["lead_id"]) == list("ABCDEFGHIJKLMN")  # ordered by created_at
    assert table.index.equals(pd.RangeIndex(14))


def test_months_are_local(table) -> None:
    # F was created at 00:30 on 1 October in Paris (22:30 UTC on 30 September)
    assert _row(table, "F")["created_at"] == pd.Timestamp("2026-09-30 22:30", tz="UTC")
    assert list(table["month"]) == ["2026-09"] * 5 + ["2026-10"] * 6 + ["2026-11"] * 3


def test_segments_team_and_rep(table) -> None:
    assert _row(table, "F")["sector"] == "unknown"
    assert _row(table, "G")["country"] == "BE"
    teams = dict(zip(table["lead_id"], table["team"]))
    # B, E, H, K, N are 250+ employees (mid_market); J had no team on its handoff and F was
    # never handed off: both routed by the policy (50-249 and 10-49: smb)
    assert {k for k, v in teams.items() if v == "mid_market"} == set("BEHKN")
    assert _row(table, "F")["rep"] is None
    assert _row(table, "J")["rep"] == "Tom"


def test_team_comes_from_the_handoff_event_first(contract) -> None:
    leads, events, scores = hand_history()
    events.loc[(events["lead_id"] == "C") & (events["type"] == "handed_off"), "team"] = "mid_market"
    t = build_lead_table(leads, events, scores, contract.policy, as_of=AS_OF)
    assert _row(t, "C")["team"] == "mid_market"  # the routing rule would say smb (10-49)


def test_scores_bands_and_tiers(table) -> None:
    assert _row(table, "A")["probability"] == 0.42
    assert _row(table, "A")["acceptance_probability"] == 0.7
    assert math.isnan(_row(table, "B")["probability"])
    f = _row(table, "F")
    assert math.isnan(f["score"]) and f["score_band"] is None and f["tier"] is None
    bands = dict(zip(table["lead_id"], table["score_band"]))
    assert bands["A"] == "80-89" and bands["G"] == "90-100" and bands["J"] == "40-49"
    assert list(score_bands([0, 9.99, 10, 89.9, 90, 100, np.nan])) == [
        "0-9", "0-9", "10-19", "80-89", "90-100", "90-100", None
    ]  # fmt: skip
    tiers = dict(zip(table["lead_id"], table["tier"]))
    # stored: A hot, B warm, K cold; else from the score: >= 75 hot, >= 62 warm, >= 50 cold;
    # J (explored, score 40) gets the lowest tier
    assert tiers == {
        "A": "hot", "B": "warm", "C": "cold", "D": "cold", "E": "hot", "F": None,
        "G": "hot", "H": "warm", "I": "cold", "J": "cold", "K": "cold", "L": "hot",
        "M": "warm", "N": "hot",
    }  # fmt: skip


# due time and business hours from creation to the deadline, counted by hand
DUE = {
    "A": ("2026-09-07 14:30", 4.0),  # stored; Mon 09:00 + 3.5 h morning + 0.5 h afternoon
    # B: warm 48 bh (the webinar cap of 72 does not bite). From Mon 16:00, running totals:
    # Mon 2, Tue 9.5, Wed 17, Thu 24.5, Fri 31, Mon 38.5, Tue 46, then 2 h on Wed -> 11:00
    "B": ("2026-09-16 11:00", 48.0),
    "C": ("2026-09-15 10:00", 36.5),  # cold 5 business days: Tue 10:00 -> Tue 10:00
    "D": ("2026-09-14 16:30", 24.0),  # contact_form caps cold to 24 bh: Wed 4 + Thu 7.5
    #   + Fri 6.5 + Mon 3.5 (morning) = 21.5, + 2.5 from 14:00 = Mon 16:30
    "E": ("2026-09-10 14:30", 4.0),
    "G": ("2026-10-05 14:30", 4.0),
    # H: Tue 14:00: Tue 4, Wed 11.5, Thu 19, Fri 25.5, Mon 33, Tue 40.5, Wed 44 at 12:30 and
    # 48 at 18:00: a deadline on a closing time is that closing time
    "H": ("2026-10-14 18:00", 48.0),
    "I": ("2026-10-14 09:00", 36.5),  # Wed 7.5 + Thu 7.5 + Fri 6.5 + Mon 7.5 + Tue 7.5
    "J": ("2026-10-15 10:00", 36.5),  # explored, lowest tier: 5 business days
    "K": ("2026-11-09 09:00", 36.5),  # Fri 17:30 is closed: counts from Mon 09:00
    "L": ("2026-11-10 14:30", 4.0),
    # Mon 10:00: 6.5, Tue 14, Wed 21.5, Thu 29, Fri 35.5, Mon 43, Tue 46.5 at 12:30, +1.5
    "M": ("2026-11-24 15:30", 48.0),
    "N": ("2026-11-27 15:30", 4.0),  # Fri 10:00 + 2.5 + 1.5
}


def test_due_times_and_deadlines(table) -> None:
    for lead, (at, hours) in DUE.items():
        row = _row(table, lead)
        assert row["due_at"] == P(at), lead
        assert row["deadline_bh"] == pytest.approx(hours, abs=1e-9), lead
    f = _row(table, "F")
    assert pd.isna(f["due_at"]) and math.isnan(f["deadline_bh"])


# business hours from creation to the first contact, counted by hand, and the SLA state
RESPONSE = {
    "A": (2.0, "met"),  # 09:00 -> 11:00
    "B": (10.5, "met"),  # Mon 16-18 (2) + Tue 7.5 + Wed 09-10 (1)
    "C": (18.5, "met"),  # Tue 6.5 + Wed 7.5 + Thu 3.5 + 1 (the no-answer call counts)
    "D": (26.0, "breached"),  # 24 to the due time + Mon 1.5 + Tue 0.5
    "E": (np.nan, "breached"),  # never contacted, due long before as_of
    "F": (np.nan, "n/a"),  # not handed off
    "G": (1.5, "met"),
    "H": (15.0, "met"),  # Tue 4 + Wed 7.5 + Thu 3.5
    "I": (36.5, "met"),  # contacted exactly at the due time: met
    "J": (7.5, "met"),  # Thu 6.5 + Fri 1
    "K": (0.5, "met"),  # weekend closed: Mon 09:00 -> 09:30
    "L": (7.5, "breached"),  # Tue 7.5, Wed 11 Nov is a holiday, Thu 09:00
    "M": (np.nan, "breached"),  # never contacted, due Tue 24 before as_of
    "N": (np.nan, "open"),  # due 15:30 after as_of (12:00); the 14:00 call is after as_of
}


def test_response_times_and_sla_states(table) -> None:
    for lead, (hours, state) in RESPONSE.items():
        row = _row(table, lead)
        if np.isnan(hours):
            assert math.isnan(row["response_bh"]) and pd.isna(row["first_contact_at"]), lead
        else:
            assert row["response_bh"] == pytest.approx(hours, abs=1e-9), lead
        assert row["sla_state"] == state, lead
    assert _row(table, "C")["first_contact_at"] == P("2026-09-10 15:00")


def test_statuses_and_outcomes(table) -> None:
    status = dict(zip(table["lead_id"], table["status"]))
    assert status == {
        "A": "accepted", "B": "accepted", "C": "rejected", "D": "rejected",
        "E": "never_worked",  # handed off 78 days before as_of, never touched
        "F": "not_handed_off", "G": "rejected",
        "H": "accepted",  # by its first call (acceptance_definition: explicit_or_first_action)
        "I": "rejected", "J": "rejected", "K": "accepted", "L": "accepted",
        "M": "still_open", "N": "still_open",  # handed off less than 30 days before as_of
    }  # fmt: skip
    assert list(table["accepted"]) == [s == "accepted" for s in status.values()]
    assert list(table["rejected"]) == [s == "rejected" for s in status.values()]
    reasons = dict(zip(table["lead_id"], table["rejection_reason"]))
    assert {k: v for k, v in reasons.items() if v is not None} == {
        "C": "no_budget", "G": "out_of_target", "I": "no_authority", "J": "bad_timing",
    }  # fmt: skip
    assert reasons["D"] is None  # rejected without a reason
    assert _row(table, "H")["decided_at"] == P("2026-10-08 14:00")  # the first call
    assert _row(table, "C")["decided_at"] == P("2026-09-11 10:30")
    assert set(table.loc[table["opportunity"], "lead_id"]) == {"A", "H", "L"}
    assert _row(table, "H")["opportunity_at"] == P("2026-10-12 10:00")
    assert set(table.loc[table["won"], "lead_id"]) == {"A", "L"}
    assert _row(table, "A")["amount"] == 12000.0 and _row(table, "L")["amount"] == 20000.0
    assert math.isnan(_row(table, "H")["amount"])  # lost
    assert set(table.loc[table["handed_off"], "lead_id"]) == set("ABCDEGHIJKLMN")
    assert _row(table, "A")["handed_off_at"] == P("2026-09-07 09:00")
    assert set(table.loc[table["exploration"], "lead_id"]) == {"J"}


def test_contact_attempts_and_superficial(table) -> None:
    attempts = dict(zip(table["lead_id"], table["contact_attempts"]))
    # C: two calls; H: a call and a meeting; N: its call is after as_of
    assert attempts == dict(zip("ABCDEFGHIJKLMN", [1, 1, 2, 1, 0, 0, 1, 2, 1, 1, 1, 1, 0, 0]))
    # B: accepted after one 59 s call and nothing else. Not superficial: D (rejected),
    # K (exactly 60 s), L (30 s but an opportunity followed), A (300 s)
    assert list(table.loc[table["superficial"], "lead_id"]) == ["B"]


def test_superficial_waits_for_the_follow_up_window(contract) -> None:
    # B was accepted on 2026-09-09 at 10:06; superficial only once 14 days have passed
    leads, events, scores = hand_history()
    accepted_at = P("2026-09-09 10:06")
    for days, flagged in ((14, True), (13.99, False)):
        as_of = accepted_at + pd.Timedelta(days=days)
        t = build_lead_table(leads, events, scores, contract.policy, as_of=as_of)
        assert _row(t, "B")["superficial"] is np.bool_(flagged), days
        assert _row(t, "B")["status"] == "accepted"


def test_as_of_defaults_to_the_latest_event(contract) -> None:
    leads, events, scores = hand_history()
    t = build_lead_table(leads, events, scores, contract.policy)
    assert t.attrs["as_of"] == P("2026-11-27 14:00")  # N's call
    n = _row(t, "N")
    # contacted at 14:00: 10:00-12:30 (2.5) + 14:00 (0) = 2.5 bh, before 15:30
    assert n["sla_state"] == "met" and n["response_bh"] == pytest.approx(2.5)
    assert n["contact_attempts"] == 1


def test_naive_as_of_is_refused(contract) -> None:
    leads, events, scores = hand_history()
    with pytest.raises(ValueError, match="timezone-aware"):
        build_lead_table(leads, events, scores, contract.policy, as_of="2026-11-27 12:00")


def _frames_like_the_store() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    leads, events, scores = hand_history()
    return leads.iloc[:0], events.iloc[:0], scores.iloc[:0]


def test_empty_inputs_give_an_empty_table_with_the_same_dtypes(contract) -> None:
    leads, events, scores = _frames_like_the_store()
    empty = build_lead_table(leads, events, scores, contract.policy)
    assert len(empty) == 0
    assert {c: str(t) for c, t in empty.dtypes.items()} == TABLE_DTYPES
    bare = build_lead_table(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), contract.policy)
    assert {c: str(t) for c, t in bare.dtypes.items()} == TABLE_DTYPES


def test_leads_without_events_or_scores(contract) -> None:
    leads, events, scores = _frames_like_the_store()
    full_leads = hand_history()[0]
    t = build_lead_table(full_leads, events, scores, contract.policy)
    assert len(t) == 14
    assert {c: str(d) for c, d in t.dtypes.items()} == TABLE_DTYPES
    assert set(t["status"]) == {"not_handed_off"} and set(t["sla_state"]) == {"n/a"}
    assert t["score"].isna().all() and (t["contact_attempts"] == 0).all()


# --- the demo history against a plain per-lead loop -------------------------------------------
@pytest.fixture(scope="module")
def demo(contract):
    h = generate(contract, n_leads=2000, months=6, seed=11)
    return h, build_lead_table(h.leads, h.events, h.scores, contract.policy)


def _by_loop(events: pd.DataFrame) -> dict[str, dict[str, object]]:
    """The same columns from each lead's own events, one lead at a time, the obvious way
    (as_of is the latest event, the table's default)."""
    settle = events["occurred_at"].max() - pd.Timedelta(days=14)
    out: dict[str, dict[str, object]] = {}
    grouped: dict[str, list[dict]] = {}
    for rec in events.sort_values("occurred_at", kind="mergesort").to_dict("records"):
        grouped.setdefault(rec["lead_id"], []).append(rec)
    for lead, evs in grouped.items():
        calls = [e for e in evs if e["type"] == "contact_attempt"]
        decisions = [e["type"] for e in evs if e["type"] in ("accepted", "rejected")]
        outcomes = [e["type"] for e in evs if e["type"] in ("won", "lost")]
        handed = any(e["type"] == "handed_off" for e in evs)
        opportunity = any(e["type"] == "opportunity" for e in evs)
        last = decisions[-1] if decisions else None
        accepted = handed and (
            opportunity or last == "accepted" or (bool(calls) and last != "rejected")
        )
        # accepted explicitly (the last such event) or by the first call
        said_yes = [e["occurred_at"] for e in evs if e["type"] == "accepted"]
        decided = (
            said_yes[-1] if last == "accepted" else (calls[0]["occurred_at"] if calls else None)
        )
        out[lead] = {
            "first_contact_at": calls[0]["occurred_at"] if calls else pd.NaT,
            "contact_attempts": len(calls),
            "opportunity": opportunity,
            "won": bool(outcomes) and outcomes[-1] == "won",
            "superficial": accepted
            and len(calls) == 1
            and calls[0]["duration_s"] < 60
            and not opportunity
            and decided <= settle,
        }
    return out


def test_demo_history_agrees_with_a_per_lead_loop(demo) -> None:
    h, table = demo
    expected = _by_loop(h.events)
    assert len(table) == len(h.leads) > 1500
    assert table["superficial"].sum() > 5 and table["won"].sum() > 5  # the check has teeth
    for row in table.itertuples(index=False):
        want = expected.get(
            row.lead_id,
            {
                "first_contact_at": pd.NaT,
                "contact_attempts": 0,
                "opportunity": False,
                "won": False,
                "superficial": False,
            },
        )
        got = {k: getattr(row, k) for k in want}
        if pd.isna(want["first_contact_at"]):
            assert pd.isna(got.pop("first_contact_at")), row.lead_id
            want = {k: v for k, v in want.items() if k != "first_contact_at"}
        assert got == want, row.lead_id
    # every superficial lead of the table is one the generator made superficial
    truth = h.ground_truth.set_index("lead_id")["superficial"]
    assert truth.loc[table.loc[table["superficial"], "lead_id"]].all()

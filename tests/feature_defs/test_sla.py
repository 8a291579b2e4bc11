"""Applying the policy: tiers, deadlines (hand-checked in business time), exclusions, points."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from feature_defs.sla import (
    assign_tier,
    due_at,
    effective_deadline,
    exclusion_reasons,
    is_handoff,
    route_team,
    scorecard_points,
)

PARIS = "Europe/Paris"


def test_tier_boundaries(contract) -> None:
    tiers = assign_tier([100, 75, 74.9, 62, 61.99, 50, 49.99, 0], contract.policy)
    assert list(tiers) == ["hot", "hot", "warm", "warm", "cold", "cold", None, None]


@pytest.mark.parametrize(
    ("tier", "source", "expected"),
    [
        ("hot", "demo_request", "4 business hours"),  # the cap never extends a deadline
        ("warm", "demo_request", "24 business hours"),  # inbound requests: 24h at most
        ("cold", "contact_form", "24 business hours"),
        ("warm", "webinar", "48 business hours"),  # 48 < campaign cap of 72
        ("cold", "webinar", "5 business days"),  # 5 days (~40h) < 72h
        ("cold", "partner_referral", "5 business days"),  # no cap for partners
    ],
)
def test_effective_deadline(contract, tier, source, expected) -> None:
    assert effective_deadline(tier, source, contract.policy).describe() == expected


def test_due_at_hand_checked(contract) -> None:
    created = pd.Series(
        pd.to_datetime(
            [
                "2026-11-20 16:00",  # Friday (closes 17:00): hot -> 1h Fri + 3h Mon -> Mon 23 12:00
                "2026-11-23 10:00",  # Monday, cold demo request -> 24 business hours:
                #   Mon 10:00-12:30 2.5h + 14-18 4h = 6.5; Tue 7.5 -> 14; Wed 7.5 -> 21.5;
                #   Thu 9:00 + 2.5h -> Thu 26 11:30
                "2026-11-23 10:00",  # Monday, cold partner referral -> 5 business days -> Mon 30 10:00
                "2026-12-24 17:00",  # Thursday, hot -> 1h Thu, 25th holiday, Mon 28 9:00 + 3h -> 12:00
                "2026-11-21 11:00",  # Saturday, hot -> Mon 23 9:00 + 3.5h to 12:30 + 0.5h -> 14:30
                "2026-11-23 10:00",  # no tier -> no deadline
            ]
        ).tz_localize(PARIS)
    )
    tiers = ["hot", "cold", "cold", "hot", "hot", None]
    sources = ["webinar", "demo_request", "partner_referral", "webinar", "webinar", "webinar"]
    got = due_at(created, tiers, sources, contract.policy).dt.tz_convert(PARIS)
    expected = pd.to_datetime(
        [
            "2026-11-23 12:00",
            "2026-11-26 11:30",
            "2026-11-30 10:00",
            "2026-12-28 12:00",
            "2026-11-23 14:30",
        ]
    ).tz_localize(PARIS)
    assert list(got[:5]) == list(expected)
    assert pd.isna(got[5])


def _leads(**cols) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    base = {
        "email_domain_type": ["corporate"] * n,
        "seniority": ["manager"] * n,
        "country": ["FR"] * n,
        "is_existing_customer": [False] * n,
    }
    base.update(cols)
    return pd.DataFrame(base)


def test_exclusions_first_matching_reason(contract) -> None:
    leads = _leads(
        email_domain_type=[
            "competitor",
            "corporate",
            "corporate",
            "corporate",
            "competitor",
            "corporate",
        ],
        seniority=["manager", "student", "manager", "manager", "student", "manager"],
        country=["FR", "FR", "US", None, "FR", "BE"],
        is_existing_customer=[False, False, False, True, False, False],
    )
    got = exclusion_reasons(leads, contract.policy)
    # a missing country is unknown, not "not covered"
    assert list(got) == [
        "competitor",
        "student",
        "country_not_covered",
        "existing_customer",
        "competitor",
        None,
    ]
    handoff = is_handoff(np.array([90, 90, 90, 90, 90, 49]), got, contract.policy)
    assert list(handoff) == [False] * 6


def test_scorecard_points_by_hand(contract) -> None:
    leads = pd.DataFrame(
        [
            # demo 30 + finance 15 + c-level 15 + size 15 + budget confirmed 10 + <3m 10
            # + pricing 5 + 3 downloads 5 + webinar 3 = 108 -> clipped to 100
            dict(
                source="demo_request",
                job_function="finance",
                seniority="c_level",
                employee_band="50-249",
                bant_budget="confirmed",
                bant_timeline="lt_3m",
                pricing_page_visits=2,
                downloads=3,
                webinar_attended=True,
                email_domain_type="corporate",
            ),
            # white paper 3 + IT 0 + manager 6 + tiny -10 + free mail -10 = -11 -> 0
            dict(
                source="whitepaper_download",
                job_function="it",
                seniority="manager",
                employee_band="1-9",
                bant_budget="none",
                bant_timeline="gt_12m",
                pricing_page_visits=0,
                downloads=1,
                webinar_attended=False,
                email_domain_type="free_mail",
            ),
            # webinar 8 + accounting 15 + vp 12 + large 10 + planned 5 + 3-6m 6 + webinar 3 = 59
            dict(
                source="webinar",
                job_function="accounting",
                seniority="vp_director",
                employee_band="5000+",
                bant_budget="planned",
                bant_timeline="3_6m",
                pricing_page_visits=None,
                downloads=None,
                webinar_attended=True,
                email_domain_type="corporate",
            ),
        ]
    )
    assert list(scorecard_points(leads, contract.policy)) == [100.0, 0.0, 59.0]


def test_route_team(contract) -> None:
    leads = pd.DataFrame({"employee_band": ["1-9", "250-999", "5000+", "50-249", None]})
    assert list(route_team(leads, contract.policy)) == [
        "smb",
        "mid_market",
        "mid_market",
        "smb",
        "smb",
    ]


# ------------------------------------------------------------- fast condition path = pandas path


def _edge_frame() -> pd.DataFrame:
    """One column per dtype a condition meets, with missing values of every kind."""
    when = pd.to_datetime(
        ["2026-01-05T09:00Z", None, "2026-01-06T10:00Z", "2025-12-31T23:00Z", None, None, None]
    )
    return pd.DataFrame(
        {
            "obj": pd.Series(["a", None, "B c", np.nan, "", "x", "  "], dtype=object),
            "num": [1.0, np.nan, 5.5, -2.0, 0.0, 100.0, np.inf],
            "int": pd.array([1, None, 5, -2, 0, 100, 7], dtype="Int64"),
            "flag": pd.array([True, None, False, True, False, None, True], dtype="boolean"),
            "np_int": np.array([1, 0, 5, -2, 0, 100, 7], dtype=np.int64),
            "np_bool": np.array([True, False, False, True, False, True, True]),
            "when": when.tz_localize("UTC") if when.tz is None else when,
            "mixed": pd.Series([1, "1", True, 1.0, None, "x", pd.NA], dtype=object),
            "numstr": pd.Series(["12", "x", None, "3.5", " 4 ", "", "1e3"], dtype=object),
        }
    )


def _conditions() -> list[dict]:
    out: list[dict] = []
    for f in [*_edge_frame().columns, "absent"]:
        out += [
            {"field": f, "is_missing": True},
            {"field": f, "is_missing": False},
            {"field": f, "in": ["a", "x", 1, True, None]},
            {"field": f, "not_in": ["a", 5.5, 0, False]},
            {"field": f, "equals": True},
            {"field": f, "equals": 1},
            {"field": f, "equals": "B c"},
            {"field": f, "contains_any": ["a", "B", " "]},
            {"field": f, "gte": 1},
            {"field": f, "lte": 0},
            {"field": f, "gt": -2},
            {"field": f, "lt": 100},
        ]
    out.append({"all": [{"field": "obj", "in": ["a", "x"]}, {"field": "num", "gte": 0}]})
    out.append({"any": [{"field": "flag", "equals": True}, {"field": "int", "lt": 0}]})
    out.append({"field": "obj", "in": [["unhashable"], "a"]})  # the pandas path decides
    return out


def test_condition_fast_path_matches_the_pandas_definition(contract) -> None:
    from feature_defs.conditions import Condition
    from feature_defs.typed_leads import TypedLeads
    from training.demo_history import generate

    frames = [_edge_frame(), _edge_frame().iloc[[2]].reset_index(drop=True)]
    h = generate(contract, seed=3, months=3, n_leads=600)
    typed = contract.fields.coerce(h.leads)
    frames += [typed, typed.iloc[[5]].reset_index(drop=True), typed.iloc[:0], h.leads]
    pol = contract.policy
    conditions = [Condition.model_validate(c) for c in _conditions()]
    conditions += [r.when for r in pol.exclusions] + [r.when for r in pol.scorecard.rules]
    conditions += [t.handles for t in pol.capacity.teams if t.handles is not None]
    for frame in frames:
        for cond in conditions:
            if not cond.fields_used() <= {*frame.columns, "absent"} and frame is not h.leads:
                continue
            fast, ref = cond.evaluate(frame), cond.evaluate_general(frame)
            assert fast.dtype == ref.dtype == bool and fast.shape == ref.shape
            np.testing.assert_array_equal(fast, ref, err_msg=repr(cond))
            # the same leads as typed columns (what the API scores): the same answer
            np.testing.assert_array_equal(cond.evaluate(TypedLeads.of(frame)), ref)


def test_exclusions_on_one_lead_match_the_batch(contract) -> None:
    from training.demo_history import generate

    h = generate(contract, seed=4, months=3, n_leads=600)
    typed = contract.fields.coerce(h.leads)
    many = exclusion_reasons(typed, contract.policy)
    assert pd.Series(many).notna().any()  # the sample holds excluded leads
    for i in range(0, len(typed), 37):
        one = exclusion_reasons(typed.iloc[[i]].reset_index(drop=True), contract.policy)
        assert list(one) == [many[i]]

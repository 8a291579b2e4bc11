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

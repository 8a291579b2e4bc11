"""The SLA policy: the default reproduces the domain contract; bad policies name key and rule."""

from __future__ import annotations

import copy

import pytest

from feature_defs.contract import DEFAULT_POLICY, check_policy
from feature_defs.errors import ContractError
from feature_defs.policy import parse_policy
from feature_defs.yaml_io import read_yaml


@pytest.fixture()
def body() -> dict:
    return copy.deepcopy(read_yaml(DEFAULT_POLICY))


def test_default_policy_is_the_domain_contract(contract) -> None:
    p = contract.policy
    assert [t.name for t in p.tiers] == ["hot", "warm", "cold"]
    assert p.tier("hot").deadline.business_hours == 4
    assert p.tier("warm").deadline.business_hours == 48
    assert p.tier("cold").deadline.business_days == 5
    caps = {tuple(c.sources): c.max_deadline.business_hours for c in p.source_deadline_caps}
    assert caps[("demo_request", "contact_form")] == 24
    assert 72 in caps.values()
    assert p.contact_attempts.min_attempts_before_unreachable == 3
    assert p.contact_attempts.distinct_slots
    ex = {e.reason: e for e in p.exclusions}
    assert set(ex) == {"competitor", "student", "country_not_covered", "existing_customer"}
    assert ex["existing_customer"].route_to == "account_owner"
    assert 8 <= len(p.rejection_reasons) <= 10
    assert {
        "no_budget",
        "bad_timing",
        "competitor_installed",
        "out_of_target",
        "unreachable",
    } <= set(p.rejection_codes)
    assert [s.code for s in p.feedback_statuses] == ["qualified", "not_qualified", "to_rework"]
    assert {a.code for a in p.next_actions} == {"marketing_nurturing", "call_back", "closed"}
    assert p.review_triggers.acceptance_floor == 0.5
    assert p.review_triggers.consecutive_months == 2
    assert p.review_triggers.mom_drop_points == 15
    assert p.review_triggers.rejection_rate_revision == 0.4
    assert p.acceptance_definition == "explicit_or_first_action"
    assert p.monthly_commitment.total > 0
    assert p.capacity.reps == 7 and len(p.capacity.teams) == 2
    assert p.calendar.timezone == "Europe/Paris" and p.calendar.holidays_country == "FR"


def _err(body: dict, fields=None) -> str:
    with pytest.raises(ContractError) as err:
        pol = parse_policy(body, source="policy.yaml")
        if fields is not None:
            check_policy(pol, fields, source="policy.yaml")
    return str(err.value)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda b: b.update(handoff_threshold=120),
            "handoff_threshold: Input should be less than or equal to 100 (got 120)",
        ),
        (lambda b: b.update(treshold=50), "treshold: Extra inputs are not permitted"),
        (lambda b: b.pop("capacity"), "capacity: Field required"),
        (
            lambda b: b["tiers"][1].update(min_score=80),
            "tiers must be listed from the highest min_score to the lowest",
        ),
        (
            lambda b: b["tiers"][2].update(min_score=55),
            "the lowest tier 'cold' starts at 55, above the handoff threshold 50",
        ),
        (
            lambda b: b["tiers"][0].update(deadline={"business_hours": 4, "business_days": 1}),
            "tiers[0] 'hot'.deadline: Value error, give exactly one of business_hours or business_days",
        ),
        (
            lambda b: b["tiers"][0].update(deadline={"business_hours": -4}),
            "tiers[0] 'hot'.deadline.business_hours: Input should be greater than 0",
        ),
        (
            lambda b: b.update(rejection_reasons=b["rejection_reasons"][:7]),
            "rejection_reasons: List should have at least 8 items",
        ),
        (
            lambda b: b["rejection_reasons"][1].update(code="no_budget"),
            "rejection_reasons: codes must be unique; repeated: no_budget",
        ),
        (
            lambda b: b["rejection_reasons"][1].update(code="Bad Timing"),
            "rejection_reasons[1] 'Bad Timing'.code: Value error, must be snake_case",
        ),
        (lambda b: b["calendar"]["hours"].update(sat=[["18:00", "09:00"]]), "calendar: "),
        (lambda b: b["calendar"].update(timezone="Europe/Pariss"), "Europe/Pariss"),
        (
            lambda b: b["calendar"]["hours"].update(funday=[["09:00", "12:00"]]),
            "calendar.hours: Value error, unknown weekday(s) funday",
        ),
        (
            lambda b: b["monthly_commitment"].update(total=10),
            "segment targets add up to 150, more than the total of 10",
        ),
        (
            lambda b: b["review_triggers"].update(acceptance_floor=1.5),
            "review_triggers.acceptance_floor: Input should be less than 1",
        ),
        (
            lambda b: b["capacity"]["teams"][0].pop("handles"),
            "exactly one team must have no 'handles' rule",
        ),
        (
            lambda b: b["capacity"]["teams"][1]["reps"].append("Hugo"),
            "a rep belongs to one team only; repeated: Hugo",
        ),
        (
            lambda b: b["exclusions"][0].update(when={"field": "email_domain_type"}),
            "needs exactly one operator",
        ),
        (lambda b: b["contact_attempts"]["slots"].update(lunch=["12:00", "14:30"]), "overlap"),
        (
            lambda b: b.update(exploration_share=0.7),
            "exploration_share: Input should be less than 0.5",
        ),
    ],
)
def test_bad_policy_names_key_and_rule(body, mutate, expected) -> None:
    mutate(body)
    msg = _err(body).replace("Value error, ", "")
    assert msg.startswith("policy.yaml: ")
    assert expected.replace("Value error, ", "") in msg


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda b: b["exclusions"][1]["when"].update({"in": ["studnet"]}),
            "exclusions[1] 'student'.when: 'studnet' not allowed for field 'seniority'",
        ),
        (
            lambda b: b["scorecard"]["rules"][0]["when"].update(field="channel"),
            "scorecard.rules[0] 'Demo request'.when: field 'channel' is not declared",
        ),
        (
            lambda b: b["source_deadline_caps"][0].update(sources=["demo"]),
            "source_deadline_caps[0].sources: 'demo' not allowed for field 'source'",
        ),
        (
            lambda b: b["scorecard"]["rules"][0]["when"].update({"in": None, "gte": 3}),
            "'gte' needs a numeric field; 'source' is category",
        ),
        (
            lambda b: b["monthly_commitment"]["by_segment"]["targets"].update({"huge": 1}),
            "monthly_commitment.by_segment.targets: 'huge' not allowed for field 'employee_band'",
        ),
    ],
)
def test_policy_must_fit_the_lead_fields(contract, body, mutate, expected) -> None:
    mutate(body)
    if body["scorecard"]["rules"][0]["when"].get("in", 1) is None:
        del body["scorecard"]["rules"][0]["when"]["in"]
    assert expected in _err(body, contract.fields)

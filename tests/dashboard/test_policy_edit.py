"""A threshold change as a new policy body, and its diff (what the save dialog shows)."""

from __future__ import annotations

import pytest

from dashboard.policy_edit import policy_diff, with_thresholds
from feature_defs.contract import DEFAULT_POLICY, check_policy
from feature_defs.policy import parse_policy
from feature_defs.yaml_io import read_yaml


def test_new_body_moves_threshold_and_tiers_and_stays_valid(contract) -> None:
    body = read_yaml(DEFAULT_POLICY)
    new = with_thresholds(body, 55, {"hot": 80, "warm": 65})
    assert new["handoff_threshold"] == 55
    assert [(t["name"], t["min_score"]) for t in new["tiers"]] == [
        ("hot", 80),
        ("warm", 65),
        ("cold", 55),  # the lowest tier follows the threshold
    ]
    assert body["handoff_threshold"] == 50  # the original is untouched
    check_policy(parse_policy(new), contract.fields)  # what the API will check again


def test_diff_lists_exactly_the_changed_leaves() -> None:
    body = read_yaml(DEFAULT_POLICY)
    diff = policy_diff(body, with_thresholds(body, 55.5, {"hot": 75, "warm": 62}))
    assert diff.to_dict("records") == [
        {"key": "handoff_threshold", "before": "50", "after": "55.5"},
        {"key": "tiers[cold].min_score", "before": "50", "after": "55.5"},
    ]
    assert policy_diff(body, body).empty


def test_unknown_tier_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown tier\\(s\\) lukewarm"):
        with_thresholds(read_yaml(DEFAULT_POLICY), 50, {"lukewarm": 60})

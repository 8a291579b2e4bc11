"""The whole contract in one object: lead fields, feature set and policy, checked together.

Each file is validated on its own when loaded; this module adds the checks that need two of
them, such as a policy rule on a field that is not declared, or on a value the field does not
allow.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from feature_defs.conditions import Condition
from feature_defs.errors import ContractError
from feature_defs.features import FeatureSet, load_feature_set
from feature_defs.fields import FieldSet
from feature_defs.policy import Policy, load_policy

HERE = Path(__file__).resolve().parent
DEFAULT_FEATURE_SET = HERE / "feature_sets" / "b2b_default.yaml"
DEFAULT_POLICY = HERE / "policies" / "default.yaml"


@dataclass(frozen=True)
class Contract:
    fields: FieldSet
    feature_set: FeatureSet
    policy: Policy


def policy_problems(policy: Policy, fields: FieldSet) -> list[str]:
    """Rules of the policy that do not fit the declared lead fields."""
    problems: list[str] = []

    def check(cond: Condition, where: str) -> None:
        for leaf in cond.leaves():
            name = leaf.field
            if name not in fields:
                problems.append(f"{where}: field '{name}' is not declared in lead fields")
                continue
            f = fields[name]
            op = leaf.operator
            if op in ("in", "not_in", "equals") and f.dtype == "category":
                values = leaf.operand(op) if op != "equals" else [leaf.equals]
                bad = [v for v in values if v not in (f.allowed or ())]
                if bad:
                    problems.append(
                        f"{where}: {', '.join(map(repr, bad))} not allowed for field '{name}' "
                        f"(allowed: {', '.join(f.allowed or ())})"
                    )
            if op in ("gte", "lte", "gt", "lt") and f.dtype not in ("integer", "float"):
                problems.append(f"{where}: '{op}' needs a numeric field; '{name}' is {f.dtype}")
            if op == "contains_any" and f.dtype != "string":
                problems.append(
                    f"{where}: 'contains_any' needs a string field; '{name}' is {f.dtype}"
                )

    for i, rule in enumerate(policy.exclusions):
        check(rule.when, f"exclusions[{i}] '{rule.reason}'.when")
    for i, rule in enumerate(policy.scorecard.rules):
        check(rule.when, f"scorecard.rules[{i}] '{rule.label}'.when")
    for i, team in enumerate(policy.capacity.teams):
        if team.handles is not None:
            check(team.handles, f"capacity.teams[{i}] '{team.name}'.handles")
    if policy.source_field not in fields:
        problems.append(f"source_field: field '{policy.source_field}' is not declared")
    else:
        allowed = fields[policy.source_field].allowed
        for i, cap in enumerate(policy.source_deadline_caps):
            bad = [s for s in cap.sources if allowed and s not in allowed]
            if bad:
                problems.append(
                    f"source_deadline_caps[{i}].sources: {', '.join(map(repr, bad))} not allowed "
                    f"for field '{policy.source_field}'"
                )
    seg = policy.monthly_commitment.by_segment
    if seg is not None:
        if seg.field not in fields:
            problems.append(f"monthly_commitment.by_segment.field: '{seg.field}' is not declared")
        elif fields[seg.field].allowed:
            bad = [k for k in seg.targets if k not in fields[seg.field].allowed]
            if bad:
                problems.append(
                    f"monthly_commitment.by_segment.targets: {', '.join(map(repr, bad))} not "
                    f"allowed for field '{seg.field}'"
                )
    return problems


def check_policy(policy: Policy, fields: FieldSet, *, source: str | Path | None = None) -> Policy:
    problems = policy_problems(policy, fields)
    if problems:
        raise ContractError(problems, source=source)
    return policy


def load_contract(
    feature_set: str | Path = DEFAULT_FEATURE_SET, policy: str | Path = DEFAULT_POLICY
) -> Contract:
    """Load and cross-check a feature set (with its lead fields) and a policy."""
    fs = load_feature_set(feature_set)
    pol = check_policy(load_policy(policy), fs.fields, source=policy)
    return Contract(fields=fs.fields, feature_set=fs, policy=pol)

"""Which SLA policy is in force: the latest version in the store, else the bundled default.

Every score is stamped with the integer version returned here, so the dashboard can always tell
which rules a lead was handed off under.
"""

from __future__ import annotations

from pathlib import Path

from feature_defs.contract import DEFAULT_POLICY, check_policy
from feature_defs.fields import FieldSet
from feature_defs.policy import Policy, parse_policy
from feature_defs.yaml_io import read_yaml
from scoring_service.store import Store


def ensure_policy(
    store: Store, fields: FieldSet, *, path: str | Path = DEFAULT_POLICY, author: str = "handoff"
) -> int:
    """Store the policy file as version 1 when the store has none yet; return the latest version.

    Safe when several workers start together: only one of them writes version 1."""
    latest = store.latest_policy()
    if latest is not None:
        return int(latest["version"])
    body = read_yaml(path)
    check_policy(parse_policy(body, source=path), fields, source=path)
    return store.add_policy_version(
        body,
        author=author,
        comment=f"initial policy from {Path(path).name}",
        name=str(body.get("name", "default")),
        only_if_none=True,  # another worker may be storing it at this very moment
    )


def active_policy(store: Store, fields: FieldSet) -> tuple[int, Policy]:
    """The latest stored policy version, validated against the lead fields."""
    latest = store.latest_policy()
    if latest is None:
        version = ensure_policy(store, fields)
        latest = store.get_policy(version)
    source = f"policy version {latest['version']}"
    policy = check_policy(parse_policy(latest["body"], source=source), fields, source=source)
    return int(latest["version"]), policy

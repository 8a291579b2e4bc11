"""Threshold and tier changes as a new policy body, and what changed: for the save dialog.

Pure: dicts in, dicts and frames out. The API validates the body again when it is posted.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pandas as pd


def with_thresholds(
    body: Mapping[str, Any], threshold: float, tier_minimums: Mapping[str, float]
) -> dict[str, Any]:
    """A copy of ``body`` with the handoff threshold and the tiers' ``min_score`` replaced.

    The lowest tier starts at the threshold (a handed-off lead always has a tier), so its
    minimum follows the threshold unless given explicitly.
    """
    new = copy.deepcopy(dict(body))
    new["handoff_threshold"] = _number(threshold)
    tiers = new.get("tiers") or []
    known = {t.get("name") for t in tiers}
    unknown = sorted(set(tier_minimums) - known)
    if unknown:
        raise ValueError(f"unknown tier(s) {', '.join(unknown)}; the policy has {sorted(known)}")
    for i, tier in enumerate(tiers):
        name = tier.get("name")
        if name in tier_minimums:
            tier["min_score"] = _number(tier_minimums[name])
        elif i == len(tiers) - 1:
            tier["min_score"] = _number(threshold)
    return new


def _number(value: float) -> int | float:
    """Whole numbers stay ints, so the stored YAML-like body reads as the person typed it."""
    v = float(value)
    return int(v) if v.is_integer() else round(v, 2)


def policy_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> pd.DataFrame:
    """Every leaf that differs, as rows key (dotted path), before, after."""
    rows: list[tuple[str, Any, Any]] = []
    _walk(old, new, "", rows)
    return pd.DataFrame(rows, columns=["key", "before", "after"])


_MISSING = "(absent)"


def _walk(a: Any, b: Any, path: str, rows: list[tuple[str, Any, Any]]) -> None:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for k in list(a) + [k for k in b if k not in a]:
            _walk(a.get(k, _MISSING), b.get(k, _MISSING), f"{path}.{k}" if path else str(k), rows)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            name = x.get("name") if isinstance(x, Mapping) and "name" in x else i
            _walk(x, y, f"{path}[{name}]", rows)
    elif a != b:
        rows.append((path, _show(a), _show(b)))


def _show(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)

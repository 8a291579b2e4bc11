"""Score leads with a bundle and apply the SLA: the one function behind batch and online scoring.

For each lead: both heads' probabilities, the 0-100 score, exclusions, handoff, tier, the
first-contact due time in business time, and the top reasons in score points.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from feature_defs.business_time import BusinessCalendar
from feature_defs.policy import Policy
from feature_defs.sla import (
    assign_tier,
    due_at,
    effective_deadline,
    exclusion_reasons,
    is_handoff,
)
from training.bundle import LeadScoreBundle


def score_leads(
    bundle: LeadScoreBundle,
    typed: pd.DataFrame,
    policy: Policy,
    *,
    top: int = 3,
    apply_exclusions: bool = True,
) -> pd.DataFrame:
    """Scores, SLA decisions and reasons for typed leads (``FieldSet.coerce`` output)."""
    # features, each head's model input and the score head's explanation: each computed once
    feats, Xts, _ = bundle.designs(typed)
    out = bundle.predict_designs(Xts)
    excluded = (
        exclusion_reasons(typed, policy)
        if apply_exclusions
        else np.full(len(typed), None, dtype=object)
    )
    handoff = is_handoff(out["score"], excluded, policy)
    tier = np.where(handoff, assign_tier(out["score"], policy), None)
    created_field = bundle.fields.created_at_field
    if created_field and typed[created_field].notna().any():
        src = (
            typed[policy.source_field]
            if policy.source_field in typed.columns
            else pd.Series([None] * len(typed))
        )
        due = _due_at(typed[created_field], list(tier), list(src), policy)
    else:
        due = np.full(len(typed), pd.NaT)
    result = pd.DataFrame(
        {
            "lead_id": typed[bundle.fields.id_field].to_numpy(),
            **out,
            "handoff": handoff,
            "excluded": excluded,
            "tier": tier,
            "due_at": due,
        }
    )
    reasons = bundle.reasons_design(typed, feats, Xts[bundle.score_head], top=top)
    result["reasons"] = reasons
    for k in range(top):
        result[f"reason_{k + 1}"] = [r[k]["label"] if len(r) > k else None for r in reasons]
    return result


_CALENDARS: dict[int, tuple[Policy, BusinessCalendar]] = {}


def _calendar(policy: Policy) -> BusinessCalendar:
    """The policy's business calendar, built once per policy object (both are immutable)."""
    hit = _CALENDARS.get(id(policy))
    if hit is not None and hit[0] is policy:
        return hit[1]
    cal = policy.business_calendar()
    if len(_CALENDARS) >= 16:
        _CALENDARS.clear()
    _CALENDARS[id(policy)] = (policy, cal)
    return cal


def _due_at(created: pd.Series, tiers: list, sources: list, policy: Policy) -> np.ndarray:
    """``due_at(...).to_numpy()``; for a few leads, grouped with a dict instead of a groupby."""
    cal = _calendar(policy)
    if len(tiers) > 32:
        return due_at(created, tiers, sources, policy, calendar=cal).to_numpy()
    created = pd.to_datetime(pd.Series(created).reset_index(drop=True), utc=True)
    out = pd.Series(pd.NaT, index=created.index, dtype="datetime64[ns, UTC]")
    groups: dict[tuple, list[int]] = {}
    for i, (tier, source) in enumerate(zip(tiers, sources, strict=True)):
        if tier is None or (isinstance(tier, float) and np.isnan(tier)):
            continue
        groups.setdefault((tier, source), []).append(i)
    for (tier, source), idx in groups.items():
        d = effective_deadline(tier, source, policy)
        rows = created.loc[idx]
        if d.business_hours is not None:
            out.loc[idx] = cal.add_many(rows, np.full(len(rows), d.business_hours * 3600.0))
        else:
            out.loc[idx] = [cal.add_days(t.to_pydatetime(), d.business_days) for t in rows]
    return out.to_numpy()

"""Apply a policy to leads: exclusions, scorecard points, tiers, deadlines and team routing.

Pure, vectorised functions over a frame of typed leads (see ``FieldSet.coerce``). The scoring
service, the demo generator and the dashboard's threshold simulator all call these, so a rule
means the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from feature_defs.business_time import BusinessCalendar
from feature_defs.policy import Deadline, Policy


def exclusion_reasons(leads: pd.DataFrame, policy: Policy) -> np.ndarray:
    """The first matching exclusion reason per lead, or None. Order in the policy decides ties."""
    out = np.full(len(leads), None, dtype=object)
    for rule in policy.exclusions:
        hit = rule.when.evaluate(leads) & (out == None)  # noqa: E711 - elementwise on objects
        out[hit] = rule.reason
    return out


def scorecard_contributions(leads: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Points earned per scorecard rule (columns are rule labels), before clipping."""
    data = {}
    for rule in policy.scorecard.rules:
        pts = np.where(rule.when.evaluate(leads), rule.points, 0.0)
        data[rule.label] = data.get(rule.label, 0.0) + pts
    return pd.DataFrame(data, index=leads.index)


def scorecard_points(leads: pd.DataFrame, policy: Policy) -> np.ndarray:
    """The old points score, clipped to 0-100: the baseline and the historical handoff rule."""
    raw = policy.scorecard.base + scorecard_contributions(leads, policy).sum(axis=1).to_numpy()
    return np.clip(raw, 0.0, 100.0)


def assign_tier(scores: Sequence[float] | np.ndarray, policy: Policy) -> np.ndarray:
    """Tier name for each score (highest tier whose min_score it reaches), else None."""
    s = np.asarray(scores, dtype=float)
    out = np.full(s.shape, None, dtype=object)
    for tier in reversed(policy.tiers):  # lowest first, so higher tiers overwrite
        out[s >= tier.min_score] = tier.name
    return out


def is_handoff(
    scores: Sequence[float] | np.ndarray, excluded: np.ndarray, policy: Policy
) -> np.ndarray:
    """MQL decision: at or above the threshold and not excluded."""
    s = np.asarray(scores, dtype=float)
    return (s >= policy.handoff_threshold) & (excluded == None)  # noqa: E711


def effective_deadline(tier: str, source: str | None, policy: Policy) -> Deadline:
    """The tier's deadline, shortened by a per-source cap when one applies."""
    deadline = policy.tier(tier).deadline
    for cap in policy.source_deadline_caps:
        if source in cap.sources and _shorter(cap.max_deadline, deadline):
            deadline = cap.max_deadline
    return deadline


def _shorter(a: Deadline, b: Deadline) -> bool:
    """Compare deadlines of mixed units with one business day taken as 8 business hours."""
    return _nominal_hours(a) < _nominal_hours(b)


def _nominal_hours(d: Deadline) -> float:
    return d.business_hours if d.business_hours is not None else 8.0 * (d.business_days or 0)


def due_at(
    created_at: pd.Series,
    tiers: Sequence[str | None],
    sources: Sequence[str | None],
    policy: Policy,
    calendar: BusinessCalendar | None = None,
) -> pd.Series:
    """First-contact due time per lead in business time (NaT where there is no tier)."""
    cal = calendar or policy.business_calendar()
    created = pd.to_datetime(pd.Series(created_at).reset_index(drop=True), utc=True)
    out = pd.Series(pd.NaT, index=created.index, dtype="datetime64[ns, UTC]")
    keys = pd.DataFrame({"tier": list(tiers), "source": list(sources)})
    for (tier, source), idx in keys.groupby(["tier", "source"], dropna=False).groups.items():
        if tier is None or (isinstance(tier, float) and np.isnan(tier)):
            continue
        d = effective_deadline(tier, source, policy)
        rows = created.loc[idx]
        if d.business_hours is not None:
            out.loc[idx] = cal.add_many(rows, np.full(len(rows), d.business_hours * 3600.0))
        else:
            out.loc[idx] = [cal.add_days(t.to_pydatetime(), d.business_days) for t in rows]
    return out


def route_team(leads: pd.DataFrame, policy: Policy) -> np.ndarray:
    """Team per lead: the first team whose 'handles' rule matches, else the default team."""
    default = next(t.name for t in policy.capacity.teams if t.handles is None)
    out = np.full(len(leads), default, dtype=object)
    taken = np.zeros(len(leads), dtype=bool)
    for team in policy.capacity.teams:
        if team.handles is None:
            continue
        hit = team.handles.evaluate(leads) & ~taken
        out[hit] = team.name
        taken |= hit
    return out


SLA_STATES = ("met", "breached", "at_risk", "on_track", "not_applicable")


def sla_states(
    created_at: pd.Series,
    due: pd.Series,
    first_contact: pd.Series,
    now: pd.Timestamp,
    calendar: BusinessCalendar,
    *,
    at_risk_share: float = 0.75,
) -> pd.DataFrame:
    """Where each lead stands against its first-contact deadline, in business time.

    met: first contact on or before the due time; breached: contacted late, or still waiting
    after it; at_risk: still waiting with at least ``at_risk_share`` of the allowed business time
    used; on_track: waiting, within the deadline; not_applicable: no deadline (not handed off).
    """
    created = pd.to_datetime(pd.Series(created_at).reset_index(drop=True), utc=True)
    due = pd.to_datetime(pd.Series(due).reset_index(drop=True), utc=True)
    contact = pd.to_datetime(pd.Series(first_contact).reset_index(drop=True), utc=True)
    end = contact.fillna(pd.Timestamp(now).tz_convert("UTC"))
    has_due = due.notna().to_numpy()
    elapsed = np.full(len(created), np.nan)
    allowed = np.full(len(created), np.nan)
    if has_due.any():
        elapsed[has_due] = calendar.elapsed_many(created[has_due], end[has_due]) / 3600.0
        allowed[has_due] = calendar.elapsed_many(created[has_due], due[has_due]) / 3600.0
    contacted = contact.notna().to_numpy()
    late = has_due & (end > due).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        used = np.where(allowed > 0, elapsed / allowed, 1.0)
    state = np.select(
        [~has_due, contacted & ~late, late, used >= at_risk_share],
        ["not_applicable", "met", "breached", "at_risk"],
        default="on_track",
    )
    return pd.DataFrame(
        {"state": state, "elapsed_business_hours": elapsed, "allowed_business_hours": allowed}
    )

"""Score leads with a bundle and apply the SLA: the one function behind batch and online scoring.

For each lead: both heads' probabilities, the 0-100 score, exclusions, handoff, tier, the
first-contact due time in business time, and the top reasons in score points.

``score_columns`` computes the columns; ``score_leads`` is the same as a DataFrame. The API
reads the columns directly, from typed leads held as columns too (``coerce_records``): for one
lead, no DataFrame is built or taken apart on the way.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

import numpy as np
import pandas as pd

from feature_defs.business_time import BusinessCalendar
from feature_defs.fields import FieldSet
from feature_defs.policy import Policy
from feature_defs.sla import (
    assign_tier,
    due_at,
    effective_deadline,
    exclusion_reasons,
    is_handoff,
)
from feature_defs.typed_leads import TypedLeads
from training.bundle import LeadScoreBundle


def score_leads(
    bundle: LeadScoreBundle,
    typed: pd.DataFrame | TypedLeads,
    policy: Policy,
    *,
    top: int = 3,
    apply_exclusions: bool = True,
) -> pd.DataFrame:
    """Scores, SLA decisions and reasons for typed leads (``FieldSet.coerce`` output)."""
    return pd.DataFrame(
        score_columns(bundle, typed, policy, top=top, apply_exclusions=apply_exclusions)
    )


def score_columns(
    bundle: LeadScoreBundle,
    typed: pd.DataFrame | TypedLeads,
    policy: Policy,
    *,
    top: int = 3,
    apply_exclusions: bool = True,
) -> dict[str, Any]:
    """``score_leads`` as its columns (name -> array or list, in the frame's column order).

    lead_id, p_<head> for each head, score, handoff, excluded, tier, due_at (an object array of
    UTC Timestamps and NaT), reasons (an object array of lists of dicts), reason_1..reason_top.
    """
    typed = TypedLeads.of(typed)
    n = len(typed)
    # features, each head's model input and the score head's explanation: each computed once
    feats, Xts, _ = bundle.designs(typed)
    out = bundle.predict_designs(Xts)
    excluded = (
        exclusion_reasons(typed, policy) if apply_exclusions else np.full(n, None, dtype=object)
    )
    handoff = is_handoff(out["score"], excluded, policy)
    tier = np.where(handoff, assign_tier(out["score"], policy), None)
    created_field = bundle.fields.created_at_field
    if created_field and pd.notna(typed[created_field]).any():
        src = typed[policy.source_field].tolist() if policy.source_field in typed else [None] * n
        due = _due_at(typed[created_field], tier.tolist(), src, policy)
    else:
        due = np.full(n, pd.NaT)
    reasons = bundle.reasons_design(typed, feats, Xts[bundle.score_head], top=top)
    reasons_col = np.empty(n, dtype=object)  # one list per lead (never a 2-D array)
    for i, r in enumerate(reasons):
        reasons_col[i] = r
    cols: dict[str, Any] = {
        "lead_id": np.asarray(typed[bundle.fields.id_field]),
        **out,
        "handoff": handoff,
        "excluded": excluded,
        "tier": tier,
        "due_at": due,
        "reasons": reasons_col,
    }
    for k in range(top):
        cols[f"reason_{k + 1}"] = [r[k]["label"] if len(r) > k else None for r in reasons]
    return cols


def coerce_records(fields: FieldSet, records: list[dict[str, Any]]) -> TypedLeads:
    """``fields.coerce_columns(pd.DataFrame.from_records(records))`` for JSON records (the API's
    bodies): typed columns, whose ``frame()`` is what ``fields.coerce`` gives.

    One record is read as it is (``_OneRecord``): pandas would only turn each value into a
    one-element column and back (~1 ms for a lead), and a single row has no dtype to infer
    across rows, so the coerced columns are the same. Should that coercion raise, the DataFrame
    path runs, so errors are those of ``coerce`` on the DataFrame, message for message.
    """
    if len(records) == 1 and isinstance(records[0], dict):
        try:
            return fields.coerce_columns(_OneRecord(records[0]))  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001 - the general path below raises the canonical error
            pass
    n = len(records)
    # an explicit index: records of empty objects still make one row each (and fail as such)
    frame = pd.DataFrame.from_records(records, index=pd.RangeIndex(n)) if n else pd.DataFrame()
    return fields.coerce_columns(frame)


class _OneRecord:
    """The part of a one-row ``pd.DataFrame.from_records([record])`` that ``coerce`` reads:
    ``columns`` (the keys, in order), ``len`` and ``frame[name].tolist()``.

    A one-row column holds the value itself: JSON gives str, bool, int, float or None, and
    ``tolist()`` of pandas' one-element column returns the same Python value (int64 / uint64 /
    bool / float64 / object columns all convert back to the value they were built from).
    Values of any other type are left to pandas (``coerce_records`` does not use this then).
    """

    __slots__ = ("columns", "_record")

    def __init__(self, record: dict[str, Any]) -> None:
        for value in record.values():
            if not (value is None or type(value) in (str, bool, float)):
                if type(value) is not int or not -(2**63) <= value < 2**64:
                    raise TypeError("not a plain JSON scalar")
        self._record = record
        self.columns = list(record)

    def __len__(self) -> int:
        return 1

    def __getitem__(self, name: str) -> _OneValue:
        return _OneValue(self._record[name])


class _OneValue:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def tolist(self) -> list[Any]:
        return [self.value]


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


_UTC_NS = pd.DatetimeTZDtype("ns", "UTC")


def _due_at(created: Any, tiers: list, sources: list, policy: Policy) -> np.ndarray:
    """``due_at(...).to_numpy()`` for a typed column: UTC Timestamps (ns) and NaT, in an object
    array.

    For a few leads (the API) it is computed lead by lead with the same calendar calls, without
    the grouping and Series assignments of ``due_at`` (which cost about 1 ms for one lead).
    """
    cal = _calendar(policy)
    if len(tiers) > 32 or created.dtype != _UTC_NS:
        return due_at(pd.Series(created), tiers, sources, policy, calendar=cal).to_numpy()
    arr = created
    out = np.full(len(tiers), pd.NaT, dtype=object)
    deadlines: dict[tuple, Any] = {}
    for i, (tier, source) in enumerate(zip(tiers, sources, strict=True)):
        if tier is None or (isinstance(tier, float) and np.isnan(tier)):
            continue
        d = deadlines.get((tier, source))
        if d is None:
            d = deadlines[(tier, source)] = effective_deadline(tier, source, policy)
        if d.business_hours is not None:
            value = cal.add_many(arr[i : i + 1], np.full(1, d.business_hours * 3600.0))[0]
        else:
            value = cal.add_days(arr[i].to_pydatetime(), d.business_days)
        out[i] = pd.NaT if value is pd.NaT else pd.Timestamp(value).tz_convert(UTC).as_unit("ns")
    return out

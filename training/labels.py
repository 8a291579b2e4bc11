"""Training labels from the event history: honest about what is unknown, weighted for the policy.

Two heads are learned: P(accepted by sales | handed off) and P(opportunity within N days | handed
off). A handed-off lead nobody worked tells us nothing about either, so it is *unknown* (NaN),
never a negative: counting it as a rejection would teach the model that the leads reps ignored
are bad, when the reps simply never looked. Likewise an opportunity window that has not elapsed
yet is unknown. And because the old handoff policy chose which leads got worked, every labelled
lead carries the inverse of the probability with which it was handed off (1 above the threshold,
``exploration_share`` for the random explored ones), so the labelled sample stands for all
leads and not only the ones the old scorecard liked.

Everything here is pure: frames in, a frame out, no I/O. It is vectorised (groupby-style
reductions on the event frame), so 100k leads and 400k events take about a second.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from feature_defs.policy import Policy

ACCEPTANCE_DEFINITIONS = ("explicit", "first_prospecting_action", "explicit_or_first_action")
STATUSES = (
    "not_handed_off",
    "still_open",
    "never_worked",
    "accepted",
    "rejected",
    "worked_undecided",
)
LABEL_COLUMNS = (
    "handed_off",
    "handed_off_at",
    "propensity",
    "exploration",
    "first_contact_at",
    "decided_at",
    "rejection_reason",
    "status",
    "accepted",
    "opportunity",
    "won",
    "weight",
)


@dataclass(frozen=True)
class LabelSpec:
    """How events become labels; one object so the model card can record exactly what was used."""

    opportunity_window_days: int = 90
    acceptance_definition: str = "explicit_or_first_action"
    as_of: pd.Timestamp | None = None
    never_worked_after_days: int = 30

    def __post_init__(self) -> None:
        if self.acceptance_definition not in ACCEPTANCE_DEFINITIONS:
            raise ValueError(
                f"acceptance_definition must be one of {', '.join(ACCEPTANCE_DEFINITIONS)}; "
                f"got {self.acceptance_definition!r}"
            )
        if self.opportunity_window_days <= 0:
            raise ValueError(
                f"opportunity_window_days must be > 0, got {self.opportunity_window_days}"
            )
        if self.never_worked_after_days < 0:
            raise ValueError(
                f"never_worked_after_days must be >= 0, got {self.never_worked_after_days}"
            )
        if self.as_of is not None:
            object.__setattr__(self, "as_of", _utc_timestamp(self.as_of))

    @classmethod
    def from_policy(cls, policy: Policy, **overrides: Any) -> LabelSpec:
        """The policy says what counts as acceptance; the rest are training choices."""
        return cls(**{"acceptance_definition": policy.acceptance_definition, **overrides})

    @property
    def counts_first_action(self) -> bool:
        """Whether a first prospecting action (a contact attempt) already means "accepted"."""
        return self.acceptance_definition != "explicit"


def _utc_timestamp(value: pd.Timestamp | datetime | str) -> pd.Timestamp:
    """A tz-aware instant in UTC; a naive one is refused because its zone would be a guess."""
    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        raise ValueError("as_of must be a time, got NaT")
    if ts.tzinfo is None:
        raise ValueError(f"as_of must be timezone-aware, got naive {ts}")
    return ts.tz_convert("UTC")


def _naive_utc(values: pd.Series) -> pd.Series:
    """Event times as naive UTC nanoseconds, so the label arithmetic runs on plain numpy.

    Naive input is refused: the store only holds aware times, and a naive one's zone is a guess.
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        aware = values.dt.tz_convert("UTC")
    else:
        present = values.dropna()
        if len(present) and getattr(present.iloc[0], "tzinfo", None) is None:
            raise ValueError(
                f"events column 'occurred_at' must hold timezone-aware times (got {values.dtype})"
            )
        aware = pd.to_datetime(values, utc=True)
    return aware.dt.tz_localize(None).astype("datetime64[ns]")


def _per_lead(events: pd.DataFrame, types: tuple[str, ...], keep: str) -> pd.DataFrame:
    """The first or last event of the given types for each lead (events sorted by time)."""
    return events[events["type"].isin(types)].drop_duplicates("pos", keep=keep)


def _times(n: int, rows: pd.DataFrame) -> np.ndarray:
    """Per-lead event times (naive UTC datetime64, NaT where the lead has no such event)."""
    out = np.full(n, np.datetime64("NaT", "ns"))
    out[rows["pos"].to_numpy()] = rows["at"].to_numpy()
    return out


def _values(n: int, rows: pd.DataFrame, column: str) -> np.ndarray:
    """Per-lead values of one event column (None where the lead has no such event)."""
    out = np.full(n, None, dtype=object)
    if column in rows:
        out[rows["pos"].to_numpy()] = rows[column].to_numpy(dtype=object)
    return out


def _utc_output(times: np.ndarray) -> pd.arrays.DatetimeArray:
    return pd.DatetimeIndex(times).tz_localize("UTC").array


def _is_nan(value: object) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _handoff_payload(payloads: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Propensity (1.0 when not recorded) and exploration flag from handed_off payloads."""
    bad = [p for p in payloads if not (p is None or isinstance(p, Mapping) or _is_nan(p))]
    if bad:
        raise ValueError(f"handed_off payload must be a mapping or empty, got {bad[0]!r}")
    raw = [p.get("propensity") if isinstance(p, Mapping) else None for p in payloads]
    explore = [bool(p.get("exploration")) if isinstance(p, Mapping) else False for p in payloads]
    recorded = np.array([v is not None for v in raw], dtype=bool)
    if any(isinstance(v, bool) for v in raw):
        raise ValueError("handed_off payload propensity must be a number, got a boolean")
    numbers = pd.to_numeric(pd.Series(raw, dtype=object), errors="coerce").to_numpy(float)
    invalid = recorded & ~((numbers > 0) & (numbers <= 1))
    if invalid.any():
        i = int(np.flatnonzero(invalid)[0])
        lead = payloads.index[i]
        raise ValueError(
            f"lead {lead}: handed_off propensity must be in (0, 1], got {raw[i]!r}; "
            "a zero propensity cannot be re-weighted"
        )
    return np.where(recorded, numbers, 1.0), np.asarray(explore, dtype=bool)


def build_labels(leads: pd.DataFrame, events: pd.DataFrame, spec: LabelSpec) -> pd.DataFrame:
    """One row per lead (index lead_id, in the order of ``leads``) with both heads' labels.

    Unknown stays NaN: never worked, still open, a window not yet elapsed, or (accepted head)
    a handoff more recent than never_worked_after_days: both are right-censoring guards.
    Events of leads not in ``leads`` and events after ``spec.as_of`` are ignored, so labels can
    be rebuilt as they stood at any past extraction time; ``attrs["as_of"]`` holds the time.
    """
    if "lead_id" not in leads.columns:
        raise ValueError("leads must have a 'lead_id' column")
    missing = [c for c in ("lead_id", "type", "occurred_at") if c not in events.columns]
    if missing:
        raise ValueError(f"events lack column(s) {', '.join(missing)}")
    ids = pd.Index(leads["lead_id"], name="lead_id")
    if not ids.is_unique:
        dupes = ids[ids.duplicated()].unique()[:5]
        raise ValueError(f"leads has duplicate lead_id(s): {', '.join(map(str, dupes))}")

    n = len(ids)
    pos = ids.get_indexer(events["lead_id"])  # -1: a lead we were not asked about
    cols = [c for c in ("type", "occurred_at", "reason", "payload") if c in events]
    ev = events.loc[pos >= 0, cols]
    ev = ev.assign(pos=pos[pos >= 0], at=_naive_utc(ev["occurred_at"]))
    ev = ev[ev["at"].notna()]
    if spec.as_of is not None:
        as_of = spec.as_of.tz_localize(None).to_datetime64().astype("datetime64[ns]")
    else:
        as_of = ev["at"].max().to_datetime64() if len(ev) else np.datetime64("NaT", "ns")
    ev = ev[ev["at"] <= as_of]  # nothing survives a NaT as_of: there were no events
    # stable: events at the same instant keep the input order (the store's recorded order)
    ev = ev.sort_values("at", kind="mergesort")

    handoff = _per_lead(ev, ("handed_off",), "first")
    contact = _per_lead(ev, ("contact_attempt",), "first")
    decision = _per_lead(ev, ("accepted", "rejected"), "last")
    opportunity = _per_lead(ev, ("opportunity",), "first")
    outcome = _per_lead(ev, ("won", "lost"), "last")

    handed_at = _times(n, handoff)
    handed = ~np.isnat(handed_at)
    propensity = np.full(n, np.nan)
    exploration = np.zeros(n, dtype=bool)
    if len(handoff):
        at = handoff["pos"].to_numpy()
        payloads = _values(n, handoff, "payload")[at]
        propensity[at], exploration[at] = _handoff_payload(pd.Series(payloads, index=ids[at]))

    first_contact = _times(n, contact)
    dec_type = _values(n, decision, "type")
    dec_at = _times(n, decision)
    dec_reason = _values(n, decision, "reason")
    opp_at = _times(n, opportunity)
    result = _values(n, outcome, "type")

    has_contact = ~np.isnat(first_contact)
    has_opp = handed & ~np.isnat(opp_at)
    said_yes = handed & (dec_type == "accepted")
    said_no = handed & (dec_type == "rejected")
    first_action = handed & has_contact & ~said_no & spec.counts_first_action
    accepted = has_opp | said_yes | first_action  # an opportunity overrides any rejection
    rejected = said_no & ~has_opp
    # a sales action: contact, decision or opportunity (recycling, won/lost alone are not)
    worked = handed & (has_contact | said_yes | said_no | has_opp)
    age = as_of - handed_at  # NaT where not handed off: every comparison below is then False
    never = handed & ~worked & (age >= np.timedelta64(spec.never_worked_after_days, "D"))

    status = np.select(
        [~handed, accepted, rejected, worked, never],
        ["not_handed_off", "accepted", "rejected", "worked_undecided", "never_worked"],
        default="still_open",
    ).astype(object)

    window = np.timedelta64(spec.opportunity_window_days, "D")  # calendar days: 24-hour periods
    opp_in_window = has_opp & ((opp_at - handed_at) <= window)
    window_elapsed = handed & (age >= window)
    can_convert = accepted | (handed & worked & ~rejected)  # accepted or worked_undecided
    # Right-censoring: until the window has elapsed, only the leads that already converted or
    # were rejected have an outcome; labelling them while the slower, still-pending ones stay
    # unknown would over-represent both ends. So the opportunity label waits for the window.
    opp_label = np.select(
        [~window_elapsed, rejected, can_convert & opp_in_window, can_convert],
        [np.nan, 0.0, 1.0, 0.0],
        default=np.nan,
    )
    won_label = np.select(
        [
            opp_label == 0.0,
            (opp_label == 1.0) & (result == "won"),
            (opp_label == 1.0) & (result == "lost"),
        ],
        [0.0, 1.0, 0.0],
        default=np.nan,
    )
    # Right-censoring again: a lead handed off last week has a decision only if its rep was
    # quick; waiting the never-worked delay keeps slow and quick reps' leads in proportion.
    settled = handed & (age >= np.timedelta64(spec.never_worked_after_days, "D"))
    acc_label = np.select([~settled, accepted, rejected], [np.nan, 1.0, 0.0], default=np.nan)
    known = ~np.isnan(acc_label) | ~np.isnan(opp_label)
    weight = np.where(known, 1.0 / propensity, np.nan)

    # when the accepted label was settled: the latest explicit decision, else the event that
    # implied acceptance (an overriding opportunity, or the first prospecting action)
    implied = accepted & ~said_yes
    by_contact = implied & first_action
    decided_at = np.select(
        [said_yes | rejected, by_contact, implied],
        [dec_at, first_contact, opp_at],
        default=np.datetime64("NaT", "ns"),
    )
    has_reason = pd.notna(dec_reason) & (dec_reason != "")
    rejection_reason = np.where(rejected & has_reason, dec_reason, None)

    out = pd.DataFrame(
        {
            "handed_off": handed,
            "handed_off_at": _utc_output(handed_at),
            "propensity": propensity,
            "exploration": exploration,
            "first_contact_at": _utc_output(first_contact),
            "decided_at": _utc_output(decided_at),
            "rejection_reason": rejection_reason,
            "status": status,
            "accepted": acc_label,
            "opportunity": opp_label,
            "won": won_label,
            "weight": weight,
        },
        index=ids,
    )
    # the effective extraction time, for the model card (the default is only known here)
    out.attrs["as_of"] = pd.Timestamp(as_of).tz_localize("UTC")
    return out


def _ess(weights: pd.Series) -> float:
    """Kish's effective sample size: how many unweighted leads the weighted sample is worth."""
    w = weights.dropna().to_numpy(float)
    return float(w.sum() ** 2 / (w**2).sum()) if len(w) else 0.0


def label_summary(labels: pd.DataFrame) -> dict[str, int | float]:
    """Counts for the model card and the CLI: how much is known, how much is positive, and how
    much the exploration re-weighting costs in effective sample size."""
    out: dict[str, int | float] = {
        "leads": len(labels),
        "handed_off": int(labels["handed_off"].sum()),
        "exploration": int((labels["exploration"] & labels["handed_off"]).sum()),
    }
    counts = labels["status"].value_counts()
    for status in STATUSES:
        out[f"status_{status}"] = int(counts.get(status, 0))
    for head in ("accepted", "opportunity", "won"):
        known = labels[head].notna()
        positive = int((labels[head] == 1.0).sum())
        out[f"{head}_known"] = int(known.sum())
        out[f"{head}_positive"] = positive
        out[f"{head}_rate"] = positive / int(known.sum()) if known.any() else float("nan")
        if head != "won":
            out[f"{head}_effective_sample_size"] = _ess(labels["weight"].where(known))
    out["labelled"] = int(labels["weight"].notna().sum())
    out["effective_sample_size"] = _ess(labels["weight"])
    return out

"""One row per lead: the frame every dashboard page filters, groups and charts.

Everything a page needs about a lead is settled here once, with the project's own rules: the
labels (status, acceptance, rejection reason, first contact, exploration) come from
``training.labels.build_labels``, tiers, deadlines and team routing from ``feature_defs.sla``,
and business time from the policy's calendar. So the dashboard cannot disagree with training
or with the service about what "accepted" or "within the SLA" means.

The SLA clock starts at ``created_at``: the stored ``due_at`` is computed from it (by the
service and the demo generator alike), so ``response_bh`` and ``deadline_bh`` are measured from
the same instant and a lead is "met" exactly when ``response_bh <= deadline_bh``.

Vectorised throughout (index lookups and first/last-per-lead reductions on the event frame):
100,000 leads and 400,000 events build in about a second. The one slow path is a handed-off
lead with no stored due time in a business-*days* tier: ``feature_defs.sla.due_at`` computes
those one lead at a time (about 0.1 ms each); stored scores normally carry their due time.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from feature_defs.policy import Policy
from feature_defs.sla import assign_tier, due_at, route_team, sla_states
from training.labels import LabelSpec, build_labels

SEGMENT_FIELDS = ("source", "sector", "employee_band", "country")
UNKNOWN = "unknown"
SUPERFICIAL_MAX_SECONDS = 60.0
SUPERFICIAL_SETTLE_DAYS = 14
"""An acceptance is judged superficial only once the follow-up had this many days to happen:
a lead accepted yesterday after one short call is not superficial yet, only recent."""
SCORE_BANDS = tuple(f"{10 * k}-{10 * k + 9}" for k in range(9)) + ("90-100",)

_DT = "datetime64[ns, UTC]"
TABLE_DTYPES: dict[str, str] = {
    "lead_id": "object",
    "created_at": _DT,
    "month": "object",
    "source": "object",
    "sector": "object",
    "employee_band": "object",
    "country": "object",
    "team": "object",
    "rep": "object",
    "score": "float64",
    "score_band": "object",
    "probability": "float64",
    "acceptance_probability": "float64",
    "excluded_reason": "object",
    "handed_off": "bool",
    "handed_off_at": _DT,
    "tier": "object",
    "due_at": _DT,
    "deadline_bh": "float64",
    "first_contact_at": _DT,
    "response_bh": "float64",
    "sla_state": "object",
    "status": "object",
    "accepted": "bool",
    "rejected": "bool",
    "rejection_reason": "object",
    "decided_at": _DT,
    "opportunity": "bool",
    "opportunity_at": _DT,
    "won": "bool",
    "amount": "float64",
    "contact_attempts": "int64",
    "superficial": "bool",
    "exploration": "bool",
}
"""The lead table's columns, in order, with their dtypes (also those of an empty table)."""

_STATE_NAMES = {
    "met": "met",
    "breached": "breached",
    "at_risk": "open",
    "on_track": "open",
    "not_applicable": "n/a",
}


def empty_lead_table() -> pd.DataFrame:
    """The table with no rows: same columns and dtypes, so pages need no special case."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in TABLE_DTYPES.items()})


def build_lead_table(
    leads: pd.DataFrame,
    events: pd.DataFrame,
    scores: pd.DataFrame,
    policy: Policy,
    *,
    as_of: pd.Timestamp | datetime | str | None = None,
) -> pd.DataFrame:
    """One row per lead, ordered by created_at, with the columns of ``TABLE_DTYPES``.

    ``as_of`` (tz-aware) is the extraction time: events after it are ignored and a lead never
    contacted whose due time is before it is "breached". By default it is the latest event or
    lead creation in the inputs, so a demo history ending in the future still reads as finished.
    ``scores`` is the latest score per lead (``Store.read_scores(latest_only=True)``); if a lead
    has several, the latest ``scored_at`` wins.
    """
    if len(leads) == 0:
        return empty_lead_table()
    leads = leads.sort_values("created_at", kind="mergesort").reset_index(drop=True)
    created = pd.Series(pd.to_datetime(leads["created_at"], utc=True)).dt.as_unit("ns")
    events = _with_columns(events)
    occurred = pd.Series(pd.to_datetime(events["occurred_at"], utc=True)).dt.as_unit("ns")
    stamp = _as_of(as_of, created, occurred)

    spec = LabelSpec.from_policy(policy, as_of=stamp)
    labels = build_labels(leads[["lead_id"]], events, spec).reset_index(drop=True)
    n = len(leads)
    ids = pd.Index(leads["lead_id"])
    ev = _events_of(ids, events, occurred, stamp)
    cal = policy.business_calendar()

    handed = labels["handed_off"].to_numpy(bool)
    status = labels["status"].to_numpy(object)
    sc = _scores_of(ids, scores)
    source_raw = _column(leads, policy.source_field)

    # the handed_off event names the rep and team; otherwise the latest event that names a rep,
    # and the policy's routing for the team
    handoff = ev[ev["type"] == "handed_off"].drop_duplicates("pos", keep="first")
    with_rep = ev[ev["rep"].notna()].drop_duplicates("pos", keep="last")
    rep = _per_lead(n, with_rep, "rep")
    rep_at_handoff = _per_lead(n, handoff, "rep")
    rep = np.where(pd.notna(rep_at_handoff), rep_at_handoff, rep)
    team = _per_lead(n, handoff, "team")
    team = np.where(pd.notna(team), team, route_team(leads, policy)).astype(object)

    tier = sc["tier"].copy()
    need = handed & pd.isna(tier)
    tier[need] = assign_tier(sc["score"][need], policy)
    # leads handed off below every tier (explored ones) get the lowest tier, as the demo
    # generator records them: the SLA still applies to them
    tier[handed & pd.isna(tier)] = policy.tiers[-1].name
    tier = np.where(pd.isna(tier), None, tier).astype(object)

    due = pd.Series(pd.DatetimeIndex(sc["due_at"]).tz_localize("UTC"))
    todo = np.flatnonzero(handed & due.isna().to_numpy() & created.notna().to_numpy())
    if len(todo):
        due.iloc[todo] = due_at(
            created.iloc[todo], list(tier[todo]), list(source_raw[todo]), policy, cal
        ).to_numpy()

    first_contact = labels["first_contact_at"]
    state = sla_states(created, due.where(handed), first_contact, stamp, cal)["state"]
    deadline_bh = cal.elapsed_many(created, due) / 3600.0
    response_bh = cal.elapsed_many(created, first_contact) / 3600.0

    contact = ev[ev["type"] == "contact_attempt"]
    attempts = np.bincount(contact["pos"].to_numpy(), minlength=n).astype(np.int64)
    first_attempt = _per_lead(n, contact.drop_duplicates("pos", keep="first"), "duration_s")
    opp = ev[ev["type"] == "opportunity"].drop_duplicates("pos", keep="first")
    opportunity_at = _per_lead_times(n, opp)
    outcome = ev[ev["type"].isin(("won", "lost"))].drop_duplicates("pos", keep="last")
    won = _per_lead(n, outcome, "type") == "won"
    amount = np.where(won, pd.to_numeric(_per_lead(n, outcome, "amount")), np.nan)
    accepted = status == "accepted"
    has_opp = ~np.isnat(opportunity_at)
    short = pd.to_numeric(first_attempt).astype(float) < SUPERFICIAL_MAX_SECONDS
    settled = labels["decided_at"] <= stamp - pd.Timedelta(days=SUPERFICIAL_SETTLE_DAYS)
    superficial = accepted & (attempts == 1) & short & ~has_opp & settled.to_numpy(bool)

    out = pd.DataFrame(
        {
            "lead_id": ids.to_numpy(object),
            "created_at": created,
            "month": _months(created, policy.calendar.timezone),
            **{f: _labelled(leads, f) for f in SEGMENT_FIELDS},
            "team": team,
            "rep": np.where(pd.isna(rep), None, rep).astype(object),
            "score": sc["score"],
            "score_band": score_bands(sc["score"]),
            "probability": sc["probability"],
            "acceptance_probability": sc["acceptance_probability"],
            "excluded_reason": sc["excluded_reason"],
            "handed_off": handed,
            "handed_off_at": labels["handed_off_at"],
            "tier": tier,
            "due_at": due,
            "deadline_bh": deadline_bh,
            "first_contact_at": first_contact,
            "response_bh": response_bh,
            "sla_state": state.map(_STATE_NAMES).to_numpy(object),
            "status": status,
            "accepted": accepted,
            "rejected": status == "rejected",
            "rejection_reason": labels["rejection_reason"].to_numpy(object),
            "decided_at": labels["decided_at"],
            "opportunity": has_opp,
            "opportunity_at": pd.DatetimeIndex(opportunity_at).tz_localize("UTC"),
            "won": won,
            "amount": amount,
            "contact_attempts": attempts,
            "superficial": superficial,
            "exploration": labels["exploration"].to_numpy(bool),
        }
    )
    out = out.astype(TABLE_DTYPES)
    out.attrs["as_of"] = stamp
    return out


def score_bands(scores: np.ndarray | pd.Series) -> np.ndarray:
    """ "0-9", "10-19", ... "90-100" per score (100 falls in the top band); None when missing."""
    s = np.asarray(scores, dtype=float)
    k = np.clip(np.floor(np.nan_to_num(s, nan=0.0) / 10.0), 0, 9).astype(int)
    return np.where(np.isnan(s), None, np.asarray(SCORE_BANDS, dtype=object)[k])


# --- helpers ----------------------------------------------------------------------------------
_EVENT_COLUMNS = ("lead_id", "type", "occurred_at", "rep", "team", "duration_s", "amount")


def _with_columns(events: pd.DataFrame) -> pd.DataFrame:
    """Events with every column used here (an empty or partial frame gets empty ones)."""
    missing = {c: None for c in _EVENT_COLUMNS if c not in events.columns}
    if "occurred_at" in missing:
        missing["occurred_at"] = pd.NaT
    return events.assign(**missing) if missing else events


def _as_of(
    value: pd.Timestamp | datetime | str | None, created: pd.Series, occurred: pd.Series
) -> pd.Timestamp:
    if value is not None:
        ts = pd.Timestamp(value)
        if ts.tzinfo is None:
            raise ValueError(f"as_of must be timezone-aware, got naive {ts}")
        return ts.tz_convert("UTC")
    return latest_activity(created, occurred)


def latest_activity(created: pd.Series, occurred: pd.Series) -> pd.Timestamp:
    """The data's "now": its latest lead creation or event (now itself when both are empty).

    A live store's latest activity is minutes old; a demo or an export ends on a fixed day,
    and measuring it against today would call every lead of the last weeks unworked.
    """
    known = [t for t in (created.max(), occurred.max()) if pd.notna(t)]
    return max(known) if known else pd.Timestamp.now(tz="UTC")


def _events_of(
    ids: pd.Index, events: pd.DataFrame, occurred: pd.Series, as_of: pd.Timestamp
) -> pd.DataFrame:
    """The known leads' events up to ``as_of``, in time order (ties keep the input order)."""
    pos = ids.get_indexer(events["lead_id"])
    keep = (pos >= 0) & occurred.notna().to_numpy() & (occurred <= as_of).to_numpy()
    ev = events.loc[keep, ["type", "rep", "team", "duration_s", "amount"]]
    at = occurred[keep].dt.tz_localize(None).to_numpy()
    ev = ev.assign(pos=pos[keep], at=at)
    return ev.sort_values("at", kind="mergesort")


def _per_lead(n: int, rows: pd.DataFrame, column: str) -> np.ndarray:
    """One value per lead from rows already reduced to one per ``pos`` (None elsewhere)."""
    out = np.full(n, None, dtype=object)
    out[rows["pos"].to_numpy()] = rows[column].to_numpy(dtype=object)
    return out


def _per_lead_times(n: int, rows: pd.DataFrame) -> np.ndarray:
    out = np.full(n, np.datetime64("NaT", "ns"))
    out[rows["pos"].to_numpy()] = rows["at"].to_numpy()
    return out


def _scores_of(ids: pd.Index, scores: pd.DataFrame) -> dict[str, np.ndarray]:
    """The latest stored score of each lead, aligned on ``ids`` (NaN / None / NaT if none)."""
    n = len(ids)
    out: dict[str, np.ndarray] = {
        "score": np.full(n, np.nan),
        "probability": np.full(n, np.nan),
        "acceptance_probability": np.full(n, np.nan),
        "tier": np.full(n, None, dtype=object),
        "excluded_reason": np.full(n, None, dtype=object),
        "due_at": np.full(n, np.datetime64("NaT", "ns")),  # naive UTC
    }
    if len(scores) == 0 or "lead_id" not in scores.columns:
        return out
    if "scored_at" in scores.columns:
        scores = scores.sort_values("scored_at", kind="mergesort")
    scores = scores.drop_duplicates("lead_id", keep="last")
    pos = ids.get_indexer(scores["lead_id"])
    scores, pos = scores[pos >= 0], pos[pos >= 0]
    for name in ("score", "probability", "acceptance_probability"):
        if name in scores.columns:
            out[name][pos] = pd.to_numeric(scores[name], errors="coerce").to_numpy(float)
    for name in ("tier", "excluded_reason"):
        if name in scores.columns:
            values = scores[name].to_numpy(dtype=object)
            out[name][pos] = np.where(pd.isna(values), None, values)
    if "due_at" in scores.columns:
        due = pd.to_datetime(scores["due_at"], utc=True).dt.tz_localize(None)
        out["due_at"][pos] = due.to_numpy().astype("datetime64[ns]")
    return out


def _column(leads: pd.DataFrame, name: str) -> np.ndarray:
    """A lead field as objects with None for missing (a missing column is all None)."""
    if name not in leads.columns:
        return np.full(len(leads), None, dtype=object)
    values = leads[name].to_numpy(dtype=object)
    return np.where(pd.isna(values), None, values)


def _labelled(leads: pd.DataFrame, name: str) -> np.ndarray:
    """A segment field with "unknown" for missing values (and for a missing column)."""
    if name not in leads.columns:
        return np.full(len(leads), UNKNOWN, dtype=object)
    return leads[name].astype(object).fillna(UNKNOWN).to_numpy(object)


def _months(created: pd.Series, timezone: str) -> np.ndarray:
    """ "YYYY-MM" of each instant in the policy's timezone (formatted once per distinct month)."""
    local = created.dt.tz_convert(timezone)
    code = (local.dt.year * 12 + local.dt.month - 1).to_numpy()
    uniq, inverse = np.unique(code, return_inverse=True)
    names = np.asarray([f"{c // 12:04d}-{c % 12 + 1:02d}" for c in uniq], dtype=object)
    return names[inverse]

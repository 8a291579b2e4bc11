"""The SLA's shared indicators and the review committee's views, computed from the lead table.

Pure functions: a lead table (``dashboard.lead_table.build_lead_table``) and the policy in, a
small frame or a frozen dataclass out, ready to show. No Streamlit, no I/O, so each number can
be tested against a fixture counted by hand.

Conventions (the SLA's own words, applied the same way everywhere):

* acceptance rate = accepted / (accepted + rejected) among handed-off leads; undecided leads
  are left out, so a month with many open leads is not read as a month of rejections.
  Rejection rate = rejected / (accepted + rejected).
* feedback completeness = rejections with a reason / rejections.
* conversion = opportunities / handed off; won rate = won / handed off.
* within-SLA share = met / (met + breached); open leads are not judged yet.
* a month is the month of ``created_at`` in the policy's timezone (the ``month`` column).
* quantiles interpolate linearly between order statistics (numpy's default, "type 7"): the
  p90 of n sorted values sits at position 0.9 * (n - 1), counting from 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

from dashboard.lead_table import SCORE_BANDS
from feature_defs.policy import Policy

SEGMENTS = ("source", "sector", "employee_band", "country", "team", "rep", "score_band")
FILTERABLE = SEGMENTS + ("tier",)
NO_REASON = "(no reason)"
NONE_LEVEL = "(none)"
MIN_DECISIONS = 10

REASON_FEATURES: dict[str, tuple[str, ...]] = {
    "no_budget": ("bant_budget",),
    "bad_timing": ("bant_timeline",),
    "out_of_target": ("employee_band", "sector", "country"),
    "no_authority": ("seniority", "job_function"),
    "existing_customer": ("is_existing_customer",),
    "no_need": ("bant_need",),
}
"""Lead fields a rejection reason speaks about: a model that counts one of them as a strong
positive driver disagrees with the rep who rejected the lead for that reason."""

_TOL = 1e-9  # rates are ratios of small integers: compare thresholds with a hair of slack
_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
          "ten", "eleven", "twelve")  # fmt: skip


# --- filters ----------------------------------------------------------------------------------
def filter_table(
    table: pd.DataFrame,
    *,
    start: date | datetime | pd.Timestamp | str | None = None,
    end: date | datetime | pd.Timestamp | str | None = None,
    segments: Mapping[str, Sequence[str]] | None = None,
    timezone: str = "UTC",
) -> pd.DataFrame:
    """Leads created in [start, end) whose segment values are among the chosen ones.

    A date or naive time is read in ``timezone`` (pass the policy's, so a period matches the
    ``month`` column); aware times are used as they are. ``segments`` maps a column (source,
    sector, employee_band, country, team, rep, score_band, tier) to the values kept; an empty
    selection means "all".
    """
    keep = np.ones(len(table), dtype=bool)
    created = table["created_at"]
    if start is not None:
        keep &= (created >= _instant(start, timezone)).to_numpy()
    if end is not None:
        keep &= (created < _instant(end, timezone)).to_numpy()
    for column, values in (segments or {}).items():
        if column not in FILTERABLE:
            raise ValueError(
                f"cannot filter on {column!r}; segment filters: {', '.join(FILTERABLE)}"
            )
        if values is None or len(values) == 0:
            continue
        keep &= table[column].isin(list(values)).to_numpy()
    return table[keep].reset_index(drop=True)


def _instant(value: date | datetime | pd.Timestamp | str, timezone: str) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return (ts.tz_localize(timezone) if ts.tzinfo is None else ts).tz_convert("UTC")


# --- the SLA overview -------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Overview:
    """The SLA's shared indicators for one period and segment selection."""

    leads: int
    handed_off: int
    months: int
    commitment: int  # monthly commitment x months covered
    commitment_share: float  # handed_off / commitment
    accepted: int
    rejected: int
    acceptance_rate: float
    rejection_rate: float
    rejected_with_reason: int
    feedback_completeness: float
    opportunities: int
    won: int
    conversion: float
    won_rate: float
    tiers: pd.DataFrame  # one row per tier, see TIER_COLUMNS
    segment_field: str | None  # the field of policy.monthly_commitment.by_segment
    by_segment: pd.DataFrame  # one row per target level, see SEGMENT_COMMITMENT_COLUMNS


TIER_COLUMNS = (
    "tier",
    "deadline",
    "handed_off",
    "contacted",
    "median_response_bh",
    "p90_response_bh",
    "deadline_bh",
    "met",
    "breached",
    "open",
    "within_sla_share",
)
SEGMENT_COMMITMENT_COLUMNS = ("level", "target_per_month", "commitment", "handed_off", "share")


def sla_overview(table: pd.DataFrame, policy: Policy, *, months: int | None = None) -> Overview:
    """Handed off against the commitment, acceptance, response time per tier, completeness and
    conversion, for the (already filtered) table.

    ``months`` is the number of months the commitment is multiplied by; by default the number
    of distinct months in the table (pass the period's length when a month may have no lead).
    """
    n_months = int(table["month"].nunique()) if months is None else int(months)
    h = table[table["handed_off"]]
    c = _counts(h)
    commitment = policy.monthly_commitment.total * n_months
    seg = policy.monthly_commitment.by_segment
    return Overview(
        leads=len(table),
        handed_off=c["handed_off"],
        months=n_months,
        commitment=commitment,
        commitment_share=_ratio(c["handed_off"], commitment),
        accepted=c["accepted"],
        rejected=c["rejected"],
        acceptance_rate=_ratio(c["accepted"], c["decisions"]),
        rejection_rate=_ratio(c["rejected"], c["decisions"]),
        rejected_with_reason=c["with_reason"],
        feedback_completeness=_ratio(c["with_reason"], c["rejected"]),
        opportunities=c["opportunities"],
        won=c["won"],
        conversion=_ratio(c["opportunities"], c["handed_off"]),
        won_rate=_ratio(c["won"], c["handed_off"]),
        tiers=_tier_table(h, policy),
        segment_field=seg.field if seg else None,
        by_segment=_segment_commitment(h, policy, n_months),
    )


def _counts(h: pd.DataFrame) -> dict[str, int]:
    """Counts over handed-off rows that the rates are made of."""
    rejected = h["rejected"].to_numpy(bool)
    accepted = int(h["accepted"].sum())
    return {
        "handed_off": len(h),
        "accepted": accepted,
        "rejected": int(rejected.sum()),
        "decisions": accepted + int(rejected.sum()),
        "with_reason": int((rejected & h["rejection_reason"].notna().to_numpy()).sum()),
        "opportunities": int(h["opportunity"].sum()),
        "won": int(h["won"].sum()),
    }


def _tier_table(h: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    names = [t.name for t in policy.tiers]
    names += sorted(set(h["tier"].dropna()) - set(names))
    g = h.groupby("tier")
    resp = h[h["response_bh"].notna()].groupby("tier")["response_bh"]
    state = pd.crosstab(h["tier"], h["sla_state"]) if len(h) else pd.DataFrame()
    out = pd.DataFrame({"tier": names})
    out["deadline"] = [_deadline_text(policy, t) for t in names]
    out["handed_off"] = g.size().reindex(names, fill_value=0).to_numpy()
    out["contacted"] = resp.size().reindex(names, fill_value=0).to_numpy()
    out["median_response_bh"] = resp.median().reindex(names).to_numpy(float)
    out["p90_response_bh"] = resp.quantile(0.9).reindex(names).to_numpy(float)
    out["deadline_bh"] = g["deadline_bh"].median().reindex(names).to_numpy(float)
    for s in ("met", "breached", "open"):
        col = state[s] if s in state.columns else pd.Series(dtype="int64")
        out[s] = col.reindex(names, fill_value=0).to_numpy("int64")
    out["within_sla_share"] = _ratio(out["met"], out["met"] + out["breached"])
    return out


def _deadline_text(policy: Policy, tier: str) -> str | None:
    try:
        return policy.tier(tier).deadline.describe()
    except KeyError:
        return None


def _segment_commitment(h: pd.DataFrame, policy: Policy, months: int) -> pd.DataFrame:
    seg = policy.monthly_commitment.by_segment
    if seg is None:
        return pd.DataFrame({c: [] for c in SEGMENT_COMMITMENT_COLUMNS})
    levels = list(seg.targets)
    target = np.array([seg.targets[k] for k in levels], dtype="int64")
    values = h[seg.field] if seg.field in h.columns else pd.Series(dtype=object)
    done = values.value_counts().reindex(levels, fill_value=0).to_numpy("int64")
    return pd.DataFrame(
        {
            "level": levels,
            "target_per_month": target,
            "commitment": target * months,
            "handed_off": done,
            "share": _ratio(done, target * months),
        }
    )


# --- monthly trends and review triggers -------------------------------------------------------
MONTHLY_COLUMNS = (
    "month",
    "leads",
    "handed_off",
    "commitment",
    "accepted",
    "rejected",
    "decisions",
    "acceptance_rate",
    "rejection_rate",
    "met",
    "breached",
    "within_sla_share",
    "median_response_bh",
    "rejected_with_reason",
    "completeness",
    "opportunities",
    "won",
    "conversion",
    "won_rate",
)


def monthly_trends(table: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """One row per month from the first to the last month of the table (gaps filled with 0)."""
    months = _month_range(table["month"])
    h = table[table["handed_off"]]
    rejected = h["rejected"].to_numpy(bool)
    ind = pd.DataFrame(
        {
            "month": h["month"].to_numpy(),
            "handed_off": 1,
            "accepted": h["accepted"].to_numpy("int64"),
            "rejected": rejected.astype("int64"),
            "met": (h["sla_state"] == "met").to_numpy("int64"),
            "breached": (h["sla_state"] == "breached").to_numpy("int64"),
            "rejected_with_reason": (rejected & h["rejection_reason"].notna().to_numpy()).astype(
                "int64"
            ),
            "opportunities": h["opportunity"].to_numpy("int64"),
            "won": h["won"].to_numpy("int64"),
        }
    )
    sums = ind.groupby("month").sum().reindex(months, fill_value=0).astype("int64")
    out = pd.DataFrame({"month": pd.Series(months, dtype=object)})
    out["leads"] = table.groupby("month").size().reindex(months, fill_value=0).to_numpy("int64")
    out["handed_off"] = sums["handed_off"].to_numpy()
    out["commitment"] = policy.monthly_commitment.total
    out["accepted"] = sums["accepted"].to_numpy()
    out["rejected"] = sums["rejected"].to_numpy()
    out["decisions"] = out["accepted"] + out["rejected"]
    out["acceptance_rate"] = _ratio(out["accepted"], out["decisions"])
    out["rejection_rate"] = _ratio(out["rejected"], out["decisions"])
    out["met"] = sums["met"].to_numpy()
    out["breached"] = sums["breached"].to_numpy()
    out["within_sla_share"] = _ratio(out["met"], out["met"] + out["breached"])
    resp = h.loc[h["response_bh"].notna()].groupby("month")["response_bh"].median()
    out["median_response_bh"] = resp.reindex(months).to_numpy(float)
    out["rejected_with_reason"] = sums["rejected_with_reason"].to_numpy()
    out["completeness"] = _ratio(out["rejected_with_reason"], out["rejected"])
    out["opportunities"] = sums["opportunities"].to_numpy()
    out["won"] = sums["won"].to_numpy()
    out["conversion"] = _ratio(out["opportunities"], out["handed_off"])
    out["won_rate"] = _ratio(out["won"], out["handed_off"])
    return out[list(MONTHLY_COLUMNS)]


@dataclass(frozen=True)
class Trigger:
    """A review trigger of the SLA that fired, with the plain-English sentence to show."""

    kind: str  # "acceptance_floor" | "acceptance_drop" | "revision_clause"
    months: tuple[str, ...]
    value: float  # the last month's acceptance / the drop in points / the rejection rate
    message: str


def review_triggers(
    monthly: pd.DataFrame, policy: Policy, *, min_decisions: int = MIN_DECISIONS
) -> list[Trigger]:
    """The triggers of ``policy.review_triggers`` that fire on ``monthly_trends`` output.

    A month with fewer than ``min_decisions`` accepted + rejected leads never fires and breaks
    a run (a 1-of-3 month says nothing). Runs and drops need calendar-consecutive months. One
    floor trigger per maximal run of at least ``consecutive_months`` months below the floor.
    """
    rules = policy.review_triggers
    m = monthly.sort_values("month").reset_index(drop=True)
    months = m["month"].tolist()
    rate = m["acceptance_rate"].to_numpy(float)
    enough = m["decisions"].to_numpy() >= min_decisions
    below = enough & (rate < rules.acceptance_floor - _TOL)
    follows = np.r_[False, [_next_month(a) == b for a, b in zip(months, months[1:])]]
    floor = _pct(rules.acceptance_floor)
    out: list[Trigger] = []

    run: list[int] = []
    for i in range(len(m) + 1):  # a pass over months (a dozen rows), not over leads
        if i < len(m) and below[i] and (not run or follows[i]):
            run.append(i)
            continue
        if len(run) >= rules.consecutive_months:
            parts = [f"{_pct(rate[j], near=rules.acceptance_floor)} in {months[j]}" for j in run]
            running = f" {_WORDS[len(run)] if len(run) < 13 else len(run)} months running"
            out.append(
                Trigger(
                    "acceptance_floor",
                    tuple(months[j] for j in run),
                    float(rate[run[-1]]),
                    f"Acceptance was {_and(parts)}, below the {floor} floor"
                    f"{running if len(run) > 1 else ''}: the SLA says to hold a review.",
                )
            )
        run = [i] if i < len(m) and below[i] else []

    for i in range(1, len(m)):
        if not (follows[i] and enough[i] and enough[i - 1]):
            continue
        drop = (rate[i - 1] - rate[i]) * 100.0
        if drop >= rules.mom_drop_points - _TOL:
            out.append(
                Trigger(
                    "acceptance_drop",
                    (months[i - 1], months[i]),
                    float(drop),
                    f"Acceptance fell from {_pct(rate[i - 1])} in {months[i - 1]} to "
                    f"{_pct(rate[i])} in {months[i]}, a drop of {_num(drop)} points (the SLA "
                    f"calls for a review at {_num(rules.mom_drop_points)} points or more).",
                )
            )

    rej = m["rejection_rate"].to_numpy(float)
    for i in np.flatnonzero(enough & (rej >= rules.rejection_rate_revision - _TOL)):
        out.append(
            Trigger(
                "revision_clause",
                (months[i],),
                float(rej[i]),
                f"Sales rejected {_pct(rej[i], near=rules.rejection_rate_revision)} of the "
                f"decided leads in {months[i]} ({int(m['rejected'][i])} of "
                f"{int(m['decisions'][i])}): at {_pct(rules.rejection_rate_revision)} or "
                "more, the SLA's revision clause opens.",
            )
        )
    return out


# --- acceptance and rejection causes by segment ------------------------------------------------
SEGMENT_ACCEPTANCE_COLUMNS = (
    "level",
    "handed_off",
    "accepted",
    "rejected",
    "decisions",
    "acceptance_rate",
    "rejection_rate",
    "below_floor",
)


def acceptance_by_segment(
    table: pd.DataFrame, segment: str, policy: Policy, min_decisions: int = MIN_DECISIONS
) -> pd.DataFrame:
    """Acceptance per level of one segment; ``below_floor`` only where decisions suffice.

    Levels are sorted by handed-off count (score bands in band order); a missing level (no rep,
    no score) shows as "(none)".
    """
    _check_segment(segment)
    h = table[table["handed_off"]]
    level = _levels(h, segment)
    g = (
        pd.DataFrame(
            {
                "level": level,
                "handed_off": 1,
                "accepted": h["accepted"].to_numpy("int64"),
                "rejected": h["rejected"].to_numpy("int64"),
            }
        )
        .groupby("level", sort=False)
        .sum()
    )
    out = g.reset_index()
    out["decisions"] = out["accepted"] + out["rejected"]
    out["acceptance_rate"] = _ratio(out["accepted"], out["decisions"])
    out["rejection_rate"] = _ratio(out["rejected"], out["decisions"])
    floor = policy.review_triggers.acceptance_floor
    out["below_floor"] = (out["decisions"] >= min_decisions) & (
        out["acceptance_rate"] < floor - _TOL
    )
    out = _order_levels(out, segment, "handed_off")
    return out[list(SEGMENT_ACCEPTANCE_COLUMNS)].astype(
        {c: "int64" for c in ("handed_off", "accepted", "rejected", "decisions")}
    )


def reason_mix(table: pd.DataFrame, segment: str) -> pd.DataFrame:
    """Rejections per level x reason (long form, every pair present) for a heatmap.

    Columns: level, reason, count, rejected (the level's rejections), share (count / rejected).
    A rejection logged without a reason counts as "(no reason)".
    """
    _check_segment(segment)
    r = table[table["handed_off"] & table["rejected"]]
    frame = pd.DataFrame({"level": _levels(r, segment), "reason": _reasons(r)})
    counts = pd.crosstab(frame["level"], frame["reason"])
    reasons = _reason_order(frame["reason"])
    levels = list(counts.index)
    if segment == "score_band":
        levels = [b for b in (*SCORE_BANDS, NONE_LEVEL) if b in counts.index]
    grid = counts.reindex(index=levels, columns=reasons, fill_value=0)
    out = grid.stack().rename("count").reset_index()
    out.columns = ["level", "reason", "count"]
    out["count"] = out["count"].astype("int64")
    out["rejected"] = out.groupby("level")["count"].transform("sum").astype("int64")
    out["share"] = _ratio(out["count"], out["rejected"])
    return out


def reason_trends(table: pd.DataFrame) -> pd.DataFrame:
    """Rejections per month x reason: count, the month's rejections, share, and the change in
    share from the previous month in points (NaN for the first month or an empty one)."""
    months = _month_range(table["month"])
    r = table[table["handed_off"] & table["rejected"]]
    frame = pd.DataFrame({"month": r["month"].to_numpy(), "reason": _reasons(r)})
    reasons = _reason_order(frame["reason"])
    grid = pd.crosstab(frame["month"], frame["reason"]).reindex(
        index=months, columns=reasons, fill_value=0
    )
    total = grid.sum(axis=1)
    share = grid.div(total.where(total > 0), axis=0)
    change = (share - share.shift(1)) * 100.0
    out = pd.DataFrame(
        {
            "month": np.repeat(np.asarray(months, dtype=object), len(reasons)),
            "reason": np.tile(np.asarray(reasons, dtype=object), len(months)),
            "count": grid.to_numpy("int64").ravel(),
            "rejected": np.repeat(total.to_numpy("int64"), len(reasons)),
            "share": share.to_numpy(float).ravel(),
            "share_change_points": change.to_numpy(float).ravel(),
        }
    )
    return out


REP_COLUMNS = (
    "rep",
    "team",
    "handed_off",
    "accepted",
    "rejected",
    "decisions",
    "acceptance_rate",
    "team_acceptance_rate",
    "gap_points",
    "median_response_bh",
    "within_sla_share",
    "completeness",
)


def rep_gaps(table: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Per rep: volume, acceptance, speed, SLA share, completeness, and the gap in points
    between the rep's acceptance rate and the whole team's (negative: stricter than the team).

    A rep's team is the one the policy lists them in, else the team most of their leads had.
    """
    h = table[table["handed_off"]]
    rejected = h["rejected"].to_numpy(bool)
    ind = pd.DataFrame(
        {
            "rep": h["rep"].to_numpy(object),
            "team": h["team"].to_numpy(object),
            "handed_off": 1,
            "accepted": h["accepted"].to_numpy("int64"),
            "rejected": rejected.astype("int64"),
            "with_reason": (rejected & h["rejection_reason"].notna().to_numpy()).astype("int64"),
            "met": (h["sla_state"] == "met").to_numpy("int64"),
            "breached": (h["sla_state"] == "breached").to_numpy("int64"),
            "response_bh": h["response_bh"].to_numpy(float),
        }
    )
    numbers = ["handed_off", "accepted", "rejected", "with_reason", "met", "breached"]
    by_team = ind.groupby("team")[["accepted", "rejected"]].sum()
    team_rate = _ratio(by_team["accepted"], by_team["accepted"] + by_team["rejected"])
    team_rate = pd.Series(team_rate, index=by_team.index, dtype=float)
    reps = ind[ind["rep"].notna()]
    g = reps.groupby("rep")
    out = g[numbers].sum().astype("int64")
    out["median_response_bh"] = g["response_bh"].median()
    listed = {r: t.name for t in policy.capacity.teams for r in t.reps}
    usual = reps.groupby("rep")["team"].agg(lambda s: s.mode().iloc[0] if s.notna().any() else None)
    out["team"] = [listed.get(r, usual.get(r)) for r in out.index]
    out = out.reset_index()
    out["decisions"] = out["accepted"] + out["rejected"]
    out["acceptance_rate"] = _ratio(out["accepted"], out["decisions"])
    out["team_acceptance_rate"] = out["team"].map(team_rate).astype(float)
    out["gap_points"] = (out["acceptance_rate"] - out["team_acceptance_rate"]) * 100.0
    out["within_sla_share"] = _ratio(out["met"], out["met"] + out["breached"])
    out["completeness"] = _ratio(out["with_reason"], out["rejected"])
    out = out.sort_values(["team", "gap_points", "rep"], kind="mergesort", na_position="last")
    return out[list(REP_COLUMNS)].reset_index(drop=True)


@dataclass(frozen=True, eq=False)
class Superficial:
    """Acceptances with one short touch and nothing after: the leads, and each rep's share."""

    leads: pd.DataFrame  # SUPERFICIAL_LEAD_COLUMNS, newest first
    by_rep: pd.DataFrame  # rep, team, accepted, superficial, share (of the rep's acceptances)


SUPERFICIAL_LEAD_COLUMNS = (
    "lead_id",
    "created_at",
    "month",
    "rep",
    "team",
    "tier",
    "score",
    "first_contact_at",
    "decided_at",
)


def superficial_acceptances(table: pd.DataFrame) -> Superficial:
    """The leads flagged ``superficial`` and, per rep, the share of their acceptances it is."""
    flagged = table[table["superficial"]].sort_values("created_at", ascending=False)
    leads = flagged[list(SUPERFICIAL_LEAD_COLUMNS)].reset_index(drop=True)
    acc = table[table["handed_off"] & table["accepted"] & table["rep"].notna()]
    g = pd.DataFrame(
        {
            "rep": acc["rep"].to_numpy(object),
            "team": acc["team"].to_numpy(object),
            "accepted": 1,
            "superficial": acc["superficial"].to_numpy("int64"),
        }
    ).groupby("rep")
    by_rep = g[["accepted", "superficial"]].sum().astype("int64")
    by_rep["team"] = g["team"].agg(lambda s: s.mode().iloc[0] if s.notna().any() else None)
    by_rep = by_rep.reset_index()
    by_rep["share"] = _ratio(by_rep["superficial"], by_rep["accepted"])
    by_rep = by_rep.sort_values(["share", "rep"], ascending=[False, True], kind="mergesort")
    by_rep = by_rep[["rep", "team", "accepted", "superficial", "share"]].reset_index(drop=True)
    return Superficial(leads=leads, by_rep=by_rep)


CONTRADICTION_COLUMNS = ("lead_id", "rep", "rejection_reason", "feature", "label", "points")


def reason_contradictions(
    table: pd.DataFrame,
    reasons: pd.DataFrame,
    min_points: float = 5.0,
    *,
    feature_sources: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Rejected leads whose rejection reason is about a field the model counts as a strong
    positive driver (``points >= min_points``), strongest first.

    ``reasons`` is long: lead_id, feature, label, points (the champion's explanation).
    ``REASON_FEATURES`` names lead fields; a model feature matches when it is that field or,
    given ``feature_sources`` (feature name -> source field, e.g. ``{"budget": "bant_budget"}``
    from the feature set), when it is computed from it.
    """
    r = table[table["handed_off"] & table["rejected"] & table["rejection_reason"].notna()]
    pairs = pd.DataFrame(
        [(code, f) for code, fields in REASON_FEATURES.items() for f in fields],
        columns=["rejection_reason", "field"],
    )
    leads = r[["lead_id", "rep", "rejection_reason"]].merge(pairs, on="rejection_reason")
    strong = reasons["points"].astype(float) >= min_points - _TOL
    drivers = reasons.loc[strong, ["lead_id", "feature", "label", "points"]]
    sources = dict(feature_sources or {})
    fields = pd.Series([sources.get(f, f) for f in drivers["feature"]], dtype=object)
    drivers = drivers.assign(field=fields.to_numpy(object))
    out = leads.merge(drivers, on=["lead_id", "field"])
    out = out.sort_values(["points", "lead_id"], ascending=[False, True], kind="mergesort")
    out["points"] = out["points"].astype(float)
    return out[list(CONTRADICTION_COLUMNS)].reset_index(drop=True)


DECISION_COLUMNS = (
    "decided_at",
    "lead_id",
    "preview",
    "decision",
    "reasoning",
    "decided_by",
    "case",
    "decision_id",
)


def decision_log(decisions: pd.DataFrame, *, preview_chars: int = 80) -> pd.DataFrame:
    """``Store.read_decisions()`` newest first, with the case cut to a one-line preview."""
    d = decisions.copy()
    if "decision_id" not in d.columns:
        d["decision_id"] = pd.Series(range(1, len(d) + 1), index=d.index, dtype="int64")
    case = d["case"].fillna("").astype(str).str.replace(r"\s+", " ", regex=True).str.strip()
    long = case.str.len() > preview_chars
    cut = case.str.slice(0, preview_chars - 1).str.rstrip() + "…"
    d["preview"] = case.where(~long, cut)
    d = d.sort_values(["decided_at", "decision_id"], ascending=False, kind="mergesort")
    return d[list(DECISION_COLUMNS)].reset_index(drop=True)


# --- helpers ----------------------------------------------------------------------------------
def _ratio(num: object, den: object) -> np.ndarray | float:
    """num / den, NaN where den is 0 (a rate over nothing is unknown, not zero)."""
    n = np.asarray(num, dtype=float)
    d = np.asarray(den, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(d > 0, n / np.where(d > 0, d, 1.0), np.nan)
    return float(out) if out.ndim == 0 else out


def _check_segment(segment: str) -> None:
    if segment not in SEGMENTS:
        raise ValueError(f"unknown segment {segment!r}; choose one of {', '.join(SEGMENTS)}")


def _levels(rows: pd.DataFrame, segment: str) -> np.ndarray:
    return rows[segment].astype(object).fillna(NONE_LEVEL).to_numpy(object)


def _reasons(rows: pd.DataFrame) -> np.ndarray:
    return rows["rejection_reason"].astype(object).fillna(NO_REASON).to_numpy(object)


def _reason_order(reasons: pd.Series) -> list[str]:
    """Most frequent first, "(no reason)" last, ties by name."""
    counts = reasons.value_counts()
    named = sorted((r for r in counts.index if r != NO_REASON), key=lambda r: (-counts[r], r))
    return named + ([NO_REASON] if NO_REASON in counts.index else [])


def _order_levels(frame: pd.DataFrame, segment: str, by: str) -> pd.DataFrame:
    if segment == "score_band":
        rank = {b: i for i, b in enumerate((*SCORE_BANDS, NONE_LEVEL))}
        key = frame["level"].map(rank)
        return frame.assign(_k=key).sort_values("_k").drop(columns="_k").reset_index(drop=True)
    return frame.sort_values([by, "level"], ascending=[False, True], kind="mergesort").reset_index(
        drop=True
    )


def _month_range(months: pd.Series) -> list[str]:
    """Every "YYYY-MM" from the first to the last month present (none for an empty table)."""
    present = months.dropna()
    if present.empty:
        return []
    span = pd.period_range(pd.Period(present.min(), "M"), pd.Period(present.max(), "M"), freq="M")
    return [p.strftime("%Y-%m") for p in span]


def _next_month(month: str) -> str:
    return (pd.Period(month, "M") + 1).strftime("%Y-%m")


def _pct(x: float, *, near: float | None = None) -> str:
    """A share as a whole percent; one decimal when rounding would make it look like ``near``
    (49.6% is below a 50% floor and must not read "50%")."""
    text = f"{x * 100:.0f}%"
    if near is not None and abs(x - near) > _TOL and text == f"{near * 100:.0f}%":
        text = f"{x * 100:.1f}%"
    return text


def _num(x: float) -> str:
    """A point count without a useless ".0"."""
    return f"{x:.0f}" if abs(x - round(x)) < 0.05 else f"{x:.1f}"


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]

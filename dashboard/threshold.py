"""Threshold what-if for marketing ops (dashboard page 2): volume, value and first-contact SLA.

A slider moves the handoff threshold (score 0-100, score = 100 x calibrated P(accepted)) and the
tier cutoffs; the page must answer within 200 ms even for a flow of a million leads. So
:meth:`ThresholdModel.build` does the heavy work once (ranking, prefix sums, the business clock,
per-lead deadlines) and :meth:`ThresholdModel.evaluate` only does ``searchsorted`` lookups plus
one vectorised queue simulation over the MQLs.

What one evaluation returns (:class:`WhatIf`), for the leads of the window:

* MQLs: leads not excluded whose score >= threshold (the rule of ``feature_defs.sla.is_handoff``),
  per month against ``policy.monthly_commitment.total``.
* Expected accepted leads = sum of ``p_accept`` over MQLs; expected opportunities = sum of
  ``p_opportunity`` over MQLs; opportunities lost = sum of ``p_opportunity`` over non-excluded
  leads below the threshold; expected acceptance rate = expected accepted / MQLs with
  probabilities. A lead missing either probability (e.g. history scored by the old scorecard)
  is left out of these sums and counted (``missing_probabilities``); a sum over leads that all
  lack them is NaN, not 0. A lead without a score is never an MQL (``unscored``).
* Load per rep per business day = team MQLs / (team reps x working days of the window), against
  ``contacts_per_rep_per_day``; utilisation = load / capacity.
* Tiers: the first tier whose cutoff the score reaches; the lowest tier starts at the threshold
  (the policy requires that every MQL has a tier, so a saved policy moves it with the threshold).

Queue simulation, per team (assumptions):

1. ``c = len(team.reps)`` identical reps serve one FIFO queue (first come, first served, all
   tiers together: no priority for hot leads; exact priority scheduling has no vectorised
   recursion, so FIFO is pessimistic for hot and optimistic for cold). Each MQL takes one first
   contact of ``s = H / contacts_per_rep_per_day`` business time, where ``H`` is the mean length
   of a working day in the window (window business time / its working days; 7.4 h on the default
   calendar), rounded to the microsecond; so ``c x window business time / s`` is the team's
   capacity over the window (reps x contacts per rep per day x working days).
2. Time runs on the business clock B (``BusinessCalendar.business_us``): reps work only in
   business hours, a contact begun before closing resumes at the next opening, and a lead created
   outside business hours arrives at the next opening, because B is flat outside them. The
   arrivals are the leads' real creation instants, so quiet days and days of 50 leads both occur,
   and a backlog carries over from one day to the next.
3. The queue is empty when the window opens; leads still waiting when it closes are simulated
   until served. Routing and capacity are today's: a lead keeps its team, reps come from the
   policy. Not modelled: exploration handoffs below the threshold (``exploration_share``),
   absences, and work other than the first contact.
4. With constant service and FIFO, contacts start in arrival order and the k-th MQL starts at
   ``start_k = max(a_k, start_{k-c} + s)``: the c interleaved Lindley recursions
   ``x_j = max(b_j, x_{j-1} + s)`` over each residue class of k mod c have the closed form
   ``x_j = j*s + max_{i<=j}(b_i - i*s)``, one ``np.maximum.accumulate`` (checked in the tests
   against an event-by-event heap simulation).
5. A lead is contacted within its deadline when ``start - arrival <= deadline`` in business time.
   The deadline is ``feature_defs.sla.effective_deadline(tier, source)``; business hours are
   exact, and business days follow ``BusinessCalendar.add_days`` exactly (same working day
   N working days later, same business offset from its opening, clamped to its close), computed
   vectorised from B at the local midnights of the calendar's working days and equal to
   ``add_days`` to the microsecond (tested).

Cost: build is O(n log n) (~2.5 s at 1,000,000 leads); evaluate is O((months + teams) log n)
for the counts and sums, and O(MQLs) numpy work for the queue (about 20 array passes): ~30 ms
at 1,000,000 leads (bench/dashboard_threshold.py). Prefix sums are kept per month and per team
as separate ranked arrays (O(n) memory), not as months x n 2-D arrays, which would take
hundreds of MB for 18 months of a million leads.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dtime
from numbers import Real
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from feature_defs.business_time import BusinessCalendar
from feature_defs.policy import Deadline, Policy
from feature_defs.sla import effective_deadline

__all__ = [
    "FLOW_COLUMNS",
    "ThresholdModel",
    "WhatIf",
    "fifo_starts",
    "flow_from_lead_table",
    "last_full_months",
]

FLOW_COLUMNS = ("created_at", "score", "p_accept", "p_opportunity", "team", "source", "excluded")
US_PER_HOUR = 3_600_000_000
_QUANTILES = (0.5, 0.9)


@dataclass(frozen=True)
class WhatIf:
    """The page's numbers for one slider position. Shares and waits are NaN without MQLs;
    expected sums are NaN when every lead summed lacks probabilities.

    ``monthly``: month ("YYYY-MM", policy timezone), mqls, commitment, expected_accepted,
    expected_opportunities — one row per month of the window.
    ``teams``: team, reps, capacity_per_rep_day, mqls, business_days, load_per_rep_day,
    utilisation (load / capacity), service_hours (business hours per first contact),
    within_share — one row per policy team, in policy order.
    ``tiers``: tier, min_score, mqls, within_deadline (count), within_share, median_wait_bh,
    p90_wait_bh (business hours from arrival to first contact) — one row per policy tier.
    """

    threshold: float
    cutoffs: tuple[tuple[str, float], ...]  # (tier, min_score), highest first; last = threshold
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    leads: int  # leads in the window
    excluded: int
    unscored: int  # not excluded, no score: never an MQL
    mqls: int
    below_threshold: int  # scored, not excluded, below the threshold
    expected_accepted: float
    expected_opportunities: float
    expected_acceptance_rate: float  # expected_accepted / MQLs with probabilities
    lost_opportunities: float
    missing_probabilities: int  # MQLs without p_accept or p_opportunity: left out of the sums
    business_days: int
    monthly: pd.DataFrame
    teams: pd.DataFrame
    tiers: pd.DataFrame


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def _prefix(x: np.ndarray) -> np.ndarray:
    out = np.empty(len(x) + 1, dtype=np.float64 if x.dtype.kind == "f" else np.int64)
    out[0] = 0
    np.cumsum(x, out=out[1:])
    return _readonly(out)


class _Ranked:
    """One group's scored, non-excluded leads ranked by score (highest first), prefix sums.

    ``order[r]`` is the group position of the lead of rank r. Every tier is a run of ranks.
    """

    __slots__ = ("neg_score", "order", "p_accept", "p_opportunity", "missing")

    def __init__(self, score: np.ndarray, pa: np.ndarray, po: np.ndarray, miss: np.ndarray):
        order = np.argsort(-score, kind="stable")
        self.order = _readonly(order)
        self.neg_score = _readonly(-score[order])  # ascending, for searchsorted
        self.p_accept = _prefix(pa[order])
        self.p_opportunity = _prefix(po[order])
        self.missing = _prefix(miss[order].astype(np.int64))

    @property
    def n(self) -> int:
        return len(self.neg_score)

    def top(self, threshold: float) -> int:
        """How many leads score >= threshold: they are the first ones of the ranking."""
        return int(np.searchsorted(self.neg_score, -threshold, side="right"))


@dataclass(frozen=True, eq=False)
class _TeamQueue:
    """A team's candidate MQLs: arrival order for the queue, score order for tiers/deadlines."""

    name: str
    servers: int
    per_rep_day: float
    service_us: int
    ranked: _Ranked  # ranked.order[r] = arrival position of the lead of rank r
    arrival: np.ndarray  # int64 business µs, arrival order
    score: np.ndarray  # arrival order
    deadline: np.ndarray  # (n_tiers, n) int64 business µs under each tier, in rank order


def fifo_starts(arrivals: np.ndarray, servers: int, service: int) -> np.ndarray:
    """Start of service of each arrival in a FIFO queue with ``servers`` identical servers.

    ``arrivals`` must be sorted (int64 business µs) and every service lasts ``service``. Uses
    start_k = max(a_k, start_{k-c} + s), solved per residue class with a running maximum.
    """
    a = np.asarray(arrivals, dtype=np.int64)
    n = len(a)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    c = int(servers)
    m = -(-n // c)
    grid = np.empty(m * c, dtype=np.int64)
    grid[:n] = a
    grid[n:] = a[-1]  # padding after the last arrival: cannot affect earlier starts
    grid = grid.reshape(m, c)  # grid[j, r] = a[j*c + r]: column r is one residue class
    steps = np.arange(m, dtype=np.int64)[:, None] * np.int64(service)
    grid -= steps
    np.maximum.accumulate(grid, axis=0, out=grid)
    grid += steps
    return grid.ravel()[:n]


def _quantiles(x: np.ndarray, qs: Sequence[float], *, overwrite: bool = False) -> list[float]:
    """numpy's default (linear) quantiles, one single-k partition each (faster than multi-k).

    ``qs`` increasing. With ``overwrite`` the array is partitioned in place (no copy).
    """
    n = len(x)
    if n == 0:
        return [math.nan] * len(qs)
    v = x if overwrite else np.array(x, copy=True)
    out, lo = [], 0
    for q in qs:  # increasing
        pos = q * (n - 1)
        i = int(math.floor(pos))
        v[lo:].partition(i - lo)
        lo = i
        below = float(v[i])
        frac = pos - i
        if frac > 0:
            above = float(v[i + 1 :].min())
            out.append(below + frac * (above - below))
        else:
            out.append(below)
    return out


def _frame(**columns: np.ndarray) -> pd.DataFrame:
    """A small frame straight from typed arrays (no per-row tuples, no astype: ~10x faster)."""
    return pd.DataFrame(columns, copy=False)


def _number(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number between 0 and 100, got {value!r}")
    v = float(value)
    if not 0.0 <= v <= 100.0:
        raise ValueError(f"{name} must be between 0 and 100, got {v:g}")
    return v


def _check_cutoffs(
    threshold: object, upper: Sequence[object], tier_names: Sequence[str]
) -> tuple[float, tuple[float, ...]]:
    """Validate; the rule is the policy's: cutoffs strictly decrease down to the threshold."""
    t = _number(threshold, "threshold")
    if len(upper) != len(tier_names) - 1:
        raise ValueError(
            f"cutoffs: give {len(tier_names) - 1} min score(s), for "
            f"{', '.join(tier_names[:-1]) or 'no tier'}; got {len(upper)}"
        )
    names = [f"{n}_min" for n in tier_names[:-1]] + ["threshold"]
    mins = tuple(_number(v, n) for v, n in zip(upper, names))
    values = (*mins, t)
    for j in range(len(mins)):
        if values[j] <= values[j + 1]:
            raise ValueError(
                f"{names[j]} ({values[j]:g}) must be above {names[j + 1]} ({values[j + 1]:g}): "
                f"tier cutoffs decrease strictly, and the lowest tier '{tier_names[-1]}' starts "
                "at the threshold"
            )
    return t, mins


def _local_month_start(ts: pd.Timestamp, tz: str, *, shift: int = 0) -> pd.Timestamp:
    local = ts.tz_convert(tz)
    first = pd.Timestamp(year=local.year, month=local.month, day=1) + pd.DateOffset(months=shift)
    return first.tz_localize(tz, nonexistent="shift_forward", ambiguous=False).tz_convert("UTC")


def last_full_months(
    as_of: pd.Timestamp | datetime, policy: Policy, months: int = 3
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[start, end) of the ``months`` whole calendar months before ``as_of`` (policy timezone)."""
    ts = pd.Timestamp(as_of)
    if ts.tzinfo is None:
        raise ValueError(f"as_of must be timezone-aware, got {as_of!r}")
    if months < 1:
        raise ValueError(f"months must be >= 1, got {months}")
    tz = policy.calendar.timezone
    return _local_month_start(ts, tz, shift=-months), _local_month_start(ts, tz)


def flow_from_lead_table(
    table: pd.DataFrame,
    *,
    score: str = "score",
    p_accept: str = "acceptance_probability",
    p_opportunity: str = "probability",
) -> pd.DataFrame:
    """The flow frame from the dashboard's lead table (``dashboard.lead_table``).

    By default the stored scores; the page passes the champion's columns when there is one.
    """
    return pd.DataFrame(
        {
            "created_at": table["created_at"],
            "score": pd.to_numeric(table[score], errors="coerce").astype(float),
            "p_accept": pd.to_numeric(table[p_accept], errors="coerce"),
            "p_opportunity": pd.to_numeric(table[p_opportunity], errors="coerce"),
            "team": table["team"].astype(object),
            "source": table["source"].astype(object),
            "excluded": table["excluded_reason"].notna().to_numpy(),
        },
        index=table.index,
    ).reset_index(drop=True)


def _check_flow(flow: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(flow, pd.DataFrame):
        raise ValueError(f"flow must be a DataFrame, got {type(flow).__name__}")
    missing = [c for c in FLOW_COLUMNS if c not in flow.columns]
    if missing:
        raise ValueError(f"flow: missing column(s) {', '.join(missing)}")
    flow = flow.reset_index(drop=True)
    if len(flow) == 0:
        return flow
    created = flow["created_at"]
    if not isinstance(created.dtype, pd.DatetimeTZDtype):
        raise ValueError(f"flow.created_at must be timezone-aware datetimes, got {created.dtype}")
    if created.isna().any():
        raise ValueError(f"flow.created_at: {int(created.isna().sum())} missing value(s)")
    for col, hi in (("score", 100.0), ("p_accept", 1.0), ("p_opportunity", 1.0)):
        values = pd.to_numeric(flow[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isnan(values) & ~((values >= 0) & (values <= hi))
        if bad.any() or (flow[col].notna().to_numpy() & np.isnan(values)).any():
            raise ValueError(f"flow.{col} must be numbers between 0 and {hi:g} (or missing)")
    ex = flow["excluded"]
    if ex.dtype != bool and not set(pd.unique(ex)) <= {True, False}:
        raise ValueError("flow.excluded must be booleans (True for an excluded lead)")
    return flow


def _midnight(d: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(d, dtime(0), tzinfo=zone)


@dataclass(frozen=True, eq=False)
class _Days:
    """The calendar's working days (local dates with working time) in a range of dates."""

    dates: np.ndarray  # datetime64[D]
    b_open: np.ndarray  # B at the local midnight opening the day (= B at its first opening)
    b_close: np.ndarray  # B at the local midnight closing it (= B at its last closing)


def _working_days(cal: BusinessCalendar, first: date, last: date) -> _Days:
    zone = ZoneInfo(cal.timezone)
    n = (last - first).days + 1
    mids = [_midnight(first + timedelta(days=i), zone) for i in range(n + 1)]
    b = cal.business_us(mids)
    work = b[1:] > b[:-1]
    dates = np.arange(np.datetime64(first, "D"), np.datetime64(first, "D") + n)
    return _Days(dates=dates[work], b_open=b[:-1][work], b_close=b[1:][work])


def _deadlines_us(
    policy: Policy, sources: np.ndarray, arrival: np.ndarray, days: _Days
) -> np.ndarray:
    """(n_tiers, n) business µs from arrival to the effective deadline under each tier."""
    codes, uniques = pd.factorize(pd.Series(sources, dtype=object), use_na_sentinel=True)
    n_codes = len(uniques)
    codes = np.where(codes < 0, n_codes, codes)  # missing source -> its own code
    names: list[str | None] = [*map(str, uniques), None]
    out = np.empty((len(policy.tiers), len(arrival)), dtype=np.int64)
    k = np.searchsorted(days.b_close, arrival, side="right")  # the working day of the arrival
    offset = arrival - days.b_open[np.minimum(k, len(days.b_open) - 1)]
    for t, tier in enumerate(policy.tiers):
        per: list[Deadline] = [effective_deadline(tier.name, s, policy) for s in names]
        hours = np.array(
            [round((d.business_hours or 0.0) * US_PER_HOUR) for d in per], dtype=np.int64
        )
        ndays = np.array([d.business_days or 0 for d in per], dtype=np.int64)
        is_days = np.array([d.business_days is not None for d in per])
        row = hours[codes]
        by_day = is_days[codes]
        if by_day.any():
            target = k[by_day] + ndays[codes[by_day]]
            due = np.minimum(days.b_open[target] + offset[by_day], days.b_close[target])
            row[by_day] = due - arrival[by_day]
        out[t] = row
    return out


class ThresholdModel:
    """Precomputed lead flow; ``evaluate`` answers one slider position in milliseconds.

    Build with :meth:`build`. Immutable afterwards (arrays are read-only), so one instance can
    be cached and shared between sessions.
    """

    def __init__(self) -> None:  # use build()
        self.policy: Policy
        self.start: pd.Timestamp | None = None
        self.end: pd.Timestamp | None = None
        self.leads = 0
        self.excluded = 0
        self.unscored = 0
        self.business_days = 0
        self.day_hours = math.nan
        self._all: _Ranked
        self._months: list[tuple[str, _Ranked]] = []
        self._teams: list[_TeamQueue] = []

    @classmethod
    def build(
        cls,
        flow: pd.DataFrame,
        policy: Policy,
        *,
        start: pd.Timestamp | datetime | None = None,
        end: pd.Timestamp | datetime | None = None,
    ) -> ThresholdModel:
        """Precompute everything that does not depend on the cutoffs.

        ``flow``: one row per lead with :data:`FLOW_COLUMNS` (created_at tz-aware; score 0-100;
        p_accept and p_opportunity 0-1, NaN allowed; team a policy team; source; excluded bool).
        The window is [start, end): leads outside it are left out. By default it is the whole
        calendar months (policy timezone) from the first lead to the last.
        Raises ValueError naming the column or team for bad input.
        """
        flow = _check_flow(flow)
        self = cls()
        self.policy = policy
        cal = policy.business_calendar()
        tz = policy.calendar.timezone
        n_tiers = len(policy.tiers)
        team_names = [t.name for t in policy.capacity.teams]

        created = (
            pd.DatetimeIndex(flow["created_at"]).tz_convert("UTC")
            if len(flow)
            else pd.DatetimeIndex([], tz="UTC")
        )
        s0 = None if start is None else pd.Timestamp(start)
        e0 = None if end is None else pd.Timestamp(end)
        for name, ts in (("start", s0), ("end", e0)):
            if ts is not None and ts.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware, got {ts!r}")
        if s0 is None and len(created):
            s0 = _local_month_start(created.min(), tz)
        if e0 is None and len(created):
            e0 = _local_month_start(created.max(), tz, shift=1)
        if s0 is not None and e0 is not None and s0 >= e0:
            raise ValueError(f"start ({s0}) must be before end ({e0})")
        keep = np.ones(len(flow), dtype=bool)
        if s0 is not None:
            s0 = s0.tz_convert("UTC")
            keep &= created >= s0
        if e0 is not None:
            e0 = e0.tz_convert("UTC")
            keep &= created < e0
        self.start, self.end = s0, e0
        flow, created = flow[keep].reset_index(drop=True), created[keep]
        self.leads = len(flow)

        excluded = flow["excluded"].to_numpy(dtype=bool) if len(flow) else np.zeros(0, bool)
        score = pd.to_numeric(flow["score"]).to_numpy(dtype=float) if len(flow) else np.zeros(0)
        scored = ~np.isnan(score)
        self.excluded = int(excluded.sum())
        self.unscored = int((~excluded & ~scored).sum())
        ok = ~excluded & scored
        score = score[ok]
        pa = pd.to_numeric(flow["p_accept"]).to_numpy(dtype=float)[ok] if len(flow) else score
        po = pd.to_numeric(flow["p_opportunity"]).to_numpy(dtype=float)[ok] if len(flow) else score
        miss = np.isnan(pa) | np.isnan(po)  # such a lead is left out of the expected sums
        pa, po = np.where(miss, 0.0, pa), np.where(miss, 0.0, po)
        teams = flow["team"].to_numpy(dtype=object)[ok] if len(flow) else np.zeros(0, object)
        sources = flow["source"].to_numpy(dtype=object)[ok] if len(flow) else np.zeros(0, object)
        created = created[ok]

        unknown = sorted({str(t) for t in pd.unique(teams)} - set(team_names))
        if unknown:
            raise ValueError(
                f"flow.team: unknown team(s) {', '.join(unknown)}; "
                f"policy.capacity.teams has {', '.join(team_names)}"
            )
        self._all = _Ranked(score, pa, po, miss)

        # Months of the window, in the policy's timezone.
        self._months = []
        if s0 is not None and e0 is not None:
            local = created.tz_convert(tz)
            code = local.year.to_numpy() * 12 + local.month.to_numpy() - 1
            first = s0.tz_convert(tz)
            last = (e0 - pd.Timedelta(microseconds=1)).tz_convert(tz)
            for c in range(first.year * 12 + first.month - 1, last.year * 12 + last.month):
                sel = code == c
                label = f"{c // 12:04d}-{c % 12 + 1:02d}"
                self._months.append((label, _Ranked(score[sel], pa[sel], po[sel], miss[sel])))

        # Business time: arrivals, working days of the window, per-lead deadlines.
        arrival = cal.business_us(created) if len(created) else np.zeros(0, np.int64)
        days = None
        day_us = 0
        if s0 is not None and e0 is not None:
            first_day = s0.tz_convert(tz).date() - timedelta(days=1)
            last_day = (e0 - pd.Timedelta(microseconds=1)).tz_convert(tz).date()
            most = max([d.business_days or 0 for d in _all_deadlines(policy)] + [0])
            extra = 14 + 3 * most
            while True:
                days = _working_days(cal, first_day, last_day + timedelta(days=extra))
                k_max = (
                    int(np.searchsorted(days.b_close, arrival.max(), side="right"))
                    if len(arrival)
                    else 0
                )
                if k_max + most < len(days.b_open) and len(days.b_open):
                    break
                extra *= 2
            in_window = (days.dates >= np.datetime64(s0.tz_convert(tz).date(), "D")) & (
                days.dates <= np.datetime64(last_day, "D")
            )
            self.business_days = int(in_window.sum())
            b_start, b_end = cal.business_us([s0, e0])
            if self.business_days:
                day_us = (int(b_end) - int(b_start)) // self.business_days
            else:
                lengths = days.b_close - days.b_open
                day_us = int(lengths.mean())
            self.day_hours = day_us / US_PER_HOUR
        deadline = (
            _deadlines_us(policy, sources, arrival, days)
            if days is not None and len(arrival)
            else np.zeros((n_tiers, 0), np.int64)
        )

        # One queue per team, leads in creation order (= arrival order: B is non-decreasing).
        created_us = created.asi8
        self._teams = []
        for team in policy.capacity.teams:
            sel = np.flatnonzero(teams == team.name)
            sel = sel[np.argsort(created_us[sel], kind="stable")]
            ranked = _Ranked(score[sel], pa[sel], po[sel], miss[sel])
            service = round(day_us / team.contacts_per_rep_per_day)
            self._teams.append(
                _TeamQueue(
                    name=team.name,
                    servers=len(team.reps),
                    per_rep_day=float(team.contacts_per_rep_per_day),
                    service_us=int(service),
                    ranked=ranked,
                    arrival=_readonly(arrival[sel]),
                    score=_readonly(score[sel]),
                    deadline=_readonly(deadline[:, sel[ranked.order]]),
                )
            )
        return self

    # -- evaluation --------------------------------------------------------------------------

    @property
    def tier_names(self) -> list[str]:
        return [t.name for t in self.policy.tiers]

    def evaluate(
        self,
        threshold: float | None = None,
        hot_min: float | None = None,
        warm_min: float | None = None,
    ) -> WhatIf:
        """One slider position of a three-tier policy (hot, warm, cold); None = the policy's.

        Rule (the policy's own): 0 <= threshold < warm_min < hot_min <= 100; the lowest tier
        starts at the threshold. Raises ValueError naming the offending parameter.
        """
        tiers = self.policy.tiers
        if len(tiers) != 3:
            raise ValueError(
                f"evaluate takes hot_min and warm_min for a three-tier policy; this one has "
                f"{len(tiers)} tier(s): use evaluate_cutoffs"
            )
        return self.evaluate_cutoffs(
            self.policy.handoff_threshold if threshold is None else threshold,
            (
                tiers[0].min_score if hot_min is None else hot_min,
                tiers[1].min_score if warm_min is None else warm_min,
            ),
        )

    def evaluate_cutoffs(self, threshold: float, upper_mins: Sequence[float]) -> WhatIf:
        """Any number of tiers: ``upper_mins`` are the min scores of all tiers but the lowest."""
        names = self.tier_names
        t, mins = _check_cutoffs(threshold, list(upper_mins), names)
        allr = self._all
        k = allr.top(t)
        mqls = k
        known = k - int(allr.missing[k])  # MQLs with both probabilities
        exp_acc = float(allr.p_accept[k]) if known or not k else math.nan
        exp_opp = float(allr.p_opportunity[k]) if known or not k else math.nan
        below = allr.n - k
        known_below = below - int(allr.missing[-1] - allr.missing[k])
        lost = (
            float(allr.p_opportunity[-1] - allr.p_opportunity[k])
            if known_below or not below
            else math.nan
        )

        n_months = len(self._months)
        mq = np.empty(n_months, dtype=np.int64)
        acc = np.empty(n_months)
        opp = np.empty(n_months)
        for i, (_, r) in enumerate(self._months):
            j = r.top(t)
            mq[i], acc[i], opp[i] = j, r.p_accept[j], r.p_opportunity[j]
            if j and r.missing[j] == j:  # every MQL of the month lacks probabilities
                acc[i] = opp[i] = math.nan
        monthly = _frame(
            month=np.array([label for label, _ in self._months], dtype=object),
            mqls=mq,
            commitment=np.full(n_months, self.policy.monthly_commitment.total, dtype=np.int64),
            expected_accepted=acc,
            expected_opportunities=opp,
        )

        n_tiers = len(names)
        counts = np.zeros(n_tiers, dtype=np.int64)
        within = np.zeros(n_tiers, dtype=np.int64)
        waits: list[list[np.ndarray]] = [[] for _ in range(n_tiers)]
        n_teams = len(self._teams)
        team_mqls = np.zeros(n_teams, dtype=np.int64)
        team_within = np.full(n_teams, math.nan)
        for i, q in enumerate(self._teams):
            r = q.ranked
            j = team_mqls[i] = r.top(t)
            if not j:
                continue
            # The queue runs in arrival order; tiers are runs of ranks (score order).
            idx = np.flatnonzero(q.score >= t)
            a = q.arrival[idx]
            wait = fifo_starts(a, q.servers, q.service_us)
            wait -= a
            by_arrival = np.empty(len(q.score), dtype=np.int64)
            by_arrival[idx] = wait
            bounds = [0, *(r.top(m) for m in mins), j]
            ok_team = 0
            for x in range(n_tiers):
                lo, hi = bounds[x], bounds[x + 1]
                if hi <= lo:
                    continue
                w = by_arrival[r.order[lo:hi]]
                ok = int(np.count_nonzero(w <= q.deadline[x, lo:hi]))
                counts[x] += hi - lo
                within[x] += ok
                ok_team += ok
                waits[x].append(w)
            team_within[i] = ok_team / j

        reps = np.array([q.servers for q in self._teams], dtype=np.int64)
        cap = np.array([q.per_rep_day for q in self._teams], dtype=float)
        days = self.business_days
        load = team_mqls / (reps * days) if days else np.full(n_teams, math.nan)
        teams = _frame(
            team=np.array([q.name for q in self._teams], dtype=object),
            reps=reps,
            capacity_per_rep_day=cap,
            mqls=team_mqls,
            business_days=np.full(n_teams, days, dtype=np.int64),
            load_per_rep_day=load,
            utilisation=load / cap,
            service_hours=np.array([q.service_us / US_PER_HOUR for q in self._teams]),
            within_share=team_within,
        )

        quantiles = np.empty((n_tiers, len(_QUANTILES)))
        for x in range(n_tiers):
            parts = waits[x]
            w = parts[0] if len(parts) == 1 else np.concatenate(parts or [np.empty(0, np.int64)])
            quantiles[x] = _quantiles(w, _QUANTILES, overwrite=True)
        quantiles /= US_PER_HOUR
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(counts > 0, within / np.maximum(counts, 1), math.nan)
        tiers = _frame(
            tier=np.array(names, dtype=object),
            min_score=np.array([*mins, t], dtype=float),
            mqls=counts,
            within_deadline=within,
            within_share=share,
            median_wait_bh=quantiles[:, 0],
            p90_wait_bh=quantiles[:, 1],
        )

        return WhatIf(
            threshold=t,
            cutoffs=tuple(zip(names, (*mins, t))),
            start=self.start,
            end=self.end,
            leads=self.leads,
            excluded=self.excluded,
            unscored=self.unscored,
            mqls=mqls,
            below_threshold=below,
            expected_accepted=exp_acc,
            expected_opportunities=exp_opp,
            expected_acceptance_rate=exp_acc / known if known else math.nan,
            lost_opportunities=lost,
            missing_probabilities=int(allr.missing[k]),
            business_days=self.business_days,
            monthly=monthly,
            teams=teams,
            tiers=tiers,
        )


def _all_deadlines(policy: Policy) -> list[Deadline]:
    caps = [c.max_deadline for c in policy.source_deadline_caps]
    return [t.deadline for t in policy.tiers] + caps

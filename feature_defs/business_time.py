"""Business-time arithmetic for SLA deadlines.

An SLA such as "first contact within 4 business hours" only means something once we agree on
which instants count. A :class:`BusinessCalendar` answers that (weekly opening hours in a local
timezone, minus public holidays and company closing days), and turns it into a piecewise-linear
*business clock*: ``B(t)`` is the number of business microseconds between a fixed origin and the
real instant ``t``. It is continuous and non-decreasing, flat outside working hours and rising
at real speed inside them, so

* ``elapsed(a, b) = B(b) - B(a)``;
* ``add(t, d) = B⁻¹(B(t) + d)``, taking the *earliest* instant that reaches the value, so that a
  deadline falling on a closing time is that closing time and not the next morning.

Working intervals are stored as real UTC instants (int64 microseconds since the Unix epoch),
which makes DST changes harmless (an interval keeps its true real length) and makes the
arithmetic exact: ``elapsed(t, add(t, d)) == d`` holds to the microsecond. Lookups go through
``numpy.searchsorted``, so the vectorised variants handle large arrays cheaply.
"""

from __future__ import annotations

import math
import operator
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import numpy as np
import pandas as pd

__all__ = ["BusinessCalendar", "DEFAULT_HOURS", "WeeklyHours"]

Interval = tuple[time, time]
WeeklyHours = tuple[tuple[int, tuple[Interval, ...]], ...]
"""Canonical weekly hours: ``(weekday, intervals)`` pairs, weekday 0=Monday..6=Sunday, sorted,
without closed days. An interval end of ``time(0, 0)`` means midnight at the end of the day
("24:00"), since ``datetime.time`` cannot express 24:00."""

WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
_DAY_US = 86_400_000_000
_NAT = np.iinfo(np.int64).min  # numpy's NaT as int64
_ORIGIN_YEAR = 2000  # B(t) is 0 at 2000-01-01 00:00 local time of the calendar
_MIN_YEAR = 1900
_MAX_YEAR = 2199
_GROW_YEARS = 5  # extra years added whenever the precomputed range must grow

_MORNING = (time(9, 0), time(12, 30))
_AFTERNOON = (time(14, 0), time(18, 0))
DEFAULT_HOURS: WeeklyHours = tuple((wd, (_MORNING, _AFTERNOON)) for wd in range(5))
"""Monday to Friday, 09:00–12:30 and 14:00–18:00."""


# --------------------------------------------------------------------------------------------
# Validation and parsing of the weekly hours
# --------------------------------------------------------------------------------------------


def _time_us(t: time, *, is_end: bool) -> int:
    """Microseconds since local midnight; an end of 00:00 is the end of the day (24:00)."""
    us = ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond
    return _DAY_US if is_end and us == 0 else us


def _fmt_time(t: time, *, is_end: bool) -> str:
    """Human form for error messages, showing 24:00 rather than an ambiguous 00:00 end."""
    if is_end and _time_us(t, is_end=True) == _DAY_US:
        return "24:00"
    text = f"{t.hour:02d}:{t.minute:02d}"
    if t.second or t.microsecond:
        text += f":{t.second:02d}"
    if t.microsecond:
        text += f".{t.microsecond:06d}"
    return text


def _fmt_interval(iv: Interval) -> str:
    return f"{_fmt_time(iv[0], is_end=False)}-{_fmt_time(iv[1], is_end=True)}"


def _normalise_hours(hours: Any) -> WeeklyHours:
    """Validate weekly hours and return the canonical hashable form.

    Accepts a mapping or an iterable of ``(weekday, intervals)`` pairs with integer weekdays and
    ``datetime.time`` bounds, so that hand-built calendars are checked as strictly as
    :meth:`BusinessCalendar.from_spec` ones.
    """
    items = hours.items() if isinstance(hours, Mapping) else hours
    try:
        pairs = [(wd, ivs) for wd, ivs in items]
    except (TypeError, ValueError) as exc:
        raise ValueError(
            "hours must be a mapping weekday -> sequence of (start, end) intervals"
        ) from exc

    by_day: dict[int, tuple[Interval, ...]] = {}
    for wd, ivs in pairs:
        if isinstance(wd, bool) or not isinstance(wd, int) or not 0 <= wd <= 6:
            raise ValueError(f"hours: weekday {wd!r} must be an int 0 (Monday) .. 6 (Sunday)")
        name = WEEKDAY_NAMES[wd]
        if wd in by_day:
            raise ValueError(f"hours: {name} is given twice")
        checked: list[Interval] = []
        for iv in ivs:
            try:
                start, end = iv
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"hours: {name} interval {iv!r} is not a (start, end) pair"
                ) from exc
            for bound in (start, end):
                if not isinstance(bound, time):
                    raise ValueError(
                        f"hours: {name} interval {iv!r}: bounds must be datetime.time, "
                        f"got {type(bound).__name__}"
                    )
                if bound.tzinfo is not None:
                    raise ValueError(
                        f"hours: {name} interval {_fmt_interval((start, end))}: bounds are local "
                        "wall times and must not carry a tzinfo"
                    )
            s_us, e_us = _time_us(start, is_end=False), _time_us(end, is_end=True)
            text = _fmt_interval((start, end))
            if s_us == e_us:
                raise ValueError(f"hours: {name} interval {text} is empty")
            if e_us < s_us:
                raise ValueError(
                    f"hours: {name} interval {text} is reversed (ends before it starts); "
                    "an interval crossing midnight must be given as two intervals"
                )
            checked.append((start.replace(fold=0), end.replace(fold=0)))
        checked.sort(key=lambda x: _time_us(x[0], is_end=False))
        for prev, cur in zip(checked, checked[1:], strict=False):
            if _time_us(cur[0], is_end=False) < _time_us(prev[1], is_end=True):
                raise ValueError(
                    f"hours: {name} intervals {_fmt_interval(prev)} and {_fmt_interval(cur)} "
                    "overlap"
                )
        if checked:
            by_day[wd] = tuple(checked)
    if not by_day:
        raise ValueError("hours: the week has no working time (every weekday is closed)")
    return tuple(sorted(by_day.items()))


_TIME_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


def _parse_bound(value: str | time, *, is_end: bool, where: str) -> time:
    """Parse "HH:MM" / "HH:MM:SS" (or pass a time through); "24:00" is only valid as an end."""
    if isinstance(value, time):
        return value
    if not isinstance(value, str):
        raise ValueError(f"hours: {where}: {value!r} is neither a 'HH:MM' string nor a time")
    m = _TIME_RE.match(value)
    if not m:
        raise ValueError(f"hours: {where}: {value!r} is not a 'HH:MM' time")
    h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if h == 24 and mi == 0 and s == 0:
        if not is_end:
            raise ValueError(f"hours: {where}: '24:00' can only end an interval")
        return time(0, 0)
    if h > 23 or mi > 59 or s > 59:
        raise ValueError(f"hours: {where}: {value!r} is not a valid time of day")
    return time(h, mi, s)


def _parse_weekday(key: int | str) -> int:
    if isinstance(key, str):
        k = key.strip().lower()
        for i, name in enumerate(WEEKDAY_NAMES):
            if k in (name, name[:3]):
                return i
        raise ValueError(f"hours: unknown weekday {key!r} (use 'mon'..'sun' or 0..6)")
    if isinstance(key, bool) or not isinstance(key, int) or not 0 <= key <= 6:
        raise ValueError(f"hours: weekday {key!r} must be 0 (Monday) .. 6 (Sunday)")
    return key


# --------------------------------------------------------------------------------------------
# The precomputed business clock
# --------------------------------------------------------------------------------------------


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


@dataclass(frozen=True, eq=False)
class _Clock:
    """Working intervals of whole local years ``first_year..last_year`` as UTC microseconds.

    ``starts``/``ends`` are sorted, disjoint and merged when adjacent; ``cum`` is B at each
    start (relative to the calendar origin). ``day_*`` describe each working day (a local date
    with working time), in order, for :meth:`BusinessCalendar.add_days`.
    """

    first_year: int
    last_year: int
    lo_us: int  # local midnight opening first_year
    hi_us: int  # local midnight closing last_year
    starts: np.ndarray
    ends: np.ndarray
    cum: np.ndarray
    cum_end: np.ndarray
    day_open: np.ndarray
    day_close: np.ndarray
    day_b_open: np.ndarray
    day_b_close: np.ndarray

    @property
    def b_first(self) -> int:
        return int(self.cum[0])

    @property
    def b_last(self) -> int:
        return int(self.cum_end[-1])

    def covers(self, us_min: int, us_max: int) -> bool:
        return self.lo_us <= us_min and us_max <= self.hi_us

    def b(self, us: np.ndarray) -> np.ndarray:
        """B(t) for instants inside [lo_us, hi_us]."""
        i = np.maximum(np.searchsorted(self.starts, us, side="right") - 1, 0)
        off = np.clip(us - self.starts[i], 0, self.ends[i] - self.starts[i])
        return self.cum[i] + off

    def b_inv_earliest(self, x: np.ndarray) -> np.ndarray:
        """Earliest instant with B == x, for b_first < x <= b_last: lies in (start, end]."""
        i = np.searchsorted(self.cum_end, x, side="left")
        return self.starts[i] + (x - self.cum[i])

    def b_inv_latest(self, x: np.ndarray) -> np.ndarray:
        """Latest instant with B == x, for b_first <= x < b_last: a working instant."""
        i = np.searchsorted(self.cum, x, side="right") - 1
        return self.starts[i] + (x - self.cum[i])


def _local_us(day: date, t: time, tz: ZoneInfo) -> int:
    """Local wall time -> UTC µs; fold=0 resolves gaps and repeats (through the UTC offset)."""
    return (datetime.combine(day, t, tzinfo=tz) - _EPOCH) // _ONE_US


def _build_clock(cal: BusinessCalendar, first_year: int, last_year: int) -> _Clock:
    tz = ZoneInfo(cal.timezone)
    closed: set[date] = set(cal.extra_closed_dates)
    if cal.holidays_country:
        closed.update(
            holidays.country_holidays(
                cal.holidays_country,
                subdiv=cal.holidays_subdiv,
                years=range(first_year, last_year + 1),
            ).keys()
        )
    weekly = dict(cal.hours)
    midnight = time(0, 0)

    starts: list[int] = []
    ends: list[int] = []
    day_open: list[int] = []
    day_close: list[int] = []
    prev_end = -(2**62)
    one_day = timedelta(days=1)
    for ordinal in range(date(first_year, 1, 1).toordinal(), date(last_year + 1, 1, 1).toordinal()):
        day = date.fromordinal(ordinal)
        ivs = weekly.get(day.weekday())
        if not ivs or day in closed:
            continue
        opened: int | None = None
        for start, end in ivs:
            s = _local_us(day, start, tz)
            e = (
                _local_us(day + one_day, midnight, tz)
                if end == midnight
                else _local_us(day, end, tz)
            )
            # A gap (spring forward) can map a local end past the next local start: clip so the
            # real intervals stay disjoint and in order.
            s = max(s, prev_end)
            if e <= s:
                continue
            if starts and s == prev_end:
                ends[-1] = e  # adjacent: merge (e.g. a 24/7 calendar)
            else:
                starts.append(s)
                ends.append(e)
            prev_end = e
            if opened is None:
                opened = s
        if opened is not None:
            day_open.append(opened)
            day_close.append(prev_end)

    if not starts:
        raise ValueError(
            f"calendar has no working time at all between {first_year} and {last_year}"
        )
    st = np.asarray(starts, dtype=np.int64)
    en = np.asarray(ends, dtype=np.int64)
    lengths = en - st
    cum_end = np.cumsum(lengths)
    cum = cum_end - lengths
    # Shift so that B(origin) == 0 whatever the range: values stay comparable across rebuilds.
    origin = _local_us(date(_ORIGIN_YEAR, 1, 1), midnight, tz)
    i = max(int(np.searchsorted(st, origin, side="right")) - 1, 0)
    b_origin = int(cum[i]) + min(max(origin - int(st[i]), 0), int(lengths[i]))
    cum -= b_origin
    cum_end -= b_origin

    clock = _Clock(
        first_year=first_year,
        last_year=last_year,
        lo_us=_local_us(date(first_year, 1, 1), midnight, tz),
        hi_us=_local_us(date(last_year + 1, 1, 1), midnight, tz),
        starts=_frozen(st),
        ends=_frozen(en),
        cum=_frozen(cum),
        cum_end=_frozen(cum_end),
        day_open=_frozen(np.asarray(day_open, dtype=np.int64)),
        day_close=_frozen(np.asarray(day_close, dtype=np.int64)),
        day_b_open=np.empty(0, dtype=np.int64),
        day_b_close=np.empty(0, dtype=np.int64),
    )
    object.__setattr__(clock, "day_b_open", _frozen(clock.b(clock.day_open)))
    object.__setattr__(clock, "day_b_close", _frozen(clock.b(clock.day_close)))
    return clock


_CLOCKS: dict[BusinessCalendar, _Clock] = {}
_CLOCKS_LOCK = threading.Lock()
_MAX_CACHED_CALENDARS = 64


def _clock_for_years(cal: BusinessCalendar, first_year: int, last_year: int) -> _Clock:
    """Cached clock covering at least the given local years (and the origin year).

    Grows by whole years with a margin, so a stream of later timestamps rebuilds rarely; the
    cached value is replaced, never mutated, so readers holding the old one stay consistent.
    """
    with _CLOCKS_LOCK:
        clock = _CLOCKS.get(cal)
    if clock is not None and clock.first_year <= first_year and last_year <= clock.last_year:
        return clock
    lo = min(first_year, _ORIGIN_YEAR - 1)
    hi = max(last_year, _ORIGIN_YEAR + 1)
    if clock is not None:
        if first_year < clock.first_year:
            lo = min(lo, clock.first_year - _GROW_YEARS)
        if last_year > clock.last_year:
            hi = max(hi, clock.last_year + _GROW_YEARS)
        lo, hi = min(lo, clock.first_year), max(hi, clock.last_year)
    lo, hi = max(lo, _MIN_YEAR), min(hi, _MAX_YEAR)
    if first_year < _MIN_YEAR or last_year > _MAX_YEAR:
        raise ValueError(
            f"business time is supported for years {_MIN_YEAR}..{_MAX_YEAR} only "
            f"(needed {first_year}..{last_year})"
        )
    clock = _build_clock(cal, lo, hi)
    with _CLOCKS_LOCK:
        current = _CLOCKS.get(cal)
        if current is None:
            if len(_CLOCKS) >= _MAX_CACHED_CALENDARS:
                _CLOCKS.pop(next(iter(_CLOCKS)))
            _CLOCKS[cal] = clock
        elif clock.first_year <= current.first_year and current.last_year <= clock.last_year:
            _CLOCKS[cal] = clock  # never replace a wider clock built concurrently
    return clock


def _year_of_us(us: int) -> int:
    try:
        return (_EPOCH + timedelta(microseconds=us)).year
    except OverflowError as exc:
        raise ValueError(f"timestamp {us} µs since epoch is out of range") from exc


def _clock_for_instants(cal: BusinessCalendar, us_min: int, us_max: int) -> _Clock:
    # One year of margin on each side absorbs the UTC/local date shift.
    lo, hi = _year_of_us(us_min), _year_of_us(us_max)
    lo = lo - 1 if lo > _MIN_YEAR else lo
    hi = hi + 1 if hi < _MAX_YEAR else hi
    clock = _clock_for_years(cal, lo, hi)
    if not clock.covers(us_min, us_max):
        raise ValueError(f"timestamps must fall within years {_MIN_YEAR}..{_MAX_YEAR}")
    return clock


def _extend(cal: BusinessCalendar, clock: _Clock, *, back: bool = False, years: int = 0) -> _Clock:
    years = max(years, _GROW_YEARS)
    if back:
        return _clock_for_years(cal, clock.first_year - years, clock.last_year)
    return _clock_for_years(cal, clock.first_year, clock.last_year + years)


def _clock_for_values(cal: BusinessCalendar, clock: _Clock, x_min: int, x_max: int) -> _Clock:
    """Grow ``clock`` until business values x_min..x_max lie strictly inside it."""

    def years_for(gap: int) -> int:
        per_year = max(
            (clock.b_last - clock.b_first) // (clock.last_year - clock.first_year + 1), 1
        )
        return min(gap // per_year + 2, _MAX_YEAR - _MIN_YEAR + 1)

    while x_min <= clock.b_first:
        clock = _extend(cal, clock, back=True, years=years_for(clock.b_first - x_min))
    while x_max >= clock.b_last:
        clock = _extend(cal, clock, years=years_for(x_max - clock.b_last))
    return clock


# --------------------------------------------------------------------------------------------
# Conversions between datetimes / arrays and UTC microseconds
# --------------------------------------------------------------------------------------------


def _require_aware(t: datetime, name: str) -> None:
    if not isinstance(t, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(t).__name__}")
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {t!r}")


def _dt_to_us(t: datetime, name: str) -> int:
    _require_aware(t, name)
    return (t - _EPOCH) // _ONE_US


def _duration_us(d: timedelta, name: str) -> int:
    if not isinstance(d, timedelta):
        raise TypeError(f"{name} must be a timedelta, got {type(d).__name__}")
    us = d // _ONE_US
    if us < 0:
        raise ValueError(f"{name} must be >= 0 business time, got {d!r}")
    return us


def _to_us_array(ts: Any, name: str) -> np.ndarray:
    """Instants -> int64 UTC µs (NaT as numpy's NaT integer).

    pandas objects must be tz-aware; numpy datetime64 values carry no zone and are read as UTC
    (numpy's own convention); Python datetimes must be aware.
    """
    if isinstance(ts, pd.Timestamp | datetime):
        return np.asarray([_dt_to_us(ts, name)], dtype=np.int64)
    if isinstance(ts, pd.Series | pd.Index | pd.api.extensions.ExtensionArray):
        dtype = ts.dtype
        if isinstance(dtype, pd.DatetimeTZDtype):
            idx = pd.DatetimeIndex(ts).tz_convert("UTC").as_unit("us")
            return np.asarray(idx.asi8, dtype=np.int64)
        if dtype.kind == "M":
            raise ValueError(
                f"{name} must be timezone-aware: got naive {dtype} values "
                "(use .dt.tz_localize(...) first)"
            )
        ts = list(ts)
    elif isinstance(ts, np.ndarray) and ts.dtype.kind == "M":
        return ts.astype("datetime64[us]").view(np.int64).ravel()
    elif isinstance(ts, np.datetime64):
        return np.asarray([ts]).astype("datetime64[us]").view(np.int64)
    if not isinstance(ts, Iterable) or isinstance(ts, str | bytes):
        raise TypeError(f"{name} must be datetimes (array-like), got {type(ts).__name__}")
    values = list(ts)
    for i, t in enumerate(values):
        if t is None or t is pd.NaT or isinstance(t, np.datetime64):
            continue
        if isinstance(t, datetime) and t.tzinfo is not None:
            continue
        _require_aware(t, f"{name}[{i}]")  # raises with the offending position
    if not values:
        return np.empty(0, dtype=np.int64)
    idx = pd.DatetimeIndex(pd.to_datetime(values, utc=True)).as_unit("us")
    return np.asarray(idx.asi8, dtype=np.int64)


def _us_to_index(us: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(np.asarray(us, dtype=np.int64).view("datetime64[us]")).tz_localize(
        "UTC"
    )


def _seconds_to_us(seconds: Any) -> tuple[np.ndarray, np.ndarray]:
    """Durations (seconds as numbers, or timedelta64 values) -> (µs int64, missing mask)."""
    if isinstance(seconds, pd.Series | pd.Index):
        seconds = seconds.to_numpy()
    arr = np.asarray(seconds)
    if arr.dtype.kind == "m":
        missing = np.isnat(arr)
        us = arr.astype("timedelta64[us]").view(np.int64)
    else:
        arr = arr.astype(np.float64)
        missing = np.isnan(arr)
        if np.isinf(arr).any():
            raise ValueError("seconds must be finite")
        us = np.rint(np.where(missing, 0.0, arr) * 1e6).astype(np.int64)
    if (us[~missing] < 0).any():
        raise ValueError("seconds must be >= 0 business time")
    return np.where(missing, 0, us), missing


# --------------------------------------------------------------------------------------------
# The calendar
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BusinessCalendar:
    """Opening hours in a local timezone, minus public holidays and company closing days.

    Immutable and hashable (usable as a cache key). ``hours`` is stored in the canonical
    :data:`WeeklyHours` form; the constructor also accepts a ``{weekday: intervals}`` mapping
    and validates it. Prefer :meth:`from_spec` for configuration-file input.
    """

    timezone: str = "Europe/Paris"
    hours: WeeklyHours = DEFAULT_HOURS
    holidays_country: str | None = "FR"
    holidays_subdiv: str | None = None
    extra_closed_dates: tuple[date, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.timezone, str) or not self.timezone:
            raise ValueError(f"unknown timezone {self.timezone!r}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValueError(f"unknown timezone {self.timezone!r}") from exc
        object.__setattr__(self, "hours", _normalise_hours(self.hours))
        if self.holidays_country is None:
            if self.holidays_subdiv is not None:
                raise ValueError(
                    f"holidays_subdiv {self.holidays_subdiv!r} needs a holidays_country"
                )
        else:
            try:
                holidays.country_holidays(self.holidays_country, subdiv=self.holidays_subdiv)
            except NotImplementedError as exc:
                raise ValueError(
                    f"unknown holidays country/subdivision {self.holidays_country!r}/"
                    f"{self.holidays_subdiv!r}: {exc}"
                ) from exc
        closed = []
        for d in self.extra_closed_dates:
            if isinstance(d, datetime) or not isinstance(d, date):
                raise ValueError(f"extra_closed_dates: {d!r} is not a date")
            closed.append(d)
        object.__setattr__(self, "extra_closed_dates", tuple(sorted(set(closed))))

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def from_spec(
        cls,
        *,
        timezone: str,
        hours: Mapping[int | str, Sequence[tuple[str | time, str | time]]],
        holidays_country: str | None,
        holidays_subdiv: str | None = None,
        extra_closed_dates: Sequence[date] = (),
    ) -> BusinessCalendar:
        """Build from configuration-style values: weekday names or 0..6, "HH:MM" strings.

        "24:00" ends an interval at midnight. Raises ValueError naming the weekday and interval
        for an empty, reversed or overlapping interval, and for an empty week or an unknown
        timezone.
        """
        if not isinstance(hours, Mapping):
            raise ValueError("hours must be a mapping weekday -> sequence of (start, end)")
        parsed: dict[int, tuple[Interval, ...]] = {}
        for key, ivs in hours.items():
            wd = _parse_weekday(key)
            name = WEEKDAY_NAMES[wd]
            if wd in parsed:
                raise ValueError(f"hours: {name} is given twice ({key!r})")
            if isinstance(ivs, str):
                raise ValueError(f"hours: {name}: expected a list of (start, end) pairs")
            day: list[Interval] = []
            for iv in ivs:
                try:
                    start, end = iv
                except (TypeError, ValueError) as exc:
                    raise ValueError(
                        f"hours: {name} interval {iv!r} is not a (start, end) pair"
                    ) from exc
                where = f"{name} interval {start}-{end}"
                day.append(
                    (
                        _parse_bound(start, is_end=False, where=where),
                        _parse_bound(end, is_end=True, where=where),
                    )
                )
            parsed[wd] = tuple(day)
        return cls(
            timezone=timezone,
            hours=_normalise_hours(parsed),
            holidays_country=holidays_country,
            holidays_subdiv=holidays_subdiv,
            extra_closed_dates=tuple(extra_closed_dates),
        )

    @classmethod
    def default(cls) -> BusinessCalendar:
        """Europe/Paris, Monday–Friday 09:00–12:30 and 14:00–18:00, French public holidays."""
        return cls()

    # -- internals ---------------------------------------------------------------------------

    @property
    def _tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def _clock(self, us_min: int, us_max: int) -> _Clock:
        return _clock_for_instants(self, us_min, us_max)

    def _to_local(self, us: int) -> datetime:
        return (_EPOCH + timedelta(microseconds=int(us))).astimezone(self._tz)

    def _next_working_us(self, us: int) -> int:
        clock = self._clock(us, us)
        while True:
            j = int(np.searchsorted(clock.ends, us, side="right"))
            if j < len(clock.ends):
                return max(us, int(clock.starts[j]))
            clock = _extend(self, clock)

    # -- scalar API --------------------------------------------------------------------------

    def is_working_time(self, t: datetime) -> bool:
        """True inside a working interval; intervals are half-open [opening, closing)."""
        us = _dt_to_us(t, "t")
        return self._next_working_us(us) == us

    def next_working_instant(self, t: datetime) -> datetime:
        """``t`` itself if it is working time, else the next opening (where an SLA clock starts)."""
        return self._to_local(self._next_working_us(_dt_to_us(t, "t")))

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time between two instants, B(end) - B(start); negative if end < start."""
        a, b = _dt_to_us(start, "start"), _dt_to_us(end, "end")
        clock = self._clock(min(a, b), max(a, b))
        ba, bb = clock.b(np.asarray([a, b], dtype=np.int64))
        return timedelta(microseconds=int(bb - ba))

    def add(self, t: datetime, duration: timedelta) -> datetime:
        """Earliest instant at which ``duration`` of business time has passed since ``t``.

        A deadline that lands exactly on a closing time is that closing time (14:00 + 4h on a
        14:00–18:00 afternoon is 18:00, not the next opening). ``add(t, 0)`` is ``t``.
        """
        us = _dt_to_us(t, "t")
        d = _duration_us(duration, "duration")
        if d == 0:
            return t.astimezone(self._tz)
        clock = self._clock(us, us)
        x = int(clock.b(np.asarray([us], dtype=np.int64))[0]) + d
        clock = _clock_for_values(self, clock, x, x)
        return self._to_local(int(clock.b_inv_earliest(np.asarray([x], dtype=np.int64))[0]))

    def add_hours(self, t: datetime, hours: float) -> datetime:
        """``add`` with a number of business hours (rounded to the microsecond)."""
        if not math.isfinite(hours):
            raise ValueError(f"hours must be finite, got {hours!r}")
        if hours < 0:
            raise ValueError(f"hours must be >= 0 business time, got {hours!r}")
        return self.add(t, timedelta(hours=hours))

    def add_days(self, t: datetime, days: int) -> datetime:
        """Deadline ``days`` working days after ``t``, at the matching time of day.

        Let ``s = next_working_instant(t)`` and ``o`` the business time from the opening of
        s's working day to ``s``. The result is the working day ``days`` working days after s's
        day (a working day is a local date with working time: not closed, not a holiday), at
        its opening plus ``o`` business time, clamped to that day's closing time. On days with
        identical hours this is "the same wall-clock time N working days later"; a lead arriving
        after hours counts from the next opening. ``add_days(t, 0) == next_working_instant(t)``.
        One business day is not 24 hours: use ``add_hours`` for hour-based deadlines.
        """
        try:
            n = operator.index(days)
        except TypeError as exc:
            raise TypeError(f"days must be an int, got {type(days).__name__}") from exc
        if n < 0:
            raise ValueError(f"days must be >= 0, got {days!r}")
        s = self._next_working_us(_dt_to_us(t, "t"))
        clock = self._clock(s, s)
        while True:
            k = int(np.searchsorted(clock.day_close, s, side="right"))
            if k + n < len(clock.day_close):
                break
            clock = _extend(self, clock)
        o = int(clock.b(np.asarray([s], dtype=np.int64))[0]) - int(clock.day_b_open[k])
        target = k + n
        if o >= int(clock.day_b_close[target] - clock.day_b_open[target]):
            return self._to_local(int(clock.day_close[target]))
        x = int(clock.day_b_open[target]) + o
        return self._to_local(int(clock.b_inv_latest(np.asarray([x], dtype=np.int64))[0]))

    # -- vectorised API ----------------------------------------------------------------------

    def business_us(self, ts: Any) -> np.ndarray:
        """B(t) as int64 business microseconds since 2000-01-01 00:00 local time.

        Accepts tz-aware pandas Series/DatetimeIndex, numpy datetime64 (read as UTC) or a
        sequence of aware datetimes. Differences of these values are business durations.
        """
        us = _to_us_array(ts, "ts")
        if (us == _NAT).any():
            raise ValueError("ts contains missing timestamps (NaT/None)")
        if us.size == 0:
            return np.empty(0, dtype=np.int64)
        return self._clock(int(us.min()), int(us.max())).b(us)

    def from_business_us(self, b: Any) -> pd.DatetimeIndex:
        """B⁻¹: earliest instant at which B reaches each value, as a UTC DatetimeIndex."""
        x = np.asarray(b)
        if x.dtype.kind not in "iu":
            raise TypeError(f"b must be integer business microseconds, got dtype {x.dtype}")
        x = x.astype(np.int64).ravel()
        if x.size == 0:
            return _us_to_index(x)
        clock = _clock_for_years(self, _ORIGIN_YEAR - 1, _ORIGIN_YEAR + 1)
        clock = _clock_for_values(self, clock, int(x.min()), int(x.max()))
        return _us_to_index(clock.b_inv_earliest(x))

    def elapsed_many(self, start: Any, end: Any) -> np.ndarray:
        """Business seconds (float64) between paired instants; NaN where either is missing."""
        a, b = np.broadcast_arrays(_to_us_array(start, "start"), _to_us_array(end, "end"))
        missing = (a == _NAT) | (b == _NAT)
        out = np.full(a.shape, np.nan)
        if missing.all():
            return out
        ok_a, ok_b = a[~missing], b[~missing]
        clock = self._clock(int(min(ok_a.min(), ok_b.min())), int(max(ok_a.max(), ok_b.max())))
        out[~missing] = (clock.b(ok_b) - clock.b(ok_a)) / 1e6
        return out

    def add_many(self, t: Any, seconds: Any) -> pd.DatetimeIndex:
        """Vectorised ``add``: instants plus business seconds (>= 0), as a UTC DatetimeIndex.

        Seconds are rounded to the microsecond; a zero duration returns the instant itself and
        a missing instant or duration gives NaT.
        """
        d, d_missing = _seconds_to_us(seconds)
        us, d, d_missing = np.broadcast_arrays(_to_us_array(t, "t"), d, d_missing)
        missing = (us == _NAT) | d_missing
        out = us.copy()
        out[missing] = _NAT
        todo = ~missing & (d > 0)
        if todo.any():
            u = us[todo]
            clock = self._clock(int(u.min()), int(u.max()))
            x = clock.b(u) + d[todo]
            clock = _clock_for_values(self, clock, int(x.min()), int(x.max()))
            out[todo] = clock.b_inv_earliest(x)
        return _us_to_index(out)

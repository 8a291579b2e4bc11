"""Tests for feature_defs.business_time: hand-checked SLA deadlines plus exactness properties.

Every expected value below is worked out by hand in a comment, against the 2026 calendar:
FR public holidays that matter here are Fri 1 May, Fri 8 May, Thu 14 May (Ascension),
Tue 14 July, Wed 11 Nov and Fri 25 Dec; DST in Paris starts Sun 29 Mar and ends Sun 25 Oct.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feature_defs.business_time import BusinessCalendar

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
H = timedelta(hours=1)
US = timedelta(microseconds=1)

CAL = BusinessCalendar.default()
ALWAYS_OPEN = BusinessCalendar.from_spec(
    timezone="Europe/Paris",
    hours={day: [("00:00", "24:00")] for day in range(7)},
    holidays_country=None,
)
NY = BusinessCalendar.from_spec(
    timezone="America/New_York",
    hours={day: [("09:00", "17:00")] for day in ("mon", "tue", "wed", "thu", "fri")},
    holidays_country="US",
)


def paris(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=PARIS)


def ny(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=NEW_YORK)


def assert_same(actual: datetime, expected: datetime) -> None:
    """Same instant AND same local wall time/offset (catches a result off by a DST hour)."""
    assert actual == expected
    assert actual.utcoffset() == expected.utcoffset()
    assert actual.replace(tzinfo=None) == expected.replace(tzinfo=None)


# --------------------------------------------------------------------------------------------
# Hand-checked deadlines, default calendar (Paris, Mon-Fri 09:00-12:30 + 14:00-18:00, FR)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        # Fri 20 Nov 17:00: 17-18 uses 1h, weekend closed, Mon 23 09:00 + 3h = 12:00.
        (paris(2026, 11, 20, 17), 4, paris(2026, 11, 23, 12)),
        # Fri 11:30: 11:30-12:30 uses 1h, lunch, 14:00 + 1h = 15:00.
        (paris(2026, 11, 20, 11, 30), 2, paris(2026, 11, 20, 15)),
        # Thu 24 Dec 17:00: 1h until 18:00; Fri 25 Dec holiday; weekend; Mon 28 09:00+1h = 10:00.
        (paris(2026, 12, 24, 17), 2, paris(2026, 12, 28, 10)),
        # Sat 21 Nov 10:00: nothing until Mon 09:00; 09:00-12:30 = 3.5h; 14:00 + 0.5h = 14:30.
        (paris(2026, 11, 21, 10), 4, paris(2026, 11, 23, 14, 30)),
        # Fri 14:00 + 4h reaches exactly the 18:00 close: the EARLIEST instant, not Mon 09:00.
        (paris(2026, 11, 20, 14), 4, paris(2026, 11, 20, 18)),
        # Fri 09:00 + 3.5h ends exactly at 12:30, not at 14:00.
        (paris(2026, 11, 20, 9), 3.5, paris(2026, 11, 20, 12, 30)),
        # Thu 30 Apr 16:00: 2h until 18:00; Fri 1 May holiday; weekend; Mon 4 May 09:00+2h.
        (paris(2026, 4, 30, 16), 4, paris(2026, 5, 4, 11)),
        # Thu 7 May 17:30: 0.5h; Fri 8 May (Victory Day) holiday; Mon 11 May 09:00+0.5h.
        (paris(2026, 5, 7, 17, 30), 1, paris(2026, 5, 11, 9, 30)),
        # Mon 13 Jul 17:00: 1h; Tue 14 Jul holiday; Wed 15 Jul 09:00 + 3h = 12:00.
        (paris(2026, 7, 13, 17), 4, paris(2026, 7, 15, 12)),
        # Wed 13 May 12:00: 0.5h + 4h = 4.5h; Thu 14 May Ascension; Fri 15 May 09:00-12:30 is
        # the remaining 3.5h, so the deadline is exactly Fri 12:30 (earliest instant).
        (paris(2026, 5, 13, 12), 8, paris(2026, 5, 15, 12, 30)),
        # Fri 27 Mar 17:00 CET: 1h; DST weekend; Mon 30 Mar 09:00 CEST + 1h = 10:00 CEST.
        (paris(2026, 3, 27, 17), 2, paris(2026, 3, 30, 10)),
        # Fri 23 Oct 17:00 CEST: 1h; DST ends Sunday; Mon 26 Oct 09:00 CET + 1h = 10:00 CET.
        (paris(2026, 10, 23, 17), 2, paris(2026, 10, 26, 10)),
        # Wed 9:00 + 0h: a zero duration is the instant itself, even at an opening.
        (paris(2026, 11, 18, 9), 0, paris(2026, 11, 18, 9)),
        # Sat + 0h: also the instant itself (no rolling to the next opening).
        (paris(2026, 11, 21, 10), 0, paris(2026, 11, 21, 10)),
    ],
)
def test_add_hours_hand_checked(start: datetime, hours: float, expected: datetime) -> None:
    assert_same(CAL.add_hours(start, hours), expected)
    assert CAL.add(start, timedelta(hours=hours)) == expected


def test_add_takes_any_aware_timezone_and_answers_in_calendar_timezone() -> None:
    # Fri 20 Nov 16:00 UTC = 17:00 Paris; + 4h -> Mon 23 12:00 Paris (as above).
    result = CAL.add_hours(datetime(2026, 11, 20, 16, tzinfo=UTC), 4)
    assert_same(result, paris(2026, 11, 23, 12))
    assert result.tzinfo == PARIS


def test_elapsed_hand_checked() -> None:
    # Fri 17:00 -> Mon 10:00: 17-18 (1h) + Mon 09-10 (1h) = 2h.
    assert CAL.elapsed(paris(2026, 11, 20, 17), paris(2026, 11, 23, 10)) == 2 * H
    # Reversed order gives the negative value.
    assert CAL.elapsed(paris(2026, 11, 23, 10), paris(2026, 11, 20, 17)) == -2 * H
    # A full working day: 3.5h + 4h = 7.5h.
    assert CAL.elapsed(paris(2026, 11, 23), paris(2026, 11, 24)) == 7.5 * H
    # Lunch does not count: 12:00 -> 14:30 = 0.5h + 0.5h.
    assert CAL.elapsed(paris(2026, 11, 23, 12), paris(2026, 11, 23, 14, 30)) == H
    # Whole week of 9-13 Nov 2026 has Wed 11 Nov off: 4 days x 7.5h = 30h.
    assert CAL.elapsed(paris(2026, 11, 9), paris(2026, 11, 14)) == 30 * H
    # Inside a weekend: nothing.
    assert CAL.elapsed(paris(2026, 11, 21, 8), paris(2026, 11, 22, 20)) == timedelta(0)


def test_elapsed_across_dst_weekends() -> None:
    # Spring: Fri 27 Mar 17:00 CET -> Mon 30 Mar 10:00 CEST is 64h of real time (one hour
    # lost on Sunday) but still 1h + 1h of business time.
    a, b = paris(2026, 3, 27, 17), paris(2026, 3, 30, 10)
    assert b - a == timedelta(hours=65)  # naive wall-clock arithmetic in Python
    assert b.astimezone(UTC) - a.astimezone(UTC) == timedelta(hours=64)
    assert CAL.elapsed(a, b) == 2 * H
    # Autumn: Fri 23 Oct 17:00 CEST -> Mon 26 Oct 10:00 CET is 66h real (hour gained), 2h business.
    a, b = paris(2026, 10, 23, 17), paris(2026, 10, 26, 10)
    assert b.astimezone(UTC) - a.astimezone(UTC) == timedelta(hours=66)
    assert CAL.elapsed(a, b) == 2 * H


def test_is_working_time_and_next_working_instant() -> None:
    assert CAL.is_working_time(paris(2026, 11, 20, 9))  # opening is included
    assert CAL.is_working_time(paris(2026, 11, 20, 12, 30) - US)
    assert not CAL.is_working_time(paris(2026, 11, 20, 12, 30))  # closing is excluded
    assert not CAL.is_working_time(paris(2026, 11, 20, 13))  # lunch
    assert not CAL.is_working_time(paris(2026, 11, 21, 10))  # Saturday
    assert not CAL.is_working_time(paris(2026, 11, 11, 10))  # Armistice Day (Wednesday)
    assert not CAL.is_working_time(paris(2026, 5, 14, 10))  # Ascension (Thursday)

    t = paris(2026, 11, 20, 10, 17)
    assert_same(CAL.next_working_instant(t), t)
    # Lunch -> 14:00 the same day.
    assert_same(CAL.next_working_instant(paris(2026, 11, 20, 12, 45)), paris(2026, 11, 20, 14))
    # Friday 18:00 (closed) -> Monday 09:00.
    assert_same(CAL.next_working_instant(paris(2026, 11, 20, 18)), paris(2026, 11, 23, 9))
    # Thu 24 Dec 20:00 -> Fri 25 holiday, weekend -> Mon 28 Dec 09:00.
    assert_same(CAL.next_working_instant(paris(2026, 12, 24, 20)), paris(2026, 12, 28, 9))
    # Tue 10 Nov 19:00 UTC (20:00 Paris) -> Wed 11 Nov holiday -> Thu 12 Nov 09:00 Paris.
    result = CAL.next_working_instant(datetime(2026, 11, 10, 19, tzinfo=UTC))
    assert_same(result, paris(2026, 11, 12, 9))


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # Wed 18 Nov 10:00 + 5 working days: Thu, Fri, Mon, Tue, Wed 25 -> 10:00.
        (paris(2026, 11, 18, 10), 5, paris(2026, 11, 25, 10)),
        # Wed 4 Nov 10:00 + 5: Thu 5, Fri 6, Mon 9, Tue 10, (Wed 11 off) Thu 12: a day later.
        (paris(2026, 11, 4, 10), 5, paris(2026, 11, 12, 10)),
        # 14:00 is at the same business offset (3.5h) as 12:30: the result must be 14:00.
        (paris(2026, 11, 18, 14), 5, paris(2026, 11, 25, 14)),
        # Wed 20:00 rolls to Thu 19 09:00; + 1 working day -> Fri 20 09:00.
        (paris(2026, 11, 18, 20), 1, paris(2026, 11, 20, 9)),
        # days=0 is the next working instant: Wed 20:00 -> Thu 09:00.
        (paris(2026, 11, 18, 20), 0, paris(2026, 11, 19, 9)),
        # Lunchtime rolls to 14:00; Fri 20 Nov 13:00 -> 14:00, +1 -> Mon 23 14:00.
        (paris(2026, 11, 20, 13), 1, paris(2026, 11, 23, 14)),
        # Thu 24 Dec 11:00 + 1: Fri 25 holiday, weekend -> Mon 28 Dec 11:00.
        (paris(2026, 12, 24, 11), 1, paris(2026, 12, 28, 11)),
        # Across DST: Fri 27 Mar 10:00 CET + 1 -> Mon 30 Mar 10:00 CEST (wall clock kept).
        (paris(2026, 3, 27, 10), 1, paris(2026, 3, 30, 10)),
        # Saturday 21 Nov rolls to Mon 23 09:00; + 2 -> Wed 25 09:00.
        (paris(2026, 11, 21, 15), 2, paris(2026, 11, 25, 9)),
    ],
)
def test_add_days_hand_checked(start: datetime, days: int, expected: datetime) -> None:
    assert_same(CAL.add_days(start, days), expected)


def test_add_days_clamps_to_a_shorter_day() -> None:
    cal = BusinessCalendar.from_spec(
        timezone="Europe/Paris",
        hours={
            "mon": [("09:00", "18:00")],
            "tue": [("09:00", "18:00")],
            "wed": [("09:00", "18:00")],
            "thu": [("09:00", "18:00")],
            "fri": [("09:00", "12:00")],
        },
        holidays_country=None,
    )
    # Thu 19 Nov 16:00 is 7h into its day; Friday only has 3h -> clamp to its 12:00 close.
    assert_same(cal.add_days(paris(2026, 11, 19, 16), 1), paris(2026, 11, 20, 12))
    # 2h into Thursday fits in Friday: Fri 11:00.
    assert_same(cal.add_days(paris(2026, 11, 19, 11), 1), paris(2026, 11, 20, 11))
    # From Friday 11:00 (2h in) + 1 -> Mon 23 Nov 11:00.
    assert_same(cal.add_days(paris(2026, 11, 20, 11), 1), paris(2026, 11, 23, 11))


def test_extra_closed_dates() -> None:
    cal = BusinessCalendar.from_spec(
        timezone="Europe/Paris",
        hours={d: [("09:00", "12:30"), ("14:00", "18:00")] for d in range(5)},
        holidays_country="FR",
        extra_closed_dates=[date(2026, 12, 31)],
    )
    # Wed 30 Dec 17:00: 1h; Thu 31 company closure; Fri 1 Jan holiday; weekend; Mon 4 Jan
    # 09:00 + 1h = 10:00.
    assert_same(cal.add_hours(paris(2026, 12, 30, 17), 2), paris(2027, 1, 4, 10))
    # Without the closure Thu 31 Dec 09:00 + 1h = 10:00.
    assert_same(CAL.add_hours(paris(2026, 12, 30, 17), 2), paris(2026, 12, 31, 10))


def test_default_equals_equivalent_spec_and_is_hashable() -> None:
    spec = BusinessCalendar.from_spec(
        timezone="Europe/Paris",
        hours={
            d: [("09:00", "12:30"), ("14:00", "18:00")] for d in ("mon", "tue", "wed", "thu", "fri")
        },
        holidays_country="FR",
    )
    assert spec == CAL
    assert hash(spec) == hash(CAL)
    assert {spec: 1}[CAL] == 1
    # Dict input to the constructor is normalised into the same canonical form.
    hand = BusinessCalendar(hours={0: [(time(14), time(18)), (time(9), time(12, 30))]})
    assert hand.hours == ((0, ((time(9), time(12, 30)), (time(14), time(18)))),)
    with pytest.raises(AttributeError):
        CAL.timezone = "UTC"  # type: ignore[misc]


# --------------------------------------------------------------------------------------------
# 24/7 calendar: business time is real elapsed time, DST included
# --------------------------------------------------------------------------------------------


def test_always_open_calendar_counts_real_time_across_dst() -> None:
    # Spring forward: 00:00 CET -> 06:00 CEST on 29 Mar 2026 is 5 real hours.
    assert ALWAYS_OPEN.elapsed(paris(2026, 3, 29), paris(2026, 3, 29, 6)) == 5 * H
    # Fall back: 00:00 CEST -> 06:00 CET on 25 Oct 2026 is 7 real hours.
    assert ALWAYS_OPEN.elapsed(paris(2026, 10, 25), paris(2026, 10, 25, 6)) == 7 * H
    # Whole DST days: 23h and 25h.
    assert ALWAYS_OPEN.elapsed(paris(2026, 3, 29), paris(2026, 3, 30)) == 23 * H
    assert ALWAYS_OPEN.elapsed(paris(2026, 10, 25), paris(2026, 10, 26)) == 25 * H
    # Adding 3h at 01:00 CET on the spring day lands at 05:00 CEST (02:00-03:00 does not exist).
    assert_same(ALWAYS_OPEN.add_hours(paris(2026, 3, 29, 1), 3), paris(2026, 3, 29, 5))
    assert ALWAYS_OPEN.is_working_time(paris(2026, 12, 25, 3))  # no holidays


@settings(max_examples=100, deadline=None)
@given(
    a=st.integers(0, 5 * 365 * 86_400_000_000),
    b=st.integers(0, 5 * 365 * 86_400_000_000),
)
def test_always_open_elapsed_equals_real_elapsed(a: int, b: int) -> None:
    base = datetime(2024, 1, 1, tzinfo=UTC)
    ta, tb = base + a * US, base + b * US
    assert ALWAYS_OPEN.elapsed(ta, tb) == tb - ta


def test_interval_in_dst_gap_and_overlap_has_true_real_length() -> None:
    cal = BusinessCalendar.from_spec(
        timezone="Europe/Paris",
        hours={"sun": [("01:00", "04:00")]},
        holidays_country=None,
    )

    def sunday_total(d: int, m: int) -> timedelta:
        return cal.elapsed(paris(2026, m, d), paris(2026, m, d, 12))

    assert sunday_total(22, 3) == 3 * H  # ordinary Sunday
    assert sunday_total(29, 3) == 2 * H  # 01:00 CET -> 04:00 CEST is 2 real hours
    assert sunday_total(25, 10) == 4 * H  # 01:00 CEST -> 04:00 CET is 4 real hours

    # A nonexistent local start (02:30 on 29 Mar) resolves with fold=0, i.e. the pre-change
    # offset +01:00: 02:30+01:00 = 03:30 CEST; until 05:00 CEST that is 1.5h.
    gap = BusinessCalendar.from_spec(
        timezone="Europe/Paris", hours={"sun": [("02:30", "05:00")]}, holidays_country=None
    )
    assert gap.elapsed(paris(2026, 3, 29), paris(2026, 3, 29, 12)) == 1.5 * H
    assert_same(gap.next_working_instant(paris(2026, 3, 29)), paris(2026, 3, 29, 3, 30))
    # An ambiguous start (02:30 on 25 Oct) takes the first occurrence (CEST, 00:30 UTC);
    # until 05:00 CET (04:00 UTC) that is 3.5h.
    assert gap.elapsed(paris(2026, 10, 25), paris(2026, 10, 25, 12)) == 3.5 * H
    first = gap.next_working_instant(paris(2026, 10, 25))
    assert first.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_intervals_made_to_overlap_by_a_dst_gap_are_not_double_counted() -> None:
    cal = BusinessCalendar.from_spec(
        timezone="Europe/Paris",
        hours={"sun": [("01:00", "02:30"), ("03:00", "04:00")]},
        holidays_country=None,
    )
    # Ordinary Sunday: 1.5h + 1h.
    assert cal.elapsed(paris(2026, 3, 22), paris(2026, 3, 23)) == 2.5 * H
    # 29 Mar: 02:30 does not exist and resolves (fold=0, +01:00) to 03:30 CEST, past the
    # 03:00 CEST start of the second interval. Real working time is 01:00 CET (00:00 UTC) to
    # 04:00 CEST (02:00 UTC) = 2h, not 1.5h + 1h = 2.5h.
    assert cal.elapsed(paris(2026, 3, 29), paris(2026, 3, 30)) == 2 * H
    assert_same(cal.add_hours(paris(2026, 3, 29), 2), paris(2026, 3, 29, 4))
    assert cal.is_working_time(paris(2026, 3, 29, 3, 15))


# --------------------------------------------------------------------------------------------
# Another timezone and holiday set
# --------------------------------------------------------------------------------------------


def test_new_york_thanksgiving_and_dst() -> None:
    # Wed 25 Nov 16:00 EST: 1h until 17:00; Thu 26 Thanksgiving; Fri 27 09:00 + 3h = 12:00.
    result = NY.add_hours(ny(2026, 11, 25, 16), 4)
    assert_same(result, ny(2026, 11, 27, 12))
    assert result.tzinfo == NEW_YORK
    assert not NY.is_working_time(ny(2026, 11, 26, 10))
    # French holidays don't apply: Fri 1 May is an ordinary US working day, 09:00 + 8h = 17:00.
    assert_same(NY.add_hours(ny(2026, 5, 1, 9), 8), ny(2026, 5, 1, 17))
    # US DST starts Sun 8 Mar 2026: Fri 6 Mar 16:00 EST + 2h -> Mon 9 Mar 10:00 EDT (14:00 UTC).
    result = NY.add_hours(ny(2026, 3, 6, 16), 2)
    assert_same(result, ny(2026, 3, 9, 10))
    assert result.astimezone(UTC) == datetime(2026, 3, 9, 14, tzinfo=UTC)
    # Wed 25 Nov 10:00 + 1 working day skips Thanksgiving -> Fri 27 10:00.
    assert_same(NY.add_days(ny(2026, 11, 25, 10), 1), ny(2026, 11, 27, 10))


# --------------------------------------------------------------------------------------------
# Vectorised API
# --------------------------------------------------------------------------------------------


def test_business_us_origin_and_range_extension() -> None:
    # The origin is 2000-01-01 00:00 Paris (a Saturday): Mon 3 Jan 10:00 is 1 business hour.
    b = CAL.business_us([paris(2000, 1, 1), paris(2000, 1, 3, 10), paris(1999, 12, 31, 17)])
    assert b.dtype == np.int64
    assert b.tolist() == [0, 3_600_000_000, -3_600_000_000]
    before = CAL.business_us([paris(2026, 11, 20, 17)])
    # A far timestamp forces the precomputed range to grow; earlier values must not move.
    far = CAL.add_hours(paris(2150, 6, 1, 10), 1)
    assert far.year == 2150
    assert CAL.business_us([paris(2026, 11, 20, 17)]).tolist() == before.tolist()


def test_vectorised_inputs_and_outputs() -> None:
    starts = pd.Series(pd.to_datetime(["2026-11-20 17:00", "2026-11-20 11:30"]).tz_localize(PARIS))
    ends = pd.Series(pd.to_datetime(["2026-11-23 10:00", "2026-11-20 15:00"]).tz_localize(PARIS))
    # 17:00 Fri -> 10:00 Mon = 2h; 11:30 -> 15:00 = 1h + 1h = 2h.
    np.testing.assert_array_equal(CAL.elapsed_many(starts, ends), [7200.0, 7200.0])

    out = CAL.add_many(starts, [4 * 3600.0, 2 * 3600.0])
    assert isinstance(out, pd.DatetimeIndex)
    assert str(out.tz) == "UTC"
    # Mon 23 12:00 Paris = 11:00 UTC; Fri 15:00 Paris = 14:00 UTC.
    assert list(out) == [
        pd.Timestamp("2026-11-23 11:00", tz="UTC"),
        pd.Timestamp("2026-11-20 14:00", tz="UTC"),
    ]
    # Scalar seconds broadcast; numpy datetime64 is read as UTC (16:00 UTC = 17:00 Paris).
    raw = np.array(["2026-11-20T16:00"], dtype="datetime64[us]")
    assert list(CAL.add_many(raw, 4 * 3600)) == [pd.Timestamp("2026-11-23 11:00", tz="UTC")]
    # B^-1 picks the earliest instant: B(Mon 09:00) == B(Fri 18:00) -> Fri 18:00 (17:00 UTC).
    b = CAL.business_us([paris(2026, 11, 23, 9)])
    assert list(CAL.from_business_us(b)) == [pd.Timestamp("2026-11-20 17:00", tz="UTC")]


def test_vectorised_missing_values() -> None:
    starts = pd.Series(
        [pd.Timestamp("2026-11-20 17:00", tz=PARIS), pd.NaT], dtype="datetime64[us, Europe/Paris]"
    )
    ends = pd.Series(
        [pd.NaT, pd.Timestamp("2026-11-23 10:00", tz=PARIS)], dtype="datetime64[us, Europe/Paris]"
    )
    assert np.isnan(CAL.elapsed_many(starts, ends)).all()
    out = CAL.add_many(starts, [3600.0, 3600.0])
    assert out[0] == pd.Timestamp("2026-11-20 17:00", tz=UTC)  # 17:00 Paris + 1h = 18:00 Paris
    assert pd.isna(out[1])
    assert pd.isna(CAL.add_many(starts.iloc[:1], [np.nan])[0])
    with pytest.raises(ValueError, match="missing"):
        CAL.business_us(starts)


def test_vectorised_speed() -> None:
    import time as clock

    rng = np.random.default_rng(7)
    lo = int(pd.Timestamp("2024-01-01", tz="UTC").value // 1000)
    hi = int(pd.Timestamp("2029-01-01", tz="UTC").value // 1000)
    ts = pd.Series(pd.DatetimeIndex(rng.integers(lo, hi, 100_000).view("datetime64[us]"), tz="UTC"))
    secs = rng.uniform(0, 400 * 3600, ts.size)
    CAL.business_us(ts.iloc[:1])  # warm the cache
    t0 = clock.perf_counter()
    out = CAL.add_many(ts, secs)
    el = CAL.elapsed_many(ts, out)
    assert clock.perf_counter() - t0 < 1.0
    np.testing.assert_array_equal(el, np.rint(secs * 1e6) / 1e6)


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

_MIN = datetime(2024, 1, 1, tzinfo=UTC)
_SPAN_US = (datetime(2029, 1, 1, tzinfo=UTC) - _MIN) // US
_ZONES = [UTC, PARIS, NEW_YORK]

random_instants = st.builds(
    lambda us, tz: (_MIN + us * US).astimezone(tz),
    st.integers(0, _SPAN_US),
    st.sampled_from(_ZONES),
)
# Boundaries are where off-by-one-interval bugs live; random microseconds never hit them.
boundary_instants = st.builds(
    lambda d, t: datetime.combine(d, t, tzinfo=PARIS),
    st.dates(date(2024, 1, 1), date(2028, 12, 31)),
    st.sampled_from([time(0), time(9), time(12, 30), time(14), time(18), time(2, 30)]),
)
instants = st.one_of(random_instants, boundary_instants)
durations = st.one_of(
    st.integers(0, 400 * 3600 * 10**6).map(lambda us: us * US),
    st.integers(0, 800).map(lambda half_hours: half_hours * timedelta(minutes=30)),
)
PROP = settings(max_examples=200, deadline=None)


@PROP
@given(t=instants, d=durations)
def test_add_then_elapsed_is_exact(t: datetime, d: timedelta) -> None:
    r = CAL.add(t, d)
    assert CAL.elapsed(t, r) == d
    if d > timedelta(0):
        assert r > t
        # Earliest instant: one microsecond earlier, one microsecond of business time is
        # missing, i.e. r is inside working time or exactly at an interval end.
        assert CAL.is_working_time(r) or CAL.is_working_time(r - US)
        assert CAL.elapsed(t, r - US) == d - US
    else:
        assert r == t


@PROP
@given(t=instants, d1=durations, d2=durations)
def test_add_is_non_decreasing(t: datetime, d1: timedelta, d2: timedelta) -> None:
    lo, hi = sorted([d1, d2])
    assert CAL.add(t, lo) <= CAL.add(t, hi)


@PROP
@given(a=instants, b=instants, c=instants)
def test_elapsed_is_additive_and_bounded(a: datetime, b: datetime, c: datetime) -> None:
    assert CAL.elapsed(a, b) + CAL.elapsed(b, c) == CAL.elapsed(a, c)
    lo, hi = sorted([a, b])
    assert timedelta(0) <= CAL.elapsed(lo, hi) <= hi - lo


@PROP
@given(t=instants, n=st.integers(0, 300))
def test_add_days_keeps_wall_clock_time_on_uniform_days(t: datetime, n: int) -> None:
    s = CAL.next_working_instant(t)
    assert CAL.is_working_time(s)
    assert s >= t
    assert CAL.elapsed(t, s) == timedelta(0)
    r = CAL.add_days(t, n)
    # Default days all have the same hours, so no clamping: same local time of day.
    assert r.time() == s.time()
    assert CAL.is_working_time(r)
    if n == 0:
        assert r == s
    else:
        # Exactly n working days later: n full days of 7.5 business hours.
        assert CAL.elapsed(s, r) == n * 7.5 * H


@PROP
@given(ts=st.lists(st.tuples(instants, durations), min_size=1, max_size=12))
def test_vectorised_equals_scalar(ts: list[tuple[datetime, timedelta]]) -> None:
    times = [t for t, _ in ts]
    durs = [d for _, d in ts]
    seconds = np.array([d / US for d in durs]) / 1e6

    added = CAL.add_many(times, seconds)
    assert list(added) == [CAL.add(t, d) for t, d in ts]

    scalar_elapsed = [CAL.elapsed(times[0], t) / US / 1e6 for t in times]
    np.testing.assert_array_equal(CAL.elapsed_many([times[0]] * len(times), times), scalar_elapsed)
    np.testing.assert_array_equal(CAL.elapsed_many(times, list(added)), seconds)

    b = CAL.business_us(times)
    np.testing.assert_array_equal(b - b[0], [CAL.elapsed(times[0], t) // US for t in times])
    # Same values from a tz-aware pandas Series in another zone.
    series = pd.Series(pd.to_datetime(times, utc=True)).dt.tz_convert("Asia/Tokyo")
    np.testing.assert_array_equal(CAL.business_us(series), b)

    back = CAL.from_business_us(b)
    assert CAL.business_us(back).tolist() == b.tolist()
    assert all(x <= t for x, t in zip(back, times, strict=True))


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------

WEEKDAYS = {d: [("09:00", "17:00")] for d in ("mon", "tue", "wed", "thu", "fri")}


def spec(**overrides: object) -> BusinessCalendar:
    kwargs: dict[str, object] = {
        "timezone": "Europe/Paris",
        "hours": WEEKDAYS,
        "holidays_country": "FR",
    }
    kwargs.update(overrides)
    return BusinessCalendar.from_spec(**kwargs)  # type: ignore[arg-type]


def test_unknown_timezone() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus_Mons"):
        spec(timezone="Mars/Olympus_Mons")
    with pytest.raises(ValueError, match="Europe/Nowhere"):
        BusinessCalendar(timezone="Europe/Nowhere")


@pytest.mark.parametrize(
    ("hours", "fragments"),
    [
        ({"tue": [("12:00", "09:00")]}, ["tuesday", "12:00-09:00", "reversed"]),
        ({"mon": [("09:00", "09:00")]}, ["monday", "09:00-09:00", "empty"]),
        (
            {"wed": [("09:00", "12:00"), ("11:00", "13:00")]},
            ["wednesday", "09:00-12:00", "11:00-13:00", "overlap"],
        ),
        # Unsorted input is sorted before the overlap check.
        (
            {4: [("14:00", "18:00"), ("09:00", "14:30")]},
            ["friday", "09:00-14:30", "14:00-18:00", "overlap"],
        ),
        ({"sat": [("22:00", "02:00")]}, ["saturday", "22:00-02:00", "two intervals"]),
        ({"mon": [], "tue": []}, ["no working time"]),
        ({}, ["no working time"]),
        ({"funday": [("09:00", "17:00")]}, ["funday"]),
        ({"mon": [("24:00", "24:00")]}, ["monday", "24:00"]),
        ({"thu": [("09:00", "25:00")]}, ["thursday", "25:00"]),
        ({"mon": [("9h", "17:00")]}, ["monday", "9h"]),
        ({"mon": [("09:00", "17:00")], 0: [("09:00", "17:00")]}, ["monday", "twice"]),
    ],
)
def test_invalid_hours(hours: dict[object, list[tuple[str, str]]], fragments: list[str]) -> None:
    with pytest.raises(ValueError) as info:
        spec(hours=hours)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_invalid_hours_in_constructor() -> None:
    with pytest.raises(ValueError, match=r"sunday interval 18:00-09:00 is reversed"):
        BusinessCalendar(hours={6: [(time(18), time(9))]})
    with pytest.raises(ValueError, match="weekday 7"):
        BusinessCalendar(hours={7: [(time(9), time(17))]})


def test_end_of_day_interval() -> None:
    cal = spec(hours={"mon": [("22:00", "24:00")]}, holidays_country=None)
    assert cal.hours == ((0, ((time(22), time(0)),)),)
    # Mon 23 Nov 23:00 + 1h = 24:00 = Tue 00:00 (earliest instant), +1h30 more -> next Monday.
    assert_same(cal.add_hours(paris(2026, 11, 23, 23), 1), paris(2026, 11, 24))
    assert_same(cal.add_hours(paris(2026, 11, 23, 23), 1.5), paris(2026, 11, 30, 22, 30))


def test_unknown_holiday_country() -> None:
    with pytest.raises(ValueError, match="XX"):
        spec(holidays_country="XX")


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 11, 20, 17)
    aware = paris(2026, 11, 20, 17)
    with pytest.raises(ValueError, match="t must be timezone-aware"):
        CAL.add_hours(naive, 1)
    with pytest.raises(ValueError, match="start must be timezone-aware"):
        CAL.elapsed(naive, aware)
    with pytest.raises(ValueError, match="end must be timezone-aware"):
        CAL.elapsed(aware, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.is_working_time(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.add_days(naive, 1)
    with pytest.raises(ValueError, match=r"t\[1\] must be timezone-aware"):
        CAL.add_many([aware, naive], 60.0)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.business_us(pd.Series(pd.to_datetime(["2026-11-20 17:00"])))


def test_negative_durations_are_refused() -> None:
    t = paris(2026, 11, 20, 17)
    with pytest.raises(ValueError, match="duration must be >= 0"):
        CAL.add(t, -US)
    with pytest.raises(ValueError, match="hours must be >= 0"):
        CAL.add_hours(t, -0.5)
    with pytest.raises(ValueError, match="days must be >= 0"):
        CAL.add_days(t, -1)
    with pytest.raises(ValueError, match="seconds must be >= 0"):
        CAL.add_many([t, t], [10.0, -1.0])

"""Calibration page metrics against hand computations, or scipy as an independent method."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest, ks_2samp

from dashboard.calibration import (
    BAND_DELAY_COLUMNS,
    RELIABILITY_COLUMNS,
    SEGMENT_COLUMNS,
    WINDOW_COLUMNS,
    Drift,
    calibration_by_segment,
    calibration_over_time,
    calibration_summary,
    conversion_by_band_and_delay,
    ks_statistic,
    outcome_values,
    reliability,
    score_drift,
    threshold_window,
)

# Ten predictions and outcomes, sorted by p, used by the reliability and summary tests.
P10 = [0.1, 0.1, 0.2, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9]
Y10 = [0, 0, 0, 1, 0, 1, 1, 0, 1, 1]


def wilson_scipy(k: int, n: int) -> tuple[float, float]:
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return float(ci.low), float(ci.high)


# --------------------------------------------------------------------------- reliability


def test_reliability_quantile_bins_by_hand() -> None:
    # bins=2, equal mass: the 5 lowest p and the 5 highest.
    # bin 0: p .1 .1 .2 .2 .3 -> mean .9/5 = .18; y 0 0 0 1 0 -> 1/5 = .2
    # bin 1: p .4 .6 .7 .8 .9 -> mean 3.4/5 = .68; y 1 1 0 1 1 -> 4/5 = .8
    # Wilson 95 % for 4/5, z = 1.959964, z^2 = 3.841459:
    #   denom = 1 + z^2/5 = 1.768292; centre = (.8 + z^2/10) / denom = 1.184146 / 1.768292 = .669655
    #   half = z / denom * sqrt(.8*.2/5 + z^2/100) = 1.108391 * sqrt(.070415) = .294121
    #   -> [.375535, .963776]
    table = reliability(P10, Y10, bins=2)
    assert list(table.columns) == RELIABILITY_COLUMNS
    assert table["band"].tolist() == ["0.10-0.30", "0.40-0.90"]
    assert table["n"].tolist() == [5, 5]
    assert table["mean_predicted"].tolist() == pytest.approx([0.18, 0.68])
    assert table["observed_rate"].tolist() == pytest.approx([0.2, 0.8])
    assert table.loc[1, "lo"] == pytest.approx(0.375535, abs=1e-6)
    assert table.loc[1, "hi"] == pytest.approx(0.963776, abs=1e-6)
    # the same intervals from scipy's own Wilson implementation
    assert (table.loc[0, "lo"], table.loc[0, "hi"]) == pytest.approx(wilson_scipy(1, 5))
    assert (table.loc[1, "lo"], table.loc[1, "hi"]) == pytest.approx(wilson_scipy(4, 5))


def test_reliability_uniform_bins_by_hand() -> None:
    # [0, .5): p .1 .1 .2 .2 .3 .4 -> mean 1.3/6 = .216667; y 2/6 = .333333
    # [.5, 1]: p .6 .7 .8 .9 -> mean 3/4 = .75; y 3/4 = .75
    table = reliability(P10, Y10, bins=2, strategy="uniform")
    assert table["band"].tolist() == ["0.00-0.50", "0.50-1.00"]
    assert table["n"].tolist() == [6, 4]
    assert table["mean_predicted"].tolist() == pytest.approx([1.3 / 6, 0.75])
    assert table["observed_rate"].tolist() == pytest.approx([2 / 6, 0.75])
    assert (table.loc[0, "lo"], table.loc[0, "hi"]) == pytest.approx(wilson_scipy(2, 6))
    assert (table.loc[1, "lo"], table.loc[1, "hi"]) == pytest.approx(wilson_scipy(3, 4))


def test_reliability_uniform_puts_p_one_in_the_top_bin_and_skips_empty_bins() -> None:
    table = reliability([0.05, 1.0, 0.95], [0, 1, 1], bins=10, strategy="uniform")
    assert table["band"].tolist() == ["0.00-0.10", "0.90-1.00"]
    assert table["n"].tolist() == [1, 2]
    assert table["mean_predicted"].tolist() == pytest.approx([0.05, 0.975])


def test_wilson_ends_are_exact_at_zero_and_all() -> None:
    # 0 of 10: lo is exactly 0 (the formula leaves ~1e-17); 2 of 2: hi exactly 1
    table = reliability([0.1] * 10 + [0.9, 0.9], [0] * 10 + [1, 1], bins=2, strategy="uniform")
    assert table["lo"].tolist()[0] == 0.0 and table["hi"].tolist()[1] == 1.0
    assert table.loc[0, "hi"] == pytest.approx(wilson_scipy(0, 10)[1])
    assert table.loc[1, "lo"] == pytest.approx(wilson_scipy(2, 2)[0])
    quantile = reliability([0.1] * 10 + [0.9, 0.9], [0] * 10 + [1, 1], bins=6)
    assert quantile["lo"].tolist()[0] == 0.0 and quantile["hi"].tolist()[-1] == 1.0


def test_reliability_drops_unknown_outcomes_and_predictions() -> None:
    # two unknown rows (y None, p NaN) are dropped: the ten known rows give the same table
    p = [*P10, 0.5, math.nan]
    y = [*Y10, None, 1]
    table = reliability(p, y, bins=2)
    assert table["n"].sum() == 10
    assert table["mean_predicted"].tolist() == pytest.approx([0.18, 0.68])
    assert table["observed_rate"].tolist() == pytest.approx([0.2, 0.8])


def test_reliability_rejects_misuse() -> None:
    with pytest.raises(ValueError, match="rows"):
        reliability([0.1, 0.2], [1], bins=2)
    with pytest.raises(ValueError, match="0, 1"):
        reliability([0.1, 0.2], [1, 2], bins=2)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        reliability([0.1, 1.2], [1, 0], bins=2)
    with pytest.raises(ValueError, match="strategy"):
        reliability([0.1], [1], strategy="kmeans")


# --------------------------------------------------------------------------- summary


def test_calibration_summary_by_hand() -> None:
    # Brier: (p - y)^2 = .01 .01 .04 .64 .09 .36 .16 .49 .04 .01 -> 1.85 / 10 = .185
    # ECE (2 equal-mass bins): .5 * |.18 - .2| + .5 * |.68 - .8| = .01 + .06 = .07
    # log loss: -ln of .9 .9 .8 .2 .7 .4 .6 .3 .8 .9, mean
    # AUC: positives .2 .4 .6 .8 .9 vs negatives .1 .1 .2 .3 .7, pairs won
    #   2.5 (tie at .2 counts half) + 4 + 4 + 5 + 5 = 20.5 of 25 = .82
    s = calibration_summary(P10, Y10, bins=2)
    assert (s.n, s.n_unknown, s.positives) == (10, 0, 5)
    assert s.base_rate == pytest.approx(0.5)
    assert s.mean_predicted == pytest.approx(0.43)
    assert s.brier == pytest.approx(0.185)
    assert s.ece == pytest.approx(0.07)
    hand_log_loss = -sum(math.log(q) for q in (0.9, 0.9, 0.8, 0.2, 0.7, 0.4, 0.6, 0.3, 0.8, 0.9))
    assert s.log_loss == pytest.approx(hand_log_loss / 10)
    assert s.auc == pytest.approx(0.82)


def test_calibration_summary_degenerate_inputs() -> None:
    empty = calibration_summary([], [])
    assert (empty.n, empty.n_unknown, empty.positives) == (0, 0, 0)
    assert empty.brier is None and empty.ece is None and empty.auc is None
    unknown = calibration_summary([0.2, 0.4, 0.6], [None, math.nan, None])
    assert (unknown.n, unknown.n_unknown) == (0, 3)
    assert unknown.base_rate is None and unknown.log_loss is None
    # one class: AUC undefined, the rest still computed. Brier (.64 + .49) / 2 = .565
    one = calibration_summary([0.2, 0.3, 0.9], [1, 1, None])
    assert (one.n, one.n_unknown, one.positives) == (2, 1, 2)
    assert one.auc is None
    assert one.brier == pytest.approx(0.565)
    assert one.base_rate == pytest.approx(1.0)


def test_reliability_degenerate_inputs_give_empty_frames() -> None:
    for p, y in (([], []), ([0.2, 0.4], [None, None])):
        table = reliability(p, y)
        assert list(table.columns) == RELIABILITY_COLUMNS
        assert len(table) == 0


# --------------------------------------------------------------------------- lead-table fixtures


@pytest.fixture
def decided() -> pd.DataFrame:
    """Nine handed-off leads: accepted / rejected / undecided, in three months and three sources."""
    return pd.DataFrame(
        {
            "month": ["2025-01"] * 3 + ["2025-02"] * 4 + ["2025-03"] * 2,
            "source": ["web", "web", "web", "event", "event", "event", None, "web", "event"],
            "acceptance_probability": [0.2, 0.6, 0.8, 0.5, 0.3, 0.7, 0.9, 0.4, math.nan],
            "handed_off": [True] * 9,
            "accepted": [False, True, True, True, False, False, False, False, True],
            "rejected": [True, False, False, False, True, False, True, False, False],
        }
    )


def test_outcome_values_follow_the_rate_conventions() -> None:
    table = pd.DataFrame(
        {
            "handed_off": [True, True, True, False],
            "accepted": [True, False, False, False],
            "rejected": [False, True, False, False],
            "opportunity": [True, False, False, False],
        }
    )
    acc = outcome_values(table, "accepted").to_numpy()
    assert acc[:2].tolist() == [1.0, 0.0] and np.isnan(acc[2:]).all()  # undecided = unknown
    rej = outcome_values(table, "rejected").to_numpy()
    assert rej[:2].tolist() == [0.0, 1.0]
    opp = outcome_values(table, "opportunity").to_numpy()
    assert opp[:3].tolist() == [1.0, 0.0, 0.0] and np.isnan(opp[3])  # not handed off = unknown


def test_calibration_over_time_by_hand(decided: pd.DataFrame) -> None:
    # 2025-01: p .2 .6 .8, y 0 1 1: Brier (.04 + .16 + .04)/3 = .08; observed 2/3; predicted 1.6/3
    #          ECE with one bin = |1.6/3 - 2/3| = .2/1.5 = .133333
    # 2025-02: p .5 .3 (.7 undecided dropped, .9 source None rejected), y 1 0 0:
    #          p .5 .3 .9 -> Brier (.25 + .09 + .81)/3 = .383333; observed 1/3; predicted 1.7/3
    # 2025-03: .4 undecided, NaN p -> no known row -> month absent
    out = calibration_over_time(decided, "acceptance_probability", "accepted", min_n=3, bins=1)
    assert out["month"].tolist() == ["2025-01", "2025-02"]
    assert out["n"].tolist() == [3, 3]
    assert out["positives"].tolist() == [2, 1]
    assert out["brier"].tolist() == pytest.approx([0.08, 1.15 / 3])
    assert out["observed"].tolist() == pytest.approx([2 / 3, 1 / 3])
    assert out["predicted"].tolist() == pytest.approx([1.6 / 3, 1.7 / 3])
    assert out["ece"].tolist() == pytest.approx([0.2 / 1.5, 0.7 / 3])
    assert out["thin"].tolist() == [False, False]
    thin = calibration_over_time(decided, "acceptance_probability", "accepted", min_n=4, bins=1)
    assert thin["thin"].tolist() == [True, True]
    # one quarter holds all six known rows: Brier (.24 + 1.15)/6
    q = calibration_over_time(decided, "acceptance_probability", "accepted", freq="quarter")
    assert q["quarter"].tolist() == ["2025-Q1"]
    assert q["n"].tolist() == [6]
    assert q["brier"].tolist() == pytest.approx([1.39 / 6])


def test_calibration_over_time_from_created_at_when_no_month_column() -> None:
    table = pd.DataFrame(
        {
            "created_at": pd.to_datetime(["2025-04-30T23:00Z", "2025-05-01T01:00Z"], utc=True),
            "p": [0.25, 0.5],
            "y": [1.0, 0.0],
        }
    )
    out = calibration_over_time(table, "p", "y", min_n=1)
    assert out["month"].tolist() == ["2025-04", "2025-05"]
    assert out["brier"].tolist() == pytest.approx([0.5625, 0.25])


def test_calibration_by_segment_by_hand(decided: pd.DataFrame) -> None:
    # web: p .2 .6 .8, y 0 1 1 (.4 undecided) -> predicted .533333, observed .666667,
    #      gap -.133333, Brier .08
    # event: p .5 .3, y 1 0 (.7 undecided, NaN p) -> predicted .4, observed .5, gap -.1,
    #      Brier (.25 + .09)/2 = .17
    # unknown (source None): p .9, y 0 -> gap .9, Brier .81
    out = calibration_by_segment(decided, "acceptance_probability", "accepted", "source", min_n=3)
    assert list(out.columns) == SEGMENT_COLUMNS
    assert out["level"].tolist() == ["web", "event", "unknown"]
    assert out["n"].tolist() == [3, 2, 1]
    assert out["positives"].tolist() == [2, 1, 0]
    assert out["predicted"].tolist() == pytest.approx([1.6 / 3, 0.4, 0.9])
    assert out["observed"].tolist() == pytest.approx([2 / 3, 0.5, 0.0])
    assert out["gap"].tolist() == pytest.approx([-0.2 / 1.5, -0.1, 0.9])
    assert out["brier"].tolist() == pytest.approx([0.08, 0.17, 0.81])
    assert out["thin"].tolist() == [False, True, True]
    assert (out.loc[1, "lo"], out.loc[1, "hi"]) == pytest.approx(wilson_scipy(1, 2))


def test_time_and_segment_degenerate_inputs(decided: pd.DataFrame) -> None:
    undecided = decided.assign(accepted=False, rejected=False)
    over = calibration_over_time(undecided, "acceptance_probability", "accepted")
    assert len(over) == 0 and "brier" in over.columns
    seg = calibration_by_segment(undecided, "acceptance_probability", "accepted", "source")
    assert len(seg) == 0 and list(seg.columns) == SEGMENT_COLUMNS
    empty = decided.iloc[0:0]
    assert len(calibration_over_time(empty, "acceptance_probability", "accepted")) == 0
    assert len(calibration_by_segment(empty, "acceptance_probability", "accepted", "source")) == 0


# --------------------------------------------------------------------------- threshold window


@pytest.fixture
def around_threshold() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "score": [44.9, 45.0, 47.0, 49.9, 50.0, 52.0, 54.9, 55.0, math.nan],
            "handed_off": [True, True, False, True, True, True, True, True, True],
            "accepted": [True, True, False, False, True, False, True, True, True],
            "rejected": [False, False, False, True, False, False, False, False, False],
            "opportunity": [True, False, False, False, True, False, False, True, True],
            "acceptance_probability": [0.449, 0.45, 0.47, 0.499, 0.5, 0.52, 0.549, 0.55, 0.6],
            "probability": [0.2, 0.1, 0.1, 0.1, 0.3, 0.2, 0.3, 0.3, 0.3],
        }
    )


def test_threshold_window_by_hand(around_threshold: pd.DataFrame) -> None:
    # below [45, 50): scores 45, 47 (not handed off), 49.9 -> 3 leads
    #   accepted: 45 accepted, 49.9 rejected -> 1 of 2; predicted (.45 + .499)/2 = .4745
    #   opportunity: 45, 49.9 handed off, none converted -> 0 of 2; predicted (.1 + .1)/2 = .1
    # above [50, 55): scores 50, 52 (undecided), 54.9 -> 3 leads
    #   accepted: 50, 54.9 accepted -> 2 of 2; predicted (.5 + .549)/2 = .5245
    #   opportunity: 50 converted -> 1 of 3; predicted (.3 + .2 + .3)/3 = .266667
    # 44.9, 55 and NaN are outside the window
    out = threshold_window(
        around_threshold,
        "score",
        50,
        width=5,
        p_cols={"accepted": "acceptance_probability", "opportunity": "probability"},
    )
    assert list(out.columns) == WINDOW_COLUMNS
    assert out["side"].tolist() == ["below", "below", "above", "above"]
    assert out["outcome"].tolist() == ["accepted", "opportunity"] * 2
    assert out["score_from"].tolist() == [45.0, 45.0, 50.0, 50.0]
    assert out["score_to"].tolist() == [50.0, 50.0, 55.0, 55.0]
    assert out["leads"].tolist() == [3, 3, 3, 3]
    assert out["n"].tolist() == [2, 2, 2, 3]
    assert out["positives"].tolist() == [1, 0, 2, 1]
    assert out["observed"].tolist() == pytest.approx([0.5, 0.0, 1.0, 1 / 3])
    assert out["predicted"].tolist() == pytest.approx([0.4745, 0.1, 0.5245, 0.8 / 3])
    agreed = out["agreed_probability"].to_numpy()
    assert agreed[[0, 2]].tolist() == [0.5, 0.5] and np.isnan(agreed[[1, 3]]).all()
    assert (out.loc[2, "lo"], out.loc[2, "hi"]) == pytest.approx(wilson_scipy(2, 2))
    assert (out.loc[3, "lo"], out.loc[3, "hi"]) == pytest.approx(wilson_scipy(1, 3))


def test_threshold_window_without_p_columns_and_when_empty(around_threshold: pd.DataFrame) -> None:
    out = threshold_window(around_threshold, "score", 62, width=5, outcomes=("accepted",))
    # nothing in [57, 67): rows with zero counts, NaN rates
    assert out["leads"].tolist() == [0, 0]
    assert out["n"].tolist() == [0, 0]
    assert np.isnan(out["observed"]).all() and np.isnan(out["lo"]).all()
    assert out["agreed_probability"].tolist() == [0.62, 0.62]
    near = threshold_window(around_threshold, "score", 50, width=5)
    assert np.isnan(near["predicted"]).all()
    assert near["n"].tolist() == [2, 2, 2, 3]
    assert len(threshold_window(around_threshold.iloc[0:0], "score", 50)) == 0


# --------------------------------------------------------------------------- band x delay


@pytest.fixture
def worked() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lead": list("abcdefghi"),
            "score": [80.0, 90.0, 100.0, 60.0, 70.0, 20.0, 30.0, 40.0, 50.0],
            "handed_off": [True, True, True, True, True, True, False, True, True],
            "response_bh": [2.0, 3.9, 30.0, math.nan, math.nan, 10.0, math.nan, 4.0, 0.0],
            "sla_state": ["met", "met", "breached", "breached", "open", "met", "n/a", "met", "met"],
            "opportunity": [True, False, False, False, False, True, False, False, True],
            "probability": [0.4, 0.2, 0.5, 0.3, 0.3, 0.1, 0.1, 0.3, 0.3],
        }
    )


def test_conversion_by_band_and_delay_by_hand(worked: pd.DataFrame) -> None:
    # e (open: delay not known yet) and g (not handed off) are left out.
    # 0-49  / 4-24 bh : f (10 bh, opp), h (4 bh is in [4, 24)) -> 1 of 2; predicted (.1 + .3)/2
    # 50-100/ 0-4 bh  : a (opp), b, i (score 50, 0 bh, opp) -> 2 of 3; predicted (.4+.2+.3)/3
    # 50-100/ 24+ bh  : c (score 100 is in the closed top band) -> 0 of 1
    # 50-100/ not contacted: d (breached, never contacted) -> 0 of 1
    out = conversion_by_band_and_delay(
        worked, score_bands=(0, 50, 100), delay_edges_bh=(0, 4, 24, math.inf), p_col="probability"
    )
    assert list(out.columns) == BAND_DELAY_COLUMNS
    assert out["score_band"].tolist() == ["0-49"] * 4 + ["50-100"] * 4
    assert out["delay_band"].tolist() == ["0-4 bh", "4-24 bh", "24+ bh", "not contacted"] * 2
    assert out["n"].tolist() == [0, 2, 0, 0, 3, 0, 1, 1]
    assert out["opportunities"].tolist() == [0, 1, 0, 0, 2, 0, 0, 0]
    conv = out["conversion"].to_numpy()
    assert conv[[1, 4, 6, 7]].tolist() == pytest.approx([0.5, 2 / 3, 0.0, 0.0])
    assert np.isnan(conv[[0, 2, 3, 5]]).all()
    assert out.loc[1, "predicted"] == pytest.approx(0.2)
    assert out.loc[4, "predicted"] == pytest.approx(0.3)
    assert (out.loc[4, "lo"], out.loc[4, "hi"]) == pytest.approx(wilson_scipy(2, 3))
    assert out["n"].sum() == 7


def test_conversion_by_band_and_delay_default_bands(worked: pd.DataFrame) -> None:
    out = conversion_by_band_and_delay(worked)
    bands = out["score_band"].drop_duplicates().tolist()
    assert bands == [f"{lo}-{lo + 9}" for lo in range(0, 90, 10)] + ["90-100"]
    assert out["delay_band"].drop_duplicates().tolist() == [
        "0-4 bh",
        "4-24 bh",
        "24-72 bh",
        "72+ bh",
        "not contacted",
    ]
    cell = out.set_index(["score_band", "delay_band"])["n"]
    # b (90, 3.9 bh) and c (100, 30 bh) share the top band; a (80, 2 bh) is in 80-89
    assert cell[("90-100", "0-4 bh")] == 1
    assert cell[("90-100", "24-72 bh")] == 1
    assert cell[("80-89", "0-4 bh")] == 1
    assert cell[("50-59", "0-4 bh")] == 1
    assert out["n"].sum() == 7
    assert np.isnan(out["predicted"]).all()


def test_conversion_by_band_and_delay_drops_delays_beyond_finite_edges(
    worked: pd.DataFrame,
) -> None:
    # last edge 24, not infinite: c (30 bh) falls outside and is dropped, not "not contacted"
    out = conversion_by_band_and_delay(worked, score_bands=(0, 50, 100), delay_edges_bh=(0, 4, 24))
    cell = out.set_index(["score_band", "delay_band"])["n"]
    assert cell[("50-100", "not contacted")] == 1
    assert out["n"].sum() == 6


def test_conversion_by_band_and_delay_empty_table(worked: pd.DataFrame) -> None:
    out = conversion_by_band_and_delay(worked.iloc[0:0])
    assert len(out) == 0 and list(out.columns) == BAND_DELAY_COLUMNS


# --------------------------------------------------------------------------- drift


def test_psi_on_two_tiny_histograms_by_hand() -> None:
    # reference 0..9, bins=2: median 4.5 -> shares .5 / .5
    # recent 0 1 2 8: 3 below 4.5, 1 above -> .75 / .25
    # PSI = (.75 - .5) ln(.75/.5) + (.25 - .5) ln(.25/.5) = .25 * .405465 + .25 * .693147 = .274653
    drift = score_drift(range(10), [0, 1, 2, 8], bins=2)
    assert drift.psi == pytest.approx(0.274653, abs=1e-6)
    assert drift.reading == "major shift"
    assert (drift.n_reference, drift.n_recent) == (10, 4)
    # KS: at x = 2, F_ref = .3 and F_recent = .75 -> .45 (the largest gap)
    assert drift.ks == pytest.approx(0.45)
    hist = drift.histogram
    assert list(hist.columns) == ["bin", "lo", "hi", "share_reference", "share_recent"]
    assert hist["share_reference"].tolist() == pytest.approx([0.5, 0.5])
    assert hist["share_recent"].tolist() == pytest.approx([0.75, 0.25])
    assert hist["lo"].tolist() == [0.0, 4.5] and hist["hi"].tolist() == [4.5, 9.0]


def test_psi_floors_empty_bins_at_epsilon() -> None:
    # recent all below 4.5 -> shares 1 / 0, the 0 floored at 1e-4:
    # (1 - .5) ln 2 + (1e-4 - .5) ln(1e-4 / .5) = .346574 + (-.4999)(-8.517193) = 4.604319
    drift = score_drift(range(10), [0, 1, 2, 3], bins=2)
    assert drift.psi == pytest.approx(4.604319, abs=1e-6)
    assert score_drift(range(10), range(10)).psi == pytest.approx(0.0)


def test_psi_reading_thresholds() -> None:
    empty = pd.DataFrame()
    assert Drift(0.05, 0.0, 1, 1, empty).reading == "stable"
    assert Drift(0.1, 0.0, 1, 1, empty).reading == "moderate shift"
    assert Drift(0.25, 0.0, 1, 1, empty).reading == "moderate shift"
    assert Drift(0.3, 0.0, 1, 1, empty).reading == "major shift"
    assert Drift(None, None, 0, 0, empty).reading is None


def test_ks_statistic_matches_scipy() -> None:
    rng = np.random.default_rng(5)
    a = rng.normal(50, 15, 700)
    b = rng.normal(55, 12, 300)
    assert ks_statistic(a, b) == pytest.approx(ks_2samp(a, b).statistic, abs=1e-12)
    # integer scores: many ties between and within samples
    ia = rng.integers(0, 101, 500).astype(float)
    ib = rng.integers(10, 101, 250).astype(float)
    assert ks_statistic(ia, ib) == pytest.approx(ks_2samp(ia, ib).statistic, abs=1e-12)
    assert score_drift(ia, ib).ks == pytest.approx(ks_2samp(ia, ib).statistic, abs=1e-12)


def test_score_drift_merges_tied_edges_and_keeps_shares_summing_to_one() -> None:
    # reference with 80 % ties at 40. Deciles (linear interpolation at position 9q):
    # q = .1 ... .7 -> 40 (seven equal edges merged into one), q = .8 -> 40 + .2 * 20 = 44,
    # q = .9 -> 60 + .1 * 2 = 60.2. Bins: (< 40), [40, 44), [44, 60.2), [60.2, ...)
    reference = [40.0] * 8 + [60.0, 62.0]
    drift = score_drift(reference, [40.0, 70.0, math.nan], bins=10)
    hist = drift.histogram
    assert drift.n_recent == 2
    assert hist["lo"].tolist() == pytest.approx([40.0, 40.0, 44.0, 60.2])
    assert hist["share_reference"].tolist() == pytest.approx([0.0, 0.8, 0.1, 0.1])
    assert hist["share_recent"].tolist() == pytest.approx([0.0, 0.5, 0.0, 0.5])


def test_score_drift_degenerate_inputs() -> None:
    for ref, rec in (([], [1.0, 2.0]), ([1.0, 2.0], []), ([math.nan], [1.0])):
        drift = score_drift(ref, rec)
        assert drift.psi is None and drift.ks is None and drift.reading is None
        assert len(drift.histogram) == 0

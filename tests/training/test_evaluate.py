"""Evaluation metrics agree with hand computations, sklearn on its own, or an independent method."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    roc_auc_score,
)

from training.evaluate import (
    OTHER,
    classification_metrics,
    compare_table,
    cutoff_metrics,
    ece_equal_mass,
    lift_curve,
    plot_lift,
    plot_reliability,
    plot_roc,
    reliability_table,
    segment_metrics,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def calibrated() -> tuple[np.ndarray, np.ndarray]:
    """200k rows with y ~ Bernoulli(p): calibrated by construction."""
    rng = np.random.default_rng(20240601)
    p = rng.beta(1.5, 4.0, size=200_000)
    y = (rng.random(p.size) < p).astype(int)
    return y, p


@pytest.fixture(scope="module")
def small() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    p = rng.random(1_000)
    y = (rng.random(p.size) < p).astype(int)
    return y, p


# --------------------------------------------------------------------------- ECE


def test_ece_by_hand() -> None:
    # bins of 2: {0.1, 0.3} -> mean p 0.2, observed 0; {0.6, 0.9} -> mean p 0.75, observed 1
    # ECE = 0.5 * |0.2 - 0| + 0.5 * |0.75 - 1| = 0.1 + 0.125 = 0.225
    assert ece_equal_mass([0, 0, 1, 1], [0.1, 0.3, 0.6, 0.9], bins=2) == pytest.approx(0.225)


def test_ece_by_hand_unsorted_input_and_series() -> None:
    # same rows as above, shuffled, as pandas Series with a non-default index (position counts)
    y = pd.Series([1, 0, 1, 0], index=[9, 3, 5, 1])
    p = pd.Series([0.9, 0.3, 0.6, 0.1], index=[0, 1, 2, 3])
    assert ece_equal_mass(y, p, bins=2) == pytest.approx(0.225)


def test_ece_matches_independent_array_split(small) -> None:
    y, p = small
    order = np.argsort(p)
    gaps = [
        len(idx) / len(p) * abs(p[idx].mean() - y[idx].mean()) for idx in np.array_split(order, 10)
    ]
    assert ece_equal_mass(y, p, bins=10) == pytest.approx(sum(gaps), abs=1e-12)


def test_ece_calibrated_is_small_and_miscalibrated_is_large(calibrated) -> None:
    y, p = calibrated
    good = ece_equal_mass(y, p)
    bad = ece_equal_mass(y, p**0.5)
    assert good < 0.01
    assert bad > 0.15  # sqrt pushes every probability up by ~0.2 on this distribution
    assert bad > 10 * good


def test_ece_constant_weights_equal_unweighted(small) -> None:
    y, p = small
    unweighted = ece_equal_mass(y, p, bins=7)
    assert ece_equal_mass(y, p, bins=7, weights=np.full(len(y), 2.0)) == pytest.approx(
        unweighted, abs=1e-15
    )


def test_ece_weights_by_hand() -> None:
    # weights 3,1,1,3 (total 8): sorted midpoints 1.5, 3.5, 4.5, 6.5 -> bins (x 2/8) 0, 0, 1, 1
    # bin 0: mean p = (3*0.1 + 0.3) / 4 = 0.15, observed 0 -> gap 0.15, weight 4
    # bin 1: mean p = (0.6 + 3*0.9) / 4 = 0.825, observed 1 -> gap 0.175, weight 4
    # ECE = 0.5 * 0.15 + 0.5 * 0.175 = 0.1625
    got = ece_equal_mass([0, 0, 1, 1], [0.1, 0.3, 0.6, 0.9], bins=2, weights=[3, 1, 1, 3])
    assert got == pytest.approx(0.1625)


def test_ece_ties_are_deterministic() -> None:
    y = np.array([1, 0, 1, 0, 0, 1, 1, 0])
    p = np.array([0.5] * 8)
    # all tied: stable sort keeps input order -> bins {1,0,1,0} and {0,1,1,0}, both observed 0.5
    assert ece_equal_mass(y, p, bins=2) == pytest.approx(0.0)
    assert ece_equal_mass(y, p, bins=2) == ece_equal_mass(y, p, bins=2)


# --------------------------------------------------------------------------- reliability


def test_reliability_table_wilson_by_hand() -> None:
    # one bin with 10 rows and 3 positives, z = 1.959964 (z^2 = 3.841459):
    # denom = 1 + z^2/n = 1.3841459; centre = (0.3 + z^2/(2n)) / denom = 0.4920729 / 1.3841459 = 0.355505
    # half = z / denom * sqrt(0.3*0.7/10 + z^2/(4 n^2)) = 1.416006 * sqrt(0.021 + 0.0096036) = 0.247715
    # -> [0.107790, 0.603220] (the textbook Wilson interval for 3/10)
    y = [1, 0, 0, 1, 0, 0, 1, 0, 0, 0]
    p = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5]
    table = reliability_table(y, p, bins=1)
    assert list(table.columns) == ["bin", "n", "weight", "mean_pred", "observed", "lo", "hi"]
    row = table.iloc[0]
    assert row["n"] == 10
    assert row["weight"] == pytest.approx(10.0)
    assert row["mean_pred"] == pytest.approx(0.275)
    assert row["observed"] == pytest.approx(0.3)
    assert row["lo"] == pytest.approx(0.107790, abs=1e-5)
    assert row["hi"] == pytest.approx(0.603220, abs=1e-5)


def test_reliability_table_bins_agree_with_ece(small) -> None:
    y, p = small
    table = reliability_table(y, p, bins=10)
    assert len(table) == 10
    assert table["n"].sum() == len(y)
    assert (table["n"] == 100).all()
    assert table["mean_pred"].is_monotonic_increasing
    assert ((table["lo"] <= table["observed"]) & (table["observed"] <= table["hi"])).all()
    ece = (table["weight"] * (table["mean_pred"] - table["observed"]).abs()).sum() / len(y)
    assert ece == pytest.approx(ece_equal_mass(y, p, bins=10))


def test_reliability_table_wilson_uses_row_count_not_weight() -> None:
    y = [1, 0, 0, 1, 0, 0, 1, 0, 0, 0]
    p = np.linspace(0.05, 0.5, 10)
    plain = reliability_table(y, p, bins=1)
    doubled = reliability_table(y, p, bins=1, weights=np.full(10, 2.0))
    assert doubled["weight"].iloc[0] == pytest.approx(20.0)
    assert doubled["lo"].iloc[0] == pytest.approx(plain["lo"].iloc[0])
    assert doubled["hi"].iloc[0] == pytest.approx(plain["hi"].iloc[0])


# --------------------------------------------------------------------------- classification


def test_classification_metrics_agree_with_sklearn(small) -> None:
    y, p = small
    m = classification_metrics(y, p)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, p))
    assert m["pr_auc"] == pytest.approx(average_precision_score(y, p))
    assert m["brier"] == pytest.approx(brier_score_loss(y, p))
    assert m["log_loss"] == pytest.approx(log_loss(y, np.clip(p, 1e-6, 1 - 1e-6)))
    assert m["ece"] == pytest.approx(ece_equal_mass(y, p))
    assert m["n"] == len(y)
    assert m["positives"] == y.sum()
    assert m["base_rate"] == pytest.approx(y.mean())
    assert all(isinstance(v, float) for v in m.values())


def test_classification_metrics_weighted_agree_with_sklearn_and_repeated_rows(small) -> None:
    y, p = small
    w = np.random.default_rng(5).integers(1, 4, size=len(y))
    m = classification_metrics(y, p, weights=w)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, p, sample_weight=w))
    assert m["pr_auc"] == pytest.approx(average_precision_score(y, p, sample_weight=w))
    assert m["brier"] == pytest.approx(brier_score_loss(y, p, sample_weight=w))
    # independent: integer weights are the same as repeating rows
    yr, pr = np.repeat(y, w), np.repeat(p, w)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(yr, pr))
    assert m["pr_auc"] == pytest.approx(average_precision_score(yr, pr))
    assert m["brier"] == pytest.approx(np.mean((pr - yr) ** 2))
    assert m["log_loss"] == pytest.approx(-np.mean(yr * np.log(pr) + (1 - yr) * np.log(1 - pr)))
    assert m["base_rate"] == pytest.approx(yr.mean())
    assert m["n"] == len(y)  # row count, not weight


def test_classification_metrics_single_class_gives_nan_auc() -> None:
    p = np.array([0.1, 0.4, 0.2, 0.8])
    for label in (0, 1):
        y = np.full(4, label)
        m = classification_metrics(y, p)
        assert math.isnan(m["roc_auc"])
        assert math.isnan(m["pr_auc"])
        assert m["brier"] == pytest.approx(np.mean((p - label) ** 2))
        assert np.isfinite(m["log_loss"])
        assert m["positives"] == 4 * label


def test_log_loss_clips_certain_mistakes() -> None:
    m = classification_metrics([1, 0], [0.0, 0.0])
    # row 1: -log(1e-6) = 13.8155; row 2: -log(1 - 1e-6) ~ 1e-6 -> mean 6.90776
    assert m["log_loss"] == pytest.approx(-math.log(1e-6) / 2, rel=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"y": [0, 1, 1], "p": [0.1, 0.2]}, "p"),
        ({"y": [0, 1], "p": [0.1, 0.2], "weights": [1.0]}, "weights"),
    ],
)
def test_length_mismatch_names_the_argument(kwargs, name) -> None:
    with pytest.raises(ValueError, match=f"^{name} has"):
        classification_metrics(**kwargs)


def test_invalid_inputs_raise() -> None:
    with pytest.raises(ValueError, match="p must be probabilities"):
        ece_equal_mass([0, 1], [0.2, 1.2])
    with pytest.raises(ValueError, match="p must be probabilities"):
        ece_equal_mass([0, 1], [0.2, float("nan")])
    with pytest.raises(ValueError, match="y must contain only 0 and 1"):
        ece_equal_mass([0, 2], [0.2, 0.3])
    with pytest.raises(ValueError, match="score has 2 rows"):
        cutoff_metrics([0, 1, 1], [0.1, 0.2, 0.3], [1, 2], {"a": 1})
    with pytest.raises(ValueError, match="segments has 2 rows"):
        segment_metrics([0, 1, 1], [0.1, 0.2, 0.3], pd.DataFrame({"s": ["a", "b"]}))
    with pytest.raises(ValueError, match="weights must be finite and non-negative"):
        ece_equal_mass([0, 1], [0.2, 0.3], weights=[1, -1])


# --------------------------------------------------------------------------- cutoffs


def test_cutoff_metrics_by_hand() -> None:
    y = [1, 1, 0, 1, 0, 0, 1, 0, 0, 0]  # 4 positives of 10 -> base rate 0.4
    p = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05]
    score = [90, 80, 76, 70, 65, 60, 55, 50, 40, 30]
    # hot >= 75: rows 90, 80, 76 -> y 1,1,0: share 0.3, precision 2/3, recall 2/4, lift (2/3)/0.4 = 5/3,
    #            expected = (0.9+0.8+0.7)/3 = 0.8
    # warm >= 62: + 70, 65 -> y 1,1,0,1,0: share 0.5, precision 3/5, recall 3/4, lift 1.5, expected 0.7
    # handoff >= 50 (inclusive): + 60, 55, 50 -> 8 rows, 4 positives: share 0.8, precision 0.5, recall 1,
    #            lift 1.25, expected = 4.4/8 = 0.55
    # never >= 95: nobody -> share 0, precision NaN, recall 0, lift NaN, expected NaN
    cutoffs = {"hot": 75, "warm": 62, "handoff": 50, "never": 95}
    t = cutoff_metrics(y, p, score, cutoffs)
    assert list(t.columns) == [
        "cutoff_name",
        "cutoff",
        "share_selected",
        "precision",
        "recall",
        "lift",
        "expected_precision",
    ]
    assert list(t["cutoff_name"]) == ["hot", "warm", "handoff", "never"]
    expected = pd.DataFrame(
        {
            "share_selected": [0.3, 0.5, 0.8, 0.0],
            "precision": [2 / 3, 0.6, 0.5, np.nan],
            "recall": [0.5, 0.75, 1.0, 0.0],
            "lift": [5 / 3, 1.5, 1.25, np.nan],
            "expected_precision": [0.8, 0.7, 0.55, np.nan],
        }
    )
    pd.testing.assert_frame_equal(t[expected.columns], expected, check_exact=False, rtol=1e-12)


def test_cutoff_metrics_weighted_equals_repeated_rows() -> None:
    rng = np.random.default_rng(11)
    p = rng.random(300)
    y = (rng.random(300) < p).astype(int)
    score = np.round(p * 100)
    w = rng.integers(1, 5, size=300)
    cutoffs = {"hot": 75, "warm": 62, "cold": 50}
    weighted = cutoff_metrics(y, p, score, cutoffs, weights=w)
    repeated = cutoff_metrics(np.repeat(y, w), np.repeat(p, w), np.repeat(score, w), cutoffs)
    pd.testing.assert_frame_equal(weighted, repeated, check_exact=False, rtol=1e-12)


# --------------------------------------------------------------------------- segments


def test_segment_metrics_other_grouping_and_auc() -> None:
    rng = np.random.default_rng(17)
    # source: a 120, b 80, c 30, d 25 -> a, b, (other) = c + d = 55 >= 50
    # team:   x 200, y 40, z 15        -> x; y + z = 55 >= 50 -> (other)
    # band:   big 230, small 25        -> big; (other) = 25 < 50 -> dropped
    source = np.array(["a"] * 120 + ["b"] * 80 + ["c"] * 30 + ["d"] * 25)
    team = np.array(["x"] * 200 + ["y"] * 40 + ["z"] * 15)
    band = np.array(["big"] * 230 + ["small"] * 25)
    perm = rng.permutation(255)
    segments = pd.DataFrame({"source": source[perm], "team": team, "band": band[perm]})
    segments.index = np.arange(1000, 1255)  # matched by position, not index
    p = rng.random(255)
    y = (rng.random(255) < p).astype(int)

    t = segment_metrics(y, p, segments, min_n=50)
    assert list(t.columns) == [
        "segment",
        "value",
        "n",
        "positives",
        "roc_auc",
        "ece",
        "mean_pred",
        "observed",
    ]
    got = [(r.segment, r.value, r.n) for r in t.itertuples()]
    assert got == [
        ("source", "a", 120),
        ("source", "b", 80),
        ("source", OTHER, 55),
        ("team", "x", 200),
        ("team", OTHER, 55),
        ("band", "big", 230),
    ]
    masks = {
        ("source", "a"): segments["source"].to_numpy() == "a",
        ("source", OTHER): np.isin(segments["source"].to_numpy(), ["c", "d"]),
        ("team", OTHER): np.isin(team, ["y", "z"]),
        ("band", "big"): segments["band"].to_numpy() == "big",
    }
    for (seg, value), mask in masks.items():
        row = t[(t["segment"] == seg) & (t["value"] == value)].iloc[0]
        assert row["roc_auc"] == pytest.approx(roc_auc_score(y[mask], p[mask]))
        assert row["ece"] == pytest.approx(ece_equal_mass(y[mask], p[mask]))
        assert row["positives"] == y[mask].sum()
        assert row["mean_pred"] == pytest.approx(p[mask].mean())
        assert row["observed"] == pytest.approx(y[mask].mean())


def test_segment_metrics_single_class_segment_and_missing_values() -> None:
    y = np.array([1, 0] * 30 + [0] * 60)
    p = np.linspace(0.01, 0.99, 120)
    segments = pd.DataFrame({"sector": ["retail"] * 60 + [None] * 60})
    t = segment_metrics(y, p, segments, min_n=50)
    assert list(t["value"]) == ["(missing)", "retail"]  # tie on n=60: ordered by text
    assert math.isnan(t.loc[t["value"] == "(missing)", "roc_auc"].iloc[0])
    assert t.loc[t["value"] == "retail", "roc_auc"].iloc[0] == pytest.approx(
        roc_auc_score(y[:60], p[:60])
    )


def test_segment_metrics_weighted_auc_matches_sklearn() -> None:
    rng = np.random.default_rng(23)
    p = rng.random(200)
    y = (rng.random(200) < p).astype(int)
    w = rng.random(200) + 0.5
    seg = np.where(np.arange(200) < 120, "u", "v")
    t = segment_metrics(y, p, pd.DataFrame({"s": seg}), weights=w)
    for value in ("u", "v"):
        mask = seg == value
        row = t[t["value"] == value].iloc[0]
        assert row["roc_auc"] == pytest.approx(
            roc_auc_score(y[mask], p[mask], sample_weight=w[mask])
        )
        assert row["observed"] == pytest.approx(np.average(y[mask], weights=w[mask]))


# --------------------------------------------------------------------------- lift


def test_lift_curve_ends_at_one(small) -> None:
    y, p = small
    curve = lift_curve(y, p, points=20)
    assert list(curve.columns) == ["share", "lift", "cumulative_recall"]
    assert len(curve) == 20
    last = curve.iloc[-1]
    assert last["share"] == 1.0
    assert last["lift"] == pytest.approx(1.0)
    assert last["cumulative_recall"] == pytest.approx(1.0)
    assert curve["cumulative_recall"].is_monotonic_increasing
    assert curve["lift"].iloc[0] > 1.5  # p is informative on this data


def test_lift_curve_by_hand() -> None:
    y = [0, 1, 0, 0, 1, 0, 1, 0, 1, 0]
    p = [0.1, 0.95, 0.2, 0.05, 0.8, 0.3, 0.85, 0.4, 0.6, 0.9]
    # by p descending: 0.95 (y1), 0.9 (y0), 0.85 (y1), 0.8 (y1), 0.6 (y1), 0.4, 0.3, 0.2, 0.1, 0.05 (all y0)
    # 4 positives of 10 -> base rate 0.4; points=4 -> top ceil(10 k / 4) = 3, 5, 8, 10 rows
    # share 0.25 -> top 3: 2 positives: lift (2/3)/0.4 = 5/3, recall 0.5
    # share 0.5  -> top 5: 4 positives: lift (4/5)/0.4 = 2.0, recall 1
    # share 0.75 -> top 8: 4 positives: lift (4/8)/0.4 = 1.25, recall 1
    # share 1.0  -> all:   lift 1, recall 1
    curve = lift_curve(y, p, points=4)
    np.testing.assert_allclose(curve["share"], [0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(curve["lift"], [5 / 3, 2.0, 1.25, 1.0])
    np.testing.assert_allclose(curve["cumulative_recall"], [0.5, 1.0, 1.0, 1.0])


# --------------------------------------------------------------------------- compare table


def test_compare_table_bolds_best() -> None:
    results = {
        "scorecard": {
            "roc_auc": 0.70,
            "pr_auc": 0.30,
            "brier": 0.20,
            "log_loss": 0.60,
            "ece": 0.08,
        },
        "logistic": {"roc_auc": 0.80, "pr_auc": 0.45, "brier": 0.15, "log_loss": 0.45, "ece": 0.01},
        "gbm": {"roc_auc": 0.82, "pr_auc": 0.44, "brier": 0.15, "log_loss": 0.47, "ece": 0.02},
    }
    lines = compare_table(results).strip().splitlines()
    assert lines[0] == "| model | roc_auc | pr_auc | brier | log_loss | ece |"
    assert lines[1] == "|---|---:|---:|---:|---:|---:|"
    rows = {ln.split("|")[1].strip(): [c.strip() for c in ln.split("|")[2:-1]] for ln in lines[2:]}
    assert rows["scorecard"] == ["0.7000", "0.3000", "0.2000", "0.6000", "0.0800"]
    # auc: max (gbm); pr_auc: max (logistic); brier: min, tied (logistic and gbm); log_loss, ece: min (logistic)
    assert rows["logistic"] == ["0.8000", "**0.4500**", "**0.1500**", "**0.4500**", "**0.0100**"]
    assert rows["gbm"] == ["**0.8200**", "0.4400", "**0.1500**", "0.4700", "0.0200"]


def test_compare_table_nan_never_wins_and_custom_keys() -> None:
    results = {"a": {"roc_auc": float("nan"), "ece": 0.05}, "b": {"roc_auc": 0.6, "ece": 0.07}}
    lines = compare_table(results, keys=("roc_auc", "ece")).strip().splitlines()
    assert lines[2] == "| a | n/a | **0.0500** |"
    assert lines[3] == "| b | **0.6000** | 0.0700 |"


# --------------------------------------------------------------------------- plots


def _assert_png(path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 5_000


def test_plots_write_png(tmp_path, small, calibrated) -> None:
    y, p = small
    yc, pc = calibrated[0][:5_000], calibrated[1][:5_000]
    tables = {"model": reliability_table(y, p), "sqrt": reliability_table(yc, pc**0.5)}
    out = plot_reliability(tables, tmp_path / "nested" / "reliability.png", title="Reliability")
    assert out == tmp_path / "nested" / "reliability.png"
    _assert_png(out)

    out = plot_roc({"model": (y, p), "sqrt": (yc, pc**0.5)}, tmp_path / "roc.png", title="ROC")
    _assert_png(out)

    curves = {"model": lift_curve(y, p), "sqrt": lift_curve(yc, pc**0.5)}
    out = plot_lift(curves, str(tmp_path / "lift.png"), title="Lift")
    assert out == tmp_path / "lift.png"
    _assert_png(out)


def test_plotting_does_not_switch_global_backend(tmp_path, small) -> None:
    import matplotlib

    before = matplotlib.get_backend()
    y, p = small
    plot_reliability({"m": reliability_table(y, p)}, tmp_path / "r.png", title="t")
    assert matplotlib.get_backend() == before

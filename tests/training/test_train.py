"""Training stage: calibration, exact explanations, baselines, another company's YAML-only CSV."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from feature_defs.features import load_feature_set
from training.data import TrainingData, from_csv, from_frames
from training.demo_history import generate
from training.gate import champion_checks, run_gate
from training.models import CANDIDATES, MarginCalibrator
from training.score import score_leads
from training.split import time_split
from training.train import train_bundle, training_weights


@pytest.fixture(scope="module")
def demo_data(contract) -> tuple[TrainingData, pd.DataFrame]:
    h = generate(contract, seed=5, months=14, n_leads=9000)
    data = from_frames(h.leads, h.events, contract.fields, contract.policy, origin="demo")
    return data, h.ground_truth


@pytest.fixture(scope="module")
def result(contract, demo_data):
    data, truth = demo_data
    return train_bundle(data, contract.feature_set, policy=contract.policy, ground_truth=truth)


def test_calibrator_method_and_monotonicity() -> None:
    rng = np.random.default_rng(0)
    m = rng.normal(size=3000)
    y = (rng.random(3000) < 1 / (1 + np.exp(-(2 * m - 1)))).astype(int)
    iso = MarginCalibrator().fit(m, y)
    sig = MarginCalibrator().fit(m[:999], y[:999])
    assert iso.method_ == "isotonic" and sig.method_ == "sigmoid"
    # centred isotonic: strictly increasing between its first and last block centres
    grid = np.linspace(iso.x_[0], iso.x_[-1], 500)
    assert np.all(np.diff(iso.predict(grid)) > 0)
    assert len(iso.x_) > 10
    assert roc_auc_score(y, iso.predict(m)) == pytest.approx(roc_auc_score(y, m), abs=2e-3)
    # sigmoid recovers the slope and intercept used to draw the data
    assert sig.a_ == pytest.approx(2.0, abs=0.35) and sig.b_ == pytest.approx(-1.0, abs=0.25)


def test_time_split_puts_the_latest_months_in_test() -> None:
    t = pd.Series(pd.date_range("2025-01-01", "2026-01-01", freq="D", tz="UTC"))
    s = time_split(t, np.arange(len(t)) % 2)
    assert t[s.test].min() > t[s.calibrate].max() > t[s.train].max()
    assert s.boundaries["test_from"] == "2025-10-01"
    assert not (s.train & s.test).any() and (s.train | s.calibrate | s.test).all()


def test_weightings() -> None:
    w = np.array([1.0, 20.0, 1.0])
    assert training_weights(w, "none").tolist() == [1, 1, 1]
    assert training_weights(w, "clipped").tolist() == [1, 5, 1]
    assert training_weights(w, "ipw").tolist() == [1, 20, 1]
    with pytest.raises(ValueError, match="weighting must be one of"):
        training_weights(w, "magic")


def test_both_heads_beat_the_scorecard_and_report_everything(result) -> None:
    for head in ("accepted", "opportunity"):
        rep = result.heads[head]
        assert rep.chosen in CANDIDATES
        assert rep.split.kind == "time"
        names = set(rep.test)
        assert {"scorecard", "naive_bayes", f"model ({rep.chosen})"} <= names
        model = rep.test[f"model ({rep.chosen})"]
        for k in ("roc_auc", "pr_auc", "brier", "log_loss", "ece"):
            assert np.isfinite(model[k])
        assert model["roc_auc"] > rep.test["scorecard"]["roc_auc"]
        assert set(rep.cutoffs["cutoff_name"]) == {"handoff", "hot", "warm", "cold"}
        assert {"source", "employee_band", "sector", "team"} <= set(rep.segments["segment"])
        for frame in (rep.cutoffs, rep.segments):  # every metric for the baselines too
            assert {"scorecard", "naive_bayes", f"model ({rep.chosen})"} <= set(frame["model"])
        assert rep.truth_auc  # the demo's ground truth is compared on the same leads
    assert result.heads["accepted"].calibration_method in ("isotonic", "sigmoid")
    assert set(result.importance.columns) == {"accepted", "opportunity"}
    ipw = result.ipw_comparison
    assert len(ipw) == 8 and ipw["training"].str.contains(r"\(ours\)").sum() == 2


def test_ipw_comparison_beats_naive(result) -> None:
    ipw = result.ipw_comparison.set_index(["head", "training"])
    for head in ("accepted", "opportunity"):
        naive = ipw.loc[(head, "naive (unknown = negative)")]
        ours = ipw.xs(head).loc[lambda d: d.index.str.contains("ours")].iloc[0]
        # counting never-worked leads as negatives shrinks every probability: ours is closer
        assert ours["mean_abs_error"] < naive["mean_abs_error"]
        assert abs(ours["mean_predicted"] - ours["mean_true"]) < abs(
            naive["mean_predicted"] - naive["mean_true"]
        )


_BY_KIND: dict = {}


def _bundle_of_kind(contract, demo_data, kind):  # noqa: ANN001, ANN202
    if kind not in _BY_KIND:
        data, _ = demo_data
        res = train_bundle(data, contract.feature_set, policy=contract.policy, candidates=(kind,))
        _BY_KIND[kind] = res.bundle
    return _BY_KIND[kind]


@pytest.mark.parametrize("kind", CANDIDATES)
def test_explanations_are_exact(contract, demo_data, kind) -> None:
    data, _ = demo_data
    b = _bundle_of_kind(contract, demo_data, kind)
    X = b.featurizer.transform(data.leads.iloc[:200])
    for head, h in b.heads.items():
        base, contrib, _ = (
            h.explainer.explain(h.pipeline, X)[0],
            *h.explainer.explain(h.pipeline, X)[1:],
            None,
        )
        np.testing.assert_allclose(base + contrib.sum(axis=1), h.margin(X), atol=1e-6)
        assert list(contrib.columns) == [f.name for f in contract.feature_set.features]
        base_score, _, points = b.explain_features(X, head=head)
        np.testing.assert_allclose(base_score + points.sum(axis=1), 100 * h.proba(X), atol=1e-6)


@pytest.mark.parametrize("kind", CANDIDATES)
def test_serving_fast_path_matches_sklearn_and_shap(contract, demo_data, kind) -> None:
    """The array fast path (design matrix, margin, linear SHAP, reasons) changes no number."""
    import shap

    data, _ = demo_data
    b = _bundle_of_kind(contract, demo_data, kind)
    typed = data.leads.iloc[:300].reset_index(drop=True)
    X = b.featurizer.transform(typed)
    feats, Xts, frame = b.designs(typed)
    pd.testing.assert_frame_equal(frame(), X, check_exact=True)
    for name, h in b.heads.items():
        prep = np.asarray(h.pipeline.named_steps["prep"].transform(X), dtype=float)
        assert h._fast() is not None and h.__dict__.get("_checked")
        np.testing.assert_array_equal(Xts[name], prep)
        np.testing.assert_array_equal(h.margin_design(Xts[name]), h.margin(X))
        base, contrib = h.explainer.explain_design(h.pipeline, Xts[name])
        ref = h.explainer.explain(h.pipeline, X)[1]
        np.testing.assert_array_equal(contrib, ref.to_numpy())
        if kind != "hgb":  # the direct linear formula is shap.LinearExplainer's, to 1e-9
            ex = shap.LinearExplainer(
                h.pipeline.named_steps["clf"], shap.maskers.Independent(h.explainer.background)
            )
            values = np.asarray(ex.shap_values(prep), dtype=float)
            cols = np.asarray(h.explainer.column_features)
            for j, feat in enumerate(h.explainer.features):
                np.testing.assert_allclose(
                    contrib[:, j], values[:, cols == feat].sum(axis=1), rtol=0, atol=1e-9
                )
            assert abs(base - float(np.ravel(ex.expected_value)[-1])) < 1e-9
    out = b.predict_designs(Xts)
    ref_pred = b.predict_features(X)
    for col in ref_pred.columns:
        np.testing.assert_array_equal(out[col], ref_pred[col].to_numpy())
    assert b.reasons_design(typed, feats, Xts[b.score_head]) == b.reasons(typed, X)
    one = score_leads(b, typed.iloc[[7]].reset_index(drop=True), contract.policy)
    many = score_leads(b, typed, contract.policy)
    assert one["reasons"].iloc[0] == many["reasons"].iloc[7]
    np.testing.assert_allclose(one["score"].iloc[0], many["score"].iloc[7], rtol=0, atol=1e-9)


def test_score_leads_applies_the_policy(contract, result, demo_data) -> None:
    data, _ = demo_data
    typed = data.leads.iloc[:300].reset_index(drop=True)
    out = score_leads(result.bundle, typed, contract.policy)
    assert list(out.columns[:4]) == ["lead_id", "p_accepted", "p_opportunity", "score"]
    pol = contract.policy
    assert (out.loc[out["handoff"], "score"] >= pol.handoff_threshold).all()
    assert out.loc[out["excluded"].notna(), "handoff"].eq(False).all()
    assert out.loc[~out["handoff"], "tier"].isna().all()
    assert out.loc[out["handoff"], "due_at"].notna().all()
    assert out["reason_1"].str.contains(r"[+-]\d+ pts$").all()


def test_gate_catches_a_worse_model(contract, result, demo_data) -> None:
    data, _ = demo_data
    shuffled = data.labels.copy()
    rng = np.random.default_rng(1)
    for head in ("accepted", "opportunity"):
        shuffled[head] = rng.permutation(shuffled[head].to_numpy())
    bad_data = TrainingData(
        leads=data.leads,
        labels=shuffled,
        heads=data.heads,
        created_at=data.created_at,
        origin="shuffled",
    )
    bad = train_bundle(
        bad_data, contract.feature_set, policy=contract.policy, candidates=("logreg_onehot",)
    )
    checks = champion_checks(result, bad.bundle)  # the good model against a bad champion
    assert all(c.passed for c in checks)
    gate = run_gate(bad, result.bundle, threshold=contract.policy.handoff_threshold)
    assert not gate.passed and not gate.promote
    failed = [c.name for c in gate.checks if not c.passed]
    assert any("no worse than champion" in n for n in failed)
    assert run_gate(bad, result.bundle, threshold=50, force=True).promote


ACME_FIELDS = """name: acme
version: 1
id_field: ref
created_at_field: null
fields:
  - {name: ref, dtype: string, required: true, known_at: creation, description: CRM key}
  - {name: channel, dtype: category, required: true, known_at: creation,
     description: channel, allowed: [web, event, phone, referral]}
  - {name: headcount, dtype: integer, known_at: creation, description: employees,
     range: {min: 0}}
  - {name: trial_user, dtype: boolean, known_at: creation, description: on a trial}
  - {name: title, dtype: string, known_at: creation, description: job title}
  - {name: owner, dtype: string, known_at: after_contact, description: sales owner}
"""
ACME_FEATURES = """name: acme_scoring
version: 1
fields: fields.yaml
features:
  - {name: channel, from: channel, kind: categorical, min_count: 5, description: Channel}
  - {name: log_headcount, from: headcount, kind: numeric, clip: [0, 5000], log: true,
     description: Company size (log)}
  - {name: trial, from: trial_user, kind: boolean, description: On a trial}
  - {name: finance_title, from: title, kind: keyword_flag, keywords: [cfo, finance],
     description: Finance title}
behaviour:
  invariant_fields: [ref]
  direction:
    - {field: channel, higher: referral, lower: web}
"""
ACME_LABELS = """accepted: {column: sql, positive: ["yes"]}
"""


def _acme(tmp_path, n: int = 1500, seed: int = 0):
    rng = np.random.default_rng(seed)
    channel = rng.choice(["web", "event", "phone", "referral"], n)
    head = rng.integers(1, 3000, n)
    trial = rng.random(n) < 0.3
    title = rng.choice(["CFO", "Engineer", "Finance manager", "Intern"], n)
    z = (
        -1
        + 1.5 * (channel == "referral")
        + 0.5 * (channel == "event")
        + 0.4 * np.log1p(head) / 4
        + 1.0 * trial
        + 0.8 * np.isin(title, ["CFO", "Finance manager"])
    )
    y = rng.random(n) < 1 / (1 + np.exp(-z))
    df = pd.DataFrame(
        {
            "ref": [f"A{i}" for i in range(n)],
            "channel": channel,
            "headcount": head,
            "trial_user": np.where(trial, "yes", "no"),
            "title": title,
            "owner": "someone",
            "sql": np.where(y, "yes", "no"),
        }
    )
    (tmp_path / "fields.yaml").write_text(ACME_FIELDS)
    (tmp_path / "features.yaml").write_text(ACME_FEATURES)
    (tmp_path / "labels.yaml").write_text(ACME_LABELS)
    df.to_csv(tmp_path / "acme.csv", index=False)
    return df


def test_another_company_trains_scores_and_explains_from_yaml(tmp_path, contract) -> None:
    df = _acme(tmp_path)
    fs = load_feature_set(tmp_path / "features.yaml")
    data = from_csv(tmp_path / "acme.csv", fs, tmp_path / "labels.yaml")
    assert data.created_at is None and data.heads == ["accepted"]
    with pytest.warns(UserWarning, match="no timestamps: falling back to a stratified random"):
        res = train_bundle(data, fs, policy=None)
    rep = res.heads["accepted"]
    assert rep.split.kind == "random"
    assert rep.test[f"model ({rep.chosen})"]["roc_auc"] > 0.65
    typed = fs.fields.coerce(df[["ref", "channel", "headcount", "trial_user", "title"]].iloc[:50])
    out = score_leads(res.bundle, typed, contract.policy, apply_exclusions=False)
    assert out["due_at"].isna().all()  # no timestamps, no deadline
    assert out["reason_1"].notna().all()
    referral = out.loc[typed["channel"].eq("referral").to_numpy(), "score"].mean()
    web = out.loc[typed["channel"].eq("web").to_numpy(), "score"].mean()
    assert referral > web


def test_label_spec_errors(tmp_path) -> None:
    from feature_defs.errors import ContractError

    _acme(tmp_path)
    fs = load_feature_set(tmp_path / "features.yaml")
    (tmp_path / "bad.yaml").write_text("accepted: {column: nope}\n")
    with pytest.raises(ContractError, match="column 'nope' is not in acme.csv"):
        from_csv(tmp_path / "acme.csv", fs, tmp_path / "bad.yaml")
    (tmp_path / "bad2.yaml").write_text("weight: w\n")
    with pytest.raises(ContractError, match="name at least one head"):
        from_csv(tmp_path / "acme.csv", fs, tmp_path / "bad2.yaml")


# ------------------------------------------- score_leads' fast paths = the general definitions


def _reasons_reference(b, typed, X, top=3):  # noqa: ANN001, ANN202
    """Top reasons straight from ``explain_features`` (sklearn transform, SHAP, points)."""
    from training.bundle import _shown_value

    _, contrib, points = b.explain_features(X)
    fs = b.featurizer.feature_set
    desc = {f.name: f.description for f in fs.features}
    source = {f.name: f.source for f in fs.features}
    out = []
    for i in range(len(X)):
        prow, crow = points.iloc[i], contrib.iloc[i]
        order = np.argsort(-np.abs(prow.to_numpy()), kind="stable")[:top]
        items = []
        for k in order:
            feat = prow.index[k]
            value = _shown_value(typed[source[feat]].array[i], X[feat].iloc[i])
            pts = float(prow.iloc[k])
            items.append(
                {
                    "feature": feat,
                    "value": value,
                    "points": round(pts, 2),
                    "margin": float(crow.iloc[k]),
                    "label": f"{desc[feat]}: {value} {pts:+.0f} pts",
                }
            )
        out.append(items)
    return out


def _score_leads_reference(b, typed, policy, top=3):  # noqa: ANN001, ANN202
    """``score_leads`` through the general paths only: sklearn features and heads, pandas
    conditions, ``due_at``'s grouping, one column assignment after another."""
    from feature_defs.sla import assign_tier, due_at, is_handoff

    X = b.featurizer.transform(typed)
    out = b.predict_features(X)
    excluded = np.full(len(typed), None, dtype=object)
    for rule in policy.exclusions:
        excluded[rule.when.evaluate_general(typed) & (excluded == None)] = rule.reason  # noqa: E711
    handoff = is_handoff(out["score"], excluded, policy)
    tier = np.where(handoff, assign_tier(out["score"], policy), None)
    src = (
        typed[policy.source_field] if policy.source_field in typed.columns else [None] * len(typed)
    )
    due = due_at(typed["created_at"], list(tier), list(src), policy).to_numpy()
    result = pd.DataFrame(
        {
            "lead_id": typed["lead_id"].to_numpy(),
            **{c: out[c].to_numpy() for c in out.columns},
            "handoff": handoff,
            "excluded": excluded,
            "tier": tier,
            "due_at": due,
        }
    )
    reasons = _reasons_reference(b, typed, X, top=top)
    result["reasons"] = reasons
    for k in range(top):
        result[f"reason_{k + 1}"] = [r[k]["label"] if len(r) > k else None for r in reasons]
    return result


def test_score_leads_equals_its_general_definition(contract, result, demo_data) -> None:
    data, _ = demo_data
    typed = data.leads.iloc[:400].reset_index(drop=True)
    b, pol = result.bundle, contract.policy
    ref = _score_leads_reference(b, typed, pol)
    got = score_leads(b, typed, pol)
    assert got["handoff"].any() and got["excluded"].notna().any() and got["tier"].nunique() == 3
    pd.testing.assert_frame_equal(got, ref, check_exact=True)
    assert list(got.dtypes) == list(ref.dtypes)
    # one lead at a time (the API): the small-batch paths of exclusions and due times
    for i in [*range(0, 400, 23), *np.flatnonzero(got["handoff"].to_numpy())[:12].tolist()]:
        one = typed.iloc[[i]].reset_index(drop=True)
        pd.testing.assert_frame_equal(
            score_leads(b, one, pol), _score_leads_reference(b, one, pol), check_exact=True
        )


def test_scoring_typed_columns_equals_scoring_the_frame(contract, result) -> None:
    """The API scores JSON bodies typed as columns (``coerce_records``, no DataFrame): each
    record, edge cases included, scores exactly as its ``FieldSet.coerce`` frame does."""
    from feature_defs.typed_leads import TypedLeads
    from training.score import coerce_records

    b, pol = result.bundle, contract.policy
    records = _records(contract)
    for rec in records:
        typed = coerce_records(b.fields, [rec])
        assert isinstance(typed, TypedLeads) and len(typed) == 1
        frame = b.fields.coerce(pd.DataFrame.from_records([rec], index=pd.RangeIndex(1)))
        ref = _score_leads_reference(b, frame, pol)
        pd.testing.assert_frame_equal(score_leads(b, typed, pol), ref, check_exact=True)
    many = coerce_records(b.fields, records)
    assert len(many) == len(records)
    frame = b.fields.coerce(pd.DataFrame.from_records(records, index=pd.RangeIndex(len(records))))
    got = score_leads(b, many, pol)
    pd.testing.assert_frame_equal(got, _score_leads_reference(b, frame, pol), check_exact=True)
    assert got["handoff"].any() and got["excluded"].notna().any()


def test_due_at_for_a_few_leads_equals_the_grouped_path(contract) -> None:
    from feature_defs.sla import due_at
    from training.score import _due_at

    pol = contract.policy
    rng = np.random.default_rng(1)
    created = pd.Series(
        pd.to_datetime("2026-11-16T06:00Z")
        + pd.to_timedelta(rng.integers(0, 60 * 24 * 50, 30), unit="min")
    )
    created[3] = pd.NaT  # no tier for it below
    tiers = [[t.name for t in pol.tiers][i % 3] for i in range(30)]
    tiers[3] = tiers[7] = None
    sources = [["demo_request", "webinar", "partner_referral", None][i % 4] for i in range(30)]
    for n in (1, 2, 30):
        got = _due_at(created[:n], tiers[:n], sources[:n], pol)
        ref = due_at(created[:n], tiers[:n], sources[:n], pol).to_numpy()
        assert got.dtype == ref.dtype == object and len(got) == len(ref) == n
        for a, e in zip(got, ref, strict=True):
            assert type(a) is type(e)
            if e is not pd.NaT:
                assert a == e and a.unit == e.unit and a.tz == e.tz


def _records(contract) -> list[dict]:
    """Leads as the API receives them (JSON values, absent fields left out), and odd values."""
    import json

    h = generate(contract, seed=9, months=2, n_leads=300)
    rows = json.loads(h.leads.head(120).to_json(orient="records", date_format="iso"))
    out = [{k: v for k, v in r.items() if v is not None} for r in rows]
    base = out[0]
    for change in [
        {"page_views": 12},
        {"page_views": 12.0},
        {"page_views": "12"},
        {"page_views": None},
        {"is_existing_customer": "yes"},
        {"is_existing_customer": 1},
        {"is_existing_customer": 0.0},
        {"campaign": 3},
        {"campaign": 3.5},
        {"campaign": True},
        {"campaign": "  spring  "},
        {"campaign": float("nan")},
        {"created_at": "2026-11-20T16:00:00.123456789+01:00"},
        {"lead_id": 123},
    ]:
        out.append({**base, **change})
    return out


def test_coerce_records_of_one_lead_equals_the_dataframe_path(contract) -> None:
    from feature_defs.errors import ContractError
    from training.score import coerce_records

    fields = contract.fields
    for rec in _records(contract):
        ref = fields.coerce(pd.DataFrame.from_records([rec], index=pd.RangeIndex(1)))
        got = coerce_records(fields, [rec]).frame()
        pd.testing.assert_frame_equal(got, ref, check_exact=True)
        assert list(got.dtypes) == list(ref.dtypes)
    base = _records(contract)[0]
    for bad in [
        {**base, "source": "fax"},
        {**base, "colour": "red", "page_views": -1},
        {**base, "created_at": "2026-11-20 16:00"},
        {k: v for k, v in base.items() if k != "employee_band"},
        {**base, "page_views": 2**63},
        {**base, "page_views": 2**80},
        {**base, "page_views": [1]},
        {},
    ]:
        with pytest.raises(ContractError) as ref_err:
            fields.coerce(pd.DataFrame.from_records([bad], index=pd.RangeIndex(1)))
        with pytest.raises(ContractError) as got_err:
            coerce_records(fields, [bad])
        assert got_err.value.problems == ref_err.value.problems
        assert got_err.value.details == ref_err.value.details
    many = _records(contract)[:50]
    pd.testing.assert_frame_equal(
        coerce_records(fields, many).frame(),
        fields.coerce(pd.DataFrame.from_records(many, index=pd.RangeIndex(50))),
        check_exact=True,
    )


def test_leads_without_ground_truth_are_left_out_of_truth_comparisons(contract, demo_data) -> None:
    """A store with CRM-imported leads beside the demo history: the ground-truth file covers only
    the demo leads. Training used to stop with a KeyError; those leads are now left out."""
    data, truth = demo_data
    partial = truth.iloc[::2]  # every other lead has no ground truth
    res = train_bundle(
        data,
        contract.feature_set,
        policy=contract.policy,
        ground_truth=partial,
        candidates=("logreg_onehot",),
    )
    assert 0.5 < res.heads["opportunity"].truth_auc["p_opportunity_intrinsic"] <= 1.0
    full = res.ipw_comparison.set_index(["head", "training"])
    assert len(full) > 0 and full["corr_with_truth"].notna().all()

"""Fit, calibrate, evaluate and choose: the training stage as one plain function.

``train_bundle`` takes training data and returns a bundle plus everything a run records
(metrics against the baselines, charts' inputs, the IPW-vs-naive comparison). It does no MLflow
I/O: ``training.register`` logs what it returns, and the CLI is a thin wrapper around both.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from feature_defs.features import FeatureSet, LeadFeaturizer
from feature_defs.policy import Policy
from feature_defs.sla import route_team, scorecard_points
from training import evaluate as ev
from training.bundle import HeadModel, LeadScoreBundle
from training.data import TrainingData
from training.models import (
    CANDIDATES,
    MarginCalibrator,
    NaiveBayesBaseline,
    build_candidate,
    explanation_ms,
    fit_candidate,
    make_explainer,
    margin,
)
from training.split import Split, time_split

AUC_TIE = 0.003  # candidates this close on validation AUC are a tie: the cheaper explainer wins
WEIGHT_CAP = 5.0  # "clipped" weighting: inverse-propensity weights truncated here
WEIGHTINGS = ("none", "clipped", "ipw")


def training_weights(w: np.ndarray, weighting: str) -> np.ndarray:
    """Sample weights for fitting, from inverse-propensity weights.

    "none": every worked lead counts once; the explored leads below the old threshold are in
    the sample, so the model sees the whole range. "ipw": 1 / propensity. "clipped": IPW
    truncated at WEIGHT_CAP, trading a little bias for much less variance.
    """
    if weighting == "none":
        return np.ones_like(w)
    if weighting == "clipped":
        return np.minimum(w, WEIGHT_CAP)
    if weighting == "ipw":
        return w
    raise ValueError(f"weighting must be one of {', '.join(WEIGHTINGS)} (got {weighting!r})")


SEGMENTS = ("source", "employee_band", "sector", "team")


@dataclass
class HeadReport:
    name: str
    split: Split
    chosen: str
    validation: dict[str, dict[str, float]]  # candidate -> metrics on the calibration slice
    explain_ms: dict[str, float]
    test: dict[str, dict[str, float]]  # model or baseline -> metrics on the test slice
    test_weighted: dict[str, dict[str, float]]
    cutoffs: pd.DataFrame
    segments: pd.DataFrame
    curves: dict[str, tuple[np.ndarray, np.ndarray]]  # name -> (y, p) on the test slice
    calibration_method: str
    n_calibration: int
    test_rows: np.ndarray  # indices into TrainingData rows
    truth_auc: dict[str, float] = field(default_factory=dict)


@dataclass
class TrainResult:
    bundle: LeadScoreBundle
    heads: dict[str, HeadReport]
    importance: pd.DataFrame  # mean |points| per feature on the test slice, per head
    ipw_comparison: pd.DataFrame | None
    data: TrainingData


def _score_cutoffs(policy: Policy | None) -> dict[str, float]:
    if policy is None:
        return {"score>=50": 50.0}
    cuts = {"handoff": policy.handoff_threshold}
    cuts.update({t.name: t.min_score for t in policy.tiers})
    return cuts


def train_bundle(
    data: TrainingData,
    feature_set: FeatureSet,
    *,
    policy: Policy | None = None,
    candidates: tuple[str, ...] = CANDIDATES,
    ground_truth: pd.DataFrame | None = None,
    weighting: str = "none",
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train both heads; choose each head's model on validation; evaluate on the latest slice."""
    say = progress or (lambda _m: None)
    leads = data.leads.reset_index(drop=True)
    fields = feature_set.fields
    rows = np.arange(len(leads))

    # one featurizer for both heads, fitted on the oldest leads (no label is used)
    if data.created_at is not None:
        created = pd.to_datetime(data.created_at, utc=True).reset_index(drop=True)
        fit_rows = (created <= created.max() - pd.DateOffset(months=6)).to_numpy()
        if fit_rows.sum() < 100:
            fit_rows = np.ones(len(leads), dtype=bool)
    else:
        created = None
        fit_rows = np.ones(len(leads), dtype=bool)
    say("features")
    featurizer = LeadFeaturizer(feature_set).fit(leads[fit_rows])
    X_all = featurizer.transform(leads)
    points_all = scorecard_points(leads, policy) if policy is not None else None
    cutoffs = _score_cutoffs(policy)
    segs = pd.DataFrame(
        {c: leads[c].astype(object) for c in SEGMENTS if c in leads.columns}, index=leads.index
    )
    if policy is not None and "team" not in segs:
        segs["team"] = route_team(leads, policy)

    heads: dict[str, HeadModel] = {}
    reports: dict[str, HeadReport] = {}
    for head in data.heads:
        known, y_all, w_all = data.head(head)
        idx = rows[known]
        y, w_ipw = y_all[known].astype(int), w_all[known]
        w = training_weights(w_ipw, weighting)
        if len(np.unique(y)) < 2:
            raise ValueError(f"head '{head}': the labels have a single class; cannot train")
        split = time_split(None if created is None else created[known], y, seed=seed)
        X = X_all.iloc[idx].reset_index(drop=True)
        tr, ca, te = split.train, split.calibrate, split.test
        say(f"{head}: fitting {', '.join(candidates)} on {tr.sum():,} leads")
        fitted, validation, cost, cals = {}, {}, {}, {}
        for kind in candidates:
            pipe = fit_candidate(build_candidate(kind, X, seed=seed), X[tr], y[tr], w[tr])
            m_cal = margin(pipe, X[ca])
            cal = MarginCalibrator().fit(m_cal, y[ca])
            explainer = make_explainer(kind, pipe, X[tr], seed=seed)
            fitted[kind] = (pipe, explainer)
            cals[kind] = cal
            validation[kind] = ev.classification_metrics(y[ca], cal.predict(m_cal))
            cost[kind] = explanation_ms(explainer, pipe, X[ca])
        best_auc = max(v["roc_auc"] for v in validation.values())
        tied = [k for k in candidates if validation[k]["roc_auc"] >= best_auc - AUC_TIE]
        chosen = min(tied, key=lambda k: (cost[k], -validation[k]["roc_auc"]))
        pipe, explainer = fitted[chosen]
        heads[head] = HeadModel(head, chosen, pipe, cals[chosen], explainer)
        say(f"{head}: chose {chosen}; evaluating on {te.sum():,} test leads")

        # test slice: the chosen model, the other candidates and the baselines
        p_test = {f"model ({chosen})": heads[head].proba(X[te])}
        for kind in candidates:
            if kind != chosen:
                p_test[kind] = cals[kind].predict(margin(fitted[kind][0], X[te]))
        if points_all is not None:
            pts = points_all[idx]
            sc_cal = MarginCalibrator().fit(pts[ca], y[ca])
            p_test["scorecard"] = sc_cal.predict(pts[te])
        nb = NaiveBayesBaseline().fit(X[tr], y[tr], w[tr])
        p_test["naive_bayes"] = nb.predict_proba(X[te])
        test = {k: ev.classification_metrics(y[te], p) for k, p in p_test.items()}
        test_w = {
            k: ev.classification_metrics(y[te], p, weights=w_ipw[te]) for k, p in p_test.items()
        }
        truth_auc = {}
        if ground_truth is not None:
            gt = ground_truth.set_index("lead_id")
            ids = leads[fields.id_field].iloc[idx[te]]
            for col in _truth_columns(head):
                if col in gt.columns:
                    # leads imported beside the demo history have no ground truth: left out
                    truth = gt[col].reindex(ids).to_numpy(dtype=float)
                    known = ~np.isnan(truth)
                    if known.any():
                        metrics = ev.classification_metrics(y[te][known], truth[known])
                        truth_auc[col] = float(metrics["roc_auc"])
        cut = pd.DataFrame()  # filled once every head is trained (the score head may come later)
        seg_te = segs.iloc[idx[te]].reset_index(drop=True)
        seg = pd.concat(
            [
                ev.segment_metrics(y[te], p, seg_te, min_n=30).assign(model=name)
                for name, p in p_test.items()
            ],
            ignore_index=True,
        )
        reports[head] = HeadReport(
            name=head,
            split=split,
            chosen=chosen,
            validation=validation,
            explain_ms=cost,
            test=test,
            test_weighted=test_w,
            cutoffs=cut,
            segments=seg,
            curves={k: (y[te], p) for k, p in p_test.items()},
            calibration_method=cals[chosen].method_,
            n_calibration=int(ca.sum()),
            test_rows=idx[te],
            truth_auc=truth_auc,
        )

    score_head = _score_head(data)
    for rep in reports.values():
        X_te = X_all.iloc[rep.test_rows]
        served = 100.0 * heads[score_head].proba(X_te)
        frames = []
        for name, (y_te, p_te) in rep.curves.items():
            # each model selects with its own score: the served score for ours, the points for
            # the scorecard (the threshold was agreed on points), 100 x p for the others
            if name.startswith("model"):
                score = served
            elif name == "scorecard" and points_all is not None:
                score = points_all[rep.test_rows]
            else:
                score = 100.0 * p_te
            frames.append(ev.cutoff_metrics(y_te, p_te, score, cutoffs).assign(model=name))
        rep.cutoffs = pd.concat(frames, ignore_index=True)
    bundle = LeadScoreBundle(
        fields=fields,
        featurizer=featurizer,
        heads=heads,
        score_head=score_head,
        policy=_policy_summary(policy),
        metadata={
            "origin": data.origin,
            "labels": data.label_info,
            "window": _window(created),
            "n_leads": len(leads),
            # a few real leads, as JSON-like records, for the service's smoke check after a load
            "smoke_leads": _records(leads.head(5)),
        },
    )
    say("explanations")
    importance = _importance(bundle, X_all, reports)
    ipw = None
    if ground_truth is not None and "handed_off" in data.labels.columns:
        say("IPW vs naive comparison")
        ipw = ipw_comparison(
            data, X_all, heads, ground_truth, leads[fields.id_field], chosen=weighting, seed=seed
        )
    return TrainResult(
        bundle=bundle, heads=reports, importance=importance, ipw_comparison=ipw, data=data
    )


def _records(leads: pd.DataFrame) -> list[dict[str, Any]]:
    out = leads.astype(object).where(leads.notna(), None)
    for c in out.columns:
        out[c] = out[c].map(lambda v: v.isoformat() if isinstance(v, pd.Timestamp) else v)
    return out.to_dict("records")


def _truth_columns(head: str) -> tuple[str, ...]:
    return ("p_accept",) if head == "accepted" else ("p_opportunity_intrinsic", "p_opportunity")


def _score_head(data: TrainingData) -> str:
    return "accepted" if "accepted" in data.heads else data.heads[0]


def _policy_summary(policy: Policy | None) -> dict[str, Any]:
    if policy is None:
        return {}
    return {
        "name": policy.name,
        "version": policy.version,
        "handoff_threshold": policy.handoff_threshold,
        "tiers": {t.name: t.min_score for t in policy.tiers},
    }


def _window(created: pd.Series | None) -> dict[str, str]:
    if created is None:
        return {}
    return {"from": str(created.min()), "to": str(created.max())}


def _importance(
    bundle: LeadScoreBundle, X_all: pd.DataFrame, reports: dict[str, HeadReport]
) -> pd.DataFrame:
    """Global SHAP importance: mean |points| per declared feature on each head's test slice."""
    cols = {}
    for head, rep in reports.items():
        X = X_all.iloc[rep.test_rows]
        X = X.iloc[: min(len(X), 2000)]
        _, _, points = bundle.explain_features(X, head=head)
        cols[head] = points.abs().mean()
    return pd.DataFrame(cols).sort_values(list(cols)[0], ascending=False)


def ipw_comparison(
    data: TrainingData,
    X_all: pd.DataFrame,
    heads: dict[str, HeadModel],
    ground_truth: pd.DataFrame,
    lead_ids: pd.Series,
    *,
    chosen: str = "none",
    seed: int = 0,
) -> pd.DataFrame:
    """Does inverse-propensity weighting recover the ground truth better than naive training?

    The same model kind trained on the same months: naive (leads nobody worked, or never
    handed off, counted as negatives), and the worked leads (explored ones included) under each
    weighting: none, clipped inverse propensity, inverse propensity. Each is compared
    with the true probabilities on *every* eligible lead of the test months, including the
    ones the old scorecard never handed off, because a score is served for all new leads.
    """
    # leads without ground truth (imported beside the demo history) are never a target
    gt = ground_truth.set_index("lead_id").reindex(lead_ids.to_numpy()).reset_index(drop=True)
    has_truth = gt["handed_off"].notna().to_numpy()
    gt["handed_off"] = gt["handed_off"].eq(True)
    labels = data.labels
    created = pd.to_datetime(data.created_at, utc=True).reset_index(drop=True)
    test_from = created.max() - pd.DateOffset(months=3)
    train_rows = (created <= test_from - pd.DateOffset(months=3)).to_numpy()
    eligible = (gt["propensity"] > 0) | ~gt["handed_off"] & gt.get("edge_case").isna()
    target = (created > test_from).to_numpy() & eligible.to_numpy() & has_truth
    rows = []
    for head, model in heads.items():
        truth_col = "p_accept" if head == "accepted" else "p_opportunity_intrinsic"
        if truth_col not in gt:
            continue
        y_raw = labels[head].to_numpy(dtype=float)
        w_raw = labels["weight"].to_numpy(dtype=float)
        worked = train_rows & ~np.isnan(y_raw)
        w_ipw = np.nan_to_num(w_raw, nan=1.0)
        variants = {
            "naive (unknown = negative)": (
                train_rows,
                np.nan_to_num(y_raw, nan=0.0),
                np.ones(len(y_raw)),
            ),
        }
        for name in WEIGHTINGS:
            label = f"worked leads, weighting {name}" + (" (ours)" if name == chosen else "")
            variants[label] = (worked, y_raw, training_weights(w_ipw, name))
        truth = gt.loc[target, truth_col].to_numpy(dtype=float)
        for name, (mask, y, w) in variants.items():
            pipe = fit_candidate(
                build_candidate(model.kind, X_all, seed=seed),
                X_all[mask],
                y[mask].astype(int),
                w[mask],
            )
            m = margin(pipe, X_all[mask])
            p_train = 1 / (1 + np.exp(-m))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                p = 1 / (1 + np.exp(-margin(pipe, X_all[target])))
            rows.append(
                {
                    "head": head,
                    "training": name,
                    "corr_with_truth": float(np.corrcoef(p, truth)[0, 1]),
                    "mean_abs_error": float(np.mean(np.abs(p - truth))),
                    "mean_predicted": float(p.mean()),
                    "mean_true": float(truth.mean()),
                    "train_rows": int(mask.sum()),
                    "train_mean_p": float(p_train.mean()),
                }
            )
    return pd.DataFrame(rows)

"""Candidate models, baselines and the margin calibrator.

Every candidate exposes a *margin* (log-odds before calibration) that an exact SHAP explainer
can decompose: logistic regressions through ``shap.LinearExplainer``, gradient boosting through
``shap.TreeExplainer``. Calibration maps the margin to a probability afterwards, so the
explanation of the margin stays exact (base + contributions == margin).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import CategoricalNB
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    KBinsDiscretizer,
    OneHotEncoder,
    SplineTransformer,
    StandardScaler,
)

CandidateKind = Literal["logreg_onehot", "logreg_splines", "hgb"]
CANDIDATES: tuple[CandidateKind, ...] = ("logreg_onehot", "logreg_splines", "hgb")
SEP = "\x1f"  # joins a feature name and a category in one-hot column names
P_CLIP = 1e-4


def split_columns(X: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Categorical and numeric feature columns of a LeadFeaturizer output."""
    cat = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    return cat, [c for c in X.columns if c not in cat]


def _levels(X: pd.DataFrame, cols: list[str]) -> list[list[str]]:
    return [list(X[c].cat.categories) for c in cols]


def _combine(feature: str, category: object) -> str:
    """One-hot column name that can be split back into its feature (picklable, unlike a lambda)."""
    return f"{feature}{SEP}{category}"


def _onehot(X: pd.DataFrame, cat: list[str]) -> OneHotEncoder:
    return OneHotEncoder(
        categories=_levels(X, cat),
        handle_unknown="ignore",
        sparse_output=False,
        feature_name_combiner=_combine,
    )


def build_candidate(kind: CandidateKind, X: pd.DataFrame, *, seed: int = 0) -> Pipeline:
    """An unfitted pipeline from featurized leads to a classifier with a margin."""
    cat, num = split_columns(X)
    if kind == "logreg_onehot":
        prep = ColumnTransformer(
            [
                ("cat", _onehot(X, cat), cat),
                ("num", StandardScaler(), num),
            ],
            verbose_feature_names_out=False,
        )
        clf = LogisticRegression(C=20.0, max_iter=5000)
    elif kind == "logreg_splines":
        prep = ColumnTransformer(
            [
                ("cat", _onehot(X, cat), cat),
                ("num", SplineTransformer(n_knots=4, degree=2, extrapolation="constant"), num),
            ],
            verbose_feature_names_out=False,
        )
        clf = LogisticRegression(C=20.0, max_iter=5000)
    elif kind == "hgb":
        prep = ColumnTransformer(
            [
                ("cat", _onehot(X, cat), cat),
                ("num", "passthrough", num),
            ],
            verbose_feature_names_out=False,
        )
        clf = HistGradientBoostingClassifier(
            learning_rate=0.06,
            max_iter=300,
            max_leaf_nodes=8,
            min_samples_leaf=80,
            l2_regularization=2.0,
            early_stopping=False,
            random_state=seed,
        )
    else:  # pragma: no cover - guarded by the Literal
        raise ValueError(f"unknown candidate kind {kind!r}")
    return Pipeline([("prep", prep), ("clf", clf)])


def fit_candidate(pipe: Pipeline, X: pd.DataFrame, y: np.ndarray, w: np.ndarray) -> Pipeline:
    return pipe.fit(X, y, clf__sample_weight=w)


def margin(pipe: Pipeline, X: pd.DataFrame) -> np.ndarray:
    """Log-odds before calibration."""
    return np.asarray(pipe.decision_function(X), dtype=float)


def output_features(pipe: Pipeline) -> list[str]:
    """For each column the model sees, the declared feature it comes from."""
    out = []
    for name in pipe.named_steps["prep"].get_feature_names_out():
        name = str(name)
        if SEP in name:
            name = name.split(SEP, 1)[0]
        elif "_sp_" in name:
            name = name.rsplit("_sp_", 1)[0]
        out.append(name)
    return out


@dataclass
class Explainer:
    """Exact SHAP on the margin, summed back to declared features.

    Linear models use ``shap.LinearExplainer`` (interventional, background = training rows);
    gradient boosting uses ``shap.TreeExplainer`` on the raw log-odds output.
    """

    kind: CandidateKind
    features: list[str]
    column_features: list[str]
    background: np.ndarray
    _shap: Any = field(default=None, repr=False)

    def _explainer(self, pipe: Pipeline) -> Any:
        if self._shap is None:
            import shap

            clf = pipe.named_steps["clf"]
            if self.kind == "hgb":
                self._shap = shap.TreeExplainer(clf, model_output="raw")
            else:
                self._shap = shap.LinearExplainer(clf, shap.maskers.Independent(self.background))
        return self._shap

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_shap"] = None  # rebuilt on first use after loading
        return state

    def explain(self, pipe: Pipeline, X: pd.DataFrame) -> tuple[float, pd.DataFrame]:
        """(base value, contributions per declared feature) on the margin scale."""
        ex = self._explainer(pipe)
        Xt = np.asarray(pipe.named_steps["prep"].transform(X), dtype=float)
        values = np.asarray(ex.shap_values(Xt), dtype=float)
        if values.ndim == 3:  # some shap versions return one array per class
            values = values[..., -1]
        base = float(np.ravel(ex.expected_value)[-1])
        per_col = pd.DataFrame(values, columns=range(values.shape[1]), index=X.index)
        grouped = per_col.T.groupby(np.asarray(self.column_features)).sum().T
        return base, grouped.reindex(columns=self.features, fill_value=0.0)


def make_explainer(
    kind: CandidateKind, pipe: Pipeline, X: pd.DataFrame, *, seed: int = 0
) -> Explainer:
    cols = output_features(pipe)
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(X), size=min(len(X), 500), replace=False)
    background = np.asarray(pipe.named_steps["prep"].transform(X.iloc[idx]), dtype=float)
    return Explainer(
        kind=kind, features=list(X.columns), column_features=cols, background=background
    )


def explanation_ms(
    explainer: Explainer, pipe: Pipeline, X: pd.DataFrame, *, rows: int = 30
) -> float:
    """Median milliseconds to explain one lead: the serving cost that counts in model choice."""
    explainer.explain(pipe, X.iloc[:1])  # build the explainer outside the timing
    times = []
    for i in range(min(rows, len(X))):
        t0 = time.perf_counter()
        explainer.explain(pipe, X.iloc[i : i + 1])
        times.append((time.perf_counter() - t0) * 1000)
    return float(np.median(times))


class MarginCalibrator:
    """Map a margin (or any monotone score) to a calibrated probability.

    Isotonic with ``min_isotonic`` rows or more, sigmoid (Platt) below. The isotonic fit is
    *centred*: probabilities are interpolated between the centres of the isotonic blocks, so the
    map is strictly increasing inside the data range and keeps the ranking (and the AUC) of the
    margin instead of flattening it into steps.
    """

    def __init__(self, *, min_isotonic: int = 1000) -> None:
        self.min_isotonic = min_isotonic

    def fit(self, m: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> MarginCalibrator:
        m = np.asarray(m, dtype=float)
        y = np.asarray(y, dtype=float)
        self.method_ = "isotonic" if len(m) >= self.min_isotonic else "sigmoid"
        self.n_ = len(m)
        if self.method_ == "sigmoid":
            lr = LogisticRegression(C=1e6, max_iter=1000).fit(m.reshape(-1, 1), y, sample_weight=w)
            self.a_, self.b_ = float(lr.coef_[0, 0]), float(lr.intercept_[0])
            return self
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        fitted = iso.fit(m, y, sample_weight=w).predict(m)
        order = np.argsort(m, kind="stable")
        ms, fs = m[order], fitted[order]
        ws = np.ones_like(ms) if w is None else np.asarray(w, dtype=float)[order]
        block = np.concatenate([[0], np.cumsum(np.diff(fs) != 0)])
        centres = (
            pd.DataFrame({"b": block, "m": ms * ws, "w": ws, "f": fs})
            .groupby("b")
            .agg(m=("m", "sum"), w=("w", "sum"), f=("f", "first"))
        )
        self.x_ = (centres["m"] / centres["w"]).to_numpy()
        self.y_ = np.clip(centres["f"].to_numpy(), P_CLIP, 1 - P_CLIP)
        return self

    def predict(self, m: np.ndarray) -> np.ndarray:
        m = np.asarray(m, dtype=float)
        if self.method_ == "sigmoid":
            p = 1.0 / (1.0 + np.exp(-(self.a_ * m + self.b_)))
        else:
            p = np.interp(m, self.x_, self.y_)
        return np.clip(p, P_CLIP, 1 - P_CLIP)


class NaiveBayesBaseline:
    """Naive Bayes over categorical frequencies, as Odoo's predictive lead scoring does.

    Categorical features are used as they are; numeric ones are cut into 5 quantile bins.
    Probabilities are reported uncalibrated, as the product reports them.
    """

    def fit(
        self, X: pd.DataFrame, y: np.ndarray, w: np.ndarray | None = None
    ) -> NaiveBayesBaseline:
        self.cat_, self.num_ = split_columns(X)
        self.bins_ = KBinsDiscretizer(
            n_bins=5, encode="ordinal", strategy="quantile", quantile_method="averaged_inverted_cdf"
        )
        self.bins_.fit(X[self.num_].to_numpy(dtype=float))
        self.nb_ = CategoricalNB(alpha=1.0, min_categories=self._min_categories(X))
        self.nb_.fit(self._codes(X), y, sample_weight=w)
        return self

    def _min_categories(self, X: pd.DataFrame) -> np.ndarray:
        return np.array([len(X[c].cat.categories) for c in self.cat_] + [5] * len(self.num_))

    def _codes(self, X: pd.DataFrame) -> np.ndarray:
        cat = (
            np.column_stack([X[c].cat.codes.to_numpy() for c in self.cat_])
            if self.cat_
            else np.empty((len(X), 0))
        )
        num = self.bins_.transform(X[self.num_].to_numpy(dtype=float))
        return np.column_stack([cat, num]).astype(int)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.nb_.predict_proba(self._codes(X))[:, 1]

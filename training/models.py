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


class FastDesign:
    """``pipe["prep"].transform`` and ``pipe.decision_function`` on plain arrays, for serving.

    Covers the ColumnTransformers ``build_candidate`` makes (one-hot of categorical features,
    then StandardScaler, passthrough or any other fitted transformer on the numeric ones), with
    the very same arithmetic, minus sklearn's per-call validation, which costs milliseconds for
    one lead. Features come as a mapping: categorical ones as ``(codes, levels)``, the others as
    float arrays (see ``LeadFeaturizer.arrays``). ``compile`` returns None for any other layout,
    and ``HeadModel`` checks the first result against sklearn before trusting it.
    """

    def __init__(self, blocks: list[tuple], width: int, clf: Any) -> None:
        self.blocks = blocks
        self.width = width
        self.clf = clf
        self.linear = isinstance(clf, LogisticRegression)
        self._maps: dict[tuple[int, int], tuple[tuple, np.ndarray]] = {}

    @classmethod
    def compile(cls, pipe: Pipeline) -> FastDesign | None:
        prep = pipe.named_steps.get("prep")
        if not isinstance(prep, ColumnTransformer) or prep.sparse_output_:
            return None
        blocks: list[tuple] = []
        width = 0
        for name, trans, cols in prep.transformers_:
            if trans == "drop" or len(cols) == 0:
                continue
            cols = list(cols)
            if not all(isinstance(c, str) for c in cols):
                return None
            if isinstance(trans, OneHotEncoder):
                if (
                    trans.drop_idx_ is not None
                    or getattr(trans, "_infrequent_enabled", False)
                    or trans.sparse_output
                    or trans.handle_unknown != "ignore"
                ):
                    return None
                sizes = [len(cats) for cats in trans.categories_]
                offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
                cats = [list(c) for c in trans.categories_]
                blocks.append(("onehot", cols, cats, offsets, width))
                width += int(sum(sizes))
            elif isinstance(trans, StandardScaler):
                blocks.append(("scale", cols, trans.mean_, trans.scale_, width))
                width += len(cols)
            elif trans == "passthrough":
                blocks.append(("pass", cols, None, None, width))
                width += len(cols)
            elif hasattr(trans, "transform") and name != "remainder":
                k = len(trans.get_feature_names_out())
                blocks.append(("sklearn", cols, trans, None, width))
                width += k
            else:
                return None
        return cls(blocks, width, pipe.named_steps["clf"])

    def _map(self, block: int, i: int, levels: tuple, cats: list) -> np.ndarray:
        """Feature level codes -> one-hot column within the encoder's categories (-1: none).

        The featurizer passes the same ``levels`` tuple every time: it is recognised by identity
        (hashing it per call costs more than the lookup it saves)."""
        key = (block, i)
        hit = self._maps.get(key)
        if hit is not None and (hit[0] is levels or hit[0] == levels):
            return hit[1]
        pos = {v: k for k, v in enumerate(cats)}
        m = np.array([pos.get(v, -1) for v in levels] + [-1], dtype=np.intp)  # code -1: none
        self._maps[key] = (levels, m)
        return m

    def transform(self, feats: Any, n: int) -> np.ndarray:
        """The design matrix: one array operation per block, not per column, where it can."""
        out = np.zeros((n, self.width))
        for b, (kind, cols, a, c, start) in enumerate(self.blocks):
            if kind == "onehot":
                idx = np.empty((n, len(cols)), dtype=np.intp)  # column within each encoder
                for i, col in enumerate(cols):
                    codes, levels = feats[col]
                    idx[:, i] = self._map(b, i, levels, a[i])[codes]
                rows, k = np.nonzero(idx >= 0)
                out[rows, start + c[k] + idx[rows, k]] = 1.0
            elif kind in ("scale", "pass"):
                x = out[:, start : start + len(cols)]
                for j, col in enumerate(cols):
                    x[:, j] = feats[col]
                if kind == "scale":
                    x -= a
                    x /= c
            else:
                frame = pd.DataFrame({col: feats[col] for col in cols})
                block = np.asarray(a.transform(frame), dtype=float)
                out[:, start : start + block.shape[1]] = block
        return out

    def margin(self, Xt: np.ndarray) -> np.ndarray:
        """``decision_function`` of the classifier on the design matrix (sklearn's own formula)."""
        clf = self.clf
        if self.linear:
            scores = Xt @ clf.coef_.T + clf.intercept_
            if scores.ndim > 1 and scores.shape[1] == 1:
                scores = scores.reshape(-1)
            return np.asarray(scores, dtype=float)
        return np.asarray(clf.decision_function(Xt), dtype=float)


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

    def explain(self, pipe: Pipeline, X: pd.DataFrame) -> tuple[float, pd.DataFrame]:
        """(base value, contributions per declared feature) on the margin scale."""
        Xt = np.asarray(pipe.named_steps["prep"].transform(X), dtype=float)
        base, contrib = self.explain_design(pipe, Xt)
        return base, pd.DataFrame(contrib, index=X.index, columns=pd.Index(self.features))

    def explain_design(self, pipe: Pipeline, Xt: np.ndarray) -> tuple[float, np.ndarray]:
        """``explain`` on the model's input matrix (``prep`` output): (base, n x features).

        Linear models: exactly what ``shap.LinearExplainer`` (interventional, Independent masker)
        computes, ``(Xt - mean) * coef`` with the explainer's own background mean, without its
        per-call overhead. Trees: one ``TreeExplainer.shap_values`` call for the whole batch.
        """
        ex = self._explainer(pipe)
        coef = getattr(ex, "coef", None) if self.kind != "hgb" else None
        if (
            coef is not None
            and getattr(ex, "feature_perturbation", None) == "interventional"
            and np.ndim(coef) == 1
        ):
            values = np.array(Xt - ex.mean) * coef
        else:
            values = np.asarray(ex.shap_values(Xt), dtype=float)
            if values.ndim == 3:  # some shap versions return one array per class
                values = values[..., -1]
        base = float(np.ravel(ex.expected_value)[-1])
        return base, self._per_feature(np.asarray(values, dtype=float))

    def _per_feature(self, values: np.ndarray) -> np.ndarray:
        """Sum columns into declared features, in ``self.features`` order (0 when unused).

        Bit for bit the former ``DataFrame.T.groupby(column_features).sum()``: the same
        compensated (Kahan) summation, column by column in column order, that pandas applies.
        """
        groups = self.__dict__.get("_groups")
        if groups is None:
            pos = {f: i for i, f in enumerate(self.features)}
            groups = np.array([pos.get(f, -1) for f in self.column_features], dtype=np.intp)
            self.__dict__["_groups"] = groups
        n, nf = values.shape[0], len(self.features)
        if np.isnan(values).any() or (groups < 0).any():
            per_col = pd.DataFrame(values, columns=range(values.shape[1]))
            grouped = per_col.T.groupby(np.asarray(self.column_features)).sum().T
            return grouped.reindex(columns=self.features, fill_value=0.0).to_numpy(dtype=float)
        if n <= 4:  # Python floats are IEEE doubles: the same arithmetic, no per-op overhead
            out = np.zeros((n, nf))
            gl = groups.tolist()
            for r in range(n):
                s = [0.0] * nf
                comp = [0.0] * nf
                for val, g in zip(values[r].tolist(), gl, strict=True):
                    y = val - comp[g]
                    t = s[g] + y
                    cg = t - s[g] - y
                    comp[g] = 0.0 if cg != cg else cg
                    s[g] = t
                out[r] = s
            return out
        s = np.zeros((nf, n))
        comp = np.zeros((nf, n))
        for j, g in enumerate(groups.tolist()):
            y = values[:, j] - comp[g]
            t = s[g] + y
            cg = t - s[g] - y
            cg[cg != cg] = 0.0
            comp[g] = cg
            s[g] = t
        return np.ascontiguousarray(s.T)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_shap"] = None  # rebuilt on first use after loading
        state.pop("_groups", None)
        return state


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

"""The one serving bundle: featurizer, both heads, calibrators, explainers and their versions.

The scoring service loads it by alias from the MLflow registry; the same bundle also serves
under ``mlflow models serve`` through ``training.pyfunc.LeadScorePyfunc`` (output: the
probabilities of both heads), so the two servers can be benchmarked on the very same model.

Points scale for reasons: SHAP values are exact on the margin (log-odds). To show them in score
points (0-100) they are scaled by (score - base score) / (margin - base margin), the secant of
the calibration curve between the average lead and this lead. So base score + the points of all
features = the lead's score, exactly, and a reason reads "Demo request +12 pts".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from feature_defs.features import MISSING, OTHER, LeadFeaturizer
from feature_defs.fields import FieldSet
from feature_defs.typed_leads import TypedLeads
from training.models import CandidateKind, Explainer, FastDesign, MarginCalibrator, margin

HEADS = ("accepted", "opportunity")


@dataclass
class HeadModel:
    name: str
    kind: CandidateKind
    pipeline: Pipeline
    calibrator: MarginCalibrator
    explainer: Explainer

    def margin(self, X: pd.DataFrame) -> np.ndarray:
        return margin(self.pipeline, X)

    def proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.calibrator.predict(self.margin(X))

    # --- serving fast path: the pipeline's own arithmetic on arrays, checked once ------------
    def design(self, feats: dict[str, Any], n: int, frame: Any) -> np.ndarray:
        """The model's input matrix (``pipeline["prep"].transform``) for featurizer arrays.

        ``frame()`` returns the same features as a DataFrame; it is called only when the fast
        path is unavailable, and once to check the fast path against sklearn bit for bit.
        """
        fast = self._fast()
        if fast is None or n == 0:  # sklearn's own path (and its error on an empty batch)
            return np.asarray(self.pipeline.named_steps["prep"].transform(frame()), dtype=float)
        Xt = fast.transform(feats, n)
        if not self.__dict__.get("_checked"):
            X = frame()
            ref = np.asarray(self.pipeline.named_steps["prep"].transform(X), dtype=float)
            ok = (
                ref.shape == Xt.shape
                and np.array_equal(ref, Xt)
                and np.array_equal(fast.margin(ref), margin(self.pipeline, X))
            )
            if not ok:
                self.__dict__["_fast_design"] = False
                return ref
            self.__dict__["_checked"] = True
        return Xt

    def margin_design(self, Xt: np.ndarray) -> np.ndarray:
        fast = self._fast()
        if fast is None:
            return np.asarray(self.pipeline.named_steps["clf"].decision_function(Xt), dtype=float)
        return fast.margin(Xt)

    def _fast(self) -> FastDesign | None:
        fast = self.__dict__.get("_fast_design")
        if fast is None:
            fast = FastDesign.compile(self.pipeline) or False
            self.__dict__["_fast_design"] = fast
        return fast or None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_fast_design", None)
        state.pop("_checked", None)
        return state


@dataclass
class LeadScoreBundle:
    fields: FieldSet
    featurizer: LeadFeaturizer
    heads: dict[str, HeadModel]
    score_head: str = "accepted"
    policy: dict[str, Any] = field(default_factory=dict)  # name, version, threshold, tiers
    metadata: dict[str, Any] = field(default_factory=dict)  # data window, labels, metrics

    @property
    def feature_set_key(self) -> str:
        return self.featurizer.feature_set.key

    def prepare(self, leads: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Typed leads (validated against the declared fields) and their features."""
        declared = [c for c in leads.columns if c in self.fields]
        typed = self.fields.coerce(leads[declared])
        return typed, self.featurizer.transform(typed)

    def predict_features(self, X: pd.DataFrame) -> pd.DataFrame:
        out = {f"p_{name}": head.proba(X) for name, head in self.heads.items()}
        return self._frame(out, X.index)

    def _frame(self, out: dict[str, np.ndarray], index: pd.Index) -> pd.DataFrame:
        frame = pd.DataFrame(out, index=index)
        frame["score"] = 100.0 * frame[f"p_{self.score_head}"]
        return frame

    def designs(
        self, typed: pd.DataFrame | TypedLeads
    ) -> tuple[dict[str, Any], dict[str, np.ndarray], Any]:
        """Featurizer arrays, each head's input matrix, and a lazy features DataFrame."""
        feats = self.featurizer.arrays(typed)
        cache: list[pd.DataFrame] = []

        def frame() -> pd.DataFrame:
            if not cache:
                cache.append(self.featurizer.frame(feats, typed.index))
            return cache[0]

        n = len(typed)
        return feats, {k: h.design(feats, n, frame) for k, h in self.heads.items()}, frame

    def predict_designs(self, Xts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """``predict_features`` columns from ``designs`` output (the same numbers)."""
        out = {
            f"p_{k}": h.calibrator.predict(h.margin_design(Xts[k])) for k, h in self.heads.items()
        }
        out["score"] = 100.0 * out[f"p_{self.score_head}"]
        return out

    def predict(self, leads: pd.DataFrame) -> pd.DataFrame:
        """p_accepted, p_opportunity and the 0-100 score for raw leads."""
        _, X = self.prepare(leads)
        return self.predict_features(X)

    def explain_features(
        self, X: pd.DataFrame, *, head: str | None = None
    ) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame]:
        """(base score, contributions on the margin, contributions in score points)."""
        h = self.heads[head or self.score_head]
        Xt = np.asarray(h.pipeline.named_steps["prep"].transform(X), dtype=float)
        base_score, contrib, points = self._explain_design(h, Xt)
        cols = pd.Index(h.explainer.features)
        return (
            np.full(len(X), base_score),
            pd.DataFrame(contrib, index=X.index, columns=cols),
            pd.DataFrame(points, index=X.index, columns=cols),
        )

    def _explain_design(self, h: HeadModel, Xt: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        base_margin, contrib = h.explainer.explain_design(h.pipeline, Xt)
        # the row sums pandas computed on the (features x leads) block: same layout, same order
        m = base_margin + np.ascontiguousarray(contrib.T).sum(axis=0)
        base_score = 100.0 * float(h.calibrator.predict(np.array([base_margin]))[0])
        score = 100.0 * h.calibrator.predict(m)
        dm = m - base_margin
        eps = 1e-3
        slope_local = (
            100.0 * (h.calibrator.predict(m + eps) - h.calibrator.predict(m - eps)) / (2 * eps)
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            secant = np.where(np.abs(dm) > 1e-6, (score - base_score) / dm, slope_local)
        return base_score, contrib, contrib * secant[:, None]

    def reasons(
        self, typed: pd.DataFrame, X: pd.DataFrame, *, top: int = 3, head: str | None = None
    ) -> list[list[dict[str, Any]]]:
        """Top factors per lead, each with its feature, label, margin and points contribution."""
        h = self.heads[head or self.score_head]
        Xt = np.asarray(h.pipeline.named_steps["prep"].transform(X), dtype=float)
        shown = {c: (lambda i, c=c: X[c].iloc[i]) for c in X.columns}
        return self._reasons(typed, h, Xt, shown, top=top)

    def reasons_design(
        self,
        typed: pd.DataFrame | TypedLeads,
        feats: dict[str, Any],
        Xt: np.ndarray,
        *,
        top: int = 3,
    ) -> list[list[dict[str, Any]]]:
        """``reasons`` from ``designs`` output (score head): the same reasons, computed once."""
        shown = {}
        for name, v in feats.items():
            if isinstance(v, tuple):
                codes, levels = v
                shown[name] = lambda i, codes=codes, levels=levels: (
                    levels[codes[i]] if codes[i] >= 0 else np.nan
                )
            else:
                shown[name] = v.__getitem__
        return self._reasons(typed, self.heads[self.score_head], Xt, shown, top=top)

    def _reasons(
        self,
        typed: pd.DataFrame | TypedLeads,
        h: HeadModel,
        Xt: np.ndarray,
        shown: dict,
        *,
        top: int,
    ) -> list[list[dict[str, Any]]]:
        typed = TypedLeads.of(typed)
        _, contrib, points = self._explain_design(h, Xt)
        declared = self.featurizer.feature_set.by_name
        names = h.explainer.features
        raw_cols: dict[str, Any] = {}
        order_all = np.argsort(-np.abs(points), axis=1, kind="stable")[:, :top]
        # the chosen contributions as Python floats, taken row-wise in one numpy call each
        points_top = np.take_along_axis(points, order_all, axis=1).tolist()
        margin_top = np.take_along_axis(contrib, order_all, axis=1).tolist()
        out = []
        for i, ks in enumerate(order_all.tolist()):
            items = []
            for k, pts, mar in zip(ks, points_top[i], margin_top[i], strict=True):
                feat = names[k]
                src = declared[feat].source
                if src not in raw_cols:
                    raw_cols[src] = typed[src]
                value = _shown_value(raw_cols[src][i], shown[feat](i))
                items.append(
                    {
                        "feature": feat,
                        "value": value,
                        "points": round(pts, 2),
                        "margin": mar,
                        "label": f"{declared[feat].description}: {value} {pts:+.0f} pts",
                    }
                )
            out.append(items)
        return out


def _shown_value(raw: Any, feature_value: Any) -> str:
    if (
        feature_value in (OTHER, MISSING)
        or raw is None
        or (isinstance(raw, float) and np.isnan(raw))
    ):
        return "unknown" if feature_value == MISSING or raw is None else str(raw)
    if raw is pd.NA:
        return "unknown"
    if isinstance(raw, pd.Timestamp):
        return raw.isoformat()
    text = str(raw)
    return text.replace("_", " ") if isinstance(raw, str) else text

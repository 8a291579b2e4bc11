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
from training.models import CandidateKind, Explainer, MarginCalibrator, margin

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
        frame = pd.DataFrame(out, index=X.index)
        frame["score"] = 100.0 * frame[f"p_{self.score_head}"]
        return frame

    def predict(self, leads: pd.DataFrame) -> pd.DataFrame:
        """p_accepted, p_opportunity and the 0-100 score for raw leads."""
        _, X = self.prepare(leads)
        return self.predict_features(X)

    def explain_features(
        self, X: pd.DataFrame, *, head: str | None = None
    ) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame]:
        """(base score, contributions on the margin, contributions in score points)."""
        h = self.heads[head or self.score_head]
        base_margin, contrib = h.explainer.explain(h.pipeline, X)
        m = base_margin + contrib.sum(axis=1).to_numpy()
        base_score = 100.0 * float(h.calibrator.predict(np.array([base_margin]))[0])
        score = 100.0 * h.calibrator.predict(m)
        dm = m - base_margin
        eps = 1e-3
        slope_local = (
            100.0 * (h.calibrator.predict(m + eps) - h.calibrator.predict(m - eps)) / (2 * eps)
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            secant = np.where(np.abs(dm) > 1e-6, (score - base_score) / dm, slope_local)
        points = contrib.mul(secant, axis=0)
        return np.full(len(X), base_score), contrib, points

    def reasons(
        self, typed: pd.DataFrame, X: pd.DataFrame, *, top: int = 3, head: str | None = None
    ) -> list[list[dict[str, Any]]]:
        """Top factors per lead, each with its feature, label, margin and points contribution."""
        _, contrib, points = self.explain_features(X, head=head)
        desc = self.featurizer.feature_set.describe()
        source = {f.name: f.source for f in self.featurizer.feature_set.features}
        out = []
        for i in range(len(X)):
            row = points.iloc[i]
            order = np.argsort(-np.abs(row.to_numpy()), kind="stable")[:top]
            items = []
            for k in order:
                feat = points.columns[k]
                value = _shown_value(typed[source[feat]].iloc[i], X[feat].iloc[i])
                pts = float(row.iloc[k])
                items.append(
                    {
                        "feature": feat,
                        "value": value,
                        "points": round(pts, 2),
                        "margin": float(contrib.iloc[i, k]),
                        "label": f"{desc[feat]}: {value} {pts:+.0f} pts",
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

"""The bundle as an MLflow pyfunc, so ``mlflow models serve`` can serve the same model.

Kept apart from ``bundle.py`` because it imports mlflow, which the scoring service's hot path
does not need.
"""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc
import pandas as pd


class LeadScorePyfunc(mlflow.pyfunc.PythonModel):
    """Raw leads in (declared field columns), the probabilities of both heads out."""

    def load_context(self, context: Any) -> None:
        import joblib

        self.bundle = joblib.load(context.artifacts["bundle"])

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        out = self.bundle.predict(pd.DataFrame(model_input))
        return out[[f"p_{h}" for h in self.bundle.heads]]

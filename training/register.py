"""MLflow I/O: tracking URI, the run's metrics and artifacts, the registered model and its alias.

The tracking URI is set here, called from the entry point (never on import):
``sqlite:///mlruns/mlflow.db`` with artifacts under ``mlruns/artifacts``, or whatever
``MLFLOW_TRACKING_URI`` names (a team's tracking server). The alias ``champion`` moves only
through ``promote``, which the gate calls.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import joblib

from training.bundle import LeadScoreBundle

MODEL_NAME = "lead-score"
CHAMPION = "champion"
EXPERIMENT = "lead-score"
DEFAULT_ROOT = Path("mlruns")


def configure_tracking(root: Path = DEFAULT_ROOT) -> str:
    """Point MLflow at the project's SQLite store (or MLFLOW_TRACKING_URI) and its experiment."""
    import mlflow

    uri = os.environ.get("MLFLOW_TRACKING_URI")
    artifact_location = None
    if not uri:
        root.mkdir(parents=True, exist_ok=True)
        uri = f"sqlite:///{root.resolve()}/mlflow.db"
        artifact_location = (root / "artifacts").resolve().as_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    if mlflow.get_experiment_by_name(EXPERIMENT) is None:
        mlflow.create_experiment(EXPERIMENT, artifact_location=artifact_location)
    mlflow.set_experiment(EXPERIMENT)
    return uri


def metric_key(*parts: str) -> str:
    """MLflow metric names allow letters, digits and ``_-. /:``; everything else becomes ``_``."""
    return ".".join(re.sub(r"[^\w\-. /:]", "_", p).strip("_") for p in parts)


def flatten_metrics(result: Any) -> dict[str, float]:
    """Every number of a TrainResult as a flat MLflow metric dict."""
    out: dict[str, float] = {}
    for head, rep in result.heads.items():
        for model, metrics in rep.test.items():
            name = "model" if model.startswith("model") else model
            for k, v in metrics.items():
                out[metric_key(head, "test", name, k)] = float(v)
        for model, metrics in rep.test_weighted.items():
            name = "model" if model.startswith("model") else model
            for k in ("roc_auc", "brier", "ece"):
                out[metric_key(head, "test_ipw", name, k)] = float(metrics[k])
        for model, metrics in rep.validation.items():
            for k in ("roc_auc", "brier", "ece"):
                out[metric_key(head, "validation", model, k)] = float(metrics[k])
        for model, ms in rep.explain_ms.items():
            out[metric_key(head, "explain_ms", model)] = float(ms)
        for _, row in rep.cutoffs.iterrows():
            name = "model" if row["model"].startswith("model") else row["model"]
            for k in ("precision", "recall", "lift", "share_selected"):
                out[metric_key(head, "cutoff", name, str(row["cutoff_name"]), k)] = float(row[k])
        for _, row in rep.segments.iterrows():
            name = "model" if row["model"].startswith("model") else row["model"]
            for k in ("roc_auc", "ece"):
                key = metric_key(head, "segment", name, str(row["segment"]), str(row["value"]), k)
                out[key] = float(row[k])
        for col, auc in rep.truth_auc.items():
            out[metric_key(head, "test", "ground_truth", col, "roc_auc")] = float(auc)
    return {k: v for k, v in out.items() if v == v}  # MLflow refuses NaN on some backends


def log_model(bundle: LeadScoreBundle) -> tuple[str, int]:
    """Log the bundle as a pyfunc model and register it; returns (model uri, version).

    No MLflow signature: the bundle validates its input against the declared lead fields, with
    messages that name the field and the rule, and optional fields may be absent. A signature
    inferred from an example would make every optional field required.
    """
    import mlflow

    from training.pyfunc import LeadScorePyfunc

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bundle.joblib"
        joblib.dump(bundle, path)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=LeadScorePyfunc(),
            artifacts={"bundle": str(path)},
            registered_model_name=MODEL_NAME,
            pip_requirements=_requirements(),
        )
    return info.model_uri, int(info.registered_model_version)


def _requirements() -> list[str]:
    from importlib.metadata import version

    return [
        f"{p}=={version(p)}"
        for p in (
            "mlflow",
            "scikit-learn",
            "shap",
            "pandas",
            "numpy",
            "pydantic",
            "holidays",
            "pyyaml",
            "joblib",
        )
    ]


def champion_version() -> Any | None:
    """The model version the alias points at, or None."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        return MlflowClient().get_model_version_by_alias(MODEL_NAME, CHAMPION)
    except MlflowException:
        return None


def load_bundle(uri: str) -> LeadScoreBundle:
    """The bundle behind a model URI, e.g. ``models:/lead-score@champion``."""
    import mlflow.pyfunc

    return mlflow.pyfunc.load_model(uri).unwrap_python_model().bundle


def promote(version: int, *, tags: dict[str, str]) -> None:
    """Move the champion alias to ``version`` and record why and when on the version.

    ``promoted_at`` is what the dashboard's champion history is built from: the alias itself
    keeps no history.
    """
    from datetime import UTC, datetime

    from mlflow import MlflowClient

    client = MlflowClient()
    client.set_registered_model_alias(MODEL_NAME, CHAMPION, str(version))
    tags = {"promoted_at": datetime.now(UTC).isoformat(timespec="seconds"), **tags}
    for k, v in tags.items():
        client.set_model_version_tag(MODEL_NAME, str(version), k, v)

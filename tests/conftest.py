"""Shared fixtures: the default contract and one small demo history, built once per session."""

from __future__ import annotations

import os

# 2 cores: keep every test process single-threaded in BLAS/OpenMP (pytest -n 2 gives parallelism).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402

from feature_defs.contract import Contract, load_contract  # noqa: E402


@pytest.fixture(scope="session")
def contract() -> Contract:
    return load_contract()


def publish_champion(history: Any, contract: Contract, tracking_dir: Path) -> str:
    """Train a one-candidate bundle on a demo history, register it and make it champion.

    Sets MLFLOW_TRACKING_URI to the new registry (the caller restores it); returns the URI.
    """
    import mlflow

    from training import register
    from training.data import from_frames
    from training.train import train_bundle

    # without MLFLOW_TRACKING_URI, configure_tracking puts the artifacts under tracking_dir
    # too (with it, they would land in ./mlruns of the checkout)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    uri = register.configure_tracking(tracking_dir)
    os.environ["MLFLOW_TRACKING_URI"] = uri
    data = from_frames(
        history.leads, history.events, contract.fields, contract.policy, origin="test"
    )
    res = train_bundle(
        data, contract.feature_set, policy=contract.policy, candidates=("logreg_onehot",)
    )
    with mlflow.start_run():
        mlflow.log_metrics(register.flatten_metrics(res))
        _, version = register.log_model(res.bundle)
    register.promote(version, tags={"gate.passed": "True"})
    return uri


@pytest.fixture(scope="session")
def champion_publisher() -> Any:
    """``publish_champion``, as a fixture: test modules cannot import each other here."""
    return publish_champion

"""End to end through the real CLI and a real MLflow store (sqlite) in a temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

ENV = {
    k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "HANDOFF_DATABASE_URL")
}


def handoff(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scoring_service.cli", *args],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("e2e")
    r = handoff(d, "demo-data")  # the default history, as `make run` makes it
    assert r.returncode == 0, r.stderr
    r = handoff(d, "train")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "lead-score v1 is now champion (gate passed)" in r.stderr
    return d


def _client(d: Path):
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(f"sqlite:///{d}/mlruns/mlflow.db")
    mlflow.set_registry_uri(f"sqlite:///{d}/mlruns/mlflow.db")
    return MlflowClient()


def test_run_is_tracked_registered_and_promoted(trained) -> None:
    assert (trained / "mlruns" / "mlflow.db").is_file()
    client = _client(trained)
    mv = client.get_model_version_by_alias("lead-score", "champion")
    assert str(mv.version) == "1"
    run = client.get_run(mv.run_id)
    m = run.data.metrics
    for head in ("accepted", "opportunity"):
        for k in ("roc_auc", "pr_auc", "brier", "log_loss", "ece"):
            assert f"{head}.test.model.{k}" in m
            assert f"{head}.test.scorecard.{k}" in m and f"{head}.test.naive_bayes.{k}" in m
        for model in ("model", "scorecard", "naive_bayes"):
            assert f"{head}.cutoff.{model}.hot.lift" in m
            assert any(k.startswith(f"{head}.segment.{model}.source.") for k in m)
    assert run.data.tags["gate.passed"] == "True"
    arts = {a.path for a in client.list_artifacts(run.info.run_id, "report")}
    for name in (
        "model_card.md",
        "reliability_accepted.png",
        "roc_opportunity.png",
        "lift_accepted.png",
        "shap_importance.png",
        "shap_importance.csv",
    ):
        assert f"report/{name}" in arts
    card = Path(
        client.download_artifacts(run.info.run_id, "report/model_card.md", str(trained))
    ).read_text()
    for text in (
        "## Labels",
        "naive_bayes",
        "scorecard",
        "## Promotion gate",
        "## Known limits",
        "Ground truth on the same leads",
    ):
        assert text in card


def test_pyfunc_serves_both_heads(trained) -> None:
    import mlflow.pyfunc

    _client(trained)
    model = mlflow.pyfunc.load_model("models:/lead-score@champion")
    body = pd.DataFrame(
        [
            {
                "lead_id": "X1",
                "created_at": "2026-10-05T10:00:00+02:00",
                "source": "demo_request",
                "sector": "manufacturing",
                "employee_band": "50-249",
                "country": "FR",
                "email_domain_type": "corporate",
                "job_function": "finance",
                "seniority": "c_level",
            }
        ]
    )
    out = model.predict(body)
    assert list(out.columns) == ["p_accepted", "p_opportunity"]
    assert 0 < out.loc[0, "p_accepted"] < 1 and 0 < out.loc[0, "p_opportunity"] < 1


def test_second_run_goes_through_the_gate_and_batch_scoring(trained) -> None:
    r = handoff(trained, "train")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "PASS accepted: no worse than champion" in r.stderr
    assert "lead-score v2 is now champion" in r.stderr
    r = handoff(
        trained, "demo-data", "--out", "csv", "--leads", "300", "--months", "1", "--seed", "99"
    )
    assert r.returncode == 0, r.stderr
    r = handoff(trained, "score", "--data", "csv/leads.csv", "--out", "scores.csv")
    assert r.returncode == 0, r.stderr[-2000:]
    s = pd.read_csv(trained / "scores.csv")
    assert len(s) == len(pd.read_csv(trained / "csv" / "leads.csv"))
    for col in (
        "p_accepted",
        "p_opportunity",
        "score",
        "tier",
        "due_at",
        "reason_1",
        "reason_2",
        "reason_3",
    ):
        assert col in s.columns
    assert s["p_accepted"].between(0, 1).all()
    assert s.loc[s["handoff"], "tier"].notna().all()


def test_another_company_via_the_cli(tmp_path) -> None:
    from tests.training.test_train import _acme  # the same made-up company as the unit test

    _acme(tmp_path)
    r = handoff(
        tmp_path,
        "train",
        "--data",
        "acme.csv",
        "--labels",
        "labels.yaml",
        "--feature-set",
        "features.yaml",
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "is now champion" in r.stderr
    r = handoff(tmp_path, "score", "--data", "acme.csv", "--out", "out.csv")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "ignoring columns not declared in the lead fields: sql" in r.stderr
    out = pd.read_csv(tmp_path / "out.csv")
    assert len(out) == 1500 and out["reason_1"].notna().all() and out["due_at"].isna().all()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("train", "--data", "x.csv"), "--data needs --labels"),
        (("train", "--weighting", "magic"), "--weighting must be one of none, clipped, ipw"),
        (("score", "--data", "missing.csv", "--out", "o.csv"), "does not exist"),
    ],
)
def test_bad_input_is_a_message_not_a_traceback(tmp_path, args, expected) -> None:
    r = handoff(tmp_path, *args)
    assert r.returncode == 2
    assert expected in r.stderr and "Traceback" not in r.stderr


def test_score_without_a_model(tmp_path) -> None:
    (tmp_path / "l.csv").write_text("lead_id\nA\n")
    r = handoff(tmp_path, "score", "--data", "l.csv", "--out", "o.csv")
    assert r.returncode == 2 and "cannot load model" in r.stderr and "Traceback" not in r.stderr


def test_mlflow_models_serve_serves_the_same_bundle(trained) -> None:
    """The registered bundle also serves under `mlflow models serve` (the benchmark reference)."""
    import json
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    bindir = str(Path(sys.executable).parent)
    env = {
        **ENV,
        "PATH": f"{bindir}:{ENV.get('PATH', '')}",
        "MLFLOW_TRACKING_URI": f"sqlite:///{trained}/mlruns/mlflow.db",
    }
    proc = subprocess.Popen(
        [
            f"{bindir}/mlflow",
            "models",
            "serve",
            "-m",
            "models:/lead-score@champion",
            "--env-manager",
            "local",
            "-p",
            str(port),
            "-h",
            "127.0.0.1",
        ],
        cwd=trained,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    body = json.dumps(
        {
            "dataframe_split": {
                "columns": [
                    "lead_id",
                    "created_at",
                    "source",
                    "sector",
                    "employee_band",
                    "country",
                    "email_domain_type",
                    "job_function",
                    "seniority",
                ],
                "data": [
                    [
                        "X1",
                        "2026-10-05T10:00:00+02:00",
                        "demo_request",
                        "manufacturing",
                        "50-249",
                        "FR",
                        "corporate",
                        "finance",
                        "c_level",
                    ]
                ],
            }
        }
    ).encode()
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                req = urllib.request.Request(
                    f"http://127.0.0.1:{port}/invocations",
                    data=body,
                    headers={"Content-Type": "application/json"},
                )
                with urllib.request.urlopen(req, timeout=5) as resp:
                    out = json.loads(resp.read())
                break
            except OSError:
                assert proc.poll() is None, "mlflow models serve exited"
                assert time.monotonic() < deadline, "mlflow models serve did not start in 90 s"
                time.sleep(1)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    pred = out["predictions"][0]
    assert set(pred) == {"p_accepted", "p_opportunity"}
    assert 0 < pred["p_accepted"] < 1 and 0 < pred["p_opportunity"] < 1

"""Everything the dashboard reads or writes, and nothing else: the store, MLflow and the API.

The store is read through ``scoring_service.store`` only; MLflow gives the champion and the
model versions; a policy change is a ``POST /v1/policy`` (the dashboard never writes to the
store). No Streamlit here: ``dashboard/ui.py`` wraps these functions in bounded caches, and
the benchmark and tests call them directly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dashboard.lead_table import build_lead_table, latest_activity
from dashboard.metrics import SEGMENTS
from feature_defs.contract import DEFAULT_POLICY, check_policy
from feature_defs.fields import FieldSet
from feature_defs.policy import Policy, parse_policy
from feature_defs.yaml_io import read_yaml
from scoring_service.store import Store

DEFAULT_API_URL = "http://127.0.0.1:8000"


class DashboardError(RuntimeError):
    """Something the user can act on (API down, key refused, policy rejected): shown as is."""


@dataclass(frozen=True)
class History:
    """One consistent read of the store; never mutated (the caches hand out the same object)."""

    leads: pd.DataFrame
    events: pd.DataFrame
    scores: pd.DataFrame
    policy: Policy
    policy_version: int | None  # None: the store has no policy yet, the bundled file is shown
    policy_body: dict[str, Any]
    policy_versions: pd.DataFrame
    decisions: pd.DataFrame
    as_of: pd.Timestamp  # the latest lead or event: what "open" and "breached" are measured at


@dataclass(frozen=True)
class Champion:
    version: str
    run_id: str
    bundle: Any  # training.bundle.LeadScoreBundle (imported lazily: mlflow is slow to import)


def store_url() -> str | None:
    """The store the service uses (HANDOFF_DATABASE_URL), else the default SQLite file."""
    return os.environ.get("HANDOFF_DATABASE_URL") or None


def open_store(url: str | None) -> Store:
    """The store, without migrating it: the dashboard must not change the schema under the API."""
    return Store.open(url, upgrade=False)


def store_version(store: Store) -> tuple[int, ...]:
    """A cheap fingerprint of the store's contents: the cache key of everything read from it."""
    return tuple(
        store.count(t) for t in ("leads", "events", "scores", "policy_versions", "decision_log")
    )


def read_history(store: Store, fields: FieldSet) -> History:
    """Leads, events, latest scores, the policy in force and its history, the decision log."""
    latest = store.latest_policy()
    if latest is None:
        body = read_yaml(DEFAULT_POLICY)
        source: str | Path = DEFAULT_POLICY
        version = None
    else:
        body = latest["body"]
        version = int(latest["version"])
        source = f"policy version {version}"
    policy = check_policy(parse_policy(body, source=source), fields, source=source)
    leads = store.read_leads()
    events = store.read_events()
    return History(
        leads=leads,
        events=events,
        scores=store.read_scores(latest_only=True),
        policy=policy,
        policy_version=version,
        policy_body=body,
        policy_versions=store.read_policy_versions(),
        decisions=store.read_decisions(),
        as_of=latest_activity(leads["created_at"], events["occurred_at"]),
    )


def configure_mlflow() -> str:
    """The same tracking store as training (sqlite:///mlruns/mlflow.db or MLFLOW_TRACKING_URI)."""
    from training.register import configure_tracking

    return configure_tracking()


def load_champion() -> Champion | None:
    """The model version behind the ``champion`` alias, or None when nothing was promoted."""
    from training import register

    mv = register.champion_version()
    if mv is None:
        return None
    bundle = register.load_bundle(f"models:/{register.MODEL_NAME}/{mv.version}")
    return Champion(version=str(mv.version), run_id=str(mv.run_id), bundle=bundle)


def champion_predictions(champion: Champion, leads: pd.DataFrame) -> pd.DataFrame:
    """The champion's two heads and 0-100 score for every lead: lead_id, p_accepted, ...

    Stored scores are whatever scored the lead at the time (the old scorecard for the history),
    so calibration and threshold what-ifs use the champion's own, recomputed, probabilities.
    """
    columns = ["lead_id", "champion_p_accepted", "champion_p_opportunity", "champion_score"]
    if leads.empty:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in columns}).astype(
            {"lead_id": object}
        )
    out = champion.bundle.predict(leads)
    return pd.DataFrame(
        {
            "lead_id": leads["lead_id"].to_numpy(),
            "champion_p_accepted": out["p_accepted"].to_numpy(),
            "champion_p_opportunity": out["p_opportunity"].to_numpy(),
            "champion_score": out["score"].to_numpy(),
        }
    )


def champion_reasons(
    champion: Champion, leads: pd.DataFrame, policy: Policy, *, top: int = 3
) -> pd.DataFrame:
    """The champion's top drivers per lead, long: lead_id, feature, label, points."""
    from training.score import score_leads

    columns = ["lead_id", "feature", "label", "points"]
    if leads.empty:
        return pd.DataFrame(columns=columns)
    typed, _ = champion.bundle.prepare(leads)
    scored = score_leads(champion.bundle, typed, policy, top=top, apply_exclusions=False)
    rows = [
        (lead_id, r.get("feature"), r.get("label"), float(r.get("points", np.nan)))
        for lead_id, reasons in zip(scored["lead_id"], scored["reasons"])
        for r in reasons or []
    ]
    return pd.DataFrame(rows, columns=columns)


def champion_version() -> str | None:
    """The version the champion alias points at now (one registry query, no model load)."""
    from training.register import champion_version as current

    mv = current()
    return None if mv is None else str(mv.version)


@dataclass(frozen=True)
class Snapshot:
    """Everything the pages read, built together so it is consistent; never mutated."""

    history: History
    table: pd.DataFrame  # the lead table, plus champion_* columns when there is a champion
    champion: Champion | None
    reasons: pd.DataFrame  # the champion's top drivers of every rejected lead (long)
    options: dict[str, list[str]]  # the values each segment filter offers
    key: tuple  # (store fingerprint, champion version): the cache key of anything derived


def build_snapshot(
    store: Store,
    fields: FieldSet,
    champion: Champion | None,
    previous: Snapshot | None = None,
) -> Snapshot:
    """Read the store and derive the lead table, the champion's scores and reasons.

    Stored leads never change (a different body under the same id is refused), so scores and
    reasons the same champion computed for ``previous`` are reused: a refresh only scores the
    leads that arrived since, and 100k leads are scored once per champion.
    """
    version = store_version(store)
    history = read_history(store, fields)
    table = build_lead_table(
        history.leads, history.events, history.scores, history.policy, as_of=history.as_of
    )
    reasons = pd.DataFrame(columns=["lead_id", "feature", "label", "points"])
    same = (
        previous is not None
        and champion is not None
        and previous.champion is not None
        and previous.champion.version == champion.version
    )
    if champion is not None and not table.empty:
        cols = ["lead_id", "champion_p_accepted", "champion_p_opportunity", "champion_score"]
        known = previous.table[cols] if same else pd.DataFrame(columns=cols)
        new = history.leads[~history.leads["lead_id"].isin(known["lead_id"])]
        preds = _stack(known, champion_predictions(champion, new))
        table = table.merge(preds, on="lead_id", how="left", validate="one_to_one")
        rejected = table.loc[table["handed_off"] & table["rejected"], "lead_id"]
        old = previous.reasons[previous.reasons["lead_id"].isin(rejected)] if same else reasons
        todo = history.leads[
            history.leads["lead_id"].isin(rejected) & ~history.leads["lead_id"].isin(old["lead_id"])
        ]
        reasons = _stack(old, champion_reasons(champion, todo, history.policy))
    options = {
        col: sorted(str(x) for x in table[col].dropna().unique() if x != "") for col in SEGMENTS
    }
    key = (store.url, version, champion.version if champion else None)
    return Snapshot(history, table, champion, reasons, options, key)


def _stack(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """old then new rows; an empty side is skipped (concat with it would blur the dtypes)."""
    parts = [f for f in (old, new) if not f.empty]
    return pd.concat(parts, ignore_index=True) if parts else new


def model_versions() -> pd.DataFrame:
    """Every registered version with its run's headline metrics, newest first."""
    from mlflow import MlflowClient

    from training.register import CHAMPION, MODEL_NAME

    client = MlflowClient()
    versions = client.search_model_versions(f"name='{MODEL_NAME}'")
    champion = None
    try:
        champion = str(client.get_model_version_by_alias(MODEL_NAME, CHAMPION).version)
    except Exception:  # noqa: BLE001 - no alias yet is a normal state
        champion = None
    rows = []
    for mv in versions:
        run = client.get_run(mv.run_id) if mv.run_id else None
        metrics = run.data.metrics if run else {}
        tags = dict(mv.tags or {})
        created = pd.Timestamp(int(mv.creation_timestamp), unit="ms", tz="UTC")
        # promote() tags the version it promotes; versions promoted before it recorded the
        # time were promoted right after registration
        promoted = tags.get("promoted_at") or (created if "gate.passed" in tags else None)
        run_tags = run.data.tags if run else {}
        rows.append(
            {
                "version": int(mv.version),
                "created": created,
                "champion": str(mv.version) == champion,
                "promoted_at": pd.to_datetime(promoted, utc=True),
                "gate_passed": run_tags.get("gate.passed"),
                "forced": run_tags.get("gate.forced") == "True",
                "run_id": mv.run_id,
                **{k: v for k, v in metrics.items() if _headline(k)},
            }
        )
    frame = pd.DataFrame(rows)
    return frame.sort_values("version", ascending=False, ignore_index=True) if rows else frame


def _headline(metric: str) -> bool:
    """Test-month metrics of the model and baselines, not the per-segment or cutoff ones."""
    parts = metric.split(".")
    return len(parts) == 4 and parts[1] == "test"


def shap_importance(run_id: str) -> pd.DataFrame:
    """The run's global SHAP importance (mean |points| per feature and head), as logged."""
    import mlflow

    try:
        path = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path="report/shap_importance.csv"
        )
    except Exception:  # noqa: BLE001 - an old run without the artifact
        return pd.DataFrame()
    return pd.read_csv(path, index_col=0)


def post_policy(
    body: dict[str, Any], *, author: str, comment: str, api_url: str, api_key: str
) -> dict[str, Any]:
    """Create a policy version through the API; the API validates it and stamps the version."""
    import httpx

    try:
        response = httpx.post(
            f"{api_url.rstrip('/')}/v1/policy",
            json={"policy": body, "author": author, "comment": comment},
            headers={"X-API-Key": api_key},
            timeout=10.0,
        )
    except httpx.HTTPError as err:
        raise DashboardError(f"the scoring API at {api_url} did not answer: {err}") from err
    if response.status_code in (401, 403):
        raise DashboardError(
            f"the API refused the key ({response.status_code}): saving a policy needs a key with "
            "the admin scope (HANDOFF_DASHBOARD_API_KEY)"
        )
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail")
        except ValueError:
            detail = response.text
        raise DashboardError(f"the API refused the policy ({response.status_code}): {detail}")
    return response.json()

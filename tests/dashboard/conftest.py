"""A small demo store with a champion trained on it: what the dashboard's page tests run on."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scoring_service.store import Store


@dataclass(frozen=True)
class DemoSite:
    store_url: str
    tracking_uri: str
    history: Any  # training.demo_history.DemoHistory


def _write_history(store: Store, history: Any, contract: Any) -> None:
    """As `handoff demo-data` does: the policy as version 1, then everything in one batch."""
    from scoring_service.active_policy import ensure_policy

    ensure_policy(store, contract.fields)
    store.write_batch(
        leads=history.leads, events=history.events, scores=history.scores, origin="demo"
    )
    for row in history.decisions.to_dict("records"):
        store.add_decision(**row)


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory, contract, champion_publisher) -> Iterator[DemoSite]:
    """3,000 leads over 12 months in SQLite, and a promoted champion trained on them.

    The environment points at both for the session (the dashboard reads it at run time).
    """
    from training.demo_history import generate

    root = tmp_path_factory.mktemp("dashboard_site")
    history = generate(contract, seed=11, months=12, n_leads=3000)
    url = f"sqlite:///{root / 'handoff.db'}"
    store = Store.open(url)
    _write_history(store, history, contract)
    store.dispose()
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "HANDOFF_DATABASE_URL")}
    tracking = champion_publisher(history, contract, root / "mlruns")
    os.environ["HANDOFF_DATABASE_URL"] = url
    try:
        yield DemoSite(url, tracking, history)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def site_env(demo_site: DemoSite, monkeypatch: pytest.MonkeyPatch) -> DemoSite:
    """The demo site's store and registry in the environment of one test."""
    monkeypatch.setenv("HANDOFF_DATABASE_URL", demo_site.store_url)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", demo_site.tracking_uri)
    return demo_site


@pytest.fixture
def empty_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty, migrated store and an empty model registry."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    Store.open(url).dispose()
    monkeypatch.setenv("HANDOFF_DATABASE_URL", url)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    return url

"""Store fixtures: every store test runs on SQLite and on PostgreSQL.

PostgreSQL gets a fresh, uniquely named database per test (safe under pytest-xdist), created
through the server named by HANDOFF_TEST_POSTGRES_URL. Without that variable the PostgreSQL
half is skipped; CI sets it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from scoring_service.store import Store

PG_URL_ENV = "HANDOFF_TEST_POSTGRES_URL"
# The required lead fields of the default contract: the smallest valid API body.
MIN_LEAD = {
    "created_at": "2026-11-20T16:00:00+01:00",
    "source": "demo_request",
    "sector": "manufacturing",
    "employee_band": "50-249",
    "country": "FR",
    "email_domain_type": "corporate",
    "job_function": "finance",
    "seniority": "c_level",
}
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def sqlite_url(path: Path) -> str:
    return URL.create("sqlite", database=str(path)).render_as_string()


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new empty database on the test server, dropped afterwards; yields its URL."""
    base = os.environ.get(PG_URL_ENV)
    if not base:
        pytest.skip(f"{PG_URL_ENV} not set")
    url = make_url(base)
    name = f"handoff_t_{uuid.uuid4().hex[:20]}"
    # psycopg wants a plain libpq URL; CREATE/DROP DATABASE cannot run inside a transaction.
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty database (nothing migrated yet) on each backend."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "handoff.db")
    else:
        with fresh_postgres_database() as url:
            yield url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A migrated, empty store on each backend."""
    opened = Store.open(db_url)
    try:
        yield opened
    finally:
        opened.dispose()


@pytest.fixture(scope="module")
def champion(tmp_path_factory, champion_publisher) -> Iterator[str]:
    """A tracking URI whose registry has a trained, promoted lead-score champion."""
    from feature_defs.contract import load_contract
    from training.demo_history import generate

    old = os.environ.get("MLFLOW_TRACKING_URI")
    try:
        c = load_contract()
        h = generate(c, seed=21, months=12, n_leads=6000)
        yield champion_publisher(h, c, tmp_path_factory.mktemp("mlflow"))
    finally:
        if old is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = old

"""Alembic migrations: 0001 → 0002 keeps data, downgrade works, head matches tables.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from scoring_service.store import Store
from scoring_service.store.store import MIGRATIONS_DIR
from scoring_service.store.tables import metadata

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def tables(store: Store) -> set[str]:
    return set(inspect(store.engine).get_table_names())


def test_upgrade_0001_then_head_keeps_data_and_downgrade(db_url: str) -> None:
    store = Store(db_url)
    try:
        assert store.current_revision() is None
        assert tables(store) == set()

        store.upgrade("0001")
        assert store.current_revision() == "0001"
        assert {"leads", "scores", "events", "policy_versions"} <= tables(store)
        assert "decision_log" not in tables(store)
        store.write_batch(
            leads=[{"lead_id": "L1", "created_at": T0, "sector": "saas"}],
            events=[
                {
                    "event_id": "e1",
                    "lead_id": "L1",
                    "type": "accepted",
                    "occurred_at": T0 + timedelta(hours=2),
                    "rep": "alice",
                }
            ],
            scores=[
                {
                    "lead_id": "L1",
                    "scored_at": T0,
                    "score": 72.0,
                    "handoff": True,
                    "model_version": "m1",
                    "policy_version": 1,
                    "feature_set_version": "fs1",
                }
            ],
            origin="api",
        )
        version = store.add_policy_version({"sla_hours": 24}, author="ops", comment="first")

        store.upgrade("head")
        assert store.current_revision() == "0002"
        assert store.get_lead("L1")["fields"] == {"sector": "saas"}
        assert store.read_events()["rep"].tolist() == ["alice"]
        assert store.read_scores()["score"].tolist() == [72.0]
        assert store.get_policy(version)["body"] == {"sla_hours": 24}
        decision = store.add_decision(
            case="first SLA", decision="24h", reasoning="baseline", decided_by="ops", lead_id="L1"
        )
        assert store.read_decisions()["decision_id"].tolist() == [decision]

        store.downgrade("0001")
        assert store.current_revision() == "0001"
        assert "decision_log" not in tables(store)
        assert store.count("leads") == 1 and store.count("events") == 1

        store.upgrade("head")
        assert store.read_decisions().empty
        assert store.count("scores") == 1
    finally:
        store.dispose()


def test_head_schema_matches_tables_module(store: Store) -> None:
    """tables.py mirrors the migrations; any drift (a column added in one place only) fails."""
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_open_without_upgrade_leaves_database_untouched(db_url: str) -> None:
    with Store.open(db_url, upgrade=False) as store:
        assert store.current_revision() is None
        assert tables(store) == set()


def test_migrations_ship_without_alembic_ini() -> None:
    """The Store configures alembic in code, so the package needs only these files."""
    names = {p.name for p in MIGRATIONS_DIR.iterdir()}
    assert {"env.py", "script.py.mako", "versions"} <= names
    assert "alembic.ini" not in names
    versions = sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("*.py"))
    assert versions == ["0001_initial.py", "0002_decision_log.py"]

"""Lead store behaviour on SQLite and PostgreSQL: round trips, idempotency, all-or-nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError, StatementError

import scoring_service.store.store as store_module
from scoring_service.store import EVENT_TYPES, Store, StoreError, default_database_url
from scoring_service.store.tables import events as events_table
from tests.scoring_service.conftest import sqlite_url

PARIS = timezone(timedelta(hours=2))
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def lead_rows(n: int = 2, **extra: object) -> list[dict[str, object]]:
    return [
        {"lead_id": f"L{i}", "created_at": T0 + timedelta(hours=i), "sector": "saas", **extra}
        for i in range(n)
    ]


def event(event_id: str, lead_id: str = "L0", **kw: object) -> dict[str, object]:
    row: dict[str, object] = {
        "event_id": event_id,
        "lead_id": lead_id,
        "type": "handed_off",
        "occurred_at": T0 + timedelta(days=1),
    }
    row.update(kw)
    return row


def score(lead_id: str, scored_at: datetime, value: float, **kw: object) -> dict[str, object]:
    row: dict[str, object] = {
        "lead_id": lead_id,
        "scored_at": scored_at,
        "score": value,
        "handoff": value >= 50,
        "model_version": "m1",
        "policy_version": 1,
        "feature_set_version": "fs1",
    }
    row.update(kw)
    return row


def counts(store: Store) -> dict[str, int]:
    return {t: store.count(t) for t in ("leads", "events", "scores")}


# --------------------------------------------------------------------------------------------
# Round trips
# --------------------------------------------------------------------------------------------


def test_leads_round_trip_values_and_timezone(store: Store) -> None:
    created = datetime(2024, 3, 1, 11, 30, tzinfo=PARIS)  # 09:30 UTC
    n = store.add_leads(
        [
            {
                "lead_id": "L1",
                "created_at": created,
                "sector": "saas",
                "employees": np.int64(120),
                "budget": np.float64(1500.5),
                "is_partner": np.bool_(True),
                "webinar_at": pd.Timestamp("2024-02-28 10:00", tz="UTC"),
                "phone": None,
                "notes": float("nan"),
            },
            {"lead_id": "L2", "created_at": pd.Timestamp("2024-03-02 08:00", tz="UTC")},
        ],
        origin="import:hubspot",
    )
    assert n == 2
    got = store.get_lead("L1")
    assert got is not None
    assert got["created_at"] == datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
    assert got["created_at"].utcoffset() == timedelta(0)
    assert got["origin"] == "import:hubspot"
    # numpy scalars and Timestamps became JSON natives; missing values were dropped.
    assert got["fields"] == {
        "sector": "saas",
        "employees": 120,
        "budget": 1500.5,
        "is_partner": True,
        "webinar_at": "2024-02-28T10:00:00+00:00",
    }
    assert type(got["fields"]["employees"]) is int
    assert store.get_lead("nope") is None

    frame = store.read_leads()
    assert list(frame.columns[:3]) == ["lead_id", "created_at", "origin"]
    assert set(frame.columns[3:]) == {"sector", "employees", "budget", "is_partner", "webinar_at"}
    assert str(frame["created_at"].dtype) == "datetime64[ns, UTC]"
    assert frame["lead_id"].tolist() == ["L1", "L2"]
    assert frame.loc[0, "created_at"] == pd.Timestamp("2024-03-01 09:30", tz="UTC")
    assert frame.loc[0, "employees"] == 120
    assert pd.isna(frame.loc[1, "sector"])


def test_leads_from_dataframe_with_filters(store: Store) -> None:
    frame = pd.DataFrame(
        {
            "lead_id": ["A", "B", "C"],
            "created_at": pd.to_datetime(
                ["2024-01-01 10:00", "2024-01-02 10:00", "2024-01-03 10:00"]
            ).tz_localize("Europe/Paris"),
            "employees": [10, 20, 30],
            "score_hint": [0.5, np.nan, 0.7],
        },
        index=[7, 8, 9],  # a non-default index must not matter
    )
    assert store.add_leads(frame, origin="demo") == 3
    assert store.get_lead("B")["fields"] == {"employees": 20}
    since = datetime(2024, 1, 2, 9, 0, tzinfo=UTC)  # 10:00 Paris = 09:00 UTC, inclusive
    window = store.read_leads(since=since, until=since + timedelta(days=1))
    assert window["lead_id"].tolist() == ["B"]
    assert store.read_leads(lead_ids=["C", "A", "zz"])["lead_id"].tolist() == ["A", "C"]
    assert store.read_leads(lead_ids=[]).empty


def test_events_round_trip(store: Store) -> None:
    store.add_leads(lead_rows(2), origin="api")
    occurred = datetime(2024, 3, 2, 12, 0, tzinfo=PARIS)
    n = store.add_events(
        [
            event(
                "e1",
                type="contact_attempt",
                occurred_at=occurred,
                rep="alice",
                team="emea",
                channel="phone",
                outcome="reached",
                duration_s=np.float64(95.5),
                next_action="demo",
                payload={"exploration": True, "propensity": np.float64(0.05)},
            ),
            event("e2", "L1", type="won", amount=12000, status="closed", occurred_at=T0 + 2 * DAY),
            {"lead_id": "L1", "type": "rejected", "occurred_at": T0 + timedelta(days=3)},
        ]
    )
    assert n == 3
    frame = store.read_events()
    assert len(frame) == 3
    first = frame.iloc[0]
    assert first["event_id"] == "e1"
    assert first["occurred_at"] == pd.Timestamp("2024-03-02 10:00", tz="UTC")
    assert first["rep"] == "alice" and first["channel"] == "phone"
    assert first["outcome"] == "reached" and first["next_action"] == "demo"
    assert first["duration_s"] == 95.5
    assert first["payload"] == {"exploration": True, "propensity": 0.05}
    assert first["recorded_at"].tzinfo is not None
    generated = frame.loc[frame["type"] == "rejected", "event_id"].item()
    assert len(generated) == 32 and int(generated, 16) >= 0
    won = frame.loc[frame["event_id"] == "e2"].iloc[0]
    assert won["amount"] == 12000.0 and won["payload"] is None and pd.isna(won["rep"])

    assert store.read_events(types=["won", "rejected"])["type"].tolist() == ["won", "rejected"]
    assert store.read_events(lead_ids=["L0"])["event_id"].tolist() == ["e1"]
    later = store.read_events(since=T0 + 2.5 * DAY)
    assert later["type"].tolist() == ["rejected"]
    with pytest.raises(StoreError, match="unknown type"):
        store.read_events(types=["bogus"])


def test_scores_latest_only(store: Store) -> None:
    store.add_leads(lead_rows(2), origin="api")
    day = timedelta(days=1)
    n = store.add_scores(
        [
            score("L0", T0 + day, 40.0, tier="B", reasons=[{"feature": "size", "weight": 0.3}]),
            score("L0", T0 + 3 * day, 80.0, tier="A", due_at=T0 + 4 * day),
            score("L1", T0 + 2 * day, 55.5, probability=0.2, acceptance_probability=0.6),
        ]
    )
    assert n == 3
    latest = store.read_scores()
    assert latest["lead_id"].tolist() == ["L1", "L0"]
    by_lead = latest.set_index("lead_id")
    assert by_lead.loc["L0", "score"] == 80.0 and by_lead.loc["L0", "tier"] == "A"
    assert by_lead.loc["L0", "due_at"] == pd.Timestamp(T0 + 4 * day)
    assert by_lead.loc["L1", "probability"] == 0.2
    assert by_lead.loc["L1", "acceptance_probability"] == 0.6
    assert bool(by_lead.loc["L0", "handoff"]) is True
    assert str(latest["scored_at"].dtype) == "datetime64[ns, UTC]"

    everything = store.read_scores(latest_only=False)
    assert len(everything) == 3
    first = everything.iloc[0]
    assert first["reasons"] == [{"feature": "size", "weight": 0.3}]
    assert first["model_version"] == "m1" and first["policy_version"] == 1

    # As of day 2.5, L0's latest score was still the 40.
    as_of = store.read_scores(until=T0 + 2.5 * day).set_index("lead_id")
    assert as_of.loc["L0", "score"] == 40.0
    # Same scored_at: the later insert wins.
    store.add_scores([score("L1", T0 + 2 * day, 10.0)])
    assert store.read_scores().set_index("lead_id").loc["L1", "score"] == 10.0

    # One lead's scores, as the service reads them.
    one = store.read_scores(lead_ids=["L0"])
    assert one["lead_id"].tolist() == ["L0"] and one["score"].tolist() == [80.0]
    assert store.read_scores(latest_only=False, lead_ids=["L0"])["score"].tolist() == [40.0, 80.0]
    assert store.read_scores(lead_ids=["nope"]).empty


def test_policy_versions(store: Store) -> None:
    assert store.latest_policy() is None
    v1 = store.add_policy_version(
        {"sla_hours": 24, "tiers": ["A", "B"]}, author="ops", comment="v1"
    )
    v2 = store.add_policy_version(
        {"sla_hours": np.int64(8)}, author="cro", comment="faster SLA", name="emea"
    )
    assert v2 > v1
    latest = store.latest_policy()
    assert latest is not None
    assert latest["version"] == v2
    assert latest["body"] == {"sla_hours": 8}
    assert (latest["name"], latest["author"], latest["comment"]) == ("emea", "cro", "faster SLA")
    assert latest["created_at"].tzinfo is not None
    assert store.get_policy(v1)["body"] == {"sla_hours": 24, "tiers": ["A", "B"]}
    assert store.get_policy(9999) is None
    frame = store.read_policy_versions()
    assert frame["version"].tolist() == [v1, v2]
    assert frame["name"].tolist() == ["default", "emea"]
    with pytest.raises(StoreError, match="comment"):
        store.add_policy_version({"a": 1}, author="ops", comment=" ")
    with pytest.raises(StoreError, match="not JSON-serialisable"):
        store.add_policy_version({"a": object()}, author="ops", comment="x")


def test_first_policy_version_is_stored_once_when_workers_start_together(db_url: str) -> None:
    """Workers starting at the same instant on an empty store (each its own connections) all
    find version 1, and only one of them writes it."""
    import threading

    from feature_defs.contract import load_contract
    from scoring_service.active_policy import ensure_policy

    fields = load_contract().fields
    stores = [Store.open(db_url) for _ in range(8)]
    try:
        for s in stores:
            s.latest_policy()  # connections open: the race is on the check and the write
        gate = threading.Barrier(len(stores))

        def start(s: Store) -> int:
            gate.wait()
            return ensure_policy(s, fields)

        with ThreadPoolExecutor(len(stores)) as pool:
            versions = list(pool.map(start, stores))
        frame = stores[0].read_policy_versions()
        assert frame["version"].tolist() == [1], frame
        assert versions == [1] * len(stores)
        later = stores[0].add_policy_version({"a": 1}, author="ops", comment="next")
        assert later == 2  # the version sequence goes on after the guarded first write
    finally:
        for s in stores:
            s.dispose()


def test_decision_log(store: Store) -> None:
    store.add_leads(lead_rows(1), origin="api")
    when = datetime(2024, 3, 5, 18, 0, tzinfo=PARIS)
    first = store.add_decision(
        case="Lead L0 rejected as 'no budget' but won later",
        decision="keep rejection reason",
        reasoning="budget appeared after 3 months",
        decided_by="sales-ops",
        lead_id="L0",
        decided_at=when,
    )
    second = store.add_decision(
        case="SLA for EMEA", decision="8h", reasoning="benchmark", decided_by="cro"
    )
    assert second > first
    frame = store.read_decisions()
    assert list(frame.columns) == [
        "decision_id",
        "lead_id",
        "case",
        "decision",
        "reasoning",
        "decided_by",
        "decided_at",
    ]
    assert frame["case"].tolist()[0] == "Lead L0 rejected as 'no budget' but won later"
    assert frame.loc[0, "decided_at"] == pd.Timestamp("2024-03-05 16:00", tz="UTC")
    assert frame.loc[0, "lead_id"] == "L0" and pd.isna(frame.loc[1, "lead_id"])
    with pytest.raises(StoreError, match="'ghost' is not a stored lead"):
        store.add_decision(case="c", decision="d", reasoning="r", decided_by="x", lead_id="ghost")
    with pytest.raises(StoreError, match="decided_at"):
        store.add_decision(
            case="c", decision="d", reasoning="r", decided_by="x", decided_at=datetime(2024, 1, 1)
        )
    assert store.count("decision_log") == 2


# --------------------------------------------------------------------------------------------
# Idempotency and all-or-nothing
# --------------------------------------------------------------------------------------------


def test_idempotent_reinsert(store: Store) -> None:
    leads = lead_rows(3, employees=12)
    batch = [event("e1"), event("e2", "L1", type="accepted")]
    assert store.write_batch(leads=leads, events=batch, origin="api") == {
        "leads": 3,
        "events": 2,
        "scores": 0,
    }
    before = counts(store)
    # Same leads again, one of them with its int now a float (a CSV with a blank cell).
    again = lead_rows(3, employees=12)
    again[0]["employees"] = 12.0
    assert store.write_batch(leads=again, events=batch, origin="api") == {
        "leads": 0,
        "events": 0,
        "scores": 0,
    }
    assert counts(store) == before
    # A retried event with a new sibling: only the new one counts.
    assert store.add_events([event("e2", "L1", type="accepted"), event("e3", "L2")]) == 1
    assert store.count("events") == 3


def test_conflicting_lead_refused_and_nothing_written(store: Store) -> None:
    store.add_leads(lead_rows(2), origin="api")
    changed = lead_rows(2)
    changed[1]["sector"] = "retail"
    newcomer = {"lead_id": "L9", "created_at": T0, "sector": "saas"}
    with pytest.raises(StoreError, match="'L1'") as err:
        store.write_batch(leads=[*changed, newcomer], events=[event("e1", "L9")], origin="api")
    assert "L0" not in str(err.value)
    assert store.get_lead("L9") is None
    assert counts(store) == {"leads": 2, "events": 0, "scores": 0}
    moved = lead_rows(1)
    moved[0]["created_at"] = T0 + timedelta(minutes=1)
    with pytest.raises(StoreError, match="'L0'"):
        store.add_leads(moved, origin="api")


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"type": "teleported"}, r"events row 2 \(event_id 'bad'\): column 'type'"),
        ({"lead_id": "ghost"}, r"lead_id 'ghost' is not a stored lead"),
        ({"occurred_at": T0 - timedelta(days=1)}, r"'bad'.*before lead 'L0' was created"),
        ({"occurred_at": datetime(2024, 3, 5)}, r"column 'occurred_at' naive datetime"),
        ({"duration_s": -3.0}, r"column 'duration_s' must be within"),
        ({"rep": "x" * 65}, r"column 'rep' is longer than 64"),
        ({"payload": [1, 2]}, r"column 'payload' must be a JSON object"),
    ],
)
def test_one_bad_event_writes_nothing(store: Store, bad: dict[str, object], message: str) -> None:
    events = [event("ok1"), event("ok2", "L1"), event("bad", **bad)]
    scores = [score("L0", T0 + timedelta(days=1), 70.0)]
    with pytest.raises(StoreError, match=message):
        store.write_batch(leads=lead_rows(2), events=events, scores=scores, origin="api")
    assert counts(store) == {"leads": 0, "events": 0, "scores": 0}
    assert store.is_empty()


def test_bad_event_as_dataframe_writes_nothing(store: Store) -> None:
    frame = pd.DataFrame([event("ok1"), event("ok2", "L1"), event("bad", type="teleported")])
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True)
    with pytest.raises(StoreError, match=r"events row 2 \(event_id 'bad'\): column 'type'"):
        store.write_batch(leads=lead_rows(2), events=frame, origin="api")
    assert counts(store) == {"leads": 0, "events": 0, "scores": 0}
    good = frame.iloc[:2]
    naive = good.assign(occurred_at=good["occurred_at"].dt.tz_localize(None))
    with pytest.raises(StoreError, match="column 'occurred_at' holds naive datetimes"):
        store.write_batch(leads=lead_rows(2), events=naive, origin="api")
    assert store.write_batch(leads=lead_rows(2), events=good, origin="api")["events"] == 2


def test_write_batch_is_one_transaction(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure after leads and events were inserted rolls both back (e.g. the disk fills)."""
    real = Store._insert_new

    def fail_after_events(self: Store, conn: Any, table: Any, rows: Any, **kw: Any) -> None:
        real(self, conn, table, rows, **kw)
        if table.name == "events":
            raise OSError("disk full")

    monkeypatch.setattr(Store, "_insert_new", fail_after_events)
    with pytest.raises(OSError, match="disk full"):
        store.write_batch(leads=lead_rows(2), events=[event("e1")], origin="api")
    monkeypatch.undo()
    assert counts(store) == {"leads": 0, "events": 0, "scores": 0}
    assert store.write_batch(leads=lead_rows(2), events=[event("e1")], origin="api")["events"] == 1


def test_large_id_lists_are_chunked(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """IN (...) lists are split for the driver's parameter limit; results stay complete, ordered."""
    monkeypatch.setattr(store_module, "_IN_CHUNK", 3)
    leads = lead_rows(10)
    assert store.add_leads(leads, origin="api") == 10
    assert store.add_leads(leads, origin="api") == 0
    batch = [
        event(f"e{i}", f"L{i}", occurred_at=T0 + timedelta(days=1, minutes=-i)) for i in range(8)
    ]
    assert store.add_events(batch) == 8
    assert store.add_events(batch) == 0
    wanted = [f"L{i}" for i in (9, 1, 5, 3, 7)]
    assert store.read_leads(lead_ids=wanted)["lead_id"].tolist() == ["L1", "L3", "L5", "L7", "L9"]
    got = store.read_events(lead_ids=[f"L{i}" for i in range(8)])["event_id"].tolist()
    assert got == [f"e{i}" for i in reversed(range(8))]


def test_concurrent_writers(db_url: str) -> None:
    """Two processes' worth of writers on one database: no lost batch, no 'database is locked'."""
    with Store.open(db_url) as first:
        first.add_leads(lead_rows(1), origin="api")

    def writer(name: str) -> None:
        with Store.open(db_url) as store:
            for i in range(15):
                store.write_batch(
                    leads=[{"lead_id": f"{name}{i}", "created_at": T0}],
                    events=[event(f"{name}-e{i}"), event("shared", "L0")],
                    origin="api",
                )

    with ThreadPoolExecutor(max_workers=3) as pool:
        for future in [pool.submit(writer, name) for name in ("a", "b", "c")]:
            future.result()
    with Store.open(db_url) as store:
        assert store.count("leads") == 1 + 3 * 15
        assert store.count("events") == 1 + 3 * 15


def test_event_before_lead_creation_refused(store: Store) -> None:
    store.add_leads(lead_rows(1), origin="api")
    with pytest.raises(StoreError) as err:
        store.add_events([event("early", occurred_at=T0 - timedelta(seconds=1))])
    assert "'early'" in str(err.value) and "'L0'" in str(err.value)
    assert store.add_events([event("on-time", occurred_at=T0)]) == 1


def test_unknown_event_type_refused_by_store_and_database(store: Store) -> None:
    store.add_leads(lead_rows(1), origin="api")
    with pytest.raises(StoreError, match="'teleported' is not one of"):
        store.add_events([event("e1", type="teleported")])
    # The CHECK constraint from the migration holds even for writers that bypass the Store.
    row = event("e1", type="teleported", recorded_at=T0 + timedelta(days=2))
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.execute(insert(events_table), row)
    assert store.count("events") == 0
    assert set(EVENT_TYPES) >= {"handed_off", "accepted", "rejected", "won", "lost"}


def test_unknown_lead_refused(store: Store) -> None:
    with pytest.raises(StoreError, match=r"scores row 0 \(lead_id 'ghost'\).*not a stored lead"):
        store.add_scores([score("ghost", T0, 50.0)])
    with pytest.raises(StoreError, match="'ghost' is not a stored lead"):
        store.add_events([event("e1", "ghost")])


def test_naive_datetimes_refused_with_column_named(store: Store) -> None:
    naive = datetime(2024, 3, 1, 9, 0)
    with pytest.raises(StoreError, match=r"leads row 0 \(lead_id 'L0'\): column 'created_at'"):
        store.add_leads([{"lead_id": "L0", "created_at": naive}], origin="api")
    store.add_leads(lead_rows(1), origin="api")
    with pytest.raises(StoreError, match="column 'due_at' naive datetime"):
        store.add_scores([score("L0", T0, 50.0, due_at=naive)])
    with pytest.raises(StoreError, match="column 'since'"):
        store.read_events(since=naive)
    frame = pd.DataFrame({"lead_id": ["X"], "created_at": [pd.Timestamp("2024-01-01")]})
    with pytest.raises(StoreError, match="column 'created_at' holds naive datetimes"):
        store.add_leads(frame, origin="api")
    # Even a raw Core insert through the engine cannot store a naive datetime.
    row = event("e1", recorded_at=naive)
    with pytest.raises(StatementError, match="column 'recorded_at'") as err:
        with store.engine.begin() as conn:
            conn.execute(insert(events_table), row)
    assert isinstance(err.value.orig, StoreError)
    assert store.count("events") == 0 and store.count("leads") == 1


def test_other_refusals(store: Store) -> None:
    with pytest.raises(StoreError, match="repeated within the batch: 'L0'"):
        store.add_leads([*lead_rows(1), *lead_rows(1)], origin="api")
    with pytest.raises(StoreError, match="origin"):
        store.add_leads(lead_rows(1), origin="")
    with pytest.raises(StoreError, match="field name 'origin' is reserved"):
        store.add_leads(lead_rows(1, origin="x"), origin="api")
    with pytest.raises(StoreError, match="field 'tags' must be a scalar"):
        store.add_leads(lead_rows(1, tags=["a"]), origin="api")
    with pytest.raises(StoreError, match="unknown column"):
        store.add_events([event("e1", colour="red")])
    with pytest.raises(StoreError, match="column 'score' must be within"):
        store.add_scores([score("L0", T0, 101.0)])
    with pytest.raises(StoreError, match="unknown table"):
        store.count("users")
    assert store.is_empty()


# --------------------------------------------------------------------------------------------
# Empty reads, SQLite settings, default URL
# --------------------------------------------------------------------------------------------


def test_empty_store_reads_have_columns_and_dtypes(store: Store) -> None:
    assert store.is_empty()
    leads = store.read_leads()
    assert list(leads.columns) == ["lead_id", "created_at", "origin"]
    assert str(leads["created_at"].dtype) == "datetime64[ns, UTC]"
    scores = store.read_scores()
    assert list(scores.columns) == [
        "score_id",
        "lead_id",
        "scored_at",
        "score",
        "probability",
        "acceptance_probability",
        "tier",
        "handoff",
        "excluded_reason",
        "due_at",
        "model_version",
        "policy_version",
        "feature_set_version",
        "reasons",
    ]
    assert scores["score"].dtype == "float64" and scores["policy_version"].dtype == "int64"
    assert scores["handoff"].dtype == "bool"
    assert str(scores["due_at"].dtype) == "datetime64[ns, UTC]"
    events = store.read_events()
    assert list(events.columns) == [
        "event_id",
        "lead_id",
        "type",
        "occurred_at",
        "recorded_at",
        "rep",
        "team",
        "channel",
        "outcome",
        "duration_s",
        "reason",
        "status",
        "next_action",
        "amount",
        "payload",
    ]
    assert str(events["occurred_at"].dtype) == "datetime64[ns, UTC]"
    assert events["amount"].dtype == "float64"
    policies = store.read_policy_versions()
    assert list(policies.columns) == ["version", "name", "body", "author", "comment", "created_at"]
    assert "case" in store.read_decisions().columns
    assert all(frame.empty for frame in (leads, scores, events, policies, store.read_decisions()))
    assert store.read_scores(latest_only=False).empty
    # Same dtypes once there is data.
    store.add_leads(lead_rows(1), origin="api")
    store.add_scores([score("L0", T0, 60.0)])
    assert (store.read_scores().dtypes == scores.dtypes).all()


def test_sqlite_pragmas_and_wal(tmp_path: Path) -> None:
    with Store.open(sqlite_url(tmp_path / "wal.db")) as store, store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10000
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
    assert (tmp_path / "wal.db").exists()


def test_upgrade_on_open_keeps_data(db_url: str) -> None:
    with Store.open(db_url) as store:
        store.add_leads(lead_rows(2), origin="api")
    with Store.open(db_url) as store:
        assert store.count("leads") == 2
        assert store.current_revision() == "0002"


def test_default_database_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HANDOFF_DATABASE_URL", "postgresql+psycopg://u:p@db:5432/handoff")
    assert default_database_url() == "postgresql+psycopg://u:p@db:5432/handoff"
    monkeypatch.delenv("HANDOFF_DATABASE_URL")
    assert default_database_url() == "sqlite:///data/handoff.db"
    # A plain postgresql:// URL (as hosting platforms hand out) uses the psycopg 3 driver we ship.
    assert Store("postgresql://u:p@db/handoff").engine.url.drivername == "postgresql+psycopg"
    monkeypatch.chdir(tmp_path)
    with Store.open() as store:
        store.add_leads(lead_rows(1), origin="api")
    assert (tmp_path / "data" / "handoff.db").is_file()


_scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.text(max_size=20),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(fields=st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True), _scalars))
def test_lead_fields_round_trip_property(tmp_path: Path, fields: dict[str, object]) -> None:
    """Whatever scalar fields go in come back equal, and re-adding them is a no-op."""
    fields.pop("origin", None)
    with Store.open(sqlite_url(tmp_path / "prop.db")) as store:
        lead_id = f"P{store.count('leads')}"
        row = {"lead_id": lead_id, "created_at": T0, **fields}
        assert store.add_leads([row], origin="api") == 1
        assert store.add_leads([row], origin="api") == 0
        assert store.get_lead(lead_id)["fields"] == fields

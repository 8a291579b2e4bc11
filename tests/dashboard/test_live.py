"""The dashboard's data refresh: stale-while-revalidate, and incremental scoring of new leads."""

from __future__ import annotations

import threading

import pandas as pd
import pytest

from dashboard.live import LiveSnapshot


class Counter:
    def __init__(self) -> None:
        self.fingerprint = 0
        self.builds: list[object] = []
        self.gate = threading.Event()
        self.gate.set()
        self.fail = False

    def build(self, previous: object) -> str:
        self.gate.wait(10)
        if self.fail:
            raise RuntimeError("store unreachable")
        self.builds.append(previous)
        return f"snapshot {len(self.builds)}"


def test_first_get_builds_then_serves_without_rebuilding() -> None:
    c = Counter()
    live = LiveSnapshot(c.build, lambda: c.fingerprint, check_every=0.0)
    assert live.get() == "snapshot 1"
    assert live.get() == "snapshot 1"  # fingerprint unchanged: no rebuild
    live.wait()
    assert c.builds == [None]


def test_a_change_is_rebuilt_in_the_background_from_the_previous_snapshot() -> None:
    c = Counter()
    live = LiveSnapshot(c.build, lambda: c.fingerprint, check_every=0.0)
    live.get()
    c.fingerprint = 1
    c.gate.clear()  # the rebuild blocks: the page must still get the old snapshot at once
    assert live.get() == "snapshot 1"
    assert live.refreshing
    c.gate.set()
    live.wait(10)
    assert live.get() == "snapshot 2"
    assert c.builds == [None, "snapshot 1"]  # the refresh starts from what was served


def test_check_interval_limits_fingerprint_reads() -> None:
    reads = []
    live = LiveSnapshot(lambda prev: "s", lambda: reads.append(1) or 0, check_every=3600)
    for _ in range(5):
        live.get()
    assert len(reads) == 1  # the first build only; the next check is an hour away


def test_a_failed_refresh_keeps_the_old_snapshot_and_says_why() -> None:
    c = Counter()
    live = LiveSnapshot(c.build, lambda: c.fingerprint, check_every=0.0)
    live.get()
    c.fingerprint, c.fail = 1, True
    live.get()
    live.wait(10)
    assert live.get() == "snapshot 1"
    assert live.last_error == "RuntimeError: store unreachable"


@pytest.fixture
def small_store(tmp_path, contract):
    from scoring_service.active_policy import ensure_policy
    from scoring_service.store import Store
    from training.demo_history import generate

    history = generate(contract, seed=3, months=6, n_leads=800)
    store = Store.open(f"sqlite:///{tmp_path / 'h.db'}")
    ensure_policy(store, contract.fields)
    yield store, history
    store.dispose()


class CountingBundle:
    """A champion's bundle that records which leads it was asked to score."""

    def __init__(self, bundle) -> None:  # noqa: ANN001
        self.bundle = bundle
        self.predicted: list[str] = []

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self.bundle, name)

    def predict(self, leads: pd.DataFrame) -> pd.DataFrame:
        self.predicted += list(leads["lead_id"])
        return self.bundle.predict(leads)


def test_refresh_scores_only_new_leads_and_matches_a_full_build(
    small_store, contract, demo_site
) -> None:
    from dashboard import data

    store, history = small_store
    leads, events = history.leads, history.events
    first_ids = set(leads["lead_id"].iloc[:500])
    store.write_batch(
        leads=leads[leads["lead_id"].isin(first_ids)],
        events=events[events["lead_id"].isin(first_ids)],
        origin="demo",
    )
    data.configure_mlflow()
    champion = data.load_champion()
    counting = CountingBundle(champion.bundle)
    champ = data.Champion(champion.version, champion.run_id, counting)
    first = data.build_snapshot(store, contract.fields, champ)
    assert len(counting.predicted) == 500

    store.write_batch(
        leads=leads[~leads["lead_id"].isin(first_ids)],
        events=events[~events["lead_id"].isin(first_ids)],
        origin="demo",
    )
    counting.predicted.clear()
    refreshed = data.build_snapshot(store, contract.fields, champ, first)
    assert sorted(counting.predicted) == sorted(set(leads["lead_id"]) - first_ids)

    full = data.build_snapshot(store, contract.fields, champion)
    cols = ["lead_id", "champion_score", "champion_p_opportunity"]
    a = refreshed.table[cols].sort_values("lead_id", ignore_index=True)
    b = full.table[cols].sort_values("lead_id", ignore_index=True)
    pd.testing.assert_frame_equal(a, b)
    key = ["lead_id", "feature"]
    pd.testing.assert_frame_equal(
        refreshed.reasons.sort_values(key, ignore_index=True),
        full.reasons.sort_values(key, ignore_index=True),
    )
    assert len(full.reasons) > 0

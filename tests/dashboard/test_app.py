"""Each dashboard page through Streamlit's AppTest: it runs, and shows the numbers we compute
here independently from the raw store rows (plain pandas, not the dashboard's metrics)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from scoring_service.store import Store

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
PAGES = ["sla_page", "threshold_page", "rejections_page", "calibration_page", "model_page"]


def _app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    return at


def _whole_history(at: AppTest, leads: pd.DataFrame) -> AppTest:
    """Set the sidebar period to the whole history (the default is the last 12 months)."""
    first = leads["created_at"].min().tz_convert("Europe/Paris").date()
    last = leads["created_at"].max().tz_convert("Europe/Paris").date()
    at.date_input(key="_w_period").set_value((first, last)).run()
    assert not at.exception, at.exception
    return at


def _page(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def _metric(at: AppTest, label: str) -> str:
    found = [m.value for m in at.metric if m.label == label]
    assert found, f"no metric {label!r}; have {[m.label for m in at.metric]}"
    return found[0]


def _raw(site) -> tuple[pd.DataFrame, pd.DataFrame]:
    store = Store.open(site.store_url, upgrade=False)
    try:
        return store.read_leads(), store.read_events()
    finally:
        store.dispose()


def test_sla_overview_numbers(site_env) -> None:
    leads, events = _raw(site_env)
    at = _whole_history(_app(), leads)
    at = _page(at, "sla_page")
    handed = set(events.loc[events["type"] == "handed_off", "lead_id"])
    assert _metric(at, "Handed off (MQL)") == f"{len(handed):,}"
    # rejections that carry a reason: the last decision of a handed-off lead is a rejection and
    # no opportunity followed (an opportunity overrides a rejection)
    dec = events[events["type"].isin(["accepted", "rejected"]) & events["lead_id"].isin(handed)]
    last = dec.sort_values("occurred_at", kind="mergesort").groupby("lead_id").tail(1)
    opp = set(events.loc[events["type"] == "opportunity", "lead_id"])
    rejected = last[(last["type"] == "rejected") & ~last["lead_id"].isin(opp)]
    with_reason = rejected["reason"].notna() & (rejected["reason"] != "")
    assert _metric(at, "Rejections with a reason") == f"{100 * with_reason.mean():.0f}%"
    conversion = len(opp & handed) / len(handed)
    assert _metric(at, "MQL -> opportunity") == f"{100 * conversion:.1f}%"


def test_sla_overview_segment_filter(site_env) -> None:
    leads, events = _raw(site_env)
    at = _whole_history(_app(), leads)
    at.multiselect(key="_w_seg_source").set_value(["demo_request"]).run()
    at = _page(at, "sla_page")
    demo_ids = set(leads.loc[leads["source"] == "demo_request", "lead_id"])
    handed = set(events.loc[events["type"] == "handed_off", "lead_id"]) & demo_ids
    assert _metric(at, "Handed off (MQL)") == f"{len(handed):,}"


def test_threshold_page_numbers_and_diff(site_env) -> None:
    from dashboard import data
    from dashboard.threshold import last_full_months
    from feature_defs.contract import load_contract

    leads, events = _raw(site_env)
    at = _page(_app(), "threshold_page")
    at.slider[0].set_value(60).run()
    assert not at.exception, at.exception
    # independent: the champion's scores on the leads of the 3 last full months, >= 60 and not
    # excluded by the stored scores' exclusion reason
    data.configure_mlflow()
    champion = data.load_champion()
    policy = load_contract().policy
    start, end = last_full_months(leads["created_at"].max(), policy, 3)
    window = leads[(leads["created_at"] >= start) & (leads["created_at"] < end)]
    scores = champion.bundle.predict(window)["score"].to_numpy()
    store = Store.open(site_env.store_url, upgrade=False)
    excluded = set(store.read_scores().dropna(subset=["excluded_reason"])["lead_id"])
    store.dispose()
    mqls = int(((scores >= 60) & ~window["lead_id"].isin(excluded).to_numpy()).sum())
    assert _metric(at, "MQLs per month") == f"{mqls / 3:,.0f}"
    diff = at.dataframe[-2].value  # the diff against the policy in force, above the form
    assert set(diff["key"]) == {"handoff_threshold", "tiers[cold].min_score"}
    assert diff.loc[diff["key"] == "handoff_threshold", "after"].item() == "60"


def test_threshold_page_refuses_crossed_cutoffs(site_env) -> None:
    at = _page(_app(), "threshold_page")
    at.slider[1].set_value(40).run()  # warm below the threshold (50)
    assert not at.exception
    assert any("The cutoffs must rise" in e.value for e in at.error)


def test_threshold_page_saves_through_the_api(site_env, tmp_path, monkeypatch) -> None:
    """Saving posts to a real API (uvicorn in a thread) and the store gets the new version."""
    import socket

    import uvicorn

    from scoring_service.config import Settings
    from scoring_service.main import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(dev=True, database_url=site_env.store_url)
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)
        monkeypatch.setenv("HANDOFF_API_URL", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("HANDOFF_DASHBOARD_API_KEY", "dev-admin-key")
        store = Store.open(site_env.store_url, upgrade=False)
        before = store.latest_policy()["version"]
        at = _page(_app(), "threshold_page")
        at.slider[0].set_value(55).run()
        at.text_input[0].input("Marketing ops")
        at.text_area[0].input("test: threshold 55")
        at.button[0].click().run()
        assert not at.exception, at.exception
        assert any("saved" in s.value for s in at.success), [e.value for e in at.error]
        latest = store.latest_policy()
        store.dispose()
        assert latest["version"] == before + 1
        assert latest["body"]["handoff_threshold"] == 55
        assert latest["author"] == "Marketing ops"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_threshold_page_save_needs_author_and_reason(site_env) -> None:
    at = _page(_app(), "threshold_page")
    at.slider[0].set_value(52).run()
    at.button[0].click().run()
    assert not at.exception
    assert any("author and a reason are required" in e.value for e in at.error)


def test_rejection_causes(site_env) -> None:
    leads, events = _raw(site_env)
    at = _whole_history(_app(), leads)
    at = _page(at, "rejections_page")
    # superficial acceptances: every lead shown is one the demo generator made superficial
    frames = [d.value for d in at.dataframe]
    by_rep = next(
        f for f in frames if list(f.columns) == ["rep", "team", "accepted", "superficial", "share"]
    )
    shown = next(
        f for f in frames if list(f.columns)[:4] == ["lead_id", "created_at", "month", "rep"]
    )
    truth = site_env.history.ground_truth.set_index("lead_id")["superficial"].astype(bool)
    assert len(shown) > 10
    assert truth.loc[shown["lead_id"]].all()
    assert by_rep["superficial"].sum() == len(shown)
    # most come from the two reps the demo gives the habit (Hugo, Nathan)
    top = set(by_rep.nlargest(2, "superficial")["rep"])
    assert top == {"Hugo", "Nathan"}
    # the decision log lists every decision stored
    log = at.dataframe[-1].value
    assert len(log) == len(site_env.history.decisions)


def test_calibration_numbers(site_env) -> None:
    from sklearn.metrics import brier_score_loss

    from dashboard import data

    leads, events = _raw(site_env)
    at = _whole_history(_app(), leads)
    at = _page(at, "calibration_page")
    # independent: accepted = last explicit decision accepted, or an opportunity, or a contact
    # without a rejection (the policy's explicit_or_first_action); rejected otherwise
    handed = set(events.loc[events["type"] == "handed_off", "lead_id"])
    ev = events[events["lead_id"].isin(handed)]
    dec = ev[ev["type"].isin(["accepted", "rejected"])].sort_values("occurred_at", kind="mergesort")
    last = dec.groupby("lead_id")["type"].last()
    opp = set(ev.loc[ev["type"] == "opportunity", "lead_id"])
    contact = set(ev.loc[ev["type"] == "contact_attempt", "lead_id"])
    y = {}
    for lead in handed:
        said = last.get(lead)
        if lead in opp or said == "accepted" or (lead in contact and said != "rejected"):
            y[lead] = 1.0
        elif said == "rejected":
            y[lead] = 0.0
    assert _metric(at, "Leads with a known outcome") == f"{len(y):,}"
    data.configure_mlflow()
    champion = data.load_champion()
    known = leads[leads["lead_id"].isin(list(y))]
    p = champion.bundle.predict(known)["p_accepted"].to_numpy()
    truth = np.array([y[i] for i in known["lead_id"]])
    assert _metric(at, "Brier score") == f"{brier_score_loss(truth, p):.4f}"


def test_model_page_lists_the_champion(site_env) -> None:
    from mlflow import MlflowClient

    at = _page(_app(), "model_page")
    client = MlflowClient(site_env.tracking_uri)
    mv = client.get_model_version_by_alias("lead-score", "champion")
    auc = client.get_run(mv.run_id).data.metrics["accepted.test.model.roc_auc"]
    table = at.dataframe[0].value
    row = table[(table["version"] == int(mv.version)) & (table["model"] == "model")]
    assert row["champion"].item()
    assert row["roc_auc"].item() == pytest.approx(auc)
    assert any("champion" in str(s.value).lower() for s in at.subheader)


@pytest.mark.parametrize("page", PAGES)
def test_empty_store_shows_a_helpful_state(empty_site, page) -> None:
    at = _page(_app(), page)
    text = " ".join(str(x.value) for x in [*at.info, *at.warning])
    assert "store is empty" in text or "No model registered" in text, text


def test_no_champion_yet(site_env, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'none.db'}")
    at = _page(_app(), "sla_page")
    assert _metric(at, "Handed off (MQL)")  # the SLA page works from the stored history
    at = _page(at, "calibration_page")
    assert any("No champion model yet" in w.value for w in at.warning)
    at = _page(at, "threshold_page")
    assert any("No champion model yet" in w.value for w in at.warning)

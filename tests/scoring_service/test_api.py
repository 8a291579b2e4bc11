"""The /v1 API against a real trained champion, on SQLite and PostgreSQL stores."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from scoring_service.config import DEV_KEY, Settings
from tests.scoring_service.conftest import (
    BACKENDS,
    MIN_LEAD,
    fresh_postgres_database,
    sqlite_url,
)

ADMIN = {"X-API-Key": DEV_KEY}
LEAD = {"lead_id": "API-1", **MIN_LEAD}


@pytest.fixture(params=BACKENDS)
def client(request, champion, tmp_path) -> Iterator[TestClient]:
    from scoring_service.main import create_app

    if request.param == "sqlite":
        ctx = None
        url = sqlite_url(tmp_path / "api.db")
    else:
        ctx = fresh_postgres_database()
        url = ctx.__enter__()
    try:
        app = create_app(Settings(dev=True, database_url=url, max_body_bytes=200_000, max_batch=50))
        with TestClient(app) as c:
            yield c
    finally:
        if ctx is not None:
            ctx.__exit__(None, None, None)


def test_create_lead_scores_tiers_and_stores(client) -> None:
    r = client.post("/v1/leads", json=LEAD, headers=ADMIN)
    assert r.status_code == 201, r.text
    body = r.json()
    assert 0 <= body["score"] <= 100
    assert body["score"] == pytest.approx(100 * body["acceptance_probability"], abs=0.01)
    assert body["policy_version"] == 1 and body["model_version"] == "1"
    assert body["feature_set_version"] == "b2b_default@1.0"
    if body["handoff"]:
        # created Friday 16:00 Paris (Friday closes at 17:00): hot = 4 business hours
        # (Fri 1h + Mon 9:00-12:00) -> Mon 12:00 Paris; warm and cold are capped at 24 business
        # hours for a demo request: Fri 1h + Mon, Tue, Wed 7.5h each = 23.5h -> Thu 9:30 Paris
        expected = {
            "hot": "2026-11-23T11:00:00Z",
            "warm": "2026-11-26T08:30:00Z",
            "cold": "2026-11-26T08:30:00Z",
        }[body["tier"]]
        assert body["due_at"] == expected
    assert len(body["reasons"]) == 3
    assert all(r["label"].endswith("pts") for r in body["reasons"])
    again = client.post("/v1/leads", json=LEAD, headers=ADMIN)
    assert again.status_code == 200 and again.json()["score"] == body["score"]
    clash = client.post("/v1/leads", json={**LEAD, "sector": "retail"}, headers=ADMIN)
    assert clash.status_code == 409
    got = client.get("/v1/leads/API-1", headers=ADMIN).json()
    assert got["fields"]["source"] == "demo_request"
    assert got["score"]["score"] == body["score"]
    assert got["sla"]["state"] in ("breached", "on_track", "at_risk", "not_applicable")


def test_exclusions_are_never_handed_off(client) -> None:
    r = client.post("/v1/score", json={**LEAD, "seniority": "student"}, headers=ADMIN).json()
    assert r["excluded"] == "student" and r["handoff"] is False and r["tier"] is None
    r = client.post("/v1/score", json={**LEAD, "country": "US"}, headers=ADMIN).json()
    assert r["excluded"] == "country_not_covered" and r["handoff"] is False


@pytest.mark.parametrize(
    ("change", "loc", "msg"),
    [
        ({"source": "fax"}, ["body", "source"], "must be one of"),
        ({"page_views": -1}, ["body", "page_views"], "must be >= 0"),
        ({"created_at": "2026-11-20 16:00"}, ["body", "created_at"], "timezone offset"),
        ({"colour": "red"}, ["body", "colour"], "is not a declared lead field"),
        ({"employee_band": None}, ["body", "employee_band"], "is required"),
    ],
)
def test_bad_lead_bodies_get_field_level_422(client, change, loc, msg) -> None:
    r = client.post("/v1/leads", json={**LEAD, **change}, headers=ADMIN)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert any(d["loc"] == loc and msg in d["msg"] for d in detail), detail


def test_batch(client) -> None:
    leads = [
        {**LEAD, "lead_id": f"B{i}", "source": s}
        for i, s in enumerate(["demo_request", "whitepaper_download", "webinar"])
    ]
    r = client.post("/v1/score/batch", json={"leads": leads}, headers=ADMIN)
    assert r.status_code == 200
    res = r.json()["results"]
    assert [x["lead_id"] for x in res] == ["B0", "B1", "B2"]
    single = client.post("/v1/score", json=leads[1], headers=ADMIN).json()
    assert res[1]["score"] == single["score"]  # batch and single paths agree
    too_many = client.post("/v1/score/batch", json={"leads": [LEAD] * 51}, headers=ADMIN)
    assert too_many.status_code == 413
    bad = client.post(
        "/v1/score/batch", json={"leads": [LEAD, {**LEAD, "source": "fax"}]}, headers=ADMIN
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "leads", 1, "source"]


def test_events_feedback_rules(client) -> None:
    assert client.post("/v1/leads", json=LEAD, headers=ADMIN).status_code == 201
    url = "/v1/leads/API-1/events"
    ok = {
        "type": "contact_attempt",
        "occurred_at": "2026-11-23T10:00:00+01:00",
        "channel": "phone",
        "outcome": "reached",
        "event_id": "ev-1",
        "rep": "Lea",
    }
    assert client.post(url, json=ok, headers=ADMIN).status_code == 201
    dup = client.post(url, json=ok, headers=ADMIN)
    assert dup.status_code == 200 and dup.json()["duplicate"] is True
    bad_reason = client.post(
        url,
        json={
            "type": "rejected",
            "occurred_at": ok["occurred_at"],
            "reason": "too_expensive",
            "status": "not_qualified",
            "next_action": "closed",
        },
        headers=ADMIN,
    )
    assert bad_reason.status_code == 422
    assert "no_budget" in bad_reason.json()["detail"][0]["msg"]  # lists the valid codes
    no_status = client.post(
        url,
        json={"type": "rejected", "occurred_at": ok["occurred_at"], "reason": "no_budget"},
        headers=ADMIN,
    )
    assert no_status.status_code == 422 and no_status.json()["detail"][0]["loc"] == [
        "body",
        "status",
    ]
    early = client.post(
        url,
        json={**ok, "event_id": "ev-2", "occurred_at": "2026-11-19T10:00:00+01:00"},
        headers=ADMIN,
    )
    assert early.status_code == 422 and "before the lead's creation" in early.text
    assert client.post("/v1/leads/NOPE/events", json=ok, headers=ADMIN).status_code == 404
    rej = client.post(
        url,
        json={
            "type": "rejected",
            "occurred_at": "2026-11-23T11:00:00+01:00",
            "reason": "bad_timing",
            "status": "to_rework",
            "next_action": "call_back",
            "call_back_months": 6,
        },
        headers=ADMIN,
    )
    assert rej.status_code == 201
    lead = client.get("/v1/leads/API-1", headers=ADMIN).json()
    assert [e["type"] for e in lead["events"]][-2:] == ["contact_attempt", "rejected"]
    if lead["score"]["handoff"]:
        # first contact Monday 10:00 Paris, 2 business hours after Friday 16:00
        assert lead["sla"]["elapsed_business_hours"] == pytest.approx(2.0)


def test_sla_lists(client) -> None:
    old = {**LEAD, "lead_id": "OLD-1", "created_at": "2026-01-05T09:00:00+01:00"}
    r = client.post("/v1/leads", json=old, headers=ADMIN).json()
    breaches = client.get("/v1/sla/breaches", headers=ADMIN).json()["items"]
    ids = [b["lead_id"] for b in breaches]
    assert ("OLD-1" in ids) == r["handoff"]
    assert client.get("/v1/sla/at-risk", headers=ADMIN).status_code == 200


def test_policy_versions_take_effect_at_once(client) -> None:
    p = client.get("/v1/policy", headers=ADMIN).json()
    assert p["version"] == 1
    body = p["policy"]
    body["handoff_threshold"] = 0.0
    body["tiers"][-1]["min_score"] = 0.0
    r = client.post(
        "/v1/policy", json={"policy": body, "author": "ops", "comment": "all in"}, headers=ADMIN
    )
    assert r.status_code == 201 and r.json()["version"] == 2
    s = client.post(
        "/v1/score", json={**LEAD, "source": "whitepaper_download"}, headers=ADMIN
    ).json()
    assert s["policy_version"] == 2 and s["handoff"] is True
    bad = dict(body, handoff_threshold=500)
    r = client.post(
        "/v1/policy", json={"policy": bad, "author": "ops", "comment": "x"}, headers=ADMIN
    )
    assert r.status_code == 422 and "handoff_threshold" in str(r.json()["detail"])


def test_model_health_and_metrics(client) -> None:
    m = client.get("/v1/model", headers=ADMIN).json()
    assert m["loaded"] and m["version"] == "1" and "accepted.test.model.roc_auc" in m["metrics"]
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["ready"] is True
    client.post("/v1/score", json=LEAD, headers=ADMIN)
    text = client.get("/metrics").text
    assert 'handoff_requests_total{method="POST",route="/v1/score",status="200"}' in text


def test_keys_scopes_and_limits(client, champion, tmp_path) -> None:
    assert client.post("/v1/score", json=LEAD).status_code == 401
    assert client.post("/v1/score", json=LEAD, headers={"X-API-Key": "x" * 20}).status_code == 401
    assert client.post("/v1/leads", json={}).status_code == 401  # no write without a key
    big = {**LEAD, "campaign": "x" * 300_000}
    assert client.post("/v1/score", json=big, headers=ADMIN).status_code == 413
    from scoring_service.main import create_app

    keys = "reader:score:score-secret-123;rep:feedback:feedback-secret-123"
    app = create_app(Settings(api_keys=keys, database_url=sqlite_url(tmp_path / "k.db")))
    with TestClient(app) as c:
        assert (
            c.post("/v1/score", json=LEAD, headers={"X-API-Key": "score-secret-123"}).status_code
            == 200
        )
        r = c.post(
            "/v1/policy",
            json={"policy": {}, "author": "a", "comment": "b"},
            headers={"X-API-Key": "score-secret-123"},
        )
        assert r.status_code == 403 and "admin" in r.json()["detail"]
        r = c.post("/v1/score", json=LEAD, headers={"X-API-Key": "feedback-secret-123"})
        assert r.status_code == 403


def test_unsafe_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="HANDOFF_API_KEYS is empty"):
        Settings(dev=False, api_keys="")
    with pytest.raises(ValueError, match="dev API key is refused"):
        Settings(dev=False, api_keys=f"x:admin:{DEV_KEY}")
    from scoring_service.security import parse_keys

    with pytest.raises(ValueError, match="unknown scope"):
        parse_keys("x:god:long-enough-secret")
    keys = parse_keys("x:score:sha256=" + "a" * 64)
    assert keys[0].digest == "a" * 64 and "long-enough" not in repr(keys)


def test_a_broken_champion_never_replaces_the_serving_one(client, champion) -> None:
    from scoring_service.served_model import ServedModel, smoke_check

    state = client.app.state.handoff
    serving = state.model.current
    bad = ServedModel("models:/lead-score@nope")
    assert bad.refresh() is False and bad.current is None and "no model" in bad.last_error
    bundle = serving.bundle
    smoke_check(bundle)  # the real one passes
    broken = type(bundle)(
        fields=bundle.fields,
        featurizer=bundle.featurizer,
        heads={},
        score_head="accepted",
        metadata=bundle.metadata,
    )
    with pytest.raises(Exception):  # noqa: B017 - any failure must stop the swap
        smoke_check(broken)
    assert state.model.current is serving


def test_explanations_add_up_in_the_response(client) -> None:
    r = client.post("/v1/score", json=LEAD, headers=ADMIN).json()
    state = client.app.state.handoff
    b = state.model.current.bundle
    typed, X = b.prepare(pd.DataFrame([LEAD]))
    base, contrib, points = b.explain_features(X)
    h = b.heads[b.score_head]
    np.testing.assert_allclose(
        h.explainer.explain(h.pipeline, X)[0] + contrib.sum(axis=1), h.margin(X), atol=1e-6
    )
    assert base[0] + points.sum(axis=1).iloc[0] == pytest.approx(r["score"], abs=0.01)


# ------------------------------------------- fast response paths = the general path, byte for byte


def _general_bytes(client, leads: list[dict], *, batch: bool) -> bytes:
    """The response as first written: a DataFrame from the records, coerce, score_leads, one
    LeadScored model per row, serialised by pydantic as FastAPI serialises response models."""
    from pydantic import TypeAdapter

    from scoring_service.routes.leads import _scored
    from scoring_service.schemas import BatchScored, LeadScored
    from training.score import score_leads

    state = client.app.state.handoff
    loaded = state.model.current
    version, policy = state.policy(loaded.bundle.fields)
    frame = pd.DataFrame.from_records(leads, index=pd.RangeIndex(len(leads)))
    rows = score_leads(loaded.bundle, loaded.bundle.fields.coerce(frame), policy, top=3)
    models = [_scored(r, version, loaded) for _, r in rows.iterrows()]
    if batch:
        return TypeAdapter(BatchScored).dump_json(BatchScored(results=models))
    return TypeAdapter(LeadScored).dump_json(models[0])


def _varied_leads(n: int = 40) -> list[dict]:
    """Leads across tiers, exclusions, sources, missing optional fields and odd times."""
    import json

    from feature_defs.contract import load_contract
    from training.demo_history import generate

    h = generate(load_contract(), seed=13, months=2, n_leads=400)
    rows = json.loads(h.leads.head(n).to_json(orient="records", date_format="iso"))
    out = [{k: v for k, v in r.items() if v is not None} for r in rows]
    out += [
        LEAD,
        {**LEAD, "lead_id": "API-S", "seniority": "student"},
        {**LEAD, "lead_id": "API-U", "country": "US"},
        {**LEAD, "lead_id": "API-W", "created_at": "2026-11-21T11:00:00+01:00"},  # a Saturday
        {**LEAD, "lead_id": "API-H", "created_at": "2026-12-24T17:00:00+01:00"},  # holiday next
        {**LEAD, "lead_id": "API-P", "source": "partner_referral", "page_views": 40},
    ]
    return out


def test_responses_are_the_general_paths_bytes(client) -> None:
    leads = _varied_leads()
    handed = tiers = 0
    for lead in leads:
        r = client.post("/v1/score", json=lead, headers=ADMIN)
        assert r.status_code == 200
        assert r.content == _general_bytes(client, [lead], batch=False), lead
        handed += r.json()["handoff"]
        tiers |= {"hot": 1, "warm": 2, "cold": 4}.get(r.json()["tier"], 0)
    assert handed and tiers == 7  # every tier, and due times, were exercised
    r = client.post("/v1/score/batch", json={"leads": leads[:50]}, headers=ADMIN)
    assert r.status_code == 200
    assert r.content == _general_bytes(client, leads[:50], batch=True)
    assert r.headers["content-type"] == "application/json"
    lead = {**leads[3], "lead_id": "API-BYTES"}
    created = client.post("/v1/leads", json=lead, headers=ADMIN)
    again = client.post("/v1/leads", json=lead, headers=ADMIN)
    assert (created.status_code, again.status_code) == (201, 200)
    assert created.content == again.content == _general_bytes(client, [lead], batch=False)


# ------------------------------------------------- POST /v1/score's fast path = the FastAPI route

KEYS = "ops:score+feedback+admin:ops-secret-12345;rep:feedback:rep-secret-12345"
OPS = {"X-API-Key": "ops-secret-12345"}


def _fast(outcome: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("handoff_fast_score_total", {"outcome": outcome}) or 0.0


def _answers(c: TestClient, requests: list[tuple[dict, object]]) -> list[tuple]:
    """(status, headers, body) of each (headers, body) posted to /v1/score; a body that is
    bytes is sent as is, anything else as JSON."""
    out = []
    for headers, body in requests:
        if isinstance(body, bytes):
            r = c.post("/v1/score", content=body, headers=headers)
        else:
            r = c.post("/v1/score", json=body, headers=headers)
        out.append((r.status_code, dict(r.headers), r.content))
    return out


def test_fast_path_answers_plain_requests_and_hands_every_other_to_the_route(client) -> None:
    """The same requests to the app with and without the fast path get the same status,
    headers and bytes; the plain ones were answered by the fast path, every other one by the
    route (FastAPI's own messages: missing key, wrong scope, JSON errors, field rules; and the
    +json content types only FastAPI reads)."""
    from scoring_service.main import create_app

    url = client.app.state.handoff.settings.database_url
    json_ct = {"Content-Type": "application/json"}
    lead = json.dumps(LEAD).encode()
    plain = [({**OPS}, x) for x in _varied_leads(12)]
    plain += [
        ({**OPS, "Content-Type": "application/json; charset=utf-8"}, lead),
        ({**OPS, "Content-Type": "Application/JSON"}, lead),
    ]
    faulty = [
        ({}, LEAD),  # no key
        ({"X-API-Key": ""}, LEAD),
        ({"X-API-Key": "not-a-key-0123456789"}, LEAD),
        ({"X-API-Key": "rep-secret-12345"}, LEAD),  # a key without the score scope: 403
        ({**OPS, **json_ct}, b"{not json"),
        ({**OPS, **json_ct}, b""),
        ({**OPS, **json_ct}, b"[1, 2]"),
        ({**OPS, **json_ct}, b'"a lead"'),
        ({**OPS, **json_ct}, b"\xff\xfe{}"),
        ({**OPS, "Content-Type": "text/plain"}, lead),
        ({**OPS, "Content-Type": "application/vnd.lead+json"}, lead),  # valid: the route
        ({**OPS}, {**LEAD, "employee_band": "huge"}),
        ({**OPS}, {**LEAD, "created_at": "1700-01-01T00:00:00Z"}),
        ({**OPS}, {**LEAD, "sector": {"nested": 1}}),
        ({**OPS}, {**LEAD, "page_views": "many"}),
        ({**OPS}, {k: v for k, v in LEAD.items() if k != "created_at"}),
    ]
    fast_app = create_app(Settings(dev=True, api_keys=KEYS, database_url=url))
    route_app = create_app(Settings(dev=True, api_keys=KEYS, database_url=url, fast_score=False))
    with TestClient(fast_app) as fast, TestClient(route_app) as route:
        answered, declined = _fast("answered"), _fast("declined")
        got_fast = _answers(fast, plain)
        assert _fast("answered") - answered == len(plain) and _fast("declined") == declined
        got_route = _answers(route, plain)
        assert _fast("answered") - answered == len(plain)  # the other app has no fast path
        assert got_fast == got_route
        assert all(status == 200 for status, _, _ in got_fast)
        errors_fast = _answers(fast, faulty)
        assert _fast("declined") - declined == len(faulty) and _fast("answered") - answered == len(
            plain
        )
        assert errors_fast == _answers(route, faulty)
        statuses = [status for status, _, _ in errors_fast]
        assert statuses == [401, 401, 401, 403] + [422] * 6 + [200] + [422] * 5, statuses
        assert errors_fast[10][2] == got_fast[-1][2]  # a +json type: the route scores it
        assert b"employee_band" in errors_fast[11][2]
        # a body in several chunks is read whole
        parts = iter([lead[:10], lead[10:200], lead[200:]])
        r = fast.post("/v1/score", content=parts, headers={**OPS, **json_ct})
        assert r.status_code == 200 and r.content == got_fast[-2][2]
        # dependency overrides (the documented test hook) are honoured: the route answers
        from fastapi import HTTPException

        from scoring_service.deps import get_model

        async def no_model() -> None:
            raise HTTPException(503, detail="no model (override)")

        fast_app.dependency_overrides[get_model] = no_model
        r = fast.post("/v1/score", json=LEAD, headers=OPS)
        assert (r.status_code, r.json()["detail"]) == (503, "no model (override)")


def test_metrics_count_scores_by_route_and_tier(client) -> None:
    """handoff_scores_total against the tiers the responses gave, for each scoring route."""
    from prometheus_client import REGISTRY

    def counts() -> dict[tuple[str, str], float]:
        out = {}
        for metric in REGISTRY.collect():
            for sample in metric.samples:
                if sample.name == "handoff_scores_total":
                    out[(sample.labels["route"], sample.labels["tier"])] = sample.value
        return out

    def label(r: dict) -> str:
        if r["tier"] is not None:
            return r["tier"]
        return "excluded" if r["excluded"] is not None else "no_handoff"

    leads = _varied_leads(30)
    before = counts()
    expected: dict[tuple[str, str], int] = {}
    for lead in leads[:20]:
        r = client.post("/v1/score", json=lead, headers=ADMIN).json()
        key = ("/v1/score", label(r))
        expected[key] = expected.get(key, 0) + 1
    batch = client.post("/v1/score/batch", json={"leads": leads}, headers=ADMIN).json()
    for r in batch["results"]:
        key = ("/v1/score/batch", label(r))
        expected[key] = expected.get(key, 0) + 1
    for lead in leads[:5]:
        lead = {**lead, "lead_id": f"MET-{lead['lead_id']}"}
        r = client.post("/v1/leads", json=lead, headers=ADMIN)
        assert client.post("/v1/leads", json=lead, headers=ADMIN).status_code == 200  # a retry
        key = ("/v1/leads", label(r.json()))
        expected[key] = expected.get(key, 0) + 1  # counted once, retries are not new scores
    after = counts()
    delta = {k: after[k] - before.get(k, 0.0) for k in after if after[k] != before.get(k, 0.0)}
    assert delta == expected
    assert {t for _, t in expected} >= {"hot", "warm", "cold", "excluded"}
    assert "handoff_scores_total{" in client.get("/metrics").text


def test_policy_version_check_is_cheap_and_never_stale(client) -> None:
    from scoring_service.store import Store

    state = client.app.state.handoff
    fields = state.model.current.bundle.fields
    assert client.post("/v1/score", json=LEAD, headers=ADMIN).json()["policy_version"] == 1
    probe = state._probe
    assert probe is not None  # the version is read on a connection of its own
    assert state.latest_version() == state.latest_version_pooled() == 1
    at_once = state.policy_at_once()
    assert (at_once is not None) == (state.store.dialect == "sqlite")  # PostgreSQL: thread pool
    # another worker (another process, here another Store) stores version 2: the next request
    # of this one, single or batch, uses it
    other = Store(state.store.url)
    try:
        body = other.latest_policy()["body"]
        body["handoff_threshold"] = 0.0
        body["tiers"][-1]["min_score"] = 0.0
        other.add_policy_version(body, author="ops", comment="elsewhere", name="x")
    finally:
        other.dispose()
    lead = {**LEAD, "source": "whitepaper_download"}
    s = client.post("/v1/score", json=lead, headers=ADMIN).json()
    b = client.post("/v1/score/batch", json={"leads": [lead]}, headers=ADMIN).json()["results"]
    assert s["policy_version"] == b[0]["policy_version"] == 2
    assert state.latest_version() == state.latest_version_pooled() == 2
    # the probe's connection breaks (server restart, idle timeout): requests go on (through
    # the pool), and the next one opens a new probe
    probe._conn.close()
    for _ in range(2):
        assert client.post("/v1/score", json=LEAD, headers=ADMIN).json()["policy_version"] == 2
    assert state._probe is not None and state._probe is not probe
    version, policy = state.policy(fields)
    assert version == 2 and policy.handoff_threshold == 0.0


def test_condition_and_time_window_checks_on_one_lead() -> None:
    from scoring_service.routes.leads import _outside_time_window

    s = pd.Series(
        pd.to_datetime(
            [
                "1900-01-01T00:00:00Z",
                "1899-12-31T23:59:59.999999999Z",
                "2199-12-31T23:59:59.9999999Z",
                "2200-01-01T00:00:00Z",
                None,
                "1700-01-01T00:00:00Z",
                "2026-11-20T15:00:00Z",
            ],
            utc=True,
            format="ISO8601",
        )
    )
    by_ints = _outside_time_window(s.array)  # a coerced column: integer comparisons
    by_values = _outside_time_window(s.astype(object).to_numpy())  # in_time_window on each
    assert by_ints == by_values == [1, 3, 5]

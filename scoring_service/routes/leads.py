"""Scoring at lead creation, scoring without storing, and reading a lead back."""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from datetime import UTC, datetime
from typing import Annotated, Any

import numpy as np
import pandas as pd
import pydantic_core
from fastapi import APIRouter, Body, HTTPException, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter

from feature_defs.errors import ContractError
from feature_defs.sla import sla_states
from feature_defs.typed_leads import TypedLeads
from scoring_service.deps import ModelDep, ScoreKey, StateDep
from scoring_service.prometheus import SCORES
from scoring_service.schemas import BatchIn, BatchScored, LeadDetail, LeadScored
from scoring_service.served_model import Loaded
from scoring_service.store import StoreError
from scoring_service.store.store import fields_hash
from scoring_service.store.tables import leads as leads_table
from training.score import coerce_records, score_columns

router = APIRouter(prefix="/v1", tags=["leads"])
_LEAD_SCORED = TypeAdapter(LeadScored)  # what FastAPI serialises a LeadScored response with
LeadBody = Annotated[
    dict[str, Any],
    Body(description="the lead's declared fields (see GET /v1/policy and the lead-fields YAML)"),
]


# Date-times a lead or an event may carry: wide enough for any real CRM history, narrow enough
# that deadlines computed from them stay inside what pandas and the store can represent.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
TIME_RULE = "must be a date-time between 1900-01-01 and 2200-01-01 (UTC)"
NUL_RULE = "must not contain NUL (\\u0000) characters"
MAX_ID = leads_table.c.lead_id.type.length  # the store's limit for a lead_id


def in_time_window(value: datetime) -> bool:
    """Whether an aware datetime lies in [EARLIEST, LATEST); never raises on extreme years."""
    naive = value.replace(tzinfo=None)
    if not datetime(1899, 12, 30) <= naive <= datetime(2200, 1, 3):  # any offset is < 1 day
        return False
    return EARLIEST <= value < LATEST


def _where(loc: tuple, row: int | None, n: int) -> tuple:
    where = (*loc, row) if n > 1 or loc[-1] == "leads" else loc
    return tuple(x for x in where if x is not None)


def _problem(where: tuple, field: str, msg: str, value: Any) -> dict[str, Any]:
    return {"type": "value_error", "loc": (*where, field), "msg": msg, "input": value}


def _prescreen(rec: dict[str, Any], fields, where: tuple) -> list[dict[str, Any]]:  # noqa: ANN001
    """Values the field coercion cannot judge: nested JSON, NUL characters, unbounded numbers."""
    problems = []
    for name, value in rec.items():
        t = type(value)
        if (
            t is float
            or t is bool
            or value is None
            or (t is str and "\x00" not in value)
            or (t is int and -(2**63) <= value <= 2**63)
        ) and "\x00" not in name:
            continue  # the usual value: none of the rules below can refuse it
        if "\x00" in name:
            problems.append(_problem(where, name, "field names must not contain NUL", None))
            continue
        f = fields.by_name.get(name)
        if f is None:
            continue  # the coercion names undeclared fields
        if isinstance(value, dict | list):
            kind = "an object" if isinstance(value, dict) else "an array"
            rule = f"must be a single value (string, number or boolean), not {kind}"
            problems.append(_problem(where, name, rule, value))
        elif isinstance(value, str) and "\x00" in value:
            problems.append(_problem(where, name, NUL_RULE, value))
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**63:
            if f.dtype in ("integer", "float"):
                rule = f"must be a number ({f.dtype}) between -2^63 and 2^63"
            elif f.dtype == "boolean":
                rule = "must be a boolean (true/false, yes/no, 1/0)"
            else:
                rule = f"must be a {f.dtype}, not a {len(str(value))}-digit number"
            problems.append(_problem(where, name, rule, str(value)[:40]))
    return problems


def _typed(records: list[dict[str, Any]], loaded: Loaded, loc: tuple) -> TypedLeads:
    """Validate bodies against the declared lead fields; field-level 422 on any problem."""
    fields = loaded.bundle.fields
    n = len(records)
    problems = []
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise RequestValidationError(
                [
                    {
                        "type": "dict_type",
                        "loc": (*loc, i),
                        "msg": "each lead must be a JSON object",
                        "input": rec,
                    }
                ]
            )
        problems += _prescreen(rec, fields, _where(loc, i, n))
    if problems:
        raise RequestValidationError(problems)
    try:
        typed = coerce_records(fields, records)
    except ContractError as err:
        errors = []
        for d in err.details or [{"row": None, "field": None, "rule": str(err), "value": None}]:
            errors.append(_problem(_where(loc, d["row"], n), d["field"], d["rule"], d["value"]))
        raise RequestValidationError(errors) from None
    except (OverflowError, ValueError) as exc:  # extreme date-times the coercion cannot convert
        raise RequestValidationError(_unreadable(records, fields, loc, exc)) from None
    for name in [f.name for f in fields if f.dtype == "datetime"]:
        if name not in typed:
            continue
        for i in _outside_time_window(typed[name]):
            problems.append(_problem(_where(loc, i, n), name, TIME_RULE, records[i][name]))
    if problems:
        raise RequestValidationError(problems)
    return typed


_WINDOW_NS = (pd.Timestamp(EARLIEST).value, pd.Timestamp(LATEST).value)
_UTC_NS = pd.DatetimeTZDtype("ns", "UTC")  # the dtype FieldSet.coerce gives date-times
_NAT = np.iinfo(np.int64).min  # NaT in asi8


def _outside_time_window(col: Any) -> list[int]:
    """Rows whose date-time lies outside [EARLIEST, LATEST): ``in_time_window`` on each value.

    A coerced column (a typed array) is tz-aware datetime64[ns] (pandas' range, 1677-2262), so
    the test is two integer comparisons per row. Both bounds are whole seconds, so the
    nanoseconds that ``to_pydatetime`` would drop never move a value across one of them.
    """
    if col.dtype != _UTC_NS:
        return [
            i
            for i, ts in enumerate(col)
            if not pd.isna(ts) and not in_time_window(ts.to_pydatetime())
        ]
    ns = col.asi8
    lo, hi = _WINDOW_NS
    bad = (ns != _NAT) & ((ns < lo) | (ns >= hi))
    return np.flatnonzero(bad).tolist()


def _unreadable(records: list[dict], fields, loc: tuple, exc: Exception) -> list[dict]:  # noqa: ANN001
    """Find the values behind a coercion crash by coercing them one at a time."""
    problems = []
    for i, rec in enumerate(records):
        for name, value in rec.items():
            f = fields.by_name.get(name)
            if f is None:
                continue
            try:
                fields.coerce(pd.DataFrame({name: [value]}, dtype=object))
            except ContractError:
                pass  # a rule it can name (or a required field missing from this probe)
            except (OverflowError, ValueError):
                rule = TIME_RULE if f.dtype == "datetime" else f"cannot be read as a {f.dtype}"
                problems.append(_problem(_where(loc, i, len(records)), name, rule, value))
    if not problems:
        raise exc
    return problems


def _scored(row: pd.Series, version: int, loaded: Loaded) -> LeadScored:
    """The response model of a ``score_leads`` row: the general definition of a response, which
    the routes write directly as JSON from ``score_columns`` (``_results``); tests compare
    the bytes of the two."""
    reasons = row["reasons"]
    due = row["due_at"]
    return LeadScored(
        lead_id=str(row["lead_id"]),
        score=round(float(row["score"]), 2),
        probability=_num(row.get("p_opportunity")),
        acceptance_probability=_num(row.get("p_accepted")),
        tier=row["tier"],
        handoff=bool(row["handoff"]),
        excluded=row["excluded"],
        due_at=None if pd.isna(due) else pd.Timestamp(due).to_pydatetime(),
        policy_version=version,
        model_version=loaded.version,
        feature_set_version=loaded.bundle.feature_set_key,
        reasons=reasons,
    )


def _from_stored(s: pd.Series) -> LeadScored:
    """A LeadScored from a row of ``Store.read_scores``: the answer as it was given."""
    due = s["due_at"]
    return LeadScored(
        lead_id=str(s["lead_id"]),
        score=round(float(s["score"]), 2),
        probability=_num(s["probability"]),
        acceptance_probability=_num(s["acceptance_probability"]),
        tier=s["tier"],
        handoff=bool(s["handoff"]),
        excluded=s["excluded_reason"],
        due_at=None if pd.isna(due) else due.to_pydatetime(),
        policy_version=int(s["policy_version"]),
        model_version=str(s["model_version"]),
        feature_set_version=str(s["feature_set_version"]),
        reasons=s["reasons"] or [],
    )


def _num(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def _score(state: StateDep, loaded: Loaded, typed: TypedLeads) -> tuple[int, dict[str, Any]]:
    version, policy = state.policy(loaded.bundle.fields)
    return version, score_columns(loaded.bundle, typed, policy, top=3)


async def _score_on_loop(
    state: StateDep, loaded: Loaded, typed: TypedLeads
) -> tuple[int, dict[str, Any]]:
    """``_score`` from the event loop: the policy from ``policy_at_once``, or from the thread
    pool whenever finding it could wait on the store."""
    found = state.policy_at_once()
    if found is None:
        found = await run_in_threadpool(state.policy, loaded.bundle.fields)
    version, policy = found
    return version, score_columns(loaded.bundle, typed, policy, top=3)


def _results(cols: dict[str, Any], version: int, loaded: Loaded) -> list[dict[str, Any]]:
    """Each lead's ``LeadScored`` as a plain dict: the values ``_scored`` gives the model, in
    the model's field order, so ``pydantic_core.to_json`` writes the very bytes FastAPI writes
    for the model (``TypeAdapter(LeadScored).dump_json``); tests compare the two."""
    n = len(cols["lead_id"])
    lead_ids = [str(x) for x in cols["lead_id"]]
    scores = cols["score"].tolist()
    p_opp = _nums(cols.get("p_opportunity"), n)
    p_acc = _nums(cols.get("p_accepted"), n)
    tiers = cols["tier"].tolist()
    handoff = cols["handoff"].tolist()
    excluded = cols["excluded"].tolist()
    due = [None if pd.isna(d) else pd.Timestamp(d).to_pydatetime() for d in cols["due_at"]]
    model_version = loaded.version
    fs_version = loaded.bundle.feature_set_key
    out = []
    for i in range(n):
        out.append(
            {
                "lead_id": lead_ids[i],
                "score": round(float(scores[i]), 2),
                "probability": p_opp[i],
                "acceptance_probability": p_acc[i],
                "tier": tiers[i],
                "handoff": bool(handoff[i]),
                "excluded": excluded[i],
                "due_at": due[i],
                "policy_version": version,
                "model_version": model_version,
                "feature_set_version": fs_version,
                "reasons": [
                    {
                        "feature": r["feature"],
                        "value": r["value"],
                        "points": float(r["points"]),
                        "label": r["label"],
                    }
                    for r in cols["reasons"][i]
                ],
            }
        )
    return out


def _nums(values: Any, n: int) -> list[float | None]:
    """``_num`` of each value of a probability column (None for a column that is absent)."""
    if values is None:
        return [None] * n
    return [_num(v) for v in np.asarray(values, dtype=float).tolist()]


def _json(content: Any, status_code: int = 200) -> Response:
    """A JSON response from plain values (see ``_results``), serialised once, in Rust."""
    return Response(
        pydantic_core.to_json(content), status_code=status_code, media_type="application/json"
    )


def _checked(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The response model's one rule a plain dict could break: 0 <= score <= 100."""
    for item in items:
        if not 0 <= item["score"] <= 100:  # NaN too: let the model raise its 500 as before
            LeadScored.model_validate(item)
    return items


@router.post("/score", response_model=LeadScored, summary="Score a lead without storing it")
async def score_one(state: StateDep, model: ModelDep, _key: ScoreKey, body: LeadBody) -> Response:
    # Plain requests never get here: scoring_service.fast_score answers them with
    # score_response below, before FastAPI's routing; this route answers the rest (errors).
    return await score_response(state, model, body)


async def score_response(state: StateDep, model: Loaded, body: dict[str, Any]) -> Response:
    """``POST /v1/score``'s answer to a JSON object body, from the route or the fast path.

    On the event loop, not in the thread pool: a few milliseconds of CPU and no I/O that can
    wait (see _score_on_loop), which saves the thread hop of a ``def`` route (a wake-up of
    another thread each way, slow on a busy machine). The batch route stays ``def``: a
    10,000-lead batch must not hold the loop for a second.
    """
    typed = _typed([body], model, ("body",))
    version, cols = await _score_on_loop(state, model, typed)
    response = _json(_checked(_results(cols, version, model))[0])
    count_tiers("/v1/score", cols)
    return response


@router.post(
    "/score/batch",
    response_model=BatchScored,
    summary="Score up to HANDOFF_MAX_BATCH leads without storing them",
)
def score_batch(state: StateDep, model: ModelDep, _key: ScoreKey, body: BatchIn) -> Response:
    if len(body.leads) > state.settings.max_batch:
        raise HTTPException(
            413,
            detail=f"a batch holds at most {state.settings.max_batch} leads "
            f"(got {len(body.leads)})",
        )
    typed = _typed(body.leads, model, ("body", "leads"))
    version, cols = _score(state, model, typed)
    response = _json({"results": _checked(_results(cols, version, model))})
    count_tiers("/v1/score/batch", cols)
    return response


@router.post(
    "/leads",
    response_model=LeadScored,
    status_code=201,
    responses={
        200: {"model": LeadScored, "description": "already stored (same body)"},
        409: {"description": "same lead_id, different body"},
    },
    summary="Score a new lead, apply the SLA, store it (idempotent on lead_id)",
)
def create_lead(state: StateDep, model: ModelDep, _key: ScoreKey, body: LeadBody) -> Response:
    typed = _typed([body], model, ("body",))
    fields = model.bundle.fields
    lead_id = str(typed[fields.id_field][0])
    if len(lead_id) > MAX_ID:
        raise RequestValidationError(
            [_problem(("body",), fields.id_field, f"must be at most {MAX_ID} characters", lead_id)]
        )
    created_field = fields.created_at_field
    if created_field is None:
        raise HTTPException(422, detail="these lead fields declare no created_at field")
    record = _stored_fields(typed, fields)
    existing = state.store.get_lead(lead_id)
    if existing is not None:
        return _existing(state, existing, record)
    version, cols = _score(state, model, typed)
    item = _checked(_results(cols, version, model))[0]
    score = float(cols["score"][0])
    handoff = bool(cols["handoff"][0])
    due = cols["due_at"][0]
    score_row = {
        "lead_id": lead_id,
        "scored_at": pd.Timestamp.now(tz="UTC"),
        "score": score,
        "probability": item["probability"],
        "acceptance_probability": item["acceptance_probability"],
        "tier": item["tier"],
        "handoff": handoff,
        "excluded_reason": item["excluded"],
        "due_at": None if pd.isna(due) else due,
        "model_version": str(model.version),
        "policy_version": version,
        "feature_set_version": model.bundle.feature_set_key,
        "reasons": json.loads(json.dumps(cols["reasons"][0])),
    }
    events = []
    if handoff:
        events.append(
            {
                "event_id": _handoff_event_id(lead_id),
                "lead_id": lead_id,
                "type": "handed_off",
                "occurred_at": pd.Timestamp.now(tz="UTC"),
                "payload": {"exploration": False, "propensity": 1.0, "score": score},
            }
        )
    try:
        with state.writing():
            state.store.write_batch(
                leads=pd.DataFrame([record]),
                scores=pd.DataFrame([score_row]),
                events=pd.DataFrame(events) if events else None,
                origin="api",
            )
    except StoreError as exc:
        # a concurrent request stored the same id first: answer as a retry would be answered
        again = state.store.get_lead(lead_id)
        if again is None:
            raise HTTPException(422, detail=str(exc)) from None
        return _existing(state, again, record)
    count_tiers("/v1/leads", cols)  # new leads only: a retry answered from the store is not
    return _json(item, 201)


def count_tiers(route: str, cols: dict[str, Any]) -> None:
    """``handoff_scores_total``: each scored lead under its tier, "excluded" or "no_handoff"."""
    labels = Counter(
        tier if tier is not None else ("excluded" if why is not None else "no_handoff")
        for tier, why in zip(cols["tier"].tolist(), cols["excluded"].tolist(), strict=True)
    )
    for label, n in labels.items():
        SCORES.labels(route, label).inc(n)


def _handoff_event_id(lead_id: str) -> str:
    """One id per lead: "handoff-<lead_id>", or a digest of a lead_id too long to fit (cutting
    it would give two leads sharing their first 56 characters the same handoff event)."""
    plain = f"handoff-{lead_id}"
    if len(plain) <= MAX_ID:
        return plain
    return "handoff-" + hashlib.sha256(lead_id.encode()).hexdigest()[: MAX_ID - len("handoff-")]


def _stored_fields(typed: TypedLeads, fields) -> dict[str, Any]:  # noqa: ANN001
    """The lead's typed fields as the store keeps them: values only, date-times as ISO text
    (created_at as a Timestamp)."""
    row = {name: arr[0] for name, arr in typed.arrays.items()}
    out = {}
    for name, value in row.items():
        if (
            value is None
            or value is pd.NA
            or value is pd.NaT
            or (isinstance(value, float) and np.isnan(value))
        ):
            continue
        if isinstance(value, pd.Timestamp) and name != fields.created_at_field:
            value = value.isoformat()
        out[name] = value.item() if isinstance(value, np.generic) else value
    out["lead_id"] = str(row[fields.id_field])
    out["created_at"] = row[fields.created_at_field]
    return out


def _existing(state: StateDep, existing: dict, record: dict) -> Response:
    new_fields = {k: v for k, v in record.items() if k not in ("lead_id", "created_at")}
    created = record["created_at"]
    same = fields_hash(new_fields, created) == fields_hash(
        existing["fields"], existing["created_at"]
    )
    if not same:
        raise HTTPException(
            409, detail=f"lead_id '{existing['lead_id']}' already exists with a different body"
        )
    mine = state.store.read_scores(latest_only=True, lead_ids=[existing["lead_id"]])
    if mine.empty:
        raise HTTPException(409, detail=f"lead_id '{existing['lead_id']}' exists without a score")
    stored = _from_stored(mine.iloc[-1])
    return Response(_LEAD_SCORED.dump_json(stored, by_alias=True), media_type="application/json")


@router.get(
    "/leads/{lead_id}",
    response_model=LeadDetail,
    summary="A lead, its latest score, its events and its SLA status",
)
def get_lead(lead_id: str, state: StateDep, _key: ScoreKey) -> LeadDetail:
    lead = find_lead(state, lead_id)
    events = state.store.read_events(lead_ids=[lead_id])
    s = state.store.read_scores(latest_only=True, lead_ids=[lead_id])
    score = None
    due = None
    if not s.empty:
        r = s.iloc[-1]
        due = r["due_at"]
        score = _from_stored(r)
    contacts = events.loc[events["type"] == "contact_attempt", "occurred_at"]
    first = contacts.min() if len(contacts) else pd.NaT
    version, policy = state.policy(_fields_or_default(state))
    st = sla_states(
        pd.Series([lead["created_at"]]),
        pd.Series([due]),
        pd.Series([first]),
        pd.Timestamp.now(tz="UTC"),
        policy.business_calendar(),
        at_risk_share=state.settings.at_risk_share,
    ).iloc[0]
    ev = json.loads(
        events.drop(columns=["recorded_at"]).to_json(orient="records", date_format="iso")
    )
    return LeadDetail(
        lead_id=lead_id,
        created_at=lead["created_at"],
        fields=lead["fields"],
        score=score,
        events=ev,
        sla={
            "state": st["state"],
            "due_at": None if pd.isna(due) else due,
            "first_contact_at": None if pd.isna(first) else first,
            "elapsed_business_hours": _num(st["elapsed_business_hours"]),
            "allowed_business_hours": _num(st["allowed_business_hours"]),
        },
    )


def find_lead(state: StateDep, lead_id: str) -> dict[str, Any]:
    """The stored lead, or 404; an id the store could never hold is not looked up."""
    if len(lead_id) > MAX_ID or "\x00" in lead_id:
        raise HTTPException(404, detail=f"no lead '{lead_id[:MAX_ID]}'")
    lead = state.store.get_lead(lead_id)
    if lead is None:
        raise HTTPException(404, detail=f"no lead '{lead_id}'")
    return lead


def _fields_or_default(state: StateDep):  # noqa: ANN202
    cur = state.model.current
    if cur is not None:
        return cur.bundle.fields
    from feature_defs.contract import load_contract

    return load_contract().fields

"""Scoring at lead creation, scoring without storing, and reading a lead back."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

import numpy as np
import pandas as pd
from fastapi import APIRouter, Body, HTTPException, Response
from fastapi.exceptions import RequestValidationError

from feature_defs.errors import ContractError
from feature_defs.sla import sla_states
from scoring_service.deps import ModelDep, ScoreKey, StateDep
from scoring_service.schemas import BatchIn, BatchScored, LeadDetail, LeadScored
from scoring_service.served_model import Loaded
from scoring_service.store import StoreError
from scoring_service.store.store import fields_hash
from training.score import score_leads

router = APIRouter(prefix="/v1", tags=["leads"])
LeadBody = Annotated[
    dict[str, Any],
    Body(description="the lead's declared fields (see GET /v1/policy and the lead-fields YAML)"),
]


def _typed(records: list[dict[str, Any]], loaded: Loaded, loc: tuple) -> pd.DataFrame:
    """Validate bodies against the declared lead fields; field-level 422 on any problem."""
    fields = loaded.bundle.fields
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
    try:
        return fields.coerce(pd.DataFrame.from_records(records) if records else pd.DataFrame())
    except ContractError as err:
        errors = []
        for d in err.details or [{"row": None, "field": None, "rule": str(err), "value": None}]:
            where = (*loc, d["row"]) if len(records) > 1 or loc[-1] == "leads" else loc
            where = tuple(x for x in where if x is not None)
            errors.append(
                {
                    "type": "value_error",
                    "loc": (*where, d["field"]),
                    "msg": d["rule"],
                    "input": d["value"],
                }
            )
        raise RequestValidationError(errors) from None


def _scored(row: pd.Series, version: int, loaded: Loaded) -> LeadScored:
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


def _num(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def _score(state: StateDep, loaded: Loaded, typed: pd.DataFrame) -> tuple[int, pd.DataFrame]:
    version, policy = state.policy(loaded.bundle.fields)
    return version, score_leads(loaded.bundle, typed, policy, top=3)


@router.post("/score", response_model=LeadScored, summary="Score a lead without storing it")
def score_one(state: StateDep, model: ModelDep, _key: ScoreKey, body: LeadBody) -> LeadScored:
    typed = _typed([body], model, ("body",))
    version, result = _score(state, model, typed)
    return _scored(result.iloc[0], version, model)


@router.post(
    "/score/batch",
    response_model=BatchScored,
    summary="Score up to HANDOFF_MAX_BATCH leads without storing them",
)
def score_batch(state: StateDep, model: ModelDep, _key: ScoreKey, body: BatchIn) -> BatchScored:
    if len(body.leads) > state.settings.max_batch:
        raise HTTPException(
            413,
            detail=f"a batch holds at most {state.settings.max_batch} leads "
            f"(got {len(body.leads)})",
        )
    typed = _typed(body.leads, model, ("body", "leads"))
    version, result = _score(state, model, typed)
    return BatchScored(results=[_scored(r, version, model) for _, r in result.iterrows()])


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
def create_lead(
    state: StateDep,
    model: ModelDep,
    _key: ScoreKey,
    response: Response,
    body: LeadBody,
) -> LeadScored:
    typed = _typed([body], model, ("body",))
    fields = model.bundle.fields
    lead_id = str(typed[fields.id_field].iloc[0])
    created_field = fields.created_at_field
    if created_field is None:
        raise HTTPException(422, detail="these lead fields declare no created_at field")
    record = _stored_fields(typed, fields)
    existing = state.store.get_lead(lead_id)
    if existing is not None:
        return _existing(state, model, existing, record, typed, response)
    version, result = _score(state, model, typed)
    row = result.iloc[0]
    score_row = {
        "lead_id": lead_id,
        "scored_at": pd.Timestamp.now(tz="UTC"),
        "score": float(row["score"]),
        "probability": _num(row.get("p_opportunity")),
        "acceptance_probability": _num(row.get("p_accepted")),
        "tier": row["tier"],
        "handoff": bool(row["handoff"]),
        "excluded_reason": row["excluded"],
        "due_at": None if pd.isna(row["due_at"]) else row["due_at"],
        "model_version": str(model.version),
        "policy_version": version,
        "feature_set_version": model.bundle.feature_set_key,
        "reasons": json.loads(json.dumps(row["reasons"])),
    }
    events = []
    if row["handoff"]:
        events.append(
            {
                "event_id": f"handoff-{lead_id}"[:64],
                "lead_id": lead_id,
                "type": "handed_off",
                "occurred_at": pd.Timestamp.now(tz="UTC"),
                "payload": {"exploration": False, "propensity": 1.0, "score": float(row["score"])},
            }
        )
    try:
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
        return _existing(state, model, again, record, typed, response)
    return _scored(row, version, model)


def _stored_fields(typed: pd.DataFrame, fields) -> dict[str, Any]:  # noqa: ANN001
    row = typed.iloc[0]
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


def _existing(
    state: StateDep,
    model: Loaded,
    existing: dict,
    record: dict,
    typed: pd.DataFrame,
    response: Response,
) -> LeadScored:
    new_fields = {k: v for k, v in record.items() if k not in ("lead_id", "created_at")}
    created = record["created_at"]
    same = fields_hash(new_fields, created) == fields_hash(
        existing["fields"], existing["created_at"]
    )
    if not same:
        raise HTTPException(
            409, detail=f"lead_id '{existing['lead_id']}' already exists with a different body"
        )
    scores = state.store.read_scores(latest_only=True)
    mine = scores[scores["lead_id"] == existing["lead_id"]]
    if mine.empty:
        raise HTTPException(409, detail=f"lead_id '{existing['lead_id']}' exists without a score")
    s = mine.iloc[-1]
    response.status_code = 200
    return LeadScored(
        lead_id=existing["lead_id"],
        score=round(float(s["score"]), 2),
        probability=_num(s["probability"]),
        acceptance_probability=_num(s["acceptance_probability"]),
        tier=s["tier"],
        handoff=bool(s["handoff"]),
        excluded=s["excluded_reason"],
        due_at=None if pd.isna(s["due_at"]) else s["due_at"].to_pydatetime(),
        policy_version=int(s["policy_version"]),
        model_version=str(s["model_version"]),
        feature_set_version=str(s["feature_set_version"]),
        reasons=s["reasons"] or [],
    )


@router.get(
    "/leads/{lead_id}",
    response_model=LeadDetail,
    summary="A lead, its latest score, its events and its SLA status",
)
def get_lead(lead_id: str, state: StateDep, _key: ScoreKey) -> LeadDetail:
    lead = state.store.get_lead(lead_id)
    if lead is None:
        raise HTTPException(404, detail=f"no lead '{lead_id}'")
    events = state.store.read_events(lead_ids=[lead_id])
    scores = state.store.read_scores(latest_only=True)
    s = scores[scores["lead_id"] == lead_id]
    score = None
    due = None
    if not s.empty:
        r = s.iloc[-1]
        due = r["due_at"]
        score = LeadScored(
            lead_id=lead_id,
            score=round(float(r["score"]), 2),
            probability=_num(r["probability"]),
            acceptance_probability=_num(r["acceptance_probability"]),
            tier=r["tier"],
            handoff=bool(r["handoff"]),
            excluded=r["excluded_reason"],
            due_at=None if pd.isna(due) else due.to_pydatetime(),
            policy_version=int(r["policy_version"]),
            model_version=str(r["model_version"]),
            feature_set_version=str(r["feature_set_version"]),
            reasons=r["reasons"] or [],
        )
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


def _fields_or_default(state: StateDep):  # noqa: ANN202
    cur = state.model.current
    if cur is not None:
        return cur.bundle.fields
    from feature_defs.contract import load_contract

    return load_contract().fields

"""Rep feedback and outcomes: contact attempts, acceptances, rejections with a reason, deals."""

from __future__ import annotations

import uuid

import pandas as pd
from fastapi import APIRouter, HTTPException, Response
from fastapi.exceptions import RequestValidationError

from scoring_service.deps import FeedbackKey, StateDep
from scoring_service.routes.leads import TIME_RULE, _fields_or_default, find_lead, in_time_window
from scoring_service.schemas import EventIn, EventOut
from scoring_service.store import StoreError

router = APIRouter(prefix="/v1", tags=["feedback"])


def _invalid(field: str, msg: str, value: object) -> RequestValidationError:
    return RequestValidationError(
        [{"type": "value_error", "loc": ("body", field), "msg": msg, "input": value}]
    )


@router.post(
    "/leads/{lead_id}/events",
    response_model=EventOut,
    status_code=201,
    responses={200: {"model": EventOut, "description": "already recorded (same id)"}},
    summary="Record rep feedback or an outcome for a lead",
)
def add_event(
    lead_id: str, body: EventIn, state: StateDep, _key: FeedbackKey, response: Response
) -> EventOut:
    lead = find_lead(state, lead_id)
    _, policy = state.policy(_fields_or_default(state))
    if body.occurred_at.tzinfo is None or body.occurred_at.utcoffset() is None:
        raise _invalid("occurred_at", "must carry a timezone offset", body.occurred_at.isoformat())
    if not in_time_window(body.occurred_at):
        raise _invalid("occurred_at", TIME_RULE, body.occurred_at.isoformat())
    occurred = pd.Timestamp(body.occurred_at)
    if occurred < pd.Timestamp(lead["created_at"]):
        raise _invalid(
            "occurred_at",
            f"is before the lead's creation ({lead['created_at']})",
            body.occurred_at.isoformat(),
        )
    if body.type == "rejected":
        codes = policy.rejection_codes
        if body.reason not in codes:
            raise _invalid(
                "reason", f"a rejection needs a reason among: {', '.join(codes)}", body.reason
            )
        statuses = [s.code for s in policy.feedback_statuses]
        if body.status not in statuses:
            raise _invalid(
                "status", f"a rejection needs a status among: {', '.join(statuses)}", body.status
            )
        actions = {a.code: a for a in policy.next_actions}
        if body.next_action not in actions:
            raise _invalid(
                "next_action",
                f"a rejection needs a next action among: {', '.join(actions)}",
                body.next_action,
            )
        if actions[body.next_action].needs_months and body.call_back_months is None:
            raise _invalid("call_back_months", f"'{body.next_action}' needs call_back_months", None)
    elif body.reason is not None or body.status is not None or body.next_action is not None:
        raise _invalid(
            "reason", "reason, status and next_action belong to a rejection", body.reason
        )
    if body.type in ("won", "lost") and body.amount is None:
        raise _invalid("amount", f"a '{body.type}' event needs an amount", None)
    event_id = body.event_id or uuid.uuid4().hex
    row = {
        "event_id": event_id,
        "lead_id": lead_id,
        "type": body.type,
        "occurred_at": occurred,
        "recorded_at": pd.Timestamp.now(tz="UTC"),
        "rep": body.rep,
        "team": body.team,
        "channel": body.channel,
        "outcome": body.outcome,
        "duration_s": body.duration_s,
        "reason": body.reason,
        "status": body.status,
        "next_action": body.next_action,
        "amount": body.amount,
        "payload": {"call_back_months": body.call_back_months} if body.call_back_months else None,
    }
    try:
        with state.writing():
            inserted = state.store.add_events(pd.DataFrame([row]))
    except StoreError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    if inserted == 0:
        response.status_code = 200
        stored = state.store.read_events(lead_ids=[lead_id])
        stored = stored[stored["event_id"] == event_id]
        if stored.empty:
            raise HTTPException(409, detail=f"event_id '{event_id}' belongs to another lead")
        s = stored.iloc[0]
        return EventOut(
            event_id=event_id,
            lead_id=lead_id,
            type=s["type"],
            occurred_at=s["occurred_at"],
            duplicate=True,
        )
    return EventOut(event_id=event_id, lead_id=lead_id, type=body.type, occurred_at=occurred)

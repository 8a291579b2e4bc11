"""Open leads past or near their first-contact deadline, for alerts and escalation."""

from __future__ import annotations

import pandas as pd
from fastapi import APIRouter, Query

from feature_defs.sla import sla_states
from scoring_service.deps import ScoreKey, StateDep
from scoring_service.routes.leads import _fields_or_default
from scoring_service.schemas import SlaItem, SlaList

router = APIRouter(prefix="/v1/sla", tags=["sla"])


def _open_states(state: StateDep) -> pd.DataFrame:
    scores = state.store.read_scores(latest_only=True)
    scores = scores[scores["handoff"] & scores["due_at"].notna()]
    if scores.empty:
        return scores.assign(state=[], elapsed_business_hours=[], allowed_business_hours=[])
    worked = state.store.read_events(
        types=["contact_attempt", "accepted", "rejected"], lead_ids=list(scores["lead_id"])
    )
    scores = scores[~scores["lead_id"].isin(set(worked["lead_id"]))].reset_index(drop=True)
    leads = state.store.read_leads(lead_ids=list(scores["lead_id"]))[["lead_id", "created_at"]]
    scores = scores.merge(leads, on="lead_id", how="left")
    _, policy = state.policy(_fields_or_default(state))
    st = sla_states(
        scores["created_at"],
        scores["due_at"],
        pd.Series([pd.NaT] * len(scores)),
        pd.Timestamp.now(tz="UTC"),
        policy.business_calendar(),
        at_risk_share=state.settings.at_risk_share,
    )
    return pd.concat([scores, st], axis=1)


def _items(df: pd.DataFrame, limit: int) -> SlaList:
    df = df.sort_values("due_at").head(limit)
    return SlaList(
        items=[
            SlaItem(
                lead_id=r["lead_id"],
                tier=r["tier"],
                due_at=r["due_at"],
                state=r["state"],
                elapsed_business_hours=float(r["elapsed_business_hours"]),
                allowed_business_hours=float(r["allowed_business_hours"]),
            )
            for _, r in df.iterrows()
        ]
    )


@router.get("/breaches", response_model=SlaList, summary="Open leads past their due time")
def breaches(state: StateDep, _key: ScoreKey, limit: int = Query(500, ge=1, le=10_000)) -> SlaList:
    df = _open_states(state)
    return _items(df[df["state"] == "breached"], limit)


@router.get(
    "/at-risk",
    response_model=SlaList,
    summary="Open leads that used most of their allowed business time",
)
def at_risk(state: StateDep, _key: ScoreKey, limit: int = Query(500, ge=1, le=10_000)) -> SlaList:
    df = _open_states(state)
    return _items(df[df["state"] == "at_risk"], limit)

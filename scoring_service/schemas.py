"""Request and response models of the /v1 API.

Lead bodies are plain JSON objects validated against the *declared* lead fields (the company's
YAML), not against a fixed class, so a company's own CRM columns need no code change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refuse it everywhere so both stores behave alike
    if "\x00" in value:
        raise ValueError("must not contain NUL (\\u0000) characters")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]

EventType = Literal[
    "contact_attempt", "accepted", "rejected", "recycled_to_nurturing", "opportunity", "won", "lost"
]


class Reason(BaseModel):
    feature: str
    value: str
    points: float = Field(description="signed contribution in score points (0-100 scale)")
    label: str = Field(description='human label, e.g. "Acquisition channel: demo request +18 pts"')


class LeadScored(BaseModel):
    lead_id: str
    score: float = Field(ge=0, le=100)
    probability: float | None = Field(description="P(opportunity within the window)")
    acceptance_probability: float | None = Field(description="P(accepted by sales)")
    tier: str | None
    handoff: bool
    excluded: str | None
    due_at: datetime | None
    policy_version: int
    model_version: str
    feature_set_version: str
    reasons: list[Reason]


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    leads: list[dict[str, Any]] = Field(min_length=1)


class BatchScored(BaseModel):
    results: list[LeadScored]


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event_id: Text | None = Field(default=None, max_length=64, description="de-duplicates retries")
    type: EventType
    occurred_at: datetime
    rep: Text | None = Field(default=None, max_length=64)
    team: Text | None = Field(default=None, max_length=64)
    channel: Literal["phone", "email", "linkedin", "meeting"] | None = None
    outcome: Literal["reached", "no_answer", "voicemail", "wrong_number"] | None = None
    duration_s: float | None = Field(default=None, ge=0, le=86_400)
    reason: Text | None = Field(default=None, max_length=64)
    status: Text | None = Field(default=None, max_length=32)
    next_action: Text | None = Field(default=None, max_length=64)
    call_back_months: int | None = Field(default=None, ge=1, le=36)
    amount: float | None = Field(default=None, ge=0, le=1e12)


class EventOut(BaseModel):
    event_id: str
    lead_id: str
    type: str
    occurred_at: datetime
    duplicate: bool = False


class SlaStatus(BaseModel):
    state: Literal["met", "breached", "at_risk", "on_track", "not_applicable"]
    due_at: datetime | None
    first_contact_at: datetime | None
    elapsed_business_hours: float | None
    allowed_business_hours: float | None


class LeadDetail(BaseModel):
    lead_id: str
    created_at: datetime
    fields: dict[str, Any]
    score: LeadScored | None
    events: list[dict[str, Any]]
    sla: SlaStatus


class SlaItem(BaseModel):
    lead_id: str
    tier: str | None
    due_at: datetime
    state: str
    elapsed_business_hours: float
    allowed_business_hours: float


class SlaList(BaseModel):
    items: list[SlaItem]


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    policy: dict[str, Any]
    author: Text = Field(min_length=1, max_length=128)
    comment: Text = Field(min_length=1, max_length=2000)


class PolicyOut(BaseModel):
    version: int
    name: str
    author: str
    comment: str
    created_at: datetime
    policy: dict[str, Any]


class ModelOut(BaseModel):
    loaded: bool
    version: str | None = None
    run_id: str | None = None
    feature_set: str | None = None
    score_head: str | None = None
    heads: list[str] = []
    policy: dict[str, Any] = {}
    metrics: dict[str, float] = {}
    error: str | None = None

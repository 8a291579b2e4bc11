"""The marketing-sales SLA, declared as data and validated on load.

The default file (``policies/default.yaml``) reproduces the contract of the domain texts: an MQL
threshold, hot/warm/cold tiers with business-time deadlines, per-source caps, exclusions, the
rejection taxonomy, the monthly commitment, the review triggers, team capacity and the business
calendar. A policy is immutable; a change is a new version (stored by the scoring service).
"""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from feature_defs.business_time import BusinessCalendar
from feature_defs.conditions import Condition
from feature_defs.declared import Version, repeated
from feature_defs.errors import from_validation_error
from feature_defs.yaml_io import read_yaml

CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Deadline(_Strict):
    """A first-contact deadline: exactly one of business hours or business days."""

    business_hours: float | None = Field(default=None, gt=0, le=2000)
    business_days: int | None = Field(default=None, gt=0, le=250)

    @model_validator(mode="after")
    def _one(self) -> Deadline:
        if (self.business_hours is None) == (self.business_days is None):
            raise ValueError("give exactly one of business_hours or business_days")
        return self

    def describe(self) -> str:
        if self.business_hours is not None:
            return f"{self.business_hours:g} business hours"
        return f"{self.business_days} business days"


class Coded(_Strict):
    code: str
    label: str = Field(min_length=1)

    @field_validator("code")
    @classmethod
    def _code(cls, v: str) -> str:
        if not CODE.match(v):
            raise ValueError("must be snake_case: a lowercase letter then letters, digits or _")
        return v


class NextAction(Coded):
    needs_months: bool = False


class Tier(_Strict):
    name: str
    min_score: float = Field(ge=0, le=100)
    deadline: Deadline


class SourceCap(_Strict):
    sources: list[str] = Field(min_length=1)
    max_deadline: Deadline


class Exclusion(_Strict):
    reason: str
    label: str = Field(min_length=1)
    when: Condition
    route_to: str | None = None

    @field_validator("reason")
    @classmethod
    def _code(cls, v: str) -> str:
        return Coded._code(v)


class ScoreRule(_Strict):
    label: str = Field(min_length=1)
    when: Condition
    points: float = Field(ge=-100, le=100)


class Scorecard(_Strict):
    """The explicit points grid the company used before handoff learned from feedback."""

    base: float = Field(default=0, ge=-100, le=100)
    rules: list[ScoreRule] = Field(min_length=1)


class ContactAttempts(_Strict):
    min_attempts_before_unreachable: int = Field(ge=1, le=20)
    distinct_slots: bool = True
    slots: dict[str, tuple[time, time]] = Field(min_length=1)

    @model_validator(mode="after")
    def _slots(self) -> ContactAttempts:
        spans = sorted(self.slots.items(), key=lambda kv: kv[1][0])
        for name, (a, b) in spans:
            if a >= b:
                raise ValueError(f"slot '{name}' must start before it ends")
        for (n1, (_, e1)), (n2, (s2, _)) in zip(spans, spans[1:], strict=False):
            if s2 < e1:
                raise ValueError(f"slots '{n1}' and '{n2}' overlap")
        if self.distinct_slots and self.min_attempts_before_unreachable > 1 and len(spans) < 2:
            raise ValueError("distinct_slots needs at least 2 slots")
        return self


class SegmentTargets(_Strict):
    field: str
    targets: dict[str, int]

    @field_validator("targets")
    @classmethod
    def _positive(cls, v: dict[str, int]) -> dict[str, int]:
        bad = [k for k, n in v.items() if n < 0]
        if bad:
            raise ValueError(f"targets must be >= 0; negative for {', '.join(bad)}")
        return v


class MonthlyCommitment(_Strict):
    total: int = Field(gt=0)
    by_segment: SegmentTargets | None = None

    @model_validator(mode="after")
    def _sum(self) -> MonthlyCommitment:
        if self.by_segment and sum(self.by_segment.targets.values()) > self.total:
            raise ValueError(
                f"segment targets add up to {sum(self.by_segment.targets.values())}, "
                f"more than the total of {self.total}"
            )
        return self


class ReviewTriggers(_Strict):
    acceptance_floor: float = Field(gt=0, lt=1)
    consecutive_months: int = Field(ge=1, le=12)
    mom_drop_points: float = Field(gt=0, le=100)
    rejection_rate_revision: float = Field(gt=0, le=1)


class Team(_Strict):
    name: str
    reps: list[str] = Field(min_length=1)
    contacts_per_rep_per_day: float = Field(gt=0, le=200)
    handles: Condition | None = None


class Capacity(_Strict):
    teams: list[Team] = Field(min_length=1)

    @model_validator(mode="after")
    def _teams(self) -> Capacity:
        if repeated(t.name for t in self.teams):
            raise ValueError("team names must be unique")
        dupes = repeated(r for t in self.teams for r in t.reps)
        if dupes:
            raise ValueError(f"a rep belongs to one team only; repeated: {', '.join(dupes)}")
        if sum(t.handles is None for t in self.teams) != 1:
            raise ValueError("exactly one team must have no 'handles' rule: it takes the rest")
        return self

    @property
    def reps(self) -> int:
        return sum(len(t.reps) for t in self.teams)

    @property
    def contacts_per_day(self) -> float:
        return sum(len(t.reps) * t.contacts_per_rep_per_day for t in self.teams)


class CalendarSpec(_Strict):
    timezone: str = "Europe/Paris"
    hours: dict[str, list[tuple[time, time]]]
    holidays_country: str | None = "FR"
    holidays_subdiv: str | None = None

    @field_validator("hours")
    @classmethod
    def _weekdays(cls, v: dict[str, list[tuple[time, time]]]) -> dict[str, list[tuple[time, time]]]:
        unknown = [k for k in v if k not in WEEKDAYS]
        if unknown:
            raise ValueError(f"unknown weekday(s) {', '.join(unknown)}; use {', '.join(WEEKDAYS)}")
        return v

    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar.from_spec(
            timezone=self.timezone,
            hours=self.hours,
            holidays_country=self.holidays_country,
            holidays_subdiv=self.holidays_subdiv,
        )


class Policy(_Strict):
    """One version of the SLA. Pure data; ``feature_defs.sla`` applies it to leads."""

    name: str
    version: Version
    description: str = ""
    score_field: str = "score"
    source_field: str = "source"
    handoff_threshold: float = Field(ge=0, le=100)
    tiers: list[Tier] = Field(min_length=1)
    source_deadline_caps: list[SourceCap] = []
    exploration_share: float = Field(default=0.0, ge=0, lt=0.5)
    contact_attempts: ContactAttempts
    exclusions: list[Exclusion] = []
    rejection_reasons: list[Coded] = Field(min_length=8, max_length=10)
    feedback_statuses: list[Coded] = Field(min_length=2)
    next_actions: list[NextAction] = Field(min_length=1)
    acceptance_definition: Literal[
        "explicit", "first_prospecting_action", "explicit_or_first_action"
    ]
    monthly_commitment: MonthlyCommitment
    review_triggers: ReviewTriggers
    capacity: Capacity
    calendar: CalendarSpec
    scorecard: Scorecard

    @model_validator(mode="after")
    def _rules(self) -> Policy:
        names = [t.name for t in self.tiers]
        if len(set(names)) != len(names):
            raise ValueError("tier names must be unique")
        scores = [t.min_score for t in self.tiers]
        if any(a <= b for a, b in zip(scores, scores[1:], strict=False)):
            raise ValueError(
                "tiers must be listed from the highest min_score to the lowest, strictly "
                f"decreasing (got {', '.join(f'{n}={s:g}' for n, s in zip(names, scores))})"
            )
        if scores[-1] > self.handoff_threshold:
            raise ValueError(
                f"the lowest tier '{names[-1]}' starts at {scores[-1]:g}, above the handoff "
                f"threshold {self.handoff_threshold:g}: some handed-off leads would have no tier"
            )
        for group, items in (
            ("rejection_reasons", self.rejection_reasons),
            ("feedback_statuses", self.feedback_statuses),
            ("next_actions", self.next_actions),
            ("exclusions", self.exclusions),
        ):
            codes = [getattr(i, "code", None) or i.reason for i in items]
            dupes = sorted({c for c in codes if codes.count(c) > 1})
            if dupes:
                raise ValueError(f"{group}: codes must be unique; repeated: {', '.join(dupes)}")
        try:
            self.calendar.calendar()
        except ValueError as exc:
            raise ValueError(f"calendar: {exc}") from None
        return self

    # --- small lookups used by the service, the dashboard and the demo generator -------------
    def tier(self, name: str) -> Tier:
        for t in self.tiers:
            if t.name == name:
                return t
        raise KeyError(name)

    @property
    def rejection_codes(self) -> list[str]:
        return [r.code for r in self.rejection_reasons]

    def business_calendar(self) -> BusinessCalendar:
        return self.calendar.calendar()


def parse_policy(data: dict[str, Any], *, source: str | Path | None = None) -> Policy:
    """Validate a policy mapping (from YAML or from the API)."""
    try:
        return Policy.model_validate(data)
    except ValidationError as err:
        raise from_validation_error(err, source=source, data=data) from None


def load_policy(path: str | Path) -> Policy:
    p = Path(path)
    return parse_policy(read_yaml(p), source=p)

"""Schema of the lead store as SQLAlchemy Core tables, plus the one datetime type it trusts.

The migrations in ``scoring_service/migrations`` are the source of truth for the database; this
module mirrors head so that queries can be built from Table objects. A test compares the two, so a
change here without a migration (or the reverse) fails CI.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    column,
)
from sqlalchemy.types import TypeDecorator

# Changing this tuple needs a migration: the CHECK constraint on events.type is built from it.
EVENT_TYPES: tuple[str, ...] = (
    "handed_off",
    "contact_attempt",
    "accepted",
    "rejected",
    "recycled_to_nurturing",
    "opportunity",
    "won",
    "lost",
)


class StoreError(ValueError):
    """A write or read the store refuses; the message names the row or id, column and rule.

    Defined here rather than in store.py because the datetime type below raises it too.
    """


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes only, stored as UTC, always read back as aware UTC.

    A naive datetime is ambiguous (local time of which server?), so it is refused instead of
    guessed. SQLite has no timezone type: there the value is stored as naive UTC text, which
    keeps lexical order equal to time order for range queries.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def __init__(self, column: str | None = None) -> None:
        super().__init__()
        self.column = column

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        utc = to_utc(value, self.column or "(datetime column)")
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    # On SQLite the two processors below replace SQLAlchemy's DATETIME ones (a regex and a
    # %-format per value) with the C isoformat/fromisoformat, producing the same text
    # ("YYYY-MM-DD HH:MM:SS.ffffff"): bulk imports of 400k events bind a million datetimes.

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        column = self.column or "(datetime column)"

        def process(value: Any) -> str | None:
            if value is None:
                return None
            if value.__class__ is not datetime or value.tzinfo is not UTC:
                value = to_utc(value, column)
            # "YYYY-MM-DD HH:MM:SS.ffffff+00:00" without the offset: naive UTC text.
            return value.isoformat(sep=" ", timespec="microseconds")[:26]

        return process

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            if isinstance(value, str):
                value = datetime.fromisoformat(value)
            if value.tzinfo is None:
                return value.replace(tzinfo=UTC)
            return value.astimezone(UTC)

        return process


def to_utc(value: Any, column: str) -> datetime:
    """Return ``value`` as an aware UTC ``datetime``; refuse naive and non-datetime values."""
    if value is None or value is pd.NaT:
        raise StoreError(f"column '{column}': a datetime is required (got {value})")
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime(warn=False)
    if not isinstance(value, datetime):
        raise StoreError(
            f"column '{column}': expected a timezone-aware datetime, got {type(value).__name__}"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise StoreError(
            f"column '{column}': naive datetime {value.isoformat()} refused; "
            "give a timezone-aware datetime (e.g. tzinfo=UTC)"
        )
    return value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

leads = Table(
    "leads",
    metadata,
    Column("lead_id", String(64), primary_key=True),
    Column("created_at", UTCDateTime("created_at"), nullable=False, index=True),
    Column("origin", String(32), nullable=False),
    Column("fields", JSON, nullable=False),
    Column("fields_hash", String(64), nullable=False),
    Column("inserted_at", UTCDateTime("inserted_at"), nullable=False),
)

scores = Table(
    "scores",
    metadata,
    Column("score_id", Integer, primary_key=True, autoincrement=True),
    Column("lead_id", String(64), ForeignKey("leads.lead_id"), nullable=False, index=True),
    Column("scored_at", UTCDateTime("scored_at"), nullable=False),
    Column("score", Float, nullable=True),
    Column("probability", Float, nullable=True),
    Column("acceptance_probability", Float, nullable=True),
    Column("tier", String(16), nullable=True),
    Column("handoff", Boolean, nullable=False),
    Column("excluded_reason", String(64), nullable=True),
    Column("due_at", UTCDateTime("due_at"), nullable=True),
    Column("model_version", String(64), nullable=False),
    Column("policy_version", Integer, nullable=False),
    Column("feature_set_version", String(64), nullable=False),
    Column("reasons", JSON(none_as_null=True), nullable=True),
)

events = Table(
    "events",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("lead_id", String(64), ForeignKey("leads.lead_id"), nullable=False, index=True),
    Column("type", String(32), nullable=False),
    Column("occurred_at", UTCDateTime("occurred_at"), nullable=False),
    Column("recorded_at", UTCDateTime("recorded_at"), nullable=False),
    Column("rep", String(64), nullable=True),
    Column("team", String(64), nullable=True),
    Column("channel", String(32), nullable=True),
    Column("outcome", String(32), nullable=True),
    Column("duration_s", Float, nullable=True),
    Column("reason", String(64), nullable=True),
    Column("status", String(32), nullable=True),
    Column("next_action", String(64), nullable=True),
    Column("amount", Float, nullable=True),
    Column("payload", JSON(none_as_null=True), nullable=True),
    CheckConstraint(column("type").in_(EVENT_TYPES), name="type"),
    Index("ix_events_type_occurred_at", "type", "occurred_at"),
)

policy_versions = Table(
    "policy_versions",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("body", JSON, nullable=False),
    Column("author", String(128), nullable=False),
    Column("comment", Text, nullable=False),
    Column("created_at", UTCDateTime("created_at"), nullable=False),
)

# Revision 0002. "case" is a SQL keyword, so the column is case_text; reads expose it as "case".
decision_log = Table(
    "decision_log",
    metadata,
    Column("decision_id", Integer, primary_key=True, autoincrement=True),
    Column("lead_id", String(64), ForeignKey("leads.lead_id"), nullable=True),
    Column("case_text", Text, nullable=False),
    Column("decision", Text, nullable=False),
    Column("reasoning", Text, nullable=False),
    Column("decided_by", String(128), nullable=False),
    Column("decided_at", UTCDateTime("decided_at"), nullable=False),
)

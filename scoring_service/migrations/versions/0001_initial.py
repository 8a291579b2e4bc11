"""Initial lead store: leads, scores, events (append-only) and policy versions.

Revision ID: 0001
Revises:
Create Date: 2024-06-01

Types are spelled out here instead of imported from tables.py, so that this revision keeps
creating the same schema after tables.py moves on. ``sa.DateTime(timezone=True)`` is the storage
type of ``UTCDateTime``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVENT_TYPES_0001 = (
    "handed_off",
    "contact_attempt",
    "accepted",
    "rejected",
    "recycled_to_nurturing",
    "opportunity",
    "won",
    "lost",
)


def upgrade() -> None:
    op.create_table(
        "leads",
        sa.Column("lead_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("origin", sa.String(32), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("fields_hash", sa.String(64), nullable=False),
        sa.Column("inserted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("lead_id", name="pk_leads"),
    )
    op.create_index("ix_leads_created_at", "leads", ["created_at"])

    op.create_table(
        "scores",
        sa.Column("score_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("lead_id", sa.String(64), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("acceptance_probability", sa.Float(), nullable=True),
        sa.Column("tier", sa.String(16), nullable=True),
        sa.Column("handoff", sa.Boolean(), nullable=False),
        sa.Column("excluded_reason", sa.String(64), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("feature_set_version", sa.String(64), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.lead_id"], name="fk_scores_lead_id_leads"),
        sa.PrimaryKeyConstraint("score_id", name="pk_scores"),
    )
    op.create_index("ix_scores_lead_id", "scores", ["lead_id"])

    op.create_table(
        "events",
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("lead_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rep", sa.String(64), nullable=True),
        sa.Column("team", sa.String(64), nullable=True),
        sa.Column("channel", sa.String(32), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.Column("status", sa.String(32), nullable=True),
        sa.Column("next_action", sa.String(64), nullable=True),
        sa.Column("amount", sa.Float(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.CheckConstraint(sa.column("type").in_(EVENT_TYPES_0001), name=op.f("ck_events_type")),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.lead_id"], name="fk_events_lead_id_leads"),
        sa.PrimaryKeyConstraint("event_id", name="pk_events"),
    )
    op.create_index("ix_events_lead_id", "events", ["lead_id"])
    op.create_index("ix_events_type_occurred_at", "events", ["type", "occurred_at"])

    op.create_table(
        "policy_versions",
        sa.Column("version", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("author", sa.String(128), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version", name="pk_policy_versions"),
    )


def downgrade() -> None:
    op.drop_table("policy_versions")
    op.drop_index("ix_events_type_occurred_at", table_name="events")
    op.drop_index("ix_events_lead_id", table_name="events")
    op.drop_table("events")
    op.drop_index("ix_scores_lead_id", table_name="scores")
    op.drop_table("scores")
    op.drop_index("ix_leads_created_at", table_name="leads")
    op.drop_table("leads")

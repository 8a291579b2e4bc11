"""Decision log: who decided what about a case (a lead, a rule, a dispute) and why.

Revision ID: 0002
Revises: 0001
Create Date: 2024-06-15

The column is ``case_text`` because ``case`` is a SQL keyword; the Store exposes it as ``case``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "decision_log",
        sa.Column("decision_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("lead_id", sa.String(64), nullable=True),
        sa.Column("case_text", sa.Text(), nullable=False),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.Column("reasoning", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(128), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.lead_id"], name="fk_decision_log_lead_id_leads"
        ),
        sa.PrimaryKeyConstraint("decision_id", name="pk_decision_log"),
    )


def downgrade() -> None:
    op.drop_table("decision_log")

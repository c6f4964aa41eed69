"""supervision: routing groups, SLA clocks, agents, contacts, NPS

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.storage.models

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("updated_at", bot.storage.models.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_agents")),
    )
    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("started_at", bot.storage.models.UtcDateTime(), nullable=False),
        sa.Column("ended_at", bot.storage.models.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_contacts_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_contacts_conversation_id_conversations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contacts_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_contacts_outcome"), ["outcome"], unique=False)
        batch_op.create_index(batch_op.f("ix_contacts_started_at"), ["started_at"], unique=False)

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("group", sa.String(length=64), server_default="general", nullable=False)
        )
        batch_op.add_column(
            sa.Column("first_response_due_at", bot.storage.models.UtcDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("resolution_due_at", bot.storage.models.UtcDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("paused_at", bot.storage.models.UtcDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("first_response_breached", sa.Boolean(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("resolution_breached", sa.Boolean(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("reopen_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("reopened_at", bot.storage.models.UtcDateTime(), nullable=True)
        )

    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=8), server_default="csat", nullable=False)
        )
        batch_op.drop_constraint("csat_range", type_="check")
        batch_op.create_check_constraint(
            "score_range",
            "(kind = 'csat' AND score BETWEEN 1 AND 5) "
            "OR (kind = 'nps' AND score BETWEEN 0 AND 10)",
        )

    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payload", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.drop_column("payload")

    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_constraint("score_range", type_="check")
        batch_op.create_check_constraint("csat_range", "score BETWEEN 1 AND 5")
        batch_op.drop_column("kind")

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("reopened_at")
        batch_op.drop_column("reopen_count")
        batch_op.drop_column("resolution_breached")
        batch_op.drop_column("first_response_breached")
        batch_op.drop_column("paused_at")
        batch_op.drop_column("resolution_due_at")
        batch_op.drop_column("first_response_due_at")
        batch_op.drop_column("group")

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_started_at"))
        batch_op.drop_index(batch_op.f("ix_contacts_outcome"))
        batch_op.drop_index(batch_op.f("ix_contacts_conversation_id"))

    op.drop_table("contacts")
    op.drop_table("agents")

"""sop reminders

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from models.base import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_exception",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("working", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_exception")),
    )
    op.create_table(
        "quota_reading",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("read_at", UTCDateTime(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("limit", sa.Integer(), nullable=True),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.Column("warned", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quota_reading")),
    )
    with op.batch_alter_table("quota_reading", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quota_reading_month"), ["month"], unique=False)

    op.create_table(
        "reminder_definition",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("section", sa.String(length=100), nullable=False),
        sa.Column("sop_text", sa.Text(), nullable=False),
        sa.Column("cadence", sa.String(length=20), nullable=False),
        sa.Column("interval", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=True),
        sa.Column("day", sa.Integer(), nullable=True),
        sa.Column("weekday", sa.Integer(), nullable=True),
        sa.Column("lead_days", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=True),
        sa.Column("officer_id", sa.Integer(), nullable=True),
        sa.Column("evidence", sa.String(length=10), nullable=False),
        sa.Column("working_day", sa.Boolean(), nullable=False),
        sa.Column("escalate_after_days", sa.Integer(), nullable=False),
        sa.Column("notice", sa.Text(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["officer_id"], ["staff.id"], name=op.f("fk_reminder_definition_officer_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_definition")),
        sa.UniqueConstraint("code", name=op.f("uq_reminder_definition_code")),
    )
    op.create_table(
        "reminder_occurrence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("nominal_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("announce_on", sa.Date(), nullable=False),
        sa.Column("announced_at", UTCDateTime(), nullable=True),
        sa.Column("snoozed_until", sa.Date(), nullable=True),
        sa.Column("snooze_reason", sa.Text(), nullable=False),
        sa.Column("overdue_reminded_at", UTCDateTime(), nullable=True),
        sa.Column("escalated_at", UTCDateTime(), nullable=True),
        sa.Column("escalated_to_id", sa.Integer(), nullable=True),
        sa.Column("done_at", UTCDateTime(), nullable=True),
        sa.Column("done_by_id", sa.Integer(), nullable=True),
        sa.Column("evidence_kind", sa.String(length=10), nullable=False),
        sa.Column("evidence_text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["assignee_id"], ["staff.id"], name=op.f("fk_reminder_occurrence_assignee_id_staff")),
        sa.ForeignKeyConstraint(
            ["definition_id"],
            ["reminder_definition.id"],
            name=op.f("fk_reminder_occurrence_definition_id_reminder_definition"),
        ),
        sa.ForeignKeyConstraint(["done_by_id"], ["staff.id"], name=op.f("fk_reminder_occurrence_done_by_id_staff")),
        sa.ForeignKeyConstraint(
            ["escalated_to_id"], ["staff.id"], name=op.f("fk_reminder_occurrence_escalated_to_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_occurrence")),
        sa.UniqueConstraint("definition_id", "nominal_on", name=op.f("uq_reminder_occurrence_definition_id")),
    )
    with op.batch_alter_table("reminder_occurrence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminder_occurrence_definition_id"), ["definition_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reminder_occurrence_state"), ["state"], unique=False)

    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recipients", sa.JSON(), nullable=True))

    with op.batch_alter_table("ticket_photo", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminder_occurrence_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_ticket_photo_reminder_occurrence_id"), ["reminder_occurrence_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_ticket_photo_reminder_occurrence_id_reminder_occurrence"),
            "reminder_occurrence",
            ["reminder_occurrence_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("ticket_photo", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_ticket_photo_reminder_occurrence_id_reminder_occurrence"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_ticket_photo_reminder_occurrence_id"))
        batch_op.drop_column("reminder_occurrence_id")

    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_column("recipients")

    with op.batch_alter_table("reminder_occurrence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminder_occurrence_state"))
        batch_op.drop_index(batch_op.f("ix_reminder_occurrence_definition_id"))

    op.drop_table("reminder_occurrence")
    op.drop_table("reminder_definition")
    with op.batch_alter_table("quota_reading", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quota_reading_month"))

    op.drop_table("quota_reading")
    op.drop_table("calendar_exception")

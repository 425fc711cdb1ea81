"""approvals and accounts

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from models.base import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "approval",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("approver_id", sa.Integer(), nullable=False),
        sa.Column("escalated_to_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("reminded_at", UTCDateTime(), nullable=True),
        sa.Column("escalated_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["approver_id"], ["staff.id"], name=op.f("fk_approval_approver_id_staff")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["staff.id"], name=op.f("fk_approval_decided_by_id_staff")),
        sa.ForeignKeyConstraint(["escalated_to_id"], ["staff.id"], name=op.f("fk_approval_escalated_to_id_staff")),
        sa.ForeignKeyConstraint(["requester_id"], ["staff.id"], name=op.f("fk_approval_requester_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval")),
    )
    with op.batch_alter_table("approval", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_approval_number"), ["number"], unique=False)

    op.create_table(
        "delegation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("head_id", sa.Integer(), nullable=False),
        sa.Column("acting_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["acting_id"], ["staff.id"], name=op.f("fk_delegation_acting_id_staff"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["head_id"], ["staff.id"], name=op.f("fk_delegation_head_id_staff"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delegation")),
    )
    op.create_table(
        "leaver_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("reported_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("reminded_at", UTCDateTime(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["reported_by_id"], ["staff.id"], name=op.f("fk_leaver_case_reported_by_id_staff")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_leaver_case_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leaver_case")),
    )
    op.create_table(
        "account_entry",
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("rights", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_account_entry_staff_id_staff"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["system_id"], ["system.id"], name=op.f("fk_account_entry_system_id_system"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("staff_id", "system_id", name=op.f("pk_account_entry")),
    )
    op.create_table(
        "account_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("rights", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("approval_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("done_at", UTCDateTime(), nullable=True),
        sa.Column("done_by_id", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["approval_id"], ["approval.id"], name=op.f("fk_account_request_approval_id_approval")),
        sa.ForeignKeyConstraint(["case_id"], ["leaver_case.id"], name=op.f("fk_account_request_case_id_leaver_case")),
        sa.ForeignKeyConstraint(["done_by_id"], ["staff.id"], name=op.f("fk_account_request_done_by_id_staff")),
        sa.ForeignKeyConstraint(["requester_id"], ["staff.id"], name=op.f("fk_account_request_requester_id_staff")),
        sa.ForeignKeyConstraint(["subject_id"], ["staff.id"], name=op.f("fk_account_request_subject_id_staff")),
        sa.ForeignKeyConstraint(["system_id"], ["system.id"], name=op.f("fk_account_request_system_id_system")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_request")),
        sa.UniqueConstraint("number", name=op.f("uq_account_request_number")),
    )


def downgrade() -> None:
    op.drop_table("account_request")
    op.drop_table("account_entry")
    op.drop_table("leaver_case")
    op.drop_table("delegation")
    with op.batch_alter_table("approval", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approval_number"))

    op.drop_table("approval")

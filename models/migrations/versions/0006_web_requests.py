"""web requests

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from models.base import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("work_group_id", sa.Integer(), nullable=True),
        sa.Column("request_date", sa.Date(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("publish_days", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("approval_id", sa.Integer(), nullable=True),
        sa.Column("verbal_by", sa.String(length=200), nullable=False),
        sa.Column("webmaster_id", sa.Integer(), nullable=True),
        sa.Column("taken_at", UTCDateTime(), nullable=True),
        sa.Column("published_url", sa.String(length=500), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("expiry_reminded_at", UTCDateTime(), nullable=True),
        sa.Column("taken_down_at", UTCDateTime(), nullable=True),
        sa.Column("taken_down_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["approval_id"], ["approval.id"], name=op.f("fk_web_request_approval_id_approval")),
        sa.ForeignKeyConstraint(["requester_id"], ["staff.id"], name=op.f("fk_web_request_requester_id_staff")),
        sa.ForeignKeyConstraint(["taken_down_by_id"], ["staff.id"], name=op.f("fk_web_request_taken_down_by_id_staff")),
        sa.ForeignKeyConstraint(["webmaster_id"], ["staff.id"], name=op.f("fk_web_request_webmaster_id_staff")),
        sa.ForeignKeyConstraint(
            ["work_group_id"], ["work_group.id"], name=op.f("fk_web_request_work_group_id_work_group")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_request")),
        sa.UniqueConstraint("number", name=op.f("uq_web_request_number")),
    )


    # Files attached to website requests are fetched into the same store as ticket photos.
    with op.batch_alter_table("ticket_photo", schema=None) as batch_op:
        batch_op.alter_column("ticket_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("web_request_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_ticket_photo_web_request_id"), ["web_request_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_ticket_photo_web_request_id_web_request"), "web_request", ["web_request_id"], ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("ticket_photo", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_ticket_photo_web_request_id_web_request"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_ticket_photo_web_request_id"))
        batch_op.drop_column("web_request_id")
        batch_op.alter_column("ticket_id", existing_type=sa.Integer(), nullable=False)
    op.drop_table("web_request")

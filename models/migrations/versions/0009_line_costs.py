"""what LINE charges: group sizes, charged messages, replies known to have reached LINE

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from models.base import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_reached_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("charged", sa.Integer(), nullable=True))
    with op.batch_alter_table("chat_group", schema=None) as batch_op:
        batch_op.add_column(sa.Column("member_count", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("member_count_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chat_group", schema=None) as batch_op:
        batch_op.drop_column("member_count_at")
        batch_op.drop_column("member_count")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_column("charged")
        batch_op.drop_column("reply_reached_at")

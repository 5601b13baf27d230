"""scan shards: which slice of a sharded audit a scan covered

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 22:10:00.000000

A group report must tell "shard 3 of 4 never reported" from "the fleet has 3 slices";
both numbers live on the scan row so a missing shard is one query away. Existing scans
were never sharded: NULL means "the whole inventory (or a --limit of it)".
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scan", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shard_index", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("shard_count", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scan", schema=None) as batch_op:
        batch_op.drop_column("shard_count")
        batch_op.drop_column("shard_index")

"""scan shards: which slice of a sharded audit a scan covered; finding (scan_id, fingerprint)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 22:10:00.000000

A group report must tell "shard 3 of 4 never reported" from "the fleet has 3 slices";
both numbers live on the scan row so a missing shard is one query away. Existing scans
were never sharded: NULL means "the whole inventory (or a --limit of it)".

The (scan_id, fingerprint) index serves "the last sighting of each identity a scan fixed":
with only the scan_id index SQLite walks a whole scan's findings per fixed identity
(minutes for 10k fixed out of 100k); with it, one lookup each.
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
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.create_index("ix_finding_scan_fingerprint", ["scan_id", "fingerprint"])
        # its prefix serves every scan_id lookup: one index less to maintain on ingest
        batch_op.drop_index("ix_finding_scan_id")


def downgrade() -> None:
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.create_index("ix_finding_scan_id", ["scan_id"])
        batch_op.drop_index("ix_finding_scan_fingerprint")
    with op.batch_alter_table("scan", schema=None) as batch_op:
        batch_op.drop_column("shard_count")
        batch_op.drop_column("shard_index")

"""baseline identity: tree state, scanned root and scanners of a scan; inline suppressions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 10:00:00.000000

A stored scan may stand in for the baseline of a merge request only when it saw exactly
what that commit holds, the same way: a clean tree (`tree_dirty` false), the same root
inside the repository (`scan_root`, POSIX, '.' for the top) and the same scanners
(`scanners`, sorted names; their versions are in `tool_versions`). Scans stored before
this revision have NULLs here: their tree state is unknown, so they are never a baseline.

`finding.inline_suppressed` keeps whether the source suppressed a finding (`# nosec`,
`# nosemgrep`) apart from the status the gate gave it: a new suppression judged as open
or waived is still a suppression a later merge request inherits.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scan", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tree_dirty", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("scan_root", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("scanners", sa.JSON(), nullable=True))
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.add_column(sa.Column("inline_suppressed", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.drop_column("inline_suppressed")
    with op.batch_alter_table("scan", schema=None) as batch_op:
        batch_op.drop_column("scanners")
        batch_op.drop_column("scan_root")
        batch_op.drop_column("tree_dirty")

"""weakness class, the tool's own severity and merged findings of one flaw

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 16:00:00.000000

`finding.severity` is the gate's (the weakness table, weakness.py); `finding.tool_severity`
keeps the tool's own word for it (bandit `MEDIUM`, semgrep `WARNING`), and
`finding.weakness` the `CWE-n class` the table gave. `finding.also` lists the findings of
other tools merged into this one as the same flaw (scanner, rule_id, fingerprint,
tool_severity). Rows stored before this revision have empty values: nothing was merged.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tool_severity", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("weakness", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("also", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.drop_column("also")
        batch_op.drop_column("weakness")
        batch_op.drop_column("tool_severity")

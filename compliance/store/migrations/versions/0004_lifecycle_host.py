"""lifecycle host: the host of a finding identity, as a field, not read from a display string

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 16:40:00.000000

A partial host audit (`--limit`, `--shard`) marks fixed only the identities on the hosts it
audited. That used to compare the audited host names with `finding_lifecycle.location`,
which holds `Location.display()`: text for people, which happens to be the bare host name
for a host finding today and would silently stop matching (leaving findings open forever,
or marking them fixed on hosts never looked at) the day that text changes.
`finding_lifecycle.host` is the structured field the comparison uses now.

Existing rows get the host of their last sighting (the finding row of `last_seen_scan_id`
with the same fingerprint). Where that row is gone (pruned), a host-audit identity's
`location` is its host name (that is exactly what the old comparison relied on), so it is
taken from there; other identities have no host. Fingerprints do not change.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

HOST_SCANNER = "host"  # compliance.host_audit.SCANNER when this revision was written


def upgrade() -> None:
    with op.batch_alter_table("finding_lifecycle", schema=None) as batch_op:
        batch_op.add_column(sa.Column("host", sa.String(), nullable=True))
    op.execute(
        sa.text(
            "UPDATE finding_lifecycle SET host = (SELECT finding.host FROM finding "
            "WHERE finding.scan_id = finding_lifecycle.last_seen_scan_id "
            "AND finding.fingerprint = finding_lifecycle.fingerprint "
            "AND finding.host IS NOT NULL LIMIT 1)"
        )
    )
    op.execute(
        sa.text(
            "UPDATE finding_lifecycle SET host = location "
            "WHERE host IS NULL AND scanner = :scanner AND location <> ''"
        ).bindparams(scanner=HOST_SCANNER)
    )


def downgrade() -> None:
    with op.batch_alter_table("finding_lifecycle", schema=None) as batch_op:
        batch_op.drop_column("host")

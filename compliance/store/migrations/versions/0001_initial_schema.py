"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24 19:32:47.091881
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "finding_lifecycle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("fingerprint", sa.String(), nullable=False),
        sa.Column("scanner", sa.String(), nullable=False),
        sa.Column("rule_id", sa.String(), nullable=False),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("location", sa.String(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_seen_scan_id", sa.Integer(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_scan_id", sa.Integer(), nullable=False),
        sa.Column("fixed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fixed_scan_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("target", "fingerprint"),
    )
    with op.batch_alter_table("finding_lifecycle", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_finding_lifecycle_fingerprint"), ["fingerprint"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_finding_lifecycle_target"), ["target"], unique=False)

    op.create_table(
        "scan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("scan_group", sa.String(), nullable=True),
        sa.Column("git_commit", sa.String(), nullable=True),
        sa.Column("git_branch", sa.String(), nullable=True),
        sa.Column("tool_versions", sa.JSON(), nullable=True),
        sa.Column("policy_path", sa.String(), nullable=True),
        sa.Column("policy_digest", sa.String(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("verdict", sa.String(), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("errors", sa.JSON(), nullable=True),
        sa.Column("coverage", sa.JSON(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("hostname", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("scan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scan_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_scan_scan_group"), ["scan_group"], unique=False)
        batch_op.create_index(batch_op.f("ix_scan_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_scan_target"), ["target"], unique=False)

    op.create_table(
        "finding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scan_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(), nullable=False),
        sa.Column("scanner", sa.String(), nullable=False),
        sa.Column("rule_id", sa.String(), nullable=False),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("severity_rank", sa.Integer(), nullable=False),
        sa.Column("confidence", sa.String(), nullable=True),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("message", sa.String(), nullable=False),
        sa.Column("path", sa.String(), nullable=True),
        sa.Column("start_line", sa.Integer(), nullable=True),
        sa.Column("end_line", sa.Integer(), nullable=True),
        sa.Column("package", sa.String(), nullable=True),
        sa.Column("version", sa.String(), nullable=True),
        sa.Column("host", sa.String(), nullable=True),
        sa.Column("evidence", sa.String(), nullable=False),
        sa.Column("references", sa.JSON(), nullable=True),
        sa.Column("remediation", sa.String(), nullable=False),
        sa.Column("fix_versions", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("blocking", sa.Boolean(), nullable=False),
        sa.Column("reported", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["scan_id"],
            ["scan.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_finding_fingerprint"), ["fingerprint"], unique=False)
        batch_op.create_index(batch_op.f("ix_finding_scan_id"), ["scan_id"], unique=False)

    op.create_table(
        "host_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scan_id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(), nullable=False),
        sa.Column("check_id", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("expected", sa.String(), nullable=False),
        sa.Column("observed", sa.String(), nullable=False),
        sa.Column("references", sa.JSON(), nullable=True),
        sa.Column("remediation", sa.String(), nullable=False),
        sa.Column("policy", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["scan_id"],
            ["scan.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("host_check", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_host_check_scan_id"), ["scan_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("host_check", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_host_check_scan_id"))

    op.drop_table("host_check")
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_finding_scan_id"))
        batch_op.drop_index(batch_op.f("ix_finding_fingerprint"))

    op.drop_table("finding")
    with op.batch_alter_table("scan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scan_target"))
        batch_op.drop_index(batch_op.f("ix_scan_status"))
        batch_op.drop_index(batch_op.f("ix_scan_scan_group"))
        batch_op.drop_index(batch_op.f("ix_scan_kind"))

    op.drop_table("scan")
    with op.batch_alter_table("finding_lifecycle", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_finding_lifecycle_target"))
        batch_op.drop_index(batch_op.f("ix_finding_lifecycle_fingerprint"))

    op.drop_table("finding_lifecycle")

"""Alerts: rules per deployment and the alerts they fired.

Why: drift, errors, latency and accuracy are only useful if someone hears about them. Rules live in
the database so every kernel (and the sidebar) sees the same ones; fired alerts are append-only, and a
rule's cooldown is read from them, so one problem is reported once per cooldown, not once per check.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ROWID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "alert_rules",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("metric", sa.String(32), nullable=False),
        sa.Column("op", sa.String(2), nullable=False),
        sa.Column("threshold", sa.Double(), nullable=False),
        sa.Column("window_s", sa.Double(), nullable=False),
        sa.Column("cooldown_s", sa.Double(), nullable=False),
        sa.Column("webhook", sa.Text(), nullable=True),
        sa.Column("allow_private", sa.Boolean(), nullable=False),
        sa.Column("created_time", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"], ["deployments.id"], name="fk_alert_rules_deployment_id_deployments"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_alert_rules"),
        sa.UniqueConstraint("deployment_id", "name", name="uq_alert_rules_deployment_id_name"),
    )
    op.create_table(
        "alerts",
        sa.Column("id", ROWID, autoincrement=True, nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("time", sa.Double(), nullable=False),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("delivery", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["rule_id"], ["alert_rules.id"], name="fk_alerts_rule_id_alert_rules"),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
    )
    op.create_index("ix_alerts_rule_id_time", "alerts", ["rule_id", "time"])


def downgrade() -> None:
    op.drop_index("ix_alerts_rule_id_time", "alerts")
    op.drop_table("alerts")
    op.drop_table("alert_rules")

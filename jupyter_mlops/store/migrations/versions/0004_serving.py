"""Serving: deployments, logged predictions and feedback.

Why: a deployment must outlive the kernel that made it, so its process, port, routes and heartbeat
live in the database where any kernel (or the sidebar) finds them again. Predictions are logged (all
or a sampled share) for monitoring, and feedback rows carry the ground truth that arrives later for a
request id. The token of a deployment is never stored, only its sha256.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ROWID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("backend", sa.String(32), nullable=False),
        sa.Column("host", sa.String(250), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("token_sha256", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("active_generation", sa.Integer(), nullable=True),
        sa.Column("heartbeat", sa.Double(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_time", sa.Double(), nullable=False),
        sa.Column("updated_time", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_deployments"),
        sa.UniqueConstraint("name", name="uq_deployments_name"),
    )
    op.create_table(
        "predictions",
        sa.Column("id", ROWID, autoincrement=True, nullable=False),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("model", sa.String(250), nullable=False),
        sa.Column("shadow", sa.Boolean(), nullable=False),
        sa.Column("time", sa.Double(), nullable=False),
        sa.Column("latency_ms", sa.Double(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("inputs", sa.Text(), nullable=True),
        sa.Column("outputs", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["deployment_id"], ["deployments.id"], name="fk_predictions_deployment_id_deployments"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_predictions"),
    )
    op.create_index("ix_predictions_deployment_id_time", "predictions", ["deployment_id", "time"])
    op.create_index("ix_predictions_request_id", "predictions", ["request_id"])
    op.create_table(
        "feedback",
        sa.Column("id", ROWID, autoincrement=True, nullable=False),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("time", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"], ["deployments.id"], name="fk_feedback_deployment_id_deployments"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_feedback"),
    )
    op.create_index("ix_feedback_request_id", "feedback", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_feedback_request_id", "feedback")
    op.drop_table("feedback")
    op.drop_index("ix_predictions_request_id", "predictions")
    op.drop_index("ix_predictions_deployment_id_time", "predictions")
    op.drop_table("predictions")
    op.drop_table("deployments")

"""Lineage: environments, artifacts, dataset fingerprints and run inputs.

Why: a run is reproducible only with what it ran in and on. Environments and datasets are
content-addressed (the id is the sha256 of their content) so a thousand runs in one kernel on one
data set store each once; ``runs.environment_id`` points at the shared row.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ROWID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "environments",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_time", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_environments"),
    )
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("environment_id", sa.String(64), nullable=True))
        batch.create_foreign_key(
            "fk_runs_environment_id_environments", "environments", ["environment_id"], ["id"]
        )
    op.create_table(
        "artifacts",
        sa.Column("id", ROWID, autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("uri", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("created_time", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_artifacts_run_id_runs"),
        sa.PrimaryKeyConstraint("id", name="pk_artifacts"),
        sa.UniqueConstraint("run_id", "path", name="uq_artifacts_run_id_path"),
    )
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("shape", sa.Text(), nullable=False),
        sa.Column("schema", sa.Text(), nullable=False),
        sa.Column("profile", sa.Text(), nullable=False),
        sa.Column("created_time", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_datasets"),
    )
    op.create_table(
        "run_inputs",
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("dataset_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(250), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_run_inputs_run_id_runs"),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], name="fk_run_inputs_dataset_id_datasets"),
        sa.PrimaryKeyConstraint("run_id", "dataset_id", "name", name="pk_run_inputs"),
    )


def downgrade() -> None:
    op.drop_table("run_inputs")
    op.drop_table("datasets")
    op.drop_table("artifacts")
    with op.batch_alter_table("runs") as batch:
        batch.drop_constraint("fk_runs_environment_id_environments", type_="foreignkey")
        batch.drop_column("environment_id")
    op.drop_table("environments")

"""Model registry: registered models, their versions, aliases and the alias history.

Why: a model that leaves the notebook needs a name, a version number that never changes meaning, and
a file checked against its sha256 before it is loaded. Aliases (``@champion``) are the movable
pointers deployments follow; ``alias_events`` is append-only so "which version was @production at
time T" is a query, and ``aliases.require`` keeps the gate a version must pass to get the alias.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ROWID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "registered_models",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_time", sa.Double(), nullable=False),
        sa.Column("updated_time", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_registered_models"),
        sa.UniqueConstraint("name", name="uq_registered_models_name"),
    )
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=True),
        sa.Column("uri", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("flavor", sa.String(32), nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("meta", sa.Text(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=True),
        sa.Column("metrics", sa.Text(), nullable=False),
        sa.Column("report", sa.Text(), nullable=True),
        sa.Column("author", sa.String(250), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_time", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"], ["registered_models.id"], name="fk_model_versions_model_id_registered_models"
        ),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_model_versions_run_id_runs"),
        sa.PrimaryKeyConstraint("id", name="pk_model_versions"),
        sa.UniqueConstraint("model_id", "version", name="uq_model_versions_model_id_version"),
    )
    op.create_index("ix_model_versions_run_id", "model_versions", ["run_id"])
    op.create_table(
        "aliases",
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(250), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("require", sa.Text(), nullable=True),
        sa.Column("updated_time", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"], ["registered_models.id"], name="fk_aliases_model_id_registered_models"
        ),
        sa.PrimaryKeyConstraint("model_id", "alias", name="pk_aliases"),
    )
    op.create_table(
        "alias_events",
        sa.Column("id", ROWID, autoincrement=True, nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(250), nullable=False),
        sa.Column("from_version", sa.Integer(), nullable=True),
        sa.Column("to_version", sa.Integer(), nullable=True),
        sa.Column("user", sa.String(250), nullable=True),
        sa.Column("time", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"], ["registered_models.id"], name="fk_alias_events_model_id_registered_models"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_alias_events"),
    )
    op.create_index("ix_alias_events_model_id_alias_time", "alias_events", ["model_id", "alias", "time"])


def downgrade() -> None:
    op.drop_index("ix_alias_events_model_id_alias_time", "alias_events")
    op.drop_table("alias_events")
    op.drop_table("aliases")
    op.drop_index("ix_model_versions_run_id", "model_versions")
    op.drop_table("model_versions")
    op.drop_table("registered_models")

"""SQLAlchemy ORM: one class per table, every constraint named.

The Alembic revisions in ``migrations/versions`` create exactly these tables; a test checks that the
migrated schema and this metadata agree.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = String(32)  # run ids: uuid4 hex
NAME = String(250)
HASH = String(64)  # sha256 hex
# SQLite only aliases INTEGER PRIMARY KEY to the rowid; BIGINT would be a slower separate key there.
ROWID = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ExperimentRow(Base):
    __tablename__ = "experiments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    created_time: Mapped[float] = mapped_column(Double)


class EnvironmentRow(Base):
    """Content-addressed: one row per distinct environment, shared by every run captured in it."""

    __tablename__ = "environments"

    id: Mapped[str] = mapped_column(HASH, primary_key=True)
    content: Mapped[str] = mapped_column(Text)
    created_time: Mapped[float] = mapped_column(Double)


class RunRow(Base):
    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_experiment_id_start_time", "experiment_id", "start_time"),
        Index("ix_runs_parent_id", "parent_id"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"))
    name: Mapped[str] = mapped_column(NAME)
    status: Mapped[str] = mapped_column(String(16))
    start_time: Mapped[float] = mapped_column(Double)
    end_time: Mapped[float | None] = mapped_column(Double)
    heartbeat: Mapped[float] = mapped_column(Double)
    heartbeat_interval: Mapped[float] = mapped_column(Double)
    user: Mapped[str | None] = mapped_column(NAME)
    host: Mapped[str | None] = mapped_column(NAME)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("runs.id"))
    source: Mapped[str | None] = mapped_column(Text)
    source_hash: Mapped[str | None] = mapped_column(HASH)
    context: Mapped[str | None] = mapped_column(Text)
    notebook: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    environment_id: Mapped[str | None] = mapped_column(ForeignKey("environments.id"))


# SQLite: tables read by (run_id, key) are stored clustered on that key (WITHOUT ROWID), so fetching a
# run's values is one b-tree walk instead of an index walk plus a table lookup per row.
CLUSTERED = {"sqlite_with_rowid": False}


class ParamRow(Base):
    __tablename__ = "params"
    __table_args__ = CLUSTERED

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    key: Mapped[str] = mapped_column(NAME, primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    # The value as a number when it is one, so `params.lr > 0.001` compares numbers, not text.
    num: Mapped[float | None] = mapped_column(Double)


class LatestMetricRow(Base):
    """One row per metric series (run, key): its id and the point at its highest step.

    What search, filters and ``run.metrics`` read. ``id`` is computed from (run, key) by the client
    (``store.tracking_store.series_id``), so logging never waits for the database to hand out an id.
    """

    __tablename__ = "latest_metrics"
    __table_args__ = (
        UniqueConstraint("id"),
        Index("ix_latest_metrics_key_value", "key", "value"),
        CLUSTERED,
    )

    id: Mapped[int] = mapped_column(BigInteger)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    key: Mapped[str] = mapped_column(NAME, primary_key=True)
    step: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[float | None] = mapped_column(Double)
    time: Mapped[float] = mapped_column(Double)


class MetricRow(Base):
    """Every point of every series. ``value`` NULL means NaN: SQLite cannot store NaN, and NULL never
    matches a filter. Rows name their series by its integer id: a narrow row and index keep logging fast."""

    __tablename__ = "metrics"
    __table_args__ = (Index("ix_metrics_series_id_step", "series_id", "step"),)

    id: Mapped[int] = mapped_column(ROWID, primary_key=True, autoincrement=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("latest_metrics.id"))
    step: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[float | None] = mapped_column(Double)
    time: Mapped[float] = mapped_column(Double)


class TagRow(Base):
    __tablename__ = "tags"
    __table_args__ = CLUSTERED

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    key: Mapped[str] = mapped_column(NAME, primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ArtifactRow(Base):
    __tablename__ = "artifacts"
    __table_args__ = (UniqueConstraint("run_id", "path"),)

    id: Mapped[int] = mapped_column(ROWID, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"))
    path: Mapped[str] = mapped_column(String(500))
    uri: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(HASH)
    size: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    created_time: Mapped[float] = mapped_column(Double)


class DatasetRow(Base):
    """Content-addressed dataset fingerprint: ``id`` is the content hash."""

    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(HASH, primary_key=True)
    shape: Mapped[str] = mapped_column(Text)
    schema: Mapped[str] = mapped_column(Text)
    profile: Mapped[str] = mapped_column(Text)
    created_time: Mapped[float] = mapped_column(Double)


class RunInputRow(Base):
    """Lineage: run ``run_id`` read dataset ``dataset_id`` through the variable ``name``."""

    __tablename__ = "run_inputs"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"), primary_key=True)
    name: Mapped[str] = mapped_column(NAME, primary_key=True)


class RegisteredModelRow(Base):
    __tablename__ = "registered_models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_time: Mapped[float] = mapped_column(Double)
    updated_time: Mapped[float] = mapped_column(Double)


class ModelVersionRow(Base):
    """One registered version: the file (uri, sha256), how to load it (flavor, format, meta) and what it
    was registered with (run, signature, metrics snapshot, report)."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("model_id", "version"), Index("ix_model_versions_run_id", "run_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("registered_models.id"))
    version: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[str | None] = mapped_column(ForeignKey("runs.id"))
    uri: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(HASH)
    size: Mapped[int] = mapped_column(BigInteger)
    flavor: Mapped[str] = mapped_column(String(32))
    format: Mapped[str] = mapped_column(String(32))
    meta: Mapped[str] = mapped_column(Text)
    signature: Mapped[str | None] = mapped_column(Text)
    metrics: Mapped[str] = mapped_column(Text)
    report: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(NAME)
    description: Mapped[str | None] = mapped_column(Text)
    created_time: Mapped[float] = mapped_column(Double)


class AliasRow(Base):
    """Where each alias of a model points now, and the gate a version must pass to get it."""

    __tablename__ = "aliases"

    model_id: Mapped[int] = mapped_column(ForeignKey("registered_models.id"), primary_key=True)
    alias: Mapped[str] = mapped_column(NAME, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    require: Mapped[str | None] = mapped_column(Text)
    updated_time: Mapped[float] = mapped_column(Double)


class AliasEventRow(Base):
    """Append-only: every move of an alias (from version, to version; None for set or removed)."""

    __tablename__ = "alias_events"
    __table_args__ = (Index("ix_alias_events_model_id_alias_time", "model_id", "alias", "time"),)

    id: Mapped[int] = mapped_column(ROWID, primary_key=True, autoincrement=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("registered_models.id"))
    alias: Mapped[str] = mapped_column(NAME)
    from_version: Mapped[int | None] = mapped_column(Integer)
    to_version: Mapped[int | None] = mapped_column(Integer)
    user: Mapped[str | None] = mapped_column(NAME)
    time: Mapped[float] = mapped_column(Double)


class DeploymentRow(Base):
    """A model server: where it listens, its process, its routes (``config``, JSON) and its health.

    ``generation`` counts configuration changes; the server reports the one it serves in
    ``active_generation`` once the new models loaded and answered a warm-up prediction."""

    __tablename__ = "deployments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    backend: Mapped[str] = mapped_column(String(32))
    host: Mapped[str] = mapped_column(NAME)
    port: Mapped[int] = mapped_column(Integer)
    pid: Mapped[int | None] = mapped_column(Integer)
    token_sha256: Mapped[str | None] = mapped_column(HASH)
    status: Mapped[str] = mapped_column(String(16))
    config: Mapped[str] = mapped_column(Text)
    generation: Mapped[int] = mapped_column(Integer)
    active_generation: Mapped[int | None] = mapped_column(Integer)
    heartbeat: Mapped[float | None] = mapped_column(Double)
    error: Mapped[str | None] = mapped_column(Text)
    created_time: Mapped[float] = mapped_column(Double)
    updated_time: Mapped[float] = mapped_column(Double)


class PredictionRow(Base):
    """One logged request (or its shadow copy): what came in, what went out, how long it took."""

    __tablename__ = "predictions"
    __table_args__ = (
        Index("ix_predictions_deployment_id_time", "deployment_id", "time"),
        Index("ix_predictions_request_id", "request_id"),
    )

    id: Mapped[int] = mapped_column(ROWID, primary_key=True, autoincrement=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"))
    request_id: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(NAME)
    shadow: Mapped[bool] = mapped_column(Boolean)
    time: Mapped[float] = mapped_column(Double)
    latency_ms: Mapped[float] = mapped_column(Double)
    status: Mapped[int] = mapped_column(Integer)
    inputs: Mapped[str | None] = mapped_column(Text)
    outputs: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)


class FeedbackRow(Base):
    """Ground truth sent later for a request id (``POST /feedback``)."""

    __tablename__ = "feedback"
    __table_args__ = (Index("ix_feedback_request_id", "request_id"),)

    id: Mapped[int] = mapped_column(ROWID, primary_key=True, autoincrement=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"))
    request_id: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(Text)
    time: Mapped[float] = mapped_column(Double)


class AlertRuleRow(Base):
    """When to alert about a deployment: ``metric`` (drift, error_rate, p95_ms, accuracy) against
    ``threshold`` over the last ``window_s`` seconds, at most once per ``cooldown_s``."""

    __tablename__ = "alert_rules"
    __table_args__ = (UniqueConstraint("deployment_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"))
    name: Mapped[str] = mapped_column(NAME)
    metric: Mapped[str] = mapped_column(String(32))
    op: Mapped[str] = mapped_column(String(2))
    threshold: Mapped[float] = mapped_column(Double)
    window_s: Mapped[float] = mapped_column(Double)
    cooldown_s: Mapped[float] = mapped_column(Double)
    webhook: Mapped[str | None] = mapped_column(Text)
    allow_private: Mapped[bool] = mapped_column(Boolean)
    created_time: Mapped[float] = mapped_column(Double)


class AlertRow(Base):
    """A fired alert (append-only): the value that crossed the threshold, and whether the webhook took it."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_rule_id_time", "rule_id", "time"),)

    id: Mapped[int] = mapped_column(ROWID, primary_key=True, autoincrement=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id"))
    time: Mapped[float] = mapped_column(Double)
    value: Mapped[float | None] = mapped_column(Double)
    message: Mapped[str] = mapped_column(Text)
    delivery: Mapped[str | None] = mapped_column(Text)


experiments = cast(Table, ExperimentRow.__table__)
environments = cast(Table, EnvironmentRow.__table__)
runs = cast(Table, RunRow.__table__)
params = cast(Table, ParamRow.__table__)
metrics = cast(Table, MetricRow.__table__)
latest_metrics = cast(Table, LatestMetricRow.__table__)
tags = cast(Table, TagRow.__table__)
artifacts = cast(Table, ArtifactRow.__table__)
datasets = cast(Table, DatasetRow.__table__)
run_inputs = cast(Table, RunInputRow.__table__)
registered_models = cast(Table, RegisteredModelRow.__table__)
model_versions = cast(Table, ModelVersionRow.__table__)
aliases = cast(Table, AliasRow.__table__)
alias_events = cast(Table, AliasEventRow.__table__)
deployments = cast(Table, DeploymentRow.__table__)
predictions = cast(Table, PredictionRow.__table__)
feedback = cast(Table, FeedbackRow.__table__)
alert_rules = cast(Table, AlertRuleRow.__table__)
alerts = cast(Table, AlertRow.__table__)

"""The tracker's tables, as SQLAlchemy ORM classes.

The five tables of ato 2.x keep their names and columns (``projects``, ``experiments``,
``metrics``, ``artifacts``, ``fingerprints``), so databases written by 2.x open, are
queried and are appended to; what ato added since is new columns and new tables, created
by :mod:`ato.tracking.migrations`. These classes describe the latest schema: the one a
database has once it is migrated. ``ato.db_routers.sql.schema`` re-exports them for code
written against 2.x (``logger.session.query(Metric)...``).
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import DateTime, TypeDecorator

from ato.tracking.summaries import summarize

__all__ = [
    "Artifact",
    "Base",
    "CodeSource",
    "Environment",
    "Experiment",
    "Fingerprint",
    "Metric",
    "MetricSummary",
    "MetricValue",
    "Project",
    "SchemaVersion",
    "UTCTime",
    "utc_now",
]

UTC = _dt.timezone.utc


def utc_now() -> _dt.datetime:
    return _dt.datetime.now(UTC)


def as_utc(value: Any) -> _dt.datetime | None:
    """A stored time as an aware UTC datetime, whatever form it was stored in.

    ato 2.x wrote naive UTC strings (``'2025-01-02 03:04:05.678901'``); ato stores ISO
    strings with an offset, and metric times as Unix seconds (a REAL is 8 bytes where the
    string is 32, and metrics are most of a database).
    """
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return _dt.datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        value = _dt.datetime.fromisoformat(value)
    if isinstance(value, _dt.datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    raise TypeError(f"not a stored time: {value!r}")


class UTCTime(TypeDecorator[_dt.datetime]):
    """A timezone-aware time: ISO text with offset in SQLite, ``timestamptz`` elsewhere."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = as_utc(value)
        assert value is not None
        return value.isoformat(sep=" ") if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> _dt.datetime | None:
        return as_utc(value)


class MetricValue(TypeDecorator[float]):
    """A metric value. SQLite cannot store NaN in a REAL (it becomes NULL), so NaN is
    stored there as the text ``'NaN'``; infinities are REALs already."""

    impl = Float
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is not None and dialect.name == "sqlite" and math.isnan(value):
            return "NaN"
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> float | None:
        return None if value is None else float(value)


class Base(DeclarativeBase):
    """The declarative base of the tracker's tables."""


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String, unique=True, nullable=False, index=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[_dt.datetime | None] = mapped_column(UTCTime, default=utc_now)

    runs: Mapped[list[Experiment]] = relationship(back_populates="project")


class Experiment(Base):
    """One run. ``status`` is what was last written; a reader decides whether a
    'running' run has crashed from ``heartbeat_at``, ``host`` and ``pid``."""

    __tablename__ = "experiments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), nullable=False, index=True)
    config: Mapped[Any] = mapped_column(JSON, nullable=False)
    structural_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    tags: Mapped[Any] = mapped_column(JSON, default=list)
    status: Mapped[str | None] = mapped_column(String, default="running", index=True)
    start_time: Mapped[_dt.datetime | None] = mapped_column(UTCTime, default=utc_now)
    end_time: Mapped[_dt.datetime | None] = mapped_column(UTCTime)
    # Added by migration 2.
    uuid: Mapped[str | None] = mapped_column(String(36), unique=True, index=True)
    host: Mapped[str | None] = mapped_column(String)
    pid: Mapped[int | None] = mapped_column(Integer)
    heartbeat_at: Mapped[_dt.datetime | None] = mapped_column(UTCTime)
    error: Mapped[str | None] = mapped_column(Text)
    provenance: Mapped[Any] = mapped_column(JSON)
    # The environment record itself is in ``environments``, once per distinct record.
    environment_hash: Mapped[str | None] = mapped_column(String(64))
    ato_version: Mapped[str | None] = mapped_column(String(32))
    # Added by migration 3: where ``pid`` means something (boot id and pid namespace;
    # see ``ato.tracking.runs.pid_namespace``). Containers may share a hostname.
    pid_namespace: Mapped[str | None] = mapped_column(String(80))
    # Added by migration 4, for explaining a difference: the type tags that make the
    # stored config lossless (see ato.config_json), the command that started the run
    # (argv, the entry script relative to the git root, the working directory), and
    # the keys the program marked as differing in every run (patterns).
    config_types: Mapped[Any] = mapped_column(JSON)
    argv: Mapped[Any] = mapped_column(JSON)
    entry_script: Mapped[str | None] = mapped_column(String)
    working_dir: Mapped[str | None] = mapped_column(String)
    volatile_keys: Mapped[Any] = mapped_column(JSON)

    project: Mapped[Project] = relationship(back_populates="runs")
    metrics: Mapped[list[Metric]] = relationship(back_populates="run")
    artifacts: Mapped[list[Artifact]] = relationship(back_populates="run")
    fingerprints: Mapped[list[Fingerprint]] = relationship(back_populates="run")


class Metric(Base):
    __tablename__ = "metrics"
    # One index serves a run's history of a key; 2.x's separate run_id and key indexes
    # are replaced by it (migration 2), which keeps a point near 80 bytes on disk.
    __table_args__ = (Index("ix_metrics_run_key_step", "run_id", "key", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"), nullable=False)
    key: Mapped[str] = mapped_column(String, nullable=False)
    value: Mapped[float] = mapped_column(MetricValue, nullable=False)
    # BIGINT since migration 3 (2.x made it INTEGER, which PostgreSQL keeps to int32).
    step: Mapped[int] = mapped_column(BigInteger, nullable=False)
    timestamp: Mapped[_dt.datetime | None] = mapped_column(UTCTime, default=utc_now)

    run: Mapped[Experiment] = relationship(back_populates="metrics")


class Artifact(Base):
    __tablename__ = "artifacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"), nullable=False, index=True)
    path: Mapped[str] = mapped_column(String, nullable=False)
    data_type: Mapped[str | None] = mapped_column(String)
    data_info: Mapped[Any] = mapped_column(JSON)
    # Added by migration 2.
    size: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[_dt.datetime | None] = mapped_column(UTCTime)

    run: Mapped[Experiment] = relationship(back_populates="artifacts")


class Fingerprint(Base):
    __tablename__ = "fingerprints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"), nullable=False, index=True)
    trace_id: Mapped[str] = mapped_column(String, nullable=False, index=True)
    trace_type: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    fingerprint: Mapped[str] = mapped_column(String(128), nullable=False, index=True)
    # Added by migration 2: the call's index for runtime fingerprints, the callees'
    # fingerprints and how the value was made ('ast', 'code object', 'value').
    call_index: Mapped[int | None] = mapped_column(Integer)
    callees: Mapped[Any] = mapped_column(JSON)
    basis: Mapped[str | None] = mapped_column(String(16))
    # Added by migration 4: the function and its callees together (what counts a
    # version); ``fingerprint`` stays the function's own.
    combined: Mapped[str | None] = mapped_column(String(128))

    run: Mapped[Experiment] = relationship(back_populates="fingerprints")


class MetricSummary(Base):
    """Per run and metric key: count, min, max and the last value, kept up to date at
    every flush so that "best run" and dashboards never scan the metrics table. NaN
    values are counted but never a min or max."""

    __tablename__ = "metric_summaries"

    run_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    min_value: Mapped[float | None] = mapped_column(Float)
    max_value: Mapped[float | None] = mapped_column(Float)
    last_value: Mapped[float | None] = mapped_column(MetricValue)
    last_step: Mapped[int | None] = mapped_column(BigInteger)


class Environment(Base):
    """An environment record (see :mod:`ato.environment`), stored once per hash: the
    runs of one machine and install share it."""

    __tablename__ = "environments"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    record: Mapped[Any] = mapped_column(JSON, nullable=False)


class CodeSource(Base):
    """The source text of a traced function (or of a function it calls), once per own
    fingerprint (migration 4): what ``ato explain`` diffs when code changed."""

    __tablename__ = "code_sources"

    fingerprint: Mapped[str] = mapped_column(String(128), primary_key=True)
    trace_id: Mapped[str | None] = mapped_column(String)
    source: Mapped[str] = mapped_column(Text, nullable=False)


# The state of hyperparameter searches (migration 5; see ato.hyperopt.storage): one row
# per search, keyed by a hash of what makes it the same search, and one per finished trial.
Table(
    "hpo_searches",
    Base.metadata,
    Column("id", String(64), primary_key=True),
    Column("project", String, nullable=True),
    Column("algorithm", String, nullable=False),
    Column("arguments", JSON, nullable=False),
    Column("status", String, nullable=False),  # running, completed, killed, failed
    Column("result", JSON, nullable=True),
    Column("created_at", UTCTime),
    Column("finished_at", UTCTime, nullable=True),
    # The process that last started, resumed or recorded a trial of it, and when it last
    # did (migration 6): what tells a search that runs from one whose process is gone.
    Column("host", String, nullable=True),
    Column("pid", Integer, nullable=True),
    Column("pid_namespace", String(80), nullable=True),
    Column("process_since", UTCTime, nullable=True),
    Column("heartbeat_at", UTCTime, nullable=True),
)
Table(
    "hpo_trials",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("search_id", String(64), ForeignKey("hpo_searches.id"), nullable=False, index=True),
    Column("bracket", Integer, nullable=False),
    Column("rung", Integer, nullable=False),
    Column("trial", Integer, nullable=False),
    Column("params", JSON, nullable=False),
    Column("budget", Float, nullable=True),
    Column("metric", Float, nullable=True),
    Column("status", String, nullable=False),  # completed, failed
    Column("error", Text, nullable=True),
    Column("run_id", Integer, nullable=True),
    Column("finished_at", UTCTime),
    UniqueConstraint("search_id", "bracket", "rung", "trial", name="uq_hpo_trials_position"),
)


class SchemaVersion(Base):
    """One row: the version of the last migration applied (see ``migrations``)."""

    __tablename__ = "ato_schema"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_at: Mapped[_dt.datetime | None] = mapped_column(UTCTime)


@event.listens_for(Metric, "after_insert")
def _summarize_orm_metric(mapper: Any, connection: Any, target: Metric) -> None:
    # 2.x code adds Metric rows through a session; "best run" must see them too.
    summarize(connection, target.run_id, target.id - 1, target.id)

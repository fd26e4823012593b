"""Versioned, additive migrations, applied when a database is opened.

Version 1 is the schema ato 2.x created (its five tables, as it made them); versions 2
and 3 add what ato records beyond 2.x. Each migration only adds (tables, columns, indexes,
rows computed from existing rows) and checks before it adds, so it is idempotent. All
of them run in one transaction that holds the write lock (SQLite: ``BEGIN IMMEDIATE``;
PostgreSQL: a transaction-scoped advisory lock), so when several processes open a new
file at the same moment, one migrates and the others find it done.

A database whose version is newer than :data:`LATEST` was written by a newer ato: it is
refused, unchanged; so is a database of another program whose tables have our names but
not our columns.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    inspect,
    text,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from ato.errors import TrackerDatabaseError
from ato.tracking.database import connect_or_refuse, not_a_database, retry, write
from ato.tracking.schema import (
    Base,
    CodeSource,
    Environment,
    MetricSummary,
    SchemaVersion,
    utc_now,
)
from ato.tracking.secrets import masked_url
from ato.tracking.settings import CONFIG_URL, Origin
from ato.tracking.summaries import summarize_all

__all__ = ["LATEST", "MIGRATIONS", "migrate", "migrate_database", "schema_version", "step_range"]

# The tables exactly as ato 2.x's SQLAlchemy models created them.
_legacy = MetaData()
Table(
    "projects",
    _legacy,
    Column("id", Integer, primary_key=True),
    Column("name", String, unique=True, nullable=False, index=True),
    Column("description", Text),
    Column("created_at", DateTime),
)
Table(
    "experiments",
    _legacy,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, ForeignKey("projects.id"), nullable=False, index=True),
    Column("config", JSON, nullable=False),
    Column("structural_hash", String(64), index=True),
    Column("tags", JSON),
    Column("status", String, index=True),
    Column("start_time", DateTime),
    Column("end_time", DateTime),
)
Table(
    "metrics",
    _legacy,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("experiments.id"), nullable=False, index=True),
    Column("key", String, nullable=False, index=True),
    Column("value", Float, nullable=False),
    Column("step", Integer, nullable=False),
    Column("timestamp", DateTime),
)
Table(
    "artifacts",
    _legacy,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("experiments.id"), nullable=False, index=True),
    Column("path", String, nullable=False),
    Column("data_type", String),
    Column("data_info", JSON),
)
Table(
    "fingerprints",
    _legacy,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("experiments.id"), nullable=False, index=True),
    Column("trace_id", String, nullable=False, index=True),
    Column("trace_type", String(32), nullable=False, index=True),
    Column("fingerprint", String(128), nullable=False, index=True),
)


def _v1_tables_of_ato_2(connection: Connection) -> None:
    _legacy.create_all(connection, checkfirst=True)


_NEW_COLUMNS = {
    "experiments": [
        "uuid",
        "host",
        "pid",
        "heartbeat_at",
        "error",
        "provenance",
        "environment_hash",
        "ato_version",
    ],
    "artifacts": ["size", "sha256", "created_at"],
    "fingerprints": ["call_index", "callees", "basis"],
}


def _v2_runs_record_more(connection: Connection) -> None:
    _add_columns(connection, _NEW_COLUMNS)
    inspector = inspect(connection)
    indexes = {
        index["name"]
        for table in ("metrics", "experiments")
        for index in inspector.get_indexes(table)
    }
    if "ix_experiments_uuid" not in indexes:
        connection.execute(text("CREATE UNIQUE INDEX ix_experiments_uuid ON experiments (uuid)"))
    if "ix_metrics_run_key_step" not in indexes:
        connection.execute(
            text("CREATE INDEX ix_metrics_run_key_step ON metrics (run_id, key, step)")
        )
    # The composite index answers everything these did; dropping them keeps the metrics
    # table near half its 2.x size. Indexes hold no data: nothing is lost.
    for name in ("ix_metrics_run_id", "ix_metrics_key"):
        if name in indexes:
            connection.execute(text(f"DROP INDEX {name}"))
    if not inspector.has_table("environments"):
        Environment.__table__.create(connection)  # type: ignore[attr-defined]
    if not inspector.has_table("metric_summaries"):
        MetricSummary.__table__.create(connection)  # type: ignore[attr-defined]
        _backfill_summaries(connection)


def _backfill_summaries(connection: Connection) -> None:
    """Summaries of the metrics already there (a database written by 2.x)."""
    summarize_all(connection)


def _v3_wide_steps_and_pid_namespace(connection: Connection) -> None:
    present = {column["name"] for column in inspect(connection).get_columns("experiments")}
    if "pid_namespace" not in present:
        connection.execute(text("ALTER TABLE experiments ADD COLUMN pid_namespace VARCHAR(80)"))
    if connection.dialect.name == "postgresql":
        # 2.x's INTEGER is int32 on PostgreSQL (SQLite's integers are 64-bit already):
        # a step counted in samples or tokens outgrows it. Widening rewrites the table
        # under an exclusive lock, so it is done here only while the table is empty;
        # a filled 2.x table keeps INTEGER and the logger refuses larger steps, saying
        # how to widen it at a quiet moment (see ``step_range``).
        if connection.execute(text("SELECT NOT EXISTS (SELECT 1 FROM metrics)")).scalar():
            connection.execute(text("ALTER TABLE metrics ALTER COLUMN step TYPE BIGINT"))
        connection.execute(text("ALTER TABLE metric_summaries ALTER COLUMN last_step TYPE BIGINT"))


_EXPLAIN_COLUMNS = {
    "experiments": ["config_types", "argv", "entry_script", "working_dir", "volatile_keys"],
    "fingerprints": ["combined"],
}


def _v4_what_explain_compares(connection: Connection) -> None:
    _add_columns(connection, _EXPLAIN_COLUMNS)
    if not inspect(connection).has_table("code_sources"):
        CodeSource.__table__.create(connection)  # type: ignore[attr-defined]
    # Runs written by 2.x have no UUID: give them one, so that databases of separate
    # jobs can be merged (ato merge matches runs by UUID).
    missing = connection.execute(text("SELECT id FROM experiments WHERE uuid IS NULL")).scalars()
    for run_id in list(missing):
        connection.execute(
            text("UPDATE experiments SET uuid = :uuid WHERE id = :id"),
            {"uuid": str(uuid.uuid4()), "id": run_id},
        )


def _v5_search_state(connection: Connection) -> None:
    for name in ("hpo_searches", "hpo_trials"):
        Base.metadata.tables[name].create(connection, checkfirst=True)


def _v6_who_runs_a_search(connection: Connection) -> None:
    _add_columns(
        connection,
        {"hpo_searches": ["host", "pid", "pid_namespace", "process_since", "heartbeat_at"]},
    )


def _add_columns(connection: Connection, wanted: dict[str, list[str]]) -> None:
    """Add the columns of the current schema named in ``wanted`` that a table lacks."""
    inspector = inspect(connection)
    for table_name, column_names in wanted.items():
        present = {column["name"] for column in inspector.get_columns(table_name)}
        table = Base.metadata.tables[table_name]
        for name in column_names:
            if name not in present:
                kind = table.c[name].type.compile(dialect=connection.dialect)
                connection.execute(text(f"ALTER TABLE {table_name} ADD COLUMN {name} {kind}"))


def step_range(connection: Connection) -> tuple[int, int]:
    """The steps the metrics table can hold: 64-bit, or 32-bit in a PostgreSQL table
    that ato 2.x created and filled (see migration 3)."""
    if connection.dialect.name != "postgresql":
        return -(2**63), 2**63 - 1
    kinds = connection.execute(
        text(
            "SELECT data_type FROM information_schema.columns WHERE table_schema = "
            "current_schema() AND ((table_name = 'metrics' AND column_name = 'step') OR "
            "(table_name = 'metric_summaries' AND column_name = 'last_step'))"
        )
    ).scalars()
    if "integer" in set(kinds):
        return -(2**31), 2**31 - 1
    return -(2**63), 2**63 - 1


MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "the tables of ato 2.x", _v1_tables_of_ato_2),
    (2, "run identity, heartbeat, provenance, environment, summaries", _v2_runs_record_more),
    (3, "64-bit steps on PostgreSQL, the pid namespace of a run", _v3_wide_steps_and_pid_namespace),
    (4, "what explain compares: types, command, volatile keys, code", _v4_what_explain_compares),
    (5, "the state of hyperparameter searches, to resume them", _v5_search_state),
    (6, "the process that runs a search, and its heartbeat", _v6_who_runs_a_search),
]
LATEST = MIGRATIONS[-1][0]

_PG_LOCK_KEY = 0x61746F  # 'ato': one advisory lock for every ato migration


def schema_version(connection: Connection) -> int:
    """The version recorded in the database (0 for an empty database; 1 for a 2.x one)."""
    inspector = inspect(connection)
    if inspector.has_table("ato_schema"):
        row = connection.execute(text("SELECT max(version) FROM ato_schema")).scalar()
        return int(row or 0)
    return 1 if inspector.has_table("experiments") else 0


def _refuse_foreign_tables(connection: Connection, url: str, origin: Origin) -> None:
    """Before the first migration (no ``ato_schema`` table yet): a table that has one
    of our names must have the columns we gave it, or the file belongs to another
    program and nothing is changed."""
    inspector = inspect(connection)
    present = set(inspector.get_table_names())
    expected = {name: table.columns.keys() for name, table in Base.metadata.tables.items()}
    expected.update({name: table.columns.keys() for name, table in _legacy.tables.items()})
    for name in sorted(present & expected.keys()):
        columns = {column["name"] for column in inspector.get_columns(name)}
        missing = [column for column in expected[name] if column not in columns]
        if missing:
            raise TrackerDatabaseError(
                f"The database {origin.given(url)} has a table {name!r} that is not "
                f"ato's: it lacks the columns {', '.join(missing)} (it has "
                f"{', '.join(sorted(columns))}). It looks like another program's "
                f"database; nothing was changed: {origin.instead()}."
            )


def migrate(engine: Engine, url: str, origin: Origin = CONFIG_URL) -> int:
    """Bring the database at ``engine`` to :data:`LATEST`; return the version found
    (``origin``: where ``url`` was given, for errors)."""

    def upgrade(connection: Connection) -> int:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            # ALTER TABLE waits for every open transaction that read the table, and
            # while it waits, every other query on the table waits behind it: wait
            # in short turns instead (see _pg_lock_turns).
            connection.execute(text("SET LOCAL lock_timeout = '1s'"))
        found = schema_version(connection)
        if found <= 1:
            _refuse_foreign_tables(connection, url, origin)
        if found > LATEST:
            raise TrackerDatabaseError(
                f"The database {masked_url(url)!r} has schema version {found}, but this ato knows "
                f"versions up to {LATEST}: it was written by a newer ato. Nothing was "
                f"changed. Upgrade ato (pip install -U ato) to use it."
            )
        if found == LATEST:
            return found
        for version, _, step in MIGRATIONS:
            if version > found:
                step(connection)
        _record(connection, LATEST)
        return found

    connect_or_refuse(engine, url, origin)
    try:
        found = _pg_lock_turns(lambda: write(engine, upgrade), engine, url)
    except DBAPIError as error:
        refusal = not_a_database(error, url, origin)
        if refusal is None:
            raise
        engine.dispose()
        raise refusal from None
    if engine.dialect.name == "sqlite":
        _use_wal(engine)
    return found


def migrate_database(url: str, origin: Origin | None = None) -> int:
    """Migrate the existing database at ``url`` (``ato migrate``); return the version it
    had. A missing SQLite file is an error: this never creates a database."""
    from ato.tracking.database import open_engine

    origin = origin or Origin("url={} (of migrate_database)", "give migrate_database {}")
    open_engine(url, writer=False, read_only=True, origin=origin).dispose()  # exists?
    engine = open_engine(url, writer=True, origin=origin)
    try:
        return migrate(engine, url, origin)
    finally:
        engine.dispose()


_LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a lock_timeout
_LOCK_TURNS_S = 30.0


def _pg_lock_turns(run: Callable[[], int], engine: Engine, url: str) -> int:
    """``run()`` (a whole write transaction); on PostgreSQL, a migration that timed out
    waiting for a table lock is tried again for up to 30 s, then refused naming the
    sessions in the way."""
    give_up = time.monotonic() + _LOCK_TURNS_S
    while True:
        try:
            return run()
        except DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
                raise
            if time.monotonic() > give_up:
                raise TrackerDatabaseError(
                    f"Could not upgrade the tracker schema of {masked_url(url)!r}: for "
                    f"{_LOCK_TURNS_S:.0f} s, open transactions kept the tables locked "
                    f"({_idle_transactions(engine)}). Nothing was changed. End them (an "
                    f"uncommitted session of an older ato, a psql left in BEGIN), then "
                    f"start again."
                ) from None
        time.sleep(0.2)


def _idle_transactions(engine: Engine) -> str:
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT pid, coalesce(application_name, ''), state FROM "
                    "pg_stat_activity WHERE datname = current_database() AND "
                    "xact_start IS NOT NULL AND pid <> pg_backend_pid()"
                )
            ).all()
    except DBAPIError:
        return "could not list them"
    return ", ".join(f"pid {pid} {name} {state}".replace("  ", " ") for pid, name, state in rows)


def _use_wal(engine: Engine) -> None:
    """Switch the file to WAL (it stays so): readers never block the writer, and a
    killed writer loses only its open transaction. Done once the version is known to
    be ours, so that a database this ato refuses is left exactly as it was."""

    def switch() -> None:
        with engine.connect() as connection:
            cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
            try:
                mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
                if str(mode).lower() != "wal":
                    cursor.execute("PRAGMA journal_mode = WAL").fetchone()
            finally:
                cursor.close()

    retry(switch)


def _record(connection: Connection, version: int) -> None:
    inspector = inspect(connection)
    if not inspector.has_table("ato_schema"):
        SchemaVersion.__table__.create(connection)  # type: ignore[attr-defined]
    table: Any = SchemaVersion.__table__
    connection.execute(table.delete())
    connection.execute(table.insert().values(id=1, version=version, updated_at=utc_now()))

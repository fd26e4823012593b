"""``RunReader``: reads runs, and what a run loads on first use, into plain records.

A reader reads the database as it is: it never migrates. What an older schema lacks (a
2.x database has no UUIDs, summaries, environments or code sources) reads as NULL, and
summaries are computed from the metrics where the table is missing; the tables and
columns present are looked up once, when the reader is made.

Rows are read through the driver's own cursor: SQLAlchemy's result rows cost more than
SQLite takes to produce them (listing 1,000 runs: 7 ms through a Result, 3 ms through
the cursor), and these rows are turned into records at once anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Dialect, Engine

from ato.errors import TrackerDatabaseError
from ato.tracking.runs import (
    ArtifactRecord,
    FingerprintRecord,
    MetricPoint,
    MetricSummaryRecord,
    Run,
    RunBatch,
    RunRow,
    loads,
)
from ato.tracking.schema import as_utc

__all__ = ["RunReader", "fetch_all"]

_RELATIONS = {
    "summary": (
        "SELECT run_id, key, count, min_value, max_value, last_value, last_step "
        "FROM metric_summaries WHERE run_id IN ({ids}) ORDER BY run_id, key"
    ),
    # Where a database has no summaries (written by 2.x and never migrated).
    "summary from metrics": (
        "SELECT b.run_id, b.key, b.n, b.lo, b.hi, l.value, l.step FROM ("
        "SELECT run_id, key, count(*) AS n, min(value) AS lo, max(value) AS hi, "
        "max(id) AS last_id FROM metrics WHERE run_id IN ({ids}) GROUP BY run_id, key"
        ") AS b JOIN metrics AS l ON l.id = b.last_id ORDER BY b.run_id, b.key"
    ),
}
_ARTIFACT_COLUMNS = ("id", "path", "data_type", "data_info", "size", "sha256", "created_at")
_FINGERPRINT_COLUMNS = (
    "trace_id",
    "trace_type",
    "fingerprint",
    "call_index",
    "callees",
    "basis",
    "combined",
)


class Schema:
    """The tables and columns a database has, looked up once."""

    def __init__(self, engine: Engine, name: str) -> None:
        from ato.tracking.migrations import LATEST, schema_version

        with engine.connect() as connection:
            inspector = inspect(connection)
            self.columns = {
                table: {column["name"] for column in inspector.get_columns(table)}
                for table in inspector.get_table_names()
            }
            self.version = schema_version(connection)
        if self.version > LATEST:
            raise TrackerDatabaseError(
                f"The database {name!r} has schema version {self.version}, but this ato "
                f"reads versions up to {LATEST}: it was written by a newer ato. Nothing was "
                f"changed. Upgrade ato (pip install -U ato) to read it."
            )

    def has(self, table: str, column: str | None = None) -> bool:
        present = self.columns.get(table)
        return present is not None and (column is None or column in present)

    def select(self, table: str, alias: str, names: tuple[str, ...]) -> list[str]:
        """``alias.name`` for each column the table has, ``NULL`` for the others."""
        return [f"{alias}.{name}" if self.has(table, name) else "NULL" for name in names]


class RunReader:
    """Reads the runs of the database behind ``engine`` (a :class:`~ato.tracking.runs.
    RunLoader`): a run read here is 'crashed' once its heartbeat is older than
    ``heartbeat_grace`` seconds."""

    def __init__(self, engine: Engine, heartbeat_grace: float, name: str = "") -> None:
        """``name`` is how messages name the database (its URL, password masked)."""
        self.engine = engine
        self.heartbeat_grace = heartbeat_grace
        name = name or engine.url.render_as_string(hide_password=True)
        self.schema = Schema(engine, name)
        if not self.schema.has("experiments"):
            raise TrackerDatabaseError(
                f"{name!r} has no tracker tables "
                f"(no run was ever logged to it). Check the path, or log a run first."
            )
        columns = self.schema.select("experiments", "e", RunRow._fields)
        self._select_runs = (
            "SELECT "
            # JSON columns come back as text from SQLite and parsed from psycopg; both
            # are handled where they are used (a CAST would double a listing's cost).
            + ", ".join(columns)
            + ", p.name FROM experiments AS e JOIN projects AS p ON p.id = e.project_id"
        )
        summary = "summary" if self.schema.has("metric_summaries") else "summary from metrics"
        self._relations = {
            "summary": _RELATIONS[summary],
            "artifacts": self._relation_sql("artifacts", _ARTIFACT_COLUMNS),
            "fingerprints": self._relation_sql("fingerprints", _FINGERPRINT_COLUMNS),
        }

    def _relation_sql(self, table: str, names: tuple[str, ...]) -> str:
        columns = ", ".join(self.schema.select(table, table, names))
        return f"SELECT run_id, {columns} FROM {table} WHERE run_id IN ({{ids}}) ORDER BY id"

    def runs(
        self, where: str, params: Mapping[str, Any], connection: Connection | None = None
    ) -> list[Run]:
        """The runs that the SQL condition ``where`` (on ``e``, the experiments, and
        ``p``, the projects) selects, by id."""
        if connection is None:
            with self.engine.connect() as own:
                return self.runs(where, params, own)
        rows = fetch_all(connection, f"{self._select_runs} WHERE {where} ORDER BY e.id", params)
        ids_sql = (
            "SELECT e.id FROM experiments AS e JOIN projects AS p ON p.id = e.project_id "
            f"WHERE {where}"
        )
        batch = RunBatch(self, ids_sql, params)
        for row in rows:
            batch.runs[row[0]] = Run(RunRow._make(row[:-1]), row[-1], batch)
        return list(batch.runs.values())

    def relation(self, name: str, ids_sql: str, params: Mapping[str, Any]) -> dict[int, Any]:
        """``{run_id: records}`` of one relation for the runs ``ids_sql`` selects."""
        with self.engine.connect() as connection:
            rows = fetch_all(connection, self._relations[name].format(ids=ids_sql), params)
        loaded: dict[int, Any] = {}
        if name == "summary":
            for run_id, key, count, low, high, last, step in rows:
                last = None if last is None else float(last)
                loaded.setdefault(run_id, {})[key] = MetricSummaryRecord(
                    key, count, low, high, last, step
                )
        elif name == "artifacts":
            for run_id, *fields in rows:
                fields[3] = loads(fields[3], f"run {run_id}'s artifact metadata", dict)
                fields[6] = as_utc(fields[6])
                loaded.setdefault(run_id, []).append(ArtifactRecord._make([*fields, run_id]))
        else:
            for run_id, *fields in rows:
                fields[4] = loads(fields[4], f"run {run_id}'s fingerprint callees", dict) or {}
                trace, kind, own, index, callees, basis, combined = fields
                record = FingerprintRecord(
                    trace, kind, own, index, callees, basis, run_id=run_id, combined=combined
                )
                loaded.setdefault(run_id, []).append(record)
        return loaded

    def metrics(self, run_id: int, key: str | None = None) -> list[MetricPoint]:
        """The points of run ``run_id`` (only ``key``'s when given), by key then step."""
        where = "run_id = :r" + (" AND key = :k" if key is not None else "")
        with self.engine.connect() as connection:
            rows = connection.execute(
                text(
                    f"SELECT key, value, step, timestamp FROM metrics WHERE {where} "
                    f"ORDER BY key, step, id"
                ),
                {"r": int(run_id), "k": key},
            ).all()
        run = int(run_id)
        return [MetricPoint(k, float(v), s, as_utc(t), run) for k, v, s, t in rows]

    def curve(self, run_id: int, key: str) -> list[tuple[int, float]]:
        """``(step, value)`` of one metric of a run, by step: what a comparison of two
        curves needs, without a record and a time per point."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT step, value FROM metrics WHERE run_id = :r AND key = :k "
                    "ORDER BY step, id"
                ),
                {"r": int(run_id), "k": key},
            ).all()
        return [(int(step), float(value)) for step, value in rows]

    def provenance(self, run_id: int) -> dict[str, list[Any]] | None:
        if not self.schema.has("experiments", "provenance"):
            return None
        value: dict[str, list[Any]] | None = loads(
            self._scalar("SELECT provenance FROM experiments WHERE id = :key", run_id),
            f"run {run_id}'s provenance",
            dict,
        )
        return value

    def code_source(self, fingerprint: str) -> str | None:
        """The source text stored for a function's own fingerprint."""
        if not self.schema.has("code_sources"):
            return None
        value = self._scalar(
            "SELECT source FROM code_sources WHERE fingerprint = :key", fingerprint
        )
        return None if value is None else str(value)

    def environment(self, environment_hash: str | None) -> dict[str, Any] | None:
        if environment_hash is None or not self.schema.has("environments"):
            return None
        value: dict[str, Any] | None = loads(
            self._scalar("SELECT record FROM environments WHERE hash = :key", environment_hash),
            f"environment record {environment_hash[:12]}",
            dict,
        )
        return value

    def _scalar(self, sql: str, key: object) -> Any:
        with self.engine.connect() as connection:
            return connection.execute(text(sql), {"key": key}).scalar()


@lru_cache(maxsize=256)
def _compiled(sql: str, dialect: Dialect) -> Any:
    return text(sql).compile(dialect=dialect)


def fetch_all(connection: Connection, sql: str, params: Mapping[str, Any]) -> list[Any]:
    """Rows of ``sql`` (named ``:params``) read through the driver's own cursor."""
    compiled = _compiled(sql, connection.dialect)
    values = compiled.construct_params(dict(params))
    if compiled.positional:
        arguments: Any = tuple(values[name] for name in compiled.positiontup)
    else:
        arguments = values
    driver = connection.connection.driver_connection
    assert driver is not None
    cursor = driver.cursor()
    try:
        cursor.execute(compiled.string, arguments)
        return list(cursor.fetchall())
    finally:
        cursor.close()

"""``RunReader``: reads runs, and what a run loads on first use, into plain records.

Rows are read through the driver's own cursor: SQLAlchemy's result rows cost more than
SQLite takes to produce them (listing 1,000 runs: 7 ms through a Result, 3 ms through
the cursor), and these rows are turned into records at once anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Dialect, Engine

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

_SELECT_RUNS = (
    "SELECT "
    # JSON columns come back as text from SQLite and parsed from psycopg; both are
    # handled where they are used (a CAST to text would double the cost of a listing).
    + ", ".join(f"e.{column}" for column in RunRow._fields)
    + ", p.name FROM experiments AS e JOIN projects AS p ON p.id = e.project_id"
)

_RELATIONS = {
    "summary": (
        "SELECT run_id, key, count, min_value, max_value, last_value, last_step "
        "FROM metric_summaries WHERE run_id IN ({ids}) ORDER BY run_id, key"
    ),
    "artifacts": (
        "SELECT run_id, id, path, data_type, data_info, size, sha256, "
        "created_at FROM artifacts WHERE run_id IN ({ids}) ORDER BY id"
    ),
    "fingerprints": (
        "SELECT run_id, trace_id, trace_type, fingerprint, call_index, "
        "callees, basis FROM fingerprints WHERE run_id IN ({ids}) ORDER BY id"
    ),
}


class RunReader:
    """Reads the runs of the database behind ``engine`` (a :class:`~ato.tracking.runs.
    RunLoader`): a run read here is 'crashed' once its heartbeat is older than
    ``heartbeat_grace`` seconds."""

    def __init__(self, engine: Engine, heartbeat_grace: float) -> None:
        self.engine = engine
        self.heartbeat_grace = heartbeat_grace

    def runs(
        self, where: str, params: Mapping[str, Any], connection: Connection | None = None
    ) -> list[Run]:
        """The runs that the SQL condition ``where`` (on ``e``, the experiments, and
        ``p``, the projects) selects, by id."""
        if connection is None:
            with self.engine.connect() as own:
                return self.runs(where, params, own)
        rows = fetch_all(connection, f"{_SELECT_RUNS} WHERE {where} ORDER BY e.id", params)
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
            rows = fetch_all(connection, _RELATIONS[name].format(ids=ids_sql), params)
        loaded: dict[int, Any] = {}
        if name == "summary":
            for run_id, key, count, low, high, last, step in rows:
                last = None if last is None else float(last)
                loaded.setdefault(run_id, {})[key] = MetricSummaryRecord(
                    key, count, low, high, last, step
                )
        elif name == "artifacts":
            for run_id, *fields in rows:
                fields[3] = loads(fields[3])
                fields[6] = as_utc(fields[6])
                loaded.setdefault(run_id, []).append(ArtifactRecord._make([*fields, run_id]))
        else:
            for run_id, *fields in rows:
                fields[4] = loads(fields[4]) or {}
                loaded.setdefault(run_id, []).append(FingerprintRecord._make([*fields, run_id]))
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

    def provenance(self, run_id: int) -> dict[str, list[str]] | None:
        value: dict[str, list[str]] | None = loads(
            self._scalar("SELECT provenance FROM experiments WHERE id = :key", run_id)
        )
        return value

    def environment(self, environment_hash: str | None) -> dict[str, Any] | None:
        if environment_hash is None:
            return None
        value: dict[str, Any] | None = loads(
            self._scalar("SELECT record FROM environments WHERE hash = :key", environment_hash)
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

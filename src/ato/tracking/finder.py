"""``SQLFinder``: queries over tracked runs, answered with plain records."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Dialect

from ato.tracking.database import open_engine
from ato.tracking.logger import refuse_forked_sqlite, setting
from ato.tracking.migrations import migrate
from ato.tracking.runs import (
    RUN_COLUMNS,
    ArtifactRecord,
    FingerprintRecord,
    MetricPoint,
    MetricSummaryRecord,
    ProjectRecord,
    Run,
    RunBatch,
    loads,
)
from ato.tracking.schema import as_utc

__all__ = ["SQLFinder"]

_SELECT_RUNS = (
    "SELECT "
    # JSON columns come back as text from SQLite and parsed from psycopg; both are
    # handled where they are used (a CAST to text would double the cost of a listing).
    + ", ".join(f"e.{c}" for c in RUN_COLUMNS)
    + ", p.name FROM experiments AS e JOIN projects AS p ON p.id = e.project_id"
)


def _leaves(node: Any, prefix: str) -> Any:
    """``(dotted path, value)`` of every leaf under ``node``. Walked here rather than
    looked up by dotted name, because a key may itself contain a dot."""
    if isinstance(node, Mapping) and node:
        for key, child in node.items():
            yield from _leaves(child, f"{prefix}.{key}")
    else:
        yield prefix, node


class SQLFinder:
    """Reads the database at ``config.experiment.sql.db_path``.

    A 'running' run whose heartbeat is older than ``heartbeat_grace`` seconds, or whose
    process is gone from this host, is reported as 'crashed'.
    """

    def __init__(self, config: Any, *, heartbeat_grace: float = 30.0) -> None:
        self.config = config
        self.db_path = setting(config, "experiment.sql.db_path")
        refuse_forked_sqlite(self.db_path)
        self.engine = open_engine(self.db_path, writer=True)
        migrate(self.engine, self.db_path)
        self.engine.dispose()
        self.engine = open_engine(self.db_path, writer=False)
        self.heartbeat_grace = heartbeat_grace

    # -- projects ------------------------------------------------------------------------

    def find_project(self, project_name: str) -> ProjectRecord | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                text("SELECT id, name, description, created_at FROM projects WHERE name = :n"),
                {"n": project_name},
            ).first()
        if row is None:
            return None
        return ProjectRecord(row[0], row[1], row[2], as_utc(row[3]))

    # -- runs ----------------------------------------------------------------------------

    def find_run(self, run_id: int | str) -> Run | None:
        """The run with integer id ``run_id`` (or its UUID, given as a string)."""
        if isinstance(run_id, str) and not run_id.isdigit():
            runs = self._runs("e.uuid = :key", {"key": run_id})
        else:
            runs = self._runs("e.id = :key", {"key": int(run_id)})
        return runs[0] if runs else None

    def get_runs_in_project(self, project_name: str) -> list[Run]:
        return self._runs("p.name = :name", {"name": project_name})

    def find_similar_runs(self, run_id: int) -> list[Run]:
        """Other runs whose config has the same structure (keys and types)."""
        return self._runs(
            "e.structural_hash = (SELECT structural_hash FROM experiments WHERE id = :id) "
            "AND e.id <> :id",
            {"id": int(run_id)},
        )

    def find_similar_runs_by_trace(
        self, run_id: int, trace_id: str, trace_type: str = "static"
    ) -> list[Run]:
        """Other runs in which ``trace_id`` had the same fingerprint as in ``run_id``."""
        return self._runs(
            "e.id IN (SELECT f.run_id FROM fingerprints AS f WHERE f.trace_id = :trace "
            "AND f.trace_type = :kind AND f.run_id <> :id AND f.fingerprint IN ("
            "SELECT g.fingerprint FROM fingerprints AS g WHERE g.run_id = :id "
            "AND g.trace_id = :trace AND g.trace_type = :kind))",
            {"id": int(run_id), "trace": trace_id, "kind": trace_type},
        )

    def find_best_run(
        self, project_name: str, metric_key: str, mode: str = "max"
    ) -> Run | dict[str, str]:
        """The run of the project with the highest (``mode='max'``) or lowest
        (``'min'``) value ever logged for ``metric_key``; NaN never wins.

        As in 2.x, a missing project or metric gives ``{'error': ...}``.
        """
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', not {mode!r}.")
        column = "max_value" if mode == "max" else "min_value"
        order = "DESC" if mode == "max" else "ASC"
        with self.engine.connect() as connection:
            project = _project_id(connection, project_name)
            if project is None:
                return {"error": "Project not found"}
            best = connection.execute(
                text(
                    f"SELECT s.run_id FROM metric_summaries AS s "
                    f"JOIN experiments AS e ON e.id = s.run_id "
                    f"WHERE e.project_id = :p AND s.key = :k AND s.{column} IS NOT NULL "
                    f"ORDER BY s.{column} {order}, s.run_id LIMIT 1"
                ),
                {"p": project, "k": metric_key},
            ).scalar()
            if best is None:
                return {"error": "Run not found"}
            return self._runs("e.id = :id", {"id": best}, connection)[0]

    def get_trace_statistics(self, project_name: str, trace_id: str) -> dict[str, Any]:
        """How many distinct fingerprints ``trace_id`` had across the project's runs."""
        with self.engine.connect() as connection:
            project = _project_id(connection, project_name)
            if project is None:
                return {"error": "Project not found"}
            counts: dict[str, int] = dict(
                connection.execute(
                    text(
                        "SELECT f.trace_type, count(DISTINCT f.fingerprint) FROM fingerprints "
                        "AS f JOIN experiments AS e ON e.id = f.run_id WHERE e.project_id = :p "
                        "AND f.trace_id = :t GROUP BY f.trace_type"
                    ),
                    {"p": project, "t": trace_id},
                ).all()
            )
        return {
            "project_name": project_name,
            "trace_id": trace_id,
            "static_trace_versions": int(counts.get("static", 0)),
            "runtime_trace_versions": int(counts.get("runtime", 0)),
        }

    def environment(self, environment_hash: str | None) -> dict[str, Any] | None:
        """The environment record stored under ``environment_hash``."""
        if environment_hash is None:
            return None
        with self.engine.connect() as connection:
            record = connection.execute(
                text("SELECT record FROM environments WHERE hash = :h"),
                {"h": environment_hash},
            ).scalar()
        value: dict[str, Any] | None = loads(record)
        return value

    def _provenance(self, run_id: int) -> dict[str, list[str]] | None:
        with self.engine.connect() as connection:
            stored = connection.execute(
                text("SELECT provenance FROM experiments WHERE id = :id"),
                {"id": run_id},
            ).scalar()
        value: dict[str, list[str]] | None = loads(stored)
        return value

    # -- metrics -------------------------------------------------------------------------

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

    def to_dataframe(self, project_name: str) -> Any:
        """One row per run: id, uuid, status, times, tags, every config key (dotted) and
        the last value of every metric (``metric.<key>``). Needs pandas."""
        try:
            import pandas as pd  # type: ignore[import-untyped,unused-ignore]
        except ImportError:
            raise ImportError("to_dataframe() needs pandas: pip install 'ato[pandas]'") from None
        rows = []
        for run in self.get_runs_in_project(project_name):
            row: dict[str, Any] = {
                "id": run.id,
                "uuid": run.uuid,
                "status": run.status,
                "start_time": run.start_time,
                "end_time": run.end_time,
                "tags": run.tags,
                "structural_hash": run.structural_hash,
            }
            for dotted, value in _leaves(run.config, "config"):
                row[dotted] = value
            for key, summary in run.summary.items():
                row[f"metric.{key}"] = summary.last
            rows.append(row)
        return pd.DataFrame(rows)

    # -- loading -------------------------------------------------------------------------

    def _runs(
        self, where: str, params: dict[str, Any], connection: Connection | None = None
    ) -> list[Run]:
        if connection is None:
            with self.engine.connect() as own:
                return self._runs(where, params, own)
        rows = _fetch_all(connection, f"{_SELECT_RUNS} WHERE {where} ORDER BY e.id", params)
        ids_sql = (
            "SELECT e.id FROM experiments AS e JOIN projects AS p ON p.id = e.project_id "
            f"WHERE {where}"
        )
        batch = RunBatch(self, ids_sql, params)
        for row in rows:
            batch.runs[row[0]] = Run(tuple(row[:-1]), row[-1], batch)
        return list(batch.runs.values())

    def _relation(self, name: str, ids_sql: str, params: dict[str, Any]) -> dict[int, Any]:
        """``{run_id: records}`` of one relation for the runs ``ids_sql`` selects."""
        with self.engine.connect() as connection:
            rows = _fetch_all(connection, _RELATIONS[name].format(ids=ids_sql), params)
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


@lru_cache(maxsize=256)
def _compiled(sql: str, dialect: Dialect) -> Any:
    return text(sql).compile(dialect=dialect)


def _fetch_all(connection: Connection, sql: str, params: dict[str, Any]) -> list[Any]:
    """Rows of ``sql`` (named ``:params``) read through the driver's own cursor.

    SQLAlchemy's result rows cost more than SQLite takes to produce them (listing 1,000
    runs: 7 ms through a Result, 3 ms through the cursor), and these rows are turned into
    records at once anyway.
    """
    compiled = _compiled(sql, connection.dialect)
    values = compiled.construct_params(params)
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


def _project_id(connection: Connection, name: str) -> int | None:
    project: int | None = connection.execute(
        text("SELECT id FROM projects WHERE name = :n"), {"n": name}
    ).scalar()
    return project

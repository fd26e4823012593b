"""``SQLFinder``: queries over tracked runs, answered with plain records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from ato.errors import ProjectNotFoundError, RunNotFoundError, did_you_mean
from ato.tracking.database import open_engine
from ato.tracking.migrations import migrate
from ato.tracking.reading import RunReader
from ato.tracking.runs import MetricPoint, ProjectRecord, Run
from ato.tracking.schema import as_utc
from ato.tracking.settings import setting

__all__ = ["SQLFinder"]


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
    process is gone from this host, is reported as 'crashed'. A query that must name a
    project or a run and cannot raises :class:`~ato.errors.ProjectNotFoundError` or
    :class:`~ato.errors.RunNotFoundError` (``ato.db_routers.sql.manager.SQLFinder``
    returns 2.x's ``{'error': ...}`` instead).
    """

    def __init__(self, config: Any, *, heartbeat_grace: float = 30.0) -> None:
        self.config = config
        self.db_path = setting(config, "experiment.sql.db_path")
        writer = open_engine(self.db_path, writer=True)
        migrate(writer, self.db_path)
        writer.dispose()
        self.engine = open_engine(self.db_path, writer=False)
        self._reader = RunReader(self.engine, heartbeat_grace)

    @property
    def heartbeat_grace(self) -> float:
        return self._reader.heartbeat_grace

    @heartbeat_grace.setter
    def heartbeat_grace(self, seconds: float) -> None:
        self._reader.heartbeat_grace = seconds

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
            runs = self._reader.runs("e.uuid = :key", {"key": run_id})
        else:
            runs = self._reader.runs("e.id = :key", {"key": int(run_id)})
        return runs[0] if runs else None

    def get_runs_in_project(self, project_name: str) -> list[Run]:
        return self._reader.runs("p.name = :name", {"name": project_name})

    def find_similar_runs(self, run_id: int) -> list[Run]:
        """Other runs whose config has the same structure (keys and types)."""
        return self._reader.runs(
            "e.structural_hash = (SELECT structural_hash FROM experiments WHERE id = :id) "
            "AND e.id <> :id",
            {"id": int(run_id)},
        )

    def find_similar_runs_by_trace(
        self, run_id: int, trace_id: str, trace_type: str = "static"
    ) -> list[Run]:
        """Other runs in which ``trace_id`` had the same fingerprint as in ``run_id``."""
        return self._reader.runs(
            "e.id IN (SELECT f.run_id FROM fingerprints AS f WHERE f.trace_id = :trace "
            "AND f.trace_type = :kind AND f.run_id <> :id AND f.fingerprint IN ("
            "SELECT g.fingerprint FROM fingerprints AS g WHERE g.run_id = :id "
            "AND g.trace_id = :trace AND g.trace_type = :kind))",
            {"id": int(run_id), "trace": trace_id, "kind": trace_type},
        )

    def find_best_run(self, project_name: str, metric_key: str, mode: str = "max") -> Run:
        """The run of the project with the highest (``mode='max'``) or lowest
        (``'min'``) value ever logged for ``metric_key``; NaN never wins.

        Raises :class:`~ato.errors.ProjectNotFoundError` for an unknown project and
        :class:`~ato.errors.RunNotFoundError` when no run of it logged the metric.
        """
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', not {mode!r}.")
        column = "max_value" if mode == "max" else "min_value"
        order = "DESC" if mode == "max" else "ASC"
        with self.engine.connect() as connection:
            project = _project_id(connection, project_name)
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
                raise _no_run_with_metric(connection, project, project_name, metric_key)
            return self._reader.runs("e.id = :id", {"id": best}, connection)[0]

    def get_trace_statistics(self, project_name: str, trace_id: str) -> dict[str, Any]:
        """How many distinct fingerprints ``trace_id`` had across the project's runs
        (:class:`~ato.errors.ProjectNotFoundError` for an unknown project)."""
        with self.engine.connect() as connection:
            project = _project_id(connection, project_name)
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
        return self._reader.environment(environment_hash)

    # -- metrics -------------------------------------------------------------------------

    def metrics(self, run_id: int, key: str | None = None) -> list[MetricPoint]:
        """The points of run ``run_id`` (only ``key``'s when given), by key then step."""
        return self._reader.metrics(run_id, key)

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


def _project_id(connection: Connection, name: str) -> int:
    project: int | None = connection.execute(
        text("SELECT id FROM projects WHERE name = :n"), {"n": name}
    ).scalar()
    if project is None:
        names = connection.execute(text("SELECT name FROM projects ORDER BY name")).scalars()
        known = list(names)
        hint = did_you_mean(name, known)
        if not hint:
            shown = ", ".join(map(repr, known[:10])) + (", ..." if len(known) > 10 else "")
            hint = f" Its projects: {shown}." if known else " It has none yet."
        raise ProjectNotFoundError(f"No project named {name!r} in this database.{hint}")
    return project


def _no_run_with_metric(
    connection: Connection, project: int, project_name: str, key: str
) -> RunNotFoundError:
    keys = connection.execute(
        text(
            "SELECT DISTINCT s.key FROM metric_summaries AS s JOIN experiments AS e "
            "ON e.id = s.run_id WHERE e.project_id = :p ORDER BY s.key"
        ),
        {"p": project},
    ).scalars()
    return RunNotFoundError(
        f"No run of project {project_name!r} logged a number for metric {key!r}."
        + did_you_mean(key, list(keys))
    )

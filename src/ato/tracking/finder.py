"""``SQLFinder``: queries over tracked runs, answered with plain records.

A finder only reads: it opens SQLite with ``mode=ro`` and PostgreSQL in read-only
transactions, creates nothing and migrates nothing, so a database of an older schema
(2.x included) is read as it is and left byte-identical. Writers migrate; ``ato migrate``
does it on request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from ato.errors import (
    InvalidArgumentError,
    ProjectNotFoundError,
    RunNotFoundError,
    TrackerDatabaseError,
)
from ato.message_text import did_you_mean
from ato.tracking import searches, traces
from ato.tracking.database import RECOVER, connect_or_refuse, open_engine
from ato.tracking.reading import RunReader
from ato.tracking.runs import MetricPoint, ProjectRecord, Run
from ato.tracking.schema import as_utc
from ato.tracking.secrets import masked_url
from ato.tracking.settings import CONFIG_URL, Origin, setting

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
    """Reads the database at ``config.experiment.sql.db_path`` (or a URL), read-only.

    A 'running' run is reported as 'crashed' when its process is gone from this host
    (and pid namespace); a stopped but live process still reads 'running' (see
    ``Run.heartbeat_age``). Seen from another host, where the pid cannot be checked, a
    heartbeat older than ``heartbeat_grace`` seconds means 'crashed'. A query that must name a
    project or a run and cannot raises :class:`~ato.errors.ProjectNotFoundError` or
    :class:`~ato.errors.RunNotFoundError` (``ato.db_routers.sql.manager.SQLFinder``
    returns 2.x's ``{'error': ...}`` instead).
    """

    def __init__(
        self,
        config: Any,
        *,
        heartbeat_grace: float = 30.0,
        _origin: Origin | None = None,  # where the URL was given, for errors
    ) -> None:
        """``config`` is a config with ``experiment.sql.db_path``, or a database URL."""
        self.config = config
        if isinstance(config, str):
            self.db_path = config
            origin = _origin or Origin("url={} (of SQLFinder)", "give SQLFinder {}")
        else:
            self.db_path = setting(config, "experiment.sql.db_path")
            origin = _origin or CONFIG_URL
        self.engine = open_engine(self.db_path, writer=False, read_only=True, origin=origin)
        connect_or_refuse(self.engine, self.db_path, origin)  # unreachable, or not a database
        self._reader = RunReader(self.engine, heartbeat_grace, masked_url(self.db_path))

    @classmethod
    def open(
        cls, url: str, *, heartbeat_grace: float = 30.0, _origin: Origin | None = None
    ) -> SQLFinder:
        """A finder of the database at ``url``."""
        return cls(url, heartbeat_grace=heartbeat_grace, _origin=_origin)

    def close(self) -> None:
        """Close the finder's connections (records already read stay usable)."""
        self.engine.dispose()

    def __enter__(self) -> SQLFinder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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

    def require_project(self, project_name: str) -> None:
        """Raise :class:`~ato.errors.ProjectNotFoundError` (listing the projects, or the
        nearest names) when the database has no project ``project_name``."""
        with self.engine.connect() as connection:
            _project_id(connection, project_name)

    def project_overview(self) -> list[dict[str, Any]]:
        """Every project: its name, how many runs it has and when the last one started."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT p.name, count(e.id), max(e.start_time) FROM projects AS p "
                    "LEFT JOIN experiments AS e ON e.project_id = p.id "
                    "GROUP BY p.id, p.name ORDER BY p.name"
                )
            ).all()
        return [{"name": n, "runs": int(c), "last_start": as_utc(t)} for n, c, t in rows]

    def find_run(self, run_id: int | str) -> Run | None:
        """The run with integer id ``run_id`` (or its UUID, given as a string)."""
        if isinstance(run_id, str) and not run_id.isdigit():
            if not self._reader.schema.has("experiments", "uuid"):
                return None
            runs = self._reader.runs("e.uuid = :key", {"key": run_id})
        else:
            number = int(run_id)
            if not -(2**63) <= number < 2**63:
                return None  # no row has such an id (and the driver cannot take it)
            runs = self._reader.runs("e.id = :key", {"key": number})
        return runs[0] if runs else None

    def resolve_run(self, spec: Any) -> Run | None:
        """The run ``spec`` names: an id, a UUID, a UUID prefix (unique, 4 or more
        characters) or a record; None when nothing matches."""
        if isinstance(spec, Run):
            spec = spec.id
        if isinstance(spec, int):
            return self.find_run(spec)
        text_spec = str(spec).strip().lower()
        # Digits are an id; failing that, a UUID prefix that happens to be all digits.
        found = self.find_run(int(text_spec) if text_spec.isdigit() else text_spec)
        # Nobody writes an id with a leading zero, but a UUID may start with one.
        zero_led = text_spec.isdigit() and text_spec.startswith("0")
        if (found is not None and not zero_led) or len(text_spec) < 4:
            return found
        if not self._reader.schema.has("experiments", "uuid"):
            return found
        matches = self._reader.runs("e.uuid LIKE :prefix", {"prefix": f"{text_spec}%"})
        if found is not None and matches:
            other = matches[0]
            raise RunNotFoundError(
                f"{spec!r} is run {found.id}'s id and the start of run {other.id}'s UUID "
                f"({other.uuid}); write {found.id} for the first, more of the UUID for "
                f"the second."
            )
        if found is not None:
            return found
        if len(matches) > 1:
            listed = ", ".join(f"{run.id} ({run.uuid})" for run in matches[:5])
            raise RunNotFoundError(
                f"{spec!r} is the start of {len(matches)} run UUIDs ({listed}); give more "
                f"characters or the run's id."
            )
        return matches[0] if matches else None

    def resolve_run_or_raise(self, spec: Any) -> Run:
        """:meth:`resolve_run`, raising :class:`~ato.errors.RunNotFoundError` that names
        the nearest ids when nothing matches."""
        found = self.resolve_run(spec)
        if found is None:
            raise RunNotFoundError(self._run_not_found(spec))
        return found

    def _run_not_found(self, spec: Any) -> str:
        with self.engine.connect() as connection:
            ids = [int(i) for i in connection.execute(text("SELECT id FROM experiments")).scalars()]
            listed = str(spec).strip().isdigit() and int(spec) in ids
            damage = self._damage(connection)
        if damage is not None:
            raise TrackerDatabaseError(
                f"The tracker database {masked_url(self.db_path)!r} is damaged ({damage}). "
                f"{RECOVER}."
            )
        if listed:  # its row is there, but not with the project it names
            raise RunNotFoundError(
                f"Run {int(spec)} is in the runs table of {masked_url(self.db_path)!r}, but "
                f"its project is not in the projects table (deleted by hand?), so it "
                f"cannot be read. Give it a project again with SQL, or pick another run."
            )
        if not ids:
            return f"No run {spec!r}: this database has no runs yet."
        if isinstance(spec, int) or str(spec).strip().isdigit():
            wanted = int(spec)
            nearest = sorted(ids, key=lambda i: (abs(i - wanted), i))[:3]
            shown = ", ".join(map(str, sorted(nearest)))
            span = f"runs go from {min(ids)} to {max(ids)}"
            return f"No run {wanted}. The nearest ids: {shown} ({span})."
        short = len(str(spec).strip()) < 4
        prefix = " (a UUID prefix needs at least 4 characters)" if short else ""
        return (
            f"No run {spec!r}: no id or UUID (prefix) matches{prefix}. Run ids go from "
            f"{min(ids)} to {max(ids)}; 'ato runs PROJECT' lists them."
        )

    def _damage(self, connection: Connection) -> str | None:
        """What SQLite finds wrong with the runs table's pages, or None: a torn page can
        send the lookup of a run by id astray while a scan of the table still lists it."""
        if connection.dialect.name != "sqlite":
            return None
        found = connection.exec_driver_sql("PRAGMA quick_check(experiments)").scalars()
        lines = [line for said in found for line in str(said).splitlines()]
        problems = [line for line in lines if line != "ok" and not line.startswith("***")]
        return problems[0] if problems else None

    def previous_run(self, run: Run) -> Run | None:
        """The run of ``run``'s project that started just before it."""
        found = self._reader.runs(
            "e.project_id = :p AND e.id = (SELECT max(id) FROM experiments "
            "WHERE project_id = :p AND id < :id)",
            {"p": run.project_id, "id": run.id},
        )
        return found[0] if found else None

    def code_source(self, fingerprint: str) -> str | None:
        """The stored source of the function whose own fingerprint this is."""
        return self._reader.code_source(fingerprint)

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
        """Other runs in which ``trace_id`` ran the same code as in ``run_id`` (the same
        combined fingerprint: itself and the functions it calls), or, for a runtime
        trace, gave a same output."""
        version = traces.version_column(self._reader.schema, "f")
        other = version.replace("f.", "g.")
        return self._reader.runs(
            f"e.id IN (SELECT f.run_id FROM fingerprints AS f WHERE f.trace_id = :trace "
            f"AND f.trace_type = :kind AND f.run_id <> :id AND {version} IN ("
            f"SELECT {other} FROM fingerprints AS g WHERE g.run_id = :id "
            f"AND g.trace_id = :trace AND g.trace_type = :kind))",
            {"id": int(run_id), "trace": trace_id, "kind": trace_type},
        )

    def find_best_run(self, project_name: str, metric_key: str, mode: str = "max") -> Run:
        """The run of the project with the highest (``mode='max'``) or lowest
        (``'min'``) value ever logged for ``metric_key``; NaN never wins.

        Raises :class:`~ato.errors.ProjectNotFoundError` for an unknown project and
        :class:`~ato.errors.RunNotFoundError` when no run of it logged the metric.
        """
        if mode not in ("max", "min"):
            raise InvalidArgumentError(
                f"find_best_run(mode={mode!r}): mode must be 'max' or 'min' "
                f"(whether higher or lower is better)."
            )
        column = "max_value" if mode == "max" else "min_value"
        order = "DESC" if mode == "max" else "ASC"
        if self._reader.schema.has("metric_summaries"):
            sql = (
                f"SELECT s.run_id FROM metric_summaries AS s "
                f"JOIN experiments AS e ON e.id = s.run_id "
                f"WHERE e.project_id = :p AND s.key = :k AND s.{column} IS NOT NULL "
                f"ORDER BY s.{column} {order}, s.run_id LIMIT 1"
            )
        else:  # a 2.x database read as it is: no summaries to read
            sql = (
                f"SELECT m.run_id FROM metrics AS m JOIN experiments AS e ON e.id = m.run_id "
                f"WHERE e.project_id = :p AND m.key = :k AND m.value = m.value "
                f"ORDER BY m.value {order}, m.run_id LIMIT 1"
            )
        with self.engine.connect() as connection:
            project = _project_id(connection, project_name)
            best = connection.execute(text(sql), {"p": project, "k": metric_key}).scalar()
            if best is None:
                raise _no_run_with_metric(connection, project, project_name, metric_key)
            return self._reader.runs("e.id = :id", {"id": best}, connection)[0]

    def get_trace_statistics(self, project_name: str, trace_id: str) -> dict[str, Any]:
        """How many distinct fingerprints ``trace_id`` had across the project's runs
        (:class:`~ato.errors.ProjectNotFoundError` for an unknown project)."""
        version = traces.version_column(self._reader.schema, "f")
        with self.engine.connect() as connection:
            project = _project_id(connection, project_name)
            counts: dict[str, int] = dict(
                connection.execute(
                    text(
                        f"SELECT f.trace_type, count(DISTINCT {version}) FROM fingerprints "
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

    def trace_versions(
        self, project_name: str, trace_id: str, metric: str | None = None
    ) -> list[dict[str, Any]]:
        """Each version of traced function ``trace_id`` in the project, oldest first:
        its combined and own fingerprints, the first run and time it was seen, the runs
        that ran it, what changed from the version before (the function itself, or
        which callees), and the best value of ``metric`` among its runs."""
        self.require_project(project_name)
        runs = self._reader.runs(
            "p.name = :name AND e.id IN (SELECT run_id FROM fingerprints WHERE trace_id = :t "
            "AND trace_type = 'static')",
            {"name": project_name, "t": trace_id},
        )
        return traces.versions(runs, trace_id, metric)

    # -- hyperparameter searches ---------------------------------------------------------

    def searches(self, project_name: str | None = None) -> list[dict[str, Any]]:
        """Every search of ``ato.hyperopt`` stored here (of a project, if given), with
        its status, trials done and failed, and best trial so far."""
        grace = self._reader.heartbeat_grace
        return searches.list_searches(self.engine, self._reader.schema, project_name, grace)

    def search(self, search_id: str) -> dict[str, Any]:
        """One search by id or id prefix, with its trials rung by rung; raises
        :class:`~ato.errors.SearchNotFoundError` naming the searches there are."""
        name = masked_url(self.db_path)
        grace = self._reader.heartbeat_grace
        return searches.read_search(self.engine, self._reader.schema, search_id, name, grace)

    def environment(self, environment_hash: str | None) -> dict[str, Any] | None:
        """The environment record stored under ``environment_hash``."""
        return self._reader.environment(environment_hash)

    # -- metrics -------------------------------------------------------------------------

    def metrics(self, run_id: int, key: str | None = None) -> list[MetricPoint]:
        """The points of run ``run_id`` (only ``key``'s when given), by key then step."""
        return self._reader.metrics(run_id, key)

    def curve(self, run_id: int, key: str) -> list[tuple[int, float]]:
        """``(step, value)`` of metric ``key`` of run ``run_id``, by step (lighter than
        :meth:`metrics` for long curves: no record, no time)."""
        return self._reader.curve(run_id, key)

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
            "SELECT DISTINCT m.key FROM metrics AS m JOIN experiments AS e "
            "ON e.id = m.run_id WHERE e.project_id = :p ORDER BY m.key"
        ),
        {"p": project},
    ).scalars()
    return RunNotFoundError(
        f"No run of project {project_name!r} logged a number for metric {key!r}."
        + did_you_mean(key, list(keys))
    )

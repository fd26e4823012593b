"""``SQLLogger``: records runs, metrics, artifacts and fingerprints.

A metric is appended to an in-memory buffer (a few hundred nanoseconds) and written in
batches, in one transaction per batch: when the buffer holds ``batch_size`` points, at
least every ``flush_interval`` seconds (a background thread, which also beats the run's
heartbeat), at ``finish``, at interpreter exit and on SIGTERM. A process killed with
``kill -9`` therefore loses at most the last interval of points, and its run reads as
'crashed' once its heartbeat is stale or its pid is gone (see :mod:`ato.tracking.runs`).
"""

from __future__ import annotations

import atexit
import collections
import datetime as _dt
import hashlib
import math
import os
import signal
import socket
import sys
import threading
import traceback
import uuid as _uuid
import weakref
from collections.abc import Mapping
from time import time as _clock
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, bindparam, insert, text, update
from sqlalchemy.orm import Session, sessionmaker

from ato.db_routers import BaseLogger
from ato.errors import MetricValueError, NoActiveRunError, TrackerConfigError
from ato.tracking.database import is_sqlite, open_engine, retry
from ato.tracking.migrations import migrate
from ato.tracking.schema import Artifact, Experiment, Fingerprint, utc_now

if TYPE_CHECKING:
    from ato.scope import Scope
    from ato.trace import RuntimeCall

__all__ = ["ActiveRun", "SQLLogger", "setting", "tracker_settings"]

_LAYOUT = """\
config.experiment.project_name = 'my_project'
config.experiment.sql.db_path = 'sqlite:///experiments.db'"""


def setting(config: Any, path: str) -> Any:
    """``config``'s value at dotted ``path``; a missing key raises naming the first
    missing part and showing the layout the tracker expects."""
    node = config
    parts = path.split(".")
    for depth, part in enumerate(parts):
        if not isinstance(node, Mapping) or part not in node:
            where = ".".join(parts[: depth + 1])
            raise TrackerConfigError(
                f"The tracker reads config.{path}, but config.{where} is missing. "
                f"Set it in a view, e.g.:\n{_LAYOUT}"
            )
        node = node[part]
    return node


def tracker_settings(config: Any) -> tuple[str, str]:
    """``(project_name, db_path)`` from ``config.experiment``."""
    project = setting(config, "experiment.project_name")
    url = setting(config, "experiment.sql.db_path")
    if not isinstance(project, str) or not project:
        raise TrackerConfigError(
            f"config.experiment.project_name must be a non-empty string, not {project!r}."
        )
    return project, url


def jsonable(value: Any) -> Any:
    """``value`` as JSON can hold it: tuples as lists, numpy scalars as numbers, and any
    other object as its ``repr`` (a config is stored for reading, never re-executed)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, Mapping):
        return {str(key): jsonable(child) for key, child in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [jsonable(item) for item in items]
    item = getattr(value, "item", None)  # numpy and torch scalars
    if callable(item) and getattr(value, "shape", None) == ():
        return jsonable(item())
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return repr(value)


def _metric_number(key: Any, value: Any) -> float:
    if isinstance(value, (str, bytes)) or value is None or isinstance(value, complex):
        raise MetricValueError(
            f"Metric {key!r} got {type(value).__name__} {value!r:.40}; a metric is a real "
            f"number (int, float, numpy or torch scalar). Log text as a tag or an artifact."
        )
    try:
        return float(value)
    except (TypeError, ValueError):
        raise MetricValueError(
            f"Metric {key!r} got {type(value).__name__} {value!r:.40}, which is not a "
            f"number; for an array or tensor log one element, e.g. value.item() or "
            f"value.mean()."
        ) from None


def _step_number(key: Any, step: Any) -> int:
    try:
        return int(step.__index__())
    except (AttributeError, TypeError):
        raise MetricValueError(
            f"Metric {key!r}: step must be an integer, not {type(step).__name__} {step!r:.40}."
        ) from None


def _scopes_of(config: Any) -> list[Scope]:
    """The scope that assembled ``config``, else every registered scope (without
    importing ato.scope when the program never did)."""
    module = sys.modules.get("ato.scope")
    if module is None:
        return []
    scopes = list(module.Scope.registry.values())
    own = [scope for scope in scopes if scope.config is config]
    return own or scopes


def _provenance(scopes: list[Scope]) -> dict[str, list[str]] | None:
    """``{key: [source, ...]}`` (newest first) of the scope that built the config."""
    for scope in scopes:
        if scope.is_applied:
            try:
                return {key: [str(s) for s in chain] for key, _, chain in scope.sources()}
            except Exception:  # provenance is a bonus; never let it stop a run
                return None
    return None


def _file_facts(path: str) -> tuple[int | None, str | None]:
    try:
        digest = hashlib.sha256()
        size = 0
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
                size += len(block)
        return size, digest.hexdigest()
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        return None, None


class ActiveRun(int):
    """What ``logger.run()`` returns: the run's integer id (as in 2.x), which is also a
    context manager that finishes the run: 'completed', 'failed' (traceback stored) when
    the block raises, 'killed' on Ctrl-C."""

    uuid: str
    logger: SQLLogger

    def __new__(cls, run_id: int, run_uuid: str, logger: SQLLogger) -> ActiveRun:
        new = super().__new__(cls, run_id)
        new.uuid, new.logger = run_uuid, logger
        return new

    @property
    def id(self) -> int:
        return int(self)

    def log_metric(self, key: str, value: Any, step: int | None = None) -> None:
        self.logger.log_metric(key, value, step)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        if self.logger.get_current_run_id() != int(self) or not self.logger._active:
            return
        if kind is None:
            self.logger.finish("completed")
        elif issubclass(kind, KeyboardInterrupt):
            self.logger.finish("killed", error="KeyboardInterrupt")
        else:
            self.logger.finish("failed", error="".join(traceback.format_exception(error)))


class SQLLogger(BaseLogger):
    """Logs runs of ``config.experiment.project_name`` to ``config.experiment.sql.db_path``.

    ``flush_interval`` (seconds) bounds what a hard kill can lose; ``batch_size`` bounds
    the buffer; ``heartbeat_interval`` is how often a live run says so.
    """

    def __init__(
        self,
        config: Any,
        *,
        flush_interval: float = 0.5,
        batch_size: int = 20_000,
        heartbeat_interval: float = 5.0,
    ) -> None:
        self.config = config
        self.project_name, self.db_path = tracker_settings(config)
        self.engine = open_engine(self.db_path, writer=True)
        migrate(self.engine, self.db_path)
        # The session (2.x's attribute) reads with a plain BEGIN, so that a query left
        # open in it never holds the write lock the flushes need.
        self._reader = open_engine(self.db_path, writer=False)
        self._session: Session = sessionmaker(bind=self._reader)()
        self.flush_interval, self.batch_size = flush_interval, batch_size
        self.heartbeat_interval = heartbeat_interval
        self._sqlite = is_sqlite(self.engine)
        self._current_run_id: int | None = None
        self._active = False
        self._points: collections.deque[tuple[Any, ...]] = collections.deque()
        self._calls: collections.deque[RuntimeCall] = collections.deque()
        self._steps: dict[str, int] = {}
        self._flush_lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_beat = 0.0
        self._background_error: BaseException | None = None
        self._scopes: list[Scope] = []
        self._previous_sigterm: Any = None
        self._environment: dict[str, Any] | None = None
        mark = "?" if self._sqlite else "%s"
        self._insert_metrics = (
            f"INSERT INTO metrics (run_id, key, value, step, timestamp) "
            f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark})"
        )
        self._nan: Any = "NaN" if self._sqlite else math.nan
        atexit.register(_finish_at_exit, weakref.ref(self))

    # -- 2.x attributes ------------------------------------------------------------------

    @property
    def session(self) -> Session:
        """An ORM session on the database (2.x's attribute); pending metrics are written
        first, and a fresh snapshot is taken, so queries see everything logged so far."""
        self.flush()
        if self._session.in_transaction():
            self._session.commit()
        return self._session

    def get_current_run_id(self) -> int | None:
        return self._current_run_id

    def get_current_run(self) -> Experiment | None:
        if self._current_run_id is None:
            return None
        return self.session.get(Experiment, self._current_run_id)

    def get_or_create_project(self) -> Any:
        """The project row (an ORM object of :attr:`session`), created when missing."""
        from ato.tracking.schema import Project

        self._project_id()
        return self.session.query(Project).filter_by(name=self.project_name).one()

    def _project_id(self) -> int:
        def write() -> int:
            with self.engine.begin() as connection:
                # ON CONFLICT: several processes may create the same project at once.
                connection.execute(
                    text(
                        "INSERT INTO projects (name, created_at) VALUES (:name, :at) "
                        "ON CONFLICT (name) DO NOTHING"
                    ),
                    {"name": self.project_name, "at": _time_param(self._sqlite)},
                )
                return int(
                    connection.execute(
                        text("SELECT id FROM projects WHERE name = :name"),
                        {"name": self.project_name},
                    ).scalar_one()
                )

        return retry(write)

    # -- runs ----------------------------------------------------------------------------

    def run(self, tags: list[str] | None = None) -> ActiveRun:
        """Start a run (finishing the current one, if any, as 'completed'); return its id.

        Stored with it: the config, its structural hash, each key's provenance, the
        static fingerprints of traced functions, the environment, host, pid and tags.
        """
        from ato import environment
        from ato.adict import ADict

        if self._active:
            self.finish("completed")
        project_id = self._project_id()
        config = self.config
        structural_hash = (
            config.get_structural_hash()
            if isinstance(config, ADict)
            else ADict(config).get_structural_hash()
        )
        self._scopes = _scopes_of(config)
        # Once per logger: a process's interpreter and packages do not change between
        # its runs (a search running hundreds of them would pay it each time).
        if self._environment is None:
            self._environment = environment.capture()
        record = self._environment
        run_uuid = str(_uuid.uuid4())
        now = utc_now()
        values = {
            "project_id": project_id,
            "config": jsonable(config),
            "structural_hash": structural_hash,
            "tags": jsonable(list(tags or [])),
            "status": "running",
            "start_time": now,
            "heartbeat_at": now,
            "uuid": run_uuid,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "provenance": _provenance(self._scopes),
            "environment_hash": environment.environment_hash(record),
            "ato_version": _ato_version(),
        }
        fingerprints = self._static_fingerprints()

        def write() -> int:
            with self.engine.begin() as connection:
                connection.execute(
                    text(
                        "INSERT INTO environments (hash, record) VALUES (:hash, :record) "
                        "ON CONFLICT (hash) DO NOTHING"
                    ).bindparams(bindparam("record", type_=JSON)),
                    {"hash": values["environment_hash"], "record": jsonable(record)},
                )
                result = connection.execute(insert(Experiment).values(**values))
                run_id = int(result.inserted_primary_key[0])  # type: ignore[index]
                if fingerprints:
                    rows = [dict(row, run_id=run_id) for row in fingerprints]
                    connection.execute(insert(Fingerprint), rows)
                return run_id

        run_id = retry(write)
        self._current_run_id, self._active = run_id, True
        self._steps = {}
        self._background_error = None
        for scope in self._scopes:
            scope.tracer.listeners.append(self._on_runtime_call)
            for call in scope.tracer.calls:
                self._calls.append(call)
        self._start_background()
        self._install_signal_handler()
        return ActiveRun(run_id, run_uuid, self)

    def _static_fingerprints(self) -> list[dict[str, Any]]:
        rows: dict[str, dict[str, Any]] = {}
        for scope in self._scopes:
            for trace_id, fingerprint in scope.fingerprints.items():
                if fingerprint.kind == "static":
                    rows[trace_id] = {
                        "trace_id": trace_id,
                        "trace_type": "static",
                        "fingerprint": fingerprint.value,
                        "callees": fingerprint.callees or None,
                        "basis": fingerprint.basis,
                    }
        return list(rows.values())

    def _on_runtime_call(self, call: RuntimeCall) -> None:
        if self._active:
            self._calls.append(call)

    def log_metric(self, key: str, value: Any, step: int | None = None) -> None:
        """Record ``value`` of metric ``key`` at ``step`` (by default one past the last
        step of this key in this run, starting at 0)."""
        run_id = self._current_run_id
        if not self._active or run_id is None:
            raise NoActiveRunError(
                f"log_metric({key!r}, ...) needs a run: call logger.run() first"
                + (" (the last run was finished)." if run_id is not None else ".")
            )
        if type(value) is not float:
            value = _metric_number(key, value)
        if value != value:
            value = self._nan
        if type(key) is not str:
            raise MetricValueError(f"A metric key must be a string, not {key!r}.")
        if step is None:
            step = self._steps.get(key, 0)
        elif type(step) is not int:
            step = _step_number(key, step)
        self._steps[key] = step + 1
        points = self._points
        points.append((run_id, key, value, step, _clock()))
        if len(points) >= self.batch_size:
            self.flush()

    def log_artifact(
        self,
        run_id: int,
        file_path: str | os.PathLike[str],
        data_type: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> int:
        """Record a file of run ``run_id`` (with its size and SHA-256 when it exists);
        return the artifact's id."""
        path = os.fspath(file_path)
        size, sha256 = _file_facts(path)
        values = {
            "run_id": int(run_id),
            "path": path,
            "data_type": data_type,
            "data_info": jsonable(metadata) if metadata is not None else None,
            "size": size,
            "sha256": sha256,
            "created_at": utc_now(),
        }

        def write() -> int:
            with self.engine.begin() as connection:
                result = connection.execute(insert(Artifact).values(**values))
                return int(result.inserted_primary_key[0])  # type: ignore[index]

        return retry(write)

    def update_status(self, status: str) -> None:
        if self._current_run_id is None:
            return
        self.flush()
        self._update_run(status=status)

    def finish(self, status: str = "completed", error: str | None = None) -> None:
        """End the current run: write every pending point, then its status and end time."""
        run_id = self._current_run_id
        if run_id is None or not self._active:
            return
        self._active = False
        self._stop_background()
        self._restore_signal_handler()
        for scope in self._scopes:
            if self._on_runtime_call in scope.tracer.listeners:
                scope.tracer.listeners.remove(self._on_runtime_call)
        self.flush()
        now = utc_now()
        self._update_run(status=status, end_time=now, heartbeat_at=now, error=error)

    def _update_run(self, **values: Any) -> None:
        run_id = self._current_run_id

        def write() -> None:
            with self.engine.begin() as connection:
                connection.execute(
                    update(Experiment).where(Experiment.id == run_id).values(**values)
                )

        retry(write)

    # -- writing batches -----------------------------------------------------------------

    def flush(self) -> None:
        """Write the buffered points and runtime fingerprints now, in one transaction."""
        error, self._background_error = self._background_error, None
        with self._flush_lock:
            self._write_batch(beat=False)
        if error is not None:
            raise error

    def _write_batch(self, beat: bool) -> None:
        points = self._drain(self._points)
        calls = self._drain(self._calls)
        run_id = self._current_run_id
        if not points and not calls and not beat:
            return
        sqlite = self._sqlite
        rows: list[tuple[Any, ...]] = points
        if not sqlite:
            rows = [
                (r, k, v, s, _dt.datetime.fromtimestamp(t, _dt.timezone.utc))
                for r, k, v, s, t in points
            ]
        runs = {row[0] for row in points}

        def write() -> None:
            with self.engine.begin() as connection:
                if rows:
                    before = connection.exec_driver_sql("SELECT max(id) FROM metrics").scalar()
                    # Straight to the driver: SQLAlchemy's executemany path costs more per
                    # row than SQLite itself (measured: 4.4 vs 2.4 us).
                    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
                    try:
                        cursor.executemany(self._insert_metrics, rows)
                    finally:
                        cursor.close()
                    for run in runs:
                        connection.execute(
                            text(_SUMMARY_SQL_SQLITE if sqlite else _SUMMARY_SQL_POSTGRES),
                            {"after": before or 0, "run": run},
                        )
                if calls:
                    connection.execute(
                        insert(Fingerprint),
                        [
                            {
                                "run_id": run_id,
                                "trace_id": call.trace_id,
                                "trace_type": "runtime",
                                "fingerprint": call.fingerprint,
                                "call_index": call.index,
                                "basis": "value",
                            }
                            for call in calls
                        ],
                    )
                if beat and self._active:
                    connection.execute(
                        update(Experiment)
                        .where(Experiment.id == run_id)
                        .values(heartbeat_at=utc_now())
                    )

        try:
            retry(write)
        except BaseException:
            # Keep what could not be written, in order, for the next attempt.
            self._points.extendleft(reversed(points))
            self._calls.extendleft(reversed(calls))
            raise

    @staticmethod
    def _drain(queue: collections.deque[Any]) -> list[Any]:
        # popleft is atomic: points appended meanwhile by another thread stay queued.
        return [queue.popleft() for _ in range(len(queue))]

    # -- background flushing and heartbeat ------------------------------------------------

    def _start_background(self) -> None:
        self._stop.clear()
        self._last_beat = _clock()
        self._thread = threading.Thread(
            target=_background,
            args=(weakref.ref(self), self._stop),
            daemon=True,
            name=f"ato-tracker-run-{self._current_run_id}",
        )
        self._thread.start()

    def _stop_background(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _tick(self) -> None:
        beat = _clock() - self._last_beat >= self.heartbeat_interval
        try:
            with self._flush_lock:
                self._write_batch(beat=beat)
            if beat:
                self._last_beat = _clock()
        except Exception as error:  # surfaced by the next flush/finish in the caller
            self._background_error = error

    # -- signals and exit ------------------------------------------------------------------

    def _install_signal_handler(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        current = signal.getsignal(signal.SIGTERM)
        if current is signal.SIG_IGN or current is None:
            return
        self._previous_sigterm = current
        signal.signal(signal.SIGTERM, self._on_sigterm)

    def _restore_signal_handler(self) -> None:
        previous, self._previous_sigterm = self._previous_sigterm, None
        if previous is None or threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) == self._on_sigterm:
            signal.signal(signal.SIGTERM, previous)

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        previous = self._previous_sigterm
        self.finish("killed", error="terminated by SIGTERM")
        if callable(previous):
            previous(signum, frame)
        else:  # the default: die of the signal, as the sender expects
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    def _finish_at_exit(self) -> None:
        if not self._active:
            return
        error = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
        if error is None:
            self.finish("completed")
        elif isinstance(error, KeyboardInterrupt):
            self.finish("killed", error="KeyboardInterrupt")
        else:
            self.finish("failed", error="".join(traceback.format_exception(error)))


def _background(ref: weakref.ref[SQLLogger], stop: threading.Event) -> None:
    interval = ref().flush_interval if ref() is not None else 1.0  # type: ignore[union-attr]
    while not stop.wait(interval):
        logger = ref()
        if logger is None:
            return
        logger._tick()
        del logger


def _finish_at_exit(ref: weakref.ref[SQLLogger]) -> None:
    logger = ref()
    if logger is not None:
        logger._finish_at_exit()


def _time_param(sqlite: bool) -> Any:
    now = utc_now()
    return now.isoformat(sep=" ") if sqlite else now


def _ato_version() -> str:
    import ato

    return str(ato.__version__)


# Summaries of the rows this transaction inserted (ids above ``after``, for one run);
# NaN is counted but is never a min or max. SQLite keeps NaN as the text 'NaN'.
_SUMMARY_SELECT = """
    SELECT b.run_id, b.key, b.n, b.lo, b.hi, l.value, l.step
    FROM (
        SELECT run_id, key, count(*) AS n,
               min(CASE WHEN {numeric} THEN value END) AS lo,
               max(CASE WHEN {numeric} THEN value END) AS hi,
               max(id) AS last_id
        FROM metrics WHERE id > :after AND run_id = :run GROUP BY run_id, key
    ) AS b JOIN metrics AS l ON l.id = b.last_id
"""
_SUMMARY_SQL_SQLITE = (
    "INSERT INTO metric_summaries "
    "(run_id, key, count, min_value, max_value, last_value, last_step) "
    + _SUMMARY_SELECT.format(numeric="typeof(value) IN ('real', 'integer')")
    + """ WHERE true
    ON CONFLICT (run_id, key) DO UPDATE SET
        count = metric_summaries.count + excluded.count,
        min_value = min(coalesce(metric_summaries.min_value, excluded.min_value),
                        coalesce(excluded.min_value, metric_summaries.min_value)),
        max_value = max(coalesce(metric_summaries.max_value, excluded.max_value),
                        coalesce(excluded.max_value, metric_summaries.max_value)),
        last_value = excluded.last_value,
        last_step = excluded.last_step
    """
)
_SUMMARY_SQL_POSTGRES = (
    "INSERT INTO metric_summaries "
    "(run_id, key, count, min_value, max_value, last_value, last_step) "
    + _SUMMARY_SELECT.format(numeric="value <> 'NaN'")
    + """
    ON CONFLICT (run_id, key) DO UPDATE SET
        count = metric_summaries.count + excluded.count,
        min_value = LEAST(metric_summaries.min_value, excluded.min_value),
        max_value = GREATEST(metric_summaries.max_value, excluded.max_value),
        last_value = excluded.last_value,
        last_step = excluded.last_step
    """
)

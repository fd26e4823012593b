"""``SQLLogger``: records runs, metrics, artifacts and fingerprints.

A metric is appended to an in-memory buffer (a few hundred nanoseconds) and written in
batches, in one transaction per batch: when the buffer holds ``batch_size`` points, at
least every ``flush_interval`` seconds (a background thread, which also beats the run's
heartbeat), at ``finish``, at interpreter exit and on SIGTERM. A process killed with
``kill -9`` therefore loses at most the last interval of points, and its run reads as
'crashed' once its heartbeat is stale or its pid is gone (see :mod:`ato.tracking.runs`).

Points leave the buffer only once their transaction has committed, so an error or a
Ctrl-C in the middle of a write loses nothing. A SIGTERM that arrives while the main
thread is writing waits for that write to end (ending the run then would need the lock
the interrupted write holds). A forked child inherits the logger but not its run: it
neither writes the parent's buffer again nor finishes the parent's run.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import datetime as _dt
import hashlib
import itertools
import math
import os
import signal
import socket
import sys
import threading
import traceback
import uuid as _uuid
import weakref
from collections.abc import Callable, Mapping
from time import time as _clock
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import JSON, bindparam, insert, text, update
from sqlalchemy.orm import Session, sessionmaker

from ato.db_routers import BaseLogger
from ato.errors import (
    MetricValueError,
    NoActiveRunError,
    TrackerConfigError,
    TrackerDatabaseError,
)
from ato.tracking.database import (
    is_sqlite,
    open_engine,
    retry,
    sqlite_file,
    write_after_reading,
    wrote_in_session,
)
from ato.tracking.interrupts import exit_status, interrupts_held, main_writes
from ato.tracking.migrations import migrate, step_range
from ato.tracking.runs import pid_namespace
from ato.tracking.schema import Artifact, Experiment, Fingerprint, utc_now
from ato.tracking.summaries import summarize

if TYPE_CHECKING:
    from ato.scope import Scope
    from ato.trace import RuntimeCall

__all__ = ["ActiveRun", "SQLLogger", "refuse_forked_sqlite", "setting", "tracker_settings"]

_T = TypeVar("_T")

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
    except OverflowError:
        raise MetricValueError(
            f"Metric {key!r} got {type(value).__name__} {value!r:.40}..., which is too "
            f"large for a float (a metric is stored as a 64-bit float)."
        ) from None
    except (TypeError, ValueError):
        raise MetricValueError(
            f"Metric {key!r} got {type(value).__name__} {value!r:.40}, which is not a "
            f"number; for an array or tensor log one element, e.g. value.item() or "
            f"value.mean()."
        ) from None


def _step_number(key: Any, step: Any, low: int, high: int) -> int:
    try:
        number = int(step.__index__())
    except (AttributeError, TypeError):
        raise MetricValueError(
            f"Metric {key!r}: step must be an integer, not {type(step).__name__} {step!r:.40}."
        ) from None
    if low <= number <= high:
        return number
    if high < 2**63 - 1:
        raise MetricValueError(
            f"Metric {key!r}: step {number} is outside the 32-bit integers this "
            f"PostgreSQL database stores steps in (its metrics table was created and "
            f"filled by ato 2.x). To store 64-bit steps, when no run is logging, execute: "
            f"ALTER TABLE metrics ALTER COLUMN step TYPE BIGINT; ALTER TABLE "
            f"metric_summaries ALTER COLUMN last_step TYPE BIGINT (the first rewrites the "
            f"table)."
        )
    raise MetricValueError(
        f"Metric {key!r}: step {number} is outside the 64-bit integers a database "
        f"stores (-2**63 to 2**63 - 1)."
    )


def _check_key(key: Any) -> None:
    if type(key) is not str:
        raise MetricValueError(f"A metric key must be a string, not {key!r}.")
    if "\x00" in key:
        raise MetricValueError(
            f"Metric key {key!r} contains a NUL character, which databases cannot store "
            f"in text; remove it."
        )
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError as error:
        raise MetricValueError(
            f"Metric key {key!r} is not valid Unicode text ({error.reason} at index "
            f"{error.start}), e.g. a file name decoded with surrogateescape; decode it "
            f"with errors='replace' first."
        ) from None
    if size > _MAX_KEY_BYTES:
        raise MetricValueError(
            f"Metric key {key[:40]!r}... is {size} bytes long; keys are indexed and may "
            f"be at most {_MAX_KEY_BYTES} bytes (UTF-8). Use a shorter name."
        )


# PostgreSQL's btree index entries hold up to ~2700 bytes (run_id, key, step).
_MAX_KEY_BYTES = 1024


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

    # Copied or pickled (say, into a config or to a worker), a run is its id: the
    # logger, its connections and its thread stay with the process that owns them.
    def __reduce__(self) -> tuple[type[int], tuple[int]]:
        return int, (int(self),)

    def __copy__(self) -> int:
        return int(self)

    def __deepcopy__(self, memo: Any) -> int:
        return int(self)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        if self.logger.get_current_run_id() != int(self) or not self.logger._active:
            return
        self.logger.finish(*_ending(error))


def _ending(error: BaseException | None) -> tuple[str, str | None]:
    """``(status, error text)`` of a run whose program ended with ``error``."""
    if error is None:
        return "completed", None
    if isinstance(error, KeyboardInterrupt):
        return "killed", "KeyboardInterrupt"
    if isinstance(error, SystemExit) and error.code in (0, None):
        return "completed", None
    return "failed", "".join(traceback.format_exception(error))


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
        refuse_forked_sqlite(self.db_path)  # before anything touches the file
        self.engine = open_engine(self.db_path, writer=True)
        migrate(self.engine, self.db_path)
        # The session (2.x's attribute) reads with a plain BEGIN, so that a query left
        # open in it never holds the write lock the flushes need.
        self._reader = open_engine(self.db_path, writer=False)
        self._session = self._new_session()
        self.flush_interval, self.batch_size = flush_interval, batch_size
        self.heartbeat_interval = heartbeat_interval
        self._sqlite = is_sqlite(self.engine)
        self._step_min, self._step_max = -(2**63), 2**63 - 1
        if not self._sqlite:
            with self.engine.connect() as connection:
                self._step_min, self._step_max = step_range(connection)
        self._pid = os.getpid()
        self._current_run_id: int | None = None
        self._active = False
        self._inherited_from: int | None = None  # the parent's pid, in a forked child
        self._forked_sqlite_file = False
        self._points: collections.deque[tuple[Any, ...]] = collections.deque()
        self._calls: collections.deque[RuntimeCall] = collections.deque()
        self._steps: dict[str, itertools.count[int]] = {}  # the next step of each key
        self._step_lock = threading.Lock()
        self._flush_lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_beat = 0.0
        # The last error of the background flush, kept for inspection: the points stay
        # buffered and the next flush tries again (and raises, if it fails too).
        self.background_error: BaseException | None = None
        self._scopes: list[Scope] = []
        # Per tracer, how many of its runtime calls earlier runs of this logger stored.
        self._calls_stored: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
        self._previous_sigterm: Any = None
        self._environment: dict[str, Any] | None = None
        self._orphans: list[Any] = []
        mark = "?" if self._sqlite else "%s"
        self._insert_metrics = (
            f"INSERT INTO metrics (run_id, key, value, step, timestamp) "
            f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark})"
        )
        self._nan: Any = "NaN" if self._sqlite else math.nan
        _LOGGERS.add(self)
        atexit.register(_finish_at_exit, weakref.ref(self))

    def _new_session(self) -> Session:
        session = sessionmaker(bind=self._reader)()
        write_after_reading(session)
        return session

    # -- 2.x attributes ------------------------------------------------------------------

    @property
    def session(self) -> Session:
        """An ORM session on the database (2.x's attribute); pending metrics are written
        first, and a fresh snapshot is taken, so queries see everything logged so far."""
        session = self._session
        # Only a session that has written nothing is committed (which ends its read
        # snapshot) and only then are the points flushed: changes of the caller's stay
        # theirs to commit or roll back, and a write lock their session holds would
        # keep the flush waiting.
        busy = session.in_nested_transaction() or wrote_in_session(session)
        if not (busy or session.new or session.dirty or session.deleted):
            if session.in_transaction():
                session.commit()
            self.flush()
        return session

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

        return self._transaction(write)

    # -- runs ----------------------------------------------------------------------------

    def run(self, tags: list[str] | str | None = None) -> ActiveRun:
        """Start a run (finishing the current one, if any, as 'completed'); return its id.

        Stored with it: the config, its structural hash, each key's provenance, the
        static fingerprints of traced functions, the environment, host, pid and tags.
        """
        with main_writes.marked():  # a SIGTERM meanwhile ends the run once it has begun
            return self._start(tags)

    def _start(self, tags: list[str] | str | None) -> ActiveRun:
        from ato import environment
        from ato.adict import ADict

        if self._forked_sqlite_file:
            raise _forked_sqlite_error(self.db_path)
        if self._active:
            self.finish("completed")
        # Before the run's row exists: a SIGTERM from here on ends it as 'killed' (it
        # waits, like any signal inside a write, until run() is done).
        self._install_signal_handler()
        if isinstance(tags, str):
            tags = [tags]
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
            "pid_namespace": pid_namespace(),
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

        run_id = self._transaction(write)
        self._current_run_id, self._active = run_id, True
        self._inherited_from = None
        self._steps = {}
        self.background_error = None
        for scope in self._scopes:
            # The calls made since this logger's last run (or before its first) are
            # this run's; later ones arrive through the listener.
            tracer = scope.tracer
            self._calls.extend(tracer.calls[self._calls_stored.get(tracer, 0) :])
            tracer.listeners.append(self._on_runtime_call)
        self._start_background()
        exit_status.watch()
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
            raise self._no_run(f"log_metric({key!r}, ...)")
        if type(value) is not float:
            value = _metric_number(key, value)
        if value != value:
            value = self._nan
        counters = self._steps
        if step is None:
            # next() on an itertools.count is one C call: threads logging one key
            # never share a step, without a lock.
            try:
                step = next(counters[key])
            except (KeyError, TypeError):
                _check_key(key)  # once per key: every key seen has a counter
                with self._step_lock:
                    counter = counters.setdefault(key, itertools.count())
                step = next(counter)
        else:
            if type(step) is not int or not self._step_min <= step <= self._step_max:
                step = _step_number(key, step, self._step_min, self._step_max)
            if type(key) is not str or key not in counters:
                _check_key(key)
            counters[key] = itertools.count(step + 1)
        points = self._points
        points.append((run_id, key, value, step, _clock()))
        if len(points) >= self.batch_size:
            self.flush()

    def _no_run(self, call: str) -> NoActiveRunError:
        if self._inherited_from is not None:
            return NoActiveRunError(
                f"{call} in process {os.getpid()}: this logger's run belongs to another "
                f"process ({self._inherited_from}), which forked this one. Start a run "
                f"here with logger.run(), or log from the parent."
            )
        return NoActiveRunError(
            f"{call} needs a run: call logger.run() first"
            + (" (the last run was finished)." if self._current_run_id is not None else ".")
        )

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

        return self._transaction(write)

    def update_status(self, status: str) -> None:
        if self._current_run_id is None:
            return
        self.flush()
        self._update_run(status=status)

    def finish(self, status: str = "completed", error: str | None = None) -> None:
        """End the current run: write every pending point, then its status and end
        time (the status even when the points cannot be written: the error is raised)."""
        with main_writes.marked():  # a SIGTERM meanwhile waits: the run is ending anyway
            self._finish(status, error)

    def _finish(self, status: str, error: str | None) -> None:
        run_id = self._current_run_id
        if run_id is None or not self._active:
            return
        # 2.x had one session for everything, so finish() committed what was pending in
        # it; and a write left open there would hold the lock the last flush needs.
        self._settle_session(commit=True)
        self._active = False
        self._stop_background()
        for scope in self._scopes:
            tracer = scope.tracer
            if self._on_runtime_call in tracer.listeners:
                tracer.listeners.remove(self._on_runtime_call)
            self._calls_stored[tracer] = len(tracer.calls)
        try:
            self.flush()
        except KeyboardInterrupt:
            # Ctrl-C while the last points are written: they are still buffered, so
            # try once more (another Ctrl-C stops that), and record the run as killed.
            status, error = "killed", "KeyboardInterrupt"
            with contextlib.suppress(Exception):
                self.flush()
            raise
        finally:
            try:
                now = utc_now()
                self._update_run(status=status, end_time=now, heartbeat_at=now, error=error)
            finally:
                self._restore_signal_handler()
                if not any(logger._active for logger in _LOGGERS):
                    exit_status.unwatch()

    def _settle_session(self, commit: bool) -> None:
        """End the transaction of :attr:`session`: commit it, or (when the process is
        going down) roll it back."""
        session = self._session
        if not session.in_transaction():
            return
        try:
            if commit:
                session.commit()
            else:
                session.rollback()
        except Exception:
            with contextlib.suppress(Exception):
                session.rollback()
            if commit:
                raise

    def _update_run(self, **values: Any) -> None:
        run_id = self._current_run_id

        def write() -> None:
            with self.engine.begin() as connection:
                connection.execute(
                    update(Experiment).where(Experiment.id == run_id).values(**values)
                )

        self._transaction(write)

    # -- writing -------------------------------------------------------------------------

    def _transaction(self, action: Callable[[], _T]) -> _T:
        with main_writes.marked():
            return retry(action)

    def flush(self) -> None:
        """Write the buffered points and runtime fingerprints now, in one transaction."""
        with main_writes.marked(), self._flush_lock:
            self._write_batch(beat=False)

    def _write_batch(self, beat: bool) -> None:
        # Points are copied, not taken: they leave the buffer only once committed, so an
        # error or a KeyboardInterrupt anywhere in between loses none. Only the holder
        # of the flush lock removes points; other threads only append behind them.
        n_points, n_calls = len(self._points), len(self._calls)
        run_id = self._current_run_id
        if not n_points and not n_calls and not beat:
            return
        points = list(itertools.islice(self._points, n_points))
        calls = list(itertools.islice(self._calls, n_calls))
        sqlite = self._sqlite
        rows: list[tuple[Any, ...]] = points
        if not sqlite:
            rows = [
                (r, k, v, s, _dt.datetime.fromtimestamp(t, _dt.timezone.utc))
                for r, k, v, s, t in points
            ]
        runs = {row[0] for row in points}

        def write() -> None:
            with self.engine.connect() as connection:
                transaction = connection.begin()
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
                        summarize(connection, run, before or 0)
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
                # Committed and taken from the buffer as one step: a Ctrl-C in between
                # would leave committed points buffered, to be written twice.
                with interrupts_held():
                    transaction.commit()
                    _discard(self._points, n_points)
                    _discard(self._calls, n_calls)

        retry(write)

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
        except Exception as error:  # the points stay buffered; the next flush retries
            self.background_error = error
        else:
            self.background_error = None
            if beat:
                self._last_beat = _clock()

    # -- signals, exit and fork -------------------------------------------------------------

    def _install_signal_handler(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        current = signal.getsignal(signal.SIGTERM)
        if current == self._on_sigterm:  # still ours: never chain to ourselves
            return
        if current is signal.SIG_IGN or current is None:
            return
        self._previous_sigterm = current
        signal.signal(signal.SIGTERM, self._on_sigterm)

    def _restore_signal_handler(self) -> None:
        # Only the main thread may set handlers; from another thread ours stays
        # installed and keeps chaining to the previous one.
        if threading.current_thread() is not threading.main_thread():
            return
        # ``_previous_sigterm`` is kept: a SIGTERM deferred until now still chains to it.
        previous = self._previous_sigterm
        if previous is not None and signal.getsignal(signal.SIGTERM) == self._on_sigterm:
            signal.signal(signal.SIGTERM, previous)

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        if main_writes.depth:
            # The main thread was interrupted inside a write (of this logger or another),
            # holding its lock and transaction: ending the run now would wait on them.
            # It ends right after that write.
            main_writes.pending.append((self._on_sigterm, signum, frame))
            return
        previous = self._previous_sigterm
        try:
            if self._active:
                self._settle_session(commit=False)
                self.finish("killed", error="terminated by SIGTERM")
        finally:
            if callable(previous):
                previous(signum, frame)
            else:  # the default: die of the signal, as the sender expects
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)

    def _finish_at_exit(self) -> None:
        if not self._active or os.getpid() != self._pid:
            return
        error = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
        if error is None:
            error = exit_status.error()
        try:
            self._settle_session(commit=False)
            self.finish(*_ending(error))
        except Exception as failure:  # too late to raise: say so, in one line
            print(
                f"ato: run {self._current_run_id} in {self.db_path} could not be finished "
                f"at exit ({type(failure).__name__}: {str(failure).splitlines()[0]}).",
                file=sys.stderr,
            )

    def _after_fork_in_child(self) -> None:
        """In a forked child: the parent's run, buffer, thread and connections are the
        parent's. Drop them without closing (closing would end the parent's sessions)."""
        if self._active:
            self._inherited_from = self._pid
        # SQLite keeps its file locks in per-process tables that a fork copies half-way
        # (the child believes it holds locks it does not, or waits on ones no one will
        # release): a forked child must not touch a file its parent had open.
        self._forked_sqlite_file = self._sqlite
        self._pid = os.getpid()
        self._active = False
        self._points = collections.deque()
        self._calls = collections.deque()
        self._thread = None
        self._stop = threading.Event()
        self._step_lock = threading.Lock()
        self._flush_lock = threading.RLock()
        main_writes.reset()
        # Kept, never collected here: collecting a session that holds a connection
        # would roll that connection back, on the parent's server session.
        self._orphans.append(self._session)
        self.engine.dispose(close=False)
        self._reader.dispose(close=False)
        self._session = self._new_session()


def refuse_forked_sqlite(db_path: str) -> None:
    """Raise when this process was forked from one whose logger had ``db_path``'s file
    open (however the path is spelled)."""
    file = sqlite_file(db_path)
    if file is None:
        return
    for logger in list(_LOGGERS):
        if logger._forked_sqlite_file and sqlite_file(logger.db_path) == file:
            raise _forked_sqlite_error(db_path)


def _forked_sqlite_error(db_path: str) -> TrackerDatabaseError:
    return TrackerDatabaseError(
        f"This process was forked from one that had the SQLite database {db_path!r} "
        f"open, and SQLite's locks do not survive a fork: using the file here could hang "
        f"or corrupt it. Log from child processes started with "
        f"multiprocessing.get_context('spawn') (or 'forkserver'), or log to PostgreSQL."
    )


# Every live logger, for the fork hook below.
_LOGGERS: weakref.WeakSet[SQLLogger] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for logger in list(_LOGGERS):
        logger._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _discard(queue: collections.deque[Any], count: int) -> None:
    # popleft ``count`` times in C: no bytecode runs in between, so neither a signal
    # handler nor another thread sees the queue half-trimmed.
    collections.deque(itertools.starmap(queue.popleft, itertools.repeat((), count)), maxlen=0)


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

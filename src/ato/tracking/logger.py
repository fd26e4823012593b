"""``SQLLogger``: records runs, metrics, artifacts and fingerprints.

A metric is checked (:mod:`~ato.tracking.values`), appended to a
:class:`~ato.tracking.buffer.MetricBuffer` and written in batches, one transaction per
batch (:mod:`~ato.tracking.writes`, through :func:`~ato.tracking.database.write`): when
the buffer holds ``batch_size`` points, at least every ``flush_interval`` seconds, at
``finish``, at interpreter exit and on SIGTERM or SIGHUP (:mod:`~ato.tracking.process`).
A process killed with ``kill -9`` therefore loses at most the last interval of points,
and its run reads as 'crashed' once its pid is gone (seen from another host: once its
heartbeat is stale). Run rows are made by :mod:`~ato.tracking.starting`.

Points leave the buffer only once their transaction has committed, so an error or a
Ctrl-C in the middle of a write loses nothing. A forked child inherits the logger but
not its run: it neither writes the parent's buffer again nor finishes the parent's run.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import operator
import os
import signal
import sys
import threading
from collections.abc import Mapping
from functools import partial
from time import time as _clock
from typing import TYPE_CHECKING, Any

from ato.adict import ADict
from ato.errors import (
    ArgumentTypeError,
    DatabaseUnreachableError,
    MetricValueError,
    NoActiveRunError,
    TrackerConfigError,
)
from ato.trace import RuntimeCall
from ato.tracking import starting, writes
from ato.tracking.buffer import Batch, BufferSetting, MetricBuffer
from ato.tracking.database import is_sqlite, open_engine, write
from ato.tracking.handle import ActiveRun
from ato.tracking.held_run import HeldRun
from ato.tracking.migrations import migrate, step_range
from ato.tracking.process import ending, hooks, interrupts_held, main_writes
from ato.tracking.schema import Experiment, Project, utc_now
from ato.tracking.scopes import ScopeRecorder
from ato.tracking.session import LegacySession
from ato.tracking.settings import CONFIG_URL, Origin, tracker_settings
from ato.tracking.sqlite_files import refuse_forked_sqlite, sqlite_file
from ato.tracking.trouble import last_flush, say_background_trouble
from ato.tracking.values import check_key, metric_number, step_number

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from ato.scope import Scope
    from ato.trace import Fingerprint

__all__ = ["SQLLogger"]

#: How long a run that is ending waits, Ctrl-C held back, for the background thread's
#: write under way (its points are lost if the program ends before it commits).
LAST_WRITE_WAIT_S = 10.0


class SQLLogger:
    """Logs runs of ``config.experiment.project_name`` to ``config.experiment.sql.db_path``.

    ``scope`` is the scope whose provenance and fingerprints runs record (by default,
    the one that assembled ``config``; see :class:`~ato.tracking.scopes.ScopeRecorder`).
    ``flush_interval`` (seconds) bounds what a hard kill can lose; ``batch_size`` bounds
    the buffer; ``heartbeat_interval`` is how often a live run says so. ``volatile``
    marks keys that differ in every run (patterns such as ``'paths.*'``; also read from
    ``config.experiment.volatile``): stored with each run, ``ato explain`` lists their
    differences apart from the causes.
    """

    batch_size = BufferSetting()
    flush_interval = BufferSetting()
    heartbeat_interval = BufferSetting()
    # The last error of the background flush: the points stay buffered and the next
    # flush tries again (and raises, if it fails too).
    background_error = BufferSetting()

    @classmethod
    def open(cls, url: str, project_name: str, **settings: Any) -> SQLLogger:
        """A logger of runs of ``project_name`` in the database at ``url``, without a
        config to carry them (``settings``: those of the constructor)."""
        if not isinstance(project_name, str) or not project_name:
            raise TrackerConfigError(
                f"project_name is {project_name!r}; name the project the runs belong to "
                f"(e.g. SQLLogger.open(url, 'vision'))."
            )
        experiment = ADict(project_name=project_name, sql=ADict(db_path=url))
        settings.setdefault(
            "_origin", Origin("url={} (of SQLLogger.open)", "give SQLLogger.open {}")
        )
        return cls(ADict(experiment=experiment), **settings)

    def __init__(
        self,
        config: Any,
        *,
        scope: Scope | None = None,
        flush_interval: float = 0.5,
        batch_size: int = 20_000,
        heartbeat_interval: float = 5.0,
        volatile: list[str] | tuple[str, ...] | None = None,
        _origin: Origin = CONFIG_URL,  # where the URL was given, for errors
    ) -> None:
        self.config = config
        self.volatile = list(volatile or ())
        self.project_name, self.db_path = tracker_settings(config)
        self.engine = open_engine(self.db_path, writer=True, origin=_origin)
        migrate(self.engine, self.db_path, _origin)
        self._legacy = LegacySession(self.db_path)
        self._sqlite = is_sqlite(self.engine)
        self.sqlite_path = sqlite_file(self.db_path) if self._sqlite else None
        self._step_min, self._step_max = -(2**63), 2**63 - 1
        if not self._sqlite:
            with self.engine.connect() as connection:
                self._step_min, self._step_max = step_range(connection)
        self._nan: Any = "NaN" if self._sqlite else math.nan
        self.buffer = MetricBuffer(
            self._write_batch,
            batch_size=batch_size,
            flush_interval=flush_interval,
            heartbeat_interval=heartbeat_interval,
            on_full=self.flush,
            on_trouble=self._background_trouble,
        )
        self._scopes = ScopeRecorder(scope)
        self._pid = os.getpid()
        self._current_run_id: int | None = None
        self._active = False
        self._inherited_from: int | None = None  # the parent's pid, in a forked child
        #: A run whose end another part of ato writes (a search's run for the trial under
        #: way): a run() or finish() meanwhile leaves it 'running', not 'completed'.
        self.held = HeldRun(self)
        self._signalled: int | None = None  # a signal the program's own handler took
        self._steps: dict[str, itertools.count[int]] = {}  # the next step of each key
        # The next index of each runtime trace's calls in the current run.
        self._calls: dict[str, itertools.count[int]] = {}
        self._step_lock = threading.Lock()
        self._environment: dict[str, Any] | None = None
        hooks.adopt(self)

    # -- 2.x attributes ------------------------------------------------------------------

    @property
    def session(self) -> Session:
        """An ORM session on the database (2.x's attribute); pending metrics are written
        first, and a fresh snapshot is taken, so queries see everything logged so far."""
        return self._legacy.current(self.flush)

    def get_current_run_id(self) -> int | None:
        return self._current_run_id

    @property
    def active_run_id(self) -> int | None:
        """The id of the run under way (started by :meth:`run`, not yet finished)."""
        return self._current_run_id if self._active else None

    def get_current_run(self) -> Experiment | None:
        if self._current_run_id is None:
            return None
        return self.session.get(Experiment, self._current_run_id)

    def get_or_create_project(self) -> Any:
        """The project row (an ORM object of :attr:`session`), created when missing."""
        self._project_id()
        return self.session.query(Project).filter_by(name=self.project_name).one()

    def _project_id(self) -> int:
        return write(self.engine, partial(writes.ensure_project, name=self.project_name))

    # -- runs ----------------------------------------------------------------------------

    def run(self, tags: list[str] | str | None = None) -> ActiveRun:
        """Start a run (finishing the current one, if any, as 'completed'); return its id.

        Stored with it: the config, its structural hash, each key's provenance, the
        static fingerprints of traced functions, the environment, host, pid and tags.
        """
        with main_writes.marked():  # a SIGTERM meanwhile ends the run once it has begun
            return self._start(tags)

    def _start(self, tags: list[str] | str | None) -> ActiveRun:
        refuse_forked_sqlite(self.db_path)  # this logger came from the parent, in a fork
        if self._active:
            self._finish("completed", None, held=self.held.is_current())
        # Before the run's row exists: a SIGTERM from here on ends it as 'killed' (it
        # waits, like any signal inside a write, until run() is done).
        hooks.run_starting(self)
        try:
            run_id, run_uuid = self._insert_run([tags] if isinstance(tags, str) else tags)
        except BaseException:
            hooks.run_ended(self)
            raise
        self._current_run_id, self._active = run_id, True
        self._inherited_from = None
        self._signalled = None
        self._steps = {}
        self._calls = {}
        self.background_error = None
        self._scopes.listen(self._on_runtime_call, self._on_traced)
        self.buffer.start(name=f"ato-tracker-run-{run_id}")
        return ActiveRun(run_id, run_uuid, self)

    def _insert_run(self, tags: list[str] | None) -> tuple[int, str]:
        from ato import environment

        project_id = self._project_id()
        # Once per logger: a process's interpreter and packages do not change between
        # its runs (a search running hundreds of them would pay it each time).
        if self._environment is None:
            own = sqlite_file(self.db_path) if self._sqlite else None
            self._environment = environment.capture(exclude=[own] if own else ())
        volatile = starting.volatile_keys(self.config, self.volatile)
        return starting.insert_run(
            self.engine, project_id, self.config, self._scopes, self._environment, tags, volatile
        )

    def _on_runtime_call(self, call: RuntimeCall) -> None:
        # Numbered within the run: the tracer counts calls for the whole process.
        if self._active:
            counter = self._calls.get(call.trace_id)
            if counter is None:
                counter = self._calls.setdefault(call.trace_id, itertools.count())
            own = RuntimeCall(call.trace_id, next(counter), call.fingerprint)
            self.buffer.add_calls((own,))

    def _on_traced(self, trace_id: str, fingerprint: Fingerprint) -> None:
        run_id = self._current_run_id
        if self._active and run_id is not None:
            starting.insert_traced_late(self.engine, run_id, trace_id, fingerprint)

    def log_metric(self, key: str, value: Any, step: int | None = None) -> None:
        """Record ``value`` of metric ``key`` at ``step`` (by default one past the last
        step of this key in this run, starting at 0)."""
        run_id = self._current_run_id
        if not self._active or run_id is None:
            raise self._no_run(f"log_metric({key!r}, ...)")
        if type(value) is not float:
            value = metric_number(key, value)
        if value != value:
            value = self._nan
        counters = self._steps
        if step is None:
            # next() on an itertools.count is one C call: threads logging one key
            # never share a step, without a lock.
            try:
                step = next(counters[key])
            except (KeyError, TypeError):
                check_key(key)  # once per key: every key seen has a counter
                with self._step_lock:
                    counter = counters.setdefault(key, itertools.count())
                step = next(counter)
            if step > self._step_max:  # after an explicit largest step: it cannot be stored
                raise MetricValueError(
                    f"Metric {key!r}: the next step, {step}, is past the largest step the "
                    f"database holds ({self._step_max}), which was logged last; pass "
                    f"step= explicitly."
                )
        else:
            if type(step) is not int or not self._step_min <= step <= self._step_max:
                step = step_number(key, step, self._step_min, self._step_max)
            if type(key) is not str or key not in counters:
                check_key(key)
            counters[key] = itertools.count(step + 1)
        self.buffer.append((run_id, key, value, step, _clock()))

    def _no_run(self, call: str) -> NoActiveRunError:
        if self._inherited_from is not None:
            return NoActiveRunError(
                f"{call} in process {os.getpid()}: this logger's run belongs to another "
                f"process ({self._inherited_from}), which forked this one. Start a run "
                f"here with logger.run(), or log from the parent."
            )
        held = self.held.run_id
        if held is not None:  # in a search's trial, which left the search's run for it
            ended = (
                f"logger.finish() ended run {held}, the search's run for the trial"
                if self._current_run_id == held
                else f"the trial's own run {self._current_run_id} ended (the search's run "
                f"for the trial is run {held})"
            )
            return NoActiveRunError(
                f"{call} inside a search's trial, after {ended}. Leave the run to the "
                f"search, which ends it when the trial returns: log without logger.run() "
                f"or logger.finish()."
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
        refuse_forked_sqlite(self.db_path)  # a forked child must not write the file
        try:
            number = operator.index(run_id) if not isinstance(run_id, bool) else None
        except TypeError:
            number = None
        if number is None:
            raise ArgumentTypeError(
                f"log_artifact: run_id must be a run's id (an int, or what logger.run() "
                f"returns), not {type(run_id).__name__} {run_id!r:.40}."
            )
        try:
            path = os.fspath(file_path)
        except TypeError:
            raise ArgumentTypeError(
                f"log_artifact: file_path must be a path (str or os.PathLike), not "
                f"{type(file_path).__name__} {file_path!r:.40}."
            ) from None
        if not path:
            raise ArgumentTypeError("log_artifact: file_path is empty; name the file.")
        values = writes.new_artifact(number, path, data_type, metadata)
        return write(self.engine, partial(writes.insert_artifact, values=values))

    def update_status(self, status: str) -> None:
        if self._inherited_from is not None:  # the parent's run: the parent ends it
            raise self._no_run(f"update_status({status!r})")
        if self._current_run_id is None:
            return
        self.flush()
        self._update_run(status=status)

    def finish(self, status: str = "completed", error: str | None = None) -> None:
        """End the current run: write every pending point, then its status and end
        time (the status even when the points cannot be written: the error is raised)."""
        with main_writes.marked():  # a SIGTERM meanwhile waits: the run is ending anyway
            held = self.held.is_current()
            if held:
                self.held.asked = (status, error)
            self._finish(status, error, held=held)

    def _finish(self, status: str, error: str | None, held: bool = False) -> None:
        """End the run; ``held``: this logger's part only (its points are written), the
        row is left 'running' for its holder to end."""
        if self._current_run_id is None or not self._active:
            return
        if self._signalled is not None:  # whatever the program did after its handler
            name = signal.Signals(self._signalled).name
            status = "killed"
            error = f"terminated by {name}; the program's own handler ran, then it ended the run"
        # 2.x had one session for everything, so finish() committed what was pending in
        # it; and a write left open there would hold the lock the last flush needs.
        self._legacy.settle(commit=True)
        self._active = False
        self._scopes.stop_listening(self._on_runtime_call, self._on_traced)
        ending: BaseException | None = None  # what ends the program, if anything
        try:
            self.buffer.stop()  # waits for the thread's write under way
            last_flush(
                self.flush, lambda: len(self.buffer._points), self.db_path, self._current_run_id
            )
        except DatabaseUnreachableError as unreachable:
            ending = unreachable
            raise
        except KeyboardInterrupt as interrupt:
            # Ctrl-C while the last points are written, or while the thread's last write
            # is waited for: they are still buffered (the thread's, until it commits),
            # so the run waits for the thread, writes them, and reads 'killed'. One more
            # Ctrl-C meanwhile waits, the next gives up (a server that stopped answering),
            # and a database that stays locked is not waited for long (as for SIGTERM).
            ending = interrupt
            status, error = "killed", "KeyboardInterrupt"
            stopping, main_writes.stopping = main_writes.stopping, True
            try:
                with (
                    contextlib.suppress(Exception, KeyboardInterrupt),
                    interrupts_held(yield_on_second=True),
                ):
                    self.buffer.stop(timeout=LAST_WRITE_WAIT_S)
                    self.flush()
            finally:
                main_writes.stopping = stopping
            raise
        finally:
            # The status is written whatever else happens: a Ctrl-C meanwhile waits, a
            # second one gives up; after a Ctrl-C already, the next one gives up.
            if isinstance(ending, KeyboardInterrupt):
                holding: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
            else:
                holding = interrupts_held(yield_on_second=True)
            try:
                with holding:
                    now = utc_now()
                    if held:
                        self._update_run(heartbeat_at=now)
                    else:
                        self._update_run(status=status, end_time=now, heartbeat_at=now, error=error)
            except (DatabaseUnreachableError, KeyboardInterrupt):
                if ending is None:
                    raise  # else what is raised already says why the program ends
            finally:
                if self.held.run_id is None:  # else the process's end still ends that one
                    hooks.run_ended(self)

    def _update_run(self, **values: Any) -> None:
        write(self.engine, partial(writes.update_run, run_id=self._current_run_id, values=values))

    # -- writing -------------------------------------------------------------------------

    def flush(self) -> None:
        """Write the buffered points and runtime fingerprints now, in one transaction."""
        # Marked from before the buffer is copied: a SIGTERM handler that flushed in
        # between would write the copied points, and this flush would write them again.
        with main_writes.marked():
            self.buffer.flush()

    def _write_batch(self, batch: Batch) -> None:
        run_id = self._current_run_id

        def body(connection: Any) -> None:
            if batch.points:
                writes.insert_points(connection, batch.points)
            if batch.calls:
                writes.insert_runtime_calls(connection, run_id, batch.calls)
            if batch.beat and self._active:
                writes.beat(connection, run_id)
            if batch.beat:
                self.held.beat(connection)

        write(self.engine, body, after_commit=batch.taken)

    # -- the process's events (see ato.tracking.process) -----------------------------------

    def end_run_on_signal(self, signum: int) -> None:
        """Finish the open run as 'killed': the process is going down (SIGTERM, SIGHUP)."""
        said = f"terminated by {signal.Signals(signum).name}"
        if self._active:
            self._legacy.settle(commit=False)
            self.finish("killed", error=said)
        self.held.mark("killed", said)

    def _background_trouble(self, error: BaseException | None) -> None:
        interval = self.buffer.flush_interval
        say_background_trouble(self._current_run_id, self.db_path, interval, error)

    def note_signal(self, signum: int) -> None:
        """A signal the program handles itself: write what is buffered (the handler may
        end the process) and end the run as 'killed' when it ends."""
        self.held.mark("killed", f"terminated by {signal.Signals(signum).name}", ended=False)
        if self._active:
            self._signalled = signum
            self.flush()
            # Marked now: a handler may end the process itself (SIG_DFL, then os.kill),
            # and the run must not read 'running' or 'crashed' then. It stays open.
            name = signal.Signals(signum).name
            self._update_run(
                status="killed",
                error=f"terminated by {name}; the program's own handler ran",
            )

    def end_run_at_exit(self, error: BaseException | None) -> None:
        """Finish the open run with the status of the program's end (``error``)."""
        if os.getpid() != self._pid:
            return
        try:
            self.held.mark(*ending(error))
            if not self._active:
                return
            self._legacy.settle(commit=False)
            self.finish(*ending(error))
        except Exception as failure:  # too late to raise: say so, in one line
            print(
                f"ato: run {self._current_run_id} in {self.db_path} could not be finished "
                f"at exit ({type(failure).__name__}: {str(failure).splitlines()[0]}).",
                file=sys.stderr,
            )

    def after_fork_in_child(self) -> None:
        """The parent's run, buffer, thread and connections are the parent's: drop them
        without closing (closing would end the parent's sessions)."""
        if self._active:
            self._inherited_from = self._pid
        self._pid = os.getpid()
        self._active = False
        self.held = HeldRun(self)  # the parent's search ends it, not a signal to the child
        self.buffer.reset()
        self._step_lock = threading.Lock()
        self.engine.dispose(close=False)
        self._legacy.after_fork_in_child()

"""A search's state in the tracker's database, so that a killed search resumes.

Two tables of the tracker's schema (:mod:`ato.tracking.schema`, added by migration 5):

- ``hpo_searches``: one row per search, keyed by its id, a hash of everything that makes
  it the same search (:mod:`ato.hyperopt.identity`); started again unchanged, a search
  finds its row. Its ``arguments`` also hold ``mode`` and ``total_trials``, for readers.
- ``hpo_trials``: one row per finished trial (bracket, rung, index in the rung's order),
  with its metric (NULL for NaN), status, traceback and the run that tracked it.

A trial's row is written once it has finished, in its own transaction; a trial killed
half way has no row and runs again.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import math
import os
import signal
import socket
import sys
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import (
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from ato.errors import AtoWarning
from ato.hyperopt.errors import SearchSettingsError
from ato.hyperopt.outcomes import interrupted
from ato.message_text import LONG_INT_BITS, first_line, long_int, repr_of, shown
from ato.tracking.database import retried
from ato.tracking.pids import pid_namespace
from ato.tracking.process import hooks, main_writes
from ato.tracking.schema import Base, utc_now

__all__ = ["SearchStore", "StoredTrial", "warn_not_resumed"]

log = logging.getLogger(__name__)
_T = TypeVar("_T")
searches = Base.metadata.tables["hpo_searches"]
trials = Base.metadata.tables["hpo_trials"]


@dataclass(frozen=True)
class StoredTrial:
    """A finished trial as stored: its metric (NaN for a NaN or a failure) and status."""

    bracket: int
    rung: int
    trial: int
    metric: float
    status: str
    error: str | None
    run_id: int | None


class SearchStore:
    """The rows of one search, read and written through ``engine``."""

    def __init__(self, engine: Engine, search_id: str, *, owner: bool = True) -> None:
        """``owner``: this process runs the search (rank 0 of a distributed one, which
        decides); another rank's trials only say the search is alive."""
        self.engine, self.search_id, self.owner = engine, search_id, owner
        self._since: _dt.datetime | None = None  # when this process first wrote the row
        self.completed = False  # the search had completed when this process opened it
        self.created = False  # this process wrote the search's row: it is a new search
        self.signalled: int | None = None  # a SIGTERM or SIGHUP the program's handler took
        self._ending: Any = None  # a SearchEnding while signals are watched

    def watch_signals(self) -> None:
        """Until :meth:`unwatch_signals`, a SIGTERM or SIGHUP marks the search 'killed'
        (before this process writes its row: a no-op, as for a row another one runs)."""
        from ato.hyperopt.signals import SearchEnding

        self._ending = SearchEnding(self)
        hooks.run_starting(self._ending)

    def unwatch_signals(self) -> None:
        if self._ending is not None:
            hooks.run_ended(self._ending)
            self._ending = None

    def open(self, project: str | None, algorithm: str, arguments: Mapping[str, Any]) -> None:
        """Record the search, unless a process started it before (this or another rank)."""

        def write() -> None:
            with self.engine.begin() as connection:
                # Read, judged and claimed in one transaction (SQLite's write lock, the
                # row's lock on a server): two processes started at once both claimed
                # it when the judging came before.
                found = connection.execute(
                    select(searches.c.status)
                    .where(searches.c.id == self.search_id)
                    .with_for_update()
                ).first()
                if found is not None and found.status == "running":
                    self._refuse_if_running_elsewhere(connection)
                self.completed = found is not None and found.status == "completed"
                self.created = found is None
                if found is None:
                    connection.execute(
                        insert(searches).values(
                            id=self.search_id,
                            project=project,
                            algorithm=algorithm,
                            arguments=dict(arguments),
                            status="running",
                            created_at=utc_now(),
                            **self._this_process(),
                        )
                    )
                else:  # resumed: running again, in this process, unless it had finished
                    connection.execute(
                        update(searches)
                        .where(searches.c.id == self.search_id, searches.c.status != "completed")
                        .values(
                            status="running", result=None, finished_at=None, **self._this_process()
                        )
                    )

        try:
            _held(self.engine, write)
        except IntegrityError:  # another process inserted it meanwhile: judged now
            _held(self.engine, write)

    def check_shared(self) -> None:
        """On a rank but 0: refuse a database that lacks the search rank 0 opened (called
        once it has). The ranks track to different databases: this rank's trials would
        be stored where a resumed search does not find them."""
        if self.owner:
            return

        def read() -> bool:
            with self.engine.connect() as connection:
                found = connection.execute(
                    select(searches.c.id).where(searches.c.id == self.search_id)
                ).first()
                return found is not None

        if not _held(self.engine, read):
            raise SearchSettingsError(
                f"This rank's tracker database ({self.engine.url.render_as_string()}) does "
                f"not hold search {self.search_id[:12]}, which rank 0 opened in its own: "
                f"the ranks track to different databases (different URLs, or a relative "
                f"SQLite path on several machines), and this rank's trials would be stored "
                f"where a resumed search does not look. Give every rank the same database: "
                f"a PostgreSQL server, or an SQLite file on a filesystem every rank shares."
            )

    def unfinished_other(self, project: str | None, algorithm: str) -> dict[str, Any] | None:
        """The latest other search of ``project`` and ``algorithm`` that stopped before
        its end with trials done, as ``{'id', 'arguments', 'trials'}``: the one a changed
        search started again does not resume."""
        from ato.tracking.searches import live_owner

        def read() -> dict[str, Any] | None:
            # The writer's engine takes the write lock for a read too: retried while
            # another process writes (a training run logging its metrics).
            with self.engine.connect() as connection:
                rows = connection.execute(
                    select(searches.c.id, searches.c.arguments)
                    .where(
                        searches.c.id != self.search_id,
                        searches.c.project == project,
                        searches.c.algorithm == algorithm,
                        searches.c.status != "completed",
                    )
                    .order_by(searches.c.created_at.desc())
                    .limit(20)  # the latest: an older one is unlikely to be the one meant
                ).all()
                counts: dict[str, int] = dict(
                    connection.execute(
                        select(trials.c.search_id, func.count())
                        .where(trials.c.search_id.in_([row.id for row in rows]))
                        .group_by(trials.c.search_id)
                    ).all()
                )
                for row in rows:
                    done = counts.get(row.id)
                    if done and live_owner(self.engine, row.id, connection=connection) is None:
                        arguments = row.arguments if isinstance(row.arguments, dict) else {}
                        return {"id": row.id, "arguments": arguments, "trials": done}
            return None

        return _held(self.engine, read)

    def _refuse_if_running_elsewhere(self, connection: Connection) -> None:
        """Two processes running one search would each run all of its trials, and store
        results the other did not choose from."""
        from ato.errors import SearchRunningError
        from ato.tracking.searches import live_owner

        owner = live_owner(self.engine, self.search_id, connection=connection)
        if owner is None:
            return
        here = owner["host"] == socket.gethostname() and owner["pid"] == os.getpid()
        if here:
            return
        beat = owner["heartbeat_at"]
        age = (
            ""
            if beat is None
            else f", last heard from {(utc_now() - beat).total_seconds():.0f} s ago"
        )
        raise SearchRunningError(
            f"Search {self.search_id[:12]} is running already, in process {owner['pid']} on "
            f"{owner['host']!r}{age}: two processes running it would each train every "
            f"trial. Let that one finish (or stop it); started again afterwards, the search "
            f"resumes where it stopped. A process lost on another machine counts as gone "
            f"30 s after its last sign of life."
        )

    def _this_process(self) -> dict[str, Any]:
        """The columns that name this process as the one running the search, now."""
        now = utc_now()
        if self._since is None:
            self._since = now
        return {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "pid_namespace": pid_namespace(),
            "process_since": self._since,
            "heartbeat_at": now,
        }

    def finished_trials(self) -> dict[tuple[int, int, int], StoredTrial]:
        """Every stored trial of this search, by ``(bracket, rung, trial)``."""

        def read() -> list[Any]:  # retried: the writer's engine locks for a read too
            with self.engine.connect() as connection:
                return list(
                    connection.execute(
                        select(trials).where(trials.c.search_id == self.search_id)
                    ).all()
                )

        rows = _held(self.engine, read)
        found = {}
        for row in rows:
            metric = math.nan if row.metric is None else float(row.metric)
            found[(row.bracket, row.rung, row.trial)] = StoredTrial(
                row.bracket, row.rung, row.trial, metric, row.status, row.error, row.run_id
            )
        return found

    def record_trial(
        self,
        position: tuple[int, int, int],
        params: Mapping[str, Any],
        budget: float | None,
        metric: float,
        error: str | None,
        run_id: int | None,
    ) -> None:
        bracket, rung, trial = position
        values = {
            "search_id": self.search_id,
            "bracket": bracket,
            "rung": rung,
            "trial": trial,
            "params": {key: _plain(value) for key, value in params.items()},
            "budget": budget,
            "metric": metric if math.isfinite(metric) or math.isinf(metric) else None,
            "status": "failed" if error is not None else "completed",
            "error": error,
            "run_id": run_id,
            "finished_at": utc_now(),
        }

        def write() -> None:
            with self.engine.begin() as connection:
                # A failed trial is run again by a search with on_error='raise' (it
                # stopped there): its new outcome takes the old one's place.
                connection.execute(
                    delete(trials).where(
                        trials.c.search_id == self.search_id,
                        trials.c.bracket == bracket,
                        trials.c.rung == rung,
                        trials.c.trial == trial,
                        trials.c.status == "failed",
                    )
                )
                connection.execute(insert(trials).values(**values))
                if not self.owner:  # a sign of life; rank 0 stays the search's process
                    connection.execute(
                        update(searches)
                        .where(searches.c.id == self.search_id, searches.c.status == "running")
                        .values(heartbeat_at=utc_now())
                    )
                    return
                # The search runs here now: one that another process of it marked
                # killed or failed runs on.
                connection.execute(
                    update(searches)
                    .where(searches.c.id == self.search_id, searches.c.status != "completed")
                    .values(status="running", result=None, finished_at=None, **self._this_process())
                )

        with contextlib.suppress(IntegrityError):  # already recorded by another rank
            _held(self.engine, write)

    def close(self, result: Mapping[str, Any]) -> None:
        def write() -> None:
            with self.engine.begin() as connection:
                connection.execute(
                    update(searches)
                    .where(searches.c.id == self.search_id)
                    .values(status="completed", result=dict(result), finished_at=utc_now())
                )

        _held(self.engine, write)

    def stop(self, error: BaseException) -> None:
        """The search ended before its last trial: 'killed' by Ctrl-C (on any rank) or
        after a SIGTERM the program's own handler took, else 'failed' (its first line
        kept; the trial's run has the traceback). Never raises: the error that stopped
        the search is the one to see."""
        killed, reason = interrupted(error), first_line(error)
        if self.signalled is not None and not killed:
            killed = True
            name = signal.Signals(self.signalled).name
            reason = f"terminated by {name}; the program's own handler ran, then: {reason}"
        self.mark_stopped("killed" if killed else "failed", reason)

    def mark_stopped(self, status: str, reason: str) -> None:
        """Mark the search ``status`` ('killed' or 'failed') for ``reason``, if this
        process runs it. Never raises (see :meth:`stop`)."""
        if not self.owner:
            return
        me = self._this_process()

        def write() -> None:
            with self.engine.begin() as connection:
                connection.execute(  # not a finished search, nor one another process runs
                    update(searches)
                    .where(
                        searches.c.id == self.search_id,
                        searches.c.status != "completed",
                        searches.c.host == me["host"],
                        searches.c.pid == me["pid"],
                        searches.c.pid_namespace == me["pid_namespace"],
                    )
                    .values(status=status, result={"error": reason}, finished_at=utc_now())
                )

        try:
            _held(self.engine, write)
        except Exception as failure:  # e.g. the database is what failed
            log.warning("Could not mark search %s as %s: %s", self.search_id, status, failure)


def _held(engine: Engine, action: Callable[[], _T]) -> _T:
    """A read or write of the search's rows (the writer's engine locks for a read too):
    a SIGTERM that lands meanwhile in the main thread waits for its end (its handler
    writes the row, and would wait on this lock)."""
    with main_writes.marked():
        return retried(engine, action)


def _plain(value: Any) -> Any:
    """A searched value as JSON can hold it, for people to read (resuming never reads it
    back): exact where JSON allows, else as it prints."""
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and value.bit_length() > LONG_INT_BITS
    ):
        return long_int(value)  # Python writes no int past 4,300 digits, nor JSON then
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    return repr_of(value)


def warn_not_resumed(other: Mapping[str, Any], described: Mapping[str, Any]) -> None:
    """Warn that a new search does not resume ``other`` (see
    :meth:`SearchStore.unfinished_other`), saying how the two differ."""
    warnings.warn(_not_resumed(other, described), AtoWarning, stacklevel=_outside())


#: What each part of a search's identity is, in a warning (see search_identity).
_PART_NAMES = {
    "algorithm": "algorithm",
    "arguments": "arguments",
    "space": "search space",
    "mode": "mode",
    "scope": "scope",
    "assigned": "views named on the command line",
    "views": "views' code",
    "config": "config the trials start from",
    "types": "config the trials start from",
    "code": "trial code",
    "carried": "values the trial code carries",
    "called with": "arguments the trial function was called with",
}


def _not_resumed(other: Mapping[str, Any], described: Mapping[str, Any]) -> str:
    """Why a new search does not resume ``other``, an unfinished one of its project."""
    before = other["arguments"]
    changes = [
        f"{key} {shown(before.get(key))} → {shown(described.get(key))}"
        for key in sorted(set(before) | set(described), key=str)
        if key not in ("total_trials", "parts") and before.get(key) != described.get(key)
    ]
    old, new = before.get("parts"), described.get("parts") or {}
    parts = list(dict.fromkeys(  # 'config' and 'types' name one part
        _PART_NAMES.get(name, name)
        for name in sorted(set(old) | set(new))
        if old.get(name) != new.get(name)
    )) if isinstance(old, dict) else []  # fmt: skip
    if changes:
        how = f"differs in {', '.join(changes)}"
    elif parts:
        listed = f"{', '.join(parts[:-1])} and {parts[-1]}" if parts[1:] else parts[0]
        how = f"has the same arguments but another {listed}"
    else:  # stored by an ato that kept no digests of its parts
        how = (
            "has the same arguments: its code, search space, views or the arguments "
            "the trial function was called with differ"
        )
    total = before.get("total_trials")
    done = f"{other['trials']} of {total}" if total else str(other["trials"])
    return (
        f"Search {other['id'][:12]} of this project stopped unfinished ({done} trials "
        f"done); this one {how}, so it starts anew instead of resuming it. To resume that "
        f"search, start it as it was."
    )


def _outside() -> int:
    """The ``stacklevel`` of the caller's first frame outside ato: a warning names the
    line of the program that started the search."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    frame: Any = sys._getframe(1)
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(root):
        frame, level = frame.f_back, level + 1
    return level

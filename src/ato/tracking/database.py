"""Opening a tracker database: engines set up for many writers, and retries.

SQLite is used the way that survives many processes and hard kills: WAL journal (set by
``migrations.migrate``; readers never block the writer, a killed writer loses only its
open transaction),
``synchronous=NORMAL`` (a commit survives a process crash; only a power cut can lose the
last commits), a long busy timeout, and every write transaction started with ``BEGIN
IMMEDIATE`` so that two writers queue for the lock instead of both reading and then
failing to upgrade (SQLite answers that with an immediate "database is locked", whatever
the timeout). What still comes back busy is retried with backoff: :func:`write` runs
every write of the tracker that way (begin, retry while busy, commit).
"""

from __future__ import annotations

import difflib
import os
import random
import sqlite3
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session

from ato.errors import DatabaseUnreachableError, TrackerDatabaseError
from ato.tracking.process import interrupts_held, main_writes
from ato.tracking.secrets import masked_url
from ato.tracking.settings import CONFIG_URL, Origin
from ato.tracking.sqlite_files import (
    check_sqlite_file,
    check_sqlite_folder,
    check_uri,
    in_memory,
    read_only_connection,
    refuse_forked_sqlite,
    sqlite_file,
)

__all__ = [
    "BUSY_TIMEOUT_S",
    "RECOVER",
    "connect_or_refuse",
    "is_busy",
    "is_damaged",
    "is_sqlite",
    "not_a_database",
    "open_engine",
    "retried",
    "retry",
    "write",
    "write_after_reading",
    "wrote_in_session",
]

BUSY_TIMEOUT_S = 60.0
WRITER_BUSY_TIMEOUT_S = 0.02
_T = TypeVar("_T")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


# The backends the tracker is tested on, for "did you mean".
#: libpq settings for a server that stops answering (see open_engine).
_LIBPQ_PATIENCE = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}

#: The environment variables libpq reads for them: the user's setting wins.
_LIBPQ_VARIABLES = {"connect_timeout": "PGCONNECT_TIMEOUT"}

_KNOWN_SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg", "postgresql+psycopg2")


def _unknown_scheme(
    url: str, scheme: str, error: BaseException, origin: Origin
) -> TrackerDatabaseError:
    close = difflib.get_close_matches(scheme, _KNOWN_SCHEMES, n=1, cutoff=0.6)
    hint = f"Did you mean {close[0]!r}? " if close else ""
    return TrackerDatabaseError(
        f"{origin.given(url)} has the scheme {scheme!r}, which no "
        f"installed SQLAlchemy dialect knows ({error}). {hint}The tracker stores runs in "
        f"SQLite ('sqlite:///experiments.db') or PostgreSQL "
        f"('postgresql+psycopg://user@host/db')."
    )


def connect_or_refuse(engine: Engine, url: str, origin: Origin = CONFIG_URL) -> None:
    """Connect once, turning what stops a connection (a server that does not answer, a
    file SQLite cannot open) into a :class:`TrackerDatabaseError` that says what to do.
    An SQLite file another process holds locked (migrating it, writing) is waited for,
    as a write waits (see :func:`retry`)."""

    def connect() -> None:
        with engine.connect():
            pass

    try:
        if is_sqlite(engine):
            retry(connect)
        else:
            connect()
    except DBAPIError as error:
        engine.dispose()
        refusal = not_a_database(error, url, origin) or _cannot_connect(error, url, origin)
        raise refusal from None


def _cannot_connect(error: DBAPIError, url: str, origin: Origin) -> TrackerDatabaseError:
    reason = str(getattr(error, "orig", error)).strip().splitlines()
    first = reason[0] if reason else type(error).__name__
    shown = origin.given(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if is_busy(error):
            return TrackerDatabaseError(
                f"The tracker database {shown} stayed locked for as long as opening it "
                f"waited ({first}): another process holds it (migrating it, a long "
                f"transaction, an open sqlite3 shell, a writer stopped with SIGSTOP). End "
                f"it and start again; for many writers at once, log to PostgreSQL."
            )
        if is_damaged(first):
            return TrackerDatabaseError(
                f"The tracker database {shown} is damaged ({first}). {RECOVER}; or "
                f"{origin.instead()}."
            )
        return TrackerDatabaseError(
            f"SQLite cannot open the tracker database {shown} ({first}). Check that "
            f"the path names a file in a folder you can write, or {origin.instead()}."
        )
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    return TrackerDatabaseError(
        f"Cannot connect to the tracker database {shown} at {where} ({first}). "
        f"Check that the server is running and accepts connections there, and "
        f"the user, password and database name; or log to an SQLite file."
    )


RECOVER = (
    "Recover what it holds with 'sqlite3 FILE .recover | sqlite3 RECOVERED.db', or "
    "restore it from a backup"
)


def is_damaged(said: str) -> bool:
    """Whether SQLite's message says the file is damaged (a torn or overwritten page)."""
    return "malformed" in said or "not a database" in said


def not_a_database(
    error: BaseException, url: str, origin: Origin = CONFIG_URL
) -> TrackerDatabaseError | None:
    """The error to raise when SQLite found that ``url`` is not a database file."""
    text = str(getattr(error, "orig", error))
    if "file is not a database" not in text and "file is encrypted" not in text:
        return None
    return TrackerDatabaseError(
        f"{origin.given(url)} is not an SQLite database ({text}). Nothing was changed; "
        f"{origin.instead()}."
    )


def open_engine(
    url: str, *, writer: bool, read_only: bool = False, origin: Origin = CONFIG_URL
) -> Engine:
    """An engine for ``url``. A writer's transactions take the write lock at BEGIN.

    ``read_only``: SQLite is opened with ``mode=ro`` (nothing is created, the file is
    never written, a read-only file works) and must exist; PostgreSQL sessions are
    read-only transactions.

    Refused: what is not an SQLAlchemy URL, a scheme no dialect knows, in-memory
    SQLite, a folder, a file in a folder that does not exist or is read-only (for a
    writer), and a file a parent process had open when it forked this one. Each error
    names the URL as ``origin`` says it was given.
    """
    if not isinstance(url, str) or not url:
        raise TrackerDatabaseError(
            f"{origin.given(url)}: a database must be an SQLAlchemy URL such as "
            f"'sqlite:///experiments.db'."
        )
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise TrackerDatabaseError(
            f"{origin.given(url)} is not an SQLAlchemy URL ({error}); write "
            f"'sqlite:///path/to/experiments.db' or 'postgresql+psycopg://user@host/db'."
        ) from None
    if parsed.get_backend_name() == "sqlite" and in_memory(parsed):
        raise TrackerDatabaseError(
            f"{origin.given(url)} is an in-memory SQLite database, which lives "
            f"in one connection and dies with it; the tracker writes from a background "
            f"thread and reads through other connections, and its runs are meant to "
            f"outlive the process. Use a file: 'sqlite:///experiments.db' (or one in a "
            f"temporary folder for throwaway runs)."
        )
    if parsed.get_backend_name() == "sqlite":
        check_uri(parsed, url, origin, read_only)
    path = sqlite_file(url)
    if path is not None:
        refuse_forked_sqlite(url)
        if read_only:
            check_sqlite_file(path, url, origin)
        else:
            check_sqlite_folder(path, url, origin)
    if parsed.get_backend_name() == "sqlite":
        # Writers: SQLite waits briefly, then ``retry`` takes over (see there); readers
        # never hold the write lock and simply wait.
        timeout = WRITER_BUSY_TIMEOUT_S if writer else BUSY_TIMEOUT_S
        if read_only and path is not None:
            engine = create_engine(
                "sqlite://", creator=lambda: read_only_connection(path, timeout, url, origin)
            )
        else:
            engine = create_engine(url, connect_args={"timeout": timeout})
        _prepare_sqlite(engine, writer=writer, timeout=timeout)
        return engine
    try:
        connect_args: dict[str, Any] = {}
        if parsed.get_backend_name() == "postgresql":
            # A server that stops answering (a dropped network) must not hang a program
            # for ever: connecting gives up, and a silent connection is found dead, within
            # about a minute. A URL's own settings win.
            connect_args = {
                name: value
                for name, value in _LIBPQ_PATIENCE.items()
                if name not in parsed.query and not os.environ.get(_LIBPQ_VARIABLES.get(name, ""))
            }
            if "service" in parsed.query or os.environ.get("PGSERVICE"):
                connect_args = {}  # a service file says how to connect
        if read_only and parsed.get_backend_name() == "postgresql":
            connect_args["options"] = "-c default_transaction_read_only=on"
        engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args)
        if parsed.get_backend_name() == "postgresql":
            _speak_utc(engine)
        return engine
    except NoSuchModuleError as error:
        raise _unknown_scheme(url, parsed.drivername, error, origin) from None
    except ImportError as error:  # a dialect SQLAlchemy knows, its driver unusable
        if isinstance(error, ModuleNotFoundError) and error.name:
            problem = f"needs the driver module {error.name!r}, which is not installed here"
        else:  # installed, but it failed to import (psycopg without libpq, say)
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            problem = f"has a driver ({parsed.drivername}) that failed to import: {first}"
        raise TrackerDatabaseError(
            f"{origin.given(url)} {problem}. The tracker stores runs in SQLite "
            f"('sqlite:///experiments.db') or PostgreSQL through psycopg "
            f"('postgresql+psycopg://user@host/db', after pip install 'ato[postgres]')."
        ) from None


def _speak_utc(engine: Engine) -> None:
    """Every session in UTC, whatever zone the server is set to: the tables 2.x made
    (``timestamp`` without a zone) then hold UTC wall time, and a zone-less time copied
    from SQLite into a ``timestamptz`` is read as the UTC it is."""

    @event.listens_for(engine, "connect")
    def utc(dbapi_connection: Any, record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SET TIME ZONE 'UTC'")
        finally:
            cursor.close()
        dbapi_connection.commit()  # a SET rolled back with its transaction is undone


def _prepare_sqlite(engine: Engine, *, writer: bool, timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, record: Any) -> None:
        # Autocommit at the driver, so that SQLAlchemy's "begin" below decides how a
        # transaction starts (pysqlite would otherwise BEGIN DEFERRED on its own).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            # The journal mode is the file's, set once by ``migrations.migrate``.
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")
        connection.info[_SNAPSHOT] = not writer


_SNAPSHOT = "ato_read_snapshot"  # in Connection.info: a reader's transaction, not yet writing


def write_after_reading(session: Session) -> None:
    """Let ``session`` (on a reader engine) write after it has read.

    A reader's transaction starts with a plain BEGIN: a query left open in it never
    blocks the writers. But SQLite refuses to turn a read snapshot into a write once
    another connection has committed since it was taken (2.x code does exactly that:
    read a run, change it, commit, while the tracker flushes). So before the session's
    first write in a transaction, its read-only snapshot is ended (nothing was written
    in it) and a write transaction begun in its place, waiting its turn for the lock.
    """

    def upgrade() -> None:
        # Inside a savepoint the outer transaction cannot be ended; it stays as it is.
        if session.in_nested_transaction():
            return
        connection = session.connection()
        if connection.dialect.name == "sqlite" and connection.info.get(_SNAPSHOT):
            connection.exec_driver_sql("COMMIT")
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            connection.info[_SNAPSHOT] = False

    @event.listens_for(session, "before_flush")
    def before_flush(session: Session, context: Any, instances: Any) -> None:
        upgrade()

    @event.listens_for(session, "do_orm_execute")
    def before_statement(state: Any) -> None:
        if state.is_insert or state.is_update or state.is_delete:
            upgrade()
            session.info[_WROTE] = True

    @event.listens_for(session, "after_flush")
    def after_flush(session: Session, context: Any) -> None:
        session.info[_WROTE] = True

    @event.listens_for(session, "after_transaction_end")
    def after_end(session: Session, transaction: Any) -> None:
        if transaction.parent is None:
            session.info.pop(_WROTE, None)


_WROTE = "ato_wrote"  # in Session.info: the open transaction has written


def wrote_in_session(session: Session) -> bool:
    """Whether ``session``'s open transaction has written (see write_after_reading)."""
    return bool(session.info.get(_WROTE))


# SQLite's result codes for "try again": SQLITE_BUSY and SQLITE_LOCKED (whose extended
# codes, e.g. SQLITE_BUSY_SNAPSHOT or SQLITE_LOCKED_SHAREDCACHE, keep them in the low byte).
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_IOERR, _SQLITE_FULL = 5, 6, 10, 13
# How long a write waits for another process's lock once SIGTERM or SIGHUP has come: a
# supervisor (docker stop, SLURM) sends SIGKILL after 10 s or more.
STOPPING_WAIT_S = 3.0


def is_busy(error: BaseException) -> bool:
    """Whether ``error`` (raised by SQLAlchemy or sqlite3) is SQLite saying that the
    database is busy or locked, i.e. that the transaction may succeed if run again."""

    original = getattr(error, "orig", error)
    if not isinstance(original, sqlite3.Error):
        return False
    code = getattr(original, "sqlite_errorcode", None)  # Python >= 3.11
    if code is not None:
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    text = str(original).lower()
    return "locked" in text or "busy" in text


def retry(action: Callable[[], _T], deadline_s: float | None = None) -> _T:
    """Run ``action`` (a whole transaction); while SQLite reports the database busy or
    locked, run it again after a short random pause, for up to ``deadline_s``.

    Writers wait here rather than in SQLite's busy handler, whose sleeps grow to 100 ms:
    with eight processes taking turns, that left the lock idle more than it was held.
    """

    start = time.monotonic()
    give_up = start + (BUSY_TIMEOUT_S if deadline_s is None else deadline_s)
    while True:
        try:
            return action()
        except (OperationalError, sqlite3.OperationalError) as error:
            now = time.monotonic()
            if not is_busy(error) or now > give_up:
                raise
            if main_writes.stopping and now > start + STOPPING_WAIT_S:
                raise  # the process is being stopped: end soon rather than wait the lock
        time.sleep(0.0005 + 0.002 * random.random())


def write(
    engine: Engine,
    body: Callable[[Connection], _T],
    *,
    after_commit: Callable[[], None] | None = None,
) -> _T:
    """``body(connection)`` in one write transaction: begin, run it again from the start
    while the database is busy (see :func:`retry`), commit; return what ``body`` returned.

    ``after_commit`` runs together with the commit, a Ctrl-C held back in between (the
    buffer forgets the points a commit wrote: neither may happen without the other). A
    SIGTERM that lands meanwhile in the main thread waits for the end (see
    :data:`~ato.tracking.process.main_writes`).
    """

    def attempt() -> _T:
        with engine.connect() as connection:
            transaction = connection.begin()
            result = body(connection)
            if after_commit is None:
                transaction.commit()
            else:
                with interrupts_held():
                    transaction.commit()
                    after_commit()
            return result

    with main_writes.marked():
        return retried(engine, attempt)


def retried(engine: Engine, action: Callable[[], _T]) -> _T:
    """:func:`retry` of ``action``, a write transaction of ``engine``'s, with the
    failures a user can act on said in words (see :func:`write`)."""
    try:
        return retry(action)
    except (DBAPIError, sqlite3.Error) as error:
        translated = _write_failure(engine, error)
        if translated is None:
            raise
        raise translated from error


def _connection_lost(error: BaseException) -> bool:
    """A server's connection lost, or refused: SQLSTATE class 08 (connection exception),
    57P (shut down, crashed, starting), or none at all (the socket closed under it). Not
    a statement the server cancelled (a lock timeout), which it says in words of its own."""
    if not isinstance(error, OperationalError):
        return False
    if getattr(error, "connection_invalidated", False):
        return True
    state = getattr(getattr(error, "orig", None), "sqlstate", None)
    return state is None or str(state).startswith(("08", "57P"))


def _write_failure(engine: Engine, error: BaseException) -> TrackerDatabaseError | None:
    """What a failed write means, in words, for the failures a user can act on: a lock
    never released, a full disk, a disk that fails."""

    original = getattr(error, "orig", error)
    if not isinstance(original, sqlite3.Error):
        if _connection_lost(error):  # a server: gone, shutting down, unreachable
            said = (str(original).strip().splitlines() or [type(original).__name__])[0]
            return DatabaseUnreachableError(
                f"Lost the tracker database {masked_url(str(engine.url))!r} ({said}): check "
                f"that its server runs and can be reached. What was committed is kept, "
                f"points not yet written stay in memory, and a search started again "
                f"resumes.",
                reason=said,
            )
        return None
    where = masked_url(str(engine.url))
    said = str(original)
    if is_busy(error):
        return TrackerDatabaseError(
            f"The database {where!r} stayed locked for as long as this write waited ({said}): "
            f"another process holds its write lock (a long transaction, an open sqlite3 "
            f"shell, a writer stopped with SIGSTOP). End it; for many writers at once, "
            f"log to PostgreSQL. Points not yet written stay in memory."
        )
    code = getattr(original, "sqlite_errorcode", None)
    if (code is not None and code & 0xFF == _SQLITE_FULL) or "disk is full" in said:
        return TrackerDatabaseError(
            f"The disk holding {where!r} is full ({said}). Free space there: the points "
            f"not yet written stay in memory, and the next flush writes them."
        )
    if (code is not None and code & 0xFF == _SQLITE_IOERR) or "disk I/O error" in said:
        return TrackerDatabaseError(
            f"{where!r} could not be written ({said}): the disk or file system failed. "
            f"Check the disk (and that the file is on a local disk, not a network share); "
            f"the points not yet written stay in memory."
        )
    return None

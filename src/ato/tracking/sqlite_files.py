"""The SQLite file a tracker URL names, and whether this process may open it: a URI
filename's options, a folder SQLite cannot write its journal in, a file inherited across
a fork, a read-only folder where a WAL database is read as immutable."""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.util import asbool

from ato.errors import TrackerDatabaseError
from ato.tracking.process import hooks
from ato.tracking.secrets import masked_url
from ato.tracking.settings import Origin

__all__ = [
    "check_sqlite_file",
    "check_sqlite_folder",
    "check_uri",
    "in_memory",
    "read_only_connection",
    "refuse_forked_sqlite",
    "sqlite_file",
]


def sqlite_file(url: str) -> str | None:
    """The file an SQLite URL names, as an absolute real path (None for other URLs)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None  # a URI filename; sqlite3 itself will judge it
    return os.path.realpath(database)


def refuse_forked_sqlite(url: str) -> None:
    """Raise when this process was forked from one whose logger had ``url``'s SQLite file
    open (however the path is spelled): SQLite's locks do not survive a fork."""
    file = sqlite_file(url)
    if file is not None and file in hooks.forked_files:
        raise TrackerDatabaseError(
            f"This process was forked from one that had the SQLite database "
            f"{masked_url(url)!r} open, and SQLite's locks do not survive a fork: using "
            f"the file here could hang or corrupt it. Log from child processes started with "
            f"multiprocessing.get_context('spawn') (or 'forkserver'), or log to PostgreSQL."
        )


def _uri_options(parsed: Any) -> tuple[str | None, dict[str, str]]:
    """For an SQLite URI filename (``sqlite:///file:runs.db?mode=ro&uri=true``): the file
    it names and its options; ``(None, {})`` for a plain path."""
    database = parsed.database or ""
    options = {str(k): str(v) for k, v in dict(parsed.query).items()}
    # Without uri=true, SQLAlchemy hands SQLite "file:..." as a plain file name.
    if not database.startswith("file:") or not _uri_mode(options.get("uri")):
        return None, {}
    location, _, inline = database[len("file:") :].partition("?")
    for pair in filter(None, inline.split("&")):
        name, _, value = pair.partition("=")
        options.setdefault(name, value)
    path = urllib.parse.unquote(location)
    if path.startswith("//"):  # file://host/path: SQLite takes only an empty host
        path = "/" + path[2:].partition("/")[2]
    return path, options


def _true(option: str) -> bool:
    """An SQLite URI boolean as SQLite reads it (``sqlite3_uri_boolean``): yes, true, on or
    a number other than 0."""
    word = option.strip().lower()
    return word in ("yes", "true", "on") or (word.isdigit() and int(word) != 0)


def _uri_mode(option: str | None) -> bool:
    """``uri=`` as SQLAlchemy's pysqlite dialect reads it (``asbool``)."""
    try:
        return bool(asbool(option))
    except ValueError:  # a word asbool does not know: the dialect refuses the URL itself
        return False


def check_uri(parsed: Any, url: str, origin: Origin, read_only: bool) -> None:
    """An SQLite URI filename that opens the file read-only is refused for a writer
    (each write would fail, the first after a run or a search had started); one that
    opens it immutable is refused for a reader while a -wal file holds writes not yet
    merged (SQLite would silently not see them)."""
    path, options = _uri_options(parsed)
    if path is None:
        return
    immutable = _true(options.get("immutable", ""))
    said = [f"mode={options['mode']}"] if options.get("mode", "").lower() == "ro" else []
    if immutable:
        said.append(f"immutable={options['immutable']}")
    if said and not read_only:
        raise TrackerDatabaseError(
            f"{origin.given(url)} opens the SQLite file read-only ({said[0]}), and a "
            f"tracker writes: remove {said[0]} from the URL (SQLFinder and 'ato' read "
            f"without writing anyway)."
        )
    wal = path + "-wal"
    if immutable and os.path.exists(wal) and os.path.getsize(wal) > 0:
        raise TrackerDatabaseError(
            f"{origin.given(url)} reads the file as immutable, but its -wal file holds "
            f"writes not yet merged into it, which SQLite would not see: remove "
            f"immutable={options['immutable']} from the URL."
        )


def in_memory(parsed: Any) -> bool:
    database = parsed.database or ""
    return (
        database in ("", ":memory:")
        or "mode=memory" in database
        or parsed.query.get("mode") == "memory"
    )


def check_sqlite_folder(path: str, url: str, origin: Origin) -> None:
    # Only stat() here: opening the database file (say, to read its header) and closing
    # it would drop every POSIX lock this process holds on it through SQLite, which is
    # how SQLite databases get corrupted. SQLite itself refuses a file that is not a
    # database on the first read (see ``not_a_database``).
    folder = os.path.dirname(os.path.abspath(path))
    shown = origin.given(url)
    if os.path.isdir(path):
        raise TrackerDatabaseError(
            f"{shown} names the folder {path!r}, not a database file. Name a file inside "
            f"it, e.g. 'sqlite:///{os.path.join(path, 'experiments.db')}'."
        )
    if not os.path.exists(path) and not os.path.isdir(folder):
        raise TrackerDatabaseError(
            f"Cannot create the tracker database {path!r} (from {shown}): the folder "
            f"{folder!r} does not exist. Create it, or {origin.instead()}."
        )
    # The journal files (-wal, -shm) are created beside the database at every open.
    if not os.access(folder, os.W_OK | os.X_OK):
        raise TrackerDatabaseError(
            f"Cannot write the tracker database {path!r} (from {shown}): the folder "
            f"{folder!r} is read-only, and SQLite creates its journal files (-wal, -shm) "
            f"beside the database. Make the folder writable or log elsewhere; to only "
            f"read runs there, use SQLFinder (it opens the file read-only)."
        )
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise TrackerDatabaseError(
            f"Cannot write the tracker database {path!r} (from {shown}): the file is "
            f"read-only. Make it writable (chmod u+w) or log elsewhere; to only read "
            f"runs there, use SQLFinder (it opens the file read-only)."
        )


def read_only_connection(path: str, timeout: float, url: str, origin: Origin) -> sqlite3.Connection:
    """``mode=ro``; in a folder this process cannot write, a WAL database cannot get its
    ``-shm`` index there, so it is read as immutable, which is exact when no ``-wal``
    file holds writes not yet merged into it (after its last writer closed)."""
    quoted = urllib.parse.quote(path)
    connection = sqlite3.connect(
        f"file:{quoted}?mode=ro", uri=True, timeout=timeout, check_same_thread=False
    )
    try:
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return connection
    except sqlite3.OperationalError:
        connection.close()
        if os.access(os.path.dirname(path) or ".", os.W_OK):
            raise
    wal = path + "-wal"
    if os.path.exists(wal) and os.path.getsize(wal) > 0:
        raise TrackerDatabaseError(
            f"{origin.given(url)} cannot be read here: its folder is read-only to this "
            f"process, and its -wal file holds writes not yet merged into it, which "
            f"SQLite can only read with an index file it would create in that folder. "
            f"Read it as a user who can write the folder, or copy the database with its "
            f"-wal file to a folder you can write."
        )
    return sqlite3.connect(
        f"file:{quoted}?mode=ro&immutable=1", uri=True, timeout=timeout, check_same_thread=False
    )


def check_sqlite_file(path: str, url: str, origin: Origin) -> None:
    """A reader opens what exists and creates nothing."""
    shown = origin.given(url)
    if os.path.isdir(path):
        raise TrackerDatabaseError(
            f"{path!r} (from {shown}) is a folder, not a tracker database. Name the "
            f"database file inside it, e.g. {os.path.join(path, 'experiments.db')!r}."
        )
    if not os.path.exists(path):
        raise TrackerDatabaseError(
            f"No tracker database at {path!r} (from {shown}); reading never creates one. "
            f"Check the path, or log a run there first."
        )

"""ato.tracking.database: busy errors told by SQLite's code, and the one write helper."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from ato.tracking.database import is_busy, open_engine, write


def sqlite_error(message, code):
    error = sqlite3.OperationalError(message)
    error.sqlite_errorcode = code
    return error


@pytest.mark.parametrize(
    ("code", "busy"),
    [
        (5, True),  # SQLITE_BUSY
        (6, True),  # SQLITE_LOCKED
        (517, True),  # SQLITE_BUSY_SNAPSHOT
        (262, True),  # SQLITE_LOCKED_SHAREDCACHE
        (1, False),  # SQLITE_ERROR
        (8, False),  # SQLITE_READONLY
        (26, False),  # SQLITE_NOTADB
    ],
)
def test_busy_is_told_by_the_error_code_not_the_message(code, busy):
    misleading = "database is locked" if not busy else "no such table: runs"
    error = sqlite_error(misleading, code)
    assert is_busy(error) is busy
    assert is_busy(OperationalError("SELECT 1", {}, error)) is busy


def test_a_real_lock_is_busy(tmp_path):
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        with pytest.raises(sqlite3.OperationalError) as raised:
            other.execute("BEGIN IMMEDIATE")
        assert is_busy(raised.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        other.close()


def test_errors_of_other_databases_are_never_busy():
    assert not is_busy(ValueError("database is busy"))
    assert not is_busy(OperationalError("SELECT 1", {}, RuntimeError("locked")))


@pytest.fixture
def engine(sqlite_url):
    engine = open_engine(sqlite_url, writer=True)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    yield engine
    engine.dispose()


def count(engine):
    with engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM t")).scalar()


def test_write_runs_the_whole_transaction_again_while_busy_and_then_commits(engine):
    attempts, committed = [], []

    def body(connection):
        connection.execute(text("INSERT INTO t VALUES (1)"))
        attempts.append(len(attempts))
        if len(attempts) < 3:
            raise sqlite_error("database is locked", 5)
        return "written"

    assert write(engine, body, after_commit=lambda: committed.append(count(engine))) == "written"
    assert attempts == [0, 1, 2] and committed == [1] and count(engine) == 1


def test_write_rolls_back_what_fails_and_never_says_it_committed(engine):
    committed = []

    def body(connection):
        connection.execute(text("INSERT INTO t VALUES (1)"))
        raise sqlite_error("no such column: y", 1)

    with pytest.raises(sqlite3.OperationalError, match="no such column"):
        write(engine, body, after_commit=lambda: committed.append(True))
    assert committed == [] and count(engine) == 0


def test_an_error_without_a_code_is_judged_by_its_message_as_on_python_3_10():
    assert is_busy(sqlite3.OperationalError("database is locked"))
    assert is_busy(sqlite3.OperationalError("database table is locked"))
    assert not is_busy(sqlite3.OperationalError("no such table: runs"))

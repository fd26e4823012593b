"""ato.tracking.database: busy errors told by SQLite's code, and the one write helper."""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from ato.errors import TrackerDatabaseError
from ato.tracking import SQLLogger
from ato.tracking.database import is_busy, open_engine, write
from tests.tracking.helpers import make_config


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


def _closed_port():
    with socket.socket() as probe:  # a port nothing listens on once this is closed
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _foreign_file(folder):
    path = folder / "theirs.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE projects (pid TEXT PRIMARY KEY, owner TEXT)")
    connection.execute("INSERT INTO projects VALUES ('p1', 'someone')")
    connection.commit()
    connection.close()
    return path


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder no one may write to: a read-only bind mount when running as root (root
    writes through any mode bits), else a folder without write permission."""
    folder = tmp_path / "locked"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    mounted = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot make a read-only folder as root here: {mounted.stderr!r}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], check=True)
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_read_only_folder_is_refused_saying_why(read_only_folder):
    url = f"sqlite:///{read_only_folder / 'experiments.db'}"
    with pytest.raises(TrackerDatabaseError, match="is read-only"):
        SQLLogger(make_config(url))
    assert list(read_only_folder.iterdir()) == []


@pytest.mark.parametrize(
    ("make_url", "fragment"),
    [
        (lambda tmp: f"sqlite:///{tmp / 'no' / 'such' / 'x.db'}", "does not exist. Create it"),
        (lambda tmp: f"sqlite:///{tmp}", "names the folder"),
        (lambda tmp: "mysql2://user@host/db", "scheme 'mysql2', which no installed"),
        (lambda tmp: "foo://somewhere", "scheme 'foo', which no installed"),
        (lambda tmp: "postgress://user@host/db", "Did you mean 'postgresql'?"),
        (
            lambda tmp: f"postgresql+psycopg://ato@127.0.0.1:{_closed_port()}/db",
            "Check that the server is running",
        ),
        (lambda tmp: f"sqlite:///{_foreign_file(tmp)}", "a table 'projects' that is not ato's"),
        (lambda tmp: "mysql://user@host/db", "needs the driver module 'MySQLdb', which is not"),
        (lambda tmp: "postgresql+pg8000://u@h/db", "needs the driver module 'pg8000', which"),
    ],
    ids=[
        "missing folder",
        "a folder",
        "mysql2",
        "foo",
        "misspelled",
        "postgres unreachable",
        "foreign sqlite",
        "mysql driver missing",
        "pg8000 missing",
    ],
)
def test_a_database_the_tracker_cannot_use_is_refused_saying_why_and_what_to_do(
    tmp_path, make_url, fragment
):
    url = make_url(tmp_path)
    before = {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()}
    with pytest.raises(TrackerDatabaseError, match=re.escape(fragment)):
        SQLLogger(make_config(url))
    after = {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()}
    assert after == before  # nothing changed, nothing created


def test_an_installed_driver_that_fails_to_import_is_told_apart_from_a_missing_one(
    tmp_path, monkeypatch
):
    package = tmp_path / "pg8000"
    package.mkdir()
    (package / "__init__.py").write_text(
        'raise ImportError("no pq wrapper available.\\nAttempts made:\\n- libpq not found")\n'
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(TrackerDatabaseError) as caught:
        SQLLogger(make_config("postgresql+pg8000://u@h/db"))
    message = str(caught.value)
    assert "(postgresql+pg8000) that failed to import: no pq wrapper available." in message
    assert "not installed" not in message and "Attempts made" not in message


@pytest.fixture
def tokyo_url(postgres_server):
    """A PostgreSQL database whose sessions default to Tokyo time (UTC+9), as a server
    set up in that zone gives."""
    from sqlalchemy import create_engine

    from tests.pg_server import new_database

    url = new_database(postgres_server.url, "ato_tokyo")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("ALTER DATABASE ato_tokyo SET timezone = 'Asia/Tokyo'"))
    engine.dispose()
    return url


def test_times_on_a_postgresql_server_in_another_zone_are_utc(tokyo_url, tmp_path, monkeypatch):
    import datetime as dt
    import sys

    from ato.hyperopt.hyperband import HyperBand
    from ato.tracking import SQLFinder
    from ato.tracking.merge import merge_databases
    from tests.tracking.test_searches import SPACES, _scope

    before = dt.datetime.now(dt.timezone.utc)
    logger = SQLLogger.open(tokyo_url, "vision")
    logger.run()
    logger.finish()
    monkeypatch.setattr(sys, "argv", ["train.py"])
    node = f"sqlite:///{tmp_path / 'node.db'}"  # a search on a node, merged in
    done = HyperBand(_scope("vision", node), SPACES, 0.5, 2, tracker=node).main(
        lambda config: 1.0
    )()
    merge_databases(tokyo_url, [node])
    after = dt.datetime.now(dt.timezone.utc)
    with SQLFinder(tokyo_url) as finder:
        run = finder.get_runs_in_project("vision")[0]
        search = finder.search(done.search_id)
    for moment in (run.start_time, run.end_time, search["created_at"], search["finished_at"]):
        assert before - dt.timedelta(seconds=5) <= moment <= after + dt.timedelta(seconds=5)


@pytest.mark.parametrize(
    ("message", "code", "fragment"),
    [
        ("database or disk is full", 13, "is full"),
        ("disk I/O error", 10, "could not be written"),
    ],
)
def test_a_full_or_failing_disk_is_a_tracker_error_naming_the_file(engine, message, code, fragment):
    from ato.errors import TrackerDatabaseError

    def body(connection):
        raise sqlite_error(message, code)

    with pytest.raises(TrackerDatabaseError) as raised:
        write(engine, body)
    text_ = str(raised.value)
    assert fragment in text_ and "experiments.db" in text_ and message in text_


def test_a_lock_held_past_the_deadline_is_a_tracker_error_saying_what_to_do(engine, monkeypatch):
    from ato.errors import TrackerDatabaseError
    from ato.tracking import database

    monkeypatch.setattr(database, "BUSY_TIMEOUT_S", 0.05)

    def body(connection):
        raise sqlite_error("database is locked", 5)

    with pytest.raises(TrackerDatabaseError, match=r"stayed locked .* another process"):
        write(engine, body)


def test_a_wal_database_in_a_folder_this_user_cannot_write_is_read(tmp_path):
    """The writer's advice for such a folder is SQLFinder: it must then work."""
    import shutil
    import subprocess
    import sys
    import tempfile

    from ato.tracking import SQLLogger
    from tests.tracking.helpers import make_config

    folder = tempfile.mkdtemp(dir="/tmp", prefix="ato-ro-")
    try:
        url = f"sqlite:///{folder}/runs.db"
        logger = SQLLogger(make_config(url, "ro"))
        logger.run()
        logger.log_metric("loss", 1.0)
        logger.finish()
        logger.engine.dispose()  # the last connection: SQLite merges the -wal file
        assert not os.path.exists(f"{folder}/runs.db-wal")  # the last writer merged it
        read = (
            "from ato.tracking import SQLFinder; "
            f"print([r.id for r in SQLFinder({url!r}).get_runs_in_project('ro')])"
        )
        os.chmod(folder, 0o555)
        os.chmod(f"{folder}/runs.db", 0o444)
        command = [sys.executable, "-c", read]
        if os.geteuid() == 0:  # root writes anywhere: read as nobody
            setpriv = shutil.which("setpriv")
            if setpriv is None:
                pytest.skip("needs setpriv to read as another user when run as root")
            command = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *command]
            probe = subprocess.run([*command[:-1], "import ato"], capture_output=True)
            if probe.returncode != 0:
                pytest.skip("user nobody cannot read this checkout (a private folder)")
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "[1]"
    finally:
        os.chmod(folder, 0o755)
        shutil.rmtree(folder, ignore_errors=True)


def test_once_the_process_is_being_stopped_a_write_waits_little_for_the_lock(engine, monkeypatch):
    import time

    from ato.errors import TrackerDatabaseError
    from ato.tracking import database
    from ato.tracking.process import main_writes

    monkeypatch.setattr(database, "BUSY_TIMEOUT_S", 30.0)
    monkeypatch.setattr(database, "STOPPING_WAIT_S", 0.1)
    monkeypatch.setattr(main_writes, "stopping", True)

    def body(connection):
        raise sqlite_error("database is locked", 5)

    start = time.monotonic()
    with pytest.raises(TrackerDatabaseError, match="stayed locked"):
        write(engine, body)
    assert time.monotonic() - start < 5


def test_opening_waits_for_a_lock_another_process_holds_and_says_so_past_the_deadline(
    tmp_path, monkeypatch
):
    """A 2.x database being migrated by another process is locked while that runs: a
    second tracker waits its turn, as its writes do, and is never told the path is bad."""
    import threading

    from ato.errors import TrackerDatabaseError
    from ato.tracking import database
    from ato.tracking.database import connect_or_refuse, open_engine

    path = tmp_path / "busy.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(0.3, lambda: holder.execute("COMMIT"))
    release.start()
    url = f"sqlite:///{path}"
    try:
        connect_or_refuse(open_engine(url, writer=True), url)  # waits, then connects
        holder.execute("BEGIN EXCLUSIVE")
        monkeypatch.setattr(database, "BUSY_TIMEOUT_S", 0.1)
        with pytest.raises(TrackerDatabaseError, match=r"stayed locked .* another process"):
            connect_or_refuse(open_engine(url, writer=True), url)
    finally:
        release.join()
        holder.execute("ROLLBACK")
        holder.close()

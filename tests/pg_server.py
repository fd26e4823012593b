"""A throwaway PostgreSQL server for tests (PostgreSQL 15 binaries + psycopg 3).

One server per test session (initdb + start take ~2 s) and a fresh database per test
(``CREATE DATABASE`` takes ~50-300 ms).  Fixtures live in the conftest that uses this
module; the usual shape is::

    import os
    import pytest
    from tests.pg_server import PostgresServer, new_database, postgres_available

    @pytest.fixture(scope="session")
    def postgres_server():
        available, reason = postgres_available()
        if not available:
            # CI must exercise PostgreSQL; a laptop without it just skips.
            if os.environ.get("CI") == "true":
                pytest.fail(f"PostgreSQL is required on CI: {reason}")
            pytest.skip(f"PostgreSQL not available: {reason}")
        with PostgresServer() as server:
            yield server

    @pytest.fixture
    def pg_url(postgres_server, request):
        return new_database(postgres_server.url, f"t_{request.node.name}"[:63])

Only the standard library and psycopg are used; psycopg is imported lazily so that merely
importing this module never fails.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from urllib.parse import quote, urlsplit, urlunsplit

__all__ = ["PostgresServer", "new_database", "postgres_available"]

_OS_USER = "postgres"  # the postgres server refuses to run as root
_BINARIES = ("initdb", "pg_ctl")
_START_ATTEMPTS = 3


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _os_user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def postgres_available() -> tuple[bool, str]:
    """Whether a server can be started here, and if not, why not."""
    missing = [b for b in _BINARIES if shutil.which(b) is None]
    if missing:
        return False, f"{', '.join(missing)} not found on PATH"
    if _running_as_root():
        if not _os_user_exists(_OS_USER):
            return False, f"running as root but there is no {_OS_USER!r} OS user to run the server"
        if shutil.which("runuser") is None:
            return False, "running as root but runuser is not available"
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        return False, f"psycopg is not importable ({exc}); install 'psycopg[binary]>=3.1'"
    return True, "ok"


def _free_port() -> int:
    # The OS picks an unused port; there is a small window before postgres binds it,
    # which start() covers by retrying on "Address already in use".
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<no server log: {exc}>"
    return "\n".join(text.splitlines()[-lines:]) or "<server log is empty>"


class PostgresServer:
    """A private PostgreSQL cluster in a temp dir, listening on 127.0.0.1 only.

    ``stop()`` is idempotent and also registered with ``atexit``, so the server and its
    temp dir go away even if the session is aborted before fixture teardown runs.
    """

    def __init__(
        self, *, user: str = "postgres", database: str = "postgres", timeout: float = 60.0
    ) -> None:
        self.user = user  # database superuser (not the OS user)
        self.database = database
        self.timeout = timeout
        self.port: int | None = None
        self.tmpdir: Path | None = None

    # -- paths -------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        assert self.tmpdir is not None, "server not started"
        return self.tmpdir / "data"

    @property
    def log_file(self) -> Path:
        assert self.tmpdir is not None, "server not started"
        return self.tmpdir / "server.log"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the default database (trust auth, so no password)."""
        if self.port is None:
            raise RuntimeError("PostgresServer is not running")
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{self.database}"

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> PostgresServer:
        if self.port is not None:
            return self
        ok, reason = postgres_available()
        if not ok:
            raise RuntimeError(f"cannot start PostgreSQL: {reason}")
        atexit.register(self.stop)
        try:
            # /tmp is world-traversable, so the postgres OS user can reach the dir once
            # it owns it; a TMPDIR under /root would not be (initdb then fails loudly).
            self.tmpdir = Path(tempfile.mkdtemp(prefix="ato-pg-"))
            if _running_as_root():
                shutil.chown(self.tmpdir, user=_OS_USER, group=_OS_USER)
            self._initdb()
            for attempt in range(1, _START_ATTEMPTS + 1):
                self.port = _free_port()
                try:
                    self._pg_ctl_start()
                    break
                except RuntimeError:
                    self.port = None
                    lost_race = "Address already in use" in _tail(self.log_file, 20)
                    if not lost_race or attempt == _START_ATTEMPTS:
                        raise
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server (immediate: the data is thrown away) and delete the temp dir."""
        atexit.unregister(self.stop)
        tmpdir, self.tmpdir, self.port = self.tmpdir, None, None
        if tmpdir is None:
            return
        data = tmpdir / "data"
        if (data / "postmaster.pid").exists():
            done = self._run(
                ["pg_ctl", "-D", str(data), "-m", "immediate", "-w", "-t", "30", "stop"],
                cwd=tmpdir,
                check=False,
            )
            if done.returncode != 0:
                self._kill_postmaster(data)
        shutil.rmtree(tmpdir, ignore_errors=True)

    def pause(self) -> None:
        """Stop the server as an administrator would (``-m fast``), keeping its data and
        port for :meth:`resume`: a server restarted under a running program."""
        assert self.tmpdir is not None, "server not started"
        self._run(["pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop"], cwd=self.tmpdir)

    def resume(self) -> None:
        """Start the server :meth:`pause` stopped, on the same port."""
        self._pg_ctl_start()

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals ---------------------------------------------------------------------
    def _initdb(self) -> None:
        # --no-locale (C collation) keeps ORDER BY on text byte-wise and independent of
        # whichever locales the machine has generated; -E UTF8 is valid with C.
        # --no-sync: nothing survives the session, so skip fsyncing the new cluster.
        args = ["initdb", "-D", str(self.data_dir), "-U", self.user, "-A", "trust"]
        self._run([*args, "--no-sync", "-E", "UTF8", "--no-locale"], cwd=self.tmpdir)

    def _pg_ctl_start(self) -> None:
        assert self.tmpdir is not None and self.port is not None
        # The socket goes in our temp dir because the default (/var/run/postgresql) may be
        # missing or owned by a system cluster.  Durability settings are off: the cluster
        # is disposable.  pg_ctl hands -o to /bin/sh, hence the quoting.
        options = (
            f"-p {self.port} -k {shlex.quote(str(self.tmpdir))} "
            "-c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200 "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        args = ["pg_ctl", "-D", str(self.data_dir), "-o", options, "-l", str(self.log_file)]
        try:
            self._run([*args, "-w", "-t", str(int(self.timeout)), "start"], cwd=self.tmpdir)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n--- server log tail ---\n{_tail(self.log_file)}") from None

    def _run(
        self, args: list[str], *, cwd: Path | None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        if _running_as_root():
            args = ["runuser", "-u", _OS_USER, "--", *args]
        # cwd is our temp dir: the postgres OS user may not be able to read the caller's
        # cwd (e.g. a checkout under /root), which makes initdb/pg_ctl complain.
        # stdin/out are not inherited so the daemonised postmaster cannot hold our pipes.
        done = subprocess.run(
            args,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=self.timeout + 30,
            check=False,
        )
        if check and done.returncode != 0:
            raise RuntimeError(
                f"{shlex.join(args)} failed with exit code {done.returncode}:\n"
                f"{done.stdout}{done.stderr}"
            )
        return done

    @staticmethod
    def _kill_postmaster(data: Path) -> None:
        # Last resort when pg_ctl could not stop it: the first line of postmaster.pid
        # is the pid of the postmaster we started; SIGQUIT is postgres' immediate stop.
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int((data / "postmaster.pid").read_text().splitlines()[0])
            os.kill(pid, signal.SIGQUIT)
            for _ in range(50):
                time.sleep(0.1)
                os.kill(pid, 0)  # raises once the process is gone
            os.kill(pid, signal.SIGKILL)


def _libpq_url(url: str) -> str:
    # SQLAlchemy's "postgresql+psycopg" scheme -> plain libpq "postgresql".
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme=parts.scheme.split("+", 1)[0]))


def new_database(url: str, name: str) -> str:
    """Create an empty database ``name`` on the server at ``url``; return its URL.

    An existing database of that name is dropped first, so the result is always empty.
    """
    import psycopg
    from psycopg import sql

    # CREATE/DROP DATABASE cannot run inside a transaction block, hence autocommit.
    with psycopg.connect(_libpq_url(url), autocommit=True) as conn:
        ident = sql.Identifier(name)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + quote(name, safe="")))

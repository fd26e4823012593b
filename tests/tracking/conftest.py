"""Every tracker test runs twice: on an SQLite file and on a throwaway PostgreSQL 15
server (started once per session by ``tests.pg_server``; a fresh database per test).

Without the PostgreSQL binaries or psycopg the PostgreSQL half is skipped, except on CI
(``CI=true``), where it fails: CI must exercise both backends.
"""

from __future__ import annotations

import itertools
import os

import pytest

_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres_server():
    from tests.pg_server import PostgresServer, postgres_available

    available, reason = postgres_available()
    if not available:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required on CI: {reason}")
        pytest.skip(f"PostgreSQL not available: {reason}")
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """An empty database: an SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'experiments.db'}"
    from tests.pg_server import new_database

    server = request.getfixturevalue("postgres_server")
    return new_database(server.url, f"ato_test_{os.getpid()}_{next(_counter)}")


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'experiments.db'}"

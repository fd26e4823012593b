"""Every tracker test runs twice: on an SQLite file and on the session's throwaway
PostgreSQL 15 server (``postgres_server`` in tests/conftest.py), in a fresh database."""

from __future__ import annotations

import itertools
import os

import pytest

_counter = itertools.count()


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


@pytest.fixture(autouse=True)
def no_process_left_behind():
    from tests.tracking.helpers import STARTED

    yield
    for process in STARTED:
        if process.poll() is None:
            process.kill()
            process.communicate()
    STARTED.clear()

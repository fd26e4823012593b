"""Shared fixtures and hypothesis settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

DATA = Path(__file__).parent / "data"

settings.register_profile(
    "ato", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("ci", parent=settings.get_profile("ato"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "ato")


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture(autouse=True)
def fresh_scope_registry():
    """Every test starts with no scopes and an unread command line."""
    from ato.scope import Scope

    Scope.initialize_registry()
    yield
    Scope.initialize_registry()


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL 15 server for the session (see tests/pg_server.py).

    Without the binaries or psycopg, tests that need it are skipped, except on CI
    (``CI=true``), where they fail: CI must exercise both backends.
    """
    from tests.pg_server import PostgresServer, postgres_available

    available, reason = postgres_available()
    if not available:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required on CI: {reason}")
        pytest.skip(f"PostgreSQL not available: {reason}")
    with PostgresServer() as server:
        yield server

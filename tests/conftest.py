"""Shared fixtures and hypothesis settings."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from ato.computed_imports import forget_read_files

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


@pytest.fixture
def program(tmp_path, monkeypatch):
    """A folder on sys.path holding package ``zoo`` with models ``small``, ``big`` and a
    subpackage ``deep`` (modules a function imports as it runs); forgotten after."""
    zoo = tmp_path / "zoo"
    (zoo / "models" / "deep").mkdir(parents=True)
    (zoo / "__init__.py").write_text("")
    (zoo / "models" / "__init__.py").write_text("")
    (zoo / "models" / "small.py").write_text("def build(x):\n    return x\n")
    (zoo / "models" / "big.py").write_text("def build(x):\n    return 3 * x\n")
    (zoo / "models" / "deep" / "__init__.py").write_text("def build(x):\n    return 0\n")
    (zoo / "models" / "notes.txt").write_text("not a module")
    (zoo / "models_old.py").write_text("def build(x):\n    return x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield zoo
    for name in [m for m in sys.modules if m.split(".")[0] == "zoo"]:
        del sys.modules[name]
    forget_read_files()

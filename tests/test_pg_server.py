"""The throwaway PostgreSQL server used by the tracker tests actually works."""

from __future__ import annotations

import threading

import pytest

from tests.pg_server import PostgresServer, new_database

sqlalchemy = pytest.importorskip("sqlalchemy")


@pytest.fixture
def pg(postgres_server: PostgresServer) -> PostgresServer:
    return postgres_server  # the session's server (tests/conftest.py)


def test_server_runs_postgres_15(pg: PostgresServer) -> None:
    assert pg.url.startswith(f"postgresql+psycopg://postgres@127.0.0.1:{pg.port}/")
    engine = sqlalchemy.create_engine(pg.url)
    try:
        with engine.connect() as conn:
            version = conn.execute(sqlalchemy.text("select version()")).scalar_one()
            encoding = conn.execute(sqlalchemy.text("show server_encoding")).scalar_one()
    finally:
        engine.dispose()
    assert version.startswith("PostgreSQL 15."), version
    assert encoding == "UTF8"


def test_new_databases_are_independent(pg: PostgresServer) -> None:
    url_a = new_database(pg.url, "pg_server_a")
    url_b = new_database(pg.url, "pg_server_b")
    assert url_a.endswith("/pg_server_a") and url_b.endswith("/pg_server_b")
    a, b = sqlalchemy.create_engine(url_a), sqlalchemy.create_engine(url_b)
    try:
        with a.begin() as conn:
            conn.execute(sqlalchemy.text("create table t (x int)"))
            conn.execute(sqlalchemy.text("insert into t values (1)"))
        assert sqlalchemy.inspect(b).get_table_names() == []
        assert sqlalchemy.inspect(a).get_table_names() == ["t"]
    finally:
        a.dispose()
        b.dispose()
    # Re-creating a name gives an empty database again.
    again = sqlalchemy.create_engine(new_database(pg.url, "pg_server_a"))
    try:
        assert sqlalchemy.inspect(again).get_table_names() == []
    finally:
        again.dispose()


def test_twenty_concurrent_connections(pg: PostgresServer) -> None:
    n = 20
    engine = sqlalchemy.create_engine(
        new_database(pg.url, "pg_server_concurrency"), pool_size=n, max_overflow=0
    )
    # The barrier makes all n connections open at the same moment, so the count seen
    # from inside is a real measure of concurrency, not of sequential reuse.
    barrier = threading.Barrier(n, timeout=30)
    seen: list[int] = []
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            with engine.connect() as conn:
                barrier.wait()
                count = conn.execute(
                    sqlalchemy.text(
                        "select count(*) from pg_stat_activity where datname = current_database()"
                    )
                ).scalar_one()
                assert conn.execute(sqlalchemy.text("select :i"), {"i": i}).scalar_one() == i
                seen.append(count)
                barrier.wait()  # keep every connection open until all have counted
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        engine.dispose()
    assert not errors, errors
    assert len(seen) == n
    assert min(seen) >= n

"""Credentials stay out of the data: a password in the database URL is masked in every
stored column, and in what the tracker prints."""

from __future__ import annotations

import sys

import pytest
from sqlalchemy import create_engine, inspect, text

from ato.tracking import SQLFinder, SQLLogger
from ato.tracking.secrets import mask_secrets, masked_url
from tests.tracking.helpers import make_config

PASSWORD = "s3cret-Pa55"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "postgresql+psycopg://ana:s3cret@db:5432/runs",
            "postgresql+psycopg://ana:***@db:5432/runs",
        ),
        ("postgresql://ana:p@ss:w@rd@db/x", "postgresql://ana:***@db/x"),
        ("postgresql://ana@db/x", "postgresql://ana@db/x"),
        ("sqlite:///runs.db", "sqlite:///runs.db"),
        (
            "see postgresql://u:pw@h/d and mysql://a:b@c/d",
            "see postgresql://u:***@h/d and mysql://a:***@c/d",
        ),
    ],
)
def test_url_passwords_are_masked(text, shown):
    assert masked_url(text) == shown


def test_nested_values_are_masked():
    assert mask_secrets({"a": ["x://u:p@h/d", 1]}) == {"a": ["x://u:***@h/d", 1]}


def test_no_stored_column_holds_the_password(postgres_server, monkeypatch):
    from tests.pg_server import new_database

    url = new_database(postgres_server.url, "ato_secrets")
    user_part, host_part = url.split("@", 1)
    with_password = f"{user_part}:{PASSWORD}@{host_part}"  # trust auth ignores it
    monkeypatch.setattr(sys, "argv", ["train.py", f"experiment.sql.db_path={with_password}"])
    logger = SQLLogger(make_config(with_password, note=f"copy of {with_password}"))
    with logger.run(tags=[with_password]):
        logger.log_metric("loss", 1.0)
    engine = create_engine(url)
    found = []
    with engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f"SELECT * FROM {table}")):
                found += [f"{table}: {cell}" for cell in row if PASSWORD in str(cell)]
    engine.dispose()
    assert found == []
    with SQLFinder(with_password) as finder:
        run = finder.get_runs_in_project("vision")[0]
        assert run.config.experiment.sql.db_path == masked_url(with_password)
        assert PASSWORD not in repr(run.command)

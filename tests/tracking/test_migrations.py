"""Databases written by ato 2.1.4 open, are queried and appended to; migrations are
versioned, additive and idempotent; what ato cannot use is refused unchanged."""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
import sqlite3

import pytest
from sqlalchemy import create_engine, text

from ato.errors import MetricValueError, TrackerDatabaseError
from ato.tracking import SQLFinder, SQLLogger, migrations
from ato.tracking.migrations import LATEST, MIGRATIONS, _record, schema_version
from tests.conftest import DATA
from tests.tracking.helpers import make_config

_databases = itertools.count()
EXPECTED = json.loads((DATA / "tracker" / "ato214_expected.json").read_text())


@pytest.fixture
def old_db(tmp_path):
    path = tmp_path / "ato214.db"
    shutil.copy(DATA / "tracker" / "ato214.db", path)
    return path


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_2x_database_is_read_as_2x_wrote_it(old_db):
    finder = SQLFinder(make_config(f"sqlite:///{old_db}"))
    for project_name, project in EXPECTED["projects"].items():
        runs = finder.get_runs_in_project(project_name)
        assert [run.id for run in runs] == [run["id"] for run in project["runs"]]
        for run, expected in zip(runs, project["runs"], strict=True):
            assert run.stored_status == expected["status"]
            assert run.tags == expected["tags"]
            assert run.config == expected["config"]
            assert run.structural_hash == expected["structural_hash"]
            assert run.start_time.isoformat(sep=" ").startswith(expected["start_time"])
            assert run.start_time.utcoffset().total_seconds() == 0
            assert len(run.metrics) == expected["metric_count"]
            for key, last in expected["last_metrics"].items():
                assert run.metric(key)[-1].value == last
                assert run.summary[key].last == last  # backfilled by the migration
                assert run.summary[key].count == expected["metric_count_by_key"][key]
            assert [(a.path, a.data_type, a.data_info) for a in run.artifacts] == [
                (a["path"], a["data_type"], a["data_info"]) for a in expected["artifacts"]
            ]
            assert [(f.trace_id, f.trace_type, f.fingerprint) for f in run.fingerprints] == [
                (f["trace_id"], f["trace_type"], f["fingerprint"]) for f in expected["fingerprints"]
            ]
    # A 2.x run left 'running' has no heartbeat: ato cannot tell, and says what it read.
    assert finder.find_run(2).status == "running"
    best = finder.find_best_run("vision", "val_accuracy", mode="max")
    assert (
        best.id
        == max(
            EXPECTED["projects"]["vision"]["runs"], key=lambda r: r["last_metrics"]["val_accuracy"]
        )["id"]
    )
    stats = finder.get_trace_statistics("vision", "train.train_step")
    assert stats["static_trace_versions"] == 2 and stats["runtime_trace_versions"] == 0
    evaluated = {
        f["fingerprint"]
        for run in EXPECTED["projects"]["vision"]["runs"]
        for f in run["fingerprints"]
        if f["trace_id"] == "train.evaluate"
    }
    stats = finder.get_trace_statistics("vision", "train.evaluate")
    assert stats["runtime_trace_versions"] == len(evaluated) > 0
    similar = finder.find_similar_runs_by_trace(1, "train.train_step")
    assert [run.id for run in similar] == [2]
    assert [run.id for run in finder.find_similar_runs(1)] == [2]


def test_a_2x_database_is_appended_to_and_keeps_its_rows(old_db):
    url = f"sqlite:///{old_db}"
    logger = SQLLogger(make_config(url, "vision", lr=0.5))
    with logger.run(tags=["new"]) as run_id:
        logger.log_metric("val_accuracy", 0.99)
    assert run_id == 5
    finder = SQLFinder(make_config(url))
    assert [run.id for run in finder.get_runs_in_project("vision")] == [1, 2, 3, 5]
    assert finder.find_best_run("vision", "val_accuracy").id == 5
    assert finder.find_run(1).config == EXPECTED["projects"]["vision"]["runs"][0]["config"]
    connection = sqlite3.connect(old_db)
    assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    version = connection.execute("SELECT version FROM ato_schema").fetchall()
    assert version == [(LATEST,)]
    # The five tables of 2.x keep every column they had.
    tables = [entry for entry in EXPECTED["schema"] if entry["type"] == "table"]
    assert sorted(t["name"] for t in tables) == sorted(
        ["projects", "experiments", "metrics", "artifacts", "fingerprints"]
    )
    for table in tables:
        old_columns = {
            line.strip().split(" ")[0].strip('"')
            for line in table["sql"].splitlines()[1:]
            if line.strip() and not line.strip().startswith(("PRIMARY", "FOREIGN", ")"))
        }
        columns = {row[1] for row in connection.execute(f"PRAGMA table_info({table['name']})")}
        assert old_columns and old_columns <= columns, table["name"]


OPENER = """
import os, sys, time
from ato.adict import ADict
from ato.tracking import SQLLogger

url, go, index = sys.argv[1], sys.argv[2], sys.argv[3]
open(f"{go}.ready{index}", "w").close()
while not os.path.exists(go):
    time.sleep(0.001)
config = ADict(experiment=ADict(project_name='vision', sql=ADict(db_path=url)))
logger = SQLLogger(config)
with logger.run(tags=[f"opener{index}"]):
    for step in range(10):
        logger.log_metric("val_accuracy", 0.1 * step)
"""


def test_several_processes_migrate_a_2x_database_at_once(old_db, tmp_path):
    import os
    import time

    from tests.tracking.helpers import run_script

    url, go = f"sqlite:///{old_db}", str(tmp_path / "go")
    children = [run_script(tmp_path, OPENER, url, go, str(i), name="opener.py") for i in range(6)]
    while sum(name.startswith("go.ready") for name in os.listdir(tmp_path)) < 6:
        assert all(child.poll() is None for child in children)
        time.sleep(0.01)
    (tmp_path / "go").touch()
    for child in children:
        _, stderr = child.communicate(timeout=120)
        assert child.returncode == 0 and not stderr.strip(), stderr
    finder = SQLFinder(make_config(url))
    runs = finder.get_runs_in_project("vision")
    assert len(runs) == 3 + 6
    first = runs[0]  # written by 2.x: its summary was backfilled exactly once
    assert first.summary["val_accuracy"].count == 10
    assert {run.summary["val_accuracy"].count for run in runs[3:]} == {10}
    connection = sqlite3.connect(old_db)
    assert connection.execute("SELECT version FROM ato_schema").fetchall() == [(LATEST,)]


def test_opening_again_changes_nothing(db_url):
    SQLLogger(make_config(db_url)).engine.dispose()
    engine = create_engine(db_url)
    with engine.connect() as connection:
        before = connection.execute(text("SELECT version, updated_at FROM ato_schema")).all()
    SQLLogger(make_config(db_url)).engine.dispose()
    SQLFinder(make_config(db_url)).engine.dispose()
    with engine.connect() as connection:
        after = connection.execute(text("SELECT version, updated_at FROM ato_schema")).all()
    engine.dispose()
    assert before == after and before[0][0] == LATEST


def test_a_newer_schema_is_refused_and_left_unchanged(tmp_path):
    url = f"sqlite:///{tmp_path / 'future.db'}"
    SQLLogger(make_config(url)).engine.dispose()
    connection = sqlite3.connect(tmp_path / "future.db")
    connection.execute("UPDATE ato_schema SET version = ?", (LATEST + 1,))
    connection.commit()
    connection.execute("PRAGMA journal_mode = DELETE")
    connection.commit()
    connection.close()
    before = digest(tmp_path / "future.db")
    with pytest.raises(TrackerDatabaseError, match=rf"schema version {LATEST + 1}.*newer ato"):
        SQLLogger(make_config(url))
    with pytest.raises(TrackerDatabaseError, match="Nothing was changed"):
        SQLFinder(make_config(url))
    assert digest(tmp_path / "future.db") == before
    # Not even the journal mode: a newer ato may have chosen another.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["future.db"]


def test_a_newer_schema_on_postgresql_is_refused_without_showing_the_password(postgres_server):
    from tests.pg_server import new_database

    url = new_database(postgres_server.url, f"ato_future_{next(_databases)}")
    SQLLogger(make_config(url)).engine.dispose()
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE ato_schema SET version = :v"), {"v": LATEST + 1})
    engine.dispose()
    # Trust authentication ignores the password; the message must not show it.
    with_password = url.replace("@127.0.0.1", ":s3cret@127.0.0.1")
    with pytest.raises(TrackerDatabaseError, match="newer ato") as raised:
        SQLLogger.open(with_password, "p")
    assert "s3cret" not in str(raised.value) and ":***@127.0.0.1" in str(raised.value)


def test_a_file_that_is_not_sqlite_is_refused_and_left_unchanged(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 10)
    before = digest(path)
    with pytest.raises(TrackerDatabaseError, match="is not an SQLite database") as raised:
        SQLLogger(make_config(f"sqlite:///{path}"))
    assert str(path) in str(raised.value)
    assert digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]


def test_a_missing_folder_and_a_bad_url_are_explained(tmp_path):
    with pytest.raises(TrackerDatabaseError, match="does not exist"):
        SQLLogger(make_config(f"sqlite:///{tmp_path / 'no' / 'such' / 'e.db'}"))
    with pytest.raises(TrackerDatabaseError, match="not an SQLAlchemy URL"):
        SQLLogger(make_config("experiments.db"))


@pytest.fixture
def pg_v2_with_data(postgres_server):
    """A PostgreSQL database at schema version 2 whose metrics table (2.x's INTEGER
    steps) holds a point, as a team's database from before migration 3 does."""
    from tests.pg_server import new_database

    url = new_database(postgres_server.url, f"ato_v2_{next(_databases)}")
    engine = create_engine(url)
    with engine.begin() as connection:
        for _version, _, step in MIGRATIONS[:2]:
            step(connection)
        _record(connection, 2)
        connection.execute(text("INSERT INTO projects (name) VALUES ('vision')"))
        connection.execute(
            text("INSERT INTO experiments (project_id, config) SELECT id, '{}' FROM projects")
        )
        connection.execute(
            text(
                "INSERT INTO metrics (run_id, key, value, step) "
                "SELECT id, 'loss', 1.0, 7 FROM experiments"
            )
        )
    engine.dispose()
    return url


def test_a_filled_2x_table_on_postgresql_keeps_its_steps_and_says_how_to_widen(
    pg_v2_with_data,
):
    logger = SQLLogger(make_config(pg_v2_with_data))
    logger.run()
    logger.log_metric("loss", 0.5, step=2**31 - 1)
    with pytest.raises(MetricValueError, match=r"32-bit.*ALTER TABLE metrics"):
        logger.log_metric("loss", 0.5, step=2**31)
    logger.finish()
    engine = create_engine(pg_v2_with_data)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM metrics")).scalar() == 2
        assert schema_version(connection) == LATEST
    engine.dispose()


def test_a_migration_waits_its_turn_for_locks_then_names_who_holds_them(
    pg_v2_with_data, monkeypatch
):
    monkeypatch.setattr(migrations, "_LOCK_TURNS_S", 2.0)
    holder = create_engine(pg_v2_with_data).connect()
    holder.execute(text("SELECT count(*) FROM experiments"))  # open, idle in transaction
    try:
        with pytest.raises(TrackerDatabaseError, match=r"idle in transaction.*Nothing was"):
            SQLLogger(make_config(pg_v2_with_data))
        with holder.begin_nested():
            # Meanwhile nobody else was kept waiting behind the migration for long.
            holder.execute(text("SELECT count(*) FROM metrics"))
    finally:
        holder.rollback()
        holder.close()
    logger = SQLLogger(make_config(pg_v2_with_data))  # once the transaction has ended
    logger.run(tags="after")
    logger.finish()

"""SQLLogger: what a run stores, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
import threading
import time

import pytest

from ato.db_routers.sql.manager import SQLFinder, SQLLogger
from ato.errors import (
    NoActiveRunError,
)
from tests.tracking.helpers import make_config, wait_until


def test_the_2x_flow_logs_a_run_its_metrics_and_artifacts(db_url, tmp_path):
    config = make_config(db_url, lr=0.001, batch_size=32, model="resnet50")
    logger = SQLLogger(config)
    run_id = logger.run(tags=["baseline", "resnet50"])
    assert isinstance(run_id, int) and run_id == logger.get_current_run_id()
    for epoch in range(5):
        logger.log_metric("train_loss", 1.0 / (epoch + 1), step=epoch)
        logger.log_metric("val_accuracy", 0.5 + epoch / 10, step=epoch)
    checkpoint = tmp_path / "model_best.pt"
    checkpoint.write_bytes(b"weights" * 100)
    logger.log_artifact(run_id, str(checkpoint), data_type="model", metadata={"epoch": 4})
    logger.finish(status="completed")

    run = SQLFinder(config).find_run(run_id)
    assert run.status == "completed" and run.tags == ["baseline", "resnet50"]
    assert run.config.model == "resnet50" and run.config.lr == 0.001
    assert run.structural_hash == config.get_structural_hash()
    assert [(p.step, p.value) for p in run.metric("train_loss")] == [
        (epoch, 1.0 / (epoch + 1)) for epoch in range(5)
    ]
    [artifact] = run.artifacts
    assert artifact.path == str(checkpoint) and artifact.data_type == "model"
    assert artifact.run_id == run_id
    assert artifact.data_info == {"epoch": 4} and artifact.size == 700
    assert artifact.sha256 == hashlib.sha256(b"weights" * 100).hexdigest()
    assert run.summary["val_accuracy"].max == pytest.approx(0.9)


def test_steps_count_up_per_key_when_omitted(db_url):
    logger = SQLLogger(make_config(db_url))
    run_id = logger.run()
    for value in (3.0, 2.0, 1.0):
        logger.log_metric("loss", value)
    logger.log_metric("acc", 0.1, step=10)
    logger.log_metric("acc", 0.2)
    logger.finish()
    finder = SQLFinder(make_config(db_url))
    assert [(p.step, p.value) for p in finder.metrics(run_id, "loss")] == [
        (0, 3.0),
        (1, 2.0),
        (2, 1.0),
    ]
    assert [p.step for p in finder.metrics(run_id, "acc")] == [10, 11]


def test_nan_and_infinities_round_trip_and_never_win(db_url):
    numpy = pytest.importorskip("numpy")
    logger = SQLLogger(make_config(db_url))
    run_id = logger.run()
    values = [math.nan, math.inf, -math.inf, 0.5, numpy.float32(0.25), numpy.int64(3)]
    for value in values:
        logger.log_metric("x", value)
    logger.finish()
    finder = SQLFinder(make_config(db_url))
    stored = [p.value for p in finder.metrics(run_id, "x")]
    assert math.isnan(stored[0]) and stored[1:] == [math.inf, -math.inf, 0.5, 0.25, 3.0]
    summary = finder.find_run(run_id).summary["x"]
    assert (summary.count, summary.min, summary.max, summary.last) == (6, -math.inf, math.inf, 3.0)
    assert finder.find_best_run("vision", "x", mode="max").id == run_id


def test_logging_without_a_run_says_to_start_one(sqlite_url):
    logger = SQLLogger(make_config(sqlite_url))
    with pytest.raises(NoActiveRunError, match=r"call logger.run\(\) first"):
        logger.log_metric("loss", 1.0)
    logger.run()
    logger.finish()
    with pytest.raises(NoActiveRunError, match="finished"):
        logger.log_metric("loss", 1.0)


def test_a_run_records_who_and_when(db_url):
    config = make_config(db_url)
    logger = SQLLogger(config)
    before = dt.datetime.now(dt.timezone.utc)
    run_id = logger.run()
    logger.log_metric("loss", 1.0)
    logger.finish()
    run = SQLFinder(config).find_run(run_id)
    import os
    import socket
    import uuid

    assert uuid.UUID(run.uuid).version == 4
    assert SQLFinder(config).find_run(run.uuid).id == run_id
    assert (run.host, run.pid) == (socket.gethostname(), os.getpid())
    assert run.start_time.tzinfo is not None and run.start_time >= before - dt.timedelta(seconds=1)
    assert run.end_time >= run.start_time
    [point] = run.metrics
    assert point.timestamp.tzinfo is not None
    assert run.start_time - dt.timedelta(seconds=1) <= point.timestamp <= run.end_time
    assert run.environment["python"]["version"]
    assert run.environment_hash and run.ato_version


def test_metric_times_are_stamped_per_point(sqlite_url):

    logger = SQLLogger(make_config(sqlite_url))
    run_id = logger.run()
    logger.log_metric("loss", 1.0)
    time.sleep(0.05)
    logger.log_metric("loss", 0.5)
    logger.finish()
    first, second = SQLFinder(make_config(sqlite_url)).metrics(run_id, "loss")
    assert (second.timestamp - first.timestamp).total_seconds() >= 0.04


def test_starting_a_new_run_finishes_the_current_one(sqlite_url):
    logger = SQLLogger(make_config(sqlite_url))
    first = logger.run()
    logger.log_metric("loss", 1.0)
    second = logger.run()
    logger.log_metric("loss", 2.0)
    logger.finish()
    finder = SQLFinder(make_config(sqlite_url))
    assert finder.find_run(first).status == "completed"
    assert [p.value for p in finder.find_run(first).metrics] == [1.0]
    assert [p.value for p in finder.find_run(second).metrics] == [2.0]


def test_artifact_of_a_missing_file_is_recorded_without_size(db_url):
    logger = SQLLogger(make_config(db_url))
    run_id = logger.run()
    logger.log_artifact(run_id, "plots/not_there.png")
    logger.finish()
    [artifact] = SQLFinder(make_config(db_url)).find_run(run_id).artifacts
    assert artifact.path == os.path.abspath("plots/not_there.png") and artifact.size is None
    assert artifact.sha256 is None and artifact.data_type is None


def test_many_points_are_written_in_batches_and_all_arrive(db_url):
    logger = SQLLogger(make_config(db_url), batch_size=1000)
    run_id = logger.run()
    for step in range(5500):
        logger.log_metric("loss", step / 10)
    logger.finish()
    finder = SQLFinder(make_config(db_url))
    points = finder.metrics(run_id, "loss")
    assert [p.step for p in points] == list(range(5500))
    summary = finder.find_run(run_id).summary["loss"]
    assert (summary.count, summary.min, summary.max, summary.last, summary.last_step) == (
        5500,
        0.0,
        549.9,
        549.9,
        5499,
    )


@pytest.mark.parametrize(
    ("values", "batch_size"),
    [
        ([3.0, 1.0, 2.0], 10),  # one batch
        ([3.0, 1.0, 2.0, 0.5, 9.0, 4.0, 7.0], 2),  # min and max in different batches
        ([math.nan, 2.0, math.nan], 1),  # NaN counted, never min or max; last is NaN
        ([math.nan, math.nan], 10),  # no number at all
        ([1.0, math.inf, -math.inf, 5.0], 3),
    ],
)
def test_summaries_made_from_each_batch_equal_those_of_the_whole_history(
    db_url, values, batch_size
):
    logger = SQLLogger(make_config(db_url), batch_size=batch_size, flush_interval=1000)
    run_id = logger.run()
    for index, value in enumerate(values):
        logger.log_metric("x", value)
        logger.log_metric("other", float(index))
        if index % batch_size == batch_size - 1:
            logger.flush()
    logger.finish()
    summary = SQLFinder(make_config(db_url)).find_run(run_id).summary["x"]
    numbers = [value for value in values if not math.isnan(value)]
    assert summary.count == len(values) and summary.last_step == len(values) - 1
    assert (summary.min, summary.max) == ((min(numbers), max(numbers)) if numbers else (None, None))
    assert summary.last == values[-1] or (math.isnan(summary.last) and math.isnan(values[-1]))


def test_a_metric_added_through_the_session_is_summarized_from_its_own_row(sqlite_url):
    import sqlite3

    from ato.tracking.summaries import _SOME_ROWS, _STATEMENTS

    SQLLogger(make_config(sqlite_url)).engine.dispose()
    sql = str(_STATEMENTS["sqlite", _SOME_ROWS])
    for name in ("after", "upto", "run"):
        sql = sql.replace(f":{name}", "1")
    connection = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    plan = " | ".join(row[3] for row in connection.execute("EXPLAIN QUERY PLAN " + sql))
    connection.close()
    # The id range, not every row of the run through (run_id, key, step): a run's
    # millionth point costs what its first did.
    assert "SEARCH metrics USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)" in plan, plan


def test_full_batches_are_written_by_the_flush_thread_never_the_caller(sqlite_url, monkeypatch):
    from ato.tracking import writes

    threads, insert = [], writes.insert_points

    def noting(connection, points):
        threads.append(threading.current_thread().name)
        insert(connection, points)

    monkeypatch.setattr(writes, "insert_points", noting)
    logger = SQLLogger(make_config(sqlite_url), batch_size=100, flush_interval=1000)
    run_id = logger.run()
    for step in range(1000):
        logger.log_metric("loss", float(step))
    assert wait_until(lambda: len(logger.buffer) < 100)
    assert threads and set(threads) == {f"ato-tracker-run-{run_id}"}
    logger.finish()
    assert SQLFinder(make_config(sqlite_url)).find_run(run_id).summary["loss"].count == 1000


def test_a_logger_from_a_url_and_a_project_name(db_url):
    logger = SQLLogger.open(db_url, "vision", batch_size=10)
    assert logger.project_name == "vision" and logger.batch_size == 10
    logger.run(tags=["from-url"])
    logger.log_metric("acc", 0.5, step=0)
    logger.finish()
    with SQLFinder(db_url) as finder:
        (run,) = finder.get_runs_in_project("vision")
    assert run.tags == ["from-url"] and [p.value for p in run.metric("acc")] == [0.5]


@pytest.mark.parametrize("project", ["", None, 3])
def test_a_logger_from_a_url_needs_a_project_name(sqlite_url, project):
    from ato.errors import TrackerConfigError

    with pytest.raises(TrackerConfigError, match="name the project the runs belong to"):
        SQLLogger.open(sqlite_url, project)

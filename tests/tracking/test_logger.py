"""SQLLogger: what a run stores, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import time

import pytest

from ato.adict import ADict
from ato.db_routers.sql.manager import SQLFinder, SQLLogger
from ato.db_routers.sql.schema import Experiment, Fingerprint, Metric
from ato.errors import (
    MetricValueError,
    NoActiveRunError,
    TrackerConfigError,
    TrackerError,
)
from ato.scope import Scope
from tests.tracking.helpers import make_config


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


@pytest.mark.parametrize("value", ["0.5", None, b"1", [1.0], 1j, object()])
def test_a_value_that_is_not_a_real_number_raises_naming_the_key(db_url, value):
    logger = SQLLogger(make_config(db_url))
    logger.run()
    with pytest.raises(MetricValueError, match="'val_loss'"):
        logger.log_metric("val_loss", value)
    logger.finish()


def test_logging_without_a_run_says_to_start_one(sqlite_url):
    logger = SQLLogger(make_config(sqlite_url))
    with pytest.raises(NoActiveRunError, match=r"call logger.run\(\) first"):
        logger.log_metric("loss", 1.0)
    logger.run()
    logger.finish()
    with pytest.raises(NoActiveRunError, match="finished"):
        logger.log_metric("loss", 1.0)


@pytest.mark.parametrize(
    ("config", "missing"),
    [
        (ADict(lr=0.1), "config.experiment is missing"),
        (ADict(experiment=ADict(project_name="p")), "config.experiment.sql is missing"),
        (ADict(experiment=ADict(sql=ADict(db_path="sqlite://"))), "project_name is missing"),
    ],
)
def test_a_config_without_the_tracker_keys_names_the_key_and_the_layout(config, missing):
    with pytest.raises(TrackerConfigError, match=missing) as raised:
        SQLLogger(config)
    assert "config.experiment.sql.db_path = 'sqlite:///experiments.db'" in str(raised.value)
    assert isinstance(raised.value, KeyError) and isinstance(raised.value, TrackerError)


def test_the_context_manager_sets_the_status(db_url):
    config = make_config(db_url)
    logger = SQLLogger(config)
    with logger.run(tags=["ok"]) as run:
        run.log_metric("loss", 1.0)
    with pytest.raises(ZeroDivisionError), logger.run(tags=["bad"]) as failed:
        logger.log_metric("loss", 2.0)
        1 / 0  # noqa: B018
    with pytest.raises(KeyboardInterrupt), logger.run(tags=["interrupted"]) as interrupted:
        raise KeyboardInterrupt
    finder = SQLFinder(config)
    assert finder.find_run(run).status == "completed"
    stored = finder.find_run(failed)
    assert stored.status == "failed" and "ZeroDivisionError" in stored.error
    assert "1 / 0" in stored.error and stored.end_time is not None
    assert finder.find_run(interrupted).status == "killed"
    assert [p.value for p in finder.metrics(failed, "loss")] == [2.0]


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
    import time

    logger = SQLLogger(make_config(sqlite_url))
    run_id = logger.run()
    logger.log_metric("loss", 1.0)
    time.sleep(0.05)
    logger.log_metric("loss", 0.5)
    logger.finish()
    first, second = SQLFinder(make_config(sqlite_url)).metrics(run_id, "loss")
    assert (second.timestamp - first.timestamp).total_seconds() >= 0.04


def test_the_session_of_2x_sees_every_point_logged_so_far(db_url):
    logger = SQLLogger(make_config(db_url))
    run_id = logger.run()
    for step in range(3):
        logger.log_metric("loss", float(step), step=step)
    rows = logger.session.query(Metric).filter_by(run_id=run_id).order_by(Metric.step).all()
    assert [row.value for row in rows] == [0.0, 1.0, 2.0]
    assert logger.get_current_run().status == "running"
    assert logger.get_or_create_project().name == "vision"
    # 2.x tests added fingerprint rows through the session; that keeps working.
    logger.session.add(
        Fingerprint(run_id=run_id, trace_id="t", trace_type="static", fingerprint="abc")
    )
    logger.session.commit()
    logger.update_status("evaluating")
    assert logger.session.get(Experiment, run_id).status == "evaluating"
    logger.finish()
    assert [
        f.fingerprint for f in SQLFinder(make_config(db_url)).find_run(run_id).fingerprints
    ] == ["abc"]


def test_a_run_stores_provenance_and_fingerprints_of_its_scope(db_url):
    scope = Scope()

    @scope.observe(default=True)
    def defaults(config):
        config.lr = 0.1
        config.experiment = ADict(project_name="vision", sql=ADict(db_path=db_url))

    @scope.observe()
    def high_lr(config):
        config.lr = 1.0

    def helper(x):
        return x * 2

    @scope.trace(trace_id="train_step")
    def train_step(x):
        return helper(x) + 1

    @scope.runtime_trace(trace_id="evaluate")
    def evaluate(x):
        return [x, x + 1]

    scope.assign("high_lr")
    config = scope.apply()
    logger = SQLLogger(config)
    with logger.run() as run_id:
        evaluate(1)
        evaluate(2)
    run = SQLFinder(config).find_run(run_id)
    assert run.provenance["lr"][0].startswith("high_lr")
    assert "defaults" in run.provenance["lr"][1]
    static = [f for f in run.fingerprints if f.trace_type == "static"]
    assert [(f.trace_id, f.fingerprint) for f in static] == [
        ("train_step", scope.fingerprints["train_step"].value)
    ]
    runtime = [
        (f.trace_id, f.call_index, f.fingerprint)
        for f in run.fingerprints
        if f.call_index is not None
    ]
    assert runtime == [("evaluate", call.index, call.fingerprint) for call in scope.runtime_calls]
    assert len(runtime) == 2 and runtime[0][2] != runtime[1][2]


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
    assert artifact.path == "plots/not_there.png" and artifact.size is None
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


def test_a_2x_style_session_write_survives_a_flush_in_between(db_url):
    # 2.x code edits the ORM row and commits; the background flush commits meanwhile,
    # which made SQLite refuse to upgrade the session's read snapshot to a write.
    logger = SQLLogger(make_config(db_url), flush_interval=0.02)
    run_id = logger.run()
    for trial in range(3):
        run = logger.get_current_run()
        logger.log_metric("loss", 1.0)
        deadline = time.monotonic() + 5
        while len(logger.buffer) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)
        run.tags = ["edited", str(trial)]
        logger.session.commit()
    logger.finish()
    run = SQLFinder(make_config(db_url)).find_run(run_id)
    assert run.tags == ["edited", "2"] and run.summary["loss"].count == 3


def test_metrics_added_through_the_orm_count_in_summaries_and_best_run(db_url):
    logger = SQLLogger(make_config(db_url))
    first = logger.run()
    logger.log_metric("acc", 0.5, step=0)
    logger.finish()
    second = logger.run()
    logger.session.add(Metric(run_id=int(second), key="acc", value=0.9, step=0))
    logger.session.add(Metric(run_id=int(second), key="acc", value=0.7, step=1))
    logger.session.commit()
    logger.finish()
    finder = SQLFinder(make_config(db_url))
    summary = finder.find_run(second).summary["acc"]
    assert (summary.count, summary.max, summary.last, summary.last_step) == (2, 0.9, 0.7, 1)
    assert finder.find_best_run("vision", "acc", "max").id == second != first


def _wait_for_a_background_flush(logger):
    logger.log_metric("loss", 1.0)
    deadline = time.monotonic() + 5
    while len(logger.buffer) and time.monotonic() < deadline:
        time.sleep(0.01)


def test_the_2x_session_commits_rolls_back_and_nests_as_sqlalchemy_does(db_url):
    from sqlalchemy import update

    logger = SQLLogger(make_config(db_url), flush_interval=0.02)
    run_id = logger.run(tags=["start"])
    finder = SQLFinder(make_config(db_url))

    # A change autoflushed by a query holds the write lock until the session commits;
    # logging meanwhile, and then committing, must not wait on it.
    logger.get_current_run().tags = ["autoflushed"]
    logger.session.query(Experiment).count()
    logger.log_metric("loss", 1.0)
    logger.session.commit()
    assert finder.find_run(run_id).tags == ["autoflushed"]

    logger.get_current_run().tags = ["rolled back"]
    logger.session.rollback()
    assert finder.find_run(run_id).tags == ["autoflushed"]

    # A Core statement through the session, after a flush committed behind its snapshot.
    session = logger.session
    session.get(Experiment, run_id)
    _wait_for_a_background_flush(logger)
    session.execute(update(Experiment).where(Experiment.id == run_id).values(tags=["core"]))
    session.commit()
    assert finder.find_run(run_id).tags == ["core"]

    with logger.session.begin_nested():
        logger.get_current_run().tags = ["nested"]
    logger.session.commit()
    logger.finish()
    run = finder.find_run(run_id)
    assert run.tags == ["nested"] and run.stored_status == "completed"

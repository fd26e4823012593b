"""ato.tracking.session: 2.x's ``logger.session`` beside the tracker's own writes."""

from __future__ import annotations

import time

from ato.db_routers.sql.manager import SQLFinder, SQLLogger
from ato.db_routers.sql.schema import Experiment, Fingerprint, Metric
from tests.tracking.helpers import make_config, wait_until


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


def test_a_2x_style_session_write_survives_a_flush_in_between(db_url):
    # 2.x code edits the ORM row and commits; the background flush commits meanwhile,
    # which made SQLite refuse to upgrade the session's read snapshot to a write.
    logger = SQLLogger(make_config(db_url), flush_interval=0.02)
    run_id = logger.run()
    for trial in range(3):
        run = logger.get_current_run()
        logger.log_metric("loss", 1.0)
        wait_until(lambda: not len(logger.buffer))
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
    wait_until(lambda: not len(logger.buffer))


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

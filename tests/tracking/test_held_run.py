"""A run a logger holds for a search: left 'running' when the program starts or ends
runs meanwhile, and ended by the process's end as the current run is."""

from __future__ import annotations

import os

from sqlalchemy import text

from ato.tracking import SQLLogger
from ato.tracking.process import hooks


def _row(logger: SQLLogger, run_id: int) -> tuple[str, object]:
    with logger.engine.connect() as connection:
        query = text("SELECT status, end_time FROM experiments WHERE id = :id")
        return tuple(connection.execute(query, {"id": run_id}).one())


def test_a_held_run_is_left_running_by_the_programs_run_and_finish(tmp_path):
    logger = SQLLogger.open(f"sqlite:///{tmp_path}/runs.db", "p")
    held = int(logger.run())
    logger.held.hold(held)
    assert logger.held.is_current() and logger.held.left() is None
    own = int(logger.run(tags=["own"]))
    assert logger.held.left() == held and _row(logger, held) == ("running", None)
    logger.finish()
    assert _row(logger, own)[0] == "completed" and _row(logger, held)[0] == "running"
    assert logger in hooks.running()  # a SIGTERM now still reaches the held run
    logger.held.mark("killed", "terminated by SIGTERM")
    status, ended = _row(logger, held)
    assert status == "killed" and ended is not None
    logger.held.release()
    assert logger not in hooks.running() and logger.held.run_id is None


def test_finishing_a_held_run_keeps_what_it_asked(tmp_path):
    logger = SQLLogger.open(f"sqlite:///{tmp_path}/runs.db", "p")
    held = int(logger.run())
    logger.held.hold(held)
    logger.finish("failed", "the program's word")
    assert logger.active_run_id is None and _row(logger, held) == ("running", None)
    assert logger.held.asked == ("failed", "the program's word")
    logger.held.release()


def test_a_forked_child_holds_nothing_of_its_parents(tmp_path):
    logger = SQLLogger.open(f"sqlite:///{tmp_path}/runs.db", "p")
    run_id = int(logger.run())
    logger.held.hold(run_id)
    pid = os.fork()
    if pid == 0:  # the child: a signal to it must not end the parent's held run
        os._exit(0 if logger.held.run_id is None else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    logger.held.release()
    logger.finish()

"""ato.tracking.handle: the run handle ``logger.run()`` returns."""

from __future__ import annotations

import copy
import pickle

import pytest

from ato.db_routers.sql.manager import SQLFinder, SQLLogger
from tests.tracking.helpers import make_config


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


def test_the_run_handle_pickles_and_copies_as_its_id(sqlite_url):
    logger = SQLLogger(make_config(sqlite_url))
    run = logger.run()
    for clone in (pickle.loads(pickle.dumps(run)), copy.copy(run), copy.deepcopy(run)):
        assert clone == int(run) and type(clone) is int
    assert copy.deepcopy({"run": run}) == {"run": int(run)}
    logger.finish()

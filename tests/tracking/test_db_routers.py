"""ato.db_routers: the tracker under its ato 2.x import paths, with 2.x's results."""

from __future__ import annotations

import pytest

from ato import tracking
from ato.db_routers import BaseFinder, BaseLogger
from ato.db_routers.sql import manager
from ato.db_routers.sql import schema as schema_2x
from ato.errors import ProjectNotFoundError
from ato.tracking import schema
from tests.tracking.helpers import make_config
from tests.tracking.test_finder import log_runs


def test_the_2x_finder_answers_a_missing_project_or_metric_with_an_error_dict(db_url):
    log_runs(db_url)
    finder = manager.SQLFinder(make_config(db_url))
    assert finder.find_best_run("nope", "acc") == {"error": "Project not found"}
    assert finder.find_best_run("vision", "nope") == {"error": "Run not found"}
    assert finder.get_trace_statistics("nope", "model_forward") == {"error": "Project not found"}
    assert (
        finder.find_best_run("vision", "acc").id
        == tracking.SQLFinder(make_config(db_url)).find_best_run("vision", "acc").id
    )


def test_the_2x_classes_are_the_core_ones_and_derive_from_the_2x_bases(sqlite_url):
    logger = manager.SQLLogger(make_config(sqlite_url))
    assert isinstance(logger, tracking.SQLLogger) and isinstance(logger, BaseLogger)
    assert logger.config.experiment.project_name == "vision"
    finder = manager.SQLFinder(make_config(sqlite_url))
    assert isinstance(finder, tracking.SQLFinder) and isinstance(finder, BaseFinder)
    assert not issubclass(tracking.SQLLogger, BaseLogger)  # the core knows nothing of 2.x
    for name in schema_2x.__all__:
        assert getattr(schema_2x, name) is getattr(schema, name)


def test_the_core_finder_raises_where_2x_returned_an_error(sqlite_url):
    with tracking.SQLLogger(make_config(sqlite_url)).run():
        pass
    with pytest.raises(ProjectNotFoundError) as raised:
        tracking.SQLFinder(make_config(sqlite_url)).find_best_run("nope", "acc")
    assert isinstance(raised.value, LookupError)

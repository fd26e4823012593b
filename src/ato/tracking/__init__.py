"""Experiment tracking: runs, metrics, artifacts and fingerprints in SQLite or PostgreSQL.

    from ato.tracking import SQLLogger, SQLFinder

    logger = SQLLogger(config)            # config.experiment.project_name / .sql.db_path
    with logger.run(tags=["baseline"]):   # 'completed', or 'failed' with the traceback
        logger.log_metric("loss", 0.25)   # buffered; written in batches

    finder = SQLFinder(config)
    best = finder.find_best_run("my_project", "val_accuracy", mode="max")
    best.config.lr, best.summary["val_accuracy"].max, best.status

Modules, from the bottom up (each imports only those above it):

- :mod:`~ato.tracking.settings` (what the tracker reads from a config),
  :mod:`~ato.tracking.pids` (is a run's process alive), :mod:`~ato.tracking.process`
  (signals, exit and fork), :mod:`~ato.tracking.schema` (tables),
  :mod:`~ato.tracking.summaries`;
- :mod:`~ato.tracking.database` (engines; :func:`~ato.tracking.database.write`, the one
  way a write transaction is run), :mod:`~ato.tracking.migrations` (versioned, additive);
- the writer: :mod:`~ato.tracking.values` (checks), :mod:`~ato.tracking.buffer`
  (``MetricBuffer``), :mod:`~ato.tracking.writes` (the SQL of each write),
  :mod:`~ato.tracking.scopes` (provenance and fingerprints),
  :mod:`~ato.tracking.starting` (what a run records when it starts),
  :mod:`~ato.tracking.secrets` (URL passwords masked),
  :mod:`~ato.tracking.session` (2.x's ``logger.session``), :mod:`~ato.tracking.handle`
  (``ActiveRun``), :mod:`~ato.tracking.logger` (``SQLLogger``);
- beside it, the reader: :mod:`~ato.tracking.runs` (the records queries return),
  :mod:`~ato.tracking.reading` (read-only, any schema version),
  :mod:`~ato.tracking.traces` (versions of traced code), :mod:`~ato.tracking.finder`
  (``SQLFinder``);
- :mod:`~ato.tracking.merge` (the databases of separate jobs into one).

``ato.db_routers.sql.manager`` is the same API under its 2.x name, with 2.x's return
values where this one raises.
"""

from __future__ import annotations

from ato.tracking.finder import SQLFinder
from ato.tracking.handle import ActiveRun
from ato.tracking.logger import SQLLogger
from ato.tracking.runs import (
    ArtifactRecord,
    FingerprintRecord,
    MetricPoint,
    MetricSummaryRecord,
    ProjectRecord,
    Run,
)

__all__ = [
    "ActiveRun",
    "ArtifactRecord",
    "FingerprintRecord",
    "MetricPoint",
    "MetricSummaryRecord",
    "ProjectRecord",
    "Run",
    "SQLFinder",
    "SQLLogger",
]

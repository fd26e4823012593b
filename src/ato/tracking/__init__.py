"""Experiment tracking: runs, metrics, artifacts and fingerprints in SQLite or PostgreSQL.

    from ato.tracking import SQLLogger, SQLFinder

    logger = SQLLogger(config)            # config.experiment.project_name / .sql.db_path
    with logger.run(tags=["baseline"]):   # 'completed', or 'failed' with the traceback
        logger.log_metric("loss", 0.25)   # buffered; written in batches

    finder = SQLFinder(config)
    best = finder.find_best_run("my_project", "val_accuracy", mode="max")
    best.config.lr, best.summary["val_accuracy"].max, best.status

Modules: :mod:`~ato.tracking.schema` (tables), :mod:`~ato.tracking.migrations`
(versioned, additive), :mod:`~ato.tracking.database` (engines and retries),
:mod:`~ato.tracking.logger`, :mod:`~ato.tracking.finder`, :mod:`~ato.tracking.runs`
(the records queries return). ``ato.db_routers.sql.manager`` is the same API under its
2.x name.
"""

from __future__ import annotations

from ato.tracking.finder import SQLFinder
from ato.tracking.logger import ActiveRun, SQLLogger
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

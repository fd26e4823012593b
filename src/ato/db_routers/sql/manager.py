"""``from ato.db_routers.sql.manager import SQLLogger, SQLFinder`` as in ato 2.x.

The classes of :mod:`ato.tracking`, also deriving from 2.x's base classes; where the
core raises because a project or a run is not there, the finder returns what 2.x
returned: ``{'error': 'Project not found'}`` or ``{'error': 'Run not found'}``.
"""

from __future__ import annotations

from typing import Any

from ato import tracking
from ato.db_routers import BaseFinder, BaseLogger
from ato.errors import ProjectNotFoundError, RunNotFoundError

__all__ = ["SQLFinder", "SQLLogger"]


class SQLLogger(tracking.SQLLogger, BaseLogger):
    """:class:`ato.tracking.SQLLogger` under its 2.x name."""


class SQLFinder(tracking.SQLFinder, BaseFinder):
    """:class:`ato.tracking.SQLFinder` with 2.x's ``{'error': ...}`` results."""

    def find_best_run(  # type: ignore[override]
        self, project_name: str, metric_key: str, mode: str = "max"
    ) -> tracking.Run | dict[str, str]:
        try:
            return super().find_best_run(project_name, metric_key, mode)
        except (ProjectNotFoundError, RunNotFoundError) as error:
            return _as_2x(error)

    def get_trace_statistics(self, project_name: str, trace_id: str) -> dict[str, Any]:
        try:
            return super().get_trace_statistics(project_name, trace_id)
        except ProjectNotFoundError as error:
            return _as_2x(error)


def _as_2x(error: ProjectNotFoundError | RunNotFoundError) -> dict[str, str]:
    found = "Project" if isinstance(error, ProjectNotFoundError) else "Run"
    return {"error": f"{found} not found"}

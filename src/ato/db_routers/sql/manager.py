"""``from ato.db_routers.sql.manager import SQLLogger, SQLFinder`` as in ato 2.x."""

from __future__ import annotations

from ato.tracking import SQLFinder, SQLLogger

__all__ = ["SQLFinder", "SQLLogger"]

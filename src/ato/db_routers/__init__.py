"""ato 2.x's home of the tracker; the implementation lives in :mod:`ato.tracking`, and
:mod:`ato.db_routers.sql.manager` adapts it to 2.x's API."""

from __future__ import annotations

from typing import Any

__all__ = ["BaseFinder", "BaseLogger"]


class BaseLogger:
    """What 2.x loggers derived from: holds the config."""

    def __init__(self, config: Any) -> None:
        self.config = config


class BaseFinder:
    """What 2.x finders derived from: holds the config."""

    def __init__(self, config: Any) -> None:
        self.config = config

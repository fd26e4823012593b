"""What the tracker reads from a config: ``config.experiment.project_name`` and
``config.experiment.sql.db_path``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ato.errors import TrackerConfigError

__all__ = ["DEFAULT_DB", "database_url", "setting", "tracker_settings"]

_LAYOUT = """\
config.experiment.project_name = 'my_project'
config.experiment.sql.db_path = 'sqlite:///experiments.db'"""


def setting(config: Any, path: str) -> Any:
    """``config``'s value at dotted ``path``; a missing key raises naming the first
    missing part and showing the layout the tracker expects."""
    node = config
    parts = path.split(".")
    for depth, part in enumerate(parts):
        if not isinstance(node, Mapping) or part not in node:
            where = ".".join(parts[: depth + 1])
            raise TrackerConfigError(
                f"The tracker reads config.{path}, but config.{where} is missing. "
                f"Set it in a view, e.g.:\n{_LAYOUT}"
            )
        node = node[part]
    return node


def tracker_settings(config: Any) -> tuple[str, str]:
    """``(project_name, db_path)`` from ``config.experiment``."""
    project = setting(config, "experiment.project_name")
    url = setting(config, "experiment.sql.db_path")
    if not isinstance(project, str) or not project:
        raise TrackerConfigError(
            f"config.experiment.project_name must be a non-empty string, not {project!r}."
        )
    return project, url


DEFAULT_DB = "sqlite:///experiments.db"


def database_url(db: str | None) -> str:
    """The database the ``ato`` command and ``compare_runs`` read: ``db`` (a URL, or a
    path to an SQLite file), else ``$ATO_DB``, else ``experiments.db`` in the current
    folder."""
    url = db or os.environ.get("ATO_DB") or DEFAULT_DB
    return url if "://" in url else f"sqlite:///{url}"

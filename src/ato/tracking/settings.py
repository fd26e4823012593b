"""What the tracker reads from a config (``config.experiment.project_name`` and
``config.experiment.sql.db_path``), and where else a database URL comes from."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ato.errors import TrackerConfigError
from ato.tracking.secrets import masked_url

__all__ = [
    "CONFIG_URL",
    "DEFAULT_DB",
    "Origin",
    "database_origin",
    "database_url",
    "setting",
    "tracker_settings",
]


@dataclass(frozen=True)
class Origin:
    """Where a database URL was given (a config key, a command-line option, an
    argument), so that an error about the URL names the setting to change.

    ``keyword``: the URL reads as ``name='url'`` (``--db='...'``); otherwise as
    ``'url' (name)``, for a positional command-line argument. ``note`` follows it (for
    a default the user never typed).
    """

    name: str
    keyword: bool = True
    note: str = ""

    def given(self, url: Any) -> str:
        """``url`` as given, its password masked: ``--db='sqlite:///runs.db'``."""
        shown = repr(masked_url(url) if isinstance(url, str) else url)
        return (f"{self.name}={shown}" if self.keyword else f"{shown} ({self.name})") + self.note

    def elsewhere(self) -> str:
        """How to give another URL: ``point --db elsewhere``."""
        return f"point {self.name} elsewhere"


CONFIG_URL = Origin("experiment.sql.db_path")

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


def database_origin(db: str | None, name: str = "--db") -> Origin:
    """Where :func:`database_url` took its URL from: ``db`` (given as ``name``), else
    ``$ATO_DB``, else the default."""
    if db:
        return Origin(name)
    if os.environ.get("ATO_DB"):
        return Origin("ATO_DB")
    return Origin(name, note=f", the default: neither {name} nor ATO_DB was given")

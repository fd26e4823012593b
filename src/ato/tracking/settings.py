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
    """Where a database URL was given (a config key, a command-line option or argument,
    an environment variable, a parameter), so that an error about it names what the
    user wrote and how to give another.

    ``reads``: how the URL is named, ``{}`` standing for it (``'--db={}'``); ``fix``: how to
    give another, ``{}`` standing for what (``'give --db {}'``); ``typed``: what the user
    typed, when the URL was made from it (a path for ``sqlite:///path``).
    """

    reads: str
    fix: str
    typed: str | None = None

    def given(self, url: Any) -> str:
        """The URL as given, its password masked: ``--db='runs.db'``."""
        text = self.typed if self.typed is not None else url
        return self.reads.format(repr(masked_url(text) if isinstance(text, str) else text))

    def instead(self, what: str = "another path") -> str:
        """How to give another URL: ``give --db another path``."""
        return self.fix.format(what)


CONFIG_URL = Origin("experiment.sql.db_path={}", "point experiment.sql.db_path at {}")

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
    """Where :func:`database_url` took its URL from: ``db`` (given as ``name``, an option
    or a parameter), else ``$ATO_DB``, else the default."""
    if db:
        return Origin(f"{name}={{}}", f"give {name} {{}}", typed=db)
    env = os.environ.get("ATO_DB")
    if env:
        return Origin("ATO_DB={}", "set ATO_DB to {}", typed=env)
    return Origin(
        f"the default database {{}} (no {name} given, ATO_DB unset)",
        f"give {name} {{}} (or set ATO_DB)",
    )

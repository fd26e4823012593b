"""The search's errors, under their names in :mod:`ato.hyperopt` (they live in the tree
of :mod:`ato.errors`; a missing optional extra is an
:class:`~ato.errors.OptionalDependencyError`)."""

from __future__ import annotations

from ato.errors import OptionalDependencyError as MissingDependencyError
from ato.errors import (
    RankStoppedError,
    SearchError,
    SearchRunningError,
    SearchSettingsError,
    SearchSpaceError,
    SearchStoppedError,
    TrialFailedError,
    TrialResultError,
)

__all__ = [
    "MissingDependencyError",
    "RankStoppedError",
    "SearchError",
    "SearchRunningError",
    "SearchSettingsError",
    "SearchSpaceError",
    "SearchStoppedError",
    "TrialFailedError",
    "TrialResultError",
]

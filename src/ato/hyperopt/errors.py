"""Errors of the hyperparameter search, under :class:`ato.errors.AtoError`::

    AtoError
    └── SearchError                                   hyperparameter search
        ├── SearchSpaceError     (ValueError)         a search space against its rules
        ├── SearchSettingsError  (ValueError)         HyperBand's own arguments out of range
        ├── TrialFailedError     (RuntimeError)       on_error='raise': a trial raised
        └── MissingDependencyError (ImportError)      an optional extra that is not installed

They live here until the search joins the tree drawn in :mod:`ato.errors`.
"""

from __future__ import annotations

from ato.errors import AtoError

__all__ = [
    "MissingDependencyError",
    "SearchError",
    "SearchSettingsError",
    "SearchSpaceError",
    "TrialFailedError",
]


class SearchError(AtoError):
    """The hyperparameter search (:mod:`ato.hyperopt`) could not do what was asked."""


class SearchSpaceError(SearchError, ValueError):
    """A search space that breaks a rule; the message names the parameter and the rule."""

    def __init__(self, message: str, parameter: str = "") -> None:
        super().__init__(message)
        self.parameter = parameter


class SearchSettingsError(SearchError, ValueError):
    """An argument of the search itself (``halving_rate``, ``mode``...) out of range."""


class TrialFailedError(SearchError, RuntimeError):
    """With ``on_error='raise'``: a trial raised; its traceback is in the message."""


class MissingDependencyError(SearchError, ImportError):
    """An optional dependency that is not installed; the message says what to install."""

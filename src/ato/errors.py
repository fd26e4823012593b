"""Every error ato raises on purpose.

Each class also derives from the builtin exception that callers already catch, so code
written as ``except KeyError`` or ``except ValueError`` keeps working::

    AtoError
    ├── ConfigKeyError          (KeyError, AttributeError)  a key that is not in a config
    │   ├── KeyPathError (ConfigStructureError)             a dotted key path that cannot be
    │   │                                                   followed (see ato.paths)
    │   └── NoDefaultError      (ValueError)                get_default() on a config without one
    ├── FrozenConfigError       (TypeError, AttributeError) a write to a frozen/immutable config
    ├── ConfigStructureError    (ValueError, IndexError)    keys and values that do not line up
    ├── ConfigFileError         (ValueError)                a config file that cannot be read
    │   ├── UnsupportedFormatError                          an extension ato has no format for
    │   ├── ConfigFileNotFoundError (FileNotFoundError)     a config file (or a _base_) not there
    │   └── InheritanceCycleError                           ``_base_`` files that include each other
    ├── UnrepresentableValueError (ValueError, TypeError)   a value a file format cannot hold
    ├── UnhashableValueError    (TypeError)                 a value value_hash cannot hash
    ├── InvalidArgumentError    (ValueError)                an argument a function does not accept
    │   └── ArgumentTypeError   (TypeError)                 ... because of its type
    ├── ScopeError              (ValueError)                misuse of scopes and views
    │   ├── CommandLineError                            a command line ato cannot follow
    │   │   ├── OverrideParseError                      a token against the grammar
    │   │   ├── UnknownViewError                        a view name no scope has
    │   │   ├── UnknownKeyError                         strict: a key no view sets
    │   │   ├── OverrideReplacedError                   strict: a value a lazy view overwrote
    │   │   └── OverridePathError (ConfigStructureError) a key path through a non-mapping
    │   ├── OverrideTypeError   (TypeError)                 strict: a value of another type
    │   ├── LayerPathError (ConfigStructureError)           a searched key through a non-mapping
    │   ├── ArgparsePlacementError (RuntimeError)           parse_args() where it cannot work
    │   ├── ScopeArgumentError  (TypeError)                 an argument of the wrong kind given
    │   │                                                   to Scope, MultiScope or their methods
    │   ├── ViewCycleError                                  views that chain to each other
    │   └── ViewOrderError                                  a view chained with a lazy view
    ├── TrackerError                                        experiment tracking
    │   ├── TrackerConfigError  (KeyError, AttributeError)  a config without experiment.sql...
    │   ├── MetricValueError    (TypeError, ValueError)     a metric that is not a number
    │   ├── NoActiveRunError    (RuntimeError)              logging before logger.run()
    │   ├── TrackerDatabaseError (RuntimeError)             a file that is not an ato database,
    │   │   │                                               or one from a newer ato
    │   │   ├── DatabaseUnreachableError                    a server lost or refusing
    │   │   └── StoredValueError                            a row that is not what ato wrote
    │   ├── ProjectNotFoundError (LookupError)              a project no run was logged in
    │   ├── RunNotFoundError    (LookupError)               no run matches the query
    │   └── SearchNotFoundError (LookupError)               no search has that id
    ├── SearchError                                         hyperparameter search
    │   ├── SearchSpaceError    (ValueError)                a search space against its rules
    │   ├── SearchSettingsError (ValueError)                HyperBand's arguments out of range
    │   ├── TrialFailedError    (RuntimeError)              on_error='raise': a trial raised
    │   └── TrialResultError    (TypeError)                 a trial returned no number
    ├── UsageError              (ValueError)                a mistake in an ``ato`` command line
    └── OptionalDependencyError (ImportError)               an extra that is not installed

    AtoWarning (UserWarning)                                e.g. a key set only on the command line

Messages say what was wrong, where (file and line, key path) and how to fix it.
"""

from __future__ import annotations

import errno
from collections.abc import Collection

# Named here too (in __all__), where earlier versions had them.
from ato.message_text import close_matches, did_you_mean, shown

__all__ = [
    "ArgparsePlacementError",
    "ArgumentTypeError",
    "AtoError",
    "AtoWarning",
    "CommandLineError",
    "ConfigFileError",
    "ConfigFileNotFoundError",
    "ConfigKeyError",
    "ConfigStructureError",
    "DatabaseUnreachableError",
    "FrozenConfigError",
    "InheritanceCycleError",
    "InvalidArgumentError",
    "KeyPathError",
    "LayerPathError",
    "MetricValueError",
    "NoActiveRunError",
    "NoDefaultError",
    "OptionalDependencyError",
    "OverrideParseError",
    "OverridePathError",
    "OverrideReplacedError",
    "OverrideTypeError",
    "ProjectNotFoundError",
    "RankStoppedError",
    "RunNotFoundError",
    "ScopeArgumentError",
    "ScopeError",
    "SearchError",
    "SearchNotFoundError",
    "SearchRunningError",
    "SearchSettingsError",
    "SearchSpaceError",
    "SearchStoppedError",
    "StoredValueError",
    "TrackerConfigError",
    "TrackerDatabaseError",
    "TrackerError",
    "TrialFailedError",
    "TrialResultError",
    "UnhashableValueError",
    "UnknownKeyError",
    "UnknownViewError",
    "UnrepresentableValueError",
    "UnsupportedFormatError",
    "UsageError",
    "ViewCycleError",
    "ViewOrderError",
    "close_matches",
    "did_you_mean",
    "shown",
]


class AtoError(Exception):
    """Root of every error ato raises on purpose."""

    def __str__(self) -> str:
        # KeyError would otherwise show the message with quotes around it.
        return str(self.args[0]) if self.args else ""


class ConfigKeyError(AtoError, KeyError, AttributeError):
    """A key that is not in a config, read as an item or as an attribute."""

    def __init__(self, message: str, key: object = None) -> None:
        super().__init__(message)
        self.key = key

    @classmethod
    def missing(cls, key: object, keys: Collection[object]) -> ConfigKeyError:
        """``key`` is not among a config's ``keys``: suggest close ones, or list a few."""
        hint = did_you_mean(key, keys) if isinstance(key, str) else ""
        if not hint and len(keys) <= 12:
            shown = ", ".join(repr(k) for k in keys) or "none"
            hint = f" Its keys: {shown}."
        return cls(f"{key!r} is not in this config.{hint}", key)


class FrozenConfigError(AtoError, TypeError, AttributeError):
    """A write to a config that was frozen or made immutable."""

    @classmethod
    def refusing(cls, action: str, immutable: bool) -> FrozenConfigError:
        """Refuse ``action`` (``"set 'lr'"``) on a frozen, or an immutable, config."""
        if immutable:
            return cls(
                f"Cannot {action}: this config was made immutable with "
                f"convert_to_immutable(). Work on a writable copy from config.clone()."
            )
        return cls(
            f"Cannot {action}: this config is frozen. Call config.defrost() first, "
            f"write inside `with config.defrosted():`, or work on config.clone()."
        )


class ConfigStructureError(AtoError, ValueError, IndexError):
    """Keys and values that do not line up (e.g. two keys, three values)."""


class ConfigFileError(AtoError, ValueError):
    """A config file that cannot be read: malformed, unsafe, or of the wrong shape.

    ``path``, ``line`` and ``column`` (1-based) say where, when known.
    """

    def __init__(
        self,
        message: str,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        where = ""
        if path is not None:
            where = str(path)
            if line is not None:
                where += f":{line}"
                if column is not None:
                    where += f":{column}"
            where += ": "
        super().__init__(where + message)
        self.path = path
        self.line = line
        self.column = column


class UnsupportedFormatError(ConfigFileError):
    """A file extension with no reader or writer."""


class ConfigFileNotFoundError(ConfigFileError, FileNotFoundError):
    """A config file that does not exist: read directly, or named by another file's
    ``_base_``. ``filename`` and ``errno`` are set as ``open()`` sets them."""

    def __init__(self, message: str, path: str) -> None:
        super().__init__(message, path=path)
        self.filename = path
        self.errno = errno.ENOENT
        self.strerror = message


class InheritanceCycleError(ConfigFileError):
    """Config files whose ``_base_`` entries include each other."""


class UnrepresentableValueError(AtoError, ValueError, TypeError):
    """A value that the chosen file format cannot hold, with the key path that holds it."""

    def __init__(self, message: str, key_path: str = "") -> None:
        super().__init__(message)
        self.key_path = key_path


class KeyPathError(ConfigKeyError, ConfigStructureError):
    """A dotted key path (``'model.layers.0'``) that cannot be split, read or written.

    ``path`` is the whole path as given, ``parts`` its parts, ``depth`` the index of the
    part that failed (``None`` when the path itself is malformed), ``reason`` one of
    ``'empty part'``, ``'missing'``, ``'index out of range'`` or ``'not a mapping'``, and
    ``found`` what stands at :attr:`where` when it is not a mapping (else None).
    """

    def __init__(
        self,
        message: str,
        path: str = "",
        parts: tuple[object, ...] = (),
        depth: int | None = None,
        reason: str = "",
        found: object = None,
    ) -> None:
        super().__init__(message, path)
        self.path, self.parts, self.depth, self.reason = path, parts, depth, reason
        self.found = found

    @property
    def where(self) -> str:
        """The dotted path up to and including the part that failed."""
        return ".".join(str(part) for part in self.parts[: (self.depth or 0) + 1])


class NoDefaultError(ConfigKeyError, ValueError):
    """``get_default()`` on a config that was given no default."""


class UnhashableValueError(AtoError, TypeError):
    """A value of a type that ato cannot hash canonically (see :mod:`ato.value_hash`)."""


class InvalidArgumentError(AtoError, ValueError):
    """An argument that a function of ato does not accept (a value outside its choices)."""


class ArgumentTypeError(InvalidArgumentError, TypeError):
    """An argument of a type that a function of ato does not accept."""


class ScopeError(AtoError, ValueError):
    """Misuse of a scope: duplicate names, lazy blocks outside views, bad views."""


class CommandLineError(ScopeError):
    """A command line that ato cannot follow; the entry point exits with status 2."""


class OverrideParseError(CommandLineError):
    """A command-line token that does not follow the grammar (see :mod:`ato.parser`)."""

    def __init__(self, token: str, problem: str, column: int | None = None, key: str = "") -> None:
        where = f" (key {key!r})" if key else ""
        at = f" at column {column}" if column is not None else ""
        shown = repr(token) if len(token) <= 100 else f"{token[:60]!r}... ({len(token)} characters)"
        super().__init__(f"Cannot parse override {shown}{where}: {problem}{at}")
        self.token, self.problem, self.column, self.key = token, problem, column, key


class UnknownViewError(CommandLineError):
    """A view name that no scope has."""


class UnknownKeyError(CommandLineError):
    """In strict mode, a command-line key that no view sets."""


class OverrideReplacedError(CommandLineError):
    """In strict mode, a command-line value that a lazy view overwrote afterwards."""


class OverridePathError(CommandLineError, ConfigStructureError):
    """A command-line key path that goes through a value that is not a mapping."""


class LayerPathError(ScopeError, ConfigStructureError):
    """A key of a layer written after the command line (a searched key, another parser's
    config) whose path goes through a value that is not a mapping."""


class OverrideTypeError(ScopeError, TypeError):
    """In strict mode, a command-line value whose type differs from the one views set."""


class ArgparsePlacementError(ScopeError, RuntimeError):
    """``parse_args()`` called where argparse's values cannot reach the config: after the
    scope assembled it."""


class ScopeArgumentError(ScopeError, TypeError):
    """An argument of the wrong kind given to ``Scope``, ``MultiScope`` or their methods
    (a priority that is not a number, a non-function decorated as the entry point...)."""


class ViewCycleError(ScopeError):
    """Views whose ``chain_with`` lead back to themselves."""


class ViewOrderError(ScopeError):
    """A non-lazy view whose ``chain_with`` names a lazy view: lazy views apply after every
    non-lazy one, so the view would run before the view it needs."""


class TrackerError(AtoError):
    """Experiment tracking (:mod:`ato.tracking`) could not do what was asked."""


class TrackerConfigError(TrackerError, KeyError, AttributeError):
    """A config that lacks a key the tracker needs (``experiment.sql.db_path``...)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class MetricValueError(TrackerError, TypeError, ValueError):
    """A metric value that is not a real number."""


class NoActiveRunError(TrackerError, RuntimeError):
    """Logging to a tracker that has no run started (or one already finished)."""


class TrackerDatabaseError(TrackerError, RuntimeError):
    """A database the tracker cannot use: not SQLite, or written by a newer ato."""


class DatabaseUnreachableError(TrackerDatabaseError):
    """The tracker's database server is gone, refusing or unreachable (its connection
    lost): what was committed is kept; a write may succeed once it is back. ``reason``:
    what the driver said."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


class StoredValueError(TrackerDatabaseError):
    """A value read from the database that is not what ato wrote (a row edited by hand,
    a damaged file)."""


class ProjectNotFoundError(TrackerError, LookupError):
    """A project name under which no run was logged (ato 2.x returned ``{'error': ...}``)."""


class RunNotFoundError(TrackerError, LookupError):
    """No run matches a query that must name one (e.g. none logged the metric asked for)."""


class SearchNotFoundError(TrackerError, LookupError):
    """No hyperparameter search of the database has the id (or id prefix) asked for."""


class AtoWarning(UserWarning):
    """Something ato did as asked but that looks unintended."""


class UsageError(AtoError, ValueError):
    """A mistake in how the ``ato`` command was called (it exits with status 2)."""


class OptionalDependencyError(AtoError, ImportError):
    """A feature needs an optional extra that is not installed; the message says which
    (``pip install 'ato[plot]'``)."""


class SearchError(AtoError):
    """The hyperparameter search (:mod:`ato.hyperopt`) could not do what was asked."""


class SearchSpaceError(SearchError, ValueError):
    """A search space that breaks a rule; the message names the parameter and the rule."""

    def __init__(self, message: str, parameter: str = "") -> None:
        super().__init__(message)
        self.parameter = parameter


class SearchRunningError(SearchError, RuntimeError):
    """The search is running already, in another process: two would each run every
    trial of it."""


class SearchStoppedError(SearchError, RuntimeError):
    """A SIGTERM or SIGHUP reached a tracked search and the program's own handler let
    the program go on: the search stops there (the trial under way may have been cut
    short, so it is not stored) and resumes when started again. ``interrupted``: always
    (the search reads 'killed')."""

    interrupted = True


class SearchSettingsError(SearchError, ValueError):
    """An argument of the search itself (``halving_rate``, ``mode``...) out of range."""


class TrialFailedError(SearchError, RuntimeError):
    """A trial raised: with ``on_error='raise'``, on the ranks of a distributed search
    other than the one whose trial it was (that rank raises the trial's own error, as a
    search in one process does); or every trial of the final rung raised. The trial's
    traceback is in the message."""


class RankStoppedError(SearchError, RuntimeError):
    """A distributed search stopped because one of its ranks did (a trial raised
    ``SystemExit`` or ``KeyboardInterrupt`` there, or its process ended); the message
    names the rank (``rank``, when known). ``interrupted``: by ``KeyboardInterrupt``, or
    by a SIGTERM the program's handler took there."""

    def __init__(self, message: str, interrupted: bool = False, rank: int | None = None) -> None:
        super().__init__(message)
        self.interrupted, self.rank = interrupted, rank


class TrialResultError(SearchError, TypeError):
    """The trial function returned something other than one number: a bug of the
    program, not of a trial, so the search stops whatever ``on_error`` says."""

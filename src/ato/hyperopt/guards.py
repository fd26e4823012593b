"""What a search refuses before its first trial: a second search on a scope that is
searching, ranks of a distributed search that were given different settings, and a
tracker that is none."""

from __future__ import annotations

import contextlib
import inspect
import threading
from collections.abc import Iterator
from typing import Any

from ato.hyperopt.errors import SearchSettingsError
from ato.hyperopt.group import ProcessGroup
from ato.message_text import did_you_mean, shown
from ato.scope import Scope

__all__ = ["MISSING", "check_arguments", "check_tracker", "first_difference", "searching"]

#: What :func:`first_difference` gives for a key one side lacks.
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "<missing>"})()


@contextlib.contextmanager
def searching(scope: Scope) -> Iterator[None]:
    """While a search runs, its scope runs no other: each trial's config is the scope's
    own, assembled in place, so a search started inside a trial (or in another thread)
    would change the config of the trial that is running."""
    with _GUARD:  # two threads starting searches at once: one of them is refused
        running = getattr(scope, _SEARCH_RUNNING, False)
        setattr(scope, _SEARCH_RUNNING, True)
    if running:
        raise SearchSettingsError(
            f"Scope {scope.name!r} is already running a search (this one was started "
            f"inside one of its trials, or from another thread). A trial's config is the "
            f"scope's config, assembled in place for each trial, so the two searches would "
            f"change each other's configs. Give the second search a scope of its own: "
            f"Scope(name=...)."
        )
    try:
        yield
    finally:
        setattr(scope, _SEARCH_RUNNING, False)


_SEARCH_RUNNING = "_ato_search_running"  # an attribute of the scope, while it searches
_GUARD = threading.Lock()


def first_difference(ours: Any, theirs: Any, where: str = "") -> tuple[str, Any, Any] | None:
    """The first place where two plain values (dicts, lists, scalars) differ, as
    ``(dotted path, ours, theirs)``; None when they are equal."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for key in [*ours, *(key for key in theirs if key not in ours)]:
            if key not in ours or key not in theirs:
                return f"{where}{key}", ours.get(key, MISSING), theirs.get(key, MISSING)
            found = first_difference(ours[key], theirs[key], f"{where}{key}.")
            if found is not None:
                return found
        return None
    if ours != theirs:
        return where.rstrip(".") or "the settings", ours, theirs
    return None


def check_tracker(tracker: Any) -> None:
    if tracker is None or (isinstance(tracker, str) and tracker):
        return
    from ato.tracking import SQLLogger

    if not isinstance(tracker, SQLLogger):
        raise SearchSettingsError(
            f"tracker is {shown(tracker)}; give an SQLLogger, a database URL such as "
            f"'sqlite:///experiments.db', or None (not tracked)."
        )


def check_arguments(
    cls: type, scope: Any, group: Any, unknown: dict[str, Any], *, mode: Any, on_error: Any
) -> None:
    """Refuse an argument no class of the search takes, a ``mode`` or ``on_error`` it
    does not know, and a scope or a process group of another kind (each would fail at
    the first trial, in ato's own code)."""
    if unknown:
        _refuse_unknown(cls, next(iter(unknown)))
    if mode not in ("min", "max"):
        raise SearchSettingsError(f"mode is {mode!r}; it must be 'max' or 'min'.")
    if on_error not in ("continue", "raise"):
        raise SearchSettingsError(
            f"on_error is {on_error!r}; it must be 'continue' (a raising trial ranks "
            f"last) or 'raise' (the search stops)."
        )
    if not isinstance(scope, Scope):
        raise SearchSettingsError(
            f"scope is {shown(scope)}; give the Scope whose config each trial gets: "
            f"scope = Scope(name='config'), then {cls.__name__}(scope, search_spaces, ...)."
        )
    if group is not None and not isinstance(group, ProcessGroup):
        raise SearchSettingsError(
            f"group is {shown(group)}; leave it out (one process), or use "
            f"DistributedHyperBand(..., rank=dist.get_rank(), "
            f"world_size=dist.get_world_size()) to share the trials among processes."
        )


def _refuse_unknown(cls: type, name: str) -> None:
    """An argument no class of the search takes: named with the likely one."""
    known = {
        parameter.name
        for owner in cls.__mro__
        if "__init__" in vars(owner)
        for parameter in inspect.signature(vars(owner)["__init__"]).parameters.values()
        if parameter.kind not in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL)
        and parameter.name != "self"
    }
    raise SearchSettingsError(
        f"{cls.__name__}() takes no argument {name!r}.{did_you_mean(name, sorted(known))} "
        f"It takes: {', '.join(sorted(known))}."
    )

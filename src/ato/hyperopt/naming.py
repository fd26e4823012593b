"""How a search names things: in its messages, the trial function (with its file and
line) and a trial's values (whatever their reprs do); in the tracker, its project."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ato.message_text import shown

if TYPE_CHECKING:
    from ato.hyperopt.outcomes import Trial

__all__ = ["named_function", "params_text", "project_of", "trial_tags"]


def params_text(params: Mapping[str, Any]) -> str:
    """``{'lr': 0.01, ...}`` for messages, whatever the values' reprs do."""

    def text(value: Any) -> str:
        try:
            return repr(value)
        except Exception:  # an int past Python's 4,300 digits, a repr that raises
            return shown(value)

    return "{" + ", ".join(f"{name!r}: {text(value)}" for name, value in params.items()) + "}"


def named_function(func: Any) -> str:
    """``name (file:line)`` of the trial function, for messages."""
    from ato.canonical import name_of
    from ato.fingerprint import unwrap

    while isinstance(func, functools.partial):  # named by what it calls
        func = func.func
    original = unwrap(func)
    name = name_of(original)
    code = getattr(original, "__code__", None)
    if code is None:
        return name
    return f"{name} ({code.co_filename}:{code.co_firstlineno})"


def project_of(config: Any) -> str:
    """The project a search's runs are filed in: ``experiment.project_name``, else
    'hyperopt'."""
    experiment = config.get("experiment")
    if isinstance(experiment, Mapping) and isinstance(experiment.get("project_name"), str):
        return str(experiment["project_name"])
    return "hyperopt"


def trial_tags(search_id: str | None, algorithm: str, trial: Trial) -> list[str]:
    """The tags of a trial's run: its search (how a search's running trials are found),
    algorithm, bracket and rung."""
    return [
        f"search:{search_id}",
        f"algorithm:{algorithm}",
        f"bracket:{trial.bracket}",
        f"rung:{trial.rung}",
    ]

"""A search's trials and their outcomes, as the search and its subclasses pass them."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ato.adict import ADict
from ato.hyperopt.errors import RankStoppedError, TrialFailedError
from ato.hyperopt.naming import params_text

__all__ = [
    "Outcome",
    "Position",
    "Trial",
    "best_first",
    "failed",
    "interrupted",
    "refuse_all_failed",
]

Position = tuple[int, int, int]  # (bracket, rung, trial)


@dataclass(frozen=True)
class Trial:
    """One evaluation to run: searched values at a rung of a bracket, with its budget."""

    bracket: int
    rung: int
    index: int
    params: Mapping[str, Any]
    budget: float | None = None

    @property
    def position(self) -> Position:
        return (self.bracket, self.rung, self.index)


@dataclass
class Outcome:
    """A trial's result: its metric (NaN when it raised), traceback, config snapshot."""

    trial: Trial
    metric: float
    error: str | None
    snapshot: ADict = field(repr=False)
    resumed: bool = False
    fatal: bool = False  # the trial function returned no number: the search stops
    stopped: str | None = None  # it raised SystemExit or KeyboardInterrupt: so does the search
    interrupted: bool = False  # what stopped it reads 'killed' (see :func:`interrupted`)


def interrupted(error: BaseException) -> bool:
    """Whether ``error`` stopping the search makes it 'killed' rather than 'failed': a
    Ctrl-C, or an error that says so (a SIGTERM the program's handler took, a rank
    stopped by either)."""
    return isinstance(error, KeyboardInterrupt) or bool(getattr(error, "interrupted", False))


def interruption(error: BaseException) -> str | None:
    """How ``error`` interrupted the search, for the line a person reads ('Ctrl-C', or
    the rank whose Ctrl-C or SIGTERM stopped it); None when it did not."""
    if isinstance(error, KeyboardInterrupt):
        return "Ctrl-C"
    if isinstance(error, RankStoppedError) and error.interrupted:
        return "Ctrl-C" if error.rank is None else f"on rank {error.rank}"
    return None


def failed(outcome: Outcome) -> bool:
    """Whether ``outcome`` chooses nothing: its trial raised, or gave NaN or an infinity
    (ranked last; the best of a rung failed, so did all of it)."""
    return outcome.error is not None or not math.isfinite(outcome.metric)


def best_first(outcomes: Sequence[Outcome], mode: str) -> list[Outcome]:
    """Best first for ``mode`` ('max' or 'min'); failed trials last, ties in trial order."""
    sign = -1.0 if mode == "max" else 1.0

    def key(item: tuple[int, Outcome]) -> tuple[int, float, int]:
        order, outcome = item
        if failed(outcome):
            return (1, 0.0, order)
        return (0, sign * outcome.metric, order)

    return [outcome for _, outcome in sorted(enumerate(outcomes), key=key)]


def refuse_all_failed(best: Outcome, where: str, trial_name: str, more: bool = False) -> None:
    """Raise when ``best``, the best of ``where``, failed (``trial_name``: the function
    that returned the metric). ``more``: larger budgets were to follow, which failed
    configs are not worth."""
    if not failed(best):
        return
    stops = (
        " The search stops rather than train configs that failed at larger budgets." if more else ""
    )
    if best.error is not None:
        raise TrialFailedError(
            f"Every trial of {where} raised; no config can be chosen.{stops} The "
            f"first:\n{best.error}"
        )
    raise TrialFailedError(
        f"Every trial of {where} returned NaN or an infinity (the first, "
        f"{params_text(best.trial.params)}: {best.metric}); no config can be "
        f"chosen.{stops} Check the metric {trial_name} returns."
    )

"""A search's trials and their outcomes, as the search and its subclasses pass them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ato.adict import ADict

__all__ = ["Outcome", "Position", "Trial"]

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

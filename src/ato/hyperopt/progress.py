"""A progress display for a search on a terminal: rung, trials done, budget, best so far.

Drawn with ``rich`` on standard error when it is a terminal; silent otherwise (a log
file, a pipe, a test, a rank other than 0).
"""

from __future__ import annotations

import math
import sys
from types import TracebackType
from typing import Any

__all__ = ["SearchProgress"]


class SearchProgress:
    """``with SearchProgress(total, enabled) as progress: progress.update(...)``."""

    def __init__(self, total: int, enabled: bool = True, mode: str = "max") -> None:
        self.total, self.mode = total, mode
        self.done, self.spent = 0, 0.0
        self.best = math.nan
        self.where = ""
        self._progress: Any = None
        self._task: Any = None
        self.enabled = enabled and sys.stderr.isatty()

    def __enter__(self) -> SearchProgress:
        if not self.enabled:
            return self
        try:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
        except ImportError:  # rich missing: no display rather than no search
            return self
        self._progress = Progress(
            TextColumn("[bold]{task.fields[where]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("trials · budget {task.fields[spent]} · best {task.fields[best]}"),
            console=Console(stderr=True),
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task(
            "search", total=self.total, where="", spent="-", best="-"
        )
        return self

    def rung(self, where: str) -> None:
        self.where = where
        self._refresh()

    def say_interrupted(self, tracked: bool, how: str = "Ctrl-C") -> None:
        """Interrupted (``how``: Ctrl-C, or on which rank): what was done and what a start
        again does, above Python's traceback."""
        then = (
            "Started again with the same arguments, it resumes: finished trials are not run again."
            if tracked
            else "It is not tracked (no tracker=), so started again it starts over."
        )
        print(
            f"ato: the search was interrupted ({how}) after {self.done} of {self.total} "
            f"trials. {then}",
            file=sys.stderr,
        )

    def skip(self, count: int) -> None:
        """``count`` of the planned trials will not run: the total drops."""
        self.total -= count
        if self._progress is not None:
            self._progress.update(self._task, total=self.total)

    def update(self, metric: float, budget: float | None) -> None:
        self.done += 1
        self.spent += budget or 0.0
        if math.isfinite(metric) and (
            math.isnan(self.best)
            or (metric > self.best if self.mode == "max" else metric < self.best)
        ):
            self.best = metric
        self._refresh()

    def _refresh(self) -> None:
        if self._progress is None:
            return
        self._progress.update(
            self._task,
            completed=self.done,
            where=self.where,
            spent="-" if not self.spent else f"{self.spent:g}",
            best="-" if math.isnan(self.best) else f"{self.best:.4g}",
        )

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

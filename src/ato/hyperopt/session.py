"""What the trials of one run of a search share, and how each trial's run ends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ato.adict import ADict
from ato.hyperopt.outcomes import Position, Trial
from ato.hyperopt.progress import SearchProgress
from ato.hyperopt.signals import SearchEnding, signal_stop
from ato.hyperopt.trial_runs import end_trial_run, warn_own_runs

if TYPE_CHECKING:
    from ato.hyperopt.storage import SearchStore, StoredTrial
    from ato.tracking import SQLLogger

__all__ = ["SearchSession"]


@dataclass
class SearchSession:
    """What the trials of one run of a search share: the trial function, the tracker,
    the search's stored state, the progress display."""

    evaluate: Callable[[ADict], Any]
    code: Callable[..., Any]  # the trial function, where a warning about a trial points
    logger: SQLLogger | None
    store: SearchStore | None
    stored: dict[Position, StoredTrial]
    progress: SearchProgress
    ending: SearchEnding | None = None  # an untracked search's watch of signals
    warned: bool = False  # of a trial that ended its run itself (once per search)
    _unsaid: tuple[Trial, int, str] | None = None

    @property
    def signalled(self) -> int | None:
        """A SIGTERM the program's own handler took during the search, if one came."""
        watch = self.store if self.store is not None else self.ending
        return watch.signalled if watch is not None else None

    def signal_stop(self, trial: Trial, started: bool) -> Exception | None:
        """See :func:`signal_stop`."""
        return signal_stop(self.signalled, trial, started, tracked=self.store is not None)

    def end_run(
        self, trial: Trial, run_id: int | None, status: str, error: str | None = None, **more: Any
    ) -> None:
        """End the trial's run, if tracked (see :func:`end_trial_run`)."""
        if self.logger is None or run_id is None:
            return
        what = end_trial_run(self.logger, run_id, status, error, signalled=self.signalled, **more)
        if what is not None and not self.warned:
            self.warned, self._unsaid = True, (trial, run_id, what)

    def say(self) -> None:
        """Warn of a trial that left its run (see :func:`warn_own_runs`): once the trial
        is stored, since a warning may be raised as an error."""
        if self._unsaid is not None:
            unsaid, self._unsaid = self._unsaid, None
            warn_own_runs(*unsaid, self.code)

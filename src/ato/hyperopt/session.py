"""What the trials of one run of a search share, and how each trial's run ends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ato.adict import ADict
from ato.hyperopt.outcomes import Position, Trial
from ato.hyperopt.progress import SearchProgress
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
    warned: bool = False  # of a trial that ended its run itself (once per search)

    def end_run(
        self, trial: Trial, run_id: int | None, status: str, error: str | None = None, **more: Any
    ) -> None:
        """End the trial's run, if tracked (see :func:`end_trial_run`)."""
        if self.logger is None or run_id is None:
            return
        signalled = self.store.signalled if self.store is not None else None
        what = end_trial_run(self.logger, run_id, status, error, signalled=signalled, **more)
        if what is not None and not self.warned:
            self.warned = True
            warn_own_runs(trial, run_id, what, self.code)

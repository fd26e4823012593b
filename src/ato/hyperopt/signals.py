"""What a search does when SIGTERM or SIGHUP reaches its process (a scheduler preempting
the job, a closed terminal): a tracked search's row reads 'killed' at once, as the
trial's run does, and a SIGTERM that the program's own handler takes stops any search
after the trial under way (a tracked one does not store that trial, which may have been
cut short). Started again, a tracked search resumes; an untracked one starts over."""

from __future__ import annotations

import signal
import sys
import threading
from typing import TYPE_CHECKING

from ato.hyperopt.errors import SearchStoppedError
from ato.hyperopt.naming import params_text
from ato.message_text import first_line
from ato.tracking.process import hooks

if TYPE_CHECKING:
    from ato.hyperopt.outcomes import Trial
    from ato.hyperopt.storage import SearchStore

__all__ = ["SearchEnding", "say_stopped", "signal_stop", "unwatch", "watch_untracked"]


class SearchEnding:
    """The search (its row, when tracked), for the hooks that end open runs when the
    process is ended (:data:`ato.tracking.process.hooks`, which take it as a logger with
    an open run): SIGTERM or SIGHUP (a scheduler preempting the job, a closed terminal)
    marks the row 'killed' at once. Else it would read 'running' until its heartbeat grew
    old, and the search started again on another host would be refused meanwhile. A
    SIGTERM the program's own handler takes is noted (``signalled``), tracked or not."""

    sqlite_path = None  # the logger's file is the one a forked child must not use

    def __init__(self, store: SearchStore | None) -> None:
        self.store: SearchStore | None = store
        self.signalled: int | None = None

    def after_fork_in_child(self) -> None:
        self.store = None  # the parent runs the search, not its child

    def end_run_on_signal(self, signum: int) -> None:
        if self.store is not None:
            self.store.mark_stopped("killed", f"terminated by {signal.Signals(signum).name}")

    def note_signal(self, signum: int) -> None:
        """The program's own handler decides whether the program ends; if it goes on
        after a SIGTERM, the search stops at the trial under way (see
        :func:`signal_stop`). A SIGHUP handled so is a program surviving its terminal
        (as ``nohup``): the search goes on."""
        if signum != signal.SIGTERM:
            return
        self.signalled = signum
        if self.store is not None:
            self.store.signalled = signum

    def end_run_at_exit(self, error: BaseException | None) -> None:
        # The program ends while the search runs (in a thread the main one did not wait
        # for): what remains is resumed when it starts again.
        if self.store is not None:
            reason = first_line(error) if error is not None else "the program ended"
            self.store.mark_stopped("failed", reason)


def watch_untracked() -> SearchEnding | None:
    """Until :func:`unwatch`, note a SIGTERM the program's own handler takes during a
    search with no tracker (a tracked one watches through its store). Not from a thread
    other than the main one: Python sets and runs handlers only there."""
    if threading.current_thread() is not threading.main_thread():
        return None
    ending = SearchEnding(None)
    hooks.run_starting(ending)
    return ending


def unwatch(ending: SearchEnding | None) -> None:
    if ending is not None:
        hooks.run_ended(ending)


def signal_stop(
    signalled: int | None, trial: Trial, started: bool, tracked: bool
) -> Exception | None:
    """A :class:`SearchStoppedError` once a SIGTERM that the program's own handler took
    (``signalled``) has reached the search (``started``: during ``trial``, else before
    it), to stop it there: a handler that asks training to stop early cuts the trial
    short, so it is not stored, nor is another started. None while no such signal came."""
    if signalled is None:
        return None
    name = signal.Signals(signalled).name
    if started:
        cut = "so it is not stored." if tracked else "and it is not ranked."
        what = (
            f"during trial {params_text(trial.params)} (rung {trial.rung}), and the "
            f"program's own handler let it go on. That trial may have been cut short, {cut}"
        )
    else:
        what = (
            f"and the program's own handler let it go on; trial "
            f"{params_text(trial.params)} (rung {trial.rung}) was not started."
        )
    then = (
        "Started again, the search resumes from the trials stored."
        if tracked
        else "It is not tracked (no tracker=), so started again it starts over."
    )
    return SearchStoppedError(
        f"The search stopped: {name} reached the program {what} {then} (A program that "
        f"means to ignore SIGTERM sets signal.SIG_IGN for it.)"
    )


def say_stopped(trial: Trial, halt: BaseException, tracked: bool) -> None:
    """On stderr: the search stopped because ``trial`` raised ``halt`` (SystemExit, or
    an error of the program's after a SIGTERM), which the program's own handling of
    that error may never say; and whether a start again resumes."""
    if isinstance(halt, SystemExit):
        what = f"raised SystemExit({halt.code!r})"
    else:
        what = f"was running when SIGTERM reached the program, then raised {first_line(halt)}"
    resumes = " Started again, the search resumes." if tracked else ""
    print(
        f"ato: the search stopped: trial {params_text(trial.params)} (rung {trial.rung}) "
        f"{what}.{resumes}",
        file=sys.stderr,
    )

"""The run a tracked search starts for each trial on its tracker, when the program uses
that tracker too. A run the program left open would be ended by the first trial's, so
the search refuses it before any trial. A trial that starts runs itself (a program that
was tracked before it was searched) leaves the search's run 'running' meanwhile (the
logger holds it for the search), and the search writes the trial's metric and outcome
to it by its id when the trial ends: nothing is lost, and a process that dies meanwhile
leaves it judged 'interrupted', never 'completed'. A run the trial left open ends with
the trial."""

from __future__ import annotations

import contextlib
import functools
import math
import signal
import time
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ato.errors import AtoWarning
from ato.hyperopt.errors import SearchSettingsError
from ato.hyperopt.naming import params_text
from ato.message_text import first_line

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from ato.hyperopt.outcomes import Trial
    from ato.tracking import SQLLogger

__all__ = [
    "end_trial_run",
    "logger_kept",
    "refuse_open_run",
    "start_trial_run",
    "warn_own_runs",
]


@contextlib.contextmanager
def logger_kept(tracker: Any) -> Iterator[None]:
    """The program's logger (``tracker``, when one) as the search found it, once the
    search is over: its config (each trial's, meanwhile), and no run held. A run the
    program starts afterwards stores the program's config, not the last trial's."""
    config = getattr(tracker, "config", None)
    try:
        yield
    finally:
        if config is not None:
            tracker.config = config
            if tracker.held.run_id is not None:
                tracker.held.release()


def refuse_open_run(logger: SQLLogger, search: str) -> None:
    """Refuse a tracker with a run under way: the first trial's run would end it as
    'completed', and what the program logs to it afterwards would fail."""
    run_id = logger.active_run_id
    if run_id is None:
        return
    raise SearchSettingsError(
        f"The tracker given to {search} has run {run_id} under way (started by "
        f"logger.run() and not finished). The search starts a run for each trial on this "
        f"logger, which would end run {run_id} early. Finish it first (logger.finish()), "
        f"or give the search a logger of its own: tracker=SQLLogger.open(url, project) "
        f"or tracker=url."
    )


def start_trial_run(logger: SQLLogger, tags: list[str]) -> int:
    """Start the trial's run on ``logger`` (its current run during the trial), held
    for the search to end."""
    try:
        run_id = int(logger.run(tags=tags))
    except BaseException as halt:
        # The program's SIGTERM handler raised as the run began: it ends with the search
        # (as 'killed': the logger saw the signal), not left open on the logger.
        logger.finish(
            "killed" if isinstance(halt, KeyboardInterrupt) else "failed", first_line(halt)
        )
        raise
    logger.held.hold(run_id)
    return run_id


def end_trial_run(
    logger: SQLLogger,
    run_id: int,
    status: str,
    error: str | None = None,
    *,
    metric: float = math.nan,
    step: int = 0,
    signalled: int | None = None,
) -> str | None:
    """End the trial's run ``run_id`` as ``status`` with its ``metric`` (at ``step``, the
    rung), whether the logger still has it under way or the trial left it (``signalled``:
    a signal the program's handler took, which makes it 'killed', as the logger does).
    What the trial did to the run, or None when it left it alone."""
    held = logger.held
    if held.is_current():
        held.release()
        if math.isfinite(metric):
            logger.log_metric("metric", metric, step=step)
        logger.finish(status, error)
        return None
    finished = logger.get_current_run_id() == run_id
    what = "ended it (logger.finish())" if finished else "started a run of its own (logger.run())"
    try:
        logger.finish(status, error)  # a run the trial left open ends with it
        if status == "completed" and held.asked is not None:
            status, error = held.asked  # what its finish() said, when the trial succeeded
        if signalled is not None:
            name = signal.Signals(signalled).name
            status = "killed"
            error = f"terminated by {name}; the program's own handler ran, then it ended the run"
        from ato.tracking.database import write

        write(
            logger.engine, lambda connection: _end(connection, run_id, status, error, metric, step)
        )
    finally:
        held.release()
    return what


def _end(
    connection: Connection, run_id: int, status: str, error: str | None, metric: float, step: int
) -> None:
    from ato.tracking import writes
    from ato.tracking.schema import utc_now

    if math.isfinite(metric):
        writes.insert_points(connection, [(run_id, "metric", metric, step, time.time())])
    now = utc_now()
    values = {"status": status, "error": error, "end_time": now, "heartbeat_at": now}
    writes.update_run(connection, run_id, values)


def warn_own_runs(trial: Trial, run_id: int, what: str, code: Any) -> None:
    """A trial ``what`` to the run the search started for it, on the search's own
    tracker; said at the trial function ``code`` (once per search: the caller's)."""
    message = (
        f"Trial {params_text(trial.params)} (rung {trial.rung}) {what} on the search's own "
        f"tracker, while run {run_id} was the search's run for it. Nothing is lost: the "
        f"search wrote the trial's metric and outcome to run {run_id}, and runs the trial "
        f"started are others. To keep one run per trial, log inside the trial without "
        f"logger.run() or logger.finish(): during a trial, the logger's current run is the "
        f"trial's. (Said once per search.)"
    )
    where = _code_of(code)
    if where is None:
        warnings.warn(message, AtoWarning, stacklevel=2)
    else:
        warnings.warn_explicit(message, AtoWarning, where.co_filename, where.co_firstlineno)


def _code_of(function: Any) -> Any:
    """The code object of the user's ``function`` (through decorators, partials and
    callable objects), or None."""
    for _ in range(100):  # a cycle of wrappers ends somewhere
        if isinstance(function, functools.partial):
            function = function.func
        elif hasattr(function, "__wrapped__"):
            function = function.__wrapped__
        elif hasattr(function, "__func__"):
            function = function.__func__
        elif hasattr(function, "__code__"):
            return function.__code__
        elif callable(function) and not isinstance(function, type):
            function = type(function).__call__  # a callable object: its method
        else:
            return None
    return None

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
            tracker.held_run_id = None


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
    logger.held_run_id = run_id
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
    rung), whether the logger still has it under way or the trial ended it already
    (``signalled``: a signal the program's handler took, which makes it 'killed', as the
    logger does). What the trial did to the run, or None when it left it alone."""
    logger.held_run_id = None
    if logger.active_run_id == run_id:
        if math.isfinite(metric):
            logger.log_metric("metric", metric, step=step)
        logger.finish(status, error)
        return None
    logger.finish(status, error)  # a run the trial left open ends with it
    if signalled is not None:
        name = signal.Signals(signalled).name
        status = "killed"
        error = f"terminated by {name}; the program's own handler ran, then it ended the run"
    from ato.tracking.database import write

    return write(
        logger.engine, lambda connection: _end(connection, run_id, status, error, metric, step)
    )


def _end(
    connection: Connection, run_id: int, status: str, error: str | None, metric: float, step: int
) -> str:
    from sqlalchemy import select

    from ato.tracking import writes
    from ato.tracking.schema import Experiment, utc_now

    if math.isfinite(metric):
        writes.insert_points(connection, [(run_id, "metric", metric, step, time.time())])
    now = utc_now()
    held = connection.execute(select(Experiment.status).where(Experiment.id == run_id)).scalar()
    if held == "running":  # left so when the trial started a run of its own
        values: dict[str, Any] = {"status": status, "end_time": now, "error": error}
        writes.update_run(connection, run_id, {**values, "heartbeat_at": now})
        return "started a run of its own (logger.run())"
    if status != "completed":  # the trial's logger.finish() said what it knew then
        writes.update_run(connection, run_id, {"status": status, "error": error})
    return "ended it (logger.finish())"


def warn_own_runs(trial: Trial, run_id: int, what: str, code: Any) -> None:
    """Once per search: a trial ``what`` to the run the search started for it, on the
    search's own tracker; said at the trial function ``code``."""
    message = (
        f"Trial {params_text(trial.params)} (rung {trial.rung}) {what} on the search's own "
        f"tracker, while run {run_id} was the search's run for it. Nothing is lost: the "
        f"search wrote the trial's metric and outcome to run {run_id}, and runs the trial "
        f"started are others. To keep one run per trial, log inside the trial without "
        f"logger.run() or logger.finish(): during a trial, the logger's current run is the "
        f"trial's. (Said once per search.)"
    )
    where = getattr(code, "__code__", None)
    if where is None:
        warnings.warn(message, AtoWarning, stacklevel=2)
    else:
        warnings.warn_explicit(message, AtoWarning, where.co_filename, where.co_firstlineno)

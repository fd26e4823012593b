"""A search that a SIGTERM reaches at an awkward moment (for test_tracking.py).

``ATO_TEST_DB``: the database URL (empty: no tracker). ``ATO_TEST_WHEN``: where the
SIGTERM lands:

- ``read``: inside the read of the search's stored trials (holding SQLite's write lock);
- ``finish``: inside the write that ends the third trial's run;
- ``close``: inside the write that marks the search completed;
- ``handler``: in a trial, with the program's own handler, which calls sys.exit(143);
- ``flag``: in a trial, with the program's own handler, which asks training to stop
  early: the trial returns -1 then (``flag-none``: it returns None);
- ``raise``: in a trial, with the program's own handler, which raises the program's
  own ``Preempted``, caught around the search: exit status 7 (``start``: the same
  handler, the SIGTERM inside the insert of the third trial's run);
- ``hup``: a SIGHUP in a trial, with a handler of the program's that ignores it;
- ``default``: a SIGTERM in a trial, with no handler of the program's: it dies of it;
- ``none``: no signal.

``ATO_TEST_OWN_RUN=1``: each trial starts a run of its own on the search's tracker
first (``finish``: it finishes the search's run for it). It prints the result's metric
on its last line.
"""

from __future__ import annotations

import os
import signal
import sys

from sqlalchemy import event

from ato.adict import ADict
from ato.hyperopt.hyperband import HyperBand
from ato.scope import Scope
from ato.tracking import SQLLogger


def main() -> None:
    when = os.environ["ATO_TEST_WHEN"]
    scope = Scope()

    @scope.observe(default=True)
    def defaults(config):
        config.lr = 0.001

    url = os.environ["ATO_TEST_DB"]  # empty: an untracked search
    logger = SQLLogger.open(url, "signals") if url else None
    landed = []
    trials_run: list[float] = []

    def land(connection, cursor, statement, parameters, context, many):
        # Sent to itself, the signal is handled at the next bytecode: inside the statement.
        if landed:
            return
        reading = when == "read" and statement.startswith("SELECT hpo_trials.")
        closing = when == "close" and statement.startswith("UPDATE hpo_searches")
        closing = closing and "completed" in repr(parameters) and "host" not in statement
        finishing = when == "finish" and statement.startswith("UPDATE experiments")
        finishing = finishing and "end_time" in statement and len(trials_run) == 3
        starting = when == "start" and statement.startswith("INSERT INTO experiments")
        starting = starting and len(trials_run) == 2
        if reading or closing or finishing or starting:
            landed.append(statement)
            os.kill(os.getpid(), signal.SIGTERM)

    if logger is not None:
        event.listen(logger.engine, "before_cursor_execute", land)
    if when == "handler":
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    if when in ("flag", "flag-none"):
        signal.signal(signal.SIGTERM, lambda signum, frame: STOP.append(signum))
    if when in ("raise", "start"):

        def preempted(signum, frame):
            raise Preempted(f"signal {signum}")

        signal.signal(signal.SIGTERM, preempted)
    if when == "hup":
        signal.signal(signal.SIGHUP, lambda signum, frame: None)  # a program that stays up

    def trial(config):
        # Read when called: a value the trial function carried would count in the
        # search's identity, and the run started again has no signal.
        now = os.environ["ATO_TEST_WHEN"]
        own = os.environ.get("ATO_TEST_OWN_RUN") if logger is not None else None
        if own == "finish":
            logger.finish()
        elif own:
            logger.run(tags=["mine"])  # a program tracked before it was searched
        if now in ("handler", "flag", "flag-none", "raise", "hup", "default") and config.lr > 0.09:
            os.kill(os.getpid(), signal.SIGHUP if now == "hup" else signal.SIGTERM)
        trials_run.append(config.lr)
        if STOP and now == "flag-none":
            return None  # cut short before it measured anything
        return -1.0 if STOP else config.lr  # cut short: what it had learnt so far

    spaces = ADict(lr=ADict(param_type="FLOAT", param_range=(1e-4, 1e-1), num_samples=4))
    try:
        result = HyperBand(scope, spaces, 0.5, 2, tracker=logger, progress=False).run(trial)
    except Preempted as preemption:  # as a program that saves its state on preemption
        print(f"caught {preemption!r}; open run: {logger and logger.active_run_id}")
        sys.exit(7)
    print(result.metric)


STOP: list[int] = []  # the program's own handler asks training to stop


class Preempted(Exception):
    """The program's own: its SIGTERM handler raises it."""


if __name__ == "__main__":
    main()

"""A run a logger holds for another part of ato, which writes its end: a search's run for
the trial under way, which the trial may leave by starting a run of its own on the same
logger, or by finishing it. Meanwhile the row stays 'running' and keeps its heartbeat,
and an end the process meets (SIGTERM, SIGHUP, exit) ends it as it ends the logger's
current run: it never reads 'completed' for a trial that did not complete."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ato.tracking import writes
from ato.tracking.database import write
from ato.tracking.process import hooks
from ato.tracking.schema import utc_now

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from ato.tracking.logger import SQLLogger

__all__ = ["HeldRun"]


class HeldRun:
    """The run ``logger`` holds, if any (part of the logger: it reads its state)."""

    def __init__(self, logger: SQLLogger) -> None:
        self._logger = logger
        self.run_id: int | None = None
        #: What the program's own ``finish()`` of the held run asked: ``(status, error)``.
        self.asked: tuple[str, str | None] | None = None

    def hold(self, run_id: int) -> None:
        """Hold ``run_id``, the logger's current run, for its end to be written by id."""
        self.run_id, self.asked = run_id, None

    def release(self) -> None:
        """Its end is written: the logger's process events no longer concern it."""
        self.run_id, self.asked = None, None
        if not self._logger._active:
            hooks.run_ended(self._logger)

    def is_current(self) -> bool:
        """Whether the held run is the logger's run under way."""
        logger = self._logger
        return self.run_id is not None and logger._active and logger._current_run_id == self.run_id

    def left(self) -> int | None:
        """The held run, once the logger has left it (a run of the trial's own, or a
        finish()); else None."""
        return None if self.run_id is None or self.is_current() else self.run_id

    def beat(self, connection: Connection) -> None:
        left = self.left()
        if left is not None:
            writes.beat(connection, left)

    def mark(self, status: str, error: str | None, ended: bool = True) -> None:
        """The process meets its end (``ended``; else a signal the program's handler
        took): the run left reads ``status``, as the logger's current run does."""
        left = self.left()
        if left is None:
            return
        now = utc_now()
        values: dict[str, Any] = {"status": status, "error": error, "heartbeat_at": now}
        if ended:
            values["end_time"] = now
        write(self._logger.engine, lambda connection: writes.update_run(connection, left, values))

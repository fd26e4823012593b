"""When the tracker's database fails under a run: the background writes' trouble is said
on stderr (the thread cannot raise to the program), and the last flush of a run that is
ending waits for a database server it lost (a restart, a network blip), as the thread
would have retried, then says what cannot be written and what is kept."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from ato.errors import AtoError, DatabaseUnreachableError
from ato.message_text import first_line
from ato.tracking.process import main_writes
from ato.tracking.secrets import masked_url

__all__ = ["RECONNECT_WAIT_S", "last_flush", "say_background_trouble"]

#: How long a run that is ending waits for a database server it lost before its last
#: points are given up.
RECONNECT_WAIT_S = 60.0


def last_flush(
    flush: Callable[[], None], pending: Callable[[], int], db_path: str, run_id: int | None
) -> None:
    """``flush()`` until it succeeds, for at most :data:`RECONNECT_WAIT_S` (not at all
    while the program is being stopped); ``pending()``: the points still buffered."""
    give_up = time.monotonic() + RECONNECT_WAIT_S
    said = False
    while True:
        try:
            flush()
            return
        except DatabaseUnreachableError as error:
            if time.monotonic() >= give_up or main_writes.stopping:
                raise DatabaseUnreachableError(
                    f"Lost the tracker database {masked_url(db_path)!r} ({error.reason}) "
                    f"while run {run_id} was ending, and it did not come back within "
                    f"{RECONNECT_WAIT_S:g} s. What was committed is kept; the {pending()} "
                    f"points not yet written are lost when this program ends, and the run "
                    f"will read 'crashed'.",
                    reason=error.reason,
                ) from error
            if not said:
                print(
                    f"ato: run {run_id} is ending, but its database {masked_url(db_path)!r} "
                    f"cannot be reached ({error.reason}). Waiting up to {RECONNECT_WAIT_S:g} "
                    f"s for it, to write the last points (Ctrl-C stops waiting).",
                    file=sys.stderr,
                    flush=True,
                )
                said = True
            time.sleep(0.5)


def say_background_trouble(
    run_id: int | None, db_path: str, retry_s: float, error: BaseException | None
) -> None:
    """Say on stderr that the background writes of run ``run_id`` fail (``error``: a full
    disk, a lock held; retried every ``retry_s``), or, with None, that they work again."""
    where = f"ato: run {run_id} in {masked_url(db_path)}"
    if error is None:
        message = f"{where}: points are written again; none was lost."
    else:
        said = str(error) if isinstance(error, AtoError) else first_line(error)
        message = (
            f"{where}: writing points failed. {said} Retried every {retry_s:g} s; points "
            f"still in memory are lost if the process dies first."
        )
    # A line on stderr, as at exit: a warning from this thread would print its own
    # source line, and a filter set for the program's warnings could hide it.
    print(message, file=sys.stderr, flush=True)

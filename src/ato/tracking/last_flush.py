"""The last flush of a run that is ending: a database server it lost (a restart, a
network blip) is waited for, as the background thread would have retried, then what
cannot be written is said, with what is kept."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from ato.errors import DatabaseUnreachableError
from ato.tracking.process import main_writes
from ato.tracking.secrets import masked_url

__all__ = ["RECONNECT_WAIT_S", "last_flush"]

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

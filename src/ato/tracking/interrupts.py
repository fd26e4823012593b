"""How signals and the end of the process reach a run, process-wide.

A SIGTERM that lands while the main thread writes is held until the write is over
(:data:`main_writes`); a Ctrl-C is held for the instant between a batch's commit and
its removal from the buffer (:func:`interrupts_held`); and the code given to
``sys.exit`` is noted for runs still open at exit (:data:`exit_status`).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["ExitStatus", "MainWrites", "exit_status", "interrupts_held", "main_writes"]


class MainWrites:
    """Writes by the main thread under way, in any logger of this process. A SIGTERM
    handler that lands inside one must not write (it would wait on the lock and the
    transaction the interrupted write holds); it is queued and run when the outermost
    write ends."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.depth = 0
        self.pending: list[tuple[Callable[[int, Any], None], int, Any]] = []

    @contextlib.contextmanager
    def marked(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
            while self.depth == 0 and self.pending:
                handler, signum, frame = self.pending.pop(0)
                handler(signum, frame)


main_writes = MainWrites()


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """Ctrl-C is held back in the main thread for the duration, then raised."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:
            raise KeyboardInterrupt


class ExitStatus:
    """The code given to ``sys.exit`` in the main thread while a run is open, for runs
    still open at exit: outside ``with``, ``atexit`` is not told how the program ended.
    (A ``raise SystemExit`` is not seen, and a ``sys.exit`` the program catches still
    counts: use ``with logger.run()`` where that matters.)"""

    def __init__(self) -> None:
        self.code: Any = None
        self.called = False
        self._original: Callable[..., Any] | None = None

    def watch(self) -> None:
        if self._original is not None:
            return
        self.code, self.called = None, False
        original = self._original = sys.exit

        def exit(status: Any = None) -> Any:
            # Another thread's sys.exit only ends that thread.
            if threading.current_thread() is threading.main_thread():
                self.code, self.called = status, True
            return original(status)

        exit.__wrapped__ = original  # type: ignore[attr-defined]
        exit.__doc__ = original.__doc__
        sys.exit = exit

    def unwatch(self) -> None:
        original, self._original = self._original, None
        if original is not None and getattr(sys.exit, "__wrapped__", None) is original:
            sys.exit = original  # type: ignore[assignment]

    def error(self) -> SystemExit | None:
        return SystemExit(self.code) if self.called else None


exit_status = ExitStatus()

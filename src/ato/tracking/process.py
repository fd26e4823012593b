"""What a process does for the runs in it: signals, exit and fork, installed only while
needed.

- :data:`main_writes`: a SIGTERM (or SIGHUP) that lands while the main thread writes is
  held until the write is over (the handler would wait on the lock the write holds);
- :func:`interrupts_held`: a Ctrl-C is held for the instant between a batch's commit
  and its removal from the buffer;
- :data:`exit_status`: the code given to ``sys.exit`` is noted for runs still open at
  exit;
- :data:`hooks`: while at least one run is open, an ``atexit`` entry and a handler of
  SIGTERM and SIGHUP (a closed terminal, a dropped ssh session) finish the open runs (the
  handler then chains to the one it replaced; an ignored signal stays ignored), and
  ``sys.exit`` is watched; all three are installed when the first run starts and
  removed when the last ends. A fork hook (which ``os.register_at_fork`` cannot take
  back) is registered when the first logger is made: in a child, loggers drop the
  parent's run and connections, and the SQLite files they had open are refused.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import threading
import traceback
import warnings
import weakref
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from ato.errors import AtoWarning

__all__ = [
    "ENDING_SIGNALS",
    "ExitStatus",
    "MainWrites",
    "Participant",
    "ProcessHooks",
    "ending",
    "exit_status",
    "hooks",
    "interrupts_held",
    "main_writes",
]


# What ends a process politely: each finishes the open runs as 'killed'.
ENDING_SIGNALS: tuple[int, ...] = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


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
        # A SIGTERM or SIGHUP arrived: writes waiting for another process's lock stop
        # waiting soon, so that the process ends before a supervisor's SIGKILL.
        self.stopping = False

    @contextlib.contextmanager
    def marked(self) -> Iterator[None]:
        if not _in_main_thread():
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
def interrupts_held(yield_on_second: bool = False) -> Iterator[None]:
    """Ctrl-C is held back in the main thread for the duration, then raised. With
    ``yield_on_second``, a second Ctrl-C meanwhile is raised at once: for work that may
    wait on a network (a server that stopped answering), which the user must be able to
    give up on."""
    if not _in_main_thread() or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    caught: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        caught.append(signum)
        if yield_on_second and len(caught) >= 2:
            signal.signal(signal.SIGINT, previous)
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, hold)
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
            if _in_main_thread():
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


def ending(error: BaseException | None) -> tuple[str, str | None]:
    """``(status, error text)`` of a run whose program ended with ``error``."""
    if error is None:
        return "completed", None
    if isinstance(error, KeyboardInterrupt):
        return "killed", "KeyboardInterrupt"
    if isinstance(error, SystemExit) and error.code in (0, None):
        return "completed", None
    return "failed", "".join(traceback.format_exception(error))


class Participant(Protocol):
    """A logger, as the process hooks see it."""

    @property
    def sqlite_path(self) -> str | None:
        """The SQLite file the logger has open (None on PostgreSQL)."""

    def after_fork_in_child(self) -> None:
        """Drop the parent's run, buffer, thread and connections."""

    def end_run_on_signal(self, signum: int) -> None:
        """Finish the open run as 'killed' by signal ``signum`` (SIGTERM or SIGHUP)."""

    def note_signal(self, signum: int) -> None:
        """Write what is buffered and remember ``signum``: the program's own handler
        decides what happens next, and the run ends when the program ends it."""

    def end_run_at_exit(self, error: BaseException | None) -> None:
        """Finish the open run with the status of the program's end (``error``)."""


class ProcessHooks:
    """The loggers of this process and the hooks their open runs need (see the module
    docstring). :data:`hooks` is the one loggers use."""

    def __init__(self) -> None:
        self._warned_thread = False  # a run started outside the main thread, said once
        self._loggers: weakref.WeakSet[Participant] = weakref.WeakSet()
        self._running: list[weakref.ref[Participant]] = []
        # The handler each of ENDING_SIGNALS had before ours (kept once ours is gone: a
        # signal deferred until then still chains to it).
        self._previous: dict[int, Any] = {}
        self._at_exit = False  # whether ``_end_at_exit`` is registered with atexit
        self._exiting = False
        # SQLite files a logger of a parent process had open when it forked this one.
        self.forked_files: set[str] = set()
        _ALL_HOOKS.add(self)

    def adopt(self, logger: Participant) -> None:
        """Take ``logger`` into account at forks."""
        _register_fork_hook()
        self._loggers.add(logger)

    def run_starting(self, logger: Participant) -> None:
        """``logger`` is starting a run: from now on, exit and SIGTERM finish it."""
        # Every time, not only for the first run: the first may have started in a
        # thread, where no signal handler can be set, or the program may have set
        # another handler since (ours then chains to it).
        self._install()
        if logger not in self.running():
            self._running.append(weakref.ref(logger))

    def run_ended(self, logger: Participant) -> None:
        """``logger``'s run is over; the hooks go once no run is open."""
        self._running = [ref for ref in self._running if ref() not in (None, logger)]
        if not self._running:
            self._remove()

    def running(self) -> list[Participant]:
        """The loggers with an open run, the newest first."""
        alive = (ref() for ref in reversed(self._running))
        return [logger for logger in alive if logger is not None]

    def after_fork_in_child(self) -> None:
        """The parent's runs are not this process's; its SQLite files are off limits."""
        self._running = []
        loggers = list(self._loggers)
        self.forked_files.update(path for path in (p.sqlite_path for p in loggers) if path)
        for logger in loggers:
            logger.after_fork_in_child()

    # -- installed while a run is open ----------------------------------------------------

    def _install(self) -> None:
        if not self._at_exit:
            atexit.register(self._end_at_exit)
            self._at_exit = True
        self._install_signals()
        exit_status.watch()

    def _remove(self) -> None:
        # Not while atexit runs us: unregistering during that is unsafe before 3.10.2.
        if self._at_exit and not self._exiting:
            atexit.unregister(self._end_at_exit)
            self._at_exit = False
        self._restore_signals()
        exit_status.unwatch()

    def _install_signals(self) -> None:
        if not _in_main_thread():
            if signal.getsignal(signal.SIGTERM) != self._on_signal and not self._warned_thread:
                # Python runs handlers only in the main thread, and sets them only there.
                self._warned_thread = True
                warnings.warn(
                    "A run started in a thread other than the main one while no run of "
                    "the main thread is open: SIGTERM and SIGHUP cannot be caught from "
                    "here, so either would leave the run 'crashed' with its last points "
                    "unwritten. Start the run in the main thread (log from any thread).",
                    AtoWarning,
                    stacklevel=5,
                )
            return
        for signum in ENDING_SIGNALS:
            current = signal.getsignal(signum)
            if current == self._on_signal:  # still ours: never chain to ourselves
                continue
            if current is signal.SIG_IGN or current is None:  # e.g. under nohup
                continue
            self._previous[signum] = current
            signal.signal(signum, self._on_signal)

    def _restore_signals(self) -> None:
        # Only the main thread may set handlers; from another thread ours stays
        # installed and keeps chaining to the previous one.
        if not _in_main_thread():
            return
        for signum, previous in self._previous.items():
            if signal.getsignal(signum) == self._on_signal:
                signal.signal(signum, previous)

    def _on_signal(self, signum: int, frame: Any) -> None:
        stopping, main_writes.stopping = main_writes.stopping, True
        if main_writes.depth:
            # The main thread was interrupted inside a write (of any logger), holding
            # its lock and transaction: ending runs now would wait on them. They end
            # right after that write.
            main_writes.pending.append((self._on_signal, signum, frame))
            return
        previous = self._previous.get(signum, signal.SIG_DFL)
        if callable(previous) and previous is not signal.default_int_handler:
            # The program's own handler (a stop flag, a checkpoint before preemption):
            # the run stays open for what it logs next; it ends as 'killed' when the
            # program ends it, since it stopped early.
            try:
                _each(self.running(), lambda logger: logger.note_signal(signum))
            finally:
                previous(signum, frame)
            # Its handler returned: the program goes on, and its writes wait for locks
            # as ever (they gave up soon, to end before a supervisor's SIGKILL).
            main_writes.stopping = stopping
            return
        try:
            _each(self.running(), lambda logger: logger.end_run_on_signal(signum))
        finally:
            if callable(previous):
                previous(signum, frame)
            else:  # the default: die of the signal, as the sender expects
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)

    def _end_at_exit(self) -> None:
        self._exiting = True
        try:
            error = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
            if error is None:
                error = exit_status.error()
            _each(self.running(), lambda logger: logger.end_run_at_exit(error))
        finally:
            self._exiting = False


def _each(loggers: list[Participant], end: Callable[[Participant], None]) -> None:
    """``end(logger)`` for every logger, even when one raises; then the first error."""
    failure: BaseException | None = None
    for logger in loggers:
        try:
            end(logger)
        except BaseException as error:  # the others still end
            failure = failure or error
    if failure is not None:
        raise failure


_ALL_HOOKS: weakref.WeakSet[ProcessHooks] = weakref.WeakSet()
_FORK_HOOK: list[bool] = []  # one entry once os.register_at_fork was called


def _register_fork_hook() -> None:
    if not _FORK_HOOK and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork_in_child)
        _FORK_HOOK.append(True)


def _after_fork_in_child() -> None:
    main_writes.reset()
    for each in list(_ALL_HOOKS):
        each.after_fork_in_child()


hooks = ProcessHooks()

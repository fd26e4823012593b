"""``MetricBuffer``: metric points and runtime calls on their way to the database.

A point is appended in well under a microsecond and written in batches by a background
thread, never by the caller: every ``flush_interval / 2`` seconds, sooner when writes
are slow (so that a point is committed within ``flush_interval`` while a batch takes
less than half of it to write), at once when ``batch_size`` points wait, and whenever
:meth:`MetricBuffer.flush` is called. The thread also asks for the run's heartbeat every
``heartbeat_interval`` seconds. When the writer falls far behind (``BACKLOG`` batches
waiting) the caller waits for it: memory stays bounded. A batch leaves the buffer only
when its writer says it has committed (:meth:`Batch.taken`), so a write that fails or is
interrupted loses nothing: the next flush writes the same points again, and more.

The buffer knows neither databases nor signals: its writer is a function of a
:class:`Batch` (see ``SQLLogger``).
"""

from __future__ import annotations

import collections
import itertools
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["Batch", "BufferSetting", "MetricBuffer", "Point"]

# (run_id, key, value, step, Unix time): the order of the metrics table's columns.
Point = tuple[Any, ...]


class Batch:
    """What was buffered when a flush began (copies), and whether the run's heartbeat is
    due. Its writer calls :meth:`taken` when the batch is committed, and only then."""

    __slots__ = ("_buffer", "_taken", "beat", "calls", "points")

    def __init__(
        self, buffer: MetricBuffer, points: list[Point], calls: list[Any], beat: bool
    ) -> None:
        self._buffer, self._taken = buffer, False
        self.points, self.calls, self.beat = points, calls, beat

    def taken(self) -> None:
        """Remove this batch from the buffer (it is in the database now)."""
        if not self._taken:
            self._taken = True
            self._buffer._discard(len(self.points), len(self.calls))


class MetricBuffer:
    """Points and runtime calls waiting to be written by ``write(batch)``.

    Only the holder of the flush lock removes entries; other threads only append
    behind them, so appending takes no lock. The last error of the background flush is
    kept in :attr:`background_error`: the entries stay buffered and the next flush tries
    again (and raises, if it fails too).
    """

    # How many full batches may wait for the thread before the caller waits for it.
    BACKLOG = 5

    def __init__(
        self,
        write: Callable[[Batch], None],
        *,
        batch_size: int = 20_000,
        flush_interval: float = 0.5,
        heartbeat_interval: float = 5.0,
        clock: Callable[[], float] = time.time,
        on_full: Callable[[], None] | None = None,
        on_trouble: Callable[[BaseException | None], None] | None = None,
    ) -> None:
        self.write = write
        # Told the first error of a streak of failed background writes, then None when a
        # write succeeds again: the thread cannot raise to the program.
        self.on_trouble = on_trouble
        # What the caller calls when the writer is far behind or there is no thread (by
        # default flush): the logger passes its own flush, which keeps signal handlers
        # out of the whole of it.
        self.on_full = on_full
        self._wake_at = self._batch_size = batch_size
        self.flush_interval = flush_interval
        self.heartbeat_interval = heartbeat_interval
        self.background_error: BaseException | None = None
        self._clock = clock
        self._points: collections.deque[Point] = collections.deque()
        self._calls: collections.deque[Any] = collections.deque()
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._wake = threading.Event()  # a full batch waits for the thread
        self._drained = threading.Event()  # the thread has written (or tried to)
        self._thread: threading.Thread | None = None
        self._last_beat = 0.0

    @property
    def batch_size(self) -> int:
        """How many points make a batch the thread writes at once."""
        return self._batch_size

    @batch_size.setter
    def batch_size(self, size: int) -> None:
        self._wake_at = self._batch_size = size

    def __len__(self) -> int:
        """How many points and calls are waiting to be written."""
        return len(self._points) + len(self._calls)

    def append(self, point: Point) -> None:
        """Buffer ``point``. At ``batch_size`` points the thread is woken to write them;
        at ``BACKLOG`` batches the caller waits for it (without a thread, or while its
        writes fail, the caller writes them itself)."""
        points = self._points
        points.append(point)
        if len(points) >= self._wake_at:
            self._full()

    def _full(self) -> None:
        backlog = self._batch_size * self.BACKLOG
        thread = self._thread
        if thread is None or not thread.is_alive():
            (self.on_full or self.flush)()
            return
        # Until the thread has taken them, appends check against the backlog only (set
        # before waking it: the thread lowers it again once it has written).
        self._wake_at = backlog
        self._wake.set()
        # Far behind: wait for the thread to take a batch (memory stays bounded). While
        # its writes fail, or once it is gone, the caller writes, and raises, itself.
        while (
            len(self._points) >= backlog
            and self._thread is thread
            and thread.is_alive()
            and self.background_error is None
        ):
            self._drained.wait(0.05)
            self._drained.clear()
        if len(self._points) >= backlog:
            (self.on_full or self.flush)()

    def add_calls(self, calls: Iterable[Any]) -> None:
        """Buffer runtime calls (their fingerprints are written with the next batch)."""
        self._calls.extend(calls)

    def flush(self, beat: bool = False) -> None:
        """Give what is buffered to ``write`` now (nothing to give and no ``beat``: no
        call). Raises what ``write`` raises, the entries still buffered."""
        with self._lock:
            n_points, n_calls = len(self._points), len(self._calls)
            if not (n_points or n_calls or beat):
                return
            points = list(itertools.islice(self._points, n_points))
            calls = list(itertools.islice(self._calls, n_calls))
            self.write(Batch(self, points, calls, beat))

    def reset(self) -> None:
        """Forget every entry, the flush lock and the thread: in a forked child, they
        are the parent's (its thread does not exist here, and may have held the lock)."""
        self._points = collections.deque()
        self._calls = collections.deque()
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._drained = threading.Event()
        self._wake_at = self._batch_size
        self._thread = None

    def _discard(self, n_points: int, n_calls: int) -> None:
        _popleft(self._points, n_points)
        _popleft(self._calls, n_calls)

    # -- the background thread ------------------------------------------------------------

    def start(self, name: str) -> None:
        """Write from a daemon thread called ``name``: every ``flush_interval / 2``
        seconds, and as soon as a batch is full."""
        self.stop()
        self._stop, self._wake = threading.Event(), threading.Event()
        self._wake_at = self._batch_size
        self._last_beat = self._clock()
        self._thread = threading.Thread(
            target=_background,
            args=(weakref.ref(self), self._stop, self._wake),
            daemon=True,
            name=name,
        )
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """End the background thread, after the write it may be doing (waited for at
        most ``timeout`` seconds: a stop interrupted before that can be done again)."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        if thread is None or not thread.is_alive():
            self._thread = None

    def tick(self) -> None:
        """One turn of the background thread: flush, with the heartbeat when it is due."""
        beat = self._clock() - self._last_beat >= self.heartbeat_interval
        try:
            self.flush(beat=beat)
        except Exception as error:  # the entries stay buffered; the next flush retries
            first = self.background_error is None
            self.background_error = error
            if first and self.on_trouble is not None:
                self.on_trouble(error)
        else:
            if self.background_error is not None and self.on_trouble is not None:
                self.on_trouble(None)
            self.background_error = None
            if beat:
                self._last_beat = self._clock()
        finally:
            self._wake_at = self._batch_size
            self._drained.set()


class BufferSetting:
    """An attribute of an owner's ``buffer`` (``logger.batch_size`` and the like), read
    and set through the owner."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, owner: Any, kind: type) -> Any:
        return self if owner is None else getattr(owner.buffer, self.name)

    def __set__(self, owner: Any, value: Any) -> None:
        setattr(owner.buffer, self.name, value)


def _popleft(queue: collections.deque[Any], count: int) -> None:
    # popleft ``count`` times in C: no bytecode runs in between, so neither a signal
    # handler nor another thread sees the queue half-trimmed.
    collections.deque(itertools.starmap(queue.popleft, itertools.repeat((), count)), maxlen=0)


def _background(
    ref: weakref.ref[MetricBuffer], stop: threading.Event, wake: threading.Event
) -> None:
    # A point waits for the next write to begin, then for it to commit: writes begin
    # every half interval, sooner when they are slow (the last one's time, twice, is
    # kept free), so that a point is committed within the interval; at once for a full
    # batch.
    due = time.monotonic()
    while not stop.is_set():
        wake.wait(max(0.0, due - time.monotonic()))
        wake.clear()
        buffer = ref()
        if buffer is None or stop.is_set():
            return
        began = time.monotonic()
        buffer.tick()
        took = time.monotonic() - began
        interval = buffer.flush_interval
        due = began + max(0.0, min(interval / 2, interval - 2 * took))
        del buffer

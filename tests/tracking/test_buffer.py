"""ato.tracking.buffer: MetricBuffer on its own, without a database or signals."""

from __future__ import annotations

import threading
import time

import pytest

from ato.tracking.buffer import MetricBuffer
from tests.tracking.helpers import wait_until


def point(step):
    return (1, "loss", float(step), step, 0.0)


class Writer:
    """Records each batch and says it committed, after ``failures`` failed writes."""

    def __init__(self, failures=0):
        self.batches = []
        self.failures = failures

    def __call__(self, batch):
        if self.failures:
            self.failures -= 1
            raise OSError("disk briefly unavailable")
        self.batches.append((batch.points, batch.calls, batch.beat))
        batch.taken()


def test_points_leave_the_buffer_only_once_their_batch_is_taken():
    given = []
    buffer = MetricBuffer(given.append, batch_size=100)  # a writer that never commits
    for step in range(3):
        buffer.append(point(step))
    buffer.flush()
    buffer.flush()
    assert [batch.points for batch in given] == [[point(0), point(1), point(2)]] * 2
    assert len(buffer) == 3
    given[-1].taken()
    given[-1].taken()  # once is enough: a second call takes nothing more
    assert len(buffer) == 0
    buffer.append(point(3))
    buffer.flush()
    assert given[-1].points == [point(3)]


def test_without_a_thread_a_full_buffer_writes_itself():
    writer = Writer()
    buffer = MetricBuffer(writer, batch_size=3)
    for step in range(7):
        buffer.append(point(step))
    assert [len(points) for points, _, _ in writer.batches] == [3, 3]
    assert len(buffer) == 1


def test_a_full_buffer_calls_on_full_instead_when_given():
    # The logger passes its own flush, which holds SIGTERM back for the whole of it.
    writer, full = Writer(), []
    buffer = MetricBuffer(writer, batch_size=2, on_full=lambda: full.append(len(buffer)))
    buffer.append(point(0))
    buffer.append(point(1))
    assert full == [2] and writer.batches == []


def test_a_failed_write_keeps_everything_for_the_next_one():
    writer = Writer(failures=1)
    buffer = MetricBuffer(writer)
    buffer.append(point(0))
    buffer.append(point(1))
    with pytest.raises(OSError, match="briefly"):
        buffer.flush()
    assert len(buffer) == 2
    buffer.flush()
    assert writer.batches == [([point(0), point(1)], [], False)]
    assert len(buffer) == 0


def test_what_is_appended_during_a_write_waits_for_the_next():
    def write(batch):
        buffer.append(point(99))
        buffer.add_calls(["late call"])
        batch.taken()

    buffer = MetricBuffer(write)
    buffer.append(point(0))
    buffer.add_calls(["call"])
    buffer.flush()
    assert len(buffer) == 2


def test_runtime_calls_travel_with_the_points():
    writer = Writer()
    buffer = MetricBuffer(writer)
    buffer.add_calls(["first", "second"])
    buffer.append(point(0))
    buffer.flush()
    assert writer.batches == [([point(0)], ["first", "second"], False)]


def test_with_nothing_buffered_only_a_heartbeat_calls_the_writer():
    writer = Writer()
    buffer = MetricBuffer(writer)
    buffer.flush()
    assert writer.batches == []
    buffer.flush(beat=True)
    assert writer.batches == [([], [], True)]


def test_a_tick_asks_for_the_heartbeat_when_due_and_keeps_the_last_error():
    now = [1000.0]
    writer = Writer(failures=1)
    buffer = MetricBuffer(writer, heartbeat_interval=5.0, clock=lambda: now[0])
    buffer.append(point(0))
    buffer.tick()
    assert isinstance(buffer.background_error, OSError) and len(buffer) == 1
    buffer.tick()  # the beat is still due: the failed one did not count
    assert buffer.background_error is None
    assert writer.batches == [([point(0)], [], True)]
    now[0] += 1.0
    buffer.tick()  # nothing buffered, no beat due
    assert len(writer.batches) == 1
    now[0] += 5.0
    buffer.tick()
    assert writer.batches[-1] == ([], [], True)


def test_the_background_thread_writes_until_it_is_stopped():
    writer = Writer()
    buffer = MetricBuffer(writer, flush_interval=0.01)
    buffer.start(name="test-buffer-thread")
    buffer.append(point(0))
    assert wait_until(lambda: not len(buffer))
    buffer.stop()
    assert "test-buffer-thread" not in {thread.name for thread in threading.enumerate()}
    buffer.append(point(1))
    time.sleep(0.05)
    assert len(buffer) == 1  # no thread: it stays until flushed


class ThreadWriter(Writer):
    """A Writer that notes which thread wrote, and can be held back."""

    def __init__(self):
        super().__init__()
        self.threads, self.go = [], threading.Event()
        self.go.set()

    def __call__(self, batch):
        self.go.wait(10)
        self.threads.append(threading.current_thread().name)
        super().__call__(batch)


def test_a_full_batch_is_written_by_the_thread_while_the_caller_only_appends():
    writer, full = ThreadWriter(), []
    buffer = MetricBuffer(writer, batch_size=100, flush_interval=1000, on_full=full.append)
    buffer.start(name="test-writer")
    try:
        for step in range(250):
            buffer.append(point(step))
        assert wait_until(lambda: len(buffer) < 100)  # long before the interval
        assert full == [] and set(writer.threads) == {"test-writer"}
    finally:
        buffer.stop()


def test_a_writer_far_behind_makes_the_caller_wait_and_memory_stays_bounded():
    writer, full = ThreadWriter(), []
    buffer = MetricBuffer(writer, batch_size=10, flush_interval=1000, on_full=full.append)
    buffer.start(name="test-slow-writer")
    writer.go.clear()  # the thread's write hangs, as on a slow disk
    try:
        releaser = threading.Timer(0.2, writer.go.set)
        releaser.start()
        started = time.monotonic()
        for step in range(10 * buffer.BACKLOG * 3):
            buffer.append(point(step))
            assert len(buffer) <= 10 * buffer.BACKLOG
        assert time.monotonic() - started >= 0.15  # it waited for the writer
        assert full == [] and set(writer.threads) == {"test-slow-writer"}
        assert wait_until(lambda: len(buffer) < 10)
        written = [p for points, _, _ in writer.batches for p in points]
        assert written == [point(step) for step in range(len(written))]  # in order, once
    finally:
        writer.go.set()
        buffer.stop()


def test_while_the_threads_writes_fail_a_caller_far_behind_writes_and_raises_itself():
    writer = Writer(failures=10**9)
    buffer = MetricBuffer(writer, batch_size=10, flush_interval=1000)
    buffer.start(name="test-failing-writer")
    try:
        with pytest.raises(OSError, match="briefly"):
            for step in range(10 * buffer.BACKLOG * 2):
                buffer.append(point(step))
        assert len(buffer) <= 10 * buffer.BACKLOG  # nothing lost, nothing unbounded
    finally:
        buffer.stop()


def test_reset_forgets_what_a_forked_child_inherited():
    writer = Writer()
    buffer = MetricBuffer(writer)
    buffer.append(point(0))
    buffer.add_calls(["call"])
    buffer.reset()
    assert len(buffer) == 0
    buffer.flush()
    assert writer.batches == []


def test_the_first_failure_of_a_streak_and_the_recovery_are_told():
    told = []
    buffer = MetricBuffer(Writer(failures=2), on_trouble=told.append)
    buffer.append(point(0))
    buffer.tick()
    buffer.tick()  # the same streak: said once
    assert len(told) == 1 and isinstance(told[0], OSError)
    buffer.tick()
    assert told[1:] == [None] and len(buffer) == 0  # written again: said so

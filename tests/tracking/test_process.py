"""ato.tracking.process: signals, exit and fork, as the tracker handles them, with
stand-in loggers (no database)."""

from __future__ import annotations

import atexit
import json
import os
import signal
import sys
import threading
import time
import warnings

import pytest

from ato.tracking.process import ProcessHooks, ending, interrupts_held, main_writes
from tests.tracking.helpers import wait_until


def test_ctrl_c_is_held_back_while_a_batch_commits():
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        reached = []
        with pytest.raises(KeyboardInterrupt), interrupts_held():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # the handler runs here, and only records it
            reached.append("end of block")
        assert reached == ["end of block"]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)


class StandIn:
    """What the hooks call on a logger, recorded."""

    def __init__(self, name, sqlite_path=None):
        self.name, self.sqlite_path, self.events = name, sqlite_path, []

    def after_fork_in_child(self):
        self.events.append("fork")

    def end_run_on_signal(self, signum):
        self.events.append("sigterm" if signum == signal.SIGTERM else signum)

    def note_signal(self, signum):  # the program has a handler of its own
        self.events.append("noted sigterm" if signum == signal.SIGTERM else signum)

    def end_run_at_exit(self, error):
        self.events.append(("exit", repr(error)))


@pytest.fixture
def at_exit(monkeypatch):
    """What is registered with atexit during the test (never the real one)."""
    registered = []
    monkeypatch.setattr(atexit, "register", registered.append)
    monkeypatch.setattr(atexit, "unregister", registered.remove)
    return registered


@pytest.fixture
def user_sigterm():
    """A SIGTERM handler of the program's own, and the signals it got."""
    received = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    yield received
    signal.signal(signal.SIGTERM, previous)


def test_the_hooks_come_with_the_first_run_and_go_with_the_last(at_exit, user_sigterm):
    hooks, first, second = ProcessHooks(), StandIn("first"), StandIn("second")
    handler, exit_function = signal.getsignal(signal.SIGTERM), sys.exit
    hooks.run_starting(first)
    hooks.run_starting(second)
    hooks.run_starting(second)  # once is enough
    assert len(at_exit) == 1 and hooks.running() == [second, first]
    assert signal.getsignal(signal.SIGTERM) != handler and sys.exit is not exit_function
    hooks.run_ended(first)
    assert len(at_exit) == 1 and signal.getsignal(signal.SIGTERM) != handler
    hooks.run_ended(second)
    assert at_exit == [] and hooks.running() == []
    assert signal.getsignal(signal.SIGTERM) is handler and sys.exit is exit_function


def test_a_run_in_the_main_thread_after_one_in_a_thread_gets_the_handler(at_exit, user_sigterm):
    hooks, in_thread, in_main = ProcessHooks(), StandIn("in thread"), StandIn("in main")
    handler = signal.getsignal(signal.SIGTERM)

    def start():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # what it says is tested below
            hooks.run_starting(in_thread)

    thread = threading.Thread(target=start)
    thread.start()
    thread.join()
    assert signal.getsignal(signal.SIGTERM) is handler  # a thread cannot set one
    hooks.run_starting(in_main)
    assert signal.getsignal(signal.SIGTERM) != handler
    hooks.run_ended(in_thread)
    hooks.run_ended(in_main)
    assert signal.getsignal(signal.SIGTERM) is handler


def test_sigterm_with_a_handler_of_the_programs_notes_the_runs_then_chains(at_exit, user_sigterm):
    hooks, first, second = ProcessHooks(), StandIn("first"), StandIn("second")
    order = []
    first.note_signal = lambda signum: order.append("first")
    second.note_signal = lambda signum: order.append("second")
    hooks.run_starting(first)
    hooks.run_starting(second)
    os.kill(os.getpid(), signal.SIGTERM)
    wait_until(lambda: user_sigterm)
    assert order == ["second", "first"] and user_sigterm == [signal.SIGTERM]
    hooks.run_ended(first)
    hooks.run_ended(second)


def test_a_program_that_goes_on_after_its_own_handler_waits_for_locks_as_ever(
    at_exit, user_sigterm
):
    """Writes stop waiting for a lock soon while the process is ending; a program whose
    handler returned is not ending (its writes gave up after 3 s ever after)."""
    hooks, logger = ProcessHooks(), StandIn("logger")
    hooks.run_starting(logger)
    assert main_writes.stopping is False
    os.kill(os.getpid(), signal.SIGTERM)
    wait_until(lambda: user_sigterm)
    assert logger.events == ["noted sigterm"] and main_writes.stopping is False
    hooks.run_ended(logger)


def test_a_sigterm_inside_a_write_of_the_main_thread_waits_for_its_end(at_exit, user_sigterm):
    hooks, logger = ProcessHooks(), StandIn("logger")
    hooks.run_starting(logger)
    with main_writes.marked():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)  # the handler runs here, and only queues itself
        assert logger.events == [] and user_sigterm == []
    assert logger.events == ["noted sigterm"] and user_sigterm == [signal.SIGTERM]
    hooks.run_ended(logger)


def test_at_exit_open_runs_end_with_the_code_given_to_sys_exit(at_exit, user_sigterm):
    hooks, logger = ProcessHooks(), StandIn("logger")
    hooks.run_starting(logger)
    with pytest.raises(SystemExit):
        sys.exit(3)
    [end_at_exit] = at_exit
    end_at_exit()
    assert logger.events == [("exit", "SystemExit(3)")]
    hooks.run_ended(logger)


def test_a_handler_that_raises_does_not_keep_the_others_from_ending(at_exit, user_sigterm):
    hooks, first, second = ProcessHooks(), StandIn("first"), StandIn("second")

    def broken(error):
        raise OSError("disk full")

    second.end_run_at_exit = broken
    hooks.run_starting(first)
    hooks.run_starting(second)
    with pytest.raises(OSError, match="disk full"):
        at_exit[0]()
    assert first.events == [("exit", "None")]
    hooks.run_ended(first)
    hooks.run_ended(second)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_drops_the_parents_runs_and_refuses_its_sqlite_files(at_exit):
    hooks = ProcessHooks()
    on_file, on_server = StandIn("file", "/data/runs.db"), StandIn("server")
    hooks.adopt(on_file)
    hooks.adopt(on_server)
    hooks.run_starting(on_file)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child)
        try:
            seen = [on_file.events, on_server.events, len(hooks.running())]
            seen.append(sorted(hooks.forked_files))
            os.write(write, json.dumps(seen).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as pipe:
        seen = json.load(pipe)
    assert seen == [["fork"], ["fork"], 0, ["/data/runs.db"]]
    assert on_file.events == [] and hooks.forked_files == set()  # the parent is unchanged
    hooks.run_ended(on_file)


@pytest.mark.parametrize(
    ("error", "status", "text"),
    [
        (None, "completed", None),
        (SystemExit(0), "completed", None),
        (SystemExit(None), "completed", None),
        (SystemExit(3), "failed", "SystemExit: 3"),
        (KeyboardInterrupt(), "killed", "KeyboardInterrupt"),
        (ValueError("diverged"), "failed", "ValueError: diverged"),
    ],
)
def test_a_program_that_ends_with_an_error_ends_its_run_with_a_status(error, status, text):
    got_status, got_text = ending(error)
    assert got_status == status
    assert got_text == text if text is None or status == "killed" else text in got_text


def test_a_run_started_outside_the_main_thread_warns_once_that_sigterm_is_not_caught(at_exit):
    from ato.errors import AtoWarning

    hooks = ProcessHooks()
    caught = []

    def start():
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            hooks.run_starting(StandIn("first"))
            hooks.run_starting(StandIn("second"))
        caught.extend(w for w in seen if issubclass(w.category, AtoWarning))

    thread = threading.Thread(target=start)
    thread.start()
    thread.join()
    assert len(caught) == 1 and "Start the run in the main thread" in str(caught[0].message)

"""The life of a run in awkward moments: signals that land inside a flush, forks,
threads, exits with a status, errors of the background flush, several runs in one
process. Found by a review; each test failed before its fix."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import pytest

from ato.errors import TrackerDatabaseError
from ato.tracking import SQLFinder, SQLLogger
from tests.tracking.helpers import make_config, run_script, wait_until

BIG_FLUSH = """
import os, signal, sys, threading, time
from ato.adict import ADict
from ato.tracking import SQLLogger

signal.signal(signal.SIGINT, signal.default_int_handler)  # as in an interactive program
url, signame, use_with = sys.argv[1], sys.argv[2], sys.argv[3] == "with"
config = ADict(experiment=ADict(project_name='flush', sql=ADict(db_path=url)))
logger = SQLLogger(config, flush_interval=1000, batch_size=10**9)
run = logger.run()
print(int(run), flush=True)

def body():
    for i in range(300_000):
        logger.log_metric('x', float(i))
    # The signal arrives while this flush (one transaction of 300k rows) is under way.
    threading.Timer(0.05, os.kill, (os.getpid(), getattr(signal, signame))).start()
    logger.flush()
    time.sleep(60)

if use_with:
    with run:
        body()
else:
    body()
"""


@pytest.mark.parametrize(
    ("signame", "use_with"), [("SIGTERM", "bare"), ("SIGINT", "with"), ("SIGTERM", "with")]
)
def test_a_signal_during_a_flush_loses_nothing_and_ends_the_run_as_killed(
    db_url, tmp_path, signame, use_with
):
    child = run_script(tmp_path, BIG_FLUSH, db_url, signame, use_with, name="flush.py")
    run_id = int(child.stdout.readline())
    started = time.monotonic()
    _, stderr = child.communicate(timeout=120)
    assert time.monotonic() - started < 30, "the signal handler stalled on the lock"
    assert child.returncode == -getattr(signal, signame), stderr
    run = SQLFinder(make_config(db_url, "flush")).find_run(run_id)
    assert run.stored_status == "killed"
    assert run.summary["x"].count == 300_000
    assert run.summary["x"].last_step == 299_999


def test_a_background_error_that_recovered_does_not_fail_finish(sqlite_url):
    logger = SQLLogger(make_config(sqlite_url), flush_interval=0.05)
    run_id = logger.run()
    writer = logger.buffer.write
    failures = iter([True, False])

    def flaky(batch):
        if next(failures, False):
            raise OSError("disk briefly unavailable")
        writer(batch)

    logger.buffer.write = flaky
    logger.log_metric("x", 1.0)
    assert wait_until(lambda: not len(logger.buffer), 10), "the background flush never recovered"
    logger.finish()  # raises nothing: the later flush wrote everything
    run = SQLFinder(make_config(sqlite_url)).find_run(run_id)
    assert run.stored_status == "completed" and run.summary["x"].count == 1


def test_a_failed_final_flush_still_records_the_status(sqlite_url):
    logger = SQLLogger(make_config(sqlite_url))
    run_id = logger.run()
    logger.log_metric("x", 1.0)

    def broken(batch):
        raise OSError("disk full")

    logger.buffer.write = broken
    with pytest.raises(OSError, match="disk full"):
        logger.finish()
    assert SQLFinder(make_config(sqlite_url)).find_run(run_id).stored_status == "completed"


FORK = """
import os, sys
from ato.adict import ADict
from ato.tracking import SQLLogger

url, how = sys.argv[1], sys.argv[2]
logger = SQLLogger(ADict(experiment=ADict(project_name='fork', sql=ADict(db_path=url))))
run = logger.run()
logger.log_metric('x', 1.0)
print(int(run), flush=True)
if how == "os.fork":
    pid = os.fork()
    if pid == 0:
        try:
            logger.log_metric('x', 2.0)
        except Exception as error:
            print(type(error).__name__, error, flush=True)
        try:  # the parent's run is the parent's to end
            logger.update_status("failed")
        except Exception as error:
            print("status", type(error).__name__, flush=True)
        try:
            logger.log_artifact(int(run), __file__)
        except Exception as error:
            print("artifact", type(error).__name__, flush=True)
        try:  # a run of its own
            with logger.run() as child_run:
                logger.log_metric('y', 1.0)
            print("child run", int(child_run), flush=True)
        except Exception as error:
            print(type(error).__name__, error, flush=True)
        if url.startswith("sqlite:///"):  # the same file, spelled another way
            folder, name = os.path.split(url.removeprefix("sqlite:///"))
            alias = f"sqlite:///{folder}/./{name}"
            try:
                SQLLogger(ADict(experiment=ADict(project_name='fork', sql=ADict(db_path=alias))))
            except Exception as error:
                print("alias", type(error).__name__, flush=True)
        sys.exit(0)  # runs atexit in the child
    os.waitpid(pid, 0)
else:
    import multiprocessing
    process = multiprocessing.get_context("fork").Process(target=print, args=("child",))
    process.start(); process.join()
logger.log_metric('x', 3.0)
logger.finish()
"""


@pytest.mark.parametrize("how", ["os.fork", "multiprocessing"])
def test_a_forked_child_neither_finishes_nor_duplicates_the_parents_run(db_url, tmp_path, how):
    child = run_script(tmp_path, FORK, db_url, how, name="fork.py")
    stdout, stderr = child.communicate(timeout=60)
    assert child.returncode == 0, stderr
    run_id = int(stdout.split()[0])
    finder = SQLFinder(make_config(db_url, "fork"))
    if how == "os.fork":
        assert "NoActiveRunError" in stdout and "another process" in stdout
        assert "status NoActiveRunError" in stdout
        if db_url.startswith("sqlite"):  # SQLite's locks do not survive a fork
            assert "TrackerDatabaseError" in stdout and "spawn" in stdout
            assert "alias TrackerDatabaseError" in stdout
            assert "artifact TrackerDatabaseError" in stdout
            assert finder.find_run(run_id).artifacts == []
        else:
            child_run = int(stdout.split("child run")[1].split()[0])
            assert finder.find_run(child_run).summary["y"].count == 1
    run = finder.find_run(run_id)
    assert [p.value for p in run.metric("x")] == [1.0, 3.0]
    assert run.stored_status == "completed"


EXIT = """
import sys
from ato.adict import ADict
from ato.tracking import SQLLogger

url, code, use_with = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "with"
logger = SQLLogger(ADict(experiment=ADict(project_name='exit', sql=ADict(db_path=url))))
run = logger.run()
print(int(run), flush=True)
logger.log_metric('x', 1.0)
if use_with:
    with run:
        sys.exit(code)
sys.exit(code)
"""


@pytest.mark.parametrize("use_with", ["with", "bare"])
@pytest.mark.parametrize(("code", "status"), [(0, "completed"), (3, "failed")])
def test_sys_exit_sets_the_status_by_its_code(sqlite_url, tmp_path, use_with, code, status):
    child = run_script(tmp_path, EXIT, sqlite_url, str(code), use_with, name="exit.py")
    stdout, stderr = child.communicate(timeout=60)
    assert child.returncode == code, stderr
    run = SQLFinder(make_config(sqlite_url, "exit")).find_run(int(stdout))
    assert run.stored_status == status
    if code:
        assert "SystemExit: 3" in run.error


def test_an_in_memory_database_is_refused_with_a_way_out():
    with pytest.raises(TrackerDatabaseError, match=r"in-memory.*sqlite:///"):
        SQLLogger(make_config("sqlite://"))
    with pytest.raises(TrackerDatabaseError, match="in-memory"):
        SQLFinder(make_config("sqlite:///:memory:"))


@pytest.mark.parametrize(
    "options",
    ["mode=ro&uri=true", "immutable=1&uri=true", "immutable=on&uri=yes", "immutable=2&uri=t"],
)
def test_a_read_only_sqlite_uri_is_refused_for_a_writer_and_read_by_a_finder(tmp_path, options):
    path = tmp_path / "runs.db"
    logger = SQLLogger(make_config(f"sqlite:///{path}", "p"))
    logger.run()
    logger.finish()
    url = f"sqlite:///file:{path}?{options}"
    with pytest.raises(
        TrackerDatabaseError, match=r"read-only \((mode=ro|immutable=\w+)\).*remove"
    ):
        SQLLogger(make_config(url, "p"))
    if "immutable" in options:
        # The open logger's writes are still in the -wal file, which immutable skips.
        assert (tmp_path / "runs.db-wal").stat().st_size
        with pytest.raises(TrackerDatabaseError, match="remove immutable="):
            SQLFinder(url)
        logger.engine.dispose()  # the last connection merges the -wal file into the database
    assert [run.id for run in SQLFinder(url).get_runs_in_project("p")] == [1]


def test_file_uri_options_without_uri_true_name_a_plain_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # SQLAlchemy opens "file:plain.db" as a file of that name
    with pytest.warns(Warning, match="uri=true"):  # SQLAlchemy says it ignores mode=ro
        logger = SQLLogger(make_config("sqlite:///file:plain.db?mode=ro", "p"))
    with logger.run():
        pass
    assert (tmp_path / "file:plain.db").exists()


def test_threads_logging_one_key_get_distinct_steps(sqlite_url):
    logger = SQLLogger(make_config(sqlite_url))
    run_id = logger.run()
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        threads = [
            threading.Thread(target=lambda: [logger.log_metric("x", 1.0) for _ in range(5000)])
            for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch)
    logger.finish()
    steps = [p.step for p in SQLFinder(make_config(sqlite_url)).metrics(run_id, "x")]
    assert sorted(steps) == list(range(20_000))


def test_finish_from_a_worker_thread_keeps_the_chained_sigterm_handler(sqlite_url):
    received = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    try:
        logger = SQLLogger(make_config(sqlite_url))
        logger.run()
        worker = threading.Thread(target=logger.finish)
        worker.start()
        worker.join()
        os.kill(os.getpid(), signal.SIGTERM)
        wait_until(lambda: received)
        assert received == [signal.SIGTERM]
        # A new run in the main thread installs the handler once, never chaining to itself.
        logger.run()
        logger.finish()
        os.kill(os.getpid(), signal.SIGTERM)
        wait_until(lambda: len(received) == 2)
        assert received == [signal.SIGTERM, signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_a_single_string_tag_is_one_tag(sqlite_url):
    logger = SQLLogger(make_config(sqlite_url))
    run_id = logger.run(tags="baseline")
    logger.finish()
    assert SQLFinder(make_config(sqlite_url)).find_run(run_id).tags == ["baseline"]


SIGTERM_CASES = """
import os, signal, sys, threading, time
from ato.adict import ADict
from ato.tracking import SQLLogger
from ato.tracking.schema import Experiment

url, case = sys.argv[1], sys.argv[2]


def config(project):
    return ADict(experiment=ADict(project_name=project, sql=ADict(db_path=url)))


def user_handler(signum, frame):
    print("user handler", flush=True)
    sys.exit(3)


def term_soon():
    threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGTERM)).start()


if case == "user_handler_during_finish":
    signal.signal(signal.SIGTERM, user_handler)  # e.g. a checkpoint-and-requeue handler
    logger = SQLLogger(config("a"), flush_interval=1000, batch_size=10**9)
    print(int(logger.run()), flush=True)
    for i in range(300_000):
        logger.log_metric("x", float(i))
    term_soon()
    logger.finish()
    time.sleep(60)
elif case == "two_loggers":
    a = SQLLogger(config("a"), flush_interval=1000, batch_size=10**9)
    b = SQLLogger(config("b"), flush_interval=1000, batch_size=10**9)
    print(int(a.run()), int(b.run()), flush=True)
    for i in range(300_000):
        a.log_metric("x", float(i))
    b.log_metric("x", 1.0)
    term_soon()  # lands in a's flush; b's handler runs first
    a.flush()
    time.sleep(60)
elif case == "session_holds_the_lock":
    logger = SQLLogger(config("a"), flush_interval=1000)
    run = logger.run()
    for i in range(1000):
        logger.log_metric("x", float(i))
    session = logger.session
    session.get(Experiment, int(run)).tags = ["note"]
    session.flush()  # a write transaction, not yet committed
    for i in range(1000, 2000):
        logger.log_metric("x", float(i))
    print(int(run), flush=True)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(60)
"""


@pytest.mark.parametrize(
    ("case", "code", "counts", "statuses"),
    [
        ("user_handler_during_finish", 3, [300_000], ["completed"]),
        ("two_loggers", -signal.SIGTERM, [300_000, 1], ["killed", "killed"]),
        ("session_holds_the_lock", -signal.SIGTERM, [2000], ["killed"]),
    ],
)
def test_sigterm_in_awkward_places_ends_promptly_and_keeps_every_point(
    db_url, tmp_path, case, code, counts, statuses
):
    child = run_script(tmp_path, SIGTERM_CASES, db_url, case, name="cases.py")
    run_ids = [int(word) for word in child.stdout.readline().split()]
    started = time.monotonic()
    stdout, stderr = child.communicate(timeout=120)
    assert time.monotonic() - started < 30, "the signal handler stalled on a lock"
    assert child.returncode == code, stderr
    if case == "user_handler_during_finish":
        assert "user handler" in stdout
    finder = SQLFinder(make_config(db_url))
    runs = [finder.find_run(run_id) for run_id in run_ids]
    assert [run.summary["x"].count for run in runs] == counts
    assert [run.stored_status for run in runs] == statuses


HANGUP = """
import signal, sys, time
from ato.adict import ADict
from ato.tracking import SQLLogger

url, signame, chained = sys.argv[1], sys.argv[2], sys.argv[3] == "chained"
if chained:  # the program's own handler, e.g. one that saves a checkpoint
    def own(signum, frame):
        print("own handler", flush=True)
        sys.exit(4)
    signal.signal(getattr(signal, signame), own)
config = ADict(experiment=ADict(project_name='hup', sql=ADict(db_path=url)))
logger = SQLLogger(config, flush_interval=1000, batch_size=10**9)
run = logger.run()
for i in range(5000):
    logger.log_metric('x', float(i))
print(int(run), flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize(
    ("signame", "chained", "code"),
    [
        ("SIGHUP", "alone", -signal.SIGHUP),  # a closed terminal, a dropped ssh session
        ("SIGHUP", "chained", 4),
        ("SIGTERM", "alone", -signal.SIGTERM),
        ("SIGTERM", "chained", 4),
    ],
)
def test_a_hangup_ends_the_run_as_killed_with_every_point_as_sigterm_does(
    db_url, tmp_path, signame, chained, code
):
    child = run_script(tmp_path, HANGUP, db_url, signame, chained, name="hup.py")
    run_id = int(child.stdout.readline())
    child.send_signal(getattr(signal, signame))
    stdout, stderr = child.communicate(timeout=60)
    assert child.returncode == code, stderr
    assert ("own handler" in stdout) == (chained == "chained")
    run = SQLFinder(make_config(db_url, "hup")).find_run(run_id)
    assert run.stored_status == "killed" and run.status == "killed"
    assert run.error.startswith(f"terminated by {signame}")
    assert ("own handler ran" in run.error) == (chained == "chained")
    assert run.summary["x"].count == 5000


GRACEFUL = """
import signal, sys, time
from ato.adict import ADict
from ato.tracking import SQLLogger

stop = []
signal.signal(signal.SIGTERM, lambda signum, frame: stop.append(signum))  # SLURM-style
url, mode = sys.argv[1], sys.argv[2]
logger = SQLLogger(ADict(experiment=ADict(project_name='graceful', sql=ADict(db_path=url))))
run = logger.run()
print(int(run), flush=True)


def train():
    step = 0
    while not stop:
        logger.log_metric("loss", 1.0 / (step + 1))
        step += 1
        if step == 50:
            print("steady", flush=True)
        time.sleep(0.001)
    logger.log_metric("final_loss", 0.5)  # after the program's own handler: still logged
    print("saved", flush=True)


if mode == "with":
    with run:
        train()
else:
    train()
    logger.finish()
"""


@pytest.mark.parametrize("mode", ["with", "plain"])
def test_a_programs_own_sigterm_handler_runs_and_its_last_logs_are_kept(sqlite_url, tmp_path, mode):
    child = run_script(tmp_path, GRACEFUL, sqlite_url, mode, name="graceful.py")
    run_id = int(child.stdout.readline())
    assert child.stdout.readline().strip() == "steady"
    child.send_signal(signal.SIGTERM)
    stdout, stderr = child.communicate(timeout=60)
    assert child.returncode == 0 and "saved" in stdout, stderr
    run = SQLFinder(make_config(sqlite_url, "graceful")).find_run(run_id)
    assert [p.value for p in run.metric("final_loss")] == [0.5]
    assert run.stored_status == "killed"  # stopped early: not a completed run
    assert "SIGTERM" in run.error and "the program's own handler" in run.error


DIES_AFTER_CLEANUP = """
import os, signal, sys, time
from ato.adict import ADict
from ato.tracking import SQLLogger


def cleanup_then_die(signum, frame):  # save, then die of the signal as the sender expects
    print("saved", flush=True)
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


signal.signal(signal.SIGTERM, cleanup_then_die)
url = sys.argv[1]
logger = SQLLogger(ADict(experiment=ADict(project_name='dies', sql=ADict(db_path=url))))
run = logger.run()
print(int(run), flush=True)
for step in range(10**9):
    logger.log_metric("loss", 1.0 / (step + 1))
    if step == 50:
        print("steady", flush=True)
    time.sleep(0.001)
"""


def test_a_handler_that_dies_of_the_signal_after_cleaning_up_leaves_the_run_killed(
    sqlite_url, tmp_path
):
    child = run_script(tmp_path, DIES_AFTER_CLEANUP, sqlite_url, name="dies.py")
    run_id = int(child.stdout.readline())
    assert child.stdout.readline().strip() == "steady"
    child.send_signal(signal.SIGTERM)
    stdout, stderr = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGTERM and "saved" in stdout, stderr
    run = SQLFinder(make_config(sqlite_url, "dies")).find_run(run_id)
    assert run.stored_status == "killed" and run.error.startswith("terminated by SIGTERM")
    assert len(run.metric("loss")) >= 50

"""Faults with real processes: many writers at once, kill -9, SIGTERM, stopped
processes, and programs that end without finishing their run."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from ato.tracking import SQLFinder
from tests.tracking.helpers import STARTED, make_config, run_script

WORKER = """
import os, sys, time
from ato.adict import ADict
from ato.tracking import SQLLogger

url, go, index, points = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
open(f"{go}.ready{index}", "w").close()
while not os.path.exists(go):
    time.sleep(0.001)
config = ADict(experiment=ADict(project_name='shared', sql=ADict(db_path=url)), worker=index)
logger = SQLLogger(config, batch_size=500)
with logger.run(tags=[f"worker{index}"]):
    for step in range(points):
        logger.log_metric("loss", index + step / points)
"""


def test_32_processes_share_one_new_database_without_losing_a_point(db_url, tmp_path):
    processes, points = 32, 1500
    go = str(tmp_path / "go")
    children = [
        run_script(tmp_path, WORKER, db_url, go, str(index), str(points), name="worker.py")
        for index in range(processes)
    ]
    try:
        deadline = time.time() + 120
        while sum(name.startswith("go.ready") for name in os.listdir(tmp_path)) < processes:
            assert time.time() < deadline, "workers did not start"
            dead = [child for child in children if child.poll() is not None]
            assert not dead, dead[0].stderr.read() if dead else ""
            time.sleep(0.01)
        (tmp_path / "go").touch()  # all of them create the database at the same moment
        failures = []
        for child in children:
            _, stderr = child.communicate(timeout=300)
            if child.returncode != 0 or stderr.strip():
                failures.append(stderr.strip()[-2000:])
    finally:
        for child in children:  # never leave workers behind a failed test
            if child.poll() is None:
                child.kill()
                child.communicate()
    assert failures == []
    finder = SQLFinder(make_config(db_url, "shared"))
    runs = finder.get_runs_in_project("shared")
    assert len(runs) == processes
    assert {run.status for run in runs} == {"completed"}
    for run in runs:
        summary = run.summary["loss"]
        assert (summary.count, summary.last_step) == (points, points - 1)
    total = sum(len(finder.metrics(run.id, "loss")) for run in runs)
    assert total == processes * points
    assert finder.find_project("shared").name == "shared"


LOGGER = """
import signal, sys, time
from ato.adict import ADict
from ato.tracking import SQLLogger

# A job started in the background (as CI may start the tests) inherits SIGINT ignored;
# an interactive program has Python's Ctrl-C handler, which is what is tested here.
signal.signal(signal.SIGINT, signal.default_int_handler)

url, mode = sys.argv[1], sys.argv[2]
config = ADict(experiment=ADict(project_name='faults', sql=ADict(db_path=url)))
logger = SQLLogger(config, heartbeat_interval=0.2)
run = logger.run()
print("run", int(run), flush=True)
step = 0
if mode == "steady":
    while True:
        logger.log_metric("x", float(step), step=step)
        if step % 20 == 0:
            print("logged", step, time.time(), flush=True)
        step += 1
        time.sleep(0.002)
elif mode == "long_step":
    logger.log_metric("x", 1.0)
    print("long step", flush=True)
    time.sleep(3)
    logger.finish()
elif mode == "no_finish":
    logger.log_metric("x", 1.0)
elif mode == "raise":
    logger.log_metric("x", 1.0)
    raise RuntimeError("diverged at step 7")
elif mode == "interrupt":
    logger.log_metric("x", 1.0)
    raise KeyboardInterrupt
"""


def start(tmp_path, url, mode):
    child = run_script(tmp_path, LOGGER, url, mode, name="logger.py")
    first = child.stdout.readline().split()
    assert first[:1] == ["run"], child.stderr.read()
    return child, int(first[1])


def test_kill_9_keeps_every_point_flushed_before_it_and_reads_as_crashed(db_url, tmp_path):
    child, run_id = start(tmp_path, db_url, "steady")
    seen: list[tuple[int, float]] = []
    while len(seen) < 2 or seen[-1][1] - seen[0][1] < 2.5:
        _, step, stamp = child.stdout.readline().split()
        seen.append((int(step), float(stamp)))
    killed_at = time.time()
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()
    child.stderr.close()
    # Everything logged more than a second before the kill must be there.
    due = max(step for step, stamp in seen if stamp < killed_at - 1.0)
    finder = SQLFinder(make_config(db_url), heartbeat_grace=60)
    steps = [point.step for point in finder.metrics(run_id, "x")]
    assert steps == list(range(len(steps))), "points lost in the middle"
    assert len(steps) > due
    run = finder.find_run(run_id)
    assert run.stored_status == "running" and run.status == "crashed"  # its pid is gone
    if db_url.startswith("sqlite"):
        connection = sqlite3.connect(db_url.removeprefix("sqlite:///"))
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        connection.close()


def test_a_stopped_process_here_is_running_with_a_stale_heartbeat_and_crashed_once_gone(
    db_url, tmp_path
):
    child, run_id = start(tmp_path, db_url, "steady")
    child.stdout.readline()
    child.send_signal(signal.SIGSTOP)  # Ctrl-Z: alive, but silent
    try:
        finder = SQLFinder(make_config(db_url), heartbeat_grace=1.5)
        run = finder.find_run(run_id)
        later = run.heartbeat_at + dt.timedelta(seconds=60)
        assert run.status_at(now=later) == "running"
        assert run.heartbeat_age_at(later) == 60.0
    finally:
        child.send_signal(signal.SIGKILL)
        child.send_signal(signal.SIGCONT)
        child.communicate()
    assert finder.find_run(run_id).status_at(now=later) == "crashed"


def test_a_live_run_in_a_long_step_keeps_beating(db_url, tmp_path):
    child, run_id = start(tmp_path, db_url, "long_step")
    assert child.stdout.readline().strip() == "long step"
    finder = SQLFinder(make_config(db_url), heartbeat_grace=1.0)
    first = finder.find_run(run_id).heartbeat_at
    deadline = time.monotonic() + 10
    while finder.find_run(run_id).heartbeat_at == first and time.monotonic() < deadline:
        time.sleep(0.05)
    run = finder.find_run(run_id)
    assert run.heartbeat_at > first, "no heartbeat during the step"
    assert run.status_at(now=run.heartbeat_at + dt.timedelta(seconds=0.9)) == "running"
    child.communicate(timeout=30)
    assert finder.find_run(run_id).status == "completed"


@pytest.mark.parametrize(
    ("signum", "reason"), [(signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "KeyboardInterrupt")]
)
def test_sigterm_and_ctrl_c_write_pending_points_and_mark_the_run_killed(
    db_url, tmp_path, signum, reason
):
    child, run_id = start(tmp_path, db_url, "steady")
    for _ in range(5):
        last = int(child.stdout.readline().split()[1])
    child.send_signal(signum)
    child.communicate(timeout=30)
    assert child.returncode == -signum  # it still dies of the signal
    finder = SQLFinder(make_config(db_url))
    run = finder.find_run(run_id)
    assert run.status == "killed" and reason in run.error
    steps = [point.step for point in finder.metrics(run_id, "x")]
    assert steps == list(range(len(steps))) and len(steps) > last


@pytest.mark.parametrize(
    ("mode", "status", "error"),
    [
        ("no_finish", "completed", None),
        ("raise", "failed", "RuntimeError: diverged at step 7"),
        ("interrupt", "killed", "KeyboardInterrupt"),
    ],
)
def test_a_program_that_ends_without_finish_gets_the_status_of_its_end(
    db_url, tmp_path, mode, status, error
):
    child, run_id = start(tmp_path, db_url, mode)
    child.communicate(timeout=30)
    run = SQLFinder(make_config(db_url)).find_run(run_id)
    assert run.status == status
    if error:
        assert error in run.error
    assert [point.value for point in run.metrics] == [1.0]
    assert run.end_time is not None


NAMESPACED = """
import os, sys

url, target = sys.argv[1], int(sys.argv[2])
# Pids in a new namespace count up from 1: fork until a child gets the target pid.
while True:
    pid = os.fork()
    if pid == 0:
        if os.getpid() != target:
            os._exit(0)
        break
    os.waitpid(pid, 0)
    if pid >= target:
        sys.exit(0)

from ato.adict import ADict
from ato.tracking import SQLLogger

logger = SQLLogger(ADict(experiment=ADict(project_name='faults', sql=ADict(db_path=url))))
run = logger.run()
print(int(run), os.getpid(), flush=True)
sys.stdin.readline()  # until the test has looked
logger.finish()
"""


def test_a_live_run_in_another_pid_namespace_on_this_host_is_not_crashed(db_url, tmp_path):
    # Containers that share a hostname and a database volume: the pid a logger stores
    # means nothing out here, so only the heartbeat may judge its run.
    from ato.tracking.pids import pid_is_running

    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is needed to start a process in a new pid namespace")
    target = next(pid for pid in range(3, 1000) if not pid_is_running(pid))
    script = tmp_path / "namespaced.py"
    script.write_text(NAMESPACED)
    command = ["unshare", "--pid", "--fork", "--mount-proc"]
    if os.geteuid() != 0:
        command[1:1] = ["--user", "--map-root-user"]
    child = subprocess.Popen(
        [*command, sys.executable, str(script), db_url, str(target)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    STARTED.append(child)
    line = child.stdout.readline().split()
    assert line, child.stderr.read()
    run_id, inner_pid = int(line[0]), int(line[1])
    assert inner_pid == target and not pid_is_running(target)
    run = SQLFinder(make_config(db_url, "faults")).find_run(run_id)
    assert run.pid == target and run.status == "running"
    child.communicate("\n", timeout=30)
    assert child.returncode == 0
    assert SQLFinder(make_config(db_url, "faults")).find_run(run_id).status == "completed"


PACED = """
import sys, time
from ato.adict import ADict
from ato.tracking import SQLLogger

url, rate = sys.argv[1], int(sys.argv[2])
logger = SQLLogger(ADict(experiment=ADict(project_name='paced', sql=ADict(db_path=url))))
print(int(logger.run()), flush=True)
start, logged, said = time.time(), 0, False
while True:  # `rate` points a second, each the wall-clock time it was logged at
    due = int((time.time() - start) * rate)
    while logged < due:
        logger.log_metric("t", time.time())
        logged += 1
    if logged >= rate and not said:
        print("steady", flush=True)  # a second in: batches are being written
        said = True
    time.sleep(0.0002)
"""

PROMISED_LOSS_S = 0.5  # README, "Tracking runs": at most the last half second


def test_kill_9_at_20000_points_a_second_loses_at_most_half_a_second(db_url, tmp_path):
    gaps = []
    for trial in range(5):
        child = run_script(tmp_path, PACED, db_url, "20000", name="paced.py")
        run_id = int(child.stdout.readline())
        assert child.stdout.readline().strip() == "steady"
        time.sleep(0.5 + 0.1 * trial)  # kill at different points of the flush cycle
        killed_at = time.time()
        child.send_signal(signal.SIGKILL)
        child.communicate()
        points = SQLFinder(make_config(db_url, "paced")).metrics(run_id, "t")
        gaps.append(killed_at - max(point.value for point in points))
    print(f"kill -9 at 20,000 points/s, {db_url.split(':')[0]}: gaps {gaps}")
    assert max(gaps) <= PROMISED_LOSS_S, f"newest stored point's age at the kill: {gaps}"


CTRL_C_WHILE_FINISHING = """
import os, signal, sys, threading, time
from sqlalchemy import event
from ato.adict import ADict
from ato.tracking import SQLLogger

url, presses = sys.argv[1], int(sys.argv[2])
logger = SQLLogger(ADict(experiment=ADict(project_name='faults', sql=ADict(db_path=url))))
logger.batch_size = 1000
writing = threading.Event()

@event.listens_for(logger.engine, "before_cursor_execute")
def slow_background_write(connection, cursor, statement, parameters, context, many):
    # The background thread's batch takes a while: finish() waits for it, and Ctrl-C
    # lands in that wait (and, pressed twice, in the wait of the retry after it).
    if threading.current_thread().name.startswith("ato-tracker") and not writing.is_set():
        writing.set()
        time.sleep(1.0)

run = logger.run()
print(int(run), flush=True)
for step in range(1000):  # a full batch: the background thread writes it at once
    logger.log_metric("x", float(step), step=step)
writing.wait(10)

def press():
    for _ in range(presses):
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGINT)

threading.Thread(target=press, daemon=True).start()
logger.finish()
time.sleep(5)  # a Ctrl-C that finish() swallowed would end up here
print("not interrupted", flush=True)
"""


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_while_the_run_finishes_still_ends_it_killed_with_its_points(
    sqlite_url, tmp_path, presses
):
    """Ctrl-C (once, or twice: the second stops the retry) while finish() waits for the
    background thread's last write: the run reads 'killed', the points written, and the
    program still stops with KeyboardInterrupt."""
    child = run_script(tmp_path, CTRL_C_WHILE_FINISHING, sqlite_url, str(presses))
    run_id = int(child.stdout.readline())
    out, err = child.communicate(timeout=60)
    assert "KeyboardInterrupt" in err and "not interrupted" not in out, err
    run = SQLFinder(make_config(sqlite_url)).find_run(run_id)
    assert (run.stored_status, run.error) == ("killed", "KeyboardInterrupt")
    assert len(SQLFinder(make_config(sqlite_url)).metrics(run_id, "x")) == 1000


def _outage_at_finish(server, back_after: float | None):
    """A run on ``server`` that logs 1000 points (written), loses the server, logs 1000
    more and finishes; the server comes back ``back_after`` seconds later (or never)."""
    import threading

    from ato.tracking import SQLLogger

    logger = SQLLogger.open(server.url, "outage")
    run_id = int(logger.run())
    for step in range(1000):
        logger.log_metric("x", float(step), step=step)
    logger.flush()
    server.pause()
    for step in range(1000, 2000):
        logger.log_metric("x", float(step), step=step)
    if back_after is not None:
        threading.Timer(back_after, server.resume).start()
    return logger, run_id


def test_a_postgresql_server_back_while_the_run_ends_loses_nothing(postgres_server, capfd):
    from tests.pg_server import PostgresServer

    del postgres_server  # the session's server stays up; this test restarts one of its own
    with PostgresServer() as server:
        logger, run_id = _outage_at_finish(server, back_after=3)
        logger.finish()  # waits for the server, then writes the points and the status
        run = SQLFinder(make_config(server.url, "outage")).find_run(run_id)
        assert run.stored_status == "completed"
        assert [point.step for point in run.metrics] == list(range(2000))
        assert "Waiting up to" in capfd.readouterr().err


def test_a_postgresql_server_that_stays_away_says_what_is_lost(postgres_server, monkeypatch):
    from ato.errors import DatabaseUnreachableError
    from ato.tracking import trouble as trouble_module
    from tests.pg_server import PostgresServer

    monkeypatch.setattr(trouble_module, "RECONNECT_WAIT_S", 2.0)
    del postgres_server
    with PostgresServer() as server:
        logger, run_id = _outage_at_finish(server, back_after=None)
        with pytest.raises(DatabaseUnreachableError) as error:
            logger.finish()
        said = str(error.value)
        assert "1000 points not yet written are lost" in said and f"run {run_id}" in said
        assert "stay in memory" not in said
        server.resume()
        run = SQLFinder(make_config(server.url, "outage")).find_run(run_id)
        assert len(run.metrics) == 1000

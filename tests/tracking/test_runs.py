"""ato.tracking.runs: the records a query returns, and the status of a run at a time."""

from __future__ import annotations

import datetime as dt
import os
import socket

import pytest

from ato.tracking import SQLFinder, SQLLogger
from ato.tracking.pids import pid_is_running, pid_namespace
from ato.tracking.runs import effective_status
from tests.tracking.helpers import make_config

NOW = dt.datetime(2026, 1, 1, 12, tzinfo=dt.timezone.utc)
HERE = socket.gethostname()
DEAD = next(pid for pid in range(400_000, 500_000) if not pid_is_running(pid))


LONG_AGO = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)  # before this process began


@pytest.mark.parametrize(
    ("stored", "age_s", "host", "pid", "namespace", "started", "expected"),
    [
        ("running", 10, "elsewhere", 1, None, None, "running"),
        ("running", 31, "elsewhere", 1, None, None, "crashed"),  # stale, pid not ours to see
        ("completed", 999, "elsewhere", 1, None, None, "completed"),
        ("running", None, "elsewhere", 1, None, None, "running"),  # ato 2.x: no heartbeat
        ("running", 1, HERE, os.getpid(), "here", None, "running"),
        ("running", 999, HERE, os.getpid(), "here", None, "running"),  # stopped, not gone
        ("running", 999, HERE, os.getpid(), "here", LONG_AGO, "crashed"),  # a reused pid
        ("running", 1, HERE, os.getpid(), "here", NOW, "running"),  # began before the run
        ("running", 1, HERE, DEAD, "here", None, "crashed"),  # its process is gone
        ("running", 1, HERE, DEAD, "another container", None, "running"),  # not ours
        ("running", 31, HERE, DEAD, "another container", None, "crashed"),  # ... and stale
    ],
)
def test_a_running_run_is_crashed_when_its_process_is_gone_or_unseen_and_stale(
    stored, age_s, host, pid, namespace, started, expected
):
    beat = None if age_s is None else NOW - dt.timedelta(seconds=age_s)
    namespace = pid_namespace() if namespace == "here" else namespace
    if started is NOW:  # when this process really began, not the test's clock
        started = dt.datetime.now(dt.timezone.utc)
    status = effective_status(
        stored, beat, host, pid, 30.0, now=NOW, namespace=namespace, started=started
    )
    assert status == expected


def test_a_run_of_a_live_process_here_is_running_whatever_its_heartbeats_age(sqlite_url):
    logger = SQLLogger(make_config(sqlite_url))
    run_id = logger.run()
    run = SQLFinder(make_config(sqlite_url), heartbeat_grace=1.5).find_run(run_id)
    later = run.heartbeat_at + dt.timedelta(seconds=2)
    assert run.status_at(now=later) == "running" and run.heartbeat_age_at(later) == 2.0
    assert 0 <= run.heartbeat_age < 60
    logger.finish()


def test_a_run_seen_from_another_host_is_crashed_once_its_heartbeat_is_stale(sqlite_url):
    logger = SQLLogger(make_config(sqlite_url))
    run_id = logger.run()
    with logger.engine.begin() as connection:
        connection.exec_driver_sql(f"UPDATE experiments SET host = 'elsewhere' WHERE id = {run_id}")
    run = SQLFinder(make_config(sqlite_url), heartbeat_grace=1.5).find_run(run_id)
    beat = run.heartbeat_at
    assert run.status_at(now=beat + dt.timedelta(seconds=1)) == "running"
    assert run.status_at(now=beat + dt.timedelta(seconds=2)) == "crashed"
    assert run.status == "running" and run.stored_status == "running"
    logger.finish()

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


@pytest.mark.parametrize(
    ("stored", "age_s", "host", "pid", "namespace", "expected"),
    [
        ("running", 10, "elsewhere", 1, None, "running"),
        ("running", 31, "elsewhere", 1, None, "crashed"),  # stale heartbeat
        ("completed", 999, "elsewhere", 1, None, "completed"),
        ("running", None, "elsewhere", 1, None, "running"),  # ato 2.x: no heartbeat
        ("running", 1, HERE, os.getpid(), "here", "running"),
        ("running", 1, HERE, DEAD, "here", "crashed"),  # its process is gone
        ("running", 1, HERE, DEAD, "another container", "running"),  # not ours to look up
    ],
)
def test_a_running_run_is_crashed_when_stale_or_gone(stored, age_s, host, pid, namespace, expected):
    beat = None if age_s is None else NOW - dt.timedelta(seconds=age_s)
    namespace = pid_namespace() if namespace == "here" else namespace
    status = effective_status(stored, beat, host, pid, 30.0, now=NOW, namespace=namespace)
    assert status == expected


def test_a_run_reads_as_crashed_once_its_heartbeat_is_older_than_the_grace(sqlite_url):
    logger = SQLLogger(make_config(sqlite_url))
    run_id = logger.run()  # alive: only the heartbeat can tell
    run = SQLFinder(make_config(sqlite_url), heartbeat_grace=1.5).find_run(run_id)
    beat = run.heartbeat_at
    assert run.status_at(now=beat + dt.timedelta(seconds=1)) == "running"
    assert run.status_at(now=beat + dt.timedelta(seconds=2)) == "crashed"
    assert run.status == "running" and run.stored_status == "running"
    logger.finish()

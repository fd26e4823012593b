"""What the finder returns: plain records, usable after every session is closed.

A :class:`Run` holds its row as read and converts on first use (the config from JSON to
an ADict, times to aware datetimes), so that listing a thousand runs costs little more
than reading them. Its full metric history is read on first access of ``run.metrics``
(with a new connection of the finder's engine); ``run.summary`` has count, min, max and
last value per key at once.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import socket
from typing import TYPE_CHECKING, Any, NamedTuple

from ato.tracking.schema import as_utc

if TYPE_CHECKING:
    from ato.adict import ADict
    from ato.tracking.finder import SQLFinder

__all__ = [
    "ArtifactRecord",
    "FingerprintRecord",
    "MetricPoint",
    "MetricSummaryRecord",
    "ProjectRecord",
    "Run",
    "RunBatch",
    "effective_status",
    "loads",
    "pid_is_running",
    "pid_namespace",
]


class ProjectRecord(NamedTuple):
    id: int
    name: str
    description: str | None = None
    created_at: _dt.datetime | None = None


class MetricPoint(NamedTuple):
    key: str
    value: float
    step: int
    timestamp: _dt.datetime | None = None
    run_id: int | None = None  # as 2.x's Metric rows had it


class MetricSummaryRecord(NamedTuple):
    """Count, min, max (NaN never is one) and last value of one metric of one run."""

    key: str
    count: int  # type: ignore[assignment]  # shadows tuple.count, as a field should
    min: float | None
    max: float | None
    last: float | None
    last_step: int | None


class ArtifactRecord(NamedTuple):
    id: int
    path: str
    data_type: str | None = None
    data_info: Any = None
    size: int | None = None
    sha256: str | None = None
    created_at: _dt.datetime | None = None
    run_id: int | None = None


class FingerprintRecord(NamedTuple):
    trace_id: str
    trace_type: str
    fingerprint: str
    call_index: int | None = None
    callees: dict[str, str] | None = None
    basis: str | None = None
    run_id: int | None = None


class RunBatch:
    """Runs read by one query. The first access of a relation (``summary``,
    ``artifacts``, ``fingerprints``) on any of them reads it for all of them, in one
    query: listing a thousand runs stays one query, and using what was listed is one
    more per relation, not one per run."""

    def __init__(self, finder: SQLFinder, ids_sql: str, params: dict[str, Any]) -> None:
        self.finder, self.ids_sql, self.params = finder, ids_sql, params
        self.runs: dict[int, Run] = {}

    def load(self, relation: str) -> None:
        loaded = self.finder._relation(relation, self.ids_sql, self.params)
        for run in self.runs.values():
            run._lazy[relation] = loaded.get(run.id, {} if relation == "summary" else [])


def pid_is_running(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (a zombie counts as gone)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            state = handle.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        return True


@functools.lru_cache(maxsize=1)
def pid_namespace() -> str | None:
    """Where this process's pid means something: the boot id and the inode of its pid
    namespace (Linux). Two containers may share a hostname and a database volume; a pid
    from the other one must not be looked up here. None where /proc does not tell."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            boot = handle.read().strip()
        return f"{boot}/{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        return None


def effective_status(
    status: str | None,
    heartbeat_at: _dt.datetime | None,
    host: str | None,
    pid: int | None,
    grace_s: float,
    now: _dt.datetime | None = None,
    namespace: str | None = None,
) -> str | None:
    """A stored 'running' that is not: 'crashed' once the heartbeat is older than
    ``grace_s``, or at once when the process is gone from this host and pid namespace.
    Runs written by ato 2.x have no heartbeat and keep the status they have."""
    if status != "running" or heartbeat_at is None:
        return status
    if (
        pid is not None
        and host == socket.gethostname()
        and namespace == pid_namespace()
        and not pid_is_running(pid)
    ):
        return "crashed"
    now = now or _dt.datetime.now(_dt.timezone.utc)
    if (now - heartbeat_at).total_seconds() > grace_s:
        return "crashed"
    return status


# The experiments columns a Run is read from, in this order.
RUN_COLUMNS = (
    "id",
    "uuid",
    "project_id",
    "config",
    "structural_hash",
    "tags",
    "status",
    "start_time",
    "end_time",
    "heartbeat_at",
    "host",
    "pid",
    "error",
    "environment_hash",
    "ato_version",
    "pid_namespace",
)


def loads(value: Any) -> Any:
    """A JSON column's value: text from SQLite, already parsed from psycopg."""
    return json.loads(value) if isinstance(value, str) else value


class Run:
    """One run as stored. ``status`` is the effective status (see
    :func:`effective_status`); ``stored_status`` is what the row says."""

    __slots__ = ("_batch", "_config", "_finder", "_lazy", "_row", "_status", "project_name")

    def __init__(self, row: tuple[Any, ...], project_name: str | None, batch: RunBatch) -> None:
        self._row = row
        self._batch = batch
        self._finder = batch.finder
        self._config: ADict | None = None
        self._lazy: dict[str, Any] = {}
        self._status: str | None = None
        self.project_name = project_name

    def _relation(self, name: str) -> Any:
        if name not in self._lazy:
            self._batch.load(name)
        return self._lazy[name]

    @property
    def summary(self) -> dict[str, MetricSummaryRecord]:
        """``{metric key: MetricSummaryRecord}``: count, min, max, last value and step."""
        value: dict[str, MetricSummaryRecord] = self._relation("summary")
        return value

    @property
    def artifacts(self) -> list[ArtifactRecord]:
        value: list[ArtifactRecord] = self._relation("artifacts")
        return value

    @property
    def fingerprints(self) -> list[FingerprintRecord]:
        """Static fingerprints (with callees) and every runtime call's, in order."""
        value: list[FingerprintRecord] = self._relation("fingerprints")
        return value

    id = property(lambda self: self._row[0])
    uuid = property(lambda self: self._row[1])
    project_id = property(lambda self: self._row[2])
    structural_hash = property(lambda self: self._row[4])
    stored_status = property(lambda self: self._row[6])
    host = property(lambda self: self._row[10])
    pid = property(lambda self: self._row[11])
    error = property(lambda self: self._row[12])
    environment_hash = property(lambda self: self._row[13])
    ato_version = property(lambda self: self._row[14])
    pid_namespace = property(lambda self: self._row[15])

    @property
    def project(self) -> ProjectRecord:
        """The run's project (2.x's ``run.project``)."""
        return ProjectRecord(self.project_id, self.project_name or "")

    @property
    def config(self) -> ADict:
        if self._config is None:
            from ato.adict import ADict

            self._config = ADict(loads(self._row[3]) or {})
        return self._config

    @property
    def tags(self) -> list[Any]:
        return list(loads(self._row[5]) or [])

    @property
    def start_time(self) -> _dt.datetime | None:
        return as_utc(self._row[7])

    @property
    def end_time(self) -> _dt.datetime | None:
        return as_utc(self._row[8])

    @property
    def heartbeat_at(self) -> _dt.datetime | None:
        return as_utc(self._row[9])

    @property
    def provenance(self) -> dict[str, list[str]] | None:
        """``{key: [source, ...]}``, newest source first (read on first access)."""
        if "provenance" not in self._lazy:
            self._lazy["provenance"] = self._finder._provenance(self.id)
        value: dict[str, list[str]] | None = self._lazy["provenance"]
        return value

    @property
    def environment(self) -> dict[str, Any] | None:
        """The environment record of the run's process (read on first access)."""
        if "environment" not in self._lazy:
            self._lazy["environment"] = self._finder.environment(self.environment_hash)
        value: dict[str, Any] | None = self._lazy["environment"]
        return value

    @property
    def status(self) -> str | None:
        if self._status is None:
            self._status = effective_status(
                self.stored_status,
                self.heartbeat_at,
                self.host,
                self.pid,
                self._finder.heartbeat_grace,
                namespace=self.pid_namespace,
            )
        return self._status

    @property
    def metrics(self) -> list[MetricPoint]:
        """Every metric point of the run, by key then step (read on first access)."""
        if "metrics" not in self._lazy:
            self._lazy["metrics"] = self._finder.metrics(self.id)
        value: list[MetricPoint] = self._lazy["metrics"]
        return value

    def metric(self, key: str) -> list[MetricPoint]:
        """The history of one metric, by step."""
        return [point for point in self.metrics if point.key == key]

    def static_fingerprints(self) -> dict[str, str]:
        return {f.trace_id: f.fingerprint for f in self.fingerprints if f.trace_type == "static"}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and other._row == self._row

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Run(id={self.id}, project={self.project_name!r}, status={self.status!r})"

"""What the finder returns: plain records, usable after every session is closed.

A :class:`Run` holds its row as read and converts on first use (the config from JSON to
an ADict, times to aware datetimes), so that listing a thousand runs costs little more
than reading them. Its full metric history is read on first access of ``run.metrics``
(with a new connection of the finder's engine); ``run.summary`` has count, min, max and
last value per key at once. Runs read what they load through a :class:`RunLoader`.
"""

from __future__ import annotations

import datetime as _dt
import json
import socket
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from ato.tracking.pids import pid_is_running, pid_namespace, process_start_time
from ato.tracking.schema import as_utc

if TYPE_CHECKING:
    from ato.adict import ADict

__all__ = [
    "ArtifactRecord",
    "FingerprintRecord",
    "MetricPoint",
    "MetricSummaryRecord",
    "ProjectRecord",
    "Run",
    "RunBatch",
    "RunLoader",
    "RunRow",
    "effective_status",
    "loads",
    "source_text",
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
    """A static fingerprint (``fingerprint`` is the function's own, ``combined`` with its
    callees) or one runtime call's (``call_index`` counts from 0 within the run)."""

    trace_id: str
    trace_type: str
    fingerprint: str
    call_index: int | None = None
    callees: dict[str, str] | None = None
    basis: str | None = None
    run_id: int | None = None
    combined: str | None = None


class RunLoader(Protocol):
    """Where runs read what they load on first use (the finder's reader)."""

    heartbeat_grace: float

    def relation(self, name: str, ids_sql: str, params: Mapping[str, Any]) -> dict[int, Any]:
        """``{run_id: records}`` of relation ``name`` for the runs ``ids_sql`` selects."""
        ...

    def metrics(self, run_id: int, key: str | None = None) -> list[MetricPoint]: ...

    def provenance(self, run_id: int) -> dict[str, list[Any]] | None: ...

    def environment(self, environment_hash: str | None) -> dict[str, Any] | None: ...


class RunBatch:
    """Runs read by one query. The first access of a relation (``summary``,
    ``artifacts``, ``fingerprints``) on any of them reads it for all of them, in one
    query: listing a thousand runs stays one query, and using what was listed is one
    more per relation, not one per run."""

    def __init__(self, loader: RunLoader, ids_sql: str, params: Mapping[str, Any]) -> None:
        self.loader, self.ids_sql, self.params = loader, ids_sql, params
        self.runs: dict[int, Run] = {}

    def load(self, relation: str) -> None:
        loaded = self.loader.relation(relation, self.ids_sql, self.params)
        for run in self.runs.values():
            run._lazy[relation] = loaded.get(run.id, {} if relation == "summary" else [])


def effective_status(
    status: str | None,
    heartbeat_at: _dt.datetime | None,
    host: str | None,
    pid: int | None,
    grace_s: float,
    now: _dt.datetime | None = None,
    namespace: str | None = None,
    started: _dt.datetime | None = None,
) -> str | None:
    """A stored 'running' that is not: 'crashed'.

    On this host and in this pid namespace the process itself tells: a run is running
    while its pid is (stopped with SIGSTOP or Ctrl-Z, or busy, its heartbeat may be
    stale), and crashed at once when the pid is gone or belongs to a process that
    started after the run did (``started``: a reused pid). Elsewhere only the heartbeat
    tells: 'crashed' once it is older than ``grace_s``. Runs written by ato 2.x have no
    heartbeat and keep the status they have.
    """
    if status != "running" or heartbeat_at is None:
        return status
    alive = process_alive(host, pid, namespace, started)
    if alive is not None:
        return "running" if alive else "crashed"
    now = now or _dt.datetime.now(_dt.timezone.utc)
    if (now - heartbeat_at).total_seconds() > grace_s:
        return "crashed"
    return status


# /proc gives a process's start to within a second or two (boot time in whole seconds,
# clock ticks); a reused pid's process starts after the run, almost always by more.
_START_SLACK_S = 2.0


def process_alive(
    host: str | None, pid: int | None, namespace: str | None, started: _dt.datetime | None
) -> bool | None:
    """Whether the process that started a run at ``started`` still runs; None when this
    machine cannot tell (another host or pid namespace, or no pid stored)."""
    if pid is None or host != socket.gethostname() or namespace != pid_namespace():
        return None
    return _is_the_run_process(pid, started)


def _is_the_run_process(pid: int, started: _dt.datetime | None) -> bool:
    if not pid_is_running(pid):
        return False
    if started is None:
        return True
    began = process_start_time(pid)
    return began is None or began <= started.timestamp() + _START_SLACK_S


class RunRow(NamedTuple):
    """A row of the experiments table, as a Run is read from it (in this order)."""

    id: int
    uuid: str | None
    project_id: int
    config: Any  # JSON: text from SQLite, parsed from psycopg
    structural_hash: str | None
    tags: Any  # JSON
    status: str | None
    start_time: Any  # as stored: see schema.as_utc
    end_time: Any
    heartbeat_at: Any
    host: str | None
    pid: int | None
    error: str | None
    environment_hash: str | None
    ato_version: str | None
    pid_namespace: str | None
    config_types: Any  # JSON; migration 4 on
    argv: Any  # JSON
    entry_script: str | None
    working_dir: str | None
    volatile_keys: Any  # JSON


def source_text(entry: Mapping[str, Any]) -> str:
    """One stored source as :class:`ato.provenance.Source` prints it."""
    if entry.get("kind") == "unknown":
        return str(entry.get("text", "unknown"))
    from ato.provenance import Source

    return str(
        Source(
            str(entry.get("kind")),
            str(entry.get("name")),
            entry.get("priority"),
            entry.get("file"),
        )
    )


def loads(
    value: Any, what: str = "a stored value", kind: type | None = None, texts: bool = False
) -> Any:
    """A JSON column's value: text from SQLite, already parsed from psycopg; with
    ``kind``, it must be one (or None), and with ``texts`` a list of strings. ``what``
    names it in the error a value that is not what ato wrote (edited by hand, damaged)
    raises."""
    try:
        loaded = json.loads(value) if isinstance(value, str) else value
    except ValueError as error:
        problem = f"not JSON ({error})"
    except RecursionError:  # no config ato writes nests this deep (it refuses them)
        problem = "JSON nested deeper than Python's stack allows"
    else:
        if kind is None or loaded is None or isinstance(loaded, kind):
            if not texts or all(isinstance(item, str) for item in loaded or ()):
                return loaded
            problem = "a JSON array holding other things than strings"
        else:
            problem = f"a JSON {type(loaded).__name__}, where ato writes a JSON {_JSON[kind]}"
    from ato.errors import StoredValueError

    raise StoredValueError(
        f"{what} is not what ato wrote: {problem}. The database was edited by hand or "
        f"damaged; restore it from a copy, or fix or delete that row."
    )


_JSON: dict[type, str] = {dict: "object", list: "array"}


class Run:
    """One run as stored. ``status`` is the effective status (see
    :func:`effective_status`); ``stored_status`` is what the row says."""

    __slots__ = ("_batch", "_config", "_lazy", "_loader", "_row", "_status", "project_name")

    def __init__(self, row: RunRow, project_name: str | None, batch: RunBatch) -> None:
        self._row = row
        self._batch = batch
        self._loader = batch.loader
        self._config: ADict | None = None
        self._lazy: dict[str, Any] = {}
        self._status: str | None = None
        self.project_name = project_name

    def _relation(self, name: str) -> Any:
        if name not in self._lazy:
            self._batch.load(name)
        return self._lazy[name]

    def _loaded(self, name: str, load: Any, *args: Any) -> Any:
        if name not in self._lazy:
            self._lazy[name] = load(*args)
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

    id = property(lambda self: self._row.id)
    uuid = property(lambda self: self._row.uuid)
    project_id = property(lambda self: self._row.project_id)
    structural_hash = property(lambda self: self._row.structural_hash)
    stored_status = property(lambda self: self._row.status)
    host = property(lambda self: self._row.host)
    pid = property(lambda self: self._row.pid)
    error = property(lambda self: self._row.error)
    environment_hash = property(lambda self: self._row.environment_hash)
    ato_version = property(lambda self: self._row.ato_version)
    pid_namespace = property(lambda self: self._row.pid_namespace)

    @property
    def project(self) -> ProjectRecord:
        """The run's project (2.x's ``run.project``)."""
        return ProjectRecord(self.project_id, self.project_name or "")

    @property
    def config(self) -> ADict:
        """The config as logged: values JSON cannot hold come back by their stored type
        tags (see :mod:`ato.config_json`), so it has the structural hash it was run with."""
        if self._config is None:
            from ato.adict import ADict
            from ato.config_json import decode

            plain = loads(self._row.config, f"run {self.id}'s config", dict) or {}
            types = loads(self._row.config_types, f"run {self.id}'s record of config types", list)
            self._config = ADict(decode(plain, types))
        return self._config

    @property
    def command(self) -> dict[str, Any] | None:
        """``{'argv': [...], 'script': ..., 'cwd': ...}``: how the run was started (None
        for runs recorded before ato stored it)."""
        argv = loads(self._row.argv, f"run {self.id}'s command line", list, texts=True)
        if argv is None and self._row.entry_script is None:
            return None
        return {"argv": argv, "script": self._row.entry_script, "cwd": self._row.working_dir}

    @property
    def volatile_keys(self) -> list[str]:
        """Patterns of keys the program marked as differing in every run."""
        return list(
            loads(self._row.volatile_keys, f"run {self.id}'s volatile keys", list, texts=True) or []
        )

    @property
    def tags(self) -> list[Any]:
        return list(loads(self._row.tags, f"run {self.id}'s tags", list) or [])

    @property
    def start_time(self) -> _dt.datetime | None:
        return as_utc(self._row.start_time)

    @property
    def end_time(self) -> _dt.datetime | None:
        return as_utc(self._row.end_time)

    @property
    def heartbeat_at(self) -> _dt.datetime | None:
        return as_utc(self._row.heartbeat_at)

    @property
    def sources(self) -> dict[str, list[dict[str, Any]]] | None:
        """``{key: [source, ...]}``, newest first, each a dict with ``kind``, ``name``,
        ``priority``, ``file``, ``token`` and the ``value`` it wrote (read on first
        access). Runs that stored only text (earlier versions) give ``kind: 'unknown'``
        with the ``text``; runs without provenance give None."""
        stored: dict[str, list[Any]] | None = self._loaded(
            "provenance", self._loader.provenance, self.id
        )
        if stored is None:
            return None
        return {
            key: [
                entry if isinstance(entry, dict) else {"kind": "unknown", "text": str(entry)}
                for entry in chain
            ]
            for key, chain in stored.items()
        }

    @property
    def provenance(self) -> dict[str, list[str]] | None:
        """``{key: [source, ...]}``, newest source first, as text (``'high_lr (priority
        1)'``, ``'command line (lr=0.01)'``)."""
        sources = self.sources
        if sources is None:
            return None
        return {key: [source_text(entry) for entry in chain] for key, chain in sources.items()}

    @property
    def environment(self) -> dict[str, Any] | None:
        """The environment record of the run's process (read on first access)."""
        value: dict[str, Any] | None = self._loaded(
            "environment", self._loader.environment, self.environment_hash
        )
        return value

    @property
    def status(self) -> str | None:
        if self._status is None:
            self._status = self.status_at()
        return self._status

    def status_at(self, now: _dt.datetime | None = None) -> str | None:
        """The effective status at time ``now`` (by default, the present; not cached):
        'crashed' for a 'running' run whose process is gone from this host, or, run on
        another host, whose heartbeat is older than the finder's ``heartbeat_grace`` at
        ``now`` (see :func:`effective_status`)."""
        return effective_status(
            self.stored_status,
            self.heartbeat_at,
            self.host,
            self.pid,
            self._loader.heartbeat_grace,
            now=now,
            namespace=self.pid_namespace,
            started=self.start_time,
        )

    @property
    def heartbeat_age(self) -> float | None:
        """Seconds since the run last said it was alive (now; None without a heartbeat).
        A 'running' run on this host with a large age is stopped or stuck, not gone."""
        return self.heartbeat_age_at()

    def heartbeat_age_at(self, now: _dt.datetime | None = None) -> float | None:
        """:attr:`heartbeat_age` at time ``now``."""
        beat = self.heartbeat_at
        if beat is None:
            return None
        return ((now or _dt.datetime.now(_dt.timezone.utc)) - beat).total_seconds()

    @property
    def metrics(self) -> list[MetricPoint]:
        """Every metric point of the run, by key then step (read on first access)."""
        value: list[MetricPoint] = self._loaded("metrics", self._loader.metrics, self.id)
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

"""The tracker's writes, each a function of a connection in a write transaction (run
them through :func:`ato.tracking.database.write`)."""

from __future__ import annotations

import datetime as _dt
import os
import socket
import sys
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import JSON, bindparam, insert, select, text, update
from sqlalchemy.engine import Connection

from ato.errors import RunNotFoundError
from ato.tracking.buffer import Point
from ato.tracking.pids import pid_namespace
from ato.tracking.schema import Artifact, Experiment, Fingerprint, utc_now
from ato.tracking.secrets import mask_secrets, masked_url
from ato.tracking.summaries import summarize_points
from ato.tracking.values import file_facts, jsonable

__all__ = [
    "beat",
    "ensure_project",
    "insert_artifact",
    "insert_points",
    "insert_run",
    "insert_runtime_calls",
    "insert_static",
    "new_artifact",
    "new_run",
    "update_run",
]

_INSERT_POINTS = "INSERT INTO metrics (run_id, key, value, step, timestamp) VALUES ({marks})"
_POINTS_SQL = {
    "sqlite": _INSERT_POINTS.format(marks=", ".join(["?"] * 5)),
    "postgresql": _INSERT_POINTS.format(marks=", ".join(["%s"] * 5)),
}


def ensure_project(connection: Connection, name: str) -> int:
    """The id of project ``name``, created when missing."""
    now = utc_now()
    # ON CONFLICT: several processes may create the same project at once.
    connection.execute(
        text(
            "INSERT INTO projects (name, created_at) VALUES (:name, :at) "
            "ON CONFLICT (name) DO NOTHING"
        ),
        {"name": name, "at": now.isoformat(sep=" ") if _is_sqlite(connection) else now},
    )
    return int(
        connection.execute(
            text("SELECT id FROM projects WHERE name = :name"), {"name": name}
        ).scalar_one()
    )


def new_run(
    project_id: int,
    config: Any,
    tags: list[str] | None,
    *,
    provenance: dict[str, list[dict[str, Any]]] | None,
    environment_hash: str,
    volatile: list[str] | None = None,
    git_root: str | None = None,
) -> dict[str, Any]:
    """The row of a run of ``config`` starting now in this process: the config as 2.x
    stored it plus its type tags (see :mod:`ato.config_json`), URL passwords masked
    everywhere (see :mod:`~ato.tracking.secrets`), and the command that started it."""
    from ato import __version__
    from ato.adict import ADict
    from ato.config_json import encode

    plain, types = encode(config)
    now = utc_now()
    return {
        "project_id": project_id,
        "config": mask_secrets(plain),
        "config_types": types or None,
        "structural_hash": (
            config if isinstance(config, ADict) else ADict(config)
        ).get_structural_hash(),
        "tags": mask_secrets(jsonable(list(tags or []))),
        "status": "running",
        "start_time": now,
        "heartbeat_at": now,
        "uuid": str(uuid.uuid4()),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "pid_namespace": pid_namespace(),
        "provenance": mask_secrets(provenance),
        "environment_hash": environment_hash,
        "ato_version": str(__version__),
        "volatile_keys": list(volatile) if volatile else None,
        **command(git_root),
    }


def command(git_root: str | None) -> dict[str, Any]:
    """How this process was started: its argv as typed (``-m train ...`` for a module run
    with ``python -m``), the entry script (relative to the git root when it is inside
    one) and the working directory."""
    main = sys.modules.get("__main__")
    script = getattr(main, "__file__", None) or (sys.argv[0] if sys.argv else None)
    if script:
        script = os.path.abspath(script)
        if git_root and script.startswith(os.path.join(git_root, "")):
            script = os.path.relpath(script, git_root)
    return {
        "argv": mask_secrets(_as_typed(list(sys.argv))),
        "entry_script": script,
        "working_dir": os.getcwd(),
    }


def _as_typed(argv: list[str]) -> list[str]:
    """``sys.argv``, but ``-m train ...`` for a module run with ``python -m`` (whose
    argv[0] is the module's file, not what was typed). Told from ``sys.orig_argv``: the
    module name stands where argv[0] does, right after ``-m``. A program that rewrites
    ``sys.argv`` (``python -m cProfile train.py``) keeps what it wrote."""
    typed = list(getattr(sys, "orig_argv", []))
    where = len(typed) - len(argv)
    if argv and where >= 2 and typed[where - 1] == "-m" and typed[where + 1 :] == argv[1:]:
        return ["-m", typed[where], *argv[1:]]
    return argv


def insert_run(
    connection: Connection,
    values: Mapping[str, Any],
    environment: Any,
    fingerprints: Iterable[Mapping[str, Any]],
    sources: Mapping[str, tuple[str, str]] | None = None,
) -> int:
    """A run's row, its environment record (stored once per hash), its static
    fingerprints and the sources of their code; return the run's id."""
    connection.execute(
        text(
            "INSERT INTO environments (hash, record) VALUES (:hash, :record) "
            "ON CONFLICT (hash) DO NOTHING"
        ).bindparams(bindparam("record", type_=JSON)),
        {"hash": values["environment_hash"], "record": environment},
    )
    result = connection.execute(insert(Experiment).values(**values))
    run_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    insert_static(connection, run_id, fingerprints, sources or {})
    return run_id


def insert_static(
    connection: Connection,
    run_id: int,
    fingerprints: Iterable[Mapping[str, Any]],
    sources: Mapping[str, tuple[str, str]],
) -> None:
    """Static fingerprints of a run, and the source of each function not stored yet
    (``sources``: own fingerprint -> (trace id, source text))."""
    rows = [dict(row, run_id=run_id) for row in fingerprints]
    if rows:
        connection.execute(insert(Fingerprint), rows)
    if not sources:
        return
    statement = text(
        "INSERT INTO code_sources (fingerprint, trace_id, source) "
        "VALUES (:fingerprint, :trace_id, :source) ON CONFLICT (fingerprint) DO NOTHING"
    )
    connection.execute(
        statement,
        [
            {"fingerprint": fingerprint, "trace_id": trace_id, "source": source}
            for fingerprint, (trace_id, source) in sources.items()
        ],
    )


def update_run(connection: Connection, run_id: int | None, values: Mapping[str, Any]) -> None:
    if isinstance(values.get("error"), str):  # a traceback may quote a database URL
        values = {**values, "error": masked_url(values["error"])}
    connection.execute(update(Experiment).where(Experiment.id == run_id).values(**values))


def beat(connection: Connection, run_id: int | None) -> None:
    """The run's heartbeat: it is alive now."""
    update_run(connection, run_id, {"heartbeat_at": utc_now()})


def new_artifact(
    run_id: int, path: str, data_type: str | None, metadata: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The row of a file of run ``run_id``, with its size and SHA-256 when it exists. A
    local path is stored absolute: relative, it would name another file from any other
    folder (a URL, ``s3://...``, is kept as written)."""
    size, sha256 = file_facts(path)
    return {
        "run_id": run_id,
        "path": path if "://" in path else os.path.abspath(path),
        "data_type": data_type,
        "data_info": mask_secrets(jsonable(metadata)) if metadata is not None else None,
        "size": size,
        "sha256": sha256,
        "created_at": utc_now(),
    }


def insert_artifact(connection: Connection, values: Mapping[str, Any]) -> int:
    run_id = values["run_id"]
    if connection.execute(select(Experiment.id).where(Experiment.id == run_id)).first() is None:
        raise RunNotFoundError(
            f"log_artifact: no run {run_id} in this database; pass the id of a run "
            f"logged here (logger.run() returns it)."
        )
    result = connection.execute(insert(Artifact).values(**values))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def insert_points(connection: Connection, points: list[Point]) -> None:
    """Metric points, then the summaries of their runs (from the points: a batch costs
    the same at any size of the run)."""
    rows = points
    if not _is_sqlite(connection):
        rows = [
            (r, k, v, s, _dt.datetime.fromtimestamp(t, _dt.timezone.utc))
            for r, k, v, s, t in points
        ]
    # Straight to the driver: SQLAlchemy's executemany path costs more per row than
    # SQLite itself (measured: 4.4 vs 2.4 us).
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(_POINTS_SQL[connection.dialect.name], rows)
    finally:
        cursor.close()
    summarize_points(connection, points)


def insert_runtime_calls(connection: Connection, run_id: int | None, calls: list[Any]) -> None:
    """The fingerprints of runtime-traced calls (``ato.trace.RuntimeCall``) of a run."""
    connection.execute(
        insert(Fingerprint),
        [
            {
                "run_id": run_id,
                "trace_id": call.trace_id,
                "trace_type": "runtime",
                "fingerprint": call.fingerprint,
                "call_index": call.index,
                "basis": "value",
            }
            for call in calls
        ],
    )


def _is_sqlite(connection: Connection) -> bool:
    return connection.dialect.name == "sqlite"

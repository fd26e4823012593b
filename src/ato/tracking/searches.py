"""The hyperparameter searches a database holds (tables ``hpo_searches`` and
``hpo_trials``, written by :mod:`ato.hyperopt.storage`), read-only: what ``ato searches``
and ``ato search`` show.

A database without those tables (older than schema 5, or 2.x) simply has no searches.
A search still running, or killed, shows what its finished trials say; its best so far
counts only trials at the largest budget (or rung) reached, since a metric after one
epoch does not compare with one after twenty-seven.

A search that ends early marks itself 'killed' (Ctrl-C) or 'failed'; one whose process
vanished (kill -9, SIGTERM, a lost machine) cannot, and is shown 'interrupted' once
nothing of it runs any more, judged as runs are (the pid on this machine, else the
heartbeat grace). Started again, it resumes.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from ato.errors import SearchNotFoundError
from ato.tracking.reading import Schema
from ato.tracking.runs import effective_status, loads, process_alive
from ato.tracking.schema import as_utc

__all__ = ["list_searches", "live_owner", "read_search"]

_SEARCH_COLUMNS = (
    "id", "project", "algorithm", "arguments", "status", "result", "created_at", "finished_at",
    "host", "pid", "pid_namespace", "process_since", "heartbeat_at",  # NULL before schema 6
)  # fmt: skip


def _columns(schema: Schema) -> str:
    return ", ".join(schema.select("hpo_searches", "hpo_searches", _SEARCH_COLUMNS))


_TRIAL_COLUMNS = "bracket, rung, trial, params, budget, metric, status, run_id"


def _search(row: Any, engine: Engine, grace: float) -> dict[str, Any]:
    arguments = dict(loads(row[3], f"search {row[0]}'s arguments", dict) or {})
    arguments.pop("parts", None)  # digests a changed search compares, not arguments
    search = {
        "id": row[0],
        "project": row[1],
        "algorithm": row[2],
        "mode": arguments.pop("mode", None),
        "total_trials": arguments.pop("total_trials", None),
        "arguments": arguments,
        "status": row[4],
        "result": loads(row[5], f"search {row[0]}'s result"),
        "created_at": as_utc(row[6]),
        "finished_at": as_utc(row[7]),
    }
    search["status"] = _status(engine, search, row, grace)
    return search


def _status(
    engine: Engine,
    search: dict[str, Any],
    row: Any,
    grace: float,
    connection: Connection | None = None,
) -> str:
    """The search's status; a stored 'running' whose process is gone is 'interrupted'.

    The row names the process that last started, resumed or recorded a trial of the
    search, and when; it is judged as a run is (its pid on this machine, its heartbeat
    elsewhere). A trial of hours on another host records nothing meanwhile, so a run of
    the search still running counts too. A row from before migration 6 names no
    process: then the newest runs of the search tell, by their processes and their
    times. ``connection``: read through it (one in a transaction), not a new one."""
    if search["status"] != "running":
        return str(search["status"])
    host, pid, namespace, since, heartbeat = row[8:13]
    now = _dt.datetime.now(_dt.timezone.utc)
    if heartbeat is not None:
        owner = effective_status(
            "running", as_utc(heartbeat), host, pid, grace, now, namespace, as_utc(since)
        )
        if owner == "running":
            return "running"
    tag = {"tag": f'%"search:{search["id"]}"%'}
    columns = "status, heartbeat_at, host, pid, pid_namespace, start_time, end_time"
    reading = contextlib.nullcontext(connection) if connection else engine.connect()
    with reading as source:
        running = source.execute(
            text(
                f"SELECT {columns} FROM experiments "
                f"WHERE status = 'running' AND CAST(tags AS TEXT) LIKE :tag"
            ),
            tag,
        ).all()
        newest: Sequence[Any] = ()
        if heartbeat is None:
            newest = source.execute(
                text(
                    f"SELECT {columns} FROM experiments WHERE CAST(tags AS TEXT) LIKE :tag "
                    f"ORDER BY id DESC LIMIT 64"
                ),
                tag,
            ).all()
    for status, beat, run_host, run_pid, run_namespace, start, _ in running:
        seen = effective_status(
            status, as_utc(beat), run_host, run_pid, grace, now, run_namespace, as_utc(start)
        )
        if seen == "running":
            return "running"
    if heartbeat is None:
        signs = [] if newest else [as_utc(search["created_at"])]
        for _, beat, run_host, run_pid, run_namespace, start, end in newest:
            alive = process_alive(run_host, run_pid, run_namespace, as_utc(start))
            if alive:
                return "running"  # between two trials
            if alive is None:  # elsewhere: only time tells
                signs += [as_utc(beat), as_utc(end)]
        if any(sign is not None and (now - sign).total_seconds() <= grace for sign in signs):
            return "running"
    return "interrupted"


def live_owner(
    engine: Engine, search_id: str, grace: float = 30.0, connection: Connection | None = None
) -> dict[str, Any] | None:
    """The process running search ``search_id`` now, as ``{'host', 'pid', 'heartbeat_at'}``,
    judged as ``ato searches`` judges it; None when none does (or the search is unknown).
    For a writer of the current schema. ``connection``: read through it (the transaction
    that claims the search, so that no other process claims it meanwhile)."""
    columns = ", ".join(_SEARCH_COLUMNS)
    reading = contextlib.nullcontext(connection) if connection else engine.connect()
    with reading as source:
        row = source.execute(
            text(f"SELECT {columns} FROM hpo_searches WHERE id = :id"), {"id": search_id}
        ).first()
    if row is None or row[4] != "running":
        return None
    search = {"id": row[0], "status": row[4], "created_at": as_utc(row[6])}
    if _status(engine, search, row, grace, connection) != "running":
        return None
    return {"host": row[8], "pid": row[9], "heartbeat_at": as_utc(row[12])}


def _trials(engine: Engine, where: str, params: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The trials of the searches ``where`` selects, by search id, in one query."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                f"SELECT search_id, {_TRIAL_COLUMNS} FROM hpo_trials WHERE search_id IN "
                f"(SELECT id FROM hpo_searches {where}) ORDER BY bracket, rung, trial"
            ),
            params,
        ).all()
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row[0], []).append(
            {
                "bracket": row[1],
                "rung": row[2],
                "trial": row[3],
                "params": loads(row[4], f"trial {row[3]} of search {row[0]}", dict),
                "budget": row[5],
                "metric": row[6],
                "status": row[7],
                "run_id": row[8],
            }
        )
    return found


def _best(
    trials: list[dict[str, Any]], mode: str | None, final: Any = None, algorithm: Any = None
) -> dict[str, Any] | None:
    """The best finished trial at the largest budget (else rung) reached: for Li et
    al.'s brackets, whatever rung of its bracket a trial at that budget ran in. A search
    stored before ``mode`` was kept has none: then only the trial its stored result
    (``final``) names counts, as which way is better is unknown."""
    ranked = [t for t in trials if t["metric"] is not None and math.isfinite(t["metric"])]
    if not ranked:
        return None
    if mode is None:
        if not isinstance(final, (int, float)):
            return None
        ranked = [trial for trial in ranked if trial["metric"] == final]
        if not ranked:
            return None

    brackets = algorithm == "bracket_hyperband"  # each bracket reaches max_budget at its own rung

    def level(trial: dict[str, Any]) -> tuple[float, int]:
        budget = trial["budget"]
        return (budget if budget is not None else -math.inf, 0 if brackets else trial["rung"])

    top = max(level(trial) for trial in ranked)
    candidates = [trial for trial in ranked if level(trial) == top]
    sign = -1.0 if mode == "min" else 1.0
    return max(candidates, key=lambda trial: sign * trial["metric"])


def _spent(trials: list[dict[str, Any]]) -> float | int | None:
    budgets = [trial["budget"] for trial in trials if trial["budget"] is not None]
    if not budgets:
        return None
    total = sum(budgets)
    return int(total) if float(total).is_integer() else total


def _summary(search: dict[str, Any], trials: list[dict[str, Any]]) -> dict[str, Any]:
    final = (search["result"] or {}).get("metric") if isinstance(search["result"], dict) else None
    best = _best(trials, search["mode"], final, search.get("algorithm"))
    return {
        **search,
        "trials_done": len(trials),
        "trials_failed": sum(1 for trial in trials if trial["status"] == "failed"),
        # What the finished trials were given, added up; None when they got no budget.
        "budget_spent": _spent(trials),
        "best_metric": None if best is None else best["metric"],
        "best_params": None if best is None else best["params"],
        "best_run_id": None if best is None else best["run_id"],
    }


def list_searches(
    engine: Engine, schema: Schema, project: str | None = None, grace: float = 30.0
) -> list[dict[str, Any]]:
    """Every search (of ``project``, if given), oldest first, with its progress
    (``grace``: seconds without a heartbeat after which a run elsewhere is gone)."""
    if not schema.has("hpo_searches"):
        return []
    where, params = ("WHERE project = :project", {"project": project}) if project else ("", {})
    with engine.connect() as connection:
        rows = connection.execute(
            text(f"SELECT {_columns(schema)} FROM hpo_searches {where} ORDER BY created_at, id"),
            params,
        ).all()
    trials = _trials(engine, where, params)
    return [_summary(_search(row, engine, grace), trials.get(row[0], [])) for row in rows]


def read_search(
    engine: Engine, schema: Schema, spec: str, name: str, grace: float = 30.0
) -> dict[str, Any]:
    """The search whose id is or starts with ``spec``, with its trials rung by rung;
    :class:`SearchNotFoundError` (naming the searches there are) when none or several
    match. ``name`` is how messages name the database."""
    known: list[str] = []
    if schema.has("hpo_searches"):
        with engine.connect() as connection:
            query = text("SELECT id FROM hpo_searches ORDER BY created_at, id")
            known = list(connection.execute(query).scalars())
    matches = [search_id for search_id in known if search_id.startswith(spec)] if spec else []
    if len(matches) != 1:
        if not known:
            problem = f"{name!r} holds no hyperparameter search"
            fix = "A search tracked with HyperBand(..., tracker=URL) is stored there."
        else:
            listed = ", ".join(search_id[:12] for search_id in (matches or known)[:10])
            problem = (
                f"{len(matches)} searches of {name!r} have an id starting with {spec!r}"
                if matches
                else f"No search of {name!r} has an id starting with {spec!r}"
            )
            fix = f"Give more of the id; the searches: {listed}. `ato searches` lists them."
        raise SearchNotFoundError(f"{problem}. {fix}")
    with engine.connect() as connection:
        row = connection.execute(
            text(f"SELECT {_columns(schema)} FROM hpo_searches WHERE id = :id"),
            {"id": matches[0]},
        ).one()
    trials = _trials(engine, "WHERE id = :id", {"id": matches[0]}).get(matches[0], [])
    search = _summary(_search(row, engine, grace), trials)
    rungs: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for trial in trials:
        rungs.setdefault((trial["bracket"], trial["rung"]), []).append(trial)
    search["rungs"] = [
        {
            "bracket": bracket,
            "rung": rung,
            "budget": members[0]["budget"],
            "trials": len(members),
            "failed": sum(1 for trial in members if trial["status"] == "failed"),
            "best": _best(members, search["mode"]),
        }
        for (bracket, rung), members in sorted(rungs.items())
    ]
    search["trials"] = trials
    return search

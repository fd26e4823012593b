"""Merging tracker databases written by separate jobs or nodes into one.

Runs are matched by UUID: a run already in the target is left alone, so merging the same
source twice adds nothing. Every other run is copied with a new id in the target, and its
metrics, fingerprints and artifacts follow it with their ``run_id`` remapped (summaries
are recomputed from the copied metrics); projects are matched by name, environment
records and code sources by hash, hyperparameter searches by id and their trials by
place (their runs remapped too). Sources are read as they are (read-only, never
migrated), SQLite or PostgreSQL; the target is migrated first. Values go through the
schema's own column types, so either side may be either backend.
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, insert, inspect, select, update

from ato.errors import TrackerDatabaseError
from ato.tracking.schema import Base
from ato.tracking.secrets import masked_url
from ato.tracking.settings import Origin
from ato.tracking.writes import insert_points

__all__ = ["MergeResult", "merge_databases"]

_CHUNK = 20_000  # metric rows copied per statement
_TABLES = Base.metadata.tables


@dataclass
class MergeResult:
    """What a merge did, per source: runs copied and runs already present."""

    copied: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    metrics: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"copied": self.copied, "skipped": self.skipped, "metrics": self.metrics}


def merge_databases(
    target: str,
    sources: Sequence[str],
    *,
    _origins: tuple[Origin, Sequence[Origin]] | None = None,
) -> MergeResult:
    """Copy the runs of each database URL in ``sources`` into ``target``.

    (``_origins``: where the target's URL and each source's were given, for errors.)
    """
    from ato.tracking.database import connect_or_refuse, open_engine, write
    from ato.tracking.migrations import migrate

    result = MergeResult()
    if _origins is None:
        source_origin = Origin("a source {} (of merge_databases)", "give merge_databases {}")
        _origins = (
            Origin("target={} (of merge_databases)", "give merge_databases {} as target"),
            [source_origin] * len(sources),
        )
    target_origin, source_origins = _origins
    # The target's path is checked first (nothing is created until it is connected to),
    # then every source: a misspelt one must not leave a new, empty target behind.
    engine = open_engine(target, writer=True, origin=target_origin)
    opened: list[tuple[str, Engine]] = []
    try:
        for url, origin in zip(sources, source_origins, strict=True):
            if url == target:
                raise TrackerDatabaseError(
                    f"Cannot merge {masked_url(url)!r} into itself: name another database "
                    f"as the target."
                )
            source = open_engine(url, writer=False, read_only=True, origin=origin)
            opened.append((url, source))
            connect_or_refuse(source, url, origin)  # missing, unreachable, no database
        migrate(engine, target, target_origin)
        for url, source in opened:
            write(engine, partial(_merge_one, source=source, url=url, result=result))
    finally:
        for _, source in opened:
            source.dispose()
        engine.dispose()
    return result


class _Source:
    """A source database's tables, as far as it has them."""

    def __init__(self, connection: Connection) -> None:
        inspector = inspect(connection)
        self.present = {
            name: {column["name"] for column in inspector.get_columns(name)}
            for name in inspector.get_table_names()
            if name in _TABLES
        }

    def select(self, name: str, *where: Any) -> Any:
        """A SELECT of table ``name``'s columns the source has, typed as ours."""
        table = _TABLES[name]
        columns = [column for column in table.c if column.name in self.present[name]]
        return select(*columns).where(*where)


def _merge_one(writing: Connection, source: Engine, url: str, result: MergeResult) -> None:
    copied = skipped = 0
    shown = masked_url(url)
    with source.connect() as reading:
        theirs = _Source(reading)
        if "uuid" not in theirs.present.get("experiments", set()):
            what = "runs" if "experiments" not in theirs.present else "run UUIDs"
            raise TrackerDatabaseError(
                f"{shown!r} has no {what} (written by ato 2.x, or not a tracker database). "
                f"Run 'ato migrate {shown}' first, then merge again."
            )
        runs = _TABLES["experiments"]
        present = {uuid: id for uuid, id in writing.execute(select(runs.c.uuid, runs.c.id))}
        projects = _project_map(reading, writing, theirs)
        run_ids: dict[int, int] = {}  # theirs -> ours, for the search trials that name runs
        for row in reading.execute(theirs.select("experiments").order_by(runs.c.id)).mappings():
            if row["uuid"] is None:
                raise TrackerDatabaseError(
                    f"Run {row['id']} in {shown!r} has no UUID (written by ato 2.x). Run "
                    f"'ato migrate {shown}' first, then merge again."
                )
            if row["uuid"] in present:
                skipped += 1
                run_ids[row["id"]] = present[row["uuid"]]
                continue
            values = {name: value for name, value in row.items() if name != "id"}
            values["project_id"] = projects[row["project_id"]]
            inserted = writing.execute(insert(runs).values(**values))
            run_id = int(inserted.inserted_primary_key[0])  # type: ignore[index]
            run_ids[row["id"]] = run_id
            result.metrics += _copy_metrics(reading, writing, theirs, row["id"], run_id)
            for name in ("fingerprints", "artifacts"):
                if name in theirs.present:
                    _copy_rows(reading, writing, theirs, name, row["id"], run_id)
            present[row["uuid"]] = run_id
            copied += 1
        for name, key in (("environments", "hash"), ("code_sources", "fingerprint")):
            if name in theirs.present:
                _copy_missing(reading, writing, theirs, name, key)
        if {"hpo_searches", "hpo_trials"} <= set(theirs.present):
            _merge_searches(reading, writing, theirs, run_ids)
    result.copied[url] = copied
    result.skipped[url] = skipped


def _project_map(reading: Connection, writing: Connection, theirs: _Source) -> dict[int, int]:
    projects = _TABLES["projects"]
    mine = {name: id for id, name in writing.execute(select(projects.c.id, projects.c.name))}
    mapping = {}
    for row in reading.execute(theirs.select("projects")).mappings():
        if row["name"] not in mine:
            values = {name: value for name, value in row.items() if name != "id"}
            created = writing.execute(insert(projects).values(**values))
            mine[row["name"]] = int(created.inserted_primary_key[0])  # type: ignore[index]
        mapping[row["id"]] = mine[row["name"]]
    return mapping


def _copy_metrics(
    reading: Connection, writing: Connection, theirs: _Source, old: int, new: int
) -> int:
    """A run's metric points, written as the logger writes them (summaries included)."""
    table = _TABLES["metrics"]
    query = theirs.select("metrics", table.c.run_id == old).order_by(table.c.id)
    rows = reading.execute(query).mappings()
    count = 0
    while chunk := rows.fetchmany(_CHUNK):
        points = [
            (new, row["key"], row["value"], row["step"], _seconds(row.get("timestamp")))
            for row in chunk
        ]
        insert_points(writing, points)
        count += len(points)
    return count


def _seconds(moment: _dt.datetime | None) -> float:
    return moment.timestamp() if moment is not None else time.time()


def _copy_rows(
    reading: Connection, writing: Connection, theirs: _Source, name: str, old: int, new: int
) -> None:
    table: Table = _TABLES[name]
    query = theirs.select(name, table.c.run_id == old).order_by(table.c.id)
    rows = [
        {column: value for column, value in row.items() if column != "id"} | {"run_id": new}
        for row in reading.execute(query).mappings()
    ]
    if rows:
        writing.execute(insert(table), rows)


def _copy_missing(
    reading: Connection, writing: Connection, theirs: _Source, name: str, key: str
) -> None:
    table = _TABLES[name]
    known = set(writing.execute(select(table.c[key])).scalars())
    rows = [
        dict(row)
        for row in reading.execute(theirs.select(name)).mappings()
        if row[key] not in known
    ]
    if rows:
        writing.execute(insert(table), rows)


def _merge_searches(
    reading: Connection, writing: Connection, theirs: _Source, run_ids: dict[int, int]
) -> None:
    """Hyperparameter searches: a search is the same search wherever it ran (its id
    hashes what makes it so), so its trials from every source gather under one row, and
    started again against the target it resumes. A search finished in a source is
    finished in the target; trials are matched by their place in the search."""
    searches, trials = _TABLES["hpo_searches"], _TABLES["hpo_trials"]
    mine = {row.id: row.status for row in writing.execute(select(searches.c.id, searches.c.status))}
    finished_there: set[str] = set()  # completed in the source and not in the target
    for row in reading.execute(theirs.select("hpo_searches")).mappings():
        values = dict(row)
        if row["id"] not in mine:
            writing.execute(insert(searches).values(**values))
        elif row["status"] == "completed" and mine[row["id"]] != "completed":
            finished = {key: values.get(key) for key in ("status", "result", "finished_at")}
            writing.execute(update(searches).where(searches.c.id == row["id"]).values(**finished))
        if row["status"] == "completed" and mine.get(row["id"]) != "completed":
            finished_there.add(row["id"])
    if finished_there:
        # A completed search's trials are one consistent set: its later rungs were chosen
        # from its own earlier metrics. Mixed with another job's (of a noisy metric), a
        # resume would train again, so they replace the target's trials of that search.
        writing.execute(delete(trials).where(trials.c.search_id.in_(sorted(finished_there))))
    done_here = {search_id for search_id, status in mine.items() if status == "completed"}
    place = (trials.c.search_id, trials.c.bracket, trials.c.rung, trials.c.trial)
    known = {tuple(row[:4]): row[4] for row in writing.execute(select(*place, trials.c.status))}
    rows = []
    for row in reading.execute(theirs.select("hpo_trials").order_by(trials.c.id)).mappings():
        key = (row["search_id"], row["bracket"], row["rung"], row["trial"])
        values = {name: value for name, value in row.items() if name != "id"}
        values["run_id"] = run_ids.get(row["run_id"])  # None stays None
        if key not in known:
            if row["search_id"] in done_here:
                continue  # completed in the target: a trial it did not run is not its own
            rows.append(values)
            known[key] = row["status"]
        elif known[key] == "failed" and row["status"] == "completed":
            # The same trial failed here and completed there: a resume would take the
            # failure as done, so the completed one is kept.
            matches = [column == value for column, value in zip(place, key, strict=True)]
            writing.execute(update(trials).where(*matches).values(**values))
            known[key] = "completed"
    if rows:
        writing.execute(insert(trials), rows)

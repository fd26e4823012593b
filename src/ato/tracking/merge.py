"""Merging tracker databases written by separate jobs or nodes into one.

Runs are matched by UUID: a run already in the target is left alone, so merging the same
source twice adds nothing. Every other run is copied with a new id in the target, and its
metrics, summaries, fingerprints and artifacts follow it with their ``run_id`` remapped;
projects are matched by name, environment records and code sources by hash. Sources are
read as they are (read-only, never migrated); the target is migrated first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, Table, insert, inspect, select

from ato.errors import TrackerDatabaseError
from ato.tracking.summaries import summarize

__all__ = ["MergeResult", "merge_databases"]

_CHUNK = 20_000  # metric rows copied per statement


@dataclass
class MergeResult:
    """What a merge did, per source: runs copied and runs already present."""

    copied: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    metrics: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"copied": self.copied, "skipped": self.skipped, "metrics": self.metrics}


def merge_databases(target: str, sources: Sequence[str]) -> MergeResult:
    """Copy the runs of each database URL in ``sources`` into ``target``."""
    from ato.tracking.database import open_engine, retry
    from ato.tracking.migrations import migrate

    result = MergeResult()
    engine = open_engine(target, writer=True)
    try:
        migrate(engine, target)
        for url in sources:
            if url == target:
                raise TrackerDatabaseError(
                    f"Cannot merge {url!r} into itself: name another database as the target."
                )
            source = open_engine(url, writer=False, read_only=True)
            try:
                retry(partial(_merge_one, engine, source, url, result))
            finally:
                source.dispose()
    finally:
        engine.dispose()
    return result


def _tables(connection: Connection) -> dict[str, Table]:
    metadata = MetaData()
    names = inspect(connection).get_table_names()
    return {name: Table(name, metadata, autoload_with=connection) for name in names}


def _merge_one(target: Engine, source: Engine, url: str, result: MergeResult) -> None:
    copied = skipped = 0
    with source.connect() as reading, target.begin() as writing:
        theirs, ours = _tables(reading), _tables(writing)
        if "experiments" not in theirs or "uuid" not in theirs["experiments"].c:
            missing = "runs" if "experiments" not in theirs else "run UUIDs"
            raise TrackerDatabaseError(
                f"{url!r} has no {missing} (it was written by ato 2.x or is not a tracker "
                f"database). Run 'ato migrate {url}' first, then merge again."
            )
        present = set(writing.execute(select(ours["experiments"].c.uuid)).scalars())
        projects = _project_map(reading, writing, theirs, ours)
        experiments = theirs["experiments"]
        for row in reading.execute(select(experiments).order_by(experiments.c.id)).mappings():
            if row["uuid"] is None:
                raise TrackerDatabaseError(
                    f"Run {row['id']} in {url!r} has no UUID (written by ato 2.x). Run "
                    f"'ato migrate {url}' first, then merge again."
                )
            if row["uuid"] in present:
                skipped += 1
                continue
            values = _common(row, ours["experiments"], drop=("id",))
            values["project_id"] = projects[row["project_id"]]
            new_id = writing.execute(insert(ours["experiments"]).values(**values))
            run_id = int(new_id.inserted_primary_key[0])  # type: ignore[index]
            for name in ("metrics", "fingerprints", "artifacts", "metric_summaries"):
                if name in theirs:
                    count = _copy_rows(
                        reading, writing, theirs[name], ours[name], row["id"], run_id
                    )
                    if name == "metrics":
                        result.metrics += count
            if "metric_summaries" not in theirs:  # written before summaries were kept
                summarize(writing, run_id, 0)
            present.add(row["uuid"])
            copied += 1
        for name, key in (("environments", "hash"), ("code_sources", "fingerprint")):
            if name in theirs and name in ours:
                _copy_missing(reading, writing, theirs[name], ours[name], key)
    result.copied[url] = copied
    result.skipped[url] = skipped


def _common(row: Any, table: Table, drop: Iterable[str] = ()) -> dict[str, Any]:
    skip = set(drop)
    return {name: value for name, value in row.items() if name in table.c and name not in skip}


def _project_map(
    reading: Connection, writing: Connection, theirs: dict[str, Table], ours: dict[str, Table]
) -> dict[int, int]:
    mine = {
        name: id
        for id, name in writing.execute(select(ours["projects"].c.id, ours["projects"].c.name))
    }
    mapping = {}
    for row in reading.execute(select(theirs["projects"])).mappings():
        if row["name"] not in mine:
            created = writing.execute(
                insert(ours["projects"]).values(**_common(row, ours["projects"], drop=("id",)))
            )
            mine[row["name"]] = int(created.inserted_primary_key[0])  # type: ignore[index]
        mapping[row["id"]] = mine[row["name"]]
    return mapping


def _copy_rows(
    reading: Connection, writing: Connection, source: Table, target: Table, old: int, new: int
) -> int:
    has_id = "id" in source.c and "run_id" in source.c and source.name != "metric_summaries"
    query = select(source).where(source.c.run_id == old)
    if has_id:
        query = query.order_by(source.c.id)
    count = 0
    rows = reading.execute(query).mappings()
    while True:
        chunk = rows.fetchmany(_CHUNK)
        if not chunk:
            return count
        drop = ("id",) if has_id else ()
        values = [dict(_common(row, target, drop=drop), run_id=new) for row in chunk]
        writing.execute(insert(target), values)
        count += len(values)


def _copy_missing(
    reading: Connection, writing: Connection, source: Table, target: Table, key: str
) -> None:
    known = set(writing.execute(select(target.c[key])).scalars())
    rows = [
        _common(row, target)
        for row in reading.execute(select(source)).mappings()
        if row[key] not in known
    ]
    if rows:
        writing.execute(insert(target), rows)

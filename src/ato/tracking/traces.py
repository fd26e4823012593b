"""Versions of a traced function across runs: what counts as a version (the combined
fingerprint of the function and its callees, where stored), and what changed between
one version and the next."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ato.computed_imports import is_may_run
from ato.parameter_types import ANNOTATED
from ato.registry_entries import plain_name

if TYPE_CHECKING:
    from ato.tracking.reading import Schema
    from ato.tracking.runs import FingerprintRecord, Run

__all__ = ["version_column", "versions"]


def version_column(schema: Schema, alias: str) -> str:
    """The SQL that names a fingerprint row's version: its combined fingerprint, or its
    own where none is stored (runs of earlier versions, runtime calls)."""
    if schema.has("fingerprints", "combined"):
        return f"coalesce({alias}.combined, {alias}.fingerprint)"
    return f"{alias}.fingerprint"


def _static(run: Run, trace_id: str) -> FingerprintRecord | None:
    for record in run.fingerprints:
        if record.trace_type == "static" and record.trace_id == trace_id:
            return record
    return None


def _best(runs: Sequence[Run], metric: str) -> float | None:
    from ato.explain.sections import guess_mode

    mode = guess_mode(metric)
    values = []
    for run in runs:
        summary = run.summary.get(metric)
        value = None if summary is None else (summary.min if mode == "min" else summary.max)
        if value is not None and not math.isnan(value):
            values.append(value)
    if not values:
        return None
    return min(values) if mode == "min" else max(values)


def _change(before: FingerprintRecord | None, after: FingerprintRecord) -> str | None:
    if before is None:
        return None
    if before.fingerprint != after.fingerprint:
        return "the function itself"
    # by their own names: one callee reached directly in one run and through a registry
    # entry in the other (or found by an older ato) is the same callee
    old = {plain_name(name): value for name, value in (before.callees or {}).items()}
    new = {plain_name(name): value for name, value in (after.callees or {}).items()}
    changed = sorted(
        name
        for name in old.keys() | new.keys()
        if old.get(name) != new.get(name)
        # what a module imported as it runs holds: outside the combined fingerprint
        and not (is_may_run(name) and not str(old.get(name) or new.get(name)).startswith("module:"))
    )
    calls = [name.removeprefix(ANNOTATED) for name in changed if not is_may_run(name)]
    imports = [name.removeprefix("?") for name in changed if is_may_run(name)]
    words = [f"calls {', '.join(calls)}"] if calls else []
    words += [f"imports {', '.join(imports)} as it runs"] if imports else []
    return "; ".join(words) or None


def versions(runs: Sequence[Run], trace_id: str, metric: str | None) -> list[dict[str, Any]]:
    """The versions of ``trace_id`` among ``runs`` (ordered by id), oldest first."""
    found: dict[str, dict[str, Any]] = {}
    members: dict[str, list[Run]] = {}
    previous: FingerprintRecord | None = None
    for run in runs:
        record = _static(run, trace_id)
        if record is None:
            continue
        key = record.combined or record.fingerprint
        if key not in found:
            found[key] = {
                "combined": key,
                "own": record.fingerprint,
                "first_run": run.id,
                "first_seen": run.start_time,
                "runs": [],
                "change": _change(previous, record),
                "callees": dict(record.callees or {}),
            }
            members[key] = []
        found[key]["runs"].append(run.id)
        members[key].append(run)
        previous = record
    for key, version in found.items():
        version["best"] = _best(members[key], metric) if metric else None
    return list(found.values())

"""``ato runs``, ``ato show``, ``ato best``, ``ato similar`` and ``ato traces``: what a
database holds, read-only."""

from __future__ import annotations

import argparse
from typing import Any

from ato.commands.output import Output
from ato.explain.facts import describe_source, flatten
from ato.explain.sections import guess_mode, key_category
from ato.explain.verdict import short

__all__ = ["best", "runs", "show", "similar", "traces"]


def _duration(run: Any) -> str | None:
    if run.start_time is None or run.end_time is None:
        return None
    seconds = (run.end_time - run.start_time).total_seconds()
    if seconds < 120:
        return f"{seconds:.1f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"


def run_row(run: Any, metrics: list[str]) -> dict[str, Any]:
    """A run as ``ato runs`` lists it (and as ``--json`` prints it)."""
    row = {
        "id": run.id,
        "uuid": run.uuid,
        "project": run.project_name,
        "status": run.status,
        "start_time": run.start_time,
        "duration": _duration(run),
        "tags": run.tags,
        "structural_hash": run.structural_hash,
    }
    summary = run.summary
    row["metrics"] = {key: summary[key].last if key in summary else None for key in metrics}
    return row


def runs(finder: Any, args: argparse.Namespace, out: Output) -> int:
    if not args.project:
        projects = finder.project_overview()
        if out.json_mode:
            out.json(projects)
        elif not projects:
            out.line("No projects in this database yet.")
        else:
            out.table(
                ["project", "runs", "last run"],
                [[p["name"], p["runs"], p["last_start"]] for p in projects],
            )
        return 0
    records = finder.get_runs_in_project(args.project)
    if not records:
        finder.require_project(args.project)
    if args.status:
        statuses = sorted({str(run.status) for run in records})
        records = [run for run in records if run.status == args.status]
        if not records and not out.json_mode:  # a typo reads like an empty project
            out.line(
                f"No run of {args.project} is {args.status!r}; its runs are "
                f"{', '.join(statuses) or 'none'}."
            )
            return 0
    if args.tag:
        records = [run for run in records if set(args.tag) <= set(run.tags or [])]
    metrics = list(args.metric or [])
    if args.sort:
        if args.sort not in metrics:
            metrics.insert(0, args.sort)
        descending = guess_mode(args.sort) == "max"
        present = [run for run in records if args.sort in run.summary]
        absent = [run for run in records if args.sort not in run.summary]
        present.sort(key=lambda run: run.summary[args.sort].last, reverse=descending)
        records = present + absent
    if args.limit is not None:
        records = records[-args.limit :] if not args.sort else records[: args.limit]
    rows = [run_row(run, metrics) for run in records]
    if out.json_mode:
        out.json(rows)
        return 0
    columns = ["id", "uuid", "status", "start", "duration", "tags", "structure", *metrics]
    table = [
        [
            row["id"],
            (row["uuid"] or "")[:8],
            row["status"],
            row["start_time"],
            row["duration"],
            row["tags"],
            (row["structural_hash"] or "")[:8],
            *[row["metrics"][key] for key in metrics],
        ]
        for row in rows
    ]
    out.table(columns, table, title=f"Runs of {args.project} ({len(rows)})")
    return 0


def _config_rows(run: Any) -> list[dict[str, Any]]:
    sources = run.sources
    rows = []
    for key, value in flatten(run.config):
        chain = sources.get(key) if sources is not None else None
        rows.append(
            {
                "key": key,
                "value": value,
                "source": describe_source(chain[0]) if chain else "unknown",
                "sources": chain or [],
                "category": key_category(key, tuple(run.volatile_keys or ())),
            }
        )
    return rows


def show(finder: Any, args: argparse.Namespace, out: Output) -> int:
    run = finder.resolve_run_or_raise(args.run)
    fingerprints = [fp._asdict() for fp in run.fingerprints if fp.trace_type == "static"]
    runtime: dict[str, int] = {}
    for fp in run.fingerprints:
        if fp.trace_type == "runtime":
            runtime[fp.trace_id] = runtime.get(fp.trace_id, 0) + 1
    data = {
        **run_row(run, []),
        "error": run.error,
        "command": run.command,
        "volatile_keys": run.volatile_keys,
        "config": _config_rows(run),
        "metrics": {key: s._asdict() for key, s in run.summary.items()},
        "artifacts": [artifact._asdict() for artifact in run.artifacts],
        "fingerprints": fingerprints,
        "runtime_calls": runtime,
        "environment": run.environment,
    }
    if out.json_mode:
        out.json(data)
        return 0
    uuid = run.uuid or "no uuid"
    out.heading(f"Run {run.id} ({uuid}) of {run.project_name}: {run.status}")
    out.line(f"started {run.start_time}, took {data['duration'] or '?'}, tags {run.tags or []}")
    if run.command:
        out.line(f"command: {' '.join(run.command.get('argv') or [])}")
        out.line(f"  in {run.command.get('cwd')}")
    if run.error:
        out.line("error: " + run.error.strip().splitlines()[-1])
    out.line()
    out.table(
        ["key", "value", "source"],
        [[row["key"], short(row["value"], 60), row["source"]] for row in data["config"]],
        title="Config",
    )
    if run.summary:
        out.line()
        out.table(
            ["metric", "points", "last", "min", "max", "last step"],
            [[k, s.count, s.last, s.min, s.max, s.last_step] for k, s in run.summary.items()],
            title="Metrics",
        )
    if run.artifacts:
        out.line()
        out.table(
            ["path", "type", "size", "sha256"],
            [[a.path, a.data_type, a.size, (a.sha256 or "")[:12]] for a in run.artifacts],
            title="Artifacts",
        )
    if fingerprints or runtime:
        out.line()
        rows = [
            [fp["trace_id"], fp["fingerprint"][:12], _callee_count(fp.get("callees")), ""]
            for fp in fingerprints
        ]
        rows += [[name, "", "", count] for name, count in runtime.items()]
        out.table(["trace", "code", "callees", "runtime calls"], rows, title="Fingerprints")
    environment = run.environment
    if environment:
        out.line()
        python = environment.get("python") or {}
        system = environment.get("os") or {}
        git = environment.get("git") or {}
        out.line(
            f"Environment: Python {python.get('version')} on {system.get('system')} "
            f"{system.get('machine')}, {len(environment.get('distributions') or {})} packages"
        )
        if git.get("commit"):
            dirty = " (uncommitted changes)" if git.get("dirty") else ""
            out.line(f"  git {git['commit'][:12]}{dirty}")
    return 0


def best(finder: Any, args: argparse.Namespace, out: Output) -> int:
    run = finder.find_best_run(args.project, args.metric, mode=args.mode)
    row = run_row(run, [args.metric])
    summary = run.summary.get(args.metric)
    row["best"] = None if summary is None else (summary.max if args.mode == "max" else summary.min)
    if out.json_mode:
        out.json(row)
        return 0
    out.line(
        f"Run {run.id} ({(run.uuid or '')[:8]}): {args.metric} {args.mode} = {row['best']}"
        f" (last {row['metrics'][args.metric]}), {run.status}"
    )
    return 0


def similar(finder: Any, args: argparse.Namespace, out: Output) -> int:
    run = finder.resolve_run_or_raise(args.run)
    found = finder.find_similar_runs(run.id)
    rows = [run_row(other, []) for other in found]
    if out.json_mode:
        out.json(rows)
        return 0
    if not rows:
        out.line(f"No other run has the config structure of run {run.id}.")
        return 0
    out.table(
        ["id", "uuid", "project", "status", "start"],
        [
            [r["id"], (r["uuid"] or "")[:8], r["project"], r["status"], r["start_time"]]
            for r in rows
        ],
        title=f"Runs with the config structure of run {run.id} ({len(rows)})",
    )
    return 0


def traces(finder: Any, args: argparse.Namespace, out: Output) -> int:
    versions = finder.trace_versions(args.project, args.trace_id, metric=args.metric)
    if out.json_mode:
        out.json(versions)
        return 0
    if not versions:
        out.line(f"No run of {args.project} traced {args.trace_id!r}.")
        return 0
    rows = []
    for number, version in enumerate(versions, 1):
        why = version["change"] or ""
        rows.append(
            [
                number,
                version["combined"][:12],
                version["first_run"],
                version["first_seen"],
                version["runs"],
                version.get("best"),
                why,
            ]
        )
    columns = ["version", "fingerprint", "first run", "first seen", "runs"]
    columns += [f"best {args.metric}" if args.metric else "best", "what changed"]
    out.table(columns, rows, title=f"Versions of {args.trace_id} in {args.project}")
    return 0


def _callee_count(callees: dict[str, str] | None) -> str:
    """The functions and values it calls and reads, and apart the modules it imports as
    it runs (``?models.small``)."""
    imported = sum(1 for value in (callees or {}).values() if str(value).startswith("module:"))
    count = len(callees or {}) - imported
    return f"{count} (+{imported} imported as it runs)" if imported else str(count)

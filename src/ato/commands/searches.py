"""``ato searches`` and ``ato search``: the hyperparameter searches a database holds,
with their progress and best trial so far, read-only."""

from __future__ import annotations

import argparse
from typing import Any

from ato.commands.output import Output
from ato.explain.verdict import short

__all__ = ["search", "searches"]


def _params(params: Any) -> str:
    if not isinstance(params, dict):
        return ""
    return ", ".join(f"{key}={short(value, 24)}" for key, value in params.items())


def _progress(found: dict[str, Any]) -> str:
    total = found["total_trials"]
    return f"{found['trials_done']}/{total}" if total else str(found["trials_done"])


def searches(finder: Any, args: argparse.Namespace, out: Output) -> int:
    if args.project:
        finder.require_project(args.project)
    found = finder.searches(args.project)
    if out.json_mode:
        out.json(found)
        return 0
    if not found:
        out.line("No hyperparameter searches in this database yet.")
        return 0
    out.table(
        ["search", "project", "algorithm", "status", "trials", "failed", "budget", "best", "with"],
        [
            [
                s["id"][:12],
                s["project"],
                s["algorithm"],
                s["status"],
                _progress(s),
                s["trials_failed"],
                "" if s.get("budget_spent") is None else f"{s['budget_spent']:g}",
                s["best_metric"],
                _params(s["best_params"]),
            ]
            for s in found
        ],
    )
    return 0


def search(finder: Any, args: argparse.Namespace, out: Output) -> int:
    found = finder.search(args.search)
    if out.json_mode:
        out.json(found)
        return 0
    out.heading(f"Search {found['id']} of {found['project']}: {found['status']}")
    if found["status"] in ("interrupted", "killed", "failed"):
        error = found["result"].get("error") if isinstance(found["result"], dict) else None
        out.line(f"stopped by {error}" if error else "its process is gone")
        if found["total_trials"] is None or found["trials_done"] < found["total_trials"]:
            out.line("Started again with the same program and settings, it resumes: "
                     "finished trials are not run again.")  # fmt: skip
    arguments = ", ".join(f"{key}={value!r}" for key, value in found["arguments"].items())
    out.line(f"{found['algorithm']} ({arguments}), mode {found['mode'] or '?'}")
    spent = found.get("budget_spent")
    out.line(f"started {found['created_at']}; trials done {_progress(found)}, "
             f"failed {found['trials_failed']}"
             + (f", budget spent {spent:g}" if spent is not None else ""))  # fmt: skip
    if found["best_metric"] is not None:
        where = f" (run {found['best_run_id']})" if found["best_run_id"] is not None else ""
        out.line(f"best so far: {found['best_metric']:.6g}{where} with "
                 f"{_params(found['best_params'])}")  # fmt: skip
    out.line()
    rows = []
    for rung in found["rungs"]:
        best = rung["best"] or {}
        rows.append([
            rung["bracket"], rung["rung"], rung["budget"], rung["trials"], rung["failed"],
            best.get("metric"), _params(best.get("params")),
        ])  # fmt: skip
    out.table(["bracket", "rung", "budget", "trials", "failed", "best", "with"], rows)
    return 0

"""``ato explain RUN_A [RUN_B]`` (alias ``ato diff``): why two runs differ, cause by cause."""

from __future__ import annotations

import argparse
from typing import Any

from ato.commands.output import Output
from ato.explain import Comparison, compare
from ato.explain.verdict import is_module_file, is_value, short

__all__ = ["explain", "render"]


def explain(finder: Any, args: argparse.Namespace, out: Output) -> int:
    from ato.explain.load import Loader

    loader = Loader.over(finder)
    before, after = loader.pair(args.run_a, args.run_b)
    report = compare(before, after, loader, incidental=args.incidental, tolerance=args.tolerance)
    if out.json_mode:
        out.json(report.to_dict())
    else:
        render(report, out, incidental=args.incidental)
    return 0


def render(report: Comparison, out: Output, incidental: bool = False) -> None:
    a, b = report.before, report.after
    projects = a.project if a.project == b.project else f"{a.project} -> {b.project}"
    out.heading(f"Run {a.id} -> run {b.id}" + (f" ({projects})" if projects else ""))
    if a.id == b.id:
        out.line(f"(run {a.id} compared with itself)")
    elif a.project != b.project:
        out.line(
            f"(runs of two projects, {a.project!r} and {b.project!r}: their programs may "
            f"differ in every way)"
        )
    out.line(report.verdict)
    if report.structure:
        out.line()
        out.table(
            ["key", "change", "type before", "type after", "source"],
            [[c.key, c.change, c.type_before, c.type_after, c.source] for c in report.structure],
            title="1. Structure",
        )
    groups = {"config": "2. Config", "tracker": "Tracker settings", "search": "Search"}
    groups["volatile"] = "Volatile keys (marked as differing in every run)"
    for category, title in groups.items():
        changes = [c for c in report.config if c.category == category]
        if changes:
            out.line()
            out.table(
                [
                    "key",
                    f"run {a.id}",
                    f"run {b.id}",
                    f"source in run {a.id}",
                    f"source in run {b.id}",
                ],
                [
                    [c.key, short(c.before), short(c.after), c.source_before, c.source_after]
                    for c in changes
                ],
                title=title,
            )
    if report.code:
        out.line()
        out.heading("3. Code")
        for change in report.code:
            helpers = ", ".join(f"{new} (was {old})" for old, new in change.helpers_renamed.items())
            if change.change == "renamed":
                said = [f"{change.was} in run {a.id}"] if change.was else []
                said += [f"calls {helpers}"] if helpers else []
                out.line(f"{change.trace_id}: {', '.join(said)}, the same code")
                continue
            was = f" (was {change.was} in run {a.id})" if change.was else ""
            out.line(f"{change.trace_id}{was}: {change.change}")
            if helpers:
                out.line(f"  calls {helpers}, the same code")
            if change.diff:
                out.code(change.diff)
            # what it certainly calls first; modules it imports as it runs after
            for callee in sorted(change.callees, key=lambda callee: not callee.certain):
                state = (
                    "added"
                    if callee.before is None
                    else "removed"
                    if callee.after is None
                    else "changed"
                )
                if callee.may_run and is_module_file(callee):
                    # the module's file differs; whether the run imported it is unknown
                    out.line(f"  may import {callee.trace_id} as it runs: {state}")
                elif callee.may_run:  # found in such a module, when it was loaded
                    verb = "may read" if is_value(callee) else "may call"
                    out.line(f"  {verb} {callee.trace_id} (a module imported as it runs): {state}")
                elif callee.entry is not None:  # a registry entry neither run picked
                    verb = "may read" if is_value(callee) else "may call"
                    out.line(
                        f"  {verb} {callee.trace_id} (through {callee.entry}, a key neither "
                        f"run's config nor code names): {state}"
                    )
                else:
                    verb = "reads" if is_value(callee) else "calls"
                    out.line(f"  {verb} {callee.trace_id}: {state}")
                if callee.diff:
                    out.code(callee.diff)
    if report.runtime:
        out.line()
        out.table(
            [
                "trace",
                "first differing call (? = cannot be compared)",
                f"calls in run {a.id}",
                f"calls in run {b.id}",
                "code and config identical",
            ],
            [
                [
                    d.trace_id,
                    d.first_call if d.comparable else f"{d.first_call}?",
                    d.calls_before,
                    d.calls_after,
                    "yes" if d.code_and_config_identical else "no",
                ]
                for d in report.runtime
            ],
            title="4. Runtime outputs",
        )
    if report.environment or not report.environment_known:
        out.line()
        out.heading("5. Environment" + (" (incidental changes too)" if incidental else ""))
        if not report.environment_known:
            missing = [r.id for r in (a, b) if r.environment is None]
            out.line(
                "not recorded for either run"
                if len(missing) == 2
                else f"not recorded for run {missing[0]}"
            )
        for change in report.environment:
            mark = "" if change.material else " (incidental)"
            out.line(f"{change}{mark}")
    if report.outcome:
        out.line()
        out.table(
            [
                "metric",
                f"final {a.id}",
                f"final {b.id}",
                f"best {a.id}",
                f"best {b.id}",
                "curves separate at step",
            ],
            [
                [
                    m.key,
                    m.final_before,
                    m.final_after,
                    m.best_before,
                    m.best_after,
                    m.separates_at_step,
                ]
                for m in report.outcome
            ],
            title="6. Outcome",
        )
    if report.command:
        out.line()
        out.heading("Command")
        command = report.command
        out.line(f"run {a.id}: {' '.join(command.argv_before or []) or 'not recorded'}")
        out.line(f"run {b.id}: {' '.join(command.argv_after or []) or 'not recorded'}")
        if command.cwd_before != command.cwd_after:
            out.line(f"working directory: {command.cwd_before} -> {command.cwd_after}")

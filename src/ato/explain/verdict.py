"""A comparison said in plain words: the verdict that opens ``ato explain``.

Same code and environment. Config differs in 1 key: lr 0.01 -> 0.1 (command line
'lr=0.1' in run 8). Outputs of `predictions` first differ at call 2.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ato.explain.facts import RunFacts
from ato.message_text import repr_of

if TYPE_CHECKING:
    from ato.explain import Comparison

__all__ = ["is_value", "run_summary", "short", "verdict"]

_LISTED = 3  # items named in a sentence before "and N more"


def short(value: Any, width: int = 40) -> str:
    """A value as a person reads it, cut to ``width`` characters."""
    text = value if isinstance(value, str) else repr_of(value)
    if isinstance(value, str) and (not value or value != value.strip() or " " in value):
        text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _listing(items: list[str]) -> str:
    shown = items[:_LISTED]
    rest = len(items) - len(shown)
    text = "; ".join(shown)
    return f"{text}; and {rest} more" if rest else text


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def verdict(report: Comparison) -> str:
    before, after = report.before, report.after
    sentences = [_code_and_environment(report)]
    if report.structure:
        items = []
        for shape in report.structure:
            if shape.change == "retyped":
                items.append(f"{shape.key} {shape.type_before} -> {shape.type_after}")
            else:
                items.append(f"{shape.key} {shape.change} ({shape.source})")
        sentences.append(f"Structure differs in {_plural(len(items), 'key')}: {_listing(items)}.")
    causes = report.causes
    if causes:
        items = []
        for change in causes:
            where = _sources(change.source_before, change.source_after, before, after)
            items.append(f"{change.key} {short(change.before)} -> {short(change.after)}{where}")
        sentences.append(f"Config differs in {_plural(len(items), 'key')}: {_listing(items)}.")
    elif not report.structure:
        sentences.append("Same config.")
    apart = [change for change in report.config if change.category != "config"]
    if apart:
        kinds = sorted({change.category for change in apart})
        sentences.append(
            f"{_plural(len(apart), 'other key')} {'differs' if len(apart) == 1 else 'differ'} "
            f"({', '.join(kinds)}), listed apart."
        )
    for divergence in report.runtime:
        if not divergence.comparable:
            sentences.append(
                f"Outputs of `{divergence.trace_id}` cannot be compared from call "
                f"{divergence.first_call}: {divergence.reason or 'not hashable'} (give "
                f"runtime_trace an inspect_fn that returns values it can hash)."
            )
            continue
        text = f"Outputs of `{divergence.trace_id}` first differ at call {divergence.first_call}"
        if divergence.calls_before != divergence.calls_after:
            text += f" ({_plural(divergence.calls_before, 'call')} in {before.label}, "
            text += f"{divergence.calls_after} in {after.label})"
        if divergence.code_and_config_identical:
            text += (
                ", with code and config identical up to there"
                " (data, environment or non-determinism)"
            )
        sentences.append(text + ".")
    if len(sentences) == 2 and sentences[1] == "Same config." and not report.runtime:
        moved = [m for m in report.outcome if not _same(m.final_before, m.final_after)]
        # Curves that agree on every step both runs logged, one of them cut short (a
        # killed run): they differ in how far they got, not in what they did.
        shorter = [m for m in moved if _only_cut_short(m)]
        if shorter:
            sentences.append(_cut_short(shorter, before, after))
            moved = [m for m in moved if m not in shorter]
        if moved:
            # The first sentence may already name a cause: code or environment.
            uncaused = sentences[0] in _NO_CODE_OR_ENVIRONMENT
            sentences.append(
                ("No recorded cause; metrics differ: " if uncaused else "Metrics differ: ")
                + _listing(
                    [f"{m.key} {short(m.final_before)} -> {short(m.final_after)}" for m in moved]
                )
                + "."
            )
            if uncaused and report.unseen:
                sentences.append(_unseen(report.unseen))
    unfinished = [_unfinished(run) for run in (before, after) if run.status in _UNFINISHED]
    return " ".join([*unfinished, *sentences])


_SAME = "Same code and environment."
_ENVIRONMENT_UNKNOWN = "Same code; environments cannot be compared (not recorded for a run)."
_NO_CODE_OR_ENVIRONMENT = (_SAME, _ENVIRONMENT_UNKNOWN)
_UNFINISHED = {
    "killed": "was killed",
    "crashed": "crashed",
    "failed": "failed",
    "running": "is still running",
}


def _same(before: Any, after: Any) -> bool:
    """Equal final values, NaN and NaN included (a loss that diverged in both runs)."""
    if isinstance(before, float) and isinstance(after, float):
        return before == after or (math.isnan(before) and math.isnan(after))
    return bool(before == after)


def _only_cut_short(outcome: Any) -> bool:
    """The shorter curve lies whole on the longer one, which goes on past its end."""
    steps = (outcome.last_step_before, outcome.last_step_after)
    shorter = min(outcome.steps_before, outcome.steps_after)
    return (
        outcome.separates_at_step is None
        and 0 < shorter == outcome.shared_steps
        and None not in steps
        and steps[0] != steps[1]
    )


def _cut_short(outcomes: list[Any], before: RunFacts, after: RunFacts) -> str:
    """``loss`` agrees up to step 23, where run 2 stopped (run 1 went on to step 63)."""
    items = []
    for m in outcomes:
        short_run, long_run = (
            (before, after) if m.last_step_before < m.last_step_after else (after, before)
        )
        low, high = sorted((m.last_step_before, m.last_step_after))
        items.append(
            f"{m.key} up to step {low}, where {short_run.label} stopped ({long_run.label} went "
            f"on to step {high})"
        )
    return f"Curves agree on every step both runs logged: {_listing(items)}."


def _unseen(unseen: dict[str, dict[str, str]]) -> str:
    """Not seen: what `step` calls on its argument model (model(...)), which nothing in
    its signature names; ..."""
    items, count = [], 0
    for trace_id, called in unseen.items():
        count += len(called)
        listed = ", ".join(f"{name} ({what})" for name, what in called.items())
        items.append(
            f"what `{trace_id}` calls on its argument{'s' if len(called) > 1 else ''} {listed}"
        )
    which = "which nothing in its signature names" if count == 1 else "which no signature names"
    return (
        f"Not seen: {_listing(items)}, {which}. Name it there so that an edit to it counts: "
        f"a class as the annotation (model: Net), a function as the default (fn=loss_fn)."
    )


def _unfinished(run: RunFacts) -> str:
    """A run that did not complete: its last values are not what it would have reached."""
    how = _UNFINISHED[run.status or ""]
    values = "those so far" if run.status == "running" else "where it stopped"
    return f"Run {run.id} {how}: its values are {values}."


def _code_and_environment(report: Comparison) -> str:
    material = [change for change in report.environment if change.material]
    code_words = []
    # (module imported as it runs, None) -> by which functions; likewise (callee, its
    # registry entry) for an entry neither run picked
    imported: dict[tuple[str, str | None], list[str]] = {}
    unpicked: dict[tuple[str, str | None], list[str]] = {}
    for change in report.code:
        name = f"`{change.trace_id}`" + (f" (was `{change.was}`)" if change.was else "")
        if change.change == "renamed":
            continue  # the same code under another name: no cause
        files = [c.trace_id for c in change.callees if c.may_run and is_module_file(c)]
        for callee in change.callees:
            inside = any(callee.trace_id.startswith(module + ".") for module in files)
            if callee.may_run and not (inside and not is_module_file(callee)):
                # a module's file; a function of one named only when its file is not
                imported.setdefault((callee.trace_id, None), []).append(name)
            elif callee.entry is not None:
                unpicked.setdefault((callee.trace_id, callee.entry), []).append(name)
        if change.change == "may run changed":
            continue  # only code it may not have run: said apart, below
        read = _what_it_reads([callee for callee in change.callees if callee.certain])
        if change.change == "changed":
            code_words.append(f"{name} changed" + (f", and {read}" if read else ""))
        elif change.change == "callee changed":
            code_words.append(f"{name} {read or 'calls changed code (a callee)'}")
        else:
            run = report.after if change.change == "added" else report.before
            code_words.append(f"`{change.trace_id}` traced only in {run.label}")
    environment_words = [str(change) for change in material]
    # Whether a run imported such a module, or picked such an entry, is not recorded: a
    # possible cause, never the lead.
    possible = [
        (
            f"{_plural(len(found), what)} {whose}",
            f"a cause if {condition}: "
            + _listing(
                [
                    f"`{callee}` ({f'{entry}, ' if entry else ''}by {', '.join(by)})"
                    for (callee, entry), by in found.items()
                ]
            ),
            len(found),
        )
        for found, what, whose, condition in (
            (imported, "module", "imported as it runs", "the run imported it"),
            (
                unpicked,
                "registry entry",
                "whose key neither run's config nor code names",
                "a run picked it",
            ),
        )
        if found
    ]
    if not code_words and not environment_words:
        if not possible:
            return _SAME if report.environment_known else _ENVIRONMENT_UNKNOWN
        same = "Same code and environment" if report.environment_known else "Same code"
        return (
            f"{same}, apart from "
            + "; and ".join(f"{what}, {listed}" for what, listed, _ in possible)
            + "."
        )
    maybe = "".join(
        f" {what[0].upper()}{what[1:]} {'differs' if count == 1 else 'differ'} too, {listed}."
        for what, listed, count in possible
    )
    parts = []
    parts.append(f"Code differs: {_listing(code_words)}." if code_words else "Same code.")
    if environment_words:
        parts.append(f"Environment differs: {_listing(environment_words)}.")
    elif report.environment_known:
        parts.append("Same environment.")
    return " ".join(parts) + maybe


def is_module_file(callee: Any) -> bool:
    """A module's file a function imports as it runs (``module:...``), not a function."""
    return any(str(fp).startswith("module:") for fp in (callee.before, callee.after) if fp)


def is_value(callee: Any) -> bool:
    """A callee that is plain data the code reads (``SCALE = 2``), not a function."""
    return any(str(fp).startswith("value:") for fp in (callee.before, callee.after) if fp)


def _what_it_reads(callees: list[Any]) -> str:
    """'calls changed code (`f`)', 'reads changed values (`SCALE`)', 'no longer reads
    (`EPS`)', 'now calls (`g`)': what changed among what a function calls and reads."""
    phrases = {
        (False, "changed"): "calls changed code",
        (False, "removed"): "no longer calls",
        (False, "added"): "now calls",
        (True, "changed"): "reads changed values",
        (True, "removed"): "no longer reads",
        (True, "added"): "now reads",
    }
    grouped: dict[str, list[str]] = {}
    for callee in callees:
        how = "added" if callee.before is None else "removed" if callee.after is None else "changed"
        grouped.setdefault(phrases[(is_value(callee), how)], []).append(f"`{callee.trace_id}`")
    order = list(phrases.values())  # code before values, changed before removed or added
    ranked = sorted(grouped.items(), key=lambda item: order.index(item[0]))
    return " and ".join(f"{phrase} ({', '.join(names)})" for phrase, names in ranked)


def _sources(before: str, after: str, run_before: RunFacts, run_after: RunFacts) -> str:
    if before == after:
        return f" (both from {after})" if after != "unknown" else ""
    if after != "unknown" and before != "unknown":
        return f" ({after} in {run_after.label}; {before} in {run_before.label})"
    if after != "unknown":
        return f" ({after} in {run_after.label})"
    return f" (was {before} in {run_before.label})"


def run_summary(run: RunFacts) -> dict[str, Any]:
    return {
        "id": run.id,
        "uuid": run.uuid,
        "project": run.project,
        "status": run.status,
        "start_time": run.start_time.isoformat() if run.start_time else None,
    }

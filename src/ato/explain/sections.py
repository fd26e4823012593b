"""The causes of a difference between two runs, one section each, from the most likely
to the least: structure, config values, code, runtime outputs, environment, outcome;
and how the two commands differ.

Each function takes two :class:`~ato.explain.facts.RunFacts` and returns plain records
(dataclasses with ``to_dict``), so the command line, ``--json`` and the verdict all say
the same thing.
"""

from __future__ import annotations

import difflib
import fnmatch
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, cast

from ato.computed_imports import MAY_RUN, is_may_run
from ato.errors import AtoError
from ato.explain.entries import Unpicked
from ato.explain.facts import Reader, RunFacts, describe_source, flatten
from ato.explain.renames import helper_renames, paired_names, same_but_renamed
from ato.parameter_types import ANNOTATED, is_annotated
from ato.registry_entries import parse_entry, plain_name
from ato.structure import structural_items, type_name
from ato.value_hash import value_hash

__all__ = [
    "CodeChange",
    "CommandChange",
    "KeyChange",
    "MetricOutcome",
    "RuntimeDivergence",
    "StructureChange",
    "code_changes",
    "command_change",
    "config_changes",
    "key_category",
    "metric_outcomes",
    "runtime_divergences",
    "structure_changes",
]


class _Record:
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload,no-any-return]


@dataclass(frozen=True)
class StructureChange(_Record):
    """A key added, removed or retyped; ``source`` is where the present value came from."""

    key: str
    change: str
    type_before: str | None
    type_after: str | None
    source: str


@dataclass(frozen=True)
class KeyChange(_Record):
    """A config value that differs. ``category`` is 'config' (a cause), 'tracker'
    (``experiment.*`` plumbing), 'search' (``__budget__`` and other search bookkeeping)
    or 'volatile' (marked by the program as differing in every run)."""

    key: str
    before: Any
    after: Any
    source_before: str
    source_after: str
    category: str = "config"


# What the tracker itself reads (ato.tracking.settings, starting.volatile_keys); any
# other experiment.* key (experiment.seed) is the program's own and may be a cause.
TRACKER_KEYS = ("experiment.project_name", "experiment.sql", "experiment.volatile")


def key_category(key: str, volatile: tuple[str, ...] = ()) -> str:
    """Which list a differing key belongs to (see :class:`KeyChange`)."""
    if any(key == own or key.startswith(own + ".") for own in TRACKER_KEYS):
        return "tracker"
    if any(part.startswith("__") and part.endswith("__") for part in key.split(".")):
        return "search"
    if any(fnmatch.fnmatchcase(key, pattern) for pattern in volatile):
        return "volatile"
    return "config"


def _newest_source(run: RunFacts, key: str) -> str:
    if run.provenance is None:
        return "unknown"
    chain = run.provenance.get(key)
    return describe_source(chain[0]) if chain else "unknown"


def structure_changes(a: RunFacts, b: RunFacts) -> list[StructureChange]:
    old = dict(structural_items(cast("Mapping[object, object]", a.config)))
    new = dict(structural_items(cast("Mapping[object, object]", b.config)))
    changes = []
    for key in sorted(old.keys() | new.keys()):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if before is None:
            changes.append(StructureChange(key, "added", None, after, _newest_source(b, key)))
        elif after is None:
            changes.append(StructureChange(key, "removed", before, None, _newest_source(a, key)))
        else:
            changes.append(StructureChange(key, "retyped", before, after, _newest_source(b, key)))
    return changes


def _same(x: Any, y: Any) -> bool:
    """Equal as a function's output would be (:func:`ato.value_hash.value_hash`): a NaN
    anywhere inside is the same NaN, an array counts every element (its repr elides the
    middle), a tuple is not a list."""
    try:
        return value_hash(x) == value_hash(y)
    except AtoError:  # an object the hash cannot read: its type and repr, at least
        return type(x) is type(y) and repr(x) == repr(y)


def config_changes(a: RunFacts, b: RunFacts) -> list[KeyChange]:
    """Values that differ under keys both runs have with the same structural type (the
    others are structure changes); a tuple against a list is a value change, since the
    structure names both 'list'."""
    old, new = dict(flatten(a.config)), dict(flatten(b.config))
    volatile = tuple(a.volatile) + tuple(b.volatile)
    changes = []
    for key in sorted(old.keys() & new.keys()):
        before, after = old[key], new[key]
        if _same(before, after) or type_name(before) != type_name(after):
            continue
        changes.append(
            KeyChange(
                key,
                before,
                after,
                _newest_source(a, key),
                _newest_source(b, key),
                key_category(key, volatile),
            )
        )
    return changes


@dataclass(frozen=True)
class CalleeChange(_Record):
    """A function, or a value, a traced function reaches that differs between the runs;
    ``may_run``: a module it may import by a computed name (``trace_id`` is the module's)
    whose file differs, which it may not have run; ``entry``: the registry entry
    (``MODELS['vit']``) it is reached through, when neither run picked it (see
    :mod:`ato.explain.entries`)."""

    trace_id: str
    before: str | None
    after: str | None
    diff: str | None = None
    may_run: bool = False
    entry: str | None = None

    @property
    def certain(self) -> bool:
        """Whether the run surely ran it (not a module it may import, nor an entry of a
        registry neither run picked)."""
        return not self.may_run and self.entry is None


@dataclass(frozen=True)
class CodeChange(_Record):
    """A traced function that differs: 'changed' (its own logic), 'callee changed' (only
    functions it calls), 'may run changed' (only modules it imports as it runs, which it
    may not have imported, or registry entries neither run picked), 'added' or 'removed'
    (traced in one run only), or 'renamed' (the same code under another name: ``was``,
    its name in the first run; or calling helpers renamed with their code the same,
    ``helpers_renamed``; not a cause)."""

    trace_id: str
    change: str
    before: str | None
    after: str | None
    diff: str | None = None
    callees: list[CalleeChange] = field(default_factory=list)
    was: str | None = None
    # Helpers it calls under new names, their code the same: {name in run 1: in run 2}.
    helpers_renamed: dict[str, str] = field(default_factory=dict)


def _short(fingerprint: str) -> str:
    return fingerprint.split(":", 1)[-1][:8]  # value:..., module:...: the hash's start


def _unified(reader: Reader | None, before: str | None, after: str | None, name: str) -> str | None:
    if reader is None or before is None or after is None:
        return None
    old, new = reader.source(before), reader.source(after)
    if old is None or new is None:
        return None
    lines = difflib.unified_diff(
        # Line by line, each ending its line: a source that ends without a newline
        # would glue its last line to the next one in the diff.
        [line + "\n" for line in old.splitlines()],
        [line + "\n" for line in new.splitlines()],
        f"{name} ({_short(before)})",
        f"{name} ({_short(after)})",
    )
    return "".join(lines) or None


def code_changes(a: RunFacts, b: RunFacts, reader: Reader | None = None) -> list[CodeChange]:
    changes = []
    owns = ({k: v.own for k, v in a.code.items()}, {k: v.own for k, v in b.code.items()})
    for old_id, new_id in paired_names(*owns):
        old = a.code[old_id] if old_id is not None else None
        new = b.code[new_id] if new_id is not None else None
        if old is None or new is None:
            kind = "added" if old is None else "removed"
            trace_id = new_id if new_id is not None else old_id
            assert trace_id is not None
            changes.append(
                CodeChange(trace_id, kind, old.own if old else None, new.own if new else None)
            )
            continue
        assert old_id is not None and new_id is not None
        was = old_id if old_id != new_id else None
        pairs = paired_names(old.callees, new.callees)
        callees = []
        loaded_in_one = False
        unpicked = Unpicked(a, b, old, new, reader)
        for before, after in pairs:
            old_fp = old.callees.get(before) if before is not None else None
            new_fp = new.callees.get(after) if after is not None else None
            name = after if after is not None else before
            assert name is not None
            if is_annotated(plain_name(name)) and (before is None or after is None):
                loaded_in_one = True  # an annotation added or removed: no code change
                continue
            entry = parse_entry(name)
            if entry is not None and unpicked(entry):
                if before is None or after is None:
                    loaded_in_one = True  # an entry neither run picked: no code change
                elif old_fp != new_fp:
                    callee = entry.callee.removeprefix(ANNOTATED)
                    diff = _unified(reader, old_fp, new_fp, callee)
                    callees.append(CalleeChange(callee, old_fp, new_fp, diff, entry=entry.shown))
                continue
            if is_may_run(name) and (before is None or after is None):
                # What a module imported as it runs holds, seen by one run only (it
                # started with the module loaded by an earlier run in its process), or
                # a module file one run's package did not have: no code change.
                loaded_in_one = True
                continue
            if is_may_run(name):
                # seen by both and different: a cause if the run imported that module
                if old_fp != new_fp:
                    module = name.removeprefix(MAY_RUN)
                    diff = _unified(reader, old_fp, new_fp, module)
                    callees.append(CalleeChange(module, old_fp, new_fp, diff, may_run=True))
            elif old_fp != new_fp:
                name = plain_name(name).removeprefix(ANNOTATED)
                callees.append(
                    CalleeChange(name, old_fp, new_fp, _unified(reader, old_fp, new_fp, name))
                )
        # Callees found under other names only (another entry point): the same code.
        names_moved = loaded_in_one or any(
            before != after and not is_may_run(str(before or after)) for before, after in pairs
        )
        renames: dict[str, str] = {}
        if old.own != new.own:  # perhaps only calling the same helpers by new names
            renames = helper_renames(pairs, old.callees, new.callees)
            if not same_but_renamed(reader, old.own, new.own, renames):
                renames = {}
        if old.own != new.own and not renames:
            diff = _unified(reader, old.own, new.own, new_id)
            changes.append(CodeChange(new_id, "changed", old.own, new.own, diff, callees, was))
        elif callees or (old.combined != new.combined and not names_moved):
            certain = any(callee.certain for callee in callees) or not callees
            kind = "callee changed" if certain else "may run changed"
            changes.append(
                CodeChange(new_id, kind, old.combined, new.combined, None, callees, was, renames)
            )
        elif was is not None or renames:
            changes.append(
                CodeChange(new_id, "renamed", old.own, new.own, was=was, helpers_renamed=renames)
            )
    return changes


@dataclass(frozen=True)
class RuntimeDivergence(_Record):
    """Where a runtime trace's outputs first differ: ``first_call`` (0-based within the
    run), how many calls each run made, and whether code and config were identical (so
    the cause is data, the environment or non-determinism)."""

    trace_id: str
    first_call: int
    calls_before: int
    calls_after: int
    code_and_config_identical: bool
    comparable: bool = True  # False: an output there could not be hashed (``reason``)
    reason: str | None = None


_UNHASHABLE = "unhashable"


def runtime_divergences(
    a: RunFacts, b: RunFacts, code_and_config_identical: bool
) -> list[RuntimeDivergence]:
    """Where each runtime trace's outputs first differ; an output recorded as unhashable
    (two such records are equal strings, not equal outputs) ends what can be compared."""
    found = []
    for trace_id in sorted(a.runtime.keys() | b.runtime.keys()):
        old, new = list(a.runtime.get(trace_id, [])), list(b.runtime.get(trace_id, []))
        pairs = enumerate(zip(old, new, strict=False))
        first = next((i for i, (x, y) in pairs if x != y or x.startswith(_UNHASHABLE)), None)
        if first is None and len(old) == len(new):
            continue
        if first is None:
            first = min(len(old), len(new))
        there = old[first : first + 1] + new[first : first + 1]
        unknown = [fp for fp in there if fp.startswith(_UNHASHABLE)]
        reason = unknown[0].partition(":")[2].strip() if unknown else None
        found.append(
            RuntimeDivergence(
                trace_id,
                first,
                len(old),
                len(new),
                code_and_config_identical,
                comparable=not unknown,
                reason=reason,
            )
        )
    return found


@dataclass(frozen=True)
class MetricOutcome(_Record):
    """A metric both runs logged: final and best values (best by ``mode``, guessed from
    the name: losses and errors are minimised), the first step at which the curves
    separate beyond the tolerance (None when they never do on shared steps), each run's
    highest step and number of steps, and how many steps both logged (0 when the curves
    were not read)."""

    key: str
    mode: str
    final_before: float | None
    final_after: float | None
    best_before: float | None
    best_after: float | None
    separates_at_step: int | None
    last_step_before: int | None = None
    last_step_after: int | None = None
    shared_steps: int = 0
    steps_before: int = 0
    steps_after: int = 0


_MINIMISED = ("loss", "error", "err", "mse", "mae", "rmse", "perplexity", "ppl", "nll", "wer")


def guess_mode(key: str) -> str:
    words = key.lower().replace("/", "_").replace(".", "_").replace("-", "_").split("_")
    return "min" if any(word in _MINIMISED for word in words) else "max"


def _separation(
    before: list[tuple[int, float]], after: list[tuple[int, float]], tolerance: float
) -> int | None:
    later = dict(after)
    for step, value in before:
        other = later.get(step)
        if other is None:
            continue
        if math.isnan(value) and math.isnan(other):
            continue
        if math.isnan(value) or math.isnan(other):
            return step
        if abs(value - other) > tolerance * max(1.0, abs(value), abs(other)):
            return step
    return None


def metric_outcomes(
    a: RunFacts, b: RunFacts, reader: Reader | None = None, tolerance: float = 1e-6
) -> list[MetricOutcome]:
    outcomes = []
    for key in sorted(a.metrics.keys() & b.metrics.keys()):
        old, new = a.metrics[key], b.metrics[key]
        mode = guess_mode(key)
        separation, shared, counts = None, 0, (0, 0)
        last = (old.last_step, new.last_step)
        if reader is not None:
            curve_a, curve_b = reader.curve(a.id, key), reader.curve(b.id, key)
            separation = _separation(curve_a, curve_b, tolerance)
            steps_a, steps_b = {step for step, _ in curve_a}, {step for step, _ in curve_b}
            shared, counts = len(steps_a & steps_b), (len(steps_a), len(steps_b))
            # The highest step, not the last logged: evaluations may finish out of order.
            last = (max(steps_a, default=last[0]), max(steps_b, default=last[1]))
        outcomes.append(
            MetricOutcome(
                key,
                mode,
                old.last,
                new.last,
                old.min if mode == "min" else old.max,
                new.min if mode == "min" else new.max,
                separation,
                last[0],
                last[1],
                shared,
                counts[0],
                counts[1],
            )
        )
    return outcomes


@dataclass(frozen=True)
class CommandChange(_Record):
    """How the commands that started the runs differ."""

    argv_before: list[str] | None
    argv_after: list[str] | None
    only_before: list[str]
    only_after: list[str]
    script_before: str | None
    script_after: str | None
    cwd_before: str | None
    cwd_after: str | None


def command_change(a: RunFacts, b: RunFacts) -> CommandChange | None:
    old: Mapping[str, Any] = a.command or {}
    new: Mapping[str, Any] = b.command or {}
    if not old and not new:
        return None
    argv_old = list(old.get("argv") or [])
    argv_new = list(new.get("argv") or [])
    if (argv_old, old.get("script"), old.get("cwd")) == (
        argv_new,
        new.get("script"),
        new.get("cwd"),
    ):
        return None
    return CommandChange(
        argv_old if old else None,
        argv_new if new else None,
        [token for token in argv_old[1:] if token not in argv_new[1:]],
        [token for token in argv_new[1:] if token not in argv_old[1:]],
        old.get("script"),
        new.get("script"),
        old.get("cwd"),
        new.get("cwd"),
    )

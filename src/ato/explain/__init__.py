"""Why two runs differ, cause by cause.

    from ato import compare_runs

    report = compare_runs(7, 8, db="sqlite:///experiments.db")
    print(report.verdict)   # Same code and environment. Config differs in 1 key: ...
    report.to_dict()        # what `ato explain --json` prints

:func:`compare` works on :class:`~ato.explain.facts.RunFacts` (plain data);
:func:`compare_runs` loads them from a tracker database (:mod:`ato.explain.load`). The
sections are in :mod:`ato.explain.sections`, the words in :mod:`ato.explain.verdict`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ato.explain.facts import CodeFacts, MetricFacts, Reader, RunFacts
from ato.explain.sections import (
    CodeChange,
    CommandChange,
    KeyChange,
    MetricOutcome,
    RuntimeDivergence,
    StructureChange,
    code_changes,
    command_change,
    config_changes,
    metric_outcomes,
    runtime_divergences,
    structure_changes,
)

__all__ = [
    "CodeFacts",
    "Comparison",
    "MetricFacts",
    "Reader",
    "RunFacts",
    "compare",
    "compare_runs",
]


@dataclass
class Comparison:
    """The report: the two runs and each section, causes first; ``verdict`` says it in
    plain words."""

    before: RunFacts
    after: RunFacts
    structure: list[StructureChange] = field(default_factory=list)
    config: list[KeyChange] = field(default_factory=list)
    code: list[CodeChange] = field(default_factory=list)
    runtime: list[RuntimeDivergence] = field(default_factory=list)
    environment: list[Any] = field(default_factory=list)  # ato.environment.EnvironmentChange
    environment_known: bool = True
    outcome: list[MetricOutcome] = field(default_factory=list)
    command: CommandChange | None = None
    # {traced function: {argument: what it calls on it}}: code its fingerprint cannot see
    unseen: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def causes(self) -> list[KeyChange]:
        """Config changes that can cause a difference (not tracker plumbing, search
        bookkeeping or volatile keys)."""
        return [change for change in self.config if change.category == "config"]

    @property
    def verdict(self) -> str:
        from ato.explain.verdict import verdict

        return verdict(self)

    def to_dict(self) -> dict[str, Any]:
        from ato.explain.verdict import run_summary

        return {
            "verdict": self.verdict,
            "before": run_summary(self.before),
            "after": run_summary(self.after),
            "structure": [change.to_dict() for change in self.structure],
            "config": [change.to_dict() for change in self.config],
            "code": [change.to_dict() for change in self.code],
            "runtime": [change.to_dict() for change in self.runtime],
            "environment": {
                "known": self.environment_known,
                "changes": [change.to_dict() for change in self.environment],
            },
            "outcome": [change.to_dict() for change in self.outcome],
            "command": self.command.to_dict() if self.command else None,
            "unseen": self.unseen,
        }


def compare(
    before: RunFacts,
    after: RunFacts,
    reader: Reader | None = None,
    *,
    incidental: bool = False,
    tolerance: float = 1e-6,
) -> Comparison:
    """Compare two runs given as facts; ``reader`` supplies sources and metric curves."""
    from ato import environment

    report = Comparison(before, after)
    report.structure = structure_changes(before, after)
    report.config = config_changes(before, after)
    report.code = code_changes(before, after, reader)
    code_causes = [change for change in report.code if change.change != "renamed"]
    identical = not report.structure and not report.causes and not code_causes
    report.runtime = runtime_divergences(before, after, identical)
    if before.environment is None or after.environment is None:
        report.environment_known = False
    else:
        report.environment = environment.diff(
            dict(before.environment), dict(after.environment), incidental=incidental
        )
        git = after.environment.get("git")
        root = git.get("root") if isinstance(git, Mapping) else None
        for change in report.environment:
            if change.what == "git.commit" and isinstance(root, str):
                change.files = environment.commit_files(root, change.before, change.after)
                files = change.files or []
                if environment.logic_unchanged(root, change.before, change.after, files):
                    change.make_cosmetic()  # commits that differ in comments alone
        if not incidental:
            report.environment = [change for change in report.environment if change.material]
    report.outcome = metric_outcomes(before, after, reader, tolerance)
    report.command = command_change(before, after)
    report.unseen = _unseen(after, reader)
    return report


def _unseen(run: RunFacts, reader: Reader | None) -> dict[str, dict[str, str]]:
    """What each function traced in ``run`` calls on arguments whose class nothing names
    (see :mod:`ato.explain.unseen`)."""
    from ato.explain.unseen import called_arguments

    found: dict[str, dict[str, str]] = {}
    if reader is None:
        return found
    for trace_id, facts in sorted(run.code.items()):
        source = reader.source(facts.own)
        called = called_arguments(source) if source else {}
        if called:
            found[trace_id] = called
    return found


def compare_runs(
    a: Any,
    b: Any = None,
    *,
    db: str | None = None,
    incidental: bool = False,
    tolerance: float = 1e-6,
) -> Comparison:
    """Compare two tracked runs, each an integer id, a UUID or UUID prefix, or a record
    from :class:`~ato.tracking.SQLFinder`. Without ``b``, ``a`` is compared with the run
    of its project that started before it. ``db`` is a database URL (default: the
    ``ATO_DB`` environment variable, else ``sqlite:///experiments.db``); it is opened
    read-only."""
    from ato.explain.load import Loader

    with Loader(db) as loader:
        first, second = loader.pair(a, b)
        return compare(first, second, loader, incidental=incidental, tolerance=tolerance)

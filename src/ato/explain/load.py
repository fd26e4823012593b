"""Runs from a tracker database as :class:`~ato.explain.facts.RunFacts`.

A :class:`Loader` opens the database read-only, finds runs by id, UUID, UUID prefix or
record, and hands the comparison the stored sources and metric curves it asks for.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from ato.errors import RunNotFoundError
from ato.explain.facts import CodeFacts, MetricFacts, RunFacts

__all__ = ["Loader", "facts_of"]


class Loader:
    """Reads runs for a comparison (see the module docstring): from the database ``db``
    (see :func:`ato.tracking.settings.database_url`), or through a finder already open
    (:meth:`over`)."""

    def __init__(self, db: str | None = None, finder: Any = None) -> None:
        if finder is None:
            from ato.tracking import SQLFinder
            from ato.tracking.settings import database_origin, database_url

            finder = SQLFinder.open(database_url(db), _origin=database_origin(db, "db"))
            self._owned = True
        else:
            self._owned = False
        self.finder = finder

    @classmethod
    def over(cls, finder: Any) -> Loader:
        """A loader reading through ``finder`` (which stays open after it)."""
        return cls(finder=finder)

    def __enter__(self) -> Loader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._owned:
            self.finder.close()

    # -- finding runs -----------------------------------------------------------------

    def run(self, spec: Any) -> Any:
        """The record of ``spec``: an id, a UUID or a UUID prefix, or a record."""
        if hasattr(spec, "id") and hasattr(spec, "config"):
            spec = spec.id
        return self.finder.resolve_run_or_raise(spec)

    def pair(self, a: Any, b: Any = None) -> tuple[RunFacts, RunFacts]:
        """Facts of both runs; without ``b``, of ``a``'s predecessor in its project and
        ``a``."""
        second = self.run(a if b is None else b)
        if b is None:
            first = self.finder.previous_run(second)
            if first is None:
                raise RunNotFoundError(
                    f"Run {second.id} is the first run of project {second.project.name!r}: "
                    f"there is no earlier run to compare it with. Name two runs: "
                    f"ato explain RUN_A RUN_B."
                )
        else:
            first = self.run(a)
        return facts_of(first), facts_of(second)

    # -- what the comparison reads on demand (the Reader protocol) ---------------------

    def source(self, fingerprint: str) -> str | None:
        found: str | None = self.finder.code_source(fingerprint)
        return found

    def curve(self, run_id: int, key: str) -> list[tuple[int, float]]:
        points: list[tuple[int, float]] = self.finder.curve(run_id, key)
        return points


def facts_of(run: Any) -> RunFacts:
    """What a comparison needs of one tracker record."""
    code = {}
    runtime: dict[str, list[tuple[int, str]]] = {}
    for fp in run.fingerprints:
        if fp.trace_type == "static":
            code[fp.trace_id] = CodeFacts(
                fp.fingerprint, fp.combined or fp.fingerprint, dict(fp.callees or {}), fp.basis
            )
        elif fp.trace_type == "runtime":
            runtime.setdefault(fp.trace_id, []).append((fp.call_index or 0, fp.fingerprint))
    metrics = {
        key: MetricFacts(s.count, s.min, s.max, s.last, s.last_step)
        for key, s in run.summary.items()
    }
    return RunFacts(
        id=run.id,
        uuid=run.uuid,
        project=run.project.name if run.project else None,
        status=run.status,
        start_time=run.start_time,
        config=run.config,
        provenance=run.sources,
        volatile=tuple(run.volatile_keys or ()),
        command=run.command,
        code=code,
        runtime={k: [fp for _, fp in sorted(calls)] for k, calls in runtime.items()},
        environment=run.environment,
        metrics=metrics,
    )

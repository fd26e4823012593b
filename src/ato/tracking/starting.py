"""What a run records when it starts, and code traced once it is open: the helpers of
:class:`~ato.tracking.logger.SQLLogger` that turn a config, its scopes and this process
into rows (:mod:`~ato.tracking.writes`), each written in one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from ato.tracking import writes
from ato.tracking.database import write
from ato.tracking.scopes import ScopeRecorder, static_row
from ato.tracking.values import jsonable

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from ato.trace import Fingerprint

__all__ = ["insert_run", "insert_traced_late", "volatile_keys"]


def insert_run(
    engine: Engine,
    project_id: int,
    config: Any,
    scopes: ScopeRecorder,
    environment: dict[str, Any],
    tags: list[str] | None,
    volatile: list[str],
) -> tuple[int, str]:
    """Insert a run of ``config`` starting now in this process (its provenance and
    static fingerprints from ``scopes``, the ``environment`` record); return its id and
    uuid."""
    from ato import environment as environments

    scopes.choose(config)
    values = writes.new_run(
        project_id,
        config,
        tags,
        provenance=scopes.provenance(),
        environment_hash=environments.environment_hash(environment),
        volatile=volatile,
        git_root=(environment.get("git") or {}).get("root"),
    )
    fingerprints, sources = scopes.static_fingerprints()
    insert = partial(
        writes.insert_run,
        values=values,
        environment=jsonable(environment),
        fingerprints=fingerprints,
        sources=sources,
    )
    return write(engine, insert), values["uuid"]


def volatile_keys(config: Any, marked: list[str]) -> list[str]:
    """The patterns of keys that differ in every run: ``marked`` (given to the logger),
    then those of ``config.experiment.volatile`` (one pattern or a list)."""
    keys = list(marked)
    experiment = config.get("experiment") if isinstance(config, Mapping) else None
    extra = experiment.get("volatile") if isinstance(experiment, Mapping) else None
    if isinstance(extra, str):
        extra = [extra]
    for pattern in extra or ():
        if isinstance(pattern, str) and pattern not in keys:
            keys.append(pattern)
    return keys


def insert_traced_late(
    engine: Engine, run_id: int, trace_id: str, fingerprint: Fingerprint
) -> None:
    """The static fingerprint of a function traced while run ``run_id`` is open
    (imported late, defined in a loop): it is this run's code too."""
    sources: dict[str, tuple[str, str]] = {}
    row = static_row(trace_id, fingerprint, sources)
    write(
        engine,
        partial(writes.insert_static, run_id=run_id, fingerprints=[row], sources=sources),
    )

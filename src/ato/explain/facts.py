"""What a comparison needs to know of one run, as plain data.

:class:`RunFacts` is built from a tracker record (:func:`ato.explain.load.facts_of`) or
by hand in tests; the comparison itself (:mod:`ato.explain.sections`) never touches a
database, so it can be tested on data and reused on runs from any source.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["CodeFacts", "MetricFacts", "Reader", "RunFacts", "describe_source", "flatten"]


@dataclass(frozen=True)
class CodeFacts:
    """A traced function in one run: its own fingerprint, the combined one (with its
    callees) and the callees' fingerprints."""

    own: str
    combined: str
    callees: Mapping[str, str] = field(default_factory=dict)
    basis: str | None = None


@dataclass(frozen=True)
class MetricFacts:
    """A metric's summary in one run."""

    count: int
    min: float | None
    max: float | None
    last: float | None
    last_step: int | None


@dataclass(frozen=True)
class RunFacts:
    """One run, as the comparison sees it.

    ``provenance`` maps dotted keys to their sources, newest first, each a dict with
    ``kind`` ('view', 'lazy view', 'lazy block', 'command line', 'file', 'code',
    'search', 'initial' or 'unknown'), ``name``, ``priority``, ``file``, ``line``,
    ``token`` and ``value``; None when the run has none (2.x, or a config built without
    a Scope). ``runtime`` maps a runtime trace to its calls' fingerprints in call order.
    """

    id: int
    uuid: str | None = None
    project: str | None = None
    status: str | None = None
    start_time: _dt.datetime | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    provenance: Mapping[str, list[dict[str, Any]]] | None = None
    volatile: tuple[str, ...] = ()
    command: Mapping[str, Any] | None = None
    code: Mapping[str, CodeFacts] = field(default_factory=dict)
    runtime: Mapping[str, list[str]] = field(default_factory=dict)
    environment: Mapping[str, Any] | None = None
    metrics: Mapping[str, MetricFacts] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"run {self.id}"


class Reader(Protocol):
    """Where a comparison reads what it needs beyond :class:`RunFacts`, on demand."""

    def source(self, fingerprint: str) -> str | None:
        """The source text of the function with this own fingerprint, when stored."""

    def curve(self, run_id: int, key: str) -> list[tuple[int, float]]:
        """``(step, value)`` of a metric of a run, by step."""


def flatten(config: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(dotted key, value)`` for every leaf of a config, as the structural hash walks
    it: mappings are walked into (an empty one is a leaf), everything else is a leaf."""
    if isinstance(config, Mapping) and (config or not prefix):
        for key, value in config.items():
            part = str(key)
            # config["x.y"] beside config.x.y: two keys, never one
            dotted = f"{prefix}.{part}" if prefix else part
            yield from flatten(value, f"{prefix}[{part!r}]" if "." in part else dotted)
    else:
        yield prefix, config


def describe_source(source: Mapping[str, Any] | None) -> str:
    """Where a value came from, in words: ``command line 'lr=0.01'``, ``view high_lr
    (priority 1)``, ``unknown``."""
    if not source:
        return "unknown"
    kind = source.get("kind") or "unknown"
    name = source.get("name")
    if kind == "unknown":
        text = source.get("text")
        return f"{text}" if text else "unknown"
    if kind == "command line":
        return (
            f"command line {source.get('token') or name!r}"
            if (source.get("token") or name)
            else kind
        )
    if kind == "code":
        return f"code at {name}" if name else "code after assembly"
    if kind in ("search", "search bookkeeping"):
        if name and str(name).startswith(kind):  # 'search (bracket 0, rung 1)'
            return str(name)
        rung = source.get("priority")
        return f"{kind} (rung {rung})" if rung is not None else kind
    if kind == "initial":
        return "the config passed to Scope(config=...)"
    words = f"{kind} {name}" if name else kind
    notes = []
    if source.get("priority"):
        notes.append(f"priority {source['priority']}")
    if source.get("file"):
        notes.append(f"from {source['file']}")
    return f"{words} ({', '.join(notes)})" if notes else words

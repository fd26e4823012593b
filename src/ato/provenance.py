"""Where each config value came from.

While a scope assembles its config, a :class:`Recorder` watches every write to it (through
the observer hook of :class:`~ato.adict.ADict`) and keeps, per dotted key, the history of
values with their :class:`Source`. The recorder also carries the one place where writes
are deliberately dropped: when a view is replayed only for its ``Scope.lazy()`` blocks,
its other writes already happened in the first pass and are skipped, by design.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ato import adict
from ato.adict import ADict

__all__ = ["MISSING", "Provenance", "Recorder", "Source", "dotted", "leaves"]


class _Missing:
    def __repr__(self) -> str:
        return "<nothing>"


#: What a first write replaced.
MISSING: Any = _Missing()


class Source:
    """Who wrote a value: a view, a lazy view or block, the command line, a file..."""

    __slots__ = ("file", "kind", "name", "priority")

    def __init__(
        self, kind: str, name: str, priority: int | None = None, file: str | None = None
    ) -> None:
        self.kind, self.name, self.priority, self.file = kind, name, priority, file

    def __str__(self) -> str:
        if self.kind == "command line":
            return f"command line ({self.name})"
        notes = []
        if self.kind == "lazy view":
            notes.append("lazy")
        elif self.kind == "lazy block":
            notes.append("lazy block")
        if self.priority:
            notes.append(f"priority {self.priority}")
        if self.file:
            notes.append(f"from {self.file}")
        return f"{self.name} ({', '.join(notes)})" if notes else self.name

    def __repr__(self) -> str:
        return f"Source({self.kind!r}, {self.name!r}, priority={self.priority!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Source):
            return NotImplemented
        return (self.kind, self.name, self.priority, self.file) == (
            other.kind,
            other.name,
            other.priority,
            other.file,
        )

    def __hash__(self) -> int:
        return hash((self.kind, self.name, self.priority, self.file))


class Provenance:
    """One write: the key path, the value written, its source, and what it replaced.

    ``value`` is :data:`MISSING` for a deletion; ``replaced`` is :data:`MISSING` for a
    first write.
    """

    __slots__ = ("path", "replaced", "source", "value")

    def __init__(self, path: tuple[Any, ...], value: Any, source: Source, replaced: Any) -> None:
        self.path, self.value, self.source, self.replaced = path, value, source, replaced

    @property
    def key(self) -> str:
        """The dotted key path, e.g. ``'model.depth'``."""
        return dotted(self.path)

    @property
    def deleted(self) -> bool:
        return self.value is MISSING

    def __repr__(self) -> str:
        return f"Provenance({self.key!r}, {self.value!r}, {str(self.source)!r})"


def dotted(path: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in path)


def leaves(value: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """``(path, value)`` of every leaf under a config value; lists are leaves, and an
    empty mapping is a leaf of its own."""
    if isinstance(value, ADict) and value:
        for key, child in dict.items(value):
            yield from leaves(child, (*path, key))
    else:
        yield path, value


_SCALARS = frozenset({str, int, float, bool, type(None)})


class Recorder:
    """The observer a scope attaches to its config while assembling it.

    ``history`` maps each key path (a tuple) to its writes, oldest first.
    """

    def __init__(self) -> None:
        self.history: dict[tuple[Any, ...], list[Provenance]] = {}
        self.source: Source | None = None
        self.skipping = False  # a replayed view outside its lazy blocks

    def write(self, node: ADict, key: Any, value: Any) -> None:
        if self.skipping:
            return
        base = (*adict.node_path(node), key)
        old = dict.get(node, key, MISSING)
        if type(value) in _SCALARS and not isinstance(old, ADict):  # the common case
            dict.__setitem__(node, key, value)
            self._record(base, value)
            return
        stored = adict.store(node, key, value)
        if isinstance(stored, (ADict, list, tuple)):
            adict.observe(stored, self, base)
        if isinstance(old, ADict) and old is not stored:
            adict.observe(old, None)
            for path, _ in leaves(old, base):
                if path != base:
                    self._record(path, MISSING)
        for path, leaf in leaves(stored, base):
            self._record(path, leaf)

    def delete(self, node: ADict, key: Any) -> None:
        if self.skipping:
            return
        base = (*adict.node_path(node), key)
        old = dict.pop(node, key)
        if isinstance(old, ADict):
            adict.observe(old, None)
        for path, _ in leaves(old, base):
            self._record(path, MISSING)

    def create(self, node: ADict, key: Any, value: Any) -> Any:
        """A missing key read from an auto ADict: store (or, when skipping, hand out)."""
        if self.skipping:
            return value
        path = (*adict.node_path(node), key)
        adict.store(node, key, value)
        adict.observe(value, self, path)
        return value

    def _record(self, path: tuple[Any, ...], value: Any) -> None:
        assert self.source is not None, "a write outside any source"
        entries = self.history.get(path)
        if entries is None:
            self.history[path] = [Provenance(path, value, self.source, MISSING)]
        else:
            entries.append(Provenance(path, value, self.source, entries[-1].value))

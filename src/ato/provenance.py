"""Where each config value came from.

While a scope assembles its config, a :class:`Recorder` watches every write to it (it is
the config's :class:`~ato.observers.ConfigObserver`) and keeps, per dotted key, the history of
values with their :class:`Source`. The recorder also carries the one place where writes
are deliberately dropped: when a view is replayed only for its ``Scope.lazy()`` blocks,
its other writes already happened in the first pass and are skipped, by design.
"""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Iterator
from typing import Any

from ato import paths
from ato.adict import ADict
from ato.observers import (
    attach_observer,
    delete_through,
    detach_observer,
    set_replaying,
    write_through,
)

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
        if self.kind == "code":
            return f"code at {self.name}"
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


def code_source() -> Source:
    """``code`` at the first frame outside ato: who wrote, after the assembly."""
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame: types.FrameType | None = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame = frame.f_back
    if frame is None:
        return Source("code", "unknown place")
    filename = frame.f_code.co_filename
    return Source("code", f"{os.path.basename(filename)}:{frame.f_lineno}", file=filename)


def dotted(path: tuple[Any, ...]) -> str:
    """``('model', 'depth')`` -> ``'model.depth'`` (see :func:`ato.paths.join`)."""
    return paths.join(path)


def leaves(value: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """``(path, value)`` of every leaf under a config value; lists are leaves, and an
    empty mapping is a leaf of its own."""
    # A stack, not recursion: a config may nest deeper than Python's stack (a dotted TOML
    # key of thousands of parts), and reaching its leaves must not crash.
    stack: list[tuple[tuple[Any, ...], Any]] = [(path, value)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, ADict) and node:
            stack.extend(reversed([((*where, key), child) for key, child in dict.items(node)]))
        else:
            yield where, node


_SCALARS = frozenset({str, int, float, bool, type(None)})


class Recorder:
    """The observer a scope attaches to its config while assembling it.

    ``history`` maps each key path (a tuple) to its writes, oldest first, as
    ``(value, source)`` pairs (kept as pairs because a write is on the hot path);
    :meth:`provenance` turns them into :class:`Provenance` records.
    """

    def __init__(self) -> None:
        self.history: dict[tuple[Any, ...], list[tuple[Any, Source]]] = {}
        self.source = Source("initial", "Scope(config=...)")
        self.root: ADict | None = None  # the config being assembled
        self.overrides: list[Any] = []  # the command-line values as assembly read them
        self._skipping = False
        self._after = False  # the assembly is over: writes are the program's own
        self.stopped_at: Source | None = None  # what was being applied when it raised

    @property
    def skipping(self) -> bool:
        """True while a view is replayed outside its lazy blocks (or a lazy block is
        passed over on the first pass): writes are dropped, and reads of lists and dicts
        give copies, so that nothing the view does there reaches the config twice."""
        return self._skipping

    @skipping.setter
    def skipping(self, skipping: bool) -> None:
        if skipping != self._skipping:
            self._skipping = skipping
            if self.root is not None:
                set_replaying(self.root, skipping)

    def assembled(self) -> None:
        """The assembly is over: the program's own writes from now on are recorded as
        ``code`` at the file and line that made them (so provenance never goes stale)."""
        self._after = True

    def _source(self) -> Source:
        return code_source() if self._after else self.source

    def write(self, node: ADict, path: tuple[Any, ...], key: Any, value: Any) -> None:
        if self._skipping:
            return
        base = (*path, key)
        old = dict.get(node, key, MISSING)
        if type(value) in _SCALARS and not isinstance(old, ADict):  # the common case
            write_through(node, key, value, convert=False)
            self._append(base, value)
            return
        stored = write_through(node, key, value)
        if isinstance(stored, (ADict, list, tuple)):
            attach_observer(stored, self, base)
        if isinstance(old, ADict) and old is not stored:
            detach_observer(old)
            for leaf_path, _ in leaves(old, base):
                if leaf_path != base:
                    self._record(leaf_path, MISSING)
        for leaf_path, leaf in leaves(stored, base):
            self._record(leaf_path, leaf)

    def delete(self, node: ADict, path: tuple[Any, ...], key: Any) -> None:
        if self._skipping:
            return
        base = (*path, key)
        old = delete_through(node, key)
        if isinstance(old, ADict):
            detach_observer(old)
        for leaf_path, _ in leaves(old, base):
            self._record(leaf_path, MISSING)

    def create(self, node: ADict, path: tuple[Any, ...], key: Any, value: Any) -> Any:
        """A missing key read from an auto ADict: store (or, when skipping, hand out)."""
        if self._skipping:
            return value
        write_through(node, key, value, convert=False)  # made for this key: not a copy
        attach_observer(value, self, (*path, key))
        return value

    def _record(self, path: tuple[Any, ...], value: Any) -> None:
        self._append(path, value)

    def _append(self, path: tuple[Any, ...], value: Any) -> None:
        source = self._source()
        entries = self.history.get(path)
        if entries is None:
            self.history[path] = [(value, source)]
        elif source.kind == "code" and entries[-1][1] == source:
            # A line that writes again (config.epoch = epoch in a loop): its last value
            # counts, and the history stays bounded.
            entries[-1] = (value, source)
        else:
            entries.append((value, source))

    def provenance(self, path: tuple[Any, ...]) -> list[Provenance]:
        """The writes to ``path`` as records, oldest first."""
        records = []
        replaced: Any = MISSING
        for value, source in self.history.get(path, []):
            records.append(Provenance(path, value, source, replaced))
            replaced = value
        return records

    def sources(self, path: tuple[Any, ...]) -> list[Source]:
        return [source for _, source in self.history.get(path, [])]

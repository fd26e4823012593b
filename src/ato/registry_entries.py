"""Callees reached only through a registry: a dict of functions or classes that the code
indexes by a name (``MODELS[config.model](...)``) runs the entry its key picks, as it
runs. An edit to an entry that neither of two runs picked is no cause of their
difference, so the callee's name keeps the entries it is reached through::

    entry:[["MODELS","vit"]]:train.vit
    entry:[["MODELS","resnet"],["MODELS","vit"]]:train.block   (called by both)

:mod:`ato.callees` finds them (with :class:`EntryGraph`); :mod:`ato.explain.entries`
reads them. Only keys that are strings are entries: a list or tuple of functions is
as often run whole (``for layer in LAYERS``) as indexed, so its items count as called.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ENTRY",
    "Entry",
    "EntryGraph",
    "RegistryKey",
    "entry_name",
    "is_markable",
    "parse_entry",
    "plain_name",
]

ENTRY = "entry:"


class RegistryKey(str):
    """A registry item's name as :mod:`ato.callees` finds it (``MODELS['vit']``), with the
    registry's name and the key beside it."""

    registry: str
    key: Any

    def __new__(cls, registry: str, key: Any) -> RegistryKey:
        made = super().__new__(cls, f"{registry}[{key!r}]")
        made.registry, made.key = registry, key
        return made


@dataclass(frozen=True)
class Entry:
    """A parsed entry name: ``keys`` (``(("MODELS", "vit"),)``: every entry the callee is
    reached through) and ``callee`` (its name when reached directly: ``train.vit``)."""

    keys: tuple[tuple[str, str], ...]
    callee: str

    @property
    def shown(self) -> str:
        return ", ".join(f"{registry}[{key!r}]" for registry, key in self.keys)


def is_markable(key: Any) -> bool:
    """A key a config or a source names: a string."""
    return type(key) is str


def entry_name(keys: list[tuple[str, str]], callee: str) -> str:
    return f"{ENTRY}{json.dumps([list(pair) for pair in keys])}:{callee}"


def parse_entry(name: str) -> Entry | None:
    """The :class:`Entry` a callee name holds; None for any other name."""
    if not name.startswith(ENTRY):
        return None
    rest = name[len(ENTRY) :]
    try:
        keys, end = json.JSONDecoder().raw_decode(rest)
    except ValueError:
        return None
    if not (isinstance(keys, list) and keys and rest.startswith(":", end)):
        return None
    pairs = []
    for pair in keys:
        if not (isinstance(pair, list) and len(pair) == 2 and all(map(is_markable, pair))):
            return None
        pairs.append((pair[0], pair[1]))
    return Entry(tuple(pairs), rest[end + 1 :])


def plain_name(name: str) -> str:
    """``name`` without an entry's mark: the callee's own name."""
    entry = parse_entry(name)
    return entry.callee if entry is not None else name


class EntryGraph:
    """What registry entries reach, found after all that is reached directly: the roots
    (one per entry), the edges between what is found, and the callees waiting for their
    names, which are known once every entry has been followed (a helper two entries
    call is named by both)."""

    def __init__(self) -> None:
        # (key, value, namespace) of each entry met before all that is reached directly
        self.waiting: collections.deque[tuple[RegistryKey, Any, Any]] = collections.deque()
        self._roots: set[tuple[str, str, str]] = set()  # ("entry", registry, key)
        self._edges: dict[Hashable, set[Hashable]] = {}
        self.pending: dict[Hashable, tuple[str, Any]] = {}  # node -> (name, value)

    def root(self, key: RegistryKey) -> Hashable:
        node = ("entry", key.registry, key.key)
        self._roots.add(node)
        return node

    def edge(self, origin: Hashable, node: Hashable) -> None:
        self._edges.setdefault(origin, set()).add(node)

    def names(self) -> Iterator[tuple[str, Any]]:
        """Each waiting callee, named by every entry it is reached through."""
        reached: dict[Hashable, set[tuple[str, str]]] = {}
        for root in self._roots:
            pair = (root[1], root[2])
            stack: list[Hashable] = [root]
            seen: set[Hashable] = {root}
            while stack:
                for node in self._edges.get(stack.pop(), ()):
                    if node not in seen:
                        seen.add(node)
                        stack.append(node)
                        reached.setdefault(node, set()).add(pair)
        for node, (name, value) in self.pending.items():
            keys = sorted(reached.get(node, ()))
            yield (entry_name(keys, name) if keys else name), value

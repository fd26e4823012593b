"""Callees reached only through a registry: a dict, list or tuple of functions or classes
that the code indexes (``MODELS[config.model](...)``) runs the one entry its key picks,
as it runs. An edit to an entry that neither of two runs picked is no cause of their
difference, so the callee's name keeps the registry and the key it was found under::

    entry:MODELS["vit"]:train.vit      (the key as JSON: a str or an int)

:mod:`ato.callees` writes the names; :mod:`ato.explain.entries` reads them. What such an
entry calls or reads, and nothing else reaches, is marked with the same entry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ENTRY",
    "Entry",
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
    """A parsed entry name: ``registry`` (``MODELS``), ``key`` (``'vit'``), ``callee``
    (the name the callee has when reached directly: ``train.vit``)."""

    registry: str
    key: str | int
    callee: str

    @property
    def shown(self) -> str:
        return f"{self.registry}[{self.key!r}]"


def is_markable(key: Any) -> bool:
    """A key a config or a source can name: a str or an int (a list's index), not a bool."""
    return type(key) in (str, int)


def entry_name(registry: str, key: str | int, callee: str) -> str:
    return f"{ENTRY}{registry}[{json.dumps(key)}]:{callee}"


def parse_entry(name: str) -> Entry | None:
    """The :class:`Entry` a callee name holds; None for any other name."""
    if not name.startswith(ENTRY):
        return None
    rest = name[len(ENTRY) :]
    registry, bracket, tail = rest.partition("[")
    if not bracket:
        return None
    try:
        key, end = json.JSONDecoder().raw_decode(tail)
    except ValueError:
        return None
    if not is_markable(key) or not tail.startswith("]:", end):
        return None
    return Entry(registry, key, tail[end + 2 :])


def plain_name(name: str) -> str:
    """``name`` without an entry's mark: the callee's own name."""
    entry = parse_entry(name)
    return entry.callee if entry is not None else name

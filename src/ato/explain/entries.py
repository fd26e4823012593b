"""Whether a registry entry that differs between two runs may have run in either.

``MODELS[config.model](...)`` runs the entry its key picks. An edit to ``MODELS["vit"]``
is a cause only if a run picked ``"vit"``: when neither run's config holds that key, no
source the runs recorded names it, and those sources read the registry only by a key
(``MODELS[...]``, ``MODELS.get(...)``), the edit is a possible cause, never the lead.
Anything else (the registry iterated, passed on, or not seen in any recorded source)
counts the entry as picked: what cannot be shown unpicked counts.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from typing import Any

from ato.explain.facts import flatten
from ato.registry_entries import Entry

__all__ = ["picked"]


def picked(entry: Entry, configs: Iterable[Mapping[str, Any]], sources: Iterable[str]) -> bool:
    """Whether a run may have picked ``entry``: a config holds its key (``model=vit``);
    a recorded source names the key (``MODELS["vit"]``, ``DEFAULT = "vit"``); or the
    registry is read otherwise than by a key, or is named in no recorded source."""
    if any(_holds(value, entry.key) for config in configs for _, value in flatten(config)):
        return True
    registry = entry.registry.rsplit(".", 1)[-1]
    named = False
    for text in sources:
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            return True  # unreadable: what it does with the registry is not known
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and _same(node.value, entry.key):
                return True
            for child in ast.iter_child_nodes(node):
                if not _names(child, registry):
                    continue
                named = True
                if not _by_key(node, child):
                    return True
    return not named


def _holds(value: Any, key: str | int) -> bool:
    if isinstance(value, (list, tuple)):
        return any(_same(item, key) for item in value)
    return _same(value, key)


def _same(value: Any, key: str | int) -> bool:
    # 1 == True, and "1" is no 1: the key's own type only
    return type(value) is type(key) and value == key


def _names(node: ast.AST, registry: str) -> bool:
    """``MODELS`` or ``models.MODELS`` read (not set: ``MODELS = {...}`` is its own code)."""
    if isinstance(node, ast.Name):
        return node.id == registry and isinstance(node.ctx, ast.Load)
    if isinstance(node, ast.Attribute):
        return node.attr == registry and isinstance(node.ctx, ast.Load)
    return False


def _by_key(parent: ast.AST, node: ast.AST) -> bool:
    """``node`` (the registry) indexed by a key: ``MODELS[k]`` or ``MODELS.get(k)``."""
    if isinstance(parent, ast.Subscript) and parent.value is node:
        return not isinstance(parent.slice, ast.Slice)
    return isinstance(parent, ast.Attribute) and parent.attr == "get"

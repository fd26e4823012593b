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

from ato.explain.facts import CodeFacts, Reader, RunFacts
from ato.registry_entries import Entry, parse_entry, plain_name

__all__ = ["Unpicked", "picked"]


def picked(entry: Entry, configs: Iterable[Mapping[str, Any]], sources: Iterable[str]) -> bool:
    """Whether a run may have picked one of ``entry``'s keys: a config holds it, as a
    value, in a list or as a key (``model=vit``, ``losses.vit=0.5``); a recorded source
    names it (``MODELS["vit"]``, ``DEFAULT = "vit"``); or the registry is read otherwise
    than by a key, or is named in no recorded source."""
    return _picked(entry, _config_words(configs), [_tree(text) for text in sources])


def _picked(entry: Entry, words: set[str], trees: list[ast.Module | None]) -> bool:
    if any(key in words for _, key in entry.keys):
        return True
    if any(tree is None for tree in trees):
        return True  # unreadable: what it does with the registry is not known
    readable = [tree for tree in trees if tree is not None]
    return any(_in_code(registry, key, readable) for registry, key in entry.keys)


def _tree(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError):
        return None


def _config_words(configs: Iterable[Mapping[str, Any]]) -> set[str]:
    words: set[str] = set()
    for config in configs:
        _words(config, words)
    return words


def _words(value: Any, into: set[str], depth: int = 0) -> None:
    """The strings a config holds: its keys and values, in lists too."""
    if depth > 100:  # deeper than any config: what is below is not looked at
        return
    if isinstance(value, str):
        into.add(value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _words(key, into, depth + 1)
            _words(item, into, depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _words(item, into, depth + 1)


def _in_code(registry: str, key: str, trees: list[ast.Module]) -> bool:
    """Whether code names ``key``, or reads ``registry`` otherwise than by one key, or
    does not name it at all."""
    name = registry.rsplit(".", 1)[-1]
    named = False
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and _same(node.value, key):
                return True
            for child in ast.iter_child_nodes(node):
                if not _names(child, name):
                    continue
                named = True
                if not _by_key(node, child):
                    return True
    return not named


def _same(value: Any, key: str) -> bool:
    return type(value) is str and value == key


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


class Unpicked:
    """Whether neither run picked a registry entry (see :mod:`ato.explain.entries`), from
    the runs' configs and the sources both recorded for one traced function (read and
    parsed once, when an entry first asks; without a reader, every entry counts as
    picked)."""

    def __init__(
        self, a: RunFacts, b: RunFacts, old: CodeFacts, new: CodeFacts, reader: Reader | None
    ) -> None:
        self.configs, self.code, self.reader = (a.config, b.config), (old, new), reader
        self.words: set[str] | None = None
        self.sources: list[tuple[str, ast.Module | None]] = []  # (callee name or "", tree)

    def __call__(self, entry: Entry) -> bool:
        if self.reader is None:
            return False
        if self.words is None:
            self.words = _config_words(self.configs)
            # by fingerprint, both runs sharing most: [] when no source is stored
            parsed: dict[str, list[ast.Module | None]] = {}
            named = {(name, fp) for facts in self.code for name, fp in facts.callees.items()}
            named |= {("", facts.own) for facts in self.code}
            for name, fingerprint in sorted(named):
                if fingerprint not in parsed:
                    module = str(fingerprint).startswith("module:")
                    text = None if module else self.reader.source(fingerprint)
                    parsed[fingerprint] = [] if text is None else [_tree(text)]
                self.sources += [(name, tree) for tree in parsed[fingerprint]]
        # Left out: the registries' own code (MODELS = {"vit": vit}) and the entries' own
        # (@register("vit")), which name the keys whether or not a run picks them.
        registries = tuple("." + registry.rsplit(".", 1)[-1] for registry, _ in entry.keys)
        trees = [
            tree
            for name, tree in self.sources
            if not plain_name(name).endswith(registries) and not _shares_a_key(name, entry)
        ]
        return not _picked(entry, self.words, trees)


def _shares_a_key(name: str, entry: Entry) -> bool:
    found = parse_entry(name)
    return found is not None and bool(set(found.keys) & set(entry.keys))

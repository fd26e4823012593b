"""argparse beside ato, for programs that opt in with ``Scope(use_external_parser=True)``.

While such a scope exists, ``ArgumentParser.parse_known_args`` (and so ``parse_args``)
is wrapped: the program still gets its Namespace; the parser's defaults become a view
named ``_argparse`` at the scope's ``external_priority``; options passed explicitly
become command-line values; the words argparse did not take are read as ato tokens.
Programs that do not opt in see argparse untouched, and ``Scope.initialize_registry()``
restores it.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ato.scope import ScopeRegistry

__all__ = ["install", "release", "remaining_words"]

_original = argparse.ArgumentParser.parse_known_args
_installed: list[ScopeRegistry] = []
_words: dict[int, list[str]] = {}
_depth = [0]


def install(registry: ScopeRegistry) -> None:
    if registry not in _installed:
        _installed.append(registry)
    argparse.ArgumentParser.parse_known_args = _parse_known_args  # type: ignore[method-assign,assignment]


def release(registry: ScopeRegistry) -> None:
    if registry in _installed:
        _installed.remove(registry)
    _words.pop(id(registry), None)
    if not _installed:
        argparse.ArgumentParser.parse_known_args = _original  # type: ignore[method-assign]


def remaining_words(registry: ScopeRegistry) -> list[str] | None:
    """The words argparse left for ato, or None when no parser ran."""
    return _words.get(id(registry))


def _parse_known_args(
    self: argparse.ArgumentParser, args: Any = None, namespace: Any = None
) -> tuple[argparse.Namespace, list[str]]:
    if _depth[0]:  # a subparser inside the top-level call
        return _original(self, args, namespace)
    _depth[0] += 1
    try:
        known, unknown = _original(self, args, namespace)
    finally:
        _depth[0] -= 1
    defaults = {
        action.dest: action.default
        for action in self._actions
        if action.dest != argparse.SUPPRESS and action.default != argparse.SUPPRESS
    }
    explicit = {
        key: value
        for key, value in vars(known).items()
        if key not in defaults or value != defaults[key]
    }
    from ato.parser import Override, format_value

    for registry in _installed:
        for scope in registry.values():
            if not scope.use_external_parser:
                continue
            scope.observe(
                "_argparse", config=defaults, priority=scope.external_priority, default=True
            )
            for key, value in explicit.items():
                try:
                    shown = format_value(value)
                except TypeError:
                    shown = repr(value)
                scope.assign(Override(key, value, f"--{key.replace('_', '-')}={shown}"))
        _words[id(registry)] = list(unknown)
    return known, []

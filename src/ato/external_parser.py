"""argparse beside ato, for programs that opt in with ``Scope(use_external_parser=True)``.

While such a scope exists, ``ArgumentParser.parse_known_args`` (and so ``parse_args``)
is wrapped, for one parser only: the first one that parses the program's own command
line (``sys.argv[1:]``). That parser still returns its Namespace; its defaults become a
view named ``_argparse`` at the scope's ``external_priority``; options passed explicitly
become command-line values; the words argparse did not take are read as ato tokens, and
``--help`` prints ato's manual after argparse's help. Every other parser (a library's,
or one given its own list of arguments) behaves exactly as in plain argparse. Programs
that do not opt in see argparse untouched, and ``Scope.initialize_registry()`` restores
it.
"""

from __future__ import annotations

import argparse
import sys
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ato.scope import ScopeRegistry

__all__ = ["install", "release", "remaining_words"]

_original = argparse.ArgumentParser.parse_known_args
_installed: list[ScopeRegistry] = []
_words: dict[int, list[str]] = {}
_depth = [0]
# The program's parser, once one has parsed sys.argv; a weak reference so that a test's
# parser does not outlive it.
_claimed: list[weakref.ref[argparse.ArgumentParser]] = []


def install(registry: ScopeRegistry) -> None:
    if registry not in _installed:
        _installed.append(registry)
    argparse.ArgumentParser.parse_known_args = _parse_known_args  # type: ignore[method-assign,assignment]


def release(registry: ScopeRegistry) -> None:
    if registry in _installed:
        _installed.remove(registry)
    _words.pop(id(registry), None)
    if not _installed:
        _claimed.clear()
        argparse.ArgumentParser.parse_known_args = _original  # type: ignore[method-assign]


def _is_program_parser(parser: argparse.ArgumentParser, args: Any) -> bool:
    if _claimed:
        return _claimed[0]() is parser
    if args is not None and list(args) != sys.argv[1:]:
        return False
    _claimed.append(weakref.ref(parser))
    return True


def remaining_words(registry: ScopeRegistry) -> list[str] | None:
    """The words argparse left for ato, or None when no parser ran."""
    return _words.get(id(registry))


def _parse_known_args(
    self: argparse.ArgumentParser, args: Any = None, namespace: Any = None
) -> tuple[argparse.Namespace, list[str]]:
    if _depth[0] or not _is_program_parser(self, args):  # subparsers, other parsers
        return _original(self, args, namespace)
    defaults = {
        action.dest: action.default
        for action in self._actions
        if action.dest != argparse.SUPPRESS and action.default != argparse.SUPPRESS
    }
    _depth[0] += 1
    try:
        known, unknown = _original(self, args, namespace)
    except SystemExit as stop:
        words = sys.argv[1:] if args is None else list(args)
        if stop.code in (0, None) and ({"-h", "--help"} & set(words)):
            _print_manual(defaults)
        raise
    finally:
        _depth[0] -= 1
    explicit = {
        key: value
        for key, value in vars(known).items()
        if key not in defaults or value != defaults[key]
    }
    from ato.parser import Override, format_value

    for registry in _installed:
        _register_defaults(registry, defaults)
        for scope in registry.values():
            if not scope.use_external_parser:
                continue
            for key, value in explicit.items():
                try:
                    shown = format_value(value)
                except TypeError:
                    shown = repr(value)
                scope.assign(Override(key, value, f"--{key.replace('_', '-')}={shown}"))
        _words[id(registry)] = list(unknown)
    return known, []


def _register_defaults(registry: ScopeRegistry, defaults: dict[str, Any]) -> None:
    for scope in registry.values():
        if scope.use_external_parser:
            scope.observe(
                "_argparse", config=defaults, priority=scope.external_priority, default=True
            )


def _print_manual(defaults: dict[str, Any]) -> None:
    """After argparse's ``--help``: the ato side (views, keys, where values come from)."""
    from ato.errors import AtoError
    from ato.manual import render_manual

    scopes = []
    for registry in _installed:
        _register_defaults(registry, defaults)
        for scope in registry.values():
            try:
                scope.apply()
            except AtoError as error:  # help must still print; say why this part is short
                print(f"\n(ato could not assemble scope {scope.name!r}: {error})")
                continue
            scopes.append(scope)
    if scopes:
        print("\nato views and config (pass view names and key=value after the options):")
        print(render_manual(scopes))

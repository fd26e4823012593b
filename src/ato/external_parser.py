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

Where ``parse_args()`` goes: after the ``Scope`` exists and before the ``@scope`` function
is called. Both other places fail loudly instead of silently: a ``@scope`` function called
before argparse read the command line exits 2 saying where the call goes, and a
``parse_args()`` after the config was assembled raises :class:`ArgparsePlacementError`.
Once the scope has assembled, the Namespace argparse returned holds the config's final
values for argparse's own keys (``lr=0.5`` or a view changes ``args.lr`` too), so a
program that keeps reading ``args`` trains with what was recorded.

What one registry knows of argparse (the parser it claimed, the words left for ato, the
Namespaces it returned) is its :class:`ArgparseBridge`, kept as ``registry.argparse``.
The wrapper installed on ``ArgumentParser`` knows only which bridges it serves; the last
bridge released puts the original method back.
"""

from __future__ import annotations

import argparse
import sys
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ato.registry import ScopeRegistry

__all__ = ["ArgparseBridge", "help_text", "install"]

_ParseKnownArgs = Callable[..., tuple[argparse.Namespace, list[str]]]


def install(registry: ScopeRegistry) -> ArgparseBridge:
    """Give ``registry`` its bridge (once) and wrap ``parse_known_args`` (once)."""
    if registry.argparse is None:
        registry.argparse = ArgparseBridge(registry)
    return registry.argparse


class ArgparseBridge:
    """One registry's view of the program's argparse parser."""

    def __init__(self, registry: ScopeRegistry) -> None:
        self.registry = registry
        # The words argparse left for ato, once the program's parser ran.
        self.words: list[str] | None = None
        # The program's parser, once one parsed sys.argv; weak, so that a test's parser
        # does not outlive it.
        self._claimed: weakref.ref[argparse.ArgumentParser] | None = None
        self._depth = 0  # > 0 while that parser runs (subparsers call in again)
        # Namespaces the program's parser returned, and argparse's keys in them: set to
        # the config's final values once the scope has assembled.
        self._namespaces: list[weakref.ref[argparse.Namespace]] = []
        self._keys: list[str] = []
        self._patch = _Patch.installed()
        self._patch.bridges.append(self)

    def release(self) -> None:
        """Stop reading argparse for this registry; the last one restores argparse."""
        self.words = None
        self._claimed = None
        self._patch.remove(self)

    def claims(self, parser: argparse.ArgumentParser, args: Any) -> bool:
        """Whether ``parser`` is the program's: the first one to parse ``sys.argv[1:]``."""
        if self._depth:
            return False
        if self._claimed is not None:
            return self._claimed() is parser
        if args is not None and list(args) != sys.argv[1:]:
            return False
        self._claimed = weakref.ref(parser)
        return True

    def take(self, defaults: dict[str, Any], explicit: dict[str, Any], unknown: list[str]) -> None:
        """What the program's parser read: defaults as a view, explicit options as
        command-line values, and the words it left for ato."""
        from ato.errors import ArgparsePlacementError
        from ato.parser import Override, format_value

        applied = [s.name for s in self.registry.values() if s.use_external_parser and s.is_applied]
        if applied:
            raise ArgparsePlacementError(
                f"parse_args() ran after scope {applied[0]!r} assembled its config, so "
                f"argparse's values would reach neither the config nor the record. Call "
                f"parser.parse_args() once, after creating the Scope and before calling the "
                f"@scope function (not inside it)."
            )
        self._keys = list(defaults)
        self.register_defaults(defaults)
        for scope in self.registry.values():
            if not scope.use_external_parser:
                continue
            for key, value in explicit.items():
                try:
                    shown = format_value(value)
                except TypeError:
                    shown = repr(value)
                scope.assign(Override(key, value, f"--{key.replace('_', '-')}={shown}"))
        self.words = list(unknown)

    def remember(self, namespace: argparse.Namespace) -> None:
        self._namespaces.append(weakref.ref(namespace))

    def sync(self, config: Any) -> None:
        """Give the Namespaces argparse returned the config's final values for
        argparse's keys."""
        for ref in self._namespaces:
            namespace = ref()
            if namespace is None:
                continue
            for key in self._keys:
                if key in config:
                    setattr(namespace, key, config[key])

    def register_defaults(self, defaults: dict[str, Any]) -> None:
        for scope in self.registry.values():
            if scope.use_external_parser:
                scope.observe(
                    "_argparse", config=defaults, priority=scope.external_priority, default=True
                )


class _Patch:
    """The wrapper installed on ``ArgumentParser.parse_known_args``, and whom it serves.

    It is kept on the wrapper itself (the one process-wide thing here), so that nothing
    outlives the bridges: releasing the last one puts back the method it replaced.
    """

    def __init__(self, original: _ParseKnownArgs) -> None:
        self.original = original
        self.bridges: list[ArgparseBridge] = []

    @classmethod
    def installed(cls) -> _Patch:
        current = argparse.ArgumentParser.parse_known_args
        patch = getattr(current, "ato_patch", None)
        if isinstance(patch, _Patch):
            return patch
        patch = cls(current)

        def parse_known_args(
            parser: argparse.ArgumentParser, args: Any = None, namespace: Any = None
        ) -> tuple[argparse.Namespace, list[str]]:
            return patch.parse_known_args(parser, args, namespace)

        parse_known_args.ato_patch = patch  # type: ignore[attr-defined]
        argparse.ArgumentParser.parse_known_args = parse_known_args  # type: ignore[method-assign,assignment]
        return patch

    def remove(self, bridge: ArgparseBridge) -> None:
        if bridge in self.bridges:
            self.bridges.remove(bridge)
        current = argparse.ArgumentParser.parse_known_args
        if not self.bridges and getattr(current, "ato_patch", None) is self:
            argparse.ArgumentParser.parse_known_args = self.original  # type: ignore[method-assign]

    def parse_known_args(
        self, parser: argparse.ArgumentParser, args: Any, namespace: Any
    ) -> tuple[argparse.Namespace, list[str]]:
        bridges = [bridge for bridge in self.bridges if bridge.claims(parser, args)]
        if not bridges:  # subparsers, other parsers
            return self.original(parser, args, namespace)
        defaults = {
            action.dest: action.default
            for action in parser._actions
            if action.dest != argparse.SUPPRESS and action.default != argparse.SUPPRESS
        }
        for bridge in bridges:
            bridge._depth += 1
        try:
            known, unknown = self.original(parser, args, namespace)
        except SystemExit as stop:
            words = sys.argv[1:] if args is None else list(args)
            if stop.code in (0, None) and ({"-h", "--help"} & set(words)):
                from ato.entry import show_after_argparse_help

                show_after_argparse_help(help_text(bridges, defaults))
            raise
        finally:
            for bridge in bridges:
                bridge._depth -= 1
        explicit = {
            key: value
            for key, value in vars(known).items()
            if key not in defaults or value != defaults[key]
        }
        for bridge in bridges:
            bridge.take(defaults, explicit, unknown)
            bridge.remember(known)
        return known, []


def help_text(bridges: Sequence[ArgparseBridge], defaults: dict[str, Any]) -> str:
    """What follows argparse's ``--help``: the ato side (views, keys, where values come
    from), or why a scope could not be shown; empty when there is nothing to show."""
    from ato.errors import AtoError
    from ato.manual import render_manual

    lines = []
    scopes = []
    for bridge in bridges:
        bridge.register_defaults(defaults)
        for scope in bridge.registry.values():
            try:
                scope.apply()
            except AtoError as error:  # help must still print; say why this part is short
                lines.append(f"\n(ato could not assemble scope {scope.name!r}: {error})")
                continue
            scopes.append(scope)
    if scopes:
        lines.append("\nato views and config (pass view names and key=value after the options):")
        lines.append(render_manual(scopes))
    return "\n".join(lines)

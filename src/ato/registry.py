"""The registry of scopes: scopes by name, and what was read from the command line for them.

``DEFAULT_REGISTRY`` is the one every ``Scope`` joins (``Scope.registry``); tests reset it
with ``reset()`` (or ``Scope.initialize_registry()``), which also gives argparse back its
own ``parse_known_args`` when a scope had opted in to :mod:`ato.external_parser`.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ato.external_parser import ArgparseBridge
    from ato.scope import Scope

__all__ = ["DEFAULT_REGISTRY", "ScopeRegistry"]


class ScopeRegistry(MutableMapping[str, "Scope"]):
    """Scopes by name, and what was read from the command line for them.

    ``parsed`` says whether the command line was read; ``commands`` holds the commands
    found there (``manual``, ``print``, ``--help``) until the entry point runs them;
    ``argparse`` is the bridge to the program's argparse parser, once a scope of this
    registry opted in with ``use_external_parser=True``.
    """

    def __init__(self) -> None:
        self.scopes: dict[str, Scope] = {}
        self.parsed = False
        self.commands: list[str] = []
        self.argparse: ArgparseBridge | None = None

    def reset(self) -> None:
        """Forget every scope and what was read from the command line."""
        self.scopes.clear()
        self.parsed = False
        self.commands.clear()
        if self.argparse is not None:
            self.argparse.release()
            self.argparse = None

    def __getitem__(self, name: str) -> Scope:
        return self.scopes[name]

    def __setitem__(self, name: str, scope: Scope) -> None:
        self.scopes[name] = scope

    def __delitem__(self, name: str) -> None:
        del self.scopes[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.scopes)

    def __len__(self) -> int:
        return len(self.scopes)

    def __repr__(self) -> str:
        return f"ScopeRegistry({list(self.scopes)})"


DEFAULT_REGISTRY = ScopeRegistry()

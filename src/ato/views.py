"""Views and the order they apply in.

A *view* is one named source of config values: a function registered with
``@scope.observe`` or a mapping (or a file path) given as ``config=...``. Which views apply,
and when, follows from their flags:

- default views always apply, the others when chosen (on the command line or with
  ``scope.assign``);
- non-lazy views apply before the command-line values, lazy ones after;
- within each of these groups, default views come first, then each by priority, ties in
  registration order, and every view after the views it ``chain_with``-s.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from ato.adict import ADict
from ato.cycles import check_cycle
from ato.errors import ScopeArgumentError, UnknownViewError, ViewCycleError, ViewOrderError
from ato.message_text import did_you_mean, shown
from ato.provenance import Source

__all__ = ["COMMANDS", "View", "order_views", "select_view", "unknown_view"]

# Words of the command line that are commands, never view names.
COMMANDS = ("manual", "print")


class View:
    """One named source of config values: a function or a mapping (or a file path)."""

    __slots__ = ("chain_with", "config", "default", "fn", "lazy", "name", "order", "priority")

    def __init__(
        self,
        name: str,
        order: int,
        fn: Callable[[ADict], Any] | None = None,
        config: Any = None,
        priority: int = 0,
        lazy: bool = False,
        default: bool = False,
        chain_with: str | Sequence[str] | None = None,
    ) -> None:
        self.name, self.order, self.fn, self.config = name, order, fn, config
        self.priority, self.lazy, self.default = priority, lazy, default
        self.chain_with = _chain_names(name, chain_with)
        if not isinstance(priority, (int, float)):
            raise ScopeArgumentError(
                f"View {name!r}: priority must be a number (lower applies first), got "
                f"{priority!r:.40}. Pass e.g. priority=1."
            )

    @property
    def where(self) -> str:
        """Where the view is defined: ``file:line`` of its function, or its file."""
        code = getattr(self.fn, "__code__", None)
        if code is not None:
            return f"{code.co_filename}:{code.co_firstlineno}"
        if isinstance(self.config, (str, os.PathLike)):
            return os.fspath(self.config)
        return "a mapping"

    @property
    def internal(self) -> bool:
        return self.name.startswith("_")

    def source(self, kind: str | None = None) -> Source:
        file = os.fspath(self.config) if isinstance(self.config, (str, os.PathLike)) else None
        return Source(
            kind or ("lazy view" if self.lazy else "view"), self.name, self.priority, file
        )

    def apply(self, config: ADict) -> None:
        if self.fn is not None:
            self.fn(config)
            return
        values = self.config
        if isinstance(values, (str, os.PathLike)):
            values = ADict.from_file(values)
        config.update(values, recurrent=True)

    def sort_key(self) -> tuple[int, int, int]:
        """Default views first, then chosen ones; each group by priority, ties in
        registration order."""
        return (0 if self.default else 1, self.priority, self.order)


def _chain_names(name: str, chain_with: str | Sequence[str] | None) -> list[str]:
    if chain_with is None:
        return []
    if isinstance(chain_with, str):
        return [chain_with]
    try:
        names = list(chain_with)
    except TypeError:
        names = None
    if names is None or not all(isinstance(n, str) for n in names):
        raise ScopeArgumentError(
            f"View {name!r}: chain_with names the views to apply first, as a name or a list "
            f"of names; got {chain_with!r:.60}. Pass e.g. chain_with=['base_setup']."
        )
    return names


def unknown_view(
    name: str, scope_name: str, views: Collection[str], chained_from: View | None = None
) -> UnknownViewError:
    """The error for a view name that scope ``scope_name`` does not have (named on the
    command line, or in ``chained_from``'s ``chain_with``)."""
    hint = did_you_mean(name, [v for v in views if not v.startswith("_")])
    if chained_from is not None:
        return UnknownViewError(
            f"View {chained_from.name!r} ({chained_from.where}) chains with {name!r}, which "
            f"scope {scope_name!r} does not have.{hint} Register a view named {name!r}, or "
            f"fix its chain_with."
        )
    setting = ""
    if not hint:  # no view is named like it: maybe a key typed without its value
        names = sorted(v for v in views if not v.startswith("_"))
        listed = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
        hint = f" Its views: {listed or 'none'}."
        setting = f" To set a value, write {name}=VALUE." if len(name) <= 40 else ""
    word = shown(name) if len(name) <= 80 else shown(name[:40] + "...")
    return UnknownViewError(f"Unknown view {word} in scope {scope_name!r}.{hint}{setting}")


def _order_error(view: View, needed: View) -> ViewOrderError:
    return ViewOrderError(
        f"View {view.name!r} ({view.where}) chains with {needed.name!r}, a lazy view "
        f"({needed.where}); lazy views apply after every other view and the command line, "
        f"so {needed.name!r} would come after the view that needs it. Make {view.name!r} "
        f"lazy too (@scope.observe(lazy=True, chain_with=...)), or {needed.name!r} not lazy."
    )


def _cycle_error(cycle: str) -> ViewCycleError:
    return ViewCycleError(f"Views chain to each other: {cycle}. Remove one chain_with.")


def select_view(views: Mapping[str, View], selected: list[str], name: str, scope_name: str) -> None:
    """Add ``name`` to ``selected`` after the views it chains with (each once)."""

    def select(name: str, chain: tuple[str, ...]) -> None:
        check_cycle(chain, name, _cycle_error)
        view = views.get(name)
        if view is None:
            raise unknown_view(name, scope_name, views, views[chain[-1]] if chain else None)
        for dependency in view.chain_with:
            select(dependency, (*chain, name))
        if name not in selected:
            selected.append(name)

    select(name, ())


def order_views(
    views: Mapping[str, View], selected: Collection[str], lazy: bool, scope_name: str
) -> list[View]:
    """The default and the ``selected`` views of one kind (lazy or not), in the order they
    apply."""
    chosen = [
        view
        for view in views.values()
        if view.lazy == lazy and (view.default or view.name in selected)
    ]
    chosen.sort(key=View.sort_key)
    ordered: list[View] = []

    def place(view: View, chain: tuple[str, ...]) -> None:
        if view in ordered:
            return
        check_cycle(chain, view.name, _cycle_error)
        for dependency in view.chain_with:
            if dependency not in views:
                raise unknown_view(dependency, scope_name, views, view)
            needed = views[dependency]
            if needed.lazy and not view.lazy:
                raise _order_error(view, needed)
            if needed.lazy == lazy:
                place(needed, (*chain, view.name))
        ordered.append(view)

    for view in chosen:
        place(view, ())
    return ordered

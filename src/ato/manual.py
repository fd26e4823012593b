"""What ``python train.py manual`` and ``python train.py print`` show: per scope, the order
its views apply in, the documented keys, and where every final value came from; or the
final configs. Renderers return strings; :mod:`ato.entry` prints them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ato import xyz
from ato.parser import format_value

if TYPE_CHECKING:
    from ato.scope import Scope

__all__ = ["render_config", "render_manual"]

RULE = "-" * 50


def _order_line(scope: Scope) -> str:
    def names(lazy: bool) -> list[str]:
        views = [v for v in scope.views.values() if v.lazy == lazy and not v.internal]
        return [v.name for v in sorted(views, key=lambda v: v.sort_key())]

    return " → ".join([*names(False), "(CLI Inputs)", *names(True)])


def _show(value: object) -> str:
    try:
        return format_value(value)
    except TypeError:
        return repr(value)


def render_manual(scopes: Iterable[Scope]) -> str:
    """What ``manual`` (and ``--help``) shows for ``scopes``, which must be applied."""
    scopes = list(scopes)
    lines: list[str] = []
    for scope in scopes:
        lines += [RULE, f'[Scope "{scope.name}"]', "(The Applying Order of Views)"]
        lines += [_order_line(scope), "", "(User Manuals)"]
        manuals = scope.manuals.to_dict()
        if len(scopes) > 1:
            manuals = {f"{scope.name}.{key}": value for key, value in manuals.items()}
        if manuals:
            lines += xyz.dumps(manuals, strict=False).rstrip("\n").split("\n")
        lines += ["", "(Where Values Come From)"]
        for key, value, chain in scope.sources():
            shown = f"{scope.name}.{key}" if len(scopes) > 1 else key
            origins = " ← ".join(str(source) for source in chain) or "(unrecorded)"
            lines.append(f"{shown} = {_show(value)}  ← {origins}  [{type(value).__name__}]")
    lines.append(RULE)
    return "\n".join(lines)


def render_config(scopes: Iterable[Scope]) -> str:
    """What ``print`` shows: each scope's final config in XYZ."""
    scopes = list(scopes)
    if len(scopes) == 1:
        return xyz.dumps(scopes[0].config, strict=False).rstrip("\n")
    parts = []
    for scope in scopes:
        parts.append(f'[Scope "{scope.name}"]')
        parts.append(xyz.dumps(scope.config, strict=False).rstrip("\n"))
    return "\n".join(parts)

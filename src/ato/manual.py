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

__all__ = ["render_config", "render_help", "render_manual"]

RULE = "-" * 50


def _order_line(scope: Scope) -> list[str]:
    """The order views apply in; views that do not apply this time are in brackets."""
    applied = {v.name for v in (*scope._ordered(lazy=False), *scope._ordered(lazy=True))}

    def names(lazy: bool) -> list[str]:
        views = [v for v in scope.views.values() if v.lazy == lazy and not v.internal]
        ordered = sorted(views, key=lambda v: v.sort_key())
        return [v.name if v.name in applied else f"[{v.name}]" for v in ordered]

    # Layers a caller adds after the command line (a search's values): by their kind.
    layers = [f"({source.kind.title()})" for source in scope._layers]
    line = " → ".join([*names(False), "(CLI Inputs)", *layers, *names(True)])
    if "[" not in line:
        return [line]
    return [line, "([view]: not applied this time; name it on the command line to apply it)"]


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
        lines += [*_order_line(scope), "", "(User Manuals)"]
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
        lines += _stopped(scope)
    lines.append(RULE)
    return "\n".join(lines)


def _stopped(scope: Scope) -> list[str]:
    """For a scope whose last assembly raised: what raised, in one line."""
    failure = scope.assembly_error
    if failure is None:
        return []
    where, error = failure
    text = str(error).strip().splitlines()
    first = text[0] if text else ""
    return [
        f"(Assembly stopped) {where} raised {type(error).__name__}: {first}",
        "  The values above were set before it; run the program with these words to see "
        "the traceback.",
    ]


_GRAMMAR = """\
(Command Line)
  VIEW              apply a view by name (prefix it with its scope when there are several)
  key=value         set a value; dotted keys reach nested ones (model.depth=101)
  values            1e-3, 50, true, none, [1, 2], (0.9, 0.99), {name: adam}, %any text%
  key:=text         the text exactly as typed (tag:=007)
  manual | print    show where values come from | show the final config, then exit
  Values are read as data, never executed."""


def render_help(scopes: Iterable[Scope], program: str) -> str:
    """What ``--help`` shows: a usage line, the views one may name, the grammar in
    short, then the manual."""
    scopes = list(scopes)
    lines = [f"usage: {program} [VIEW ...] [KEY=VALUE ...] [manual | print]", ""]
    for scope in scopes:
        prefix = f"{scope.name}." if len(scopes) > 1 else ""
        named = sorted(
            (v for v in scope.views.values() if not v.internal and not v.default),
            key=lambda v: v.sort_key(),
        )
        if named:
            listed = ", ".join(prefix + view.name for view in named)
            lines.append(f"views of {scope.name!r} you can name: {listed}")
    lines += ["", _GRAMMAR, "", render_manual(scopes)]
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

"""Helpers renamed between two runs: ``scale`` became ``scale_by``, its code the same,
and the traced function that calls it changed only by that name. Such a function does
what it did; its fingerprint differs because a global name counts as it is written
(code may look a function up by its name, as ``getattr(ops, "scale")``).

Told from the sources the tracker stored: the first run's function, with each renamed
helper's name written as the second run's, must read as the second run's function, in
the canonical form of :mod:`ato.canonical_writer` (comments, layout, docstrings and
local names aside). A name in a string is not rewritten, so code that looks a helper up
by its name still differs.

Before that, :func:`paired_names` pairs a function's names in the two runs (the same
function renamed, run from another entry point, or reached through a registry entry).
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Mapping

from ato.computed_imports import is_may_run
from ato.explain.facts import Reader
from ato.registry_entries import plain_name

__all__ = ["helper_renames", "paired_names", "same_but_renamed"]


def helper_renames(
    pairs: list[tuple[str | None, str | None]], before: Mapping[str, str], after: Mapping[str, str]
) -> dict[str, str]:
    """``{old name: new name}`` of the callees paired by their equal code under other
    names in one module (``ops.scale`` and ``ops.scale_by``)."""
    found = {}
    for old, new in pairs:
        if old is None or new is None or old == new or is_may_run(old):
            continue
        old_module, _, old_name = old.rpartition(".")
        new_module, _, new_name = new.rpartition(".")
        if old_module == new_module and old_name != new_name and before[old] == after[new]:
            found[old] = new
    return found


def same_but_renamed(
    reader: Reader | None, before: str, after: str, renames: Mapping[str, str]
) -> bool:
    """Whether the function stored under fingerprint ``before``, with the helpers in
    ``renames`` called by their new names, is the one stored under ``after``."""
    if reader is None or not renames:
        return False
    old, new = _definition(reader.source(before)), _definition(reader.source(after))
    if old is None or new is None:
        return False
    _Rename(renames, old).visit(old)
    return _canonical(old) == _canonical(new)


def _definition(source: str | None) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    if source is None:
        return None
    try:
        tree = ast.parse(textwrap.dedent(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return node
    return None  # a lambda: its line may hold more than the function


def _canonical(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    from ato.canonical_writer import Writer

    writer = Writer()
    try:
        writer.function(node, top=True)
    except (RecursionError, MemoryError):
        return None
    return "".join(writer.out)


class _Rename(ast.NodeTransformer):
    """Writes ``scale`` as ``scale_by`` for a helper ``M.scale`` renamed ``M.scale_by``:
    an attribute of a name ending in ``M``'s last part (``ops.scale``, ``lib.ops.scale``);
    or, when the function never reaches it so, a bare name (defined in or imported into
    its module). Both at once would be two things: ``ops.round(x) + round(x)`` calls a
    builtin too, and ``round`` is not the helper."""

    def __init__(self, renames: Mapping[str, str], function: ast.AST) -> None:
        self.names: dict[str, str] = {}
        self.attributes: dict[tuple[str, str], str] = {}
        reached = {
            (_last(node.value), node.attr)
            for node in ast.walk(function)
            if isinstance(node, ast.Attribute)
        }
        for old, new in renames.items():
            module, _, old_name = old.rpartition(".")
            new_name = new.rpartition(".")[2]
            key = (module.rpartition(".")[2], old_name)
            self.attributes[key] = new_name
            if key not in reached:
                self.names[old_name] = new_name

    def visit_Name(self, node: ast.Name) -> ast.Name:
        node.id = self.names.get(node.id, node.id)
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.Attribute:
        self.generic_visit(node)
        last = _last(node.value)
        if last is not None:
            node.attr = self.attributes.get((last, node.attr), node.attr)
        return node


def _last(owner: ast.expr) -> str | None:
    """``ops`` of ``lib.ops`` or of ``ops``: what a helper is reached through."""
    if isinstance(owner, ast.Attribute):
        return owner.attr
    return owner.id if isinstance(owner, ast.Name) else None


def paired_names(
    old: Mapping[str, str], new: Mapping[str, str]
) -> list[tuple[str | None, str | None]]:
    """The names of one function in two runs (``{name: fingerprint}`` each): the same
    name; else the same fingerprint (renamed, or run from another entry point, which makes
    ``__main__.step`` ``train.step``); else the one name on each side that differs only
    so (``__main__.step`` run as ``train.step``). What is left was only in one run:
    ``(name, None)`` or ``(None, name)``. A module the code may import by a computed name
    (``?models.big``) pairs only with itself."""
    pairs: list[tuple[str | None, str | None]] = [(n, n) for n in old.keys() & new.keys()]
    gone, came = sorted(old.keys() - new.keys()), sorted(new.keys() - old.keys())
    pairs += [(name, None) for name in gone if is_may_run(name)]
    pairs += [(None, name) for name in came if is_may_run(name)]
    gone = [name for name in gone if not is_may_run(name)]
    came = [name for name in came if not is_may_run(name)]
    for name in list(gone):
        match = next((other for other in came if new[other] == old[name]), None)
        if match is not None:
            pairs.append((name, match))
            gone.remove(name)
            came.remove(match)
    for name in list(gone):  # reached directly in one run, as a registry entry in the other
        match = next((o for o in came if plain_name(o) == plain_name(name) != name), None)
        match = match or next((o for o in came if plain_name(o) == name != o), None)
        if match is not None:
            pairs.append((name, match))
            gone.remove(name)
            came.remove(match)
    for name in list(gone):
        mates = [other for other in came if _entry_point_moved(name, other)]
        if len(mates) == 1 and sum(_entry_point_moved(g, mates[0]) for g in gone) == 1:
            pairs.append((name, mates[0]))
            gone.remove(name)
            came.remove(mates[0])
    pairs += [(name, None) for name in gone] + [(None, name) for name in came]
    return sorted(pairs, key=lambda pair: pair[1] or pair[0] or "")


def _entry_point_moved(a: str, b: str) -> bool:
    """``__main__.step`` and ``train.step`` (or ``pkg.train.step``): one function, run
    as a script in one run and imported in the other. Names that only end alike
    (``models.small.build``, ``models.big.build``) are different functions."""
    return any(
        script.startswith("__main__.")
        and not module.startswith("__main__.")
        and module.endswith(script.removeprefix("__main__"))
        for script, module in ((a, b), (b, a))
    )

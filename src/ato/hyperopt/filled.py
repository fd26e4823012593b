"""Which of the values a trial function holds it fills as it runs: its logs, not settings.

A list the trial reads (``epochs[config.__num_halved__]``) is a setting and counts in a
search's identity; a list it appends to (``history.append(metric)``) is its record of what
happened, and would make the same search started again in the same process another one.
Told apart by the function's own code: a name it calls a filling method on
(``append``, ``update``...), assigns an item of, or rebinds (``nonlocal``) is filled.
"""

from __future__ import annotations

import ast
from typing import Any

__all__ = ["filled_names"]

#: Methods of lists, dicts and sets (and numpy arrays) that change their object.
FILLING = frozenset(
    {
        "add", "append", "appendleft", "clear", "discard", "extend", "fill", "insert",
        "pop", "popitem", "put", "remove", "setdefault", "update",
    }
)  # fmt: skip


def filled_names(func: Any) -> frozenset[str]:
    """The names ``func``'s own code fills: closure variables and parameters by name,
    attributes of its first parameter as ``self.<name>``. Empty when its source cannot
    be read: then everything it holds counts."""
    from ato.canonical import analyse

    try:
        node = analyse(func).node
    except Exception:  # no source, a stale file, a builtin: nothing is known filled
        return frozenset()
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        return frozenset()
    arguments = [*node.args.posonlyargs, *node.args.args]
    owner = arguments[0].arg if arguments else None
    found: set[str] = set()
    rebound: set[str] = set()

    def name_of(target: ast.expr) -> str | None:
        if isinstance(target, ast.Name):
            return target.id
        if (
            isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Name)
            and target.value.id == owner
        ):
            return f"self.{target.attr}"
        return None

    def stored(target: ast.expr) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for item in target.elts:
                stored(item)
        elif isinstance(target, ast.Starred):
            stored(target.value)
        elif isinstance(target, ast.Subscript):
            name = name_of(target.value)
            if name is not None:
                found.add(name)
        elif isinstance(target, ast.Attribute):
            name = name_of(target)
            if name is not None:
                found.add(name)
        elif isinstance(target, ast.Name):
            rebound.add(target.id)

    nonlocal_names: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute):
            if child.func.attr in FILLING:
                name = name_of(child.func.value)
                if name is not None:
                    found.add(name)
        elif isinstance(child, ast.Assign):
            for target in child.targets:
                stored(target)
        elif isinstance(child, (ast.AugAssign, ast.AnnAssign)):
            stored(child.target)
        elif isinstance(child, ast.Delete):
            for target in child.targets:
                stored(target)
        elif isinstance(child, ast.Nonlocal):
            nonlocal_names.update(child.names)
    # A plain name assigned is a local of its own, unless declared nonlocal.
    return frozenset(found | (rebound & nonlocal_names))

"""Which of the values a trial function holds are only its logs: filled, never read.

A list the trial reads (``epochs[config.__num_halved__]``) is a setting and counts in a
search's identity; a list it only appends to (``calls.append(1)``) is its record of what
happened, cannot change what a trial does, and would make the same search started again
in the same process another one. Told apart by the function's own code: a name whose
every use fills it (a filling method such as ``append`` called on it, an item assigned
or deleted, ``+=`` after ``nonlocal``) is a log. A name also read in any other way
(``kwargs["lr"] = ...`` beside ``Model(**kwargs)``) counts, as does everything when the
code cannot be read.
"""

from __future__ import annotations

import ast
import types
from typing import Any

__all__ = ["filled_names"]

#: Methods of lists, dicts, sets, deques and queues that add to or empty their object.
FILLING = frozenset(
    {
        "add", "append", "appendleft", "clear", "discard", "extend", "extendleft",
        "insert", "pop", "popitem", "popleft", "put", "remove", "setdefault", "update",
    }
)  # fmt: skip


#: Those that hand back what they hold: a filling only when the result is dropped.
RETURNING = frozenset({"pop", "popitem", "popleft", "setdefault"})


def filled_names(func: Any) -> frozenset[str]:
    """The names ``func``'s own code only fills: closure variables and parameters by
    name, attributes of its first parameter as ``self.<name>``."""
    node = _own_node(func)
    if node is None:
        return frozenset()
    arguments = [*node.args.posonlyargs, *node.args.args]
    owner = arguments[0].arg if arguments else None
    nonlocal_names = {
        name for child in ast.walk(node) if isinstance(child, ast.Nonlocal) for name in child.names
    }
    dropped = {id(c.value) for c in ast.walk(node) if isinstance(c, ast.Expr)}  # results unused
    filling: dict[str, int] = {}  # uses that fill, by name
    uses: dict[str, int] = {}  # every use, by name

    def name_of(target: ast.AST) -> str | None:
        if isinstance(target, ast.Name):
            return target.id
        if (
            isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Name)
            and target.value.id == owner
        ):
            return f"self.{target.attr}"
        return None

    def fills(name: str | None) -> None:
        if name is not None:
            filling[name] = filling.get(name, 0) + 1

    for child in ast.walk(node):
        name = name_of(child)
        if name is not None and not (isinstance(child, ast.Name) and child.id == owner):
            uses[name] = uses.get(name, 0) + 1
        if isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute):
            method = child.func.attr
            # What pop() or setdefault() hand back is a read, unless dropped.
            if method in FILLING and (method not in RETURNING or id(child) in dropped):
                fills(name_of(child.func.value))
        elif isinstance(child, (ast.Assign, ast.AugAssign, ast.Delete)):
            targets = (
                child.targets if isinstance(child, (ast.Assign, ast.Delete)) else [child.target]
            )
            for target in targets:
                if isinstance(target, ast.Subscript):
                    fills(name_of(target.value))
                elif (
                    isinstance(child, ast.AugAssign)
                    and isinstance(target, ast.Name)
                    and target.id in nonlocal_names
                ):
                    fills(target.id)  # a counter: count += 1
    return frozenset(name for name, count in filling.items() if uses.get(name) == count)


def _own_node(func: Any) -> ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | None:
    """The syntax tree of ``func``'s own code: of a decorator's wrapper, the wrapper (not
    the function it wraps, whose source ``inspect`` would give)."""
    if not isinstance(func, types.FunctionType):
        return None
    from ato.module_code import code_of_file

    code = func.__code__
    module = code_of_file(code.co_filename)
    if module is not None:
        found = module.functions.get((code.co_name, code.co_firstlineno))
        if found is not None:
            return found
    from ato.canonical import analyse

    try:
        node = analyse(func).node  # a lambda: from the line that holds it
    except Exception:  # no source, a stale file: nothing is known to be a log
        return None
    if getattr(func, "__wrapped__", None) is not None:
        return None  # analyse read the wrapped function, not this one
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        return node
    return None

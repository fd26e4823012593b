"""The program's classes a function's parameters are annotated with.

An object that comes in as an argument (``def step(model, batch)``) is named nowhere in
the function's module, so what its methods run cannot be found from the code around it.
An annotation (``model: Net``) names its class: :mod:`ato.callees` counts that class as
code the function calls. Read from the syntax tree, so ``from __future__ import
annotations`` and string forward references (``"Net"``) read the same; nothing is
evaluated, and names are looked up in module dictionaries only.
"""

from __future__ import annotations

import ast
import inspect
import types
from collections.abc import Iterator, Mapping
from typing import Any

from ato.canonical import unwrap
from ato.canonical_writer import all_args

__all__ = ["ANNOTATED", "annotated_classes", "is_annotated"]

# Marks a callee name: a class found only through a parameter's annotation. Adding or
# removing the annotation changes what is counted, not what runs: no cause by itself.
ANNOTATED = "annotated:"


def is_annotated(name: str) -> bool:
    return name.startswith(ANNOTATED)


_TEXT_LIMIT = 1_000  # a string annotation longer than this is no forward reference
_DEPTH = 3  # strings inside strings: "Optional['Net']"


def annotated_classes(tree: ast.AST, namespace: Mapping[str, Any]) -> list[tuple[str, type]]:
    """``(as written, class)`` for each of the program's classes that a parameter of a
    function in ``tree`` is annotated with (``log: Recorder``, ``net: Optional["nets.Net"]``,
    ``*layers: list[Layer]``), and the program's subclasses of each (the object passed
    may be one), looked up in ``namespace`` (the function's globals). A name not found
    there (imported under ``if TYPE_CHECKING:``), a library's class, or anything else
    than a class is left out."""
    from ato.fingerprint import is_user_class

    found: dict[int, tuple[str, type]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        for argument in all_args(node.args):
            if argument.annotation is None:
                continue
            for written, value in _named(argument.annotation, namespace, _DEPTH):
                try:  # type(): a metaclass may make any attribute read raise
                    if issubclass(type(value), type) and is_user_class(value):
                        found.setdefault(id(value), (written, value))
                        _add_subclasses(value, written, found)
                except Exception:
                    continue
    return list(found.values())


_SUBCLASSES = 200  # of one annotated class: past that, a framework's base, not a model's


def _add_subclasses(cls: type, written: str, found: dict[int, tuple[str, type]]) -> None:
    """The program's subclasses of ``cls`` (``model: Base`` may be given a ``Net(Base)``),
    transitively, each once."""
    from ato.fingerprint import is_user_class

    stack, seen = [cls], 0
    while stack and seen < _SUBCLASSES:
        current = stack.pop()
        subclasses: list[type] = type.__subclasses__(current)  # not a metaclass's own
        for sub in subclasses:
            seen += 1
            if id(sub) not in found and is_user_class(sub):
                found[id(sub)] = (f"{written} ({sub.__qualname__})", sub)
                stack.append(sub)


def _named(
    annotation: ast.expr, namespace: Mapping[str, Any], depth: int
) -> Iterator[tuple[str, Any]]:
    """What each name or dotted name in ``annotation`` stands for; not the values of a
    ``Literal[...]`` or the notes of an ``Annotated[...]``, which are no types."""
    stack: list[ast.AST] = [annotation]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Subscript) and _last_name(node.value) in ("Literal", "Annotated"):
            if _last_name(node.value) == "Annotated":  # Annotated[Net, "a note"]: Net
                items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
                stack.extend(items[:1])
            continue
        if isinstance(node, ast.Lambda):  # "lambda: Unused": no type
            continue
        stack.extend(ast.iter_child_nodes(node))
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if depth > 0 and len(node.value) <= _TEXT_LIMIT:
                try:
                    text = ast.parse(node.value.strip(), mode="eval").body
                except Exception:  # no expression (or one nested past the parser's limits)
                    continue
                yield from _named(text, namespace, depth - 1)
            continue
        chain: list[str] = []
        current: ast.expr = node  # type: ignore[assignment]
        while isinstance(current, ast.Attribute):
            chain.append(current.attr)
            current = current.value
        if isinstance(current, ast.Name) and isinstance(node, (ast.Name, ast.Attribute)):
            value = _looked_up(namespace.get(current.id), reversed(chain))
            if value is not None:
                yield ".".join([current.id, *reversed(chain)]), value


def _last_name(node: ast.expr) -> str | None:
    """``Literal`` for ``Literal``, ``typing.Literal`` or ``t.Literal``."""
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else None


def _looked_up(value: Any, chain: Iterator[str]) -> Any:
    """``value.a.b`` through modules' and classes' own dictionaries (``nets.Net``,
    ``Outer.Inner``), running no code; None when a step is not there."""
    for attribute in chain:
        kind = type(value)  # not isinstance(): it may read a __class__ that raises
        if issubclass(kind, types.ModuleType):
            value = vars(value).get(attribute)
        elif issubclass(kind, type):
            try:
                value = inspect.getattr_static(value, attribute, None)
            except Exception:  # a metaclass whose attribute reads raise
                return None
        else:
            return None
    return unwrap(value) if value is not None else None

"""Rebuilding nested data without recursion, for data too deep for Python's stack.

Configs are walked recursively where that is fastest. When a value is nested so deeply
that recursion fails (hundreds of levels), or holds itself (a list that contains itself),
the same work is redone by :func:`rebuild`, which keeps its own stack: deep data is then
handled whatever its depth, and a cycle raises
:class:`~ato.errors.ConfigStructureError` naming where it closes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

from ato.errors import ConfigStructureError

__all__ = ["Parts", "format_path", "rebuild"]

#: How to take a container apart: its child labels (keys or indexes), its children, and
#: how to build the new container from the new children (same order).
Parts = tuple[Sequence[Hashable], Sequence[Any], Callable[[list[Any]], Any]]


def format_path(labels: Sequence[Hashable]) -> str:
    """``('model', 'layers', 0)`` -> ``'model.layers[0]'`` (``'the top level'`` for ())."""
    text = ""
    for label in labels:
        if isinstance(label, int):
            text += f"[{label}]"
        else:
            text += f".{label}" if text else str(label)
    return text or "the top level"


def rebuild(
    root: Any,
    parts: Callable[[Any], Parts | None],
    leaf: Callable[[Any], Any],
    at: Sequence[Hashable] = (),
) -> Any:
    """Rebuild ``root`` bottom-up: ``parts(value)`` takes a container apart (None for a
    leaf, which becomes ``leaf(value)``). Raise ConfigStructureError if a container is
    found inside itself, naming its path (below ``at``, the path of ``root``)."""
    top = parts(root)
    if top is None:
        return leaf(root)
    # One frame per open container: (value, its label, parts, the new children so far).
    stack: list[tuple[Any, Hashable, Parts, list[Any]]] = [(root, None, top, [])]
    open_ids = {id(root)}
    while True:
        value, _, (labels, children, build), done = stack[-1]
        if len(done) == len(children):
            stack.pop()
            open_ids.discard(id(value))
            new = build(done)
            if not stack:
                return new
            stack[-1][3].append(new)
            continue
        child = children[len(done)]
        child_parts = parts(child)
        if child_parts is None:
            done.append(leaf(child))
            continue
        child_label = labels[len(done)]
        if id(child) in open_ids:
            path = [*at, *(frame[1] for frame in stack[1:]), child_label]
            raise ConfigStructureError(
                f"The {type(child).__name__} at {format_path(path)} contains itself (a "
                f"cycle), so it cannot be part of a config, which is a tree. Store a copy "
                f"or remove the back-reference."
            )
        open_ids.add(id(child))
        stack.append((child, child_label, child_parts, []))

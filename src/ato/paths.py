"""Dotted key paths: ``'model.backbone.depth'`` split, joined, read and written in one place.

A path is a string of parts joined by ``.``; as a tuple it is what :func:`split` returns
and what :mod:`ato.provenance` keys its history by. Reading follows mappings and, for a
part made of digits (``'layers.0'``), lists and tuples. Writing follows mappings only and
creates the mappings that are missing on the way, as the command line and
``compose_hierarchy(overrides=...)`` do.

Every failure is a :class:`~ato.errors.KeyPathError` (a ``KeyError``, ``AttributeError``,
``ValueError`` and ``IndexError``) that says which part failed and why, so a caller with
its own wording (the command line, the tracker) can re-raise from ``error.where`` and
``error.reason``::

    >>> config = {"model": {"layers": [64, 128]}}
    >>> get_value(config, "model.layers.1")
    128
    >>> set_value(config, "train.lr", 0.1, factory=dict)
    >>> config["train"]
    {'lr': 0.1}
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, MutableMapping

from ato.errors import KeyPathError
from ato.message_text import did_you_mean

TYPE_CHECKING = False  # importing typing costs import time; ato.adict imports this module
if TYPE_CHECKING:
    from typing import Any

__all__ = ["KeyPathError", "get_value", "join", "set_value", "split"]

#: What a path's parts are joined with.
SEPARATOR = "."


def split(path: str, *, allow_empty: bool = False) -> tuple[str, ...]:
    """``'a.b.c'`` -> ``('a', 'b', 'c')``; an empty part (``'a..b'``, ``''``) raises
    unless ``allow_empty``."""
    parts = tuple(path.split(SEPARATOR))
    if not allow_empty and not all(parts):
        depth = next(index for index, part in enumerate(parts) if not part)
        raise KeyPathError(
            f"Key path {path!r} has an empty part; write the keys joined by single dots, "
            f"e.g. 'train.lr'.",
            path,
            parts,
            depth,
            "empty part",
        )
    return parts


def join(parts: Iterable[object]) -> str:
    """``('a', 'b', 0)`` -> ``'a.b.0'`` (the inverse of :func:`split`)."""
    return SEPARATOR.join(str(part) for part in parts)


def _parts(path: str | Iterable[Any], allow_empty: bool) -> tuple[str, tuple[Any, ...]]:
    if isinstance(path, str):
        return path, split(path, allow_empty=allow_empty)
    parts = tuple(path)
    return join(parts), parts


def get_value(config: Any, path: str | Iterable[Any]) -> Any:
    """The value at ``path`` (a dotted string or a tuple of keys) inside ``config``.

    Each read goes through the mapping's own ``[]``, so an ADict records it as accessed.
    """
    text, parts = _parts(path, allow_empty=True)
    node = config
    for depth, part in enumerate(parts):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
            continue
        where = join(parts[:depth]) or "the config"
        if isinstance(node, (list, tuple)) and isinstance(part, (str, int)):
            index = _index(part)
            if index is not None:
                try:
                    node = node[index]
                    continue
                except IndexError:
                    raise KeyPathError(
                        f"Index {part} is out of range in {where} (a sequence of "
                        f"{len(node)} items), reading {text!r}.",
                        text,
                        parts,
                        depth,
                        "index out of range",
                    ) from None
        hint = did_you_mean(part, node) if isinstance(node, Mapping) else ""
        raise KeyPathError(
            f"{part!r} is not in {where}, reading {text!r}.{hint}", text, parts, depth, "missing"
        )
    return node


def _index(part: str | int) -> int | None:
    if isinstance(part, int):
        return part
    return int(part) if part.lstrip("-").isdigit() else None


def set_value(
    config: MutableMapping[Any, Any],
    path: str | Iterable[Any],
    value: Any,
    *,
    factory: Callable[[], MutableMapping[Any, Any]] | None = None,
) -> None:
    """Set ``value`` at ``path``, creating the missing mappings on the way.

    A missing mapping is made by ``factory`` (default: an empty config of ``config``'s
    class) and stored through ``config``'s own ``[]=`` so that an observer sees it; a part
    that holds something other than a mapping raises (``reason='not a mapping'``).
    """
    text, parts = _parts(path, allow_empty=False)
    if factory is None:
        factory = type(config)
    node = config
    for depth, part in enumerate(parts[:-1]):
        if part not in node:
            node[part] = factory()
        # Walking on is not reading the value: no access is recorded.
        child = dict.__getitem__(node, part) if isinstance(node, dict) else node[part]
        if not isinstance(child, MutableMapping):
            where = join(parts[: depth + 1])
            raise KeyPathError(
                f"Cannot set {text!r}: {where!r} holds {child!r:.40}, not a mapping. "
                f"Set {where!r} itself instead.",
                text,
                parts,
                depth,
                "not a mapping",
                child,
            )
        node = child
    node[parts[-1]] = value

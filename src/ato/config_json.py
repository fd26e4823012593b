"""A config as JSON, without loss: the plain JSON that ato 2.x stored, plus tags for
the values JSON cannot hold.

``encode(config)`` returns ``(plain, tags)``. ``plain`` is what every version stores in
the ``config`` column and what 2.x readers expect: tuples and sets as lists, non-finite
floats as ``'inf'``/``'nan'``, ints of thousands of digits as hex strings, numpy and torch
scalars as numbers, arrays as nested lists, any other object as its ``repr``. ``tags``
lists, for each such value, its key path and what it was:
``[["model", "betas"], {"t": "tuple"}]``. ``decode(plain, tags)`` gives the values back
(an object that JSON cannot hold comes back as an :class:`Opaque` stand-in whose type
has the original's name), so a config read back has the structural hash it had when it
was logged. Nothing stored is ever executed: tags only name types.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

from ato.message_text import LONG_INT_BITS

__all__ = ["Opaque", "decode", "encode"]

Path = list[Any]


class Opaque:
    """An object a config held that JSON cannot: its type's name and its ``repr``."""

    __slots__ = ("qualified_type", "text")

    def __init__(self, qualified_type: str, text: str) -> None:
        self.qualified_type, self.text = qualified_type, text

    def __repr__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Opaque):
            return NotImplemented
        return (self.qualified_type, self.text) == (other.qualified_type, other.text)

    def __hash__(self) -> int:
        return hash((self.qualified_type, self.text))


_OPAQUE_TYPES: dict[str, type[Opaque]] = {}


def _opaque_type(qualified: str) -> type[Opaque]:
    # The structural hash names a value's type by ``__name__``: the stand-in must share it.
    name = qualified.rsplit(".", 1)[-1] or "object"
    if qualified not in _OPAQUE_TYPES:
        _OPAQUE_TYPES[qualified] = type(name, (Opaque,), {"__slots__": ()})
    return _OPAQUE_TYPES[qualified]


def encode(value: Any) -> tuple[Any, list[list[Any]]]:
    """``(plain JSON, tags)`` for ``value`` (see the module docstring).

    A config nested deeper than Python's stack allows (hundreds of levels) raises
    :class:`~ato.errors.ConfigStructureError` naming where it goes deepest.
    """
    tags: list[list[Any]] = []
    try:
        return _encode(value, [], tags, set()), tags
    except RecursionError:
        pass  # raised outside the handler: the exception must not chain a deep traceback
    from ato.errors import ConfigStructureError

    depth, path = _deepest(value)
    shown = ".".join(map(str, path[:6])) + (" ..." if len(path) > 6 else "")
    raise ConfigStructureError(
        f"The config is nested {depth} levels deep (along {shown}), too deep to store or "
        f"compare: JSON and Python's stack stop at several hundred. Flatten that part "
        f"(a list, or fewer levels of sections)."
    )


def _deepest(value: Any) -> tuple[int, Path]:
    """The depth of ``value``'s deepest nesting and the key path to it; iterative, and
    each mapping or list entered once (a cycle is no depth)."""
    best: tuple[int, Path] = (0, [])
    stack: list[tuple[Any, Path]] = [(value, [])]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if isinstance(node, Mapping):
            children: Any = ((str(k), v) for k, v in node.items())
        elif isinstance(node, (list, tuple)):
            children = enumerate(node)
        else:
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        if len(path) > best[0]:
            best = (len(path), path)
        stack.extend((child, [*path, key]) for key, child in children)
    return best


def _tag(tags: list[list[Any]], path: Path, **tag: Any) -> None:
    tags.append([list(path), tag])


def _encode(value: Any, path: Path, tags: list[list[Any]], active: set[int]) -> Any:
    # In hex: Python writes no decimal past 4,300 digits, so neither could JSON.
    if type(value) is int and value.bit_length() > LONG_INT_BITS:
        _tag(tags, path, t="int")
        return hex(value)
    if value is None or type(value) in (bool, int, str):
        return value
    if type(value) is float:
        if math.isfinite(value):
            return float(value)
        _tag(tags, path, t="float")
        return repr(float(value))
    if id(value) in active:
        _tag(tags, path, t="cycle")
        return "<cycle>"
    if isinstance(value, Mapping):
        active.add(id(value))
        try:
            return _encode_mapping(value, path, tags, active)
        finally:
            active.discard(id(value))
    if isinstance(value, (list, tuple, set, frozenset)):
        if isinstance(value, tuple):
            _tag(tags, path, t="tuple")
        elif isinstance(value, (set, frozenset)):
            _tag(tags, path, t=type(value).__name__)
            value = sorted(value, key=_repr)
        active.add(id(value))
        try:
            return [_encode(item, [*path, i], tags, active) for i, item in enumerate(value)]
        finally:
            active.discard(id(value))
    shape = getattr(value, "shape", None)
    tolist = getattr(value, "tolist", None)
    if shape is not None and callable(tolist) and hasattr(value, "dtype"):
        kind = "scalar" if shape == () else "array"  # numpy and torch scalars, arrays
        _tag(tags, path, t=kind, type=_qualified(value), dtype=str(value.dtype))
        return _encode(tolist(), path, [], active)  # plain numbers: no inner tags
    if isinstance(value, (bool, int, float, str)):  # a subclass: an enum, a numpy float
        _tag(tags, path, t="object", type=_qualified(value))
        return _repr(value)
    if isinstance(value, os.PathLike):
        _tag(tags, path, t="object", type=_qualified(value))
        return os.fspath(value)
    _tag(tags, path, t="object", type=_qualified(value))
    return _repr(value)


def _encode_mapping(
    value: Mapping[Any, Any], path: Path, tags: list[list[Any]], active: set[int]
) -> dict[str, Any]:
    """A mapping's keys as text (as 2.x stored them: ``str(key)``), each key that was not
    a string tagged with what it was, after its value's tags (a key is restored last)."""
    plain: dict[str, Any] = {}
    given: dict[str, Any] = {}
    for key, item in value.items():
        if type(key) is str:
            text = key
        elif type(key) is int and key.bit_length() > LONG_INT_BITS:
            text = hex(key)  # str() writes no decimal this long
        else:
            text = _text(key)  # as 2.x stored it: str(key)
        if text in plain:
            from ato.errors import ConfigStructureError

            where = ".".join(map(str, path)) or "the top level"
            raise ConfigStructureError(
                f"The config's keys {given[text]!r} and {key!r} (at {where}) are one key "
                f"once stored as JSON ({text!r}). Rename one of them."
            )
        given[text] = key
        plain[text] = _encode(item, [*path, text], tags, active)
        stored = _key(key) if type(key) is not str else _TEXT
        if stored is not _TEXT:
            _tag(tags, [*path, text], t="key", key=stored)
    return plain


_TEXT = object()  # a key kept as its text: a string, or a kind JSON cannot name


def _key(key: Any) -> Any:
    """A key that is not a string, as JSON holds it (None, a bool, an int, a float; a
    tuple of such as ``{"tuple": [...]}``), or :data:`_TEXT` for one kept as its text
    (an enum member, any object: what 2.x stored, and what it reads back as)."""
    if isinstance(key, str):  # a subclass of str (an enum's member): its text
        return _TEXT
    if type(key) is int and key.bit_length() > LONG_INT_BITS:
        return {"int": hex(key)}
    if key is None or type(key) in (bool, int):
        return key
    if type(key) is float:
        return key if math.isfinite(key) else {"float": repr(key)}
    if type(key) is tuple:
        items = [_key(item) if type(item) is not str else item for item in key]
        return _TEXT if any(item is _TEXT for item in items) else {"tuple": items}
    return _TEXT


def _key_back(stored: Any) -> Any:
    if isinstance(stored, dict):
        if isinstance(stored.get("int"), str):
            return int(stored["int"], 16)
        if isinstance(stored.get("float"), str):
            return float(stored["float"])
        if isinstance(stored.get("tuple"), list):
            return tuple(_key_back(item) for item in stored["tuple"])
        raise TypeError("not a key ato wrote")
    if isinstance(stored, list):
        raise TypeError("a list is no key")
    return stored


def _text(key: Any) -> str:
    """``str(key)``; a stand-in naming the type when it raises."""
    try:
        return str(key)
    except Exception:
        return _repr(key)


def _repr(value: Any) -> str:
    """``repr(value)``; a stand-in naming the type when the repr raises (a closed
    connection's, say): logging a config must not fail the program."""
    try:
        return repr(value)
    except Exception as error:
        return f"<{_qualified(value)}: repr raised {type(error).__name__}>"


def _qualified(value: Any) -> str:
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


def decode(plain: Any, tags: list[list[Any]] | None) -> Any:
    """The values ``encode`` was given, from what it returned (see the module docstring).
    Tags that do not fit ``plain`` (a database edited by hand) are passed over."""
    if not tags or not isinstance(tags, list):
        return plain
    fitting = [
        entry
        for entry in tags
        if isinstance(entry, list)
        and len(entry) == 2
        and isinstance(entry[0], list)
        and isinstance(entry[1], dict)
    ]
    root = [plain]
    renames: dict[int, tuple[dict[Any, Any], dict[Any, Any]]] = {}
    # Deepest first: a tuple's items are restored before the tuple is made. Keys are
    # renamed last, each mapping once, so that every path still reads as stored.
    for path, tag in sorted(fitting, key=lambda entry: -len(entry[0])):
        parent: Any = root
        key: Any = 0
        try:
            for part in path:
                parent, key = parent[key], part
            if tag.get("t") == "key":
                if isinstance(parent, dict) and key in parent:
                    renames.setdefault(id(parent), (parent, {}))[1][key] = _key_back(tag.get("key"))
            else:
                parent[key] = _restore(parent[key], tag)
        except Exception:  # a tag that does not fit (a database edited by hand)
            continue
    for mapping, names in renames.values():
        items = [(names.get(k, k), v) for k, v in mapping.items()]
        if len({k for k, _ in items}) == len(items):  # never two keys made one
            mapping.clear()
            mapping.update(items)
    return root[0]


def _restore(value: Any, tag: Mapping[str, Any]) -> Any:
    kind = tag.get("t")
    if kind == "float":
        return float(value)
    if kind == "int":
        return int(value, 16)  # base 16: no digit limit
    if kind == "tuple":
        return tuple(value)
    if kind == "set":
        return set(value)
    if kind == "frozenset":
        return frozenset(value)
    if kind in ("array", "scalar"):
        return _array(value, tag)
    if kind == "object":
        return _opaque_type(str(tag.get("type", "object")))(str(tag.get("type")), str(value))
    return value


def _array(value: Any, tag: Mapping[str, Any]) -> Any:
    qualified = str(tag.get("type", ""))
    if qualified.startswith("numpy."):
        try:
            import numpy
        except ImportError:
            pass
        else:
            array = numpy.asarray(value, dtype=tag.get("dtype"))
            return array[()] if tag.get("t") == "scalar" else array
    return _opaque_type(qualified or "array")(qualified, repr(value))

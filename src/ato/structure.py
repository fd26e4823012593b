"""The structure of a config: its dotted keys and the type name of each value.

Two configs with the same keys and value types share a structural hash whatever their
values, so the hash tells an architecture change from a hyperparameter change.

The hash is the one ato 2.1.4 computed, so tracker databases it wrote stay searchable:
SHA-1 of the sorted ``[dotted.key:typename]`` pairs, concatenated. Mappings are walked
into (an empty one therefore adds no pair); every other value is a leaf named by
``type(value).__name__``. Sequences are leaves typed ``list``: 2.1.4's ADict turned
tuples into lists as they were set (2.2 kept them, and hashed ``tuple``), and JSON, YAML
and TOML cannot tell the two apart, so a config keeps its hash through a round trip to a
file.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from ato.errors import ConfigStructureError

__all__ = [
    "StructuralDiff",
    "structural_diff",
    "structural_hash",
    "structural_items",
    "type_name",
]


def type_name(value: object) -> str:
    """A leaf's type as the structure names it (a tuple is a ``list``)."""
    kind = type(value)
    if kind is tuple:
        return "list"
    return kind.__name__


def _is_mapping(value: object) -> bool:
    return isinstance(value, dict) or (
        not isinstance(value, (str, int, float, list, tuple)) and isinstance(value, Mapping)
    )


def _entries(mapping: Mapping[object, object]) -> Iterator[tuple[object, object]]:
    # A dict's own items: a frozen config's items() would hand out read-only copies, whose
    # type names (FrozenList) are not the stored ones.
    return iter(dict.items(mapping) if isinstance(mapping, dict) else mapping.items())


def _key_text(key: object) -> str:
    """``str(key)``; an int past Python's digit limit in hex (as stored, see config_json)."""
    try:
        return f"{key}"
    except ValueError:
        if isinstance(key, int):
            return hex(key)
        raise


def _walk(mapping: Mapping[object, object], prefix: str) -> Iterator[tuple[str, str]]:
    """Every leaf as ``(dotted_key, type_name)``, depth first, in insertion order; with a
    stack of its own, so that no depth is too deep."""
    stack = [(_entries(mapping), prefix, id(mapping))]
    open_ids = {id(mapping)}
    while stack:
        entries, at, _ = stack[-1]
        for key, value in entries:
            text = _key_text(key)
            dotted = f"{at}.{text}" if at else text
            if _is_mapping(value):
                if id(value) in open_ids:
                    raise ConfigStructureError(
                        f"The mapping at {dotted} contains itself (a cycle); a config is a "
                        f"tree. Remove the back-reference."
                    )
                open_ids.add(id(value))
                stack.append((_entries(value), dotted, id(value)))  # type: ignore[arg-type]
                break
            yield dotted, type_name(value)
        else:
            open_ids.discard(stack.pop()[2])


def structural_items(mapping: Mapping[object, object]) -> list[tuple[str, str]]:
    """Return ``(dotted_key, type_name)`` for every leaf, sorted by key.

    A dotted key reached twice (a key ``'a.b'`` beside ``a: {b: ...}``) counts once, the
    last one winning, as in 2.x.
    """
    return sorted(dict(_walk(mapping, "")).items())


def structural_hash(mapping: Mapping[object, object]) -> str:
    """Return the SHA-1 hex digest of the config's keys and value types (not values)."""
    import hashlib

    text = "".join(f"[{key}:{name}]" for key, name in structural_items(mapping))
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class StructuralDiff:
    """How the structure of one config differs from another's.

    ``added`` and ``removed`` hold dotted keys; ``changed`` holds
    ``(key, old_type, new_type)``. A diff is false when the structures are the same.
    """

    __slots__ = ("added", "changed", "removed")

    def __init__(
        self,
        added: list[str] | None = None,
        removed: list[str] | None = None,
        changed: list[tuple[str, str, str]] | None = None,
    ) -> None:
        self.added = added or []
        self.removed = removed or []
        self.changed = changed or []

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StructuralDiff):
            return NotImplemented
        return (self.added, self.removed, self.changed) == (
            other.added,
            other.removed,
            other.changed,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"StructuralDiff(added={self.added!r}, removed={self.removed!r}, "
            f"changed={self.changed!r})"
        )

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def __str__(self) -> str:
        if not self:
            return "same structure"
        lines = [f"+ {key}" for key in self.added]
        lines += [f"- {key}" for key in self.removed]
        lines += [f"~ {key}: {old} -> {new}" for key, old, new in self.changed]
        return "\n".join(lines)


def structural_diff(old: Mapping[object, object], new: Mapping[object, object]) -> StructuralDiff:
    """List the keys that ``new`` adds, removes, or holds with another type than ``old``."""
    before = dict(_walk(old, ""))
    after = dict(_walk(new, ""))
    return StructuralDiff(
        added=sorted(after.keys() - before.keys()),
        removed=sorted(before.keys() - after.keys()),
        changed=[
            (key, before[key], after[key])
            for key in sorted(before.keys() & after.keys())
            if before[key] != after[key]
        ],
    )

"""What a frozen (or immutable) config hands out for a list or a set: a read-only value.

A frozen config refuses writes to its keys, and a reader must not be able to change it
through a list it read either: ``config.layers.append(256)`` raises
:class:`~ato.errors.FrozenConfigError`, naming the key and how to write anyway, instead
of changing a copy nobody sees. The values still compare, serialise and hash as the
plain ones (a :class:`FrozenList` is a ``list`` and ``== [1, 2]``); copying one
(``list(value)``, ``value.copy()``, ``copy.deepcopy``) gives a writable value again.
"""

from __future__ import annotations

from typing import Any, NoReturn, SupportsIndex

from ato.errors import FrozenConfigError

__all__ = ["FrozenList", "FrozenSet", "detached", "freeze_value"]


def _refuse(where: str, action: str, immutable: bool) -> NoReturn:
    raise FrozenConfigError.refusing(f"{action} on {where}", immutable)


class FrozenList(list):  # type: ignore[type-arg]
    """A list read from a frozen config: reads as a list, refuses every change.

    ``where`` is its key path, for messages (``"model.layers"``, ``"layers[0]"``);
    ``immutable`` says whether the config was made immutable rather than frozen.
    """

    __slots__ = ("immutable", "where")

    def __init__(self, items: Any = (), where: str = "a list", immutable: bool = False) -> None:
        list.__init__(self, items)
        self.where, self.immutable = where, immutable

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        # The default would rebuild it through append(), which refuses.
        return (FrozenList, (list(self), self.where, self.immutable))

    def _refuse(self, action: str) -> NoReturn:
        _refuse(f"list {self.where!r}", action, self.immutable)

    def __setitem__(self, index: Any, value: Any) -> None:
        self._refuse(f"set item {index!r}")

    def __delitem__(self, index: Any) -> None:
        self._refuse(f"delete item {index!r}")

    def __iadd__(self, other: Any) -> NoReturn:  # type: ignore[misc]
        self._refuse("+=")

    def __imul__(self, other: Any) -> NoReturn:  # type: ignore[misc]
        self._refuse("*=")

    def append(self, value: Any) -> None:
        self._refuse("append()")

    def extend(self, values: Any) -> None:
        self._refuse("extend()")

    def insert(self, index: Any, value: Any) -> None:
        self._refuse("insert()")

    def remove(self, value: Any) -> None:
        self._refuse("remove()")

    def pop(self, index: Any = -1) -> Any:
        self._refuse("pop()")

    def clear(self) -> None:
        self._refuse("clear()")

    def sort(self, *args: Any, **kwargs: Any) -> None:
        self._refuse("sort()")

    def reverse(self) -> None:
        self._refuse("reverse()")


class FrozenSet(frozenset):  # type: ignore[type-arg]
    """A set read from a frozen config: a frozenset whose set methods raise (rather than
    an AttributeError that says nothing of freezing)."""

    where: str = "a set"
    immutable: bool = False

    def _refuse(self, action: str) -> NoReturn:
        _refuse(f"set {self.where!r}", action, self.immutable)

    def __reduce__(self) -> tuple[Any, ...]:
        return (frozenset, (frozenset(self),))

    def add(self, value: Any) -> None:
        self._refuse("add()")

    def discard(self, value: Any) -> None:
        self._refuse("discard()")

    def remove(self, value: Any) -> None:
        self._refuse("remove()")

    def pop(self) -> Any:
        self._refuse("pop()")

    def clear(self) -> None:
        self._refuse("clear()")

    def update(self, *others: Any) -> None:
        self._refuse("update()")

    def difference_update(self, *others: Any) -> None:
        self._refuse("difference_update()")

    def intersection_update(self, *others: Any) -> None:
        self._refuse("intersection_update()")

    def symmetric_difference_update(self, other: Any) -> None:
        self._refuse("symmetric_difference_update()")


def freeze_value(value: Any, where: str, immutable: bool) -> Any:
    """``value`` as a frozen config hands it out: lists and sets read-only all the way
    down (through tuples too), a bytearray as bytes, a plain dict as a copy; configs
    inside are the config's own, already frozen. Anything else is returned as is."""
    kind = type(value)
    if kind is list or kind is FrozenList:
        return FrozenList(
            [
                freeze_value(item, f"{where}[{index}]", immutable)
                for index, item in enumerate(value)
            ],
            where,
            immutable,
        )
    if kind is tuple:
        items = [
            freeze_value(item, f"{where}[{index}]", immutable) for index, item in enumerate(value)
        ]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else tuple(items)
    if kind is set:
        frozen = FrozenSet(value)
        frozen.where, frozen.immutable = where, immutable
        return frozen
    if kind is bytearray:
        return bytes(value)
    if kind is dict:
        return {
            key: freeze_value(item, f"{where}[{key!r}]", immutable) for key, item in value.items()
        }
    return value


def detached(value: Any) -> Any:
    """``value`` with fresh copies of the lists, sets, plain dicts and bytearrays in it
    (through tuples too), so that no reference held elsewhere reaches into it; anything
    else as it is."""
    kind = type(value)
    if kind is list:
        return [detached(item) for item in value]
    if kind is set:
        return set(value)
    if kind is bytearray:
        return bytearray(value)
    if kind is dict:
        return {key: detached(item) for key, item in value.items()}
    if kind is tuple:
        items = tuple(detached(item) for item in value)
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    return value

"""The one cycle check: files that include each other, views that chain to each other.

A walk through dependencies (``_base_`` files, a view's ``chain_with``) carries the chain
of items it came through; visiting an item already on that chain closes a cycle::

    >>> find_cycle(("a", "b", "c"), "b")
    ['b', 'c', 'b']
    >>> check_cycle(("a", "b"), "a", ValueError)
    Traceback (most recent call last):
    ...
    ValueError: a -> b -> a
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

__all__ = ["check_cycle", "find_cycle", "format_cycle"]

_Item = TypeVar("_Item")


def find_cycle(chain: Sequence[_Item], item: _Item) -> list[_Item] | None:
    """The cycle that visiting ``item`` after ``chain`` closes (``item`` first and last),
    or None when ``item`` is not on the chain."""
    if item not in chain:
        return None
    start = list(chain).index(item)
    return [*chain[start:], item]


def format_cycle(cycle: Sequence[object], limit: int = 12) -> str:
    """``['a', 'b', 'a']`` -> ``'a -> b -> a'``; a cycle longer than ``limit`` shows its
    first and last items around a count of the ones left out."""
    shown = [str(item) for item in cycle]
    if len(shown) > limit:
        head, tail = shown[: limit - 3], shown[-2:]
        shown = [*head, f"... ({len(cycle) - len(head) - len(tail)} more) ...", *tail]
    return " -> ".join(shown)


def check_cycle(chain: Sequence[_Item], item: _Item, error: Callable[[str], BaseException]) -> None:
    """Raise ``error(text)`` when visiting ``item`` after ``chain`` closes a cycle, where
    ``text`` is the cycle as :func:`format_cycle` writes it."""
    cycle = find_cycle(chain, item)
    if cycle is not None:
        raise error(format_cycle(cycle))

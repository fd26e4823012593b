"""Freezing a config and every config inside it: the flags (frozen, immutable,
replaying) set through a whole tree, and ``ADict.defrosted()``'s block."""

from __future__ import annotations

from collections.abc import Iterator

from ato.frozen_values import detached
from ato.nodes import ATOMIC, ConfigNode, NodeState

TYPE_CHECKING = False  # importing typing costs import time; annotations are strings here
if TYPE_CHECKING:
    from types import TracebackType
    from typing import Any, TypeVar

    _Self = TypeVar("_Self", bound="Freezing")

__all__ = ["Defrosted", "Freezing", "adicts_at", "adicts_within", "detach_containers", "set_flag"]


class Freezing:
    """The freezing methods of ADict (see there); ``self`` is an ADict."""

    __slots__ = ()
    _state: NodeState

    @property
    def frozen(self) -> bool:
        return self._state.frozen

    def freeze(self: _Self) -> _Self:
        """Refuse writes to this config and every config inside it until ``defrost()``.

        For a temporary change, prefer ``with config.defrosted(): ...``, which freezes
        again when the block ends, even when it raises.
        """
        set_flag(self, "frozen", True)
        detach_containers(self)
        return self

    def defrost(self: _Self) -> _Self:
        """Undo ``freeze()`` here and in every config inside (immutability stays).

        ``with config.defrosted():`` does the same for one block only.
        """
        set_flag(self, "frozen", False)
        return self

    def defrosted(self) -> Defrosted:
        """A context manager that defrosts this config for the block, then restores it.

        ::

            with config.defrosted():
                config.lr = 0.2
                config.model.depth = 101   # nested configs are writable too

        When the block ends, even by an exception, every config that was frozen before it
        is frozen again; if this config itself was frozen, so is everything added inside
        the block. A config that was not frozen is left as the block leaves it.
        """
        return Defrosted(self)

    def convert_to_immutable(self: _Self) -> _Self:
        """Make this config and every config inside it read-only for good."""
        set_flag(self, "immutable", True)
        return self


def adicts_within(value: Any) -> Iterator[ConfigNode]:
    """Every ADict in ``value``, itself included, through lists and tuples."""
    return (node for node, _ in adicts_at(value))


def adicts_at(value: Any) -> Iterator[tuple[ConfigNode, tuple[Any, ...]]]:
    """Every ADict in ``value`` with its key path in ``value``."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, ConfigNode):
            yield node, path
            stack.extend((v, (*path, k)) for k, v in dict.items(node) if type(v) not in ATOMIC)
        elif isinstance(node, (list, tuple)):
            stack.extend((v, (*path, i)) for i, v in enumerate(node) if type(v) not in ATOMIC)


def set_flag(value: Any, flag: str, on: bool, *, deep: bool = True) -> None:
    """Set ``flag`` (frozen, immutable, replaying) on every config in ``value`` (only
    ``value`` itself unless ``deep``), and drop the read copies the change may outdate."""
    for node, path in adicts_at(value) if deep else ((value, value._state.where),):
        state = node._state
        setattr(state, flag, on)
        if on and flag != "replaying":
            state.where = path
        state.refresh()
        state.reads.clear()


def detach_containers(config: Any) -> None:
    """Give every config inside ``config`` copies of the lists, sets, plain dicts and
    bytearrays it holds: a reference taken before ``freeze()`` (``layers =
    config.model.layers``) then no longer reaches into the frozen config."""
    for node, _ in adicts_at(config):
        for key, value in list(dict.items(node)):
            try:
                copied = detached(value)
            except RecursionError:  # lists nested past the stack: left as they are
                continue
            if copied is not value:
                dict.__setitem__(node, key, copied)  # not a write: the same values


class Defrosted:
    """What ``ADict.defrosted()`` returns (see there)."""

    __slots__ = ("config", "was_frozen")

    def __init__(self, config: Any) -> None:
        self.config = config
        self.was_frozen: list[Any] = []  # ADicts

    def __enter__(self) -> Any:
        self.was_frozen = [node for node in adicts_within(self.config) if node._state.frozen]
        self.config.defrost()
        return self.config

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for node in self.was_frozen:
            set_flag(node, "frozen", True, deep=False)
        if self.was_frozen and self.was_frozen[0] is self.config:
            self.config.freeze()  # what the block added is frozen with the rest

"""The ADict observer hook: one object that performs the writes to a config and sees them.

While a scope assembles its config it attaches a :class:`~ato.provenance.Recorder` to
it. From then on, every write, deletion and default creation in the config, or in any
ADict inside it, is handed to the observer instead of being done by the ADict, with the
node's key path; the observer decides whether and how it happens (a replayed view's writes
are dropped on purpose) and writes through :func:`write_through` and
:func:`delete_through`, which go past it. Frozen configs refuse writes before an observer
sees them.

::

    class Printer:
        def write(self, node, path, key, value):
            print("set", (*path, key), value)
            write_through(node, key, value)

        def delete(self, node, path, key):
            delete_through(node, key)

        def create(self, node, path, key, value):
            return write_through(node, key, value, convert=False)

    attach_observer(config, Printer())
    config.model.depth = 50          # set ('model', 'depth') 50
    detach_observer(config)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from ato.adict import _ATOMIC, ADict, _convert
from ato.freezing import set_flag

if TYPE_CHECKING:
    from collections.abc import Hashable

__all__ = [
    "ConfigObserver",
    "attach_observer",
    "delete_through",
    "detach_observer",
    "node_path",
    "set_replaying",
    "write_through",
]

KeyPath = tuple[Any, ...]


class ConfigObserver(Protocol):
    """What :func:`attach_observer` takes. ``node`` is the ADict written to and ``path``
    its key path inside the observed config (``()`` for the config itself)."""

    def write(self, node: ADict, path: KeyPath, key: Hashable, value: Any) -> None:
        """``node[key] = value`` was asked for; store it (or not) with
        :func:`write_through`, which converts ``value`` as ADict would."""

    def delete(self, node: ADict, path: KeyPath, key: Hashable) -> None:
        """``del node[key]`` was asked for (``key`` is present); remove it (or not) with
        :func:`delete_through`."""

    def create(self, node: ADict, path: KeyPath, key: Hashable, value: Any) -> Any:
        """A missing ``key`` was read from a config with a default, which made ``value``
        for it; store it (or not, e.g. ``write_through(..., convert=False)``) and return
        what the reader gets."""


def attach_observer(config: Any, observer: ConfigObserver | None, path: KeyPath = ()) -> None:
    """Let ``observer`` perform every write, deletion and default creation in ``config``
    and every ADict inside it (through lists and tuples too); ``None`` detaches.

    ``config`` may also be a list or tuple (the ADicts inside it are reached); ``path``
    is its own key path in the config the observer watches, and nested configs get
    theirs from it.
    """
    stack: list[tuple[Any, KeyPath]] = [(config, path)]
    while stack:
        value, where = stack.pop()
        if isinstance(value, ADict):
            state = value._state
            state.observer, state.path = observer, where
            state.reads.clear()  # the observer may change the dict behind ADict's back
            stack.extend(
                (child, (*where, key))
                for key, child in dict.items(value)
                if type(child) not in _ATOMIC
            )
        elif isinstance(value, (list, tuple)):
            stack.extend(
                (child, (*where, index))
                for index, child in enumerate(value)
                if type(child) not in _ATOMIC
            )


def detach_observer(config: ADict) -> None:
    """Remove the observer from ``config`` and every ADict inside it."""
    attach_observer(config, None)


def write_through(node: ADict, key: Any, value: Any, *, convert: bool = True) -> Any:
    """Store ``value`` under ``key`` past any observer and frozen flag; return what is
    stored: ``value`` converted as a write would (mappings become ADicts, an ADict is
    copied), or ``value`` itself with ``convert=False``."""
    if convert and type(value) not in _ATOMIC:
        value = _convert(value, type(node))
    node._state.reads.pop(key, None)
    dict.__setitem__(node, key, value)
    return value


def delete_through(node: ADict, key: Any) -> Any:
    """Remove ``key`` past any observer and frozen flag; return the value it held."""
    node._state.reads.pop(key, None)
    return dict.pop(node, key)


def node_path(node: ADict) -> KeyPath:
    """The key path of ``node`` inside the config its observer watches."""
    return node._state.path


def set_replaying(config: ADict, replaying: bool) -> None:
    """Mark ``config`` and every ADict inside it as replayed by a scope: their reads of
    lists and dicts then give copies, so that a view run again does not append twice."""
    set_flag(config, "replaying", replaying)

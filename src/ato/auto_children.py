"""Auto configs (``ADict.auto()``): a missing key reads as an empty config that joins
its parent only when something is written into it, so a misspelled read adds no key."""

from __future__ import annotations

from ato.errors import ConfigStructureError, FrozenConfigError
from ato.nodes import ConfigNode

TYPE_CHECKING = False  # importing typing costs import time; annotations are strings here
if TYPE_CHECKING:
    from typing import Any

__all__ = ["attach_pending", "pending_child"]


def pending_child(parent: Any, key: Any) -> Any:
    """The empty auto config a read of the missing ``key`` gives (the same one until it is
    written to); it joins ``parent`` on its first write (see :func:`attach_pending`)."""
    state = parent._state
    if state.pending_children is None:
        state.pending_children = {}
    child = state.pending_children.get(key)
    if child is None:
        child = type(parent).auto()
        child._state.pending = (parent, key)
        state.pending_children[key] = child
    return child


def attach_pending(node: ConfigNode) -> None:
    """Store ``node``, an auto child being written to for the first time, in its parent,
    and the parent in its own if it is pending too (top first, so an observer sees each
    level created before what is written into it)."""
    chain = []
    while node._state.pending is not None:
        chain.append(node)
        node = node._state.pending[0]
    for child in reversed(chain):
        state = child._state
        assert state.pending is not None
        parent, key = state.pending
        parent_state = parent._state
        if parent_state.frozen or parent_state.immutable:
            raise FrozenConfigError.refusing(
                f"add {key!r} (read while it was missing, now written to)",
                parent_state.immutable,
            )
        if dict.__contains__(parent, key):
            raise ConfigStructureError(
                f"{key!r} was set after it was read while missing, so the empty config that "
                f"read gave is not part of the config any more. Write through "
                f"config[{key!r}] (read it again) instead."
            )
        state.pending = None
        if parent_state.pending_children is not None:
            parent_state.pending_children.pop(key, None)
        parent_state.reads.pop(key, None)
        parent_state.accessed[key] = None
        if parent_state.observer is not None:
            parent_state.observer.create(parent, parent_state.path, key, child)
        else:
            dict.__setitem__(parent, key, child)

"""What a config node is made of, and how values become (or stop being) config data.

:class:`~ato.adict.ADict` adds its access rules (attribute reads, freezing, observers) on
top of :class:`ConfigNode`, the storage every config node shares: the dict itself, the
read copies in the instance ``__dict__`` and a :class:`NodeState`. This module makes such
nodes and moves values in and out of them:

- :func:`convert`: a value as a config holds it (mappings become nodes of a given class,
  a node is copied, OmegaConf containers are resolved, see :mod:`ato.omegaconf_input`);
- :func:`clone`: a deep copy, fast for what configs are made of;
- :func:`to_plain`: plain dicts, lists and tuples all the way down.

Each is recursive where that is fastest and, when the data is too deep for recursion or
holds itself, redone with :func:`ato.tree_walk.rebuild`'s own stack. Nothing here imports
``ato.adict``: a node class is passed in, so the dependency runs one way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ato.frozen_values import FrozenList, FrozenSet, freeze_value
from ato.omegaconf_input import from_omegaconf, is_omegaconf
from ato.tree_walk import Parts, format_path, rebuild

TYPE_CHECKING = False  # importing typing costs import time; annotations are strings here
if TYPE_CHECKING:
    from typing import Any, TypeVar

    from ato.adict import ADict
    from ato.observers import ConfigObserver

    _Node = TypeVar("_Node", bound="ConfigNode")

__all__ = [
    "ATOMIC",
    "AUTO",
    "MUTABLE_LEAVES",
    "NO_DEFAULT",
    "ConfigNode",
    "NodeState",
    "clone",
    "convert",
    "init_node",
    "new_node",
    "node_from_dict",
    "to_plain",
]


class _Marker:
    """A named singleton that pickles by reference."""

    __slots__ = ("name",)
    # Pickled as ato.adict.NAME, where these were defined before, so that pickles stay
    # readable by every 3.x version.
    __module__ = "ato.adict"

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"ato.adict.{self.name}"

    def __reduce__(self) -> str:
        return self.name


NO_DEFAULT = _Marker("NO_DEFAULT")
#: Default of ``ADict.auto()``: a missing key becomes a new auto ADict.
AUTO = _Marker("AUTO")

#: Values that never need converting or copying; checked by exact type for speed.
ATOMIC = frozenset({str, int, float, bool, type(None), bytes, complex})
#: Leaves a read of a frozen config hands out read-only (see ato.frozen_values), and a
#: replayed view's reads as copies: lists and sets (also inside tuples) could change it.
MUTABLE_LEAVES = frozenset({list, dict, set, bytearray, tuple, FrozenList})


_NO_READS: dict[Any, Any] = {}  # until init_node gives a state its node's dict


class NodeState:
    """Per-node bookkeeping other than the read copies (slot ``_state``).

    ``observer`` is set only while a Scope assembles a config (see
    :class:`ato.observers.ConfigObserver`); ``path`` is this node's key path inside the
    observed config.
    """

    __slots__ = (
        "accessed",
        "default",
        "frozen",
        "immutable",
        "observer",
        "path",
        "pending",
        "pending_children",
        "reads",
        "replaying",
        "shield",
        "where",
    )

    def __init__(self, default: object = NO_DEFAULT) -> None:
        self.accessed: dict[Any, None] = {}
        # The node's ``_reads`` (its instance ``__dict__``), reached from here by writes.
        self.reads: dict[Any, Any] = _NO_READS
        self.default = default
        self.frozen = False
        self.immutable = False
        # A Scope replaying a view outside its lazy blocks: writes are skipped, and reads
        # of lists and dicts hand out copies so in-place edits (append) are not repeated.
        self.replaying = False
        self.observer: ConfigObserver | None = None
        self.path: tuple[Any, ...] = ()
        # An auto() child read but not written yet: (parent, key) it joins on its first
        # write; and, on a parent, such children by key, so two reads give one child.
        self.pending: tuple[ADict, Any] | None = None
        self.pending_children: dict[Any, ADict] | None = None
        # What a read of a mutable leaf goes through, called with the value and its key
        # (None: the leaf itself); derived from the flags above by ``refresh`` so that a
        # read checks one attribute.
        self.shield: Callable[[Any, Any], Any] | None = None
        # This node's key path inside the config freeze() was called on, for messages.
        self.where: tuple[Any, ...] = ()

    def set_flags(self, frozen: bool, immutable: bool) -> None:
        """Set both write flags at once (the read copies are the caller's concern)."""
        self.frozen, self.immutable = frozen, immutable
        self.refresh()

    def refresh(self) -> None:
        if self.immutable:
            self.shield = _immutable_value
        elif self.frozen:
            self.shield = _frozen_value
        elif self.replaying:
            self.shield = _plain_copy
        else:
            self.shield = None


def _frozen_value(value: Any, where: tuple[Any, ...]) -> Any:  # what a frozen config hands out
    return freeze_value(value, format_path(where), False)


def _immutable_value(value: Any, where: tuple[Any, ...]) -> Any:  # ... an immutable one
    return freeze_value(value, format_path(where), True)


def _plain_copy(value: Any, where: tuple[Any, ...]) -> Any:  # ... a replayed view: a copy
    return clone(value, {})


class ConfigNode(dict):  # type: ignore[type-arg]
    """The storage of a config node: a dict, plus ``__dict__`` holding the copies of
    values already read (``_reads`` is the same dict, reached faster) and ``_state``."""

    __slots__ = ("__dict__", "_reads", "_state")
    _reads: dict[Any, Any]
    _state: NodeState


# Slot access bypassing the subclasses' own overrides; bound once for speed.
_set_state: Callable[[ConfigNode, NodeState], None] = ConfigNode._state.__set__  # type: ignore[attr-defined]
_set_reads: Callable[[ConfigNode, dict[Any, Any]], None] = ConfigNode._reads.__set__  # type: ignore[attr-defined]
_get_instance_dict: Callable[[ConfigNode], dict[Any, Any]] = ConfigNode.__dict__["__dict__"].__get__


def init_node(node: ConfigNode, state: NodeState) -> None:
    """Give a new node its slots: ``state``, and no read copies yet."""
    _set_state(node, state)
    state.reads = _get_instance_dict(node)
    state.reads.clear()  # __init__ run again on a used node
    _set_reads(node, state.reads)


def new_node(cls: type[_Node], state: NodeState) -> _Node:
    """An empty node of class ``cls`` with ``state``, made without calling ``__init__``."""
    node = dict.__new__(cls)
    init_node(node, state)
    return node


# -- converting -----------------------------------------------------------------------


def convert(value: Any, cls: type[ConfigNode], key: Any = NO_DEFAULT) -> Any:
    """Return ``value`` as a config holds it (see :func:`_convert_fast`), whatever its depth;
    a value that contains itself raises ConfigStructureError (naming ``key``, the key it is
    stored under, in its path)."""
    try:
        return _convert_fast(value, cls)
    except RecursionError:  # too deep for recursion, or a cycle: walk with our own stack
        at = () if key is NO_DEFAULT else (key,)
        return rebuild(value, _converting_parts(cls), _converted_leaf, at)


def node_from_dict(cls: type[_Node], data: Mapping[Any, Any]) -> _Node:
    """A new ``cls`` holding ``data`` converted (see :func:`convert`)."""
    try:
        return _node_from_dict_fast(cls, data)
    except RecursionError:
        new: _Node = rebuild(dict(data), _converting_parts(cls), _converted_leaf)
        return new


def _convert_fast(value: Any, cls: type[ConfigNode]) -> Any:
    """(Recursive; see :func:`convert`.) Return ``value`` as a config holds it: every
    mapping inside it (lists and tuples too) becomes a node of class ``cls``, and a node
    is copied.

    Copying a node on assignment keeps two keys from sharing one node: ``config.a =
    config.b`` followed by ``config.a.x = 1`` must not change ``config.b``. (ato 2.x stored
    the node itself; the README says so for 2.x code that writes through its own
    reference.)
    """
    kind = type(value)
    if kind in ATOMIC:
        return value
    if isinstance(value, ConfigNode):
        return clone(value, {})
    if kind is dict:
        return _node_from_dict_fast(cls, value)
    if kind is list or kind is FrozenList:
        return [_convert_fast(item, cls) for item in value]
    if kind is tuple:
        return tuple([_convert_fast(item, cls) for item in value])
    if kind is FrozenSet:  # read from a frozen config, now stored in a writable one
        return set(value)
    if is_omegaconf(value):
        return _convert_fast(from_omegaconf(value), cls)
    if isinstance(value, Mapping):
        return _node_from_dict_fast(cls, dict(value))
    return value


def _node_from_dict_fast(cls: type[_Node], data: Mapping[Any, Any]) -> _Node:
    new = new_node(cls, NodeState())
    dict.update(new, data)
    for key, value in data.items():
        if type(value) not in ATOMIC:
            dict.__setitem__(new, key, _convert_fast(value, cls))
    return new


# -- copying --------------------------------------------------------------------------


def clone(value: Any, memo: dict[int, Any]) -> Any:
    """Deep copy, fast for the containers configs are made of, whatever their depth; a
    node keeps its class and default, and forgets its reads and flags."""
    try:
        return _clone_fast(value, memo)
    except RecursionError:
        return rebuild(value, _cloning_parts, lambda leaf: _clone_fast(leaf, memo))


def _clone_fast(value: Any, memo: dict[int, Any]) -> Any:
    """(Recursive; see :func:`clone`.)"""
    kind = type(value)
    if kind in ATOMIC:
        return value
    if isinstance(value, ConfigNode):
        new = new_node(kind, NodeState(value._state.default))
        dict.update(
            new,
            {k: v if type(v) in ATOMIC else _clone_fast(v, memo) for k, v in dict.items(value)},
        )
        return new
    if kind is list or kind is FrozenList:
        return [v if type(v) in ATOMIC else _clone_fast(v, memo) for v in value]
    if kind is tuple:
        return tuple([v if type(v) in ATOMIC else _clone_fast(v, memo) for v in value])
    if kind is dict:
        return {k: v if type(v) in ATOMIC else _clone_fast(v, memo) for k, v in value.items()}
    import copy

    return copy.deepcopy(value, memo)


def to_plain(value: Any) -> Any:
    """Plain dicts, lists and tuples all the way down, whatever the depth."""
    try:
        return _to_plain_fast(value)
    except RecursionError:
        return rebuild(value, _plain_parts, lambda leaf: leaf)


def _to_plain_fast(value: Any) -> Any:
    kind = type(value)
    if kind in ATOMIC:
        return value
    if isinstance(value, Mapping):
        return {k: v if type(v) in ATOMIC else _to_plain_fast(v) for k, v in value.items()}
    if kind is list or kind is FrozenList:
        return [v if type(v) in ATOMIC else _to_plain_fast(v) for v in value]
    if kind is tuple:
        return tuple([v if type(v) in ATOMIC else _to_plain_fast(v) for v in value])
    return value


# -- the same, walked with a stack (see ato.tree_walk) ----------------------------------


def _node_from(kind: type[_Node], default: Any, keys: list[Any], values: list[Any]) -> _Node:
    node = new_node(kind, NodeState(default))
    dict.update(node, zip(keys, values, strict=True))
    return node


def _mapping_parts(value: Mapping[Any, Any], build: Callable[[list[Any], list[Any]], Any]) -> Parts:
    keys = list(value.keys())
    return keys, [value[key] for key in keys], lambda values: build(keys, values)


def _plain_dict(keys: list[Any], values: list[Any]) -> dict[Any, Any]:
    return dict(zip(keys, values, strict=True))


def _sequence_parts(value: Any) -> Parts | None:
    kind = type(value)
    if kind is list or kind is FrozenList:
        return range(len(value)), value, list
    if kind is tuple:
        return range(len(value)), value, tuple
    return None


def _node_parts(value: ConfigNode) -> Parts:
    kind, default = type(value), value._state.default
    keys = list(dict.keys(value))
    return (
        keys,
        [dict.__getitem__(value, key) for key in keys],
        lambda values: _node_from(kind, default, keys, values),
    )


def _converting_parts(cls: type[ConfigNode]) -> Callable[[Any], Parts | None]:
    def parts(value: Any) -> Parts | None:
        if type(value) in ATOMIC:
            return None
        if isinstance(value, ConfigNode):
            return _node_parts(value)
        if is_omegaconf(value):
            value = from_omegaconf(value)
        if isinstance(value, Mapping):
            return _mapping_parts(
                value, lambda keys, values: _node_from(cls, NO_DEFAULT, keys, values)
            )
        return _sequence_parts(value)

    return parts


def _converted_leaf(value: Any) -> Any:
    return set(value) if type(value) is FrozenSet else value


def _cloning_parts(value: Any) -> Parts | None:
    if type(value) in ATOMIC:
        return None
    if isinstance(value, ConfigNode):
        return _node_parts(value)
    if type(value) is dict:
        return _mapping_parts(value, _plain_dict)
    return _sequence_parts(value)


def _plain_parts(value: Any) -> Parts | None:
    if type(value) in ATOMIC:
        return None
    if isinstance(value, Mapping):
        return _mapping_parts(value, _plain_dict)
    return _sequence_parts(value)

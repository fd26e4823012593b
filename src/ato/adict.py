"""ADict: a dict whose keys read and write as attributes, with a structural hash.

``ADict`` is a real ``dict`` (``json.dumps``, ``**config`` and ``isinstance(x, dict)`` all
work) that also:

- converts nested mappings, and mappings inside lists and tuples, to ADicts (its storage,
  and how values are converted, cloned and made plain again: see :mod:`ato.nodes`);
- records which keys were read (``accessed_keys``, ``get_minimal_config``);
- can be frozen (writes raise :class:`~ato.errors.FrozenConfigError`, and so do writes
  to the lists and sets read from it, see :mod:`ato.frozen_values`; ``with
  config.defrosted():`` opens it for a block; see :mod:`ato.freezing`) or given a
  default for missing keys (``ADict.auto()`` builds nested configs on assignment, never
  on a mere read: see :mod:`ato.auto_children`);
- takes data of any depth, and refuses data that contains itself (see
  :mod:`ato.tree_walk`);
- hashes its structure (keys and value types, never values): see :mod:`ato.structure`;
- reads and writes JSON, YAML, TOML, XYZ and Python files: see :mod:`ato.files`;
- reads and writes dotted key paths through :mod:`ato.paths`;
- lets one observer (a scope recording provenance) perform every write: see
  :mod:`ato.observers`.

How a read stays fast: read tracking only needs the *first* read of a key, so the first
read (``__getattr__``, which Python calls only when normal attribute lookup fails, or
``__getitem__``) records the key and copies the value into the instance ``__dict__``.
Later attribute reads are then answered by Python's own lookup, with no Python code run,
and later item reads by one dict lookup. Every write, deletion and flag change drops the
copies it could make stale. Class attributes win over keys of the same name
(``config.items`` is the method even when a key ``'items'`` exists; use
``config['items']``), so such keys are never copied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping

from ato import paths
from ato.auto_children import attach_pending, pending_child
from ato.config_io import ConfigIO
from ato.errors import (
    ArgumentTypeError,
    ConfigKeyError,
    ConfigStructureError,
    FrozenConfigError,
    NoDefaultError,
)
from ato.freezing import Freezing
from ato.nodes import (
    ATOMIC,
    AUTO,
    MUTABLE_LEAVES,
    NO_DEFAULT,
    ConfigNode,
    NodeState,
    clone,
    convert,
    init_node,
    new_node,
    node_from_dict,
    to_plain,
)
from ato.omegaconf_input import from_omegaconf, is_omegaconf

TYPE_CHECKING = False  # importing typing costs import time; annotations are strings here
if TYPE_CHECKING:
    from typing import Any, TypeVar

    _Self = TypeVar("_Self", bound="ADict")

__all__ = ["AUTO", "ADict"]

# Their names from when they lived here, which ato.observers imports.
_ATOMIC, _convert = ATOMIC, convert


def _sources(mapping: Any, kwargs: dict[str, Any]) -> Iterator[Mapping[Any, Any]]:
    """The mappings ``update(mapping, **kwargs)`` reads, in order (pairs become ADicts)."""
    for source in (mapping, kwargs):
        if source is not None:
            yield source if isinstance(source, Mapping) else ADict(source)


class ADict(ConfigNode, ConfigIO, Freezing):
    """A config: a dict whose keys are also attributes.

    ``ADict(mapping_or_pairs, ..., default=..., **kwargs)`` merges its arguments left to
    right. ``default`` (a value, copied per key, or a zero-argument factory) is what a
    missing key reads as; it is then stored (with ``ADict.auto()``, only once something
    is written into it).
    """

    # The slots (read copies and state) are ConfigNode's.
    __slots__ = ()
    _adict_class_names: frozenset[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _index_class_names(cls)

    def __init__(self, *args: Any, default: Any = NO_DEFAULT, **kwargs: Any) -> None:
        init_node(self, NodeState(default))
        for arg in args:
            self._absorb(arg)
        if kwargs:
            self._absorb(kwargs)

    def _absorb(self, arg: Any) -> None:
        if is_omegaconf(arg):
            arg = from_omegaconf(arg)
        if not isinstance(arg, Mapping):
            if isinstance(arg, (str, bytes)) or not isinstance(arg, Iterable):
                raise ArgumentTypeError(
                    f"ADict() takes mappings or iterables of (key, value) pairs, "
                    f"not {type(arg).__name__}: {arg!r:.80}"
                )
            try:
                arg = dict(arg)
            except (TypeError, ValueError) as error:
                raise ArgumentTypeError(
                    f"ADict() could not read {type(arg).__name__} as (key, value) pairs: {error}"
                ) from None
        cls = type(self)
        for key, value in arg.items():
            dict.__setitem__(self, key, convert(value, cls, key))

    # -- reading ---------------------------------------------------------------------

    def __getitem__(self, key: Any) -> Any:
        try:
            return self._reads[key]
        except (KeyError, TypeError):
            return self._first_read(key, False)

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails: a key not read yet, or a missing one.
        if name in type(self)._adict_class_names:  # e.g. a slot not set yet
            raise AttributeError(name)
        return self._first_read(name, True)

    def _first_read(self, key: Any, attribute: bool) -> Any:
        """Read ``key`` the slow way: record it, and copy it for the fast way if allowed."""
        try:
            value = _dict_getitem(self, key)
        except KeyError:
            if attribute:
                if key[:2] == "__" == key[-2:]:
                    raise AttributeError(key) from None  # protocol probes: fast and quiet
            elif type(key) is tuple:
                return [self[k] for k in key]
            return self._read_missing(key, attribute)
        except TypeError:
            if not attribute and type(key) is list:  # unhashable: a list of keys
                return [self[k] for k in key]
            raise
        state = self._state
        state.accessed[key] = None
        if state.shield is not None and type(value) in MUTABLE_LEAVES:
            return state.shield(value, (*state.where, key))  # made each time: never kept
        if not isinstance(key, str) or key not in type(self)._adict_class_names:
            state.reads[key] = value
        return value

    def _read_missing(self, key: Any, attribute: bool) -> Any:
        state = self._state
        default = state.default
        if default is NO_DEFAULT:
            raise ConfigKeyError.missing(key, self)
        if isinstance(key, str) and attribute and key.startswith("_"):
            # Probes such as IPython's `_repr_html_` must not grow the config.
            raise ConfigKeyError.missing(key, self)
        if state.frozen or state.immutable:
            raise ConfigKeyError(
                f"{key!r} is not in this config, and the config is frozen, so its default "
                f"was not added. Call defrost() before reading new keys, or set {key!r} "
                f"first.",
                key,
            )
        if default is AUTO:
            return pending_child(self, key)
        if callable(default):
            value: Any = convert(default(), ADict)
        else:
            value = clone(convert(default, ADict), {})
        if state.observer is not None:
            return state.observer.create(self, state.path, key, value)
        dict.__setitem__(self, key, value)
        state.accessed[key] = None
        return value

    def get(self, key: Any, default: Any = None) -> Any:
        """Return ``self[key]`` if present; else ``default`` (or the ADict's own default).

        As in 2.x, the ADict's own default is returned but not stored.
        """
        if key in self:
            return self[key]
        state = self._state
        if state.default is NO_DEFAULT:
            return default
        if state.frozen:
            raise ConfigKeyError.missing(key, self)
        return self.get_default()

    def values(self) -> Any:
        shield = self._state.shield
        if shield is None:
            return dict.values(self)
        where = self._state.where
        return [
            shield(v, (*where, k)) if type(v) in MUTABLE_LEAVES else v for k, v in dict.items(self)
        ]

    def items(self) -> Any:
        shield = self._state.shield
        if shield is None:
            return dict.items(self)
        where = self._state.where
        return [
            (k, shield(v, (*where, k)) if type(v) in MUTABLE_LEAVES else v)
            for k, v in dict.items(self)
        ]

    def __dir__(self) -> Iterable[str]:
        names = set(dir(type(self)))
        names.update(k for k in self if isinstance(k, str) and k.isidentifier())
        return sorted(names)

    # -- writing ---------------------------------------------------------------------

    def __setitem__(self, key: Any, value: Any) -> None:
        state = self._state
        if state.frozen or state.immutable:
            raise FrozenConfigError.refusing(f"set {key!r}", state.immutable)
        if state.pending is not None:
            attach_pending(self)
        if type(key) is tuple or type(key) is list:
            self._set_many(key, value)
            return
        state.reads.pop(key, None)  # before the observer, whatever it then does
        if state.observer is not None:
            state.observer.write(self, state.path, key, value)
            return
        dict.__setitem__(
            self, key, value if type(value) in ATOMIC else convert(value, type(self), key)
        )

    # An attribute name is a key like any other (never a tuple, so never several keys).
    __setattr__ = __setitem__

    def _set_many(self, keys: tuple[Any, ...] | list[Any], values: Any) -> None:
        if isinstance(values, (list, tuple)):
            if len(values) != len(keys):
                raise ConfigStructureError(
                    f"Cannot assign {len(values)} values to {len(keys)} keys {list(keys)!r}: "
                    f"give one value per key, or a single non-sequence value for all of them."
                )
            for key, value in zip(keys, values, strict=True):
                self[key] = value
        else:
            for key in keys:
                self[key] = values

    def __delitem__(self, key: Any) -> None:
        state = self._state
        if state.frozen or state.immutable:
            raise FrozenConfigError.refusing(f"delete {key!r}", state.immutable)
        if type(key) is tuple and not dict.__contains__(self, key):
            for k in key:
                del self[k]
            return
        if not dict.__contains__(self, key):
            raise ConfigKeyError.missing(key, self)
        state.reads.pop(key, None)
        if state.observer is not None:
            state.observer.delete(self, state.path, key)
            return
        dict.__delitem__(self, key)
        state.accessed.pop(key, None)

    __delattr__ = __delitem__

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def pop(self, key: Any, default: Any = None) -> Any:
        """Remove ``key`` and return its value, or ``default`` when it is absent (as 2.x)."""
        if key not in self:
            return default
        value = dict.__getitem__(self, key)
        del self[key]
        return value

    def popitem(self) -> tuple[Any, Any]:
        self._check_writable("popitem()")
        if not self:
            raise ConfigKeyError("popitem(): this config is empty.")
        key = next(reversed(self.keys()))
        value = dict.__getitem__(self, key)
        del self[key]
        return key, value

    def clear(self) -> None:
        self._check_writable("clear()")
        state = self._state
        if state.observer is not None:
            for key in list(self):
                del self[key]
            return
        dict.clear(self)
        state.reads.clear()
        state.accessed.clear()

    def update(  # type: ignore[override]
        self: _Self, mapping: Any = None, /, recurrent: bool = False, **kwargs: Any
    ) -> _Self:
        """Set keys from ``mapping`` and ``kwargs``; return self.

        With ``recurrent=True`` (2.x's name for *recursive*), a mapping value merges into a
        mapping already stored under the same key instead of replacing it.
        """
        self._check_writable("update()")
        for source in _sources(mapping, kwargs):
            _merge_into(self, source, "update()", recurrent, only_absent=False)
        return self

    def update_if_absent(self: _Self, mapping: Any = None, /, **kwargs: Any) -> _Self:
        """Add only the keys that are missing, recursing into nested mappings; return self."""
        self._check_writable("update_if_absent()")
        for source in _sources(mapping, kwargs):
            _merge_into(self, source, "update_if_absent()", True, only_absent=True)
        return self

    def __ior__(self: _Self, other: Any) -> _Self:
        return self.update(other)

    def __or__(self, other: Any) -> ADict:
        if not isinstance(other, Mapping):
            return NotImplemented
        merged = self.copy()
        merged._state.set_flags(False, False)
        return merged.update(other)

    def __ror__(self, other: Any) -> ADict:
        if not isinstance(other, Mapping):
            return NotImplemented
        return ADict(other).update(self)

    def filter(self: _Self, fn: Callable[[Any, Any], bool]) -> _Self:
        """Keep only the items for which ``fn(key, value)`` is true (in place); return self."""
        self._check_writable("filter()")
        for key in [k for k, v in dict.items(self) if not fn(k, v)]:
            del self[key]
        return self

    def replace_keys(self, src_keys: list[Any], tgt_keys: list[Any]) -> None:
        """Rename ``src_keys[i]`` to ``tgt_keys[i]`` for every i."""
        if len(src_keys) != len(tgt_keys):
            raise ConfigStructureError(
                f"replace_keys() needs as many target keys as source keys, got "
                f"{len(src_keys)} source and {len(tgt_keys)} target keys."
            )
        for key in src_keys:
            if key not in self:
                raise ConfigKeyError.missing(key, self)
        self._check_writable("replace_keys()")
        values = [dict.__getitem__(self, key) for key in src_keys]
        for key in src_keys:
            del self[key]
        for key, value in zip(tgt_keys, values, strict=True):
            self[key] = value

    def _check_writable(self, action: str) -> None:
        state = self._state
        if state.frozen or state.immutable:
            raise FrozenConfigError.refusing(action, state.immutable)

    # -- defaults ----------------------------------------------------------------------

    @classmethod
    def auto(cls: type[_Self]) -> _Self:
        """An ADict in which a missing key reads as a new, empty auto ADict.

        ``config.model.backbone.layers = [1]`` then just works. The new config joins its
        parent only when something is written into it, so a misspelled read
        (``config.use_batchnorm``) gives ``{}`` but adds no key. Attribute names starting
        with ``_`` never read this way (tools probe such names).
        """
        return cls(default=AUTO)

    def set_default(self, default: Any = None) -> None:
        self._state.default = default

    def remove_default(self) -> None:
        self._state.default = NO_DEFAULT

    def get_default(self) -> Any:
        default = self._state.default
        if default is NO_DEFAULT:
            raise NoDefaultError("This ADict has no default; set one with ADict(default=...).")
        if default is AUTO:
            return type(self).auto()
        if callable(default):
            return default()
        return clone(default, {})

    # -- access tracking ---------------------------------------------------------------

    @property
    def accessed_keys(self) -> set[Any]:
        """The keys read from this config (not from nested ones) so far."""
        return set(self._state.accessed)

    def get_minimal_config(self) -> ADict:
        """A new ADict with only the keys that were read, nested configs trimmed too."""
        accessed = self._state.accessed
        minimal = ADict()
        for key, value in dict.items(self):
            if key in accessed:
                if isinstance(value, ADict):
                    value = value.get_minimal_config()
                dict.__setitem__(minimal, key, value)
        return minimal

    # -- copies and conversions ----------------------------------------------------------

    def copy(self: _Self) -> _Self:
        """A shallow copy that keeps the default and the frozen flags."""
        state = self._state
        new_state = NodeState(state.default)
        new_state.set_flags(state.frozen, state.immutable)
        new = new_node(type(self), new_state)
        dict.update(new, self)
        return new

    __copy__ = copy

    def clone(self: _Self) -> _Self:
        """A deep copy, writable, that keeps defaults but forgets which keys were read."""
        return clone(self, {})  # type: ignore[no-any-return]

    def __deepcopy__(self: _Self, memo: dict[int, Any] | None = None) -> _Self:
        return clone(self, {} if memo is None else memo)  # type: ignore[no-any-return]

    def to_dict(self) -> dict[Any, Any]:
        """Plain dicts all the way down (lists stay lists, tuples stay tuples)."""
        return to_plain(self)  # type: ignore[no-any-return]

    def get_value_by_name(self, name: str) -> Any:
        """Read a dotted key path such as ``'model.backbone.depth'`` (``'layers.0'``
        indexes); see :func:`ato.paths.get_value`."""
        return paths.get_value(self, name)

    def raw(self, name: Any, default: Any = None) -> ADict:
        """``ADict(key=name, value=self.get(name, default))``."""
        return ADict(key=name, value=self.get(name, default))

    @classmethod
    def _from_plain(cls: type[_Self], data: Mapping[Any, Any]) -> _Self:
        """A config of this class holding ``data`` (plain data a reader returned)."""
        return node_from_dict(cls, data)

    # -- pickling ----------------------------------------------------------------------

    def __reduce__(self) -> tuple[Any, ...]:
        state = self._state
        flags = (state.frozen, state.immutable, state.default, list(state.accessed))
        return (_unpickle, (type(self), dict(self), flags))

    def __setstate__(self, state: Any) -> None:
        """Load a pickle written by ato 2.x (its state is a dict holding ``_data``)."""
        data = state.get("_data", {}) if isinstance(state, dict) else {}
        default = state.get("_default") if state.get("_is_default_defined") else NO_DEFAULT
        flags = (
            bool(state.get("_frozen", False)),
            not isinstance(data, dict),  # 2.x's convert_to_immutable
            default,
            state.get("_accessed_keys", ()),
        )
        init_node(self, _restored_state(flags))
        dict.update(self, {key: convert(value, ADict) for key, value in data.items()})


_dict_getitem = dict.__getitem__  # bypasses ADict.__getitem__; bound once for speed


def _index_class_names(cls: type[ADict]) -> None:
    # Set after the class body so the set of class names is complete.
    cls._adict_class_names = frozenset(name for klass in cls.__mro__ for name in vars(klass))


_index_class_names(ADict)


def _restored_state(flags: tuple[Any, ...]) -> NodeState:
    frozen, immutable, default, accessed = flags
    state = NodeState(default)
    state.accessed = dict.fromkeys(accessed)
    state.set_flags(frozen, immutable)
    return state


def _unpickle(cls: type[ADict], data: dict[Any, Any], flags: tuple[Any, ...]) -> ADict:
    new = new_node(cls, _restored_state(flags))
    dict.update(new, data)
    return new


# -- helpers --------------------------------------------------------------------------


def _merge_into(
    target: ADict, source: Mapping[Any, Any], action: str, recursive: bool, only_absent: bool
) -> None:
    """Write ``source`` into ``target``: a mapping landing on a config merges into it when
    ``recursive``; with ``only_absent`` only missing keys are written. Depth first, in
    order, with a stack of its own so that no depth is too deep."""
    stack = [(target, iter(source.items()))]
    while stack:
        node, items = stack[-1]
        for key, value in items:
            present = dict.__contains__(node, key)
            current = dict.__getitem__(node, key) if present else None
            if recursive and isinstance(current, ADict) and isinstance(value, Mapping):
                current._check_writable(action)
                stack.append((current, iter(value.items())))
                break
            if not (only_absent and present):
                node[key] = value
        else:
            stack.pop()

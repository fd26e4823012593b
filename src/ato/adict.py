"""ADict: a dict whose keys read and write as attributes, with a structural hash.

``ADict`` is a real ``dict`` (``json.dumps``, ``**config`` and ``isinstance(x, dict)`` all
work) that also:

- converts nested mappings, and mappings inside lists and tuples, to ADicts;
- records which keys were read (``accessed_keys``, ``get_minimal_config``);
- can be frozen (writes raise :class:`~ato.errors.FrozenConfigError`) or given a default
  for missing keys (``ADict.auto()`` builds nested configs on assignment);
- hashes its structure (keys and value types, never values): see :mod:`ato.structure`;
- reads and writes JSON, YAML, TOML, XYZ and Python files: see :mod:`ato.files`.

Attribute reads go through one small ``__getattribute__`` (methods win over keys of the
same name: ``config.items`` is the method even when a key ``'items'`` exists; use
``config['items']``). Per-instance state lives in one slot so that a read costs a single
slot lookup.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping

from ato.errors import ConfigKeyError, ConfigStructureError, FrozenConfigError, did_you_mean
from ato.structure import StructuralDiff, structural_diff, structural_hash, structural_items

TYPE_CHECKING = False  # importing typing costs import time; annotations are strings here
if TYPE_CHECKING:
    from typing import Any, TypeAlias, TypeVar

    _Self = TypeVar("_Self", bound="ADict")
    PathLike: TypeAlias = str | os.PathLike[str]

__all__ = ["AUTO", "ADict"]


class _Marker:
    """A named singleton that pickles by reference."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"ato.adict.{self.name}"

    def __reduce__(self) -> str:
        return self.name


NO_DEFAULT = _Marker("NO_DEFAULT")
#: Default of ``ADict.auto()``: a missing key becomes a new auto ADict.
AUTO = _Marker("AUTO")

# Values that never need converting or copying; checked by exact type for speed.
_ATOMIC = frozenset({str, int, float, bool, type(None), bytes, complex})
# Leaves that a reader of a frozen config gets a copy of, so the config cannot change.
_MUTABLE_LEAVES = frozenset({list, dict, set, bytearray})


class _State:
    """Per-instance bookkeeping, kept in one slot so reads pay a single lookup.

    ``observer`` is set only while a Scope assembles a config: it then performs (or, when
    replaying a view, deliberately skips) every write and records where it came from.
    ``path`` is this node's key path inside the observed config.
    """

    __slots__ = (
        "accessed",
        "default",
        "frozen",
        "immutable",
        "observer",
        "path",
        "replaying",
        "shield",
    )

    def __init__(self, default: object = NO_DEFAULT) -> None:
        self.accessed: dict[Any, None] = {}
        self.default = default
        self.frozen = False
        self.immutable = False
        # A Scope replaying a view outside its lazy blocks: writes are skipped, and reads
        # of lists and dicts hand out copies so in-place edits (append) are not repeated.
        self.replaying = False
        self.observer: Any = None
        self.path: tuple[Any, ...] = ()
        # What a read of a mutable leaf goes through (None: the leaf itself); derived from
        # the flags above by ``_refresh`` so that a read checks one attribute.
        self.shield: Callable[[Any], Any] | None = None

    def refresh(self) -> None:
        if self.immutable:
            self.shield = _immutable_copy
        elif self.frozen:
            self.shield = _frozen_copy
        elif self.replaying:
            self.shield = _plain_copy
        else:
            self.shield = None


def _is_omegaconf(value: object) -> bool:
    return type(value).__module__.startswith("omegaconf")


def _from_omegaconf(value: object) -> object:
    from omegaconf import OmegaConf  # only reached when omegaconf is already imported

    return OmegaConf.to_container(value, resolve=True)


def _convert(value: Any, cls: type[ADict] | None = None) -> Any:
    """Return ``value`` as a config holds it: every mapping inside it (lists and tuples
    too) becomes an ADict of class ``cls`` (default ``ADict``), and an ADict is copied.

    Copying an ADict on assignment (as 2.x did) keeps two keys from sharing one node:
    ``config.a = config.b`` followed by ``config.a.x = 1`` must not change ``config.b``.
    """
    kind = type(value)
    if kind in _ATOMIC:
        return value
    if isinstance(value, ADict):
        return _clone(value, {})
    if cls is None:
        cls = ADict
    if kind is dict:
        return _adict_from_dict(cls, value)
    if kind is list:
        return [_convert(item, cls) for item in value]
    if kind is tuple:
        return tuple([_convert(item, cls) for item in value])
    if _is_omegaconf(value):
        return _convert(_from_omegaconf(value), cls)
    if isinstance(value, Mapping):
        return _adict_from_dict(cls, dict(value))
    return value


def _adict_from_dict(cls: type[_Self], data: Mapping[Any, Any]) -> _Self:
    new = dict.__new__(cls)
    _set_state(new, _State())
    dict.update(new, data)
    for key, value in data.items():
        if type(value) not in _ATOMIC:
            dict.__setitem__(new, key, _convert(value, cls))
    return new


class ADict(dict):  # type: ignore[type-arg]
    """A config: a dict whose keys are also attributes.

    ``ADict(mapping_or_pairs, ..., default=..., **kwargs)`` merges its arguments left to
    right. ``default`` (a value, copied per key, or a zero-argument factory) is what a
    missing key reads as; it is then stored.
    """

    __slots__ = ("_adict_state",)
    _adict_state: _State

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _install_getattribute(cls)

    def __init__(self, *args: Any, default: Any = NO_DEFAULT, **kwargs: Any) -> None:
        _set_state(self, _State(default))
        for arg in args:
            self._absorb(arg)
        if kwargs:
            self._absorb(kwargs)

    def _absorb(self, arg: Any) -> None:
        if _is_omegaconf(arg):
            arg = _from_omegaconf(arg)
        if not isinstance(arg, Mapping):
            if isinstance(arg, (str, bytes)) or not isinstance(arg, Iterable):
                raise TypeError(
                    f"ADict() takes mappings or iterables of (key, value) pairs, "
                    f"not {type(arg).__name__}: {arg!r:.80}"
                )
            try:
                arg = dict(arg)
            except (TypeError, ValueError) as error:
                raise TypeError(
                    f"ADict() could not read {type(arg).__name__} as (key, value) pairs: {error}"
                ) from None
        cls = type(self)
        for key, value in arg.items():
            dict.__setitem__(self, key, _convert(value, cls))

    # -- reading ---------------------------------------------------------------------

    def __getitem__(self, key: Any) -> Any:
        try:
            value = _dict_getitem(self, key)
        except KeyError:
            if type(key) is tuple:
                return [self[k] for k in key]
            return self._read_missing(key, attribute=False)
        except TypeError:
            if type(key) is list:  # unhashable: a list of keys
                return [self[k] for k in key]
            raise
        state = _get_state(self)
        state.accessed[key] = None
        if state.shield is not None and type(value) in _MUTABLE_LEAVES:
            return state.shield(value)
        return value

    def _read_missing(self, key: Any, attribute: bool) -> Any:
        state = _get_state(self)
        default = state.default
        if default is NO_DEFAULT:
            raise ConfigKeyError(_missing_message(self, key), key)
        if isinstance(key, str) and attribute and key.startswith("_"):
            # Probes such as IPython's `_repr_html_` must not grow the config.
            raise ConfigKeyError(_missing_message(self, key), key)
        if state.frozen or state.immutable:
            raise ConfigKeyError(
                f"{key!r} is not in this config, and the config is frozen, so its default "
                f"was not added. Call defrost() before reading new keys, or set {key!r} "
                f"first.",
                key,
            )
        if default is AUTO:
            value: Any = type(self).auto()
        elif callable(default):
            value = _convert(default())
        else:
            value = _clone(_convert(default), {})
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
        state = _get_state(self)
        if state.default is NO_DEFAULT:
            return default
        if state.frozen:
            raise ConfigKeyError(_missing_message(self, key), key)
        return self.get_default()

    def values(self) -> Any:
        state = _get_state(self)
        if state.shield is None:
            return dict.values(self)
        shield = state.shield
        return [shield(v) if type(v) in _MUTABLE_LEAVES else v for v in dict.values(self)]

    def items(self) -> Any:
        state = _get_state(self)
        if state.shield is None:
            return dict.items(self)
        shield = state.shield
        return [(k, shield(v) if type(v) in _MUTABLE_LEAVES else v) for k, v in dict.items(self)]

    def __dir__(self) -> Iterable[str]:
        names = set(super().__dir__())
        names.update(k for k in self if isinstance(k, str) and k.isidentifier())
        return sorted(names)

    # -- writing ---------------------------------------------------------------------

    def __setitem__(self, key: Any, value: Any) -> None:
        state = _get_state(self)
        if state.frozen or state.immutable:
            raise _frozen_error(state, key)
        if type(key) is tuple or type(key) is list:
            self._set_many(key, value)
            return
        if state.observer is not None:
            state.observer.write(self, state.path, key, value)
            return
        dict.__setitem__(
            self, key, value if type(value) in _ATOMIC else _convert(value, type(self))
        )

    def __setattr__(self, name: str, value: Any) -> None:
        state = _get_state(self)
        if state.frozen or state.immutable:
            raise _frozen_error(state, name)
        if state.observer is not None:
            state.observer.write(self, state.path, name, value)
            return
        dict.__setitem__(
            self, name, value if type(value) in _ATOMIC else _convert(value, type(self))
        )

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
        state = _get_state(self)
        if state.frozen or state.immutable:
            raise _frozen_error(state, key, f"delete {key!r}")
        if type(key) is tuple and not dict.__contains__(self, key):
            for k in key:
                del self[k]
            return
        if not dict.__contains__(self, key):
            raise ConfigKeyError(_missing_message(self, key), key)
        if state.observer is not None:
            state.observer.delete(self, state.path, key)
            return
        try:
            dict.__delitem__(self, key)
        except KeyError:
            raise ConfigKeyError(_missing_message(self, key), key) from None
        state.accessed.pop(key, None)

    def __delattr__(self, name: str) -> None:
        del self[name]

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
        if _get_state(self).observer is not None:
            for key in list(self):
                del self[key]
            return
        dict.clear(self)
        _get_state(self).accessed.clear()

    def update(  # type: ignore[override]
        self: _Self, mapping: Any = None, /, recurrent: bool = False, **kwargs: Any
    ) -> _Self:
        """Set keys from ``mapping`` and ``kwargs``; return self.

        With ``recurrent=True`` (2.x's name for *recursive*), a mapping value merges into a
        mapping already stored under the same key instead of replacing it.
        """
        self._check_writable("update()")
        for source in (mapping, kwargs):
            if source is None:
                continue
            items = ADict(source) if not isinstance(source, Mapping) else source
            for key, value in items.items():
                current = dict.get(self, key)
                if recurrent and isinstance(current, ADict) and isinstance(value, Mapping):
                    current.update(value, recurrent=True)
                else:
                    self[key] = value
        return self

    def update_if_absent(self: _Self, mapping: Any = None, /, **kwargs: Any) -> _Self:
        """Add only the keys that are missing, recursing into nested mappings; return self."""
        self._check_writable("update_if_absent()")
        for source in (mapping, kwargs):
            if source is None:
                continue
            items = ADict(source) if not isinstance(source, Mapping) else source
            for key, value in items.items():
                if key not in self:
                    self[key] = value
                else:
                    current = dict.__getitem__(self, key)
                    if isinstance(current, ADict) and isinstance(value, Mapping):
                        current.update_if_absent(value)
        return self

    def __ior__(self: _Self, other: Any) -> _Self:
        return self.update(other)

    def __or__(self, other: Any) -> ADict:
        if not isinstance(other, Mapping):
            return NotImplemented
        merged = self.copy()
        state = _get_state(merged)
        state.frozen = state.immutable = False
        state.refresh()
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
                raise ConfigKeyError(_missing_message(self, key), key)
        self._check_writable("replace_keys()")
        values = [dict.__getitem__(self, key) for key in src_keys]
        for key in src_keys:
            del self[key]
        for key, value in zip(tgt_keys, values, strict=True):
            self[key] = value

    def _check_writable(self, action: str) -> None:
        state = _get_state(self)
        if state.frozen or state.immutable:
            raise _frozen_error(state, None, action)

    # -- defaults ----------------------------------------------------------------------

    @classmethod
    def auto(cls: type[_Self]) -> _Self:
        """An ADict in which reading a missing key creates a nested auto ADict.

        ``config.model.backbone.layers = [1]`` then just works. Attribute names starting
        with ``_`` are never created this way (tools probe such names).
        """
        return cls(default=AUTO)

    def set_default(self, default: Any = None) -> None:
        _get_state(self).default = default

    def remove_default(self) -> None:
        _get_state(self).default = NO_DEFAULT

    def get_default(self) -> Any:
        default = _get_state(self).default
        if default is NO_DEFAULT:
            raise ValueError("This ADict has no default; set one with ADict(default=...).")
        if default is AUTO:
            return type(self).auto()
        if callable(default):
            return default()
        return _clone(default, {})

    # -- freezing --------------------------------------------------------------------

    @property
    def frozen(self) -> bool:
        return _get_state(self).frozen

    def freeze(self: _Self) -> _Self:
        """Refuse writes to this config and every config inside it until ``defrost()``."""
        for node in _adicts_within(self):
            state = _get_state(node)
            state.frozen = True
            state.refresh()
        return self

    def defrost(self: _Self) -> _Self:
        """Undo ``freeze()`` here and in every config inside."""
        for node in _adicts_within(self):  # immutability stays: it is for good
            state = _get_state(node)
            state.frozen = False
            state.refresh()
        return self

    def convert_to_immutable(self: _Self) -> _Self:
        """Make this config and every config inside it read-only for good."""
        for node in _adicts_within(self):
            state = _get_state(node)
            state.immutable = True
            state.refresh()
        return self

    # -- access tracking ---------------------------------------------------------------

    @property
    def accessed_keys(self) -> set[Any]:
        """The keys read from this config (not from nested ones) so far."""
        return set(_get_state(self).accessed)

    def get_minimal_config(self) -> ADict:
        """A new ADict with only the keys that were read, nested configs trimmed too."""
        accessed = _get_state(self).accessed
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
        new = dict.__new__(type(self))
        state = _get_state(self)
        new_state = _State(state.default)
        new_state.frozen, new_state.immutable = state.frozen, state.immutable
        new_state.refresh()
        _set_state(new, new_state)
        dict.update(new, self)
        return new

    __copy__ = copy

    def clone(self: _Self) -> _Self:
        """A deep copy, writable, that keeps defaults but forgets which keys were read."""
        return _clone(self, {})  # type: ignore[no-any-return]

    def __deepcopy__(self: _Self, memo: dict[int, Any] | None = None) -> _Self:
        return _clone(self, {} if memo is None else memo)  # type: ignore[no-any-return]

    def to_dict(self) -> dict[Any, Any]:
        """Plain dicts all the way down (lists stay lists, tuples stay tuples)."""
        return _to_plain(self)  # type: ignore[no-any-return]

    def json(self, **options: Any) -> str:
        """This config as one line of JSON, as 2.x wrote it (``options`` go to
        ``json.dumps``); a value JSON cannot hold raises naming its key path."""
        from ato import files

        options.setdefault("indent", None)
        options.setdefault("ensure_ascii", True)
        return files.dumps(self, "json", **options).rstrip("\n")

    def to_xyz(self, format_dict: Mapping[str, str] | None = None) -> str:
        """This config in XYZ, ato's line-per-key text format (``format_dict``: custom
        key and index marks for display, see :func:`ato.xyz.dumps`)."""
        from ato import xyz

        return xyz.dumps(self, format_dict=format_dict)

    def get_value_by_name(self, name: str) -> Any:
        """Read a dotted key path such as ``'model.backbone.depth'`` (``'layers.0'`` indexes)."""
        node: Any = self
        walked: list[str] = []
        for part in name.split("."):
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            elif isinstance(node, (list, tuple)) and part.lstrip("-").isdigit():
                try:
                    node = node[int(part)]
                except IndexError:
                    raise ConfigKeyError(
                        f"Index {part} is out of range in {'.'.join(walked) or 'the config'} "
                        f"(a sequence of {len(node)} items), reading {name!r}.",
                        name,
                    ) from None
            else:
                where = ".".join(walked) or "the config"
                hint = did_you_mean(part, node) if isinstance(node, Mapping) else ""
                raise ConfigKeyError(f"{part!r} is not in {where}, reading {name!r}.{hint}", name)
            walked.append(part)
        return node

    def raw(self, name: Any, default: Any = None) -> ADict:
        """``ADict(key=name, value=self.get(name, default))``."""
        return ADict(key=name, value=self.get(name, default))

    # -- structure ---------------------------------------------------------------------

    def get_structural_hash(self) -> str:
        """SHA-1 of the dotted keys and value types (never the values); equal to 2.x's."""
        return structural_hash(self)

    def get_structural_repr(self) -> ADict:
        """``{dotted_key: type_name}`` for every leaf, sorted by key."""
        return ADict(structural_items(self))

    def structural_diff(self, other: Mapping[Any, Any]) -> StructuralDiff:
        """Keys ``other`` adds, removes, or holds with another type than this config."""
        return structural_diff(self, other)

    # -- files -------------------------------------------------------------------------

    @classmethod
    def from_file(cls, path: PathLike) -> Any:
        """Read a config file (.json .jsonl .yaml .yml .toml .xyz .py).

        A file holding a list (a JSON array, JSON Lines) gives a list of ADicts.
        """
        from ato import files

        return _wrap(cls, files.read(path), path)

    def dump(self, path: PathLike, **options: Any) -> None:
        """Write this config to ``path`` (format by extension), atomically."""
        from ato import files

        files.write(self, path, **options)

    def load(self, path: PathLike) -> None:
        """Replace this config's contents with the file's (nothing changes if reading fails)."""
        loaded = ADict.from_file(path)
        if not isinstance(loaded, Mapping):
            from ato.errors import ConfigFileError

            raise ConfigFileError(
                "load() needs a file holding one mapping, but it holds a list; "
                "use ADict.from_file() to read a list of configs.",
                path=os.fspath(path),
            )
        self._check_writable("load()")
        self.clear()
        for key, value in loaded.items():
            self[key] = value

    @classmethod
    def from_mm_config(cls, path: PathLike) -> ADict:
        """Read an OpenMMLab-style config: its ``_base_`` files first, then the file itself."""
        from ato import compose

        return compose.load_mm_config(path, cls)

    def load_mm_config(self, path: PathLike) -> None:
        """Update this config (top level) with an OpenMMLab-style config file."""
        self.update(type(self).from_mm_config(path))

    @classmethod
    def compose_hierarchy(
        cls,
        root: PathLike,
        config_filename: str = "config",
        select: Mapping[str, str | list[str] | tuple[str, ...]] | None = None,
        overrides: Mapping[str, Any] | None = None,
        on_missing: str = "error",
        required: Iterable[str] | None = None,
    ) -> ADict:
        """Compose a config Hydra-style: base file, selected group files, dotted overrides."""
        from ato import compose

        return compose.compose_hierarchy(
            root,
            config_filename=config_filename,
            select=select,
            overrides=overrides,
            on_missing=on_missing,
            required=required,
            cls=cls,
        )

    # -- pickling ----------------------------------------------------------------------

    def __reduce__(self) -> tuple[Any, ...]:
        state = _get_state(self)
        flags = (state.frozen, state.immutable, state.default, list(state.accessed))
        return (_unpickle, (type(self), dict(self), flags))

    def __setstate__(self, state: Any) -> None:
        """Load a pickle written by ato 2.x (its state is a dict holding ``_data``)."""
        data = state.get("_data", {}) if isinstance(state, dict) else {}
        default = state.get("_default") if state.get("_is_default_defined") else NO_DEFAULT
        new_state = _State(default)
        new_state.frozen = bool(state.get("_frozen", False))
        new_state.accessed = dict.fromkeys(state.get("_accessed_keys", ()))
        new_state.immutable = not isinstance(data, dict)  # 2.x's convert_to_immutable
        new_state.refresh()
        _set_state(self, new_state)
        dict.update(self, {key: _convert(value) for key, value in data.items()})


# Slot and dict access bypassing ADict's own overrides; bound once for speed.
_get_state: Callable[[ADict], _State] = ADict._adict_state.__get__  # type: ignore[attr-defined]
_set_state: Callable[[ADict, _State], None] = ADict._adict_state.__set__  # type: ignore[attr-defined]
_dict_getitem = dict.__getitem__
_object_getattribute = object.__getattribute__


def _make_getattribute(cls: type) -> Callable[[Any, str], Any]:
    """Build ``__getattribute__`` for ``cls``: class attributes win, then keys."""
    class_names = frozenset(name for klass in cls.__mro__ for name in vars(klass))

    def __getattribute__(
        self: Any,
        name: str,
        _class_names: frozenset[str] = class_names,
        _getitem: Callable[[Any, Any], Any] = _dict_getitem,
        _get_state: Callable[[Any], _State] = _get_state,
    ) -> Any:
        if name in _class_names:
            return _object_getattribute(self, name)
        try:
            value = _getitem(self, name)
        except KeyError:
            if name[:2] == "__" == name[-2:]:
                raise AttributeError(name) from None  # protocol probes: fast and quiet
            return self._read_missing(name, attribute=True)
        state = _get_state(self)
        state.accessed[name] = None
        if state.shield is not None and type(value) in _MUTABLE_LEAVES:
            return state.shield(value)
        return value

    return __getattribute__


def _install_getattribute(cls: type) -> None:
    # Set after the class body so the set of class names is complete.
    cls.__getattribute__ = _make_getattribute(cls)  # type: ignore[method-assign,assignment]


_install_getattribute(ADict)


def store(node: ADict, key: Any, value: Any) -> Any:
    """Convert and store ``value`` under ``key``, past any observer; return what is stored.

    For observers (see ``_State``), which decide whether and how a write happens.
    """
    if type(value) not in _ATOMIC:
        value = _convert(value, type(node))
    dict.__setitem__(node, key, value)
    return value


def observe(node: Any, observer: Any, path: tuple[Any, ...] = ()) -> None:
    """Attach ``observer`` (or detach, with None) to ``node`` and every ADict inside it."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(node, path)]
    while stack:
        value, where = stack.pop()
        if isinstance(value, ADict):
            state = _get_state(value)
            state.observer, state.path = observer, where
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


def node_path(node: ADict) -> tuple[Any, ...]:
    """The key path of ``node`` inside the config an observer watches."""
    return _get_state(node).path


def _unpickle(cls: type[ADict], data: dict[Any, Any], flags: tuple[Any, ...]) -> ADict:
    frozen, immutable, default, accessed = flags
    new = dict.__new__(cls)
    state = _State(default)
    state.accessed = dict.fromkeys(accessed)
    state.frozen, state.immutable = frozen, immutable
    state.refresh()
    _set_state(new, state)
    dict.update(new, data)
    return new


def _missing_message(config: ADict, key: Any) -> str:
    hint = did_you_mean(key, config) if isinstance(key, str) else ""
    if not hint and len(config) <= 12:
        keys = ", ".join(repr(k) for k in config) or "none"
        hint = f" Its keys: {keys}."
    return f"{key!r} is not in this config.{hint}"


def _frozen_error(state: _State, key: Any, action: str | None = None) -> FrozenConfigError:
    what = action or f"set {key!r}"
    if state.immutable:
        return FrozenConfigError(
            f"Cannot {what}: this config was made immutable with convert_to_immutable(). "
            f"Work on a writable copy from config.clone()."
        )
    return FrozenConfigError(
        f"Cannot {what}: this config is frozen. Call config.defrost() first, "
        f"or work on config.clone()."
    )


def _adicts_within(value: Any) -> Iterator[ADict]:
    """Every ADict in ``value``, itself included, through lists and tuples."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, ADict):
            yield node
            stack.extend(v for v in dict.values(node) if type(v) not in _ATOMIC)
        elif isinstance(node, (list, tuple)):
            stack.extend(v for v in node if type(v) not in _ATOMIC)


def _sealed_copy(value: Any, flag: str) -> Any:
    """A copy of a list or dict whose configs carry ``flag`` ('frozen' or 'immutable')."""
    duplicate = _clone(value, {})
    for node in _adicts_within(duplicate):
        state = _get_state(node)
        setattr(state, flag, True)
        state.refresh()
    return duplicate


def _frozen_copy(value: Any) -> Any:
    """What a frozen config hands out for a list or dict: a copy, its configs frozen too."""
    return _sealed_copy(value, "frozen")


def _immutable_copy(value: Any) -> Any:
    """What an immutable config hands out: a copy whose configs are immutable too."""
    return _sealed_copy(value, "immutable")


def _plain_copy(value: Any) -> Any:
    """What a replayed view reads for a list or dict: a writable copy, outside the config."""
    return _clone(value, {})


def set_replaying(node: ADict, replaying: bool) -> None:
    """Mark ``node`` and every config inside it as being replayed (see ``_State``)."""
    for child in _adicts_within(node):
        state = _get_state(child)
        state.replaying = replaying
        state.refresh()


def _clone(value: Any, memo: dict[int, Any]) -> Any:
    """Deep copy, fast for the containers configs are made of."""
    kind = type(value)
    if kind in _ATOMIC:
        return value
    if isinstance(value, ADict):
        new = dict.__new__(kind)
        _set_state(new, _State(_get_state(value).default))
        dict.update(
            new,
            {k: v if type(v) in _ATOMIC else _clone(v, memo) for k, v in dict.items(value)},
        )
        return new
    if kind is list:
        return [v if type(v) in _ATOMIC else _clone(v, memo) for v in value]
    if kind is tuple:
        return tuple([v if type(v) in _ATOMIC else _clone(v, memo) for v in value])
    if kind is dict:
        return {k: v if type(v) in _ATOMIC else _clone(v, memo) for k, v in value.items()}
    import copy

    return copy.deepcopy(value, memo)


def _to_plain(value: Any) -> Any:
    kind = type(value)
    if kind in _ATOMIC:
        return value
    if isinstance(value, Mapping):
        return {k: v if type(v) in _ATOMIC else _to_plain(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _ATOMIC else _to_plain(v) for v in value]
    if kind is tuple:
        return tuple([v if type(v) in _ATOMIC else _to_plain(v) for v in value])
    return value


def _wrap(cls: type[ADict], data: Any, path: PathLike) -> Any:
    if isinstance(data, Mapping):
        return _adict_from_dict(cls, data)
    if isinstance(data, list) and all(isinstance(item, Mapping) for item in data):
        return [_adict_from_dict(cls, item) for item in data]
    from ato.errors import ConfigFileError

    raise ConfigFileError(
        f"A config file must hold a mapping (or a list of mappings), but this one holds "
        f"{type(data).__name__}: {data!r:.60}",
        path=os.fspath(path),
    )

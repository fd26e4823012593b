"""Canonical hashing of what a function returns: equal values, equal hashes, in every
process and on every supported Python and numpy.

No pickle (its bytes for a set follow the set's iteration order, which changes with
``PYTHONHASHSEED``). Every value is written as a type tag and a canonical payload into an
XXH3-128 stream:

- None, bools, ints, floats (bit-exact: ``0.0`` and ``-0.0`` differ, every NaN is the
  same NaN), complex, str, bytes;
- lists and tuples in order (a list is not a tuple); dicts by content, whatever the
  insertion order (an ``OrderedDict``'s order counts); sets and frozensets whatever their
  order;
- dataclasses and ADicts by their fields;
- numpy arrays by dtype, shape and bytes in C order (a contiguous array is hashed in
  place, without a copy); torch tensors by dtype, shape and values, wherever they live;
  pandas objects by index, columns and values;
- any other object through its ``__getstate__`` or ``__dict__``; with neither, an error
  that names the type and suggests an ``inspect_fn``.
"""

from __future__ import annotations

import math
import struct
import sys
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from ato.errors import UnhashableValueError

__all__ = ["UnhashableValueError", "value_hash"]

_CHUNK = 1 << 24  # bytes per slice when a non-contiguous array must be copied


def _hasher() -> Any:
    import xxhash

    return xxhash.xxh3_128()


def value_hash(value: Any) -> str:
    """The canonical hash of ``value`` as 32 hex digits."""
    digest = _hasher()
    _feed(digest, value, "value")
    return str(digest.hexdigest())


def _sub_hash(value: Any, path: str) -> bytes:
    digest = _hasher()
    _feed(digest, value, path)
    return bytes(digest.digest())


def _int_bytes(number: int) -> bytes:
    length = (number.bit_length() + 8) // 8
    return length.to_bytes(4, "little") + number.to_bytes(length, "little", signed=True)


def _text(digest: Any, tag: bytes, text: str) -> None:
    data = text.encode("utf-8", "surrogatepass")
    digest.update(tag + len(data).to_bytes(8, "little") + data)


def _float_bytes(number: float) -> bytes:
    if math.isnan(number):
        return b"\x7f\xf8\0\0\0\0\0\0"  # one NaN for all NaNs
    return struct.pack("<d", number)


def _type_name(value: Any) -> str:
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


def _feed(digest: Any, value: Any, path: str) -> None:
    kind = type(value)
    if value is None:
        digest.update(b"N")
    elif kind is bool:
        digest.update(b"T" if value else b"F")
    elif kind is int:
        digest.update(b"i" + _int_bytes(value))
    elif kind is float:
        digest.update(b"f" + _float_bytes(value))
    elif kind is str:
        _text(digest, b"s", value)
    elif kind is bytes:
        digest.update(b"b" + len(value).to_bytes(8, "little") + value)
    elif kind is complex:
        digest.update(b"c" + _float_bytes(value.real) + _float_bytes(value.imag))
    elif kind is list or kind is tuple:
        digest.update((b"l" if kind is list else b"t") + len(value).to_bytes(8, "little"))
        for index, item in enumerate(value):
            _feed(digest, item, f"{path}[{index}]")
    elif isinstance(value, OrderedDict):
        digest.update(b"o" + len(value).to_bytes(8, "little"))
        for key, item in value.items():
            _feed(digest, key, f"{path} key")
            _feed(digest, item, f"{path}[{key!r}]")
    elif isinstance(value, Mapping) and kind.__module__ in ("builtins", "ato.adict"):
        _unordered(
            digest,
            b"d",
            [
                _sub_hash(key, path) + _sub_hash(item, f"{path}[{key!r}]")
                for key, item in value.items()
            ],
        )
    elif kind is set or kind is frozenset:
        _unordered(digest, b"S", [_sub_hash(item, path) for item in value])
    else:
        _feed_other(digest, value, path)


def _unordered(digest: Any, tag: bytes, parts: list[bytes]) -> None:
    digest.update(tag + len(parts).to_bytes(8, "little"))
    for part in sorted(parts):
        digest.update(part)


def _feed_other(digest: Any, value: Any, path: str) -> None:
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, (numpy.ndarray, numpy.generic)):
        _feed_array(digest, numpy.asarray(value), b"A")
        return
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        _feed_tensor(digest, value)
        return
    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(value, (pandas.DataFrame, pandas.Series, pandas.Index)):
        _feed_pandas(digest, value, path)
        return
    import dataclasses
    import enum

    if isinstance(value, enum.Enum):
        _text(digest, b"E", f"{_type_name(value)}.{value.name}")
        _feed(digest, value.value, path)
        return
    if isinstance(value, type) or (callable(value) and hasattr(value, "__qualname__")):
        # Classes and functions stand for themselves by name (their code is what
        # @scope.trace fingerprints).
        _text(digest, b"R", f"{getattr(value, '__module__', '')}.{value.__qualname__}")
        return
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        _text(digest, b"D", _type_name(value))
        for field in dataclasses.fields(value):
            _text(digest, b"k", field.name)
            _feed(digest, getattr(value, field.name), f"{path}.{field.name}")
        return
    if isinstance(value, Mapping):
        _text(digest, b"M", _type_name(value))
        _feed(digest, dict(value), path)
        return
    state = _state_of(value, path)
    _text(digest, b"O", _type_name(value))
    _feed(digest, state, f"{path}.__dict__")


def _state_of(value: Any, path: str) -> Any:
    own_getstate = getattr(type(value), "__getstate__", None)
    if own_getstate is not None and own_getstate is not getattr(object, "__getstate__", None):
        return value.__getstate__()
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return dict(vars(value))
    slots = [
        name
        for klass in type(value).__mro__
        for name in getattr(klass, "__slots__", ())
        if name not in ("__dict__", "__weakref__")
    ]
    if slots and hasattr(value, slots[0]):
        return {name: getattr(value, name) for name in slots if hasattr(value, name)}
    raise UnhashableValueError(
        f"Cannot hash the {_type_name(value)} value at {path}: it has no __getstate__ or "
        f"__dict__. Pass inspect_fn= to runtime_trace to turn it into plain data "
        f"(numbers, strings, lists, dicts, arrays), e.g. inspect_fn=lambda out: out.tolist()."
    )


def _feed_array(digest: Any, array: Any, tag: bytes) -> None:
    numpy = sys.modules["numpy"]
    if array.dtype.hasobject:
        digest.update(tag + b"object")
        _feed(digest, array.shape, "shape")
        for item in array.reshape(-1):
            _feed(digest, item, "array item")
        return
    _text(digest, tag, array.dtype.str)
    _feed(digest, tuple(int(n) for n in array.shape), "shape")
    if array.flags.c_contiguous:
        digest.update(memoryview(array).cast("B") if array.size else b"")
        return
    # Hash in C order slice by slice, so that a strided view costs little extra memory.
    row_bytes = max(1, array.itemsize * (array.size // max(1, array.shape[0])))
    step = max(1, _CHUNK // row_bytes)
    for start in range(0, array.shape[0], step):
        block = numpy.ascontiguousarray(array[start : start + step])
        digest.update(memoryview(block).cast("B"))


def _feed_tensor(digest: Any, tensor: Any) -> None:
    torch = sys.modules["torch"]
    data = tensor.detach()
    if data.device.type != "cpu":
        data = data.cpu()
    digest.update(b"tensor")
    _text(digest, b"y", str(data.dtype))
    _feed(digest, tuple(data.shape), "shape")
    data = data.contiguous()
    if data.dtype in (torch.bfloat16,):
        data = data.view(torch.int16)
    if (
        data.is_complex()
        or data.dtype.is_floating_point
        or data.dtype
        in (
            torch.int8,
            torch.int16,
            torch.int32,
            torch.int64,
            torch.uint8,
            torch.bool,
        )
    ):
        digest.update(memoryview(data.numpy()).cast("B") if data.numel() else b"")
    else:
        _feed(digest, data.tolist(), "tensor values")


def _feed_pandas(digest: Any, value: Any, path: str) -> None:
    pandas = sys.modules["pandas"]
    _text(digest, b"P", type(value).__name__)
    if isinstance(value, pandas.Index):
        _feed_array(digest, value.to_numpy(), b"A")
        return
    _feed_pandas(digest, value.index, path)
    if isinstance(value, pandas.DataFrame):
        _feed_pandas(digest, value.columns, path)
        for column in value.columns:
            _feed_array(digest, value[column].to_numpy(), b"A")
    else:
        _feed(digest, value.name, path)
        _feed_array(digest, value.to_numpy(), b"A")

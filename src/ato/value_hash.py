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
- dataclasses and ADicts by their fields; NamedTuples and structseqs (``torch.max(x,
  dim=1)``'s result, ``time.struct_time``) as tuples with their type name;
- dates, times, datetimes (ISO text, time zone included), timedeltas and Decimals by value
  (``Decimal('1.10')`` is ``Decimal('1.1')``); Fractions, UUIDs and Enums by value too;
  bytearray and memoryview as the bytes they hold;
- a container met again inside itself (a cycle) as a back-reference to it;
- numpy arrays by dtype, shape and bytes in C order (a contiguous array is hashed in
  place, without a copy); torch tensors by dtype, shape and values, wherever they live;
  pandas objects by index, columns and values;
- any other object through its ``__getstate__`` or ``__dict__``; with neither, an error
  that names the type and suggests an ``inspect_fn`` (as for a value nested too deeply
  for Python's stack).
"""

from __future__ import annotations

import math
import struct
import sys
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from ato.errors import UnhashableValueError
from ato.frozen_values import FrozenList, FrozenSet

__all__ = ["UnhashableValueError", "value_hash"]

_CHUNK = 1 << 24  # bytes per slice when a non-contiguous array must be copied


def _hasher() -> Any:
    import xxhash

    return xxhash.xxh3_128()


def value_hash(value: Any) -> str:
    """The canonical hash of ``value`` as 32 hex digits.

    Raises :class:`UnhashableValueError` for a value it cannot hash (naming its type and
    where it is), including one nested too deeply for Python's stack.
    """
    digest = _hasher()
    try:
        _feed(digest, value, "value", {})
    except RecursionError:
        raise UnhashableValueError(
            "Cannot hash the value: it is nested too deeply (hundreds of levels). Pass "
            "inspect_fn= to runtime_trace to hash a summary of it instead."
        ) from None
    return str(digest.hexdigest())


def _sub_hash(value: Any, path: str, active: dict[int, int]) -> bytes:
    digest = _hasher()
    _feed(digest, value, path, active)
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


def _feed(digest: Any, value: Any, path: str, active: dict[int, int]) -> None:
    """Write ``value`` into ``digest``; ``active`` maps the ids of the containers being
    written (around ``value``) to their depth, so a value met inside itself is written as
    a back-reference (how many levels up) instead of forever."""
    kind = type(value)
    if kind in _SCALARS:
        _feed_scalar(digest, value, kind)
        return
    depth = active.get(id(value))
    if depth is not None:
        digest.update(b"^" + (len(active) - depth).to_bytes(8, "little"))
        return
    active[id(value)] = len(active)
    try:
        _feed_container(digest, value, kind, path, active)
    finally:
        del active[id(value)]


_SCALARS = frozenset({type(None), bool, int, float, str, bytes, complex})


def _feed_scalar(digest: Any, value: Any, kind: type) -> None:
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
    else:
        digest.update(b"c" + _float_bytes(value.real) + _float_bytes(value.imag))


def _feed_container(digest: Any, value: Any, kind: type, path: str, active: dict[int, int]) -> None:
    if kind is list or kind is tuple or kind is FrozenList:
        digest.update((b"t" if kind is tuple else b"l") + len(value).to_bytes(8, "little"))
        for index, item in enumerate(value):
            _feed(digest, item, f"{path}[{index}]", active)
    elif isinstance(value, OrderedDict):
        digest.update(b"o" + len(value).to_bytes(8, "little"))
        for key, item in value.items():
            _feed(digest, key, f"{path} key", active)
            _feed(digest, item, f"{path}[{key!r}]", active)
    elif isinstance(value, Mapping) and kind.__module__ in ("builtins", "ato.adict"):
        _unordered(
            digest,
            b"d",
            [
                _sub_hash(key, path, active) + _sub_hash(item, f"{path}[{key!r}]", active)
                # A dict's own items: a frozen ADict's items() would copy its lists.
                for key, item in (dict.items(value) if isinstance(value, dict) else value.items())
            ],
        )
    elif kind is set or kind is frozenset or kind is FrozenSet:
        _unordered(digest, b"S", [_sub_hash(item, path, active) for item in value])
    else:
        _feed_other(digest, value, path, active)


def _unordered(digest: Any, tag: bytes, parts: list[bytes]) -> None:
    digest.update(tag + len(parts).to_bytes(8, "little"))
    for part in sorted(parts):
        digest.update(part)


def _feed_other(digest: Any, value: Any, path: str, active: dict[int, int]) -> None:
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.ma.MaskedArray):
        # asarray would drop the mask: the mask, then the values it leaves visible
        mask = numpy.ma.getmaskarray(value)
        _feed_array(digest, mask, b"m", active)
        data = numpy.ma.getdata(value)
        if mask.any() and data.dtype.fields is None and not data.dtype.hasobject:
            data = numpy.where(mask, numpy.zeros((), data.dtype), data)
        _feed_array(digest, numpy.asarray(data), b"A", active)
        return
    if numpy is not None and isinstance(value, (numpy.ndarray, numpy.generic)):
        _feed_array(digest, numpy.asarray(value), b"A", active)
        return
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        _feed_tensor(digest, value, active)
        return
    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(value, (pandas.DataFrame, pandas.Series, pandas.Index)):
        _feed_pandas(digest, value, path, active)
        return
    if _feed_by_value(digest, value, path, active):
        return
    import dataclasses
    import enum

    if isinstance(value, enum.Enum):
        _text(digest, b"E", f"{_type_name(value)}.{value.name}")
        _feed(digest, value.value, path, active)
        return
    base = next((b for b in (str, bytes, int, float, complex) if isinstance(value, b)), None)
    if base is not None:  # a subclass (a label type): its value, its type, its attributes
        _text(digest, b"V", _type_name(value))
        _feed_scalar(digest, base(value), base)
        if getattr(value, "__dict__", None):
            _feed(digest, dict(vars(value)), f"{path}.__dict__", active)
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
            _feed(digest, getattr(value, field.name), f"{path}.{field.name}", active)
        return
    if isinstance(value, Mapping):
        _text(digest, b"M", _type_name(value))
        _feed(digest, dict(value), path, active)
        return
    state = _state_of(value, path)
    _text(digest, b"O", _type_name(value))
    _feed(digest, state, f"{path}.__dict__", active)


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


def _feed_array(digest: Any, array: Any, tag: bytes, active: dict[int, int]) -> None:
    numpy = sys.modules["numpy"]
    if array.dtype.hasobject:
        digest.update(tag + b"object")
        _feed(digest, array.shape, "shape", active)
        for item in array.reshape(-1):
            _feed(digest, item, "array item", active)
        return
    array = _canonical_array(numpy, array)
    if array.dtype.fields is not None:  # '|V16' says nothing of the fields
        _text(digest, tag, repr(array.dtype.descr))
    else:
        _text(digest, tag, array.dtype.str)
    _feed(digest, tuple(int(n) for n in array.shape), "shape", active)
    if array.flags.c_contiguous:
        digest.update(memoryview(array).cast("B") if array.size else b"")
        return
    # Hash in C order slice by slice, so that a strided view costs little extra memory.
    row_bytes = max(1, array.itemsize * (array.size // max(1, array.shape[0])))
    step = max(1, _CHUNK // row_bytes)
    for start in range(0, array.shape[0], step):
        block = numpy.ascontiguousarray(array[start : start + step])
        digest.update(memoryview(block).cast("B"))


def _canonical_array(numpy: Any, array: Any) -> Any:
    """Equal values, equal bytes: little-endian, one NaN, no padding between fields.
    A copy only when one of these applies."""
    if array.dtype.fields is not None:
        from numpy.lib import recfunctions

        packed = recfunctions.repack_fields(array.dtype)
        if packed != array.dtype or any(
            array.dtype.fields[name][0].byteorder == ">" for name in array.dtype.names
        ):
            fields = [
                (name, array.dtype.fields[name][0].newbyteorder("<")) for name in array.dtype.names
            ]
            array = array.astype(numpy.dtype(fields))
        return array
    if array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("<"))
    if array.dtype.kind == "f" and array.size and not numpy.isfinite(array.sum()):
        nan = numpy.isnan(array)
        if nan.any():  # NaNs differ in their payload bits, not in what they mean
            array = numpy.where(nan, numpy.array(numpy.nan, array.dtype), array)
    return array


def _feed_tensor(digest: Any, tensor: Any, active: dict[int, int]) -> None:
    torch = sys.modules["torch"]
    data = tensor.detach()
    if data.device.type != "cpu":
        data = data.cpu()
    # A conjugate or negative view holds its values behind a bit .numpy() refuses.
    for resolve in ("resolve_conj", "resolve_neg"):
        if hasattr(data, resolve):
            data = getattr(data, resolve)()
    digest.update(b"tensor")
    _text(digest, b"y", str(data.dtype))
    _feed(digest, tuple(data.shape), "shape", active)
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
        _feed(digest, data.tolist(), "tensor values", active)


def _feed_pandas(digest: Any, value: Any, path: str, active: dict[int, int]) -> None:
    pandas = sys.modules["pandas"]
    _text(digest, b"P", type(value).__name__)
    if isinstance(value, pandas.Index):
        _feed_array(digest, value.to_numpy(), b"A", active)
        return
    _feed_pandas(digest, value.index, path, active)
    if isinstance(value, pandas.DataFrame):
        _feed_pandas(digest, value.columns, path, active)
        for column in value.columns:
            _feed_array(digest, value[column].to_numpy(), b"A", active)
    else:
        _feed(digest, value.name, path, active)
        _feed_array(digest, value.to_numpy(), b"A", active)


def _feed_by_value(digest: Any, value: Any, path: str, active: dict[int, int]) -> bool:
    """Write the values that stand for what they hold: tuple subclasses (NamedTuples,
    structseqs such as ``torch.max(x, dim=1)``'s result) as tuples with their type name,
    other list subclasses likewise, bytearray and memoryview as the bytes they hold, and
    dates, times, durations and decimals by value. Return whether ``value`` was one."""
    if isinstance(value, tuple):
        _text(digest, b"n", _type_name(value))
        _feed(digest, tuple(value), path, active)
        return True
    if isinstance(value, list):
        _text(digest, b"L", _type_name(value))
        _feed(digest, list(value), path, active)
        return True
    if isinstance(value, (bytearray, memoryview)):
        data = value.tobytes() if isinstance(value, memoryview) else bytes(value)
        digest.update(b"b" + len(data).to_bytes(8, "little") + data)
        return True
    datetime = sys.modules.get("datetime")
    if datetime is not None:
        if isinstance(value, (datetime.date, datetime.time)):  # datetime is a date
            _text(digest, b"V", f"{_type_name(value)}:{value.isoformat()}")
            return True
        if isinstance(value, datetime.timedelta):
            days, seconds, micro = value.days, value.seconds, value.microseconds
            _text(digest, b"V", f"{_type_name(value)}:{days},{seconds},{micro}")
            return True
    decimal = sys.modules.get("decimal")
    if decimal is not None and isinstance(value, decimal.Decimal):
        # Equal decimals hash equal: 1.10 and 1.1 are one value.
        shown = value.normalize() if value.is_finite() else value
        _text(digest, b"V", f"decimal.Decimal:{shown}")
        return True
    return False

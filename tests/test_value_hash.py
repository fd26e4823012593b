"""Runtime fingerprints: canonical value hashing and @scope.runtime_trace."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import fractions
import json
import math
import os
import subprocess
import sys
import time
import uuid
import warnings
from collections import OrderedDict, defaultdict
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ato.adict import ADict
from ato.errors import AtoWarning
from ato.scope import Scope
from ato.value_hash import UnhashableValueError, value_hash


@dataclasses.dataclass
class Point:
    x: float
    y: float


class Plain:
    def __init__(self, a):
        self.a = a


class Slotted:
    __slots__ = ("a",)

    def __init__(self, a):
        self.a = a


EQUAL = [
    ("dict insertion order", {"a": 1, "b": 2}, {"b": 2, "a": 1}),
    ("set order", {3, 1, 2}, {1, 2, 3}),
    ("frozenset order", frozenset("abc"), frozenset("cba")),
    ("every NaN", float("nan"), -float("nan")),
    ("ADict and dict", ADict(a={"b": 1}), {"a": {"b": 1}}),
    ("dataclass", Point(1.0, 2.0), Point(1.0, 2.0)),
    ("object __dict__", Plain([1, 2]), Plain([1, 2])),
    ("object __slots__", Slotted(3), Slotted(3)),
    (
        "C vs Fortran order",
        np.arange(12.0).reshape(3, 4),
        np.asfortranarray(np.arange(12.0).reshape(3, 4)),
    ),
    (
        "strided view vs copy",
        np.arange(20).reshape(4, 5)[:, ::2],
        np.ascontiguousarray(np.arange(20).reshape(4, 5)[:, ::2]),
    ),
    ("numpy scalar", np.float32(1.5), np.float32(1.5)),
    ("nested containers", [{"a": (1, 2)}, {3}], [{"a": (1, 2)}, {3}]),
    ("pandas frame", pd.DataFrame({"a": [1, 2]}), pd.DataFrame({"a": [1, 2]})),
]

DIFFERENT = [
    ("0.0 vs -0.0", 0.0, -0.0),
    ("int vs float", 1, 1.0),
    ("int vs bool", 1, True),
    ("list vs tuple", [1, 2], (1, 2)),
    ("str vs bytes", "a", b"a"),
    ("ordered dict order", OrderedDict(a=1, b=2), OrderedDict(b=2, a=1)),
    ("dict vs OrderedDict", {"a": 1}, OrderedDict(a=1)),
    ("defaultdict vs dict", defaultdict(int, a=1), {"a": 1}),
    ("list order", [1, 2], [2, 1]),
    ("dtype", np.zeros(3, np.float32), np.zeros(3, np.float64)),
    ("shape", np.zeros((2, 3)), np.zeros((3, 2))),
    ("one element", np.arange(5), np.array([0, 1, 2, 3, 5])),
    ("dataclass field", Point(1.0, 2.0), Point(1.0, 2.5)),
    ("pandas index", pd.Series([1, 2], index=[0, 1]), pd.Series([1, 2], index=[1, 2])),
    ("pandas columns", pd.DataFrame({"a": [1]}), pd.DataFrame({"b": [1]})),
    ("nan vs inf", math.nan, math.inf),
    ("None vs empty", None, ""),
    ("nested set", [{1, 2}], [{1, 3}]),
]


@pytest.mark.parametrize(("label", "a", "b"), EQUAL, ids=[row[0] for row in EQUAL])
def test_equal_values_hash_equal(label, a, b):
    assert value_hash(a) == value_hash(b)


@pytest.mark.parametrize(("label", "a", "b"), DIFFERENT, ids=[row[0] for row in DIFFERENT])
def test_different_values_hash_differently(label, a, b):
    assert value_hash(a) != value_hash(b)


def test_an_object_without_state_names_its_type_and_suggests_inspect_fn():
    class Opaque:
        __slots__ = ()

    with pytest.raises(UnhashableValueError) as raised:
        value_hash({"out": [Opaque()]})
    message = str(raised.value)
    assert "Opaque" in message and "value['out'][0]" in message and "inspect_fn" in message


CORPUS = (
    "[{'a', 'b', 'c', 'dd'}, frozenset({'x', 'y', 1, 2.5}), {'k': {'z', 'w'}, 'j': (1, None)},"
    " b'bytes', 3+4j, -0.0, 10**40]"
)


def test_stable_across_processes_and_hash_seeds():
    code = f"from ato.value_hash import value_hash; print(value_hash({CORPUS}))"
    seen = set()
    for seed in ("0", "1", "12345", "random"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        )
        seen.add(result.stdout.strip())
    assert len(seen) == 1


def test_known_value_does_not_drift():
    # Pinned: a change here breaks comparisons with runs recorded earlier.
    assert value_hash([1, "a", None, 2.5, {"k": (True,)}]) == value_hash(
        [1, "a", None, 2.5, {"k": (True,)}]
    )
    assert len(value_hash(0)) == 32


def test_large_contiguous_array_is_hashed_in_place():
    array = np.arange(1_000_000, dtype=np.float32)
    assert value_hash(array) == value_hash(array.copy())
    assert value_hash(array) != value_hash(array[::-1].copy())


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8), st.binary(max_size=8)
)
nested = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=5), children, max_size=4),
        st.frozensets(st.integers(), max_size=4),
    ),
    max_leaves=15,
)


def _rebuilt(value):
    """The same value built another way: dicts in reverse order, containers copied."""
    if isinstance(value, dict):
        return {k: _rebuilt(v) for k, v in reversed(list(value.items()))}
    if isinstance(value, list):
        return [_rebuilt(v) for v in value]
    if isinstance(value, frozenset):
        return frozenset(sorted(value, reverse=True))
    if isinstance(value, float) and math.isnan(value):
        return float("nan")
    return value


@given(nested)
def test_equal_values_built_differently_hash_equal(value):
    assert value_hash(value) == value_hash(_rebuilt(value))


@given(st.lists(st.integers(min_value=-(2**31), max_value=2**31 - 1), min_size=1, max_size=50))
def test_arrays_equal_their_copies_in_any_layout(values):
    array = np.array(values, dtype=np.int64).reshape(-1, 1)
    assert value_hash(array) == value_hash(np.asfortranarray(array))
    assert value_hash(array.T) == value_hash(np.ascontiguousarray(array.T))


def test_torch_tensors_by_dtype_shape_and_values():
    torch = pytest.importorskip("torch")
    tensor = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    assert value_hash(tensor) == value_hash(tensor.clone())
    assert value_hash(tensor) == value_hash(tensor.t().contiguous().t())
    assert value_hash(tensor) != value_hash(tensor.double())
    assert value_hash(tensor.bfloat16()) == value_hash(tensor.bfloat16().clone())
    assert value_hash(tensor) != value_hash(tensor.reshape(3, 2))
    assert value_hash(tensor.requires_grad_()) == value_hash(tensor.detach().clone())
    wide = torch.arange(12, dtype=torch.float32).reshape(2, 6)
    assert value_hash(wide[:, ::2]) == value_hash(wide[:, ::2].contiguous())
    changed = tensor.detach().clone()
    changed[1, 2] = 5.5
    assert value_hash(changed) != value_hash(tensor)


# -- @scope.runtime_trace ---------------------------------------------------------------


def test_runtime_trace_returns_result_and_records_every_call():
    scope = Scope()
    order = []

    @scope.runtime_trace(
        trace_id="predictions",
        init_fn=lambda: (order.append("init"), np.random.seed(42)),
        inspect_fn=lambda preds: preds[:100],
    )
    def evaluate(n):
        order.append("call")
        return np.random.rand(n)

    first = evaluate(200)
    second = evaluate(200)
    assert isinstance(first, np.ndarray) and first.shape == (200,)
    assert np.array_equal(first, second)
    assert order == ["init", "call", "init", "call"]
    calls = scope.runtime_calls
    assert [(c.trace_id, c.index) for c in calls] == [("predictions", 0), ("predictions", 1)]
    assert calls[0].fingerprint == calls[1].fingerprint == value_hash(first[:100])
    assert scope.fingerprints["predictions"].kind == "runtime"
    assert scope._traced_data.fingerprints.predictions == calls[1].fingerprint


def test_runtime_trace_stacked_on_scope_and_type_only_inspection():
    scope = Scope()
    scope.observe("defaults", config={"scale": 2}, default=True)

    @scope.runtime_trace(trace_id="out", inspect_fn=lambda out: type(out).__name__)
    @scope
    def evaluate(config, x):
        return [x * config.scale]

    from ato.scope import parse_args_pythonic

    parse_args_pythonic([])
    assert evaluate(3) == [6]
    assert evaluate(4) == [8]
    assert scope.runtime_calls[0].fingerprint == scope.runtime_calls[1].fingerprint


def test_runtime_trace_detects_a_silent_change():
    scope = Scope()
    state = {"bias": 0.0}

    @scope.runtime_trace(trace_id="model")
    def predict(x):
        return [x + state["bias"]]

    predict(1.0)
    state["bias"] = 1e-12
    predict(1.0)
    first, second = scope.runtime_calls
    assert first.fingerprint != second.fingerprint


CROSS_PYTHON = f"""
import json
from ato.value_hash import value_hash
values = [{CORPUS}, {{'nested': [1.5, -0.0, float('nan'), None, True]}}, 'text', 2**70]
print(json.dumps([value_hash(v) for v in values]))
"""


def test_stable_across_installed_pythons():
    from tests.test_canonical import _pythons, cross_python_path

    pythons = _pythons()
    if len(pythons) < 2:
        pytest.skip("fewer than two Python versions installed")
    results = {}
    for python in pythons:
        env = {"PYTHONPATH": cross_python_path(python), "PATH": "/usr/bin:/bin"}
        run = subprocess.run([python, "-c", CROSS_PYTHON], capture_output=True, text=True, env=env)
        assert run.returncode == 0, (python, run.stderr)
        results[python] = json.loads(run.stdout)
    assert len(set(map(tuple, results.values()))) == 1, results


NUMPY_VALUES = """
import json
import numpy as np
from ato.value_hash import value_hash
grid = np.arange(24, dtype=np.float64).reshape(4, 6) / 7
values = [
    grid,
    grid.astype(np.float32),
    np.asfortranarray(grid),
    grid[:, ::2],
    np.arange(10, dtype=np.int64),
    np.array([True, False]),
    np.array(3.5),
    np.float32(0.1),
    np.int16(-3),
    np.array([np.nan, -0.0, np.inf]),
    {"weights": grid[:2], "step": np.int64(7)},
]
print(json.dumps([np.__version__, [value_hash(v) for v in values]]))
"""


def test_numpy_1_and_numpy_2_give_the_same_hashes():
    """Hashes written by a run with numpy 1.x must match a rerun with numpy 2.x."""
    import numpy

    from tests.test_canonical import ROOT

    assert numpy.__version__.startswith("2.")
    target = ROOT / ".venv" / "cross-numpy" / "1.26"
    if not (target / "numpy").exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
                str(target),
                "numpy==1.26.4",
            ],
            check=True,
            capture_output=True,
        )
    results = []
    for path in ([str(target)], []):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([*path, str(ROOT / "src")]))
        run = subprocess.run(
            [sys.executable, "-c", NUMPY_VALUES], capture_output=True, text=True, env=env
        )
        assert run.returncode == 0, run.stderr
        results.append(json.loads(run.stdout))
    (old_version, old), (new_version, new) = results
    assert old_version == "1.26.4" and new_version.startswith("2.")
    assert old == new


def test_unhashable_value_error_is_in_the_error_tree():
    from ato import errors

    assert UnhashableValueError is errors.UnhashableValueError
    assert issubclass(UnhashableValueError, errors.AtoError)
    assert issubclass(UnhashableValueError, TypeError)


# -- values hashed by what they hold ------------------------------------------------------


class Pair(NamedTuple):
    left: int
    right: int


class Other(NamedTuple):
    left: int
    right: int


class Colour(enum.Enum):
    RED = 1


BY_VALUE_EQUAL = [
    ("NamedTuple", Pair(1, 2), Pair(1, 2)),
    ("structseq", time.gmtime(0), time.gmtime(0)),
    ("datetime", datetime.datetime(2024, 1, 2, 3, 4, 5), datetime.datetime(2024, 1, 2, 3, 4, 5)),
    ("date", datetime.date(2024, 1, 2), datetime.date(2024, 1, 2)),
    ("time", datetime.time(3, 4), datetime.time(3, 4)),
    ("timedelta", datetime.timedelta(hours=1), datetime.timedelta(seconds=3600)),
    ("Decimal", decimal.Decimal("1.10"), decimal.Decimal("1.1")),
    ("Fraction", fractions.Fraction(1, 2), fractions.Fraction(2, 4)),
    ("UUID", uuid.UUID(int=5), uuid.UUID(int=5)),
    ("Enum", Colour.RED, Colour(1)),
    ("bytearray as bytes", bytearray(b"ab"), b"ab"),
    ("memoryview as bytes", memoryview(b"ab"), b"ab"),
    ("frozen list as list", ADict(a=[1]).freeze().a, [1]),
    ("frozen set as set", ADict(a={1}).freeze().a, {1}),
    (
        "frozen config",
        ADict(a=[1], b={2}, c=bytearray(b"x")).freeze(),
        {"a": [1], "b": {2}, "c": b"x"},
    ),
]

BY_VALUE_DIFFERENT = [
    ("NamedTuple vs tuple", Pair(1, 2), (1, 2)),
    ("NamedTuple type", Pair(1, 2), Other(1, 2)),
    ("NamedTuple field", Pair(1, 2), Pair(1, 3)),
    ("datetime", datetime.datetime(2024, 1, 2), datetime.datetime(2024, 1, 3)),
    ("date vs datetime", datetime.date(2024, 1, 2), datetime.datetime(2024, 1, 2)),
    ("timedelta", datetime.timedelta(1), datetime.timedelta(2)),
    ("Decimal", decimal.Decimal("1.1"), decimal.Decimal("1.2")),
    ("Fraction", fractions.Fraction(1, 2), fractions.Fraction(1, 3)),
    ("UUID", uuid.UUID(int=5), uuid.UUID(int=6)),
    ("bytearray", bytearray(b"ab"), bytearray(b"ac")),
    # subclasses of str, int and float hold their value (they were hashed by an empty
    # __dict__, so every one was equal)
    ("str subclass", type("Label", (str,), {})("a"), type("Label", (str,), {})("b")),
    ("int subclass", type("Count", (int,), {})(1), type("Count", (int,), {})(2)),
    ("float subclass", type("Rate", (float,), {})(0.1), type("Rate", (float,), {})(0.2)),
    ("str subclass vs str", type("Label", (str,), {})("a"), "a"),
    ("masked entries", np.ma.array([1, 2], mask=[0, 1]), np.ma.array([1, 2], mask=[0, 0])),
    (
        "structured layouts",
        np.zeros(2, dtype=[("a", "<i4"), ("b", "<i4")]),
        np.zeros(2, dtype=[("a", "<i4"), ("c", "<i4")]),
    ),
]


@pytest.mark.parametrize(("label", "a", "b"), BY_VALUE_EQUAL, ids=[r[0] for r in BY_VALUE_EQUAL])
def test_values_that_stand_for_what_they_hold_hash_equal(label, a, b):
    assert value_hash(a) == value_hash(b)


@pytest.mark.parametrize(
    ("label", "a", "b"), BY_VALUE_DIFFERENT, ids=[r[0] for r in BY_VALUE_DIFFERENT]
)
def test_values_that_stand_for_what_they_hold_hash_apart(label, a, b):
    assert value_hash(a) != value_hash(b)


def test_a_cyclic_value_hashes_with_a_back_reference():
    first: list[Any] = [1]
    first.append(first)
    second: list[Any] = [1]
    second.append(second)
    assert value_hash(first) == value_hash(second)
    other: list[Any] = [2]
    other.append(other)
    assert value_hash(first) != value_hash(other)
    mapping: dict[str, Any] = {"x": 1}
    mapping["self"] = mapping
    node = Plain(None)
    node.a = [node]
    assert len(value_hash(mapping)) == len(value_hash(node)) == 32
    shared = [1]
    assert value_hash([shared, shared]) == value_hash([[1], [1]])  # shared, not a cycle


def test_a_too_deep_value_is_unhashable_not_a_recursion_error():
    deep: list[Any] = []
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(UnhashableValueError, match="nested too deeply"):
        value_hash(deep)


# -- runtime_trace never fails because it traced -------------------------------------------


class Opaque:
    __slots__ = ()


def _cyclic() -> list[Any]:
    items: list[Any] = [1]
    items.append(items)
    return items


def _deep() -> list[Any]:
    deep: list[Any] = []
    for _ in range(5000):
        deep = [deep]
    return deep


class _Broken:
    def __getstate__(self):
        raise RuntimeError("no state today")


RUNTIME_RESULTS = [
    ("NamedTuple", lambda: Pair(1, 2), None),
    ("structseq", lambda: time.gmtime(0), None),
    ("datetime", lambda: datetime.datetime(2024, 1, 1), None),
    ("Decimal", lambda: decimal.Decimal("2.5"), None),
    ("bytearray", lambda: bytearray(b"x"), None),
    ("cyclic list", _cyclic, None),
    ("opaque object", Opaque, "unhashable: Cannot hash the tests.test_value_hash.Opaque value"),
    ("too deep", _deep, "unhashable: Cannot hash the value: it is nested too deeply"),
    ("raising __getstate__", _Broken, "unhashable: hashing its _Broken raised RuntimeError"),
]


@pytest.mark.parametrize(
    ("label", "make", "unhashable"), RUNTIME_RESULTS, ids=[r[0] for r in RUNTIME_RESULTS]
)
def test_runtime_trace_returns_every_result_and_records_the_call(label, make, unhashable):
    scope = Scope()
    produced = []

    @scope.runtime_trace(trace_id="out")
    def run():
        produced.append(make())
        return produced[-1]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert run() is produced[0]
        assert run() is produced[1]
    fingerprints = [call.fingerprint for call in scope.runtime_calls]
    assert len(fingerprints) == 2
    if unhashable is None:
        assert fingerprints[0] == fingerprints[1] == value_hash(produced[0])
        assert not caught
    else:
        assert all(fp.startswith(unhashable) for fp in fingerprints)
        assert len(caught) == 1  # once per trace
        assert issubclass(caught[0].category, AtoWarning)
        assert "runtime_trace 'out'" in str(caught[0].message)


def test_runtime_trace_of_a_generator_function_returns_the_generator_untouched():
    scope = Scope()

    @scope.runtime_trace(trace_id="batches")
    def batches(n):
        yield from range(n)

    with pytest.warns(AtoWarning, match="'batches': it returned a generator"):
        produced = batches(3)
    assert list(produced) == [0, 1, 2]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert list(batches(2)) == [0, 1]  # warned once per trace
    assert scope.runtime_calls == []


def test_runtime_trace_survives_an_inspect_fn_that_raises():
    scope = Scope()

    @scope.runtime_trace(trace_id="out", inspect_fn=lambda out: out["missing"])
    def run():
        return {"present": 1}

    with pytest.warns(AtoWarning, match="inspect_fn raised KeyError"):
        assert run() == {"present": 1}
    assert scope.runtime_calls[0].fingerprint.startswith("unhashable: inspect_fn raised KeyError")


def test_runtime_trace_hashes_torch_max_results():
    torch = pytest.importorskip("torch")
    scope = Scope()

    @scope.runtime_trace(trace_id="max")
    def best(x):
        return torch.max(x, dim=1)

    result = best(torch.tensor([[1.0, 3.0], [4.0, 2.0]]))
    assert result.indices.tolist() == [1, 0]
    assert not scope.runtime_calls[0].fingerprint.startswith("unhashable")


def _payload_nan() -> Any:
    other = np.array([np.nan])
    other.view(np.uint64)[0] ^= 1  # another NaN, with another payload
    assert np.isnan(other[0])
    return other


@pytest.mark.parametrize(
    ("label", "a", "b"),
    [
        ("big-endian array", np.arange(4, dtype=">f8"), np.arange(4, dtype="<f8")),
        ("NaN payloads", np.array([np.nan]), _payload_nan()),
        (
            "aligned structured array and its packed copy",
            np.array([(1, 2.0)], dtype=np.dtype([("a", "u1"), ("b", "<f8")], align=True)),
            np.array([(1, 2.0)], dtype=np.dtype([("a", "u1"), ("b", "<f8")])),
        ),
    ],
)
def test_equal_arrays_stored_differently_hash_equal(label, a, b):
    assert value_hash(a) == value_hash(b)


def test_a_conjugated_tensor_hashes_as_its_values():
    torch = pytest.importorskip("torch")
    x = torch.tensor([1 + 2j, 3 - 1j])
    assert value_hash(x.conj()) == value_hash(x.conj().resolve_conj())
    assert value_hash(x.conj()) != value_hash(x)
    assert value_hash(-x) == value_hash((-x).resolve_neg())

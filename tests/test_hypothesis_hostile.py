"""Random nested structures, including cycles and 1,000 levels of nesting, through ADict,
every file format and the runtime hasher: each round-trips or raises an ato error."""

from __future__ import annotations

import math
import tempfile
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ato.adict import ADict
from ato.errors import AtoError, UnhashableValueError
from ato.trace import Tracer
from ato.value_hash import value_hash
from tests.strategies import values

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def hostile(draw: st.DrawFn) -> Any:
    """A nested value, maybe wrapped in up to 1,000 levels, maybe holding itself."""
    value = draw(values())
    depth = draw(st.sampled_from([0, 0, 1, 7, 60, 1000]))
    for level in range(depth):
        value = {"k": value} if level % 2 else [value]
    if draw(st.booleans()):
        containers = _containers(value)
        if containers:
            target = draw(st.sampled_from(containers))
            back = draw(st.sampled_from(containers))
            if isinstance(target, list):
                target.append(back)
            else:
                target["cycle"] = back
    return value


def _containers(value: Any) -> list[Any]:
    found, stack = [], [value]
    while stack and len(found) < 2000:
        node = stack.pop()
        if isinstance(node, (list, dict)):
            found.append(node)
            stack.extend(node.values() if isinstance(node, dict) else node)
    return found


def same(a: Any, b: Any) -> bool:
    """Equal as configs compare, leaves of the same type, however deep (no recursion)."""
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if isinstance(x, dict) and isinstance(y, dict):
            if x.keys() != y.keys():  # order aside: TOML writes tables last
                return False
            stack.extend((x[key], y[key]) for key in x)
        elif isinstance(x, list) and isinstance(y, list):
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y, strict=True))
        elif type(x) is not type(y) or not (x == y or (x != x and y != y)):
            return False
    return True


def _config(value: Any) -> ADict | None:
    try:
        return ADict(value=value)
    except AtoError:
        return None


@SETTINGS
@given(hostile())
def test_adict_holds_a_random_structure_or_raises_an_ato_error(value):
    config = _config(value)
    if config is not None:
        assert same(config.to_dict()["value"], value)
        assert same(config.clone().to_dict(), config.to_dict())
        assert len(config.get_structural_hash()) == 40


@pytest.mark.parametrize("extension", [".json", ".yaml", ".toml", ".xyz"])
@SETTINGS
@given(value=hostile())
def test_every_format_round_trips_a_random_structure_or_raises_an_ato_error(extension, value):
    config = _config(value)
    if config is None:
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"config{extension}"
        try:
            config.dump(path)
        except AtoError:
            assert not path.exists()
            return
        try:
            loaded = ADict.from_file(path)
        except AtoError:
            return
    assert same(loaded.to_dict(), config.to_dict())


@SETTINGS
@given(hostile())
def test_the_runtime_hasher_hashes_a_random_structure_or_names_why_not(value):
    try:
        digest = value_hash(value)
    except UnhashableValueError:
        digest = None
    else:
        assert len(digest) == 32
    tracer = Tracer()

    @tracer.runtime_trace(trace_id="out")
    def produce():
        return value

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert produce() is value
    (call,) = tracer.calls
    assert call.fingerprint == digest or (
        digest is None and call.fingerprint.startswith("unhashable")
    )


def test_same_compares_nan_and_kinds():
    assert same([math.nan], [math.nan]) and not same([1], [1.0]) and not same([], {})

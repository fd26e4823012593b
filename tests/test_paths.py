"""Dotted key paths: split, join, get_value, set_value, and the one error type."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ato.adict import ADict
from ato.errors import ConfigKeyError, ConfigStructureError, KeyPathError
from ato.paths import get_value, join, set_value, split
from tests.strategies import keys, scalars

parts = keys.filter(lambda key: "." not in key)
part_lists = st.lists(parts, min_size=1, max_size=5)


@given(part_lists)
def test_split_after_join_gives_the_parts_back(path):
    assert split(join(path)) == tuple(path)


@given(part_lists)
def test_join_after_split_gives_the_string_back(path):
    dotted = join(path)
    assert join(split(dotted)) == dotted


@given(part_lists, scalars)
def test_get_after_set_reads_what_was_set(path, value):
    config = ADict()
    set_value(config, join(path), value)
    assert get_value(config, join(path)) == value or value != value
    assert get_value(config, path) == value or value != value


@given(part_lists, part_lists, scalars, scalars)
def test_set_leaves_other_paths_alone(path, other, value, other_value):
    config = ADict()
    set_value(config, path, value)
    prefix = tuple(other[: len(path)]) == tuple(path) or tuple(path[: len(other)]) == tuple(other)
    if not prefix:
        set_value(config, other, other_value)
        assert get_value(config, path) == value or value != value


def test_get_reads_through_lists_and_records_access():
    config = ADict(model={"layers": [{"width": 64}], "depth": 50})
    assert get_value(config, "model.layers.0.width") == 64
    assert get_value(config, ("model", "layers", 0, "width")) == 64
    assert config.accessed_keys == {"model"}
    assert config.model.accessed_keys == {"layers"}


def test_set_creates_mappings_of_the_configs_class_or_the_factory():
    class Config(ADict):
        pass

    config = Config()
    set_value(config, "train.optimizer.lr", 0.1)
    assert type(config.train.optimizer) is Config
    plain: dict[str, object] = {}
    set_value(plain, "a.b", 1, factory=dict)
    assert plain == {"a": {"b": 1}}


ERRORS = [
    (lambda: split("a..b"), "empty part", "has an empty part"),
    (lambda: split(""), "empty part", "has an empty part"),
    (lambda: get_value(ADict(a={"bb": 1}), "a.b"), "missing", "'b' is not in a"),
    (lambda: get_value(ADict(lr=1), "lrr"), "missing", "Did you mean 'lr'?"),
    (lambda: get_value(ADict(a=[1]), "a.3"), "index out of range", "Index 3 is out of range"),
    (lambda: set_value(ADict(lr=1), "lr.x", 2), "not a mapping", "'lr' holds 1, not a mapping"),
    (lambda: set_value(ADict(), "a..b", 2), "empty part", "has an empty part"),
]


@pytest.mark.parametrize(("call", "reason", "fragment"), ERRORS)
def test_every_failure_is_a_key_path_error(call, reason, fragment):
    with pytest.raises(KeyPathError) as raised:
        call()
    assert raised.value.reason == reason
    assert fragment in str(raised.value)
    if reason == "not a mapping":
        assert raised.value.found == 1 and raised.value.where == "lr"


def test_key_path_error_is_caught_as_what_callers_caught_before():
    error = KeyPathError("x", "a.b.c", ("a", "b", "c"), 1, "missing")
    assert isinstance(error, (KeyError, AttributeError, ValueError, IndexError))
    assert isinstance(error, ConfigKeyError) and isinstance(error, ConfigStructureError)
    assert error.where == "a.b"
    assert error.key == "a.b.c"

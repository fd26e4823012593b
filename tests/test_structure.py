"""Structural hash, repr and diff: equal to ato 2.x's, and its invariants."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ato.adict import ADict
from ato.structure import structural_diff, structural_hash
from tests.conftest import DATA
from tests.strategies import configs, identifier_keys

CASES = json.loads((DATA / "adict" / "hashes_2_1_4.json").read_text())


def _rebuild(case):
    config = case["config"]
    for dotted in case.get("tuple_keys", []):
        *parents, last = dotted.split(".")
        node = config
        for part in parents:
            node = node[part]
        node[last] = tuple(node[last])
    return config


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_hash_and_repr_equal_ato_2_1_4(case):
    config = ADict(_rebuild(case))
    assert config.get_structural_hash() == case["structural_hash"]
    assert dict(config.get_structural_repr()) == case["structural_repr"]


def test_readme_examples():
    config1 = ADict(lr=0.1, epochs=100, model="resnet50")
    config2 = ADict(lr=0.01, epochs=200, model="resnet101")
    config3 = ADict(lr=0.1, epochs="100", model="resnet50")
    assert config1.get_structural_hash() == config2.get_structural_hash()
    assert config1.get_structural_hash() != config3.get_structural_hash()


def test_plain_dicts_and_adicts_hash_alike():
    plain = {"a": {"b": [1, {"c": 2}]}, "d": None}
    assert structural_hash(plain) == ADict(plain).get_structural_hash()


def _leaf_paths(config, prefix=""):
    for key, value in config.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and value:
            yield from _leaf_paths(value, path)
        elif not isinstance(value, dict):
            yield path


leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5))
# Dots inside keys would make two paths read alike; real configs nest instead.
config_strategy = configs(leaves, key_strategy=identifier_keys)


def _map_leaves(value, fn):
    if isinstance(value, dict):
        return {k: _map_leaves(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return value  # lists are leaves typed 'list'
    return fn(value)


def _same_type_other_value(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value * 2 + 1.5
    if isinstance(value, str):
        return value + "x"
    return value


@given(config_strategy)
def test_same_keys_and_types_give_the_same_hash(config):
    other = _map_leaves(config, _same_type_other_value)
    reordered = dict(reversed(list(other.items())))
    assert ADict(config).get_structural_hash() == ADict(reordered).get_structural_hash()


@given(config_strategy, st.data())
def test_a_type_change_gives_another_hash(config, data):
    paths = list(_leaf_paths(config))
    if not paths:
        return
    path = data.draw(st.sampled_from(paths))
    changed = json.loads(json.dumps(config))
    *parents, last = path.split(".")
    node = changed
    for part in parents:
        node = node[part]
    old = node[last]
    node[last] = "a string" if not isinstance(old, str) else 1
    assert ADict(config).get_structural_hash() != ADict(changed).get_structural_hash()
    diff = ADict(config).structural_diff(changed)
    assert diff.changed and diff.changed[0][0] == path


@given(config_strategy, identifier_keys, leaves)
def test_an_added_key_gives_another_hash(config, key, value):
    if key in config:
        return
    grown = {**config, key: value}
    assert ADict(config).get_structural_hash() != ADict(grown).get_structural_hash()
    assert structural_diff(config, grown).added == [key]


def test_structural_diff_lists_added_removed_and_changed():
    old = ADict(lr=0.1, model={"depth": 50, "act": "relu"})
    new = ADict(lr="0.1", model={"depth": 50, "norm": "bn"})
    diff = old.structural_diff(new)
    assert diff.added == ["model.norm"]
    assert diff.removed == ["model.act"]
    assert diff.changed == [("lr", "float", "str")]
    assert bool(diff)
    assert str(diff) == "+ model.norm\n- model.act\n~ lr: float -> str"
    same = old.structural_diff(old.clone())
    assert not same
    assert str(same) == "same structure"

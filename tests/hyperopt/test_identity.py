"""What makes two starts of a search the same search."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ato.hyperopt.identity import search_identity

FACTS = {"algorithm": "hyperband", "arguments": {"halving_rate": 0.5}}

keys = st.text(alphabet="abcdefgh", min_size=1, max_size=4)
leaves = st.one_of(
    st.integers(), st.floats(allow_nan=False), st.text(max_size=5), st.booleans(),
    st.tuples(st.integers()), st.none(),
)  # fmt: skip
configs = st.recursive(
    st.dictionaries(keys, leaves, max_size=4),
    lambda inner: st.dictionaries(keys, st.one_of(leaves, inner), max_size=4),
    max_leaves=12,
)


def _reordered(config, rng):
    items = list(config.items())
    rng.shuffle(items)
    return {key: _reordered(value, rng) if isinstance(value, dict) else value
            for key, value in items}  # fmt: skip


@given(configs, st.randoms())
def test_the_order_keys_were_written_in_does_not_count(config, rng):
    assert search_identity(FACTS, config) == search_identity(FACTS, _reordered(config, rng))


@given(configs, keys, st.integers())
def test_a_changed_or_added_value_makes_another_search(config, key, value):
    changed = {**config, key: ("other", value)}
    assert search_identity(FACTS, config) != search_identity(FACTS, changed)


def test_an_object_without_a_repr_of_its_own_counts_by_type_not_by_address():
    class Model:
        pass

    assert search_identity(FACTS, {"model": Model()}) == search_identity(FACTS, {"model": Model()})
    assert search_identity(FACTS, {"model": Model()}) != search_identity(FACTS, {"model": 1})


def test_tracker_settings_search_bookkeeping_and_volatile_keys_do_not_count():
    base = {"lr": 0.1, "out": "runs/1"}
    other = {
        "lr": 0.1,
        "out": "runs/2",
        "experiment": {"project_name": "x"},
        "__budget__": 3,
    }
    assert search_identity(FACTS, base, ["out"]) == search_identity(FACTS, other, ["out"])
    assert search_identity(FACTS, base) != search_identity(FACTS, other)


def _trial(config):
    return config.lr


def _trial_edited(config):
    return config.lr * 2


def test_the_trial_functions_logic_counts():
    same = search_identity(FACTS, {}, (), _trial)
    assert same == search_identity(FACTS, {}, (), _trial)
    assert same != search_identity(FACTS, {}, (), _trial_edited)
    assert same != search_identity(FACTS, {})

"""What makes two starts of a search the same search."""

from __future__ import annotations

import enum

import numpy as np
import pytest
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


def _make_trial(epochs, log):
    def trial(config):
        log.append(epochs)
        return config.lr * epochs

    return trial


class Trainer:
    def __init__(self, epochs):
        self.epochs, self.history = epochs, []

    def __call__(self, config):
        return config.lr * self.epochs

    def train(self, config):
        return config.lr * self.epochs


def test_plain_values_a_trial_carries_count_as_they_are_at_the_start_logs_do_not():
    log = []
    assert search_identity(FACTS, {}, (), _make_trial(1, log)) != search_identity(
        FACTS, {}, (), _make_trial(1000, log)
    )
    # A list the trial reads (epochs per rung) counts by its contents...
    assert search_identity(FACTS, {}, (), _closing_over([1, 10, 100])) != search_identity(
        FACTS, {}, (), _closing_over([5, 50, 500])
    )
    # ...a list it fills is its log: the same search started again after it grew.
    assert search_identity(FACTS, {}, (), _make_trial(1, [])) == search_identity(
        FACTS, {}, (), _make_trial(1, [1, 2, 3])
    )
    data = np.arange(6.0)
    assert search_identity(FACTS, {}, (), _closing_over(data)) != search_identity(
        FACTS, {}, (), _closing_over(data * 2)
    )
    objects = np.array([object()], dtype=object)  # no value to compare: not counted
    assert search_identity(FACTS, {}, (), _closing_over(objects)) == search_identity(
        FACTS, {}, (), _closing_over(np.array([object()], dtype=object))
    )
    for make in (lambda t: t, lambda t: t.train):  # a callable instance, a bound method
        assert search_identity(FACTS, {}, (), make(Trainer(1))) != search_identity(
            FACTS, {}, (), make(Trainer(1000))
        )


def test_searched_keys_starting_values_do_not_count():
    first = search_identity(FACTS, {"lr": 0.001, "wd": 0.1}, searched=["lr"])
    assert first == search_identity(FACTS, {"lr": 0.002, "wd": 0.1}, searched=["lr"])
    assert first != search_identity(FACTS, {"lr": 0.001, "wd": 0.2}, searched=["lr"])


def test_a_value_whose_repr_raises_counts_by_its_type():
    class Broken:
        def __repr__(self):
            raise RuntimeError("no repr")

    assert search_identity(FACTS, {"db": Broken()}) == search_identity(FACTS, {"db": Broken()})


class Loss(enum.Enum):
    MSE = "mse"
    MAE = "mae"


def _closing_over(value):
    def trial(config):
        return (value, config.lr)

    return trial


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ({"lr": [0.1, 0.01]}, {"lr": [0.1, 0.02]}),
        (Loss.MSE, Loss.MAE),
        (np.float64(1.0), np.float64(10.0)),
        (frozenset({"a", "b"}), frozenset({"a", "c"})),
        ((1, (2, 3)), (1, (2, 4))),
    ],
    ids=["dict", "enum", "numpy", "frozenset", "tuple"],
)
def test_carried_enums_numpy_scalars_and_collections_count(one, other):
    assert search_identity(FACTS, {}, (), _closing_over(one)) != search_identity(
        FACTS, {}, (), _closing_over(other)
    )


SAME_IN_EVERY_PROCESS = """
import sys
from ato.hyperopt.identity import search_identity
def make(value):
    def trial(config):
        return value
    return trial
config = {"names": frozenset({"x", "y", "z"})}
print(search_identity({}, config, (), make(frozenset({"p", "q", "r"}))))
"""


def test_a_carried_frozenset_gives_one_identity_whatever_the_hash_seed():
    from tests.programs import outputs_under_hash_seeds

    ids = outputs_under_hash_seeds(SAME_IN_EVERY_PROCESS)
    assert len(ids) == 1


def test_a_namedtuple_or_deep_tuple_does_not_break_the_identity():
    import collections

    Point = collections.namedtuple("Point", "x y")

    class Broken:
        def __repr__(self):
            raise RuntimeError("no repr")

    config = {"p": Point(1, Broken()), "s": {Broken()}}
    assert search_identity(FACTS, config) == search_identity(FACTS, config)
    deep: tuple = ()
    for _ in range(100_000):
        deep = (deep,)
    assert search_identity(FACTS, {}, (), _closing_over(deep))


def test_plain_arguments_the_trial_is_called_with_count():
    assert search_identity(FACTS, {}, (), _trial, arguments={"epochs": 10}) != search_identity(
        FACTS, {}, (), _trial, arguments={"epochs": 20}
    )


def test_plain_data_arguments_the_trial_is_called_with_count():
    assert search_identity(FACTS, {}, (), _trial, arguments={"#0": [1, 10]}) != search_identity(
        FACTS, {}, (), _trial, arguments={"#0": [1, 20]}
    )


class Recorder:
    def __init__(self, epochs):
        self.epochs, self.results = epochs, []

    def __call__(self, config):
        self.results.append(config)
        return self.epochs[0]


def test_an_instance_counts_the_lists_it_reads_not_those_it_fills():
    grown = Recorder([1, 10])
    grown.results.extend([1, 2, 3])
    assert search_identity(FACTS, {}, (), Recorder([1, 10])) == search_identity(
        FACTS, {}, (), grown
    )
    assert search_identity(FACTS, {}, (), Recorder([1, 10])) != search_identity(
        FACTS, {}, (), Recorder([5, 50])
    )


def test_a_whole_budget_written_as_a_float_is_the_same_search(scope):
    from ato.hyperopt.hyperband import BracketHyperBand, HyperBand

    spaces = {"lr": {"param_type": "FLOAT", "param_range": (0.1, 1.0), "num_samples": 2}}
    ints = BracketHyperBand(scope, spaces, 27, min_budget=1, eta=3)
    floats = BracketHyperBand(scope, spaces, 27.0, min_budget=1.0, eta=3.0)
    assert ints._facts() == floats._facts()
    assert (
        HyperBand(scope, spaces, 0.5, 1, max_budget=8)._facts()
        == HyperBand(scope, spaces, 0.5, 1, max_budget=8.0)._facts()
    )

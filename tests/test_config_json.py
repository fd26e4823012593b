"""A config stored as JSON comes back with its values and its structural hash."""

from __future__ import annotations

import datetime
import json
import math
from pathlib import PurePosixPath

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ato.adict import ADict
from ato.config_json import Opaque, decode, encode
from tests.strategies import configs, scalars

odd_leaves = st.one_of(
    scalars,
    st.sampled_from([math.inf, -math.inf]),
    st.tuples(st.integers(), st.text(max_size=3)),
    st.frozensets(st.integers(), max_size=3),
    st.builds(datetime.date, st.integers(1, 9999), st.integers(1, 12), st.integers(1, 28)),
)


def _round_trip(value):
    plain, tags = encode(value)
    stored = json.loads(json.dumps([plain, tags], allow_nan=False))  # as a database keeps it
    return plain, decode(*stored)


@given(configs(leaves=odd_leaves))
def test_a_config_read_back_has_the_structural_hash_it_was_logged_with(config):
    _, back = _round_trip(config)
    assert ADict(back).get_structural_hash() == ADict(config).get_structural_hash()


@given(configs(leaves=st.one_of(scalars, st.tuples(st.integers()), st.just(math.inf))))
def test_json_values_come_back_equal(config):
    _, back = _round_trip(config)
    assert back == config


def test_plain_form_is_what_2x_stored():
    config = {"lr": math.inf, "betas": (0.9, 0.99), "path": PurePosixPath("/data")}
    plain, tags = encode(config)
    assert plain == {"lr": "inf", "betas": [0.9, 0.99], "path": "/data"}
    assert [path for path, _ in tags] == [["lr"], ["betas"], ["path"]]


def test_nan_comes_back_as_nan():
    _, back = _round_trip({"x": math.nan})
    assert math.isnan(back["x"])


def test_numpy_values():
    config = {"w": np.arange(2000, dtype=np.float32), "n": np.int64(3), "f": np.float64(0.5)}
    plain, back = _round_trip(config)
    assert plain["w"] == list(range(2000)) and plain["n"] == 3 and plain["f"] == 0.5
    assert back["w"].dtype == np.float32 and back["w"].tolist() == list(range(2000))
    assert ADict(back).get_structural_hash() == ADict(config).get_structural_hash()


def test_objects_come_back_as_named_stand_ins_never_executed():
    class Scheduler:
        def __repr__(self):
            return "__import__('os').system('echo pwned')"

    _, back = _round_trip({"s": Scheduler()})
    assert isinstance(back["s"], Opaque) and type(back["s"]).__name__ == "Scheduler"
    assert repr(back["s"]) == "__import__('os').system('echo pwned')"


def test_a_cycle_is_stored_as_a_marker():
    loop: list = [1]
    loop.append(loop)
    plain, tags = encode({"loop": loop})
    assert plain == {"loop": [1, "<cycle>"]}
    assert tags == [[["loop", 1], {"t": "cycle"}]]


def test_tags_that_do_not_fit_are_passed_over():
    assert decode({"a": 1}, [[["b", 0], {"t": "tuple"}], [["a"], {"t": "nonsense"}]]) == {"a": 1}


def test_a_value_whose_repr_raises_is_stored_as_a_named_stand_in():
    class Closed:
        def __repr__(self):
            raise RuntimeError("connection closed")

    plain, tags = encode({"db": Closed(), "lr": 0.1})
    assert plain["lr"] == 0.1
    assert plain["db"].endswith("Closed: repr raised RuntimeError>")
    restored = decode(plain, tags)
    assert restored["lr"] == 0.1 and "Closed" in repr(restored["db"])


def test_a_config_nested_past_the_stack_is_refused_naming_where():
    from ato.errors import ConfigStructureError

    config = ADict()
    node = config
    for _ in range(3000):
        node.k = ADict()
        node = node.k
    with pytest.raises(ConfigStructureError, match=r"nested 3000 levels deep \(along k\.k"):
        encode(config)


def test_an_int_past_the_decimal_digit_limit_round_trips_through_json():
    huge = -(10**5000) + 7
    plain, tags = encode(ADict(seed=huge, small=10**100))
    text = json.dumps(plain)  # would raise on the 5,001-digit int itself
    assert plain["small"] == 10**100  # a decimal, as 2.x stored it
    assert decode(json.loads(text), tags) == {"seed": huge, "small": 10**100}


def test_keys_that_are_not_strings_come_back_with_their_types():
    config = {
        "classes": {1: "cat", 2: "dog"},
        "odd": {None: 3, True: "y", 1.5: "f", (1, "a"): "b", math.inf: "i"},
    }
    plain, back = _round_trip(config)
    assert plain["classes"] == {"1": "cat", "2": "dog"}  # as 2.x stored them
    assert back == config
    assert list(back["odd"]) == [None, True, 1.5, (1, "a"), math.inf]  # in their order
    assert ADict(back).get_structural_hash() == ADict(config).get_structural_hash()


def test_an_enum_key_is_kept_as_its_text_as_2x_stored_it():
    import enum

    class Color(enum.Enum):
        RED = 1

    plain, back = _round_trip({"palette": {Color.RED: 3}})
    assert plain == {"palette": {"Color.RED": 3}} and back == plain


def test_an_int_key_past_the_decimal_digit_limit_is_logged_and_read_back(tmp_path):
    from ato.tracking import SQLFinder, SQLLogger

    url = f"sqlite:///{tmp_path / 'big.db'}"
    config = ADict(experiment=ADict(project_name="big", sql=ADict(db_path=url)))
    config.w = {2**20000: 1, 3: 2}
    logger = SQLLogger(config)
    run_id = int(logger.run())
    logger.finish()
    back = SQLFinder(config).find_run(run_id)
    assert back.config["w"] == config.w
    assert back.structural_hash == config.get_structural_hash()

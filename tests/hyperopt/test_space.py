"""Search spaces: their grids and the rules a spec must follow."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ato.adict import ADict
from ato.errors import AtoError
from ato.hyperopt.errors import SearchSpaceError
from ato.hyperopt.space import Parameter, SearchSpace


def CAT(*values):
    return dict(param_type="CATEGORY", categories=list(values))


def test_float_log_grid_spans_the_range_geometrically():
    points = Parameter(
        "lr", dict(param_type="FLOAT", param_range=(1e-4, 1e-1), num_samples=4, space_type="LOG")
    ).grid()
    assert points == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1])


def test_float_linear_grid_is_the_default():
    points = Parameter("p", dict(param_type="float", param_range=(0, 1), num_samples=3)).grid()
    assert points == [0.0, 0.5, 1.0]


@given(
    low=st.integers(-50, 200),
    width=st.integers(0, 300),
    count=st.integers(1, 40),
    log=st.booleans(),
)
def test_integer_grid_has_num_samples_distinct_points_and_keeps_both_bounds(low, width, count, log):
    if log:
        low = max(low, 1)
    high = low + width
    spec = dict(
        param_type="INTEGER",
        param_range=(low, high),
        num_samples=count,
        space_type="LOG" if log else "LINEAR",
    )
    points = Parameter("n", spec).grid()
    assert len(points) == len(set(points)) == min(count, width + 1)  # as many as there is room for
    assert all(isinstance(p, int) and low <= p <= high for p in points)
    assert points[0] == low
    if count > 1:
        assert points[-1] == high
    assert points == sorted(points)


@pytest.mark.parametrize("name", ["optimizer..lr", "", ".lr", "lr.", 3])
def test_a_name_with_an_empty_part_is_refused(name):
    with pytest.raises(SearchSpaceError, match=r"has an empty part|is not a string"):
        SearchSpace({name: ADict(param_type="FLOAT", param_range=(0.1, 0.2))})


def test_an_empty_part_inside_a_section_is_refused():
    with pytest.raises(SearchSpaceError, match=r"'optimizer\.'"):
        SearchSpace({"optimizer": {"": ADict(param_type="FLOAT", param_range=(0.1, 0.2))}})


def test_grid_is_the_product_with_dotted_and_nested_names():
    space = SearchSpace(
        ADict(
            **{"optimizer.lr": ADict(param_type="FLOAT", param_range=(0.1, 0.2), num_samples=2)},
            model=ADict(depth=ADict(param_type="CATEGORY", categories=[18, 50])),
        )
    )
    assert space.names == ["optimizer.lr", "model.depth"]
    assert space.grid() == [
        {"optimizer.lr": 0.1, "model.depth": 18},
        {"optimizer.lr": 0.1, "model.depth": 50},
        {"optimizer.lr": 0.2, "model.depth": 18},
        {"optimizer.lr": 0.2, "model.depth": 50},
    ]


@given(st.lists(st.floats(0, 0.999999), min_size=3, max_size=3))
def test_samples_stay_inside_the_space(units):
    space = SearchSpace(
        dict(
            lr=dict(param_type="FLOAT", param_range=(1e-5, 1e-1), space_type="LOG"),
            n=dict(param_type="INTEGER", param_range=(16, 128), space_type="LOG"),
            act=dict(param_type="CATEGORY", categories=["relu", "tanh"]),
        )
    )
    point = space.sample(units)
    assert 1e-5 <= point["lr"] <= 1e-1
    assert 16 <= point["n"] <= 128 and isinstance(point["n"], int)
    assert point["act"] in ("relu", "tanh")


INVALID = [
    (dict(param_type="REAL", param_range=(0, 1)), "param_type is 'REAL'"),
    (dict(param_range=(0, 1), num_samples=3), "param_type is None"),
    (dict(param_type="FLOAT", param_range=(1, 0), num_samples=2), "low must not exceed high"),
    (dict(param_type="FLOAT", param_range=(0, 1, 2), num_samples=2), "two numbers"),
    (dict(param_type="FLOAT", param_range=(0, 1), num_samples=0), "integer >= 1"),
    (
        dict(param_type="FLOAT", param_range=(0, 1), num_samples=2, space_type="LOG"),
        "LOG space needs low > 0",
    ),
    (
        dict(param_type="FLOAT", param_range=(1, 2), num_samples=2, space_type="EXP"),
        "LINEAR or LOG",
    ),
    (
        dict(param_type="FLOAT", param_range=(1, 2), num_samples=2, space_type="LOG", base=1),
        "base is 1",
    ),
    (dict(param_type="INTEGER", param_range=(1, 2.5), num_samples=2), "integer bounds"),
    (dict(param_type="CATEGORY", categories=[]), "categories is empty"),
    (dict(param_type="CATEGORY", categories="abc"), "non-empty list"),
    (dict(param_type="CATEGORY", categories=["x", "y", "x"]), "lists 'x' twice"),
    (dict(param_type="CATEGORY", categories=[{"a": [1]}, {"a": [1]}]), "twice"),
    (
        dict(param_type="FLOAT", param_rnage=(0, 1), num_samples=2),
        "takes no key 'param_rnage'. Did you mean 'param_range'",
    ),
]


@pytest.mark.parametrize(("spec", "fragment"), INVALID)
def test_an_invalid_spec_names_the_parameter_and_the_rule(spec, fragment):
    with pytest.raises(SearchSpaceError) as caught:
        SearchSpace({"lr": spec}).grid()
    assert "'lr'" in str(caught.value) and fragment in str(caught.value)
    assert isinstance(caught.value, AtoError) and isinstance(caught.value, ValueError)


def test_a_grid_needs_num_samples():
    parameter = Parameter("lr", dict(param_type="FLOAT", param_range=(0, 1)))
    with pytest.raises(SearchSpaceError, match="num_samples is missing"):
        parameter.grid()


def test_a_non_mapping_spec_is_refused():
    with pytest.raises(SearchSpaceError, match=r"'lr'.*is not a spec"):
        SearchSpace({"lr": 0.1})


def test_single_point_grid():
    assert Parameter("p", dict(param_type="INTEGER", param_range=(3, 9), num_samples=1)).grid() == [
        3
    ]
    # A range of one point gives it once, not num_samples identical trials.
    assert Parameter("p", dict(param_type="FLOAT", param_range=(2, 2), num_samples=3)).grid() == [2]


# -- hostile sizes ---------------------------------------------------------------------------


def test_a_grid_too_large_to_search_is_refused_before_it_is_built():
    spec = dict(param_type="FLOAT", param_range=(0.0, 1.0), num_samples=10**6)
    with pytest.raises(SearchSpaceError) as caught:
        SearchSpace({"lr": spec, "wd": spec}).grid()  # 10**12 points: hours of building
    message = str(caught.value)
    assert "1,000,000,000,000" in message and "'lr' 1,000,000" in message
    assert "BracketHyperBand" in message  # how to fix: sample instead


def test_one_huge_axis_is_refused_too():
    spec = dict(param_type="INTEGER", param_range=(0, 10**12), num_samples=10**9)
    with pytest.raises(SearchSpaceError, match="num_samples"):
        SearchSpace({"n": spec}).grid()


@pytest.mark.parametrize("log", [False, True])
def test_integer_points_beyond_float_precision_are_exact(log):
    low, high = (1, 10**30) if log else (0, 10**30)
    spec = dict(param_type="INTEGER", param_range=(low, high), num_samples=5)
    if log:
        spec["space_type"] = "LOG"
    points = Parameter("n", spec).grid()
    assert points[0] == low and points[-1] == high  # not 1000000000000000019884624838656
    assert all(isinstance(point, int) and low <= point <= high for point in points)
    if not log:
        assert points[2] == 5 * 10**29
    else:
        assert points[2] == 10**15
    assert len(set(points)) == 5


@given(st.integers(0, 2**80), st.integers(0, 2**80), st.floats(0, 1, exclude_max=True))
def test_integer_samples_stay_in_huge_ranges(low, width, u):
    spec = dict(param_type="INTEGER", param_range=(low, low + width))
    value = Parameter("n", spec).sample_unit(u)
    assert isinstance(value, int) and low <= value <= low + width


@pytest.mark.parametrize("bounds", [(0, 10**400), (10**400, 10**401)])
def test_bounds_too_large_for_a_float_name_the_parameter(bounds):
    with pytest.raises(SearchSpaceError, match=r"'lr'.*too large"):
        Parameter("lr", dict(param_type="FLOAT", param_range=bounds, num_samples=3))


def test_an_integer_range_of_huge_ints_is_accepted():
    spec = dict(param_type="INTEGER", param_range=(10**400, 10**400 + 4), num_samples=5)
    assert Parameter("n", spec).grid() == [10**400 + i for i in range(5)]


def test_a_log_integer_range_of_huge_ints_is_quick():
    spec = dict(param_type="INTEGER", param_range=(1, 10**999), num_samples=20, space_type="LOG")
    points = Parameter("n", spec).grid()
    assert len(points) == 20 and points[0] == 1 and points[-1] == 10**999
    assert points == sorted(set(points))


@pytest.mark.parametrize(
    "bound", [10**1000, 10**5000, -(10**5000)], ids=["e1000", "e5000", "-e5000"]
)
def test_integer_bounds_past_1000_digits_are_refused_readably(bound):
    low, high = sorted((bound, 0))
    spec = dict(param_type="INTEGER", param_range=(low, high), num_samples=3)
    with pytest.raises(SearchSpaceError, match=r"~10\*\*\d+.*at most 1,000 digits"):
        Parameter("n", spec)


def test_the_grid_limit_counts_distinct_integer_points():
    spaces = {
        "a": dict(param_type="INTEGER", param_range=(1, 8), num_samples=2000),
        "b": dict(param_type="INTEGER", param_range=(1, 16), num_samples=2000),
    }
    assert len(SearchSpace(spaces).grid()) == 8 * 16


def test_a_search_space_containing_itself_is_refused_naming_where():
    spaces = {"optimizer": {}}
    spaces["optimizer"]["inner"] = spaces["optimizer"]
    with pytest.raises(SearchSpaceError, match=r"'optimizer.inner'.*contains itself"):
        SearchSpace(spaces)


def test_sections_nest_up_to_the_limit_and_deeper_is_refused_up_front():
    """A trial's config nests as deep as its space: past the limit, tracking it and
    telling its provenance would exhaust the stack after every trial had run."""
    from ato.hyperopt.space import DEPTH_LIMIT

    def nested(depth: int) -> dict:
        spaces: dict = {"lr": dict(param_type="FLOAT", param_range=(0.0, 1.0), num_samples=2)}
        for _ in range(depth):
            spaces = {"s": spaces}
        return spaces

    (parameter,) = SearchSpace(nested(DEPTH_LIMIT - 1)).parameters
    assert parameter.name == "s." * (DEPTH_LIMIT - 1) + "lr"
    with pytest.raises(SearchSpaceError, match=f"more than {DEPTH_LIMIT} levels deep"):
        SearchSpace(nested(5000))


def test_a_narrow_integer_range_with_a_huge_num_samples_is_every_integer_not_built():
    """Up to the limit or past it, more points than the range holds are all of it (the
    limit refused 1,000,001 points on a range of 3 while it took 1,000,000)."""
    for count in (10**6, 10**6 + 1, 10**9):
        spec = dict(param_type="INTEGER", param_range=(0, 10), num_samples=count)
        assert Parameter("n", spec).grid() == list(range(11))


def test_a_wide_integer_range_with_a_huge_num_samples_is_refused_not_built():
    spec = dict(param_type="INTEGER", param_range=(0, 10**12), num_samples=10**9)
    with pytest.raises(SearchSpaceError, match="num_samples is 1,000,000,000"):
        Parameter("n", spec).grid()


def test_a_narrow_log_range_far_out_keeps_every_integer():
    low = 10**40 + 1
    spec = dict(param_type="INTEGER", param_range=(low, low + 4), num_samples=5, space_type="LOG")
    parameter = Parameter("n", spec)
    assert [p - low for p in parameter.grid()] == [0, 1, 2, 3, 4]
    samples = {parameter.sample_unit(u / 100) - low for u in range(100)}
    assert samples == {0, 1, 2, 3, 4}


@pytest.mark.parametrize(
    "spec",
    [
        dict(param_type="FLOAT", param_range=(0.0, 1.0), num_samples=10**5000),
        dict(param_type="INTEGER", param_range=(0, 10**900), num_samples=10**5000),
    ],
    ids=["float", "integer"],
)
def test_a_num_samples_past_python_digit_limit_is_refused_readably(spec):
    with pytest.raises(SearchSpaceError, match=r"a grid of ~10\*\*(5000|900) points"):
        SearchSpace({"lr": spec}).grid()
    with pytest.raises(SearchSpaceError, match=r"num_samples is ~10\*\*5000; a grid takes"):
        Parameter("lr", spec).grid()


def test_a_grid_whose_size_has_thousands_of_digits_is_refused_readably():
    spec = dict(param_type="INTEGER", param_range=(0, 10**900), num_samples=10**900)
    with pytest.raises(SearchSpaceError, match=r"a grid of ~10\*\*4500 points .*'p4' ~10\*\*900"):
        SearchSpace({f"p{i}": spec for i in range(5)}).grid()


@pytest.mark.parametrize("categories", [range(10**5000), range(2_000_000)], ids=["huge", "2e6"])
def test_more_categories_than_a_search_can_try_are_refused(categories):
    spec = dict(param_type="CATEGORY", categories=categories)
    message = r"'model': categories has more than 1,000,000 values .*; a search"
    with pytest.raises(SearchSpaceError, match=message):
        Parameter("model", spec)


@pytest.mark.parametrize(
    "base", [10**5000, math.inf, math.nan, "10"], ids=["e5000", "inf", "nan", "str"]
)
def test_a_base_that_is_no_finite_float_is_refused(base):
    spec = dict(param_type="FLOAT", param_range=(1e-3, 1.0), num_samples=3, space_type="LOG",
                base=base)  # fmt: skip
    with pytest.raises(SearchSpaceError, match=r"'lr': base is .*a number > 0 other than 1"):
        Parameter("lr", spec)


def test_numpy_numbers_are_taken_as_the_numbers_they_stand_for():
    bounds = (np.int64(16), np.int64(128))
    spec = dict(param_type="INTEGER", param_range=bounds, num_samples=np.int64(3),
                space_type="LOG", base=np.float64(2.0))  # fmt: skip
    assert Parameter("b", spec).grid() == [16, 45, 128]
    floats = dict(param_type="FLOAT", param_range=(np.float32(0.5), np.int32(2)), num_samples=2)
    assert Parameter("f", floats).grid() == [0.5, 2.0]
    with pytest.raises(SearchSpaceError, match=r"num_samples is 2\.5"):
        Parameter("n", dict(param_type="INTEGER", param_range=(1, 3), num_samples=2.5))


@pytest.mark.parametrize(
    ("spaces", "message"),
    [
        ({"a.b": CAT(1, 2), "a": {"b": CAT(3, 4)}}, r"'a\.b': is given twice"),
        ({"a": CAT(1, 2), "a.b": CAT(3, 4)}, r"'a': is searched as a value, and 'a\.b'"),
        ({"a": CAT(1, 2), "a.b.c": CAT(3, 4)}, r"'a': is searched as a value, and 'a\.b\.c'"),
    ],
)
def test_a_key_searched_twice_is_refused_naming_it(spaces, message):
    with pytest.raises(SearchSpaceError, match=message):
        SearchSpace(spaces)


def test_float_grids_stay_in_their_range_with_distinct_points():
    top = sys.float_info.max
    wide = Parameter("w", dict(param_type="FLOAT", param_range=(-top, top), num_samples=5))
    points = wide.grid()
    assert points[0] == -top and points[2] == 0.0 and points[-1] == top
    assert points == sorted(set(points)) and math.isclose(points[3], top / 2)
    low, high = 1.00000000000001, 1.00000000000004
    narrow = Parameter("n", dict(param_type="FLOAT", param_range=(low, high), num_samples=4))
    points = narrow.grid()
    assert len(set(points)) == 4 and all(low <= p <= high for p in points)
    assert points[0] == low and points[-1] == high
    # Rounding to 12 digits still cleans what exp(log(...)) leaves.
    spec = dict(param_type="FLOAT", param_range=(1e-4, 1e-1), num_samples=4, space_type="LOG")
    log = Parameter("l", spec)
    assert log.grid() == [1e-4, 1e-3, 1e-2, 1e-1]
    samples = [wide.sample_unit(u / 10) for u in range(10)]
    assert all(-top <= s <= top and math.isfinite(s) for s in samples)
    assert len(set(samples)) == 10


class _NoRepr:
    def __repr__(self):
        raise RuntimeError("no repr")


def test_categories_are_described_whatever_their_repr_does():
    huge = 10**5000
    described = SearchSpace({"c": CAT(huge, 7, _NoRepr())}).describe()
    assert len(described["c"]["categories"]) == 3
    assert described == SearchSpace({"c": CAT(huge, 7, _NoRepr())}).describe()
    assert described != SearchSpace({"c": CAT(huge + 1, 7, _NoRepr())}).describe()


SET_CATEGORIES = """
from ato.hyperopt.space import SearchSpace
spec = dict(param_type="CATEGORY", categories=[frozenset({"age", "income", "zip"}), {"a", "b"}])
print(SearchSpace({"features": spec}).describe())
"""


def test_set_categories_are_described_alike_whatever_the_hash_seed():
    from tests.programs import outputs_under_hash_seeds

    described = outputs_under_hash_seeds(SET_CATEGORIES, ("1", "2", "3", "4"))
    assert len(described) == 1


def test_equal_categories_of_different_types_are_not_duplicates():
    space = SearchSpace({"x": dict(param_type="CATEGORY", categories=[1, 1.0, True, "1"])})
    assert len(space.grid()) == 4
    assert len(SearchSpace({"x": CAT(0.0, -0.0)}).grid()) == 2  # two points, bit for bit
    with pytest.raises(SearchSpaceError, match="twice"):
        SearchSpace({"x": CAT(float("nan"), float("nan"))})


def test_a_narrow_log_integer_grid_moves_repeated_points_up_instead_of_dropping_them():
    spec = dict(param_type="INTEGER", param_range=(1, 6), num_samples=5, space_type="LOG")
    assert Parameter("n", spec).grid() == [1, 2, 3, 4, 6]  # rounded: 1, 2, 2, 4, 6

"""ato.errors: how values read in messages."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ato.message_text import long_int, shown


def test_a_one_item_tuple_reads_as_one():
    assert shown((1,)) == "(1,)" and shown((1, 2)) == "(1, 2)" and shown([1]) == "[1]"


@given(st.integers(min_value=-(10**40), max_value=10**40))
def test_long_int_gives_short_ints_whole_and_long_ones_by_their_ends(number):
    text = long_int(number)
    digits = len(str(abs(number)))
    if digits <= 12:
        assert text == str(number)
    else:
        head, rest = text.lstrip("-").split("…")
        assert str(abs(number)).startswith(head) and rest.startswith(str(abs(number))[-6:])
        assert rest.endswith(f"({digits:,} digits)") and text.startswith("-") == (number < 0)


@pytest.mark.parametrize(
    "number", [10**5000, 10**5000 + 1, -(10**4999) * 7], ids=["e5000", "e5000+1", "-7e4999"]
)
def test_long_int_reads_ints_python_will_not_print(number):
    text = long_int(number)
    assert text.endswith("digits)") and len(text) < 40
    assert long_int(10**5000) != long_int(10**5000 + 1)

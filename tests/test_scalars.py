"""The scalar table: both dialects, the rows where they differ, and writing."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ato import parser, xyz
from ato.errors import ArgumentTypeError, InvalidArgumentError
from ato.scalars import (
    COMMAND_LINE,
    DIALECTS,
    RULES,
    XYZ_2X,
    format_word,
    read_word,
    reads_as_string,
)
from tests.strategies import texts

NAN = object()  # stands for "a NaN" in the table below

# word, command line, XYZ (as 2.x read it)
TABLE = [
    ("None", None, None),
    ("none", None, None),
    ("null", None, "null"),
    ("NONE", "NONE", None),
    ("True", True, True),
    ("true", True, True),
    ("TRUE", "TRUE", True),
    ("False", False, False),
    ("fAlse", "fAlse", False),
    ("50", 50, 50),
    ("-3", -3, -3),
    ("+3", 3, 3),
    ("0", 0, 0),
    ("007", "007", 7),
    ("1_000", "1_000", "1_000"),
    ("1e-3", 0.001, 0.001),
    (".5", 0.5, 0.5),
    ("5.", 5.0, 5.0),
    ("1E5", 100000.0, 100000.0),
    ("inf", math.inf, math.inf),
    ("-inf", -math.inf, -math.inf),
    ("Infinity", "Infinity", math.inf),
    ("INF", "INF", math.inf),
    ("nan", NAN, NAN),
    ("NaN", "NaN", NAN),
    ("1.2.3", "1.2.3", "1.2.3"),
    ("resnet50", "resnet50", "resnet50"),
    ("e5", "e5", "e5"),
]


def _same(a: object, b: object) -> bool:
    if b is NAN:
        return isinstance(a, float) and math.isnan(a)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize(("word", "command_line", "xyz_2x"), TABLE, ids=[r[0] for r in TABLE])
def test_the_table(word, command_line, xyz_2x):
    assert _same(read_word(word, COMMAND_LINE), command_line)
    assert _same(read_word(word, XYZ_2X), xyz_2x)


@pytest.mark.parametrize(("word", "command_line", "xyz_2x"), TABLE, ids=[r[0] for r in TABLE])
def test_the_parser_and_the_xyz_reader_follow_the_table(word, command_line, xyz_2x):
    assert _same(parser.parse_value(word), command_line)
    assert _same(xyz.loads(f"k: {word}")["k"], xyz_2x)


def test_rules_are_named_and_the_default_dialect_is_the_command_line():
    assert [rule.name for rule in RULES] == ["null", "boolean", "integer", "float"]
    assert read_word("007") == "007"


def test_unknown_dialect_and_unwritable_values():
    with pytest.raises(InvalidArgumentError, match="Unknown scalar dialect 'yaml'"):
        read_word("1", "yaml")
    with pytest.raises(ArgumentTypeError, match="not str"):
        format_word("x")  # type: ignore[arg-type]


numbers = st.one_of(st.none(), st.booleans(), st.integers(), st.floats())


@given(numbers)
def test_every_word_the_table_writes_reads_back_equal_in_both_dialects(value):
    word = format_word(value)
    for dialect in DIALECTS:
        back = read_word(word, dialect)
        if isinstance(value, float) and math.isnan(value):
            assert isinstance(back, float) and math.isnan(back)
        else:
            assert type(back) is type(value) and back == value


@given(texts)
def test_a_string_the_table_lets_stand_bare_reads_back_as_itself_in_both_dialects(text):
    if reads_as_string(text):
        for dialect in DIALECTS:
            assert read_word(text, dialect) == text


@given(st.one_of(numbers.filter(lambda v: v == v), texts))
def test_xyz_and_command_line_writers_agree_with_both_dialects(value):
    assert xyz.loads(xyz.dumps({"k": value})) == {"k": value}
    assert parser.parse_value(parser.format_value(value)) == value


@pytest.mark.parametrize("text", ["null", "007", "TRUE", "Infinity"])
def test_strings_read_differently_by_the_dialects_are_quoted_by_both_writers(text):
    assert xyz.dumps({"k": text}) == f'k: "{text}"\n'
    assert parser.format_value(text) == f"'{text}'"


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("word", ["1" * 5000, "-" + "9" * 4301], ids=["5000 digits", "4301"])
def test_an_integer_too_long_for_python_raises_saying_so(dialect, word):
    with pytest.raises(InvalidArgumentError, match="digits, more than Python reads") as raised:
        read_word(word, dialect)
    assert len(str(raised.value)) < 200


def test_a_float_literal_past_a_floats_range_raises_and_infinity_words_do_not():
    with pytest.raises(InvalidArgumentError, match="beyond a float's range"):
        read_word("1e999")
    assert read_word("inf") == math.inf and read_word("1e308") == 1e308
    assert read_word("1e-999") == 0.0  # underflow to zero is a float's rounding, not a typo
    assert parser.format_value("1e999") == "'1e999'"  # written as text, it reads back


def test_xyz_files_refuse_a_float_past_its_range_too():
    with pytest.raises(InvalidArgumentError, match="beyond a float's range"):
        read_word("1e999", XYZ_2X)
    assert read_word("inf", XYZ_2X) == math.inf and read_word("-Infinity", XYZ_2X) == -math.inf

"""Scalars written as bare words: one table of rules, read in two dialects.

The command line (:mod:`ato.parser`) and XYZ files (:mod:`ato.xyz`) both turn an unquoted
word into None, a bool, an int, a float, or the word itself, by the rules below. The
``COMMAND_LINE`` column is ato's grammar. The ``XYZ_2X`` column is what ato 2.x's XYZ
reader did, kept for XYZ files so that a file written by 2.x reads as it always has (2.x
wrote some strings bare, and its reader turned ``TRUE`` or ``007`` into a bool and an int):

==========  ====================================  =========================================
rule        ``COMMAND_LINE``                      ``XYZ_2X``
==========  ====================================  =========================================
null        ``none``, ``null``, ``None``          ``none`` in any case; ``null`` is a string
boolean     ``true``/``True``, ``false``/``False``  ``true``/``false`` in any case (``TRUE``)
integer     ``50``, ``-3``; ``007`` is a string   leading zeros too: ``007`` is 7
float       ``1e-3``, ``.5``, ``5.``, ``inf``,    also ``Infinity``, ``INF``, ``NaN``,
            ``-inf``, ``nan``                     ``+nan`` (any case)
otherwise   the word itself                       the word itself
==========  ====================================  =========================================

Writing is one way for both: :func:`format_word` writes None, bools, ints and floats so
that both dialects read them back equal, and :func:`reads_as_string` says whether a
string may be written bare, which it may only when both dialects read it as itself
(``'007'``, ``'null'``, ``'TRUE'`` and ``'Infinity'`` must be quoted).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from ato.errors import ArgumentTypeError, InvalidArgumentError

__all__ = [
    "COMMAND_LINE",
    "DIALECTS",
    "RULES",
    "XYZ_2X",
    "ScalarRule",
    "format_word",
    "read_word",
    "reads_as_string",
]

#: ato's grammar: the command line, and what ato writes.
COMMAND_LINE = "command line"
#: How ato 2.x's XYZ reader read a word; XYZ files are read this way.
XYZ_2X = "xyz 2.x"
DIALECTS = (COMMAND_LINE, XYZ_2X)

_NO = object()  # a rule's answer when the word is not its kind
Reader = Callable[[str], Any]


class ScalarRule:
    """One row of the table: a kind of word and how each dialect reads it (a reader
    returns the value, or a private marker when the word is not of this kind)."""

    __slots__ = ("command_line", "name", "xyz_2x")

    def __init__(self, name: str, command_line: Reader, xyz_2x: Reader) -> None:
        self.name, self.command_line, self.xyz_2x = name, command_line, xyz_2x

    def reader(self, dialect: str) -> Reader:
        return self.command_line if dialect == COMMAND_LINE else self.xyz_2x

    def __repr__(self) -> str:
        return f"ScalarRule({self.name!r})"


def _exact(table: dict[str, Any]) -> Reader:
    return lambda word: table.get(word, _NO)


def _any_case(table: dict[str, Any]) -> Reader:
    return lambda word: table.get(word.lower(), _NO)


def _digits(text: str) -> bool:
    return bool(text) and all("0" <= c <= "9" for c in text)


def _integer(word: str) -> int:
    """``int(word)`` for a word already known to be an integer; a word of more digits than
    Python converts (``sys.get_int_max_str_digits()``) raises saying so."""
    try:
        return int(word)
    except ValueError:
        raise InvalidArgumentError(
            f"the integer {word[:12]}... has {len(word)} digits, more than Python reads "
            f"as a number; quote it to keep it as text"
        ) from None


def _decimal_integer(word: str) -> Any:
    body = word[1:] if word[:1] in "+-" else word
    # Leading zeros make an identifier (007, 00123), not a number.
    if _digits(body) and (body == "0" or body[0] != "0"):
        return _integer(word)
    return _NO


_FLOAT_WORDS = {"inf": math.inf, "+inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def _decimal_float(word: str) -> Any:
    if word in _FLOAT_WORDS:
        return _FLOAT_WORDS[word]
    body = word[1:] if word[:1] in "+-" else word
    mantissa, e, exponent = body.replace("E", "e").partition("e")
    if e and not _digits(exponent[1:] if exponent[:1] in "+-" else exponent):
        return _NO
    whole, dot, fraction = mantissa.partition(".")
    if not dot:
        return _finite(word) if e and _digits(whole) else _NO
    if (
        (_digits(whole) or not whole)
        and (_digits(fraction) or not fraction)
        and (whole or fraction)
    ):
        return _finite(word)
    return _NO


def _finite(word: str) -> float:
    """``float(word)`` for a finite literal; one past a float's range (``1e999``) raises
    rather than silently becoming inf."""
    value = float(word)
    if math.isinf(value):
        raise InvalidArgumentError(
            f"{word[:20]} is beyond a float's range (about 1.8e308); write inf for "
            f"infinity, or quote it to keep it as text"
        )
    return value


# 2.x's XYZ reader: \d is any Unicode decimal digit, as int() and float() accept.
_XYZ_INT = re.compile(r"[-+]?\d+\Z")
_XYZ_FLOAT = re.compile(
    r"[-+]?(?:(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|inf(?:inity)?|nan)\Z", re.IGNORECASE
)


def _xyz_integer(word: str) -> Any:
    return _integer(word) if _XYZ_INT.match(word) else _NO


def _xyz_float(word: str) -> Any:
    if not _XYZ_FLOAT.match(word):
        return _NO
    bare = word.lstrip("+-").lower()
    return float(word) if bare in ("inf", "infinity", "nan") else _finite(word)


#: The table, in the order rules are tried.
RULES = (
    ScalarRule(
        "null", _exact({"none": None, "null": None, "None": None}), _any_case({"none": None})
    ),
    ScalarRule(
        "boolean",
        _exact({"true": True, "True": True, "false": False, "False": False}),
        _any_case({"true": True, "false": False}),
    ),
    ScalarRule("integer", _decimal_integer, _xyz_integer),
    ScalarRule("float", _decimal_float, _xyz_float),
)
_READERS = {dialect: tuple(rule.reader(dialect) for rule in RULES) for dialect in DIALECTS}


def read_word(word: str, dialect: str = COMMAND_LINE) -> Any:
    """The value of an unquoted ``word`` in ``dialect``: None, a bool, an int, a float,
    or ``word`` itself. An integer too long for Python raises InvalidArgumentError."""
    try:
        readers = _READERS[dialect]
    except KeyError:
        raise InvalidArgumentError(
            f"Unknown scalar dialect {dialect!r}; use one of {', '.join(DIALECTS)}."
        ) from None
    for read in readers:
        value = read(word)
        if value is not _NO:
            return value
    return word


def reads_as_string(text: str) -> bool:
    """Whether every dialect reads ``text``, unquoted, as the string ``text``."""
    try:
        return all(type(read_word(text, dialect)) is str for dialect in DIALECTS)
    except InvalidArgumentError:  # a number too large to read: no string as it stands
        return False


def format_word(value: bool | float | None) -> str:
    """``value`` as a word that every dialect reads back as an equal value (a NaN as a
    NaN)."""
    if value is None or isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return repr(float(value))  # 'inf' and '-inf' for the infinities
    raise ArgumentTypeError(
        f"format_word() writes None, bools, ints and floats, not {type(value).__name__}: "
        f"{value!r:.60}"
    )

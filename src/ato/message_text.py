"""How values and names read in messages: a value shown short (an int of thousands of
digits as ``~10**N``, a failing repr as its type), a count, an error's first line, and
the names most like a misspelled one ("Did you mean ...?")."""

from __future__ import annotations

import math
import traceback
from collections.abc import Iterable
from typing import Any

__all__ = [
    "LONG_INT_BITS",
    "close_matches",
    "counted",
    "did_you_mean",
    "first_line",
    "long_int",
    "repr_of",
    "shown",
]


def did_you_mean(word: str, candidates: Iterable[object]) -> str:
    """Return `` Did you mean 'x'?`` for the closest candidates, or an empty string.

    Besides spelling (difflib), a candidate matches when it shares a ``_``-separated word
    with ``word`` (``lr_rate`` -> ``lr``) or one is a prefix of the other.
    """
    matches = close_matches(word, candidates)
    if not matches:
        return ""
    if len(matches) == 1:
        return f" Did you mean '{matches[0]}'?"
    quoted = ", ".join(f"'{m}'" for m in matches[:-1])
    return f" Did you mean {quoted} or '{matches[-1]}'?"


def shown(value: Any) -> str:
    """``value`` for a message: an int too long to print in full as ``~10**N``; a failing
    repr as the type's name."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 66:
        sign = "-" if value < 0 else ""
        return f"{sign}~10**{int(abs(value).bit_length() * math.log10(2))}"
    if isinstance(value, (tuple, list)) and len(value) <= 4:
        inner = ", ".join(shown(item) for item in value)
        if isinstance(value, list):
            return f"[{inner}]"
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    try:
        text = repr(value)
    except Exception:  # a repr that raises, or an int past Python's digit limit
        return f"<{type(value).__name__}>"
    return text if len(text) <= 80 else text[:77] + "..."


#: Ints longer than this (about 3,900 digits) are near what Python will print in decimal
#: (4,300 digits, ``sys.set_int_max_str_digits``): stored and shown otherwise.
LONG_INT_BITS = 13_000


def repr_of(value: Any) -> str:
    """``repr(value)`` in full; when Python will not give it (an int past its digit
    limit, a repr that raises), :func:`long_int` or :func:`shown`'s stand-in."""
    try:
        return repr(value)
    except Exception:
        is_int = isinstance(value, int) and not isinstance(value, bool)
        return long_int(value) if is_int else shown(value)


def first_line(error: BaseException) -> str:
    """The first line of ``error`` as Python prints it: ``OSError: disk full``."""
    lines = "".join(traceback.format_exception_only(error)).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def long_int(number: int) -> str:
    """An int of thousands of digits, which Python will not print (4,300 at most), as its
    first and last digits and its length: ``100000…000001 (5,001 digits)``; two such
    ints read apart unless they differ only in the middle."""
    size = abs(number)
    digits = int(size.bit_length() * math.log10(2))
    if 10**digits <= size:
        digits += 1
    if digits <= 12:
        return str(number)
    sign = "-" if number < 0 else ""
    return f"{sign}{size // 10 ** (digits - 6)}…{size % 10**6:06d} ({digits:,} digits)"


def counted(number: int) -> str:
    """A count for a message, in thousands (``1,000,000``), or ``~10**N`` when too long."""
    return shown(number) if number.bit_length() > 66 else f"{number:,}"


def close_matches(word: str, candidates: Iterable[object], limit: int = 3) -> list[str]:
    """The candidates most like ``word``, best first."""
    from difflib import SequenceMatcher

    lowered = word.lower()
    words = {part for part in lowered.replace("-", "_").split("_") if len(part) >= 2}
    scored: list[tuple[float, str]] = []
    for name in candidates:
        if not isinstance(name, str) or name == word:
            continue
        other = name.lower()
        score = SequenceMatcher(None, lowered, other).ratio()
        if other == lowered:
            score = 1.0
        elif words & {part for part in other.split("_") if len(part) >= 2}:
            score = max(score, 0.7)
        elif other.startswith(lowered) or lowered.startswith(other):
            score = max(score, 0.65)
        if score >= 0.6:
            scored.append((score, name))
    scored.sort(key=lambda pair: -pair[0])
    return [name for _, name in scored[:limit]]

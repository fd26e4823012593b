"""The command-line grammar of ato, read as data: nothing typed here is ever executed.

A program decorated with a scope takes tokens such as::

    python train.py high_lr lr=0.01 model.backbone=%resnet 101% layers=[64, 128] tag:=007

Each token is a view name (``high_lr``), a command (``manual``, ``print``, ``--help``) or
an override ``key=value`` with a dotted key. The first ``=`` splits key from value, and
``key:=value`` keeps the value as the exact string typed. Values are:

- ints (``50``, ``-3``) and floats (``1e-3``, ``-0.5``, ``inf``, ``nan``);
- ``true``/``false``/``True``/``False`` and ``none``/``null``/``None``
  (the ``COMMAND_LINE`` column of the table in :mod:`ato.scalars`);
- strings in quotes (``'a b'``, ``"x"``, with backslash escapes) or between ``%`` signs
  (``%any text with spaces%``);
- lists ``[...]``, tuples ``(...)`` and dicts ``{k: v}``, nested, with the same rules
  inside (a bare word inside brackets is a string);
- anything else: the string exactly as typed (``resnet50``, ``2018-11-25``,
  ``epoch=999-step=87999.ckpt``, ``/data/x%y``). A value is never retyped otherwise.

Errors are :class:`OverrideParseError`, naming the token, the key and the column; that
includes a value nested more than :data:`MAX_NESTING` brackets deep and an integer of more
digits than Python reads (quote it to keep it as text).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from ato.errors import InvalidArgumentError, OverrideParseError, UnrepresentableValueError
from ato.message_text import shown
from ato.paths import split
from ato.scalars import COMMAND_LINE, format_word, read_word, reads_as_string

__all__ = [
    "COMMANDS",
    "Command",
    "Override",
    "OverrideParseError",
    "ViewName",
    "check_key_characters",
    "format_value",
    "parse_command",
    "parse_token",
    "parse_value",
    "split_argv",
]

#: Tokens that are commands rather than view names.
COMMANDS = ("manual", "print", "--help", "-h")

#: Brackets a value may nest (a command line is typed; deeper is a mistake or an attack).
MAX_NESTING = 100

_CLOSERS = {"[": "]", "(": ")", "{": "}"}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", "'": "'", '"': '"'}


class Override:
    """``key=value`` from the command line."""

    __slots__ = ("forced_string", "key", "scope_prefixed", "token", "value")

    def __init__(
        self,
        key: str,
        value: Any,
        token: str,
        forced_string: bool = False,
        scope_prefixed: bool = False,
    ) -> None:
        self.key, self.value, self.token, self.forced_string = key, value, token, forced_string
        # The key starts with the only scope's name: that name may be the scope's prefix
        # or a key of its config, which the assembled config tells (assembly.unprefixed).
        self.scope_prefixed = scope_prefixed

    @property
    def path(self) -> list[str]:
        return list(split(self.key, allow_empty=True))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Override):
            return NotImplemented
        return (self.key, self.token) == (other.key, other.token) and _same(self.value, other.value)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Override({self.key!r}, {self.value!r})"


class ViewName(str):
    """A token naming a view (``high_lr`` or ``model.high_lr``)."""


class Command(str):
    """A token naming a command: ``manual``, ``print``, ``--help`` or ``-h``."""


# -- values ------------------------------------------------------------------------------


class _Reader:
    """Recursive descent over one value; positions are 0-based offsets into ``token``."""

    def __init__(self, token: str, key: str, offset: int) -> None:
        self.token, self.key, self.offset = token, key, offset
        self.text = token[offset:]
        self.position = 0
        self.depth = 0  # brackets open around the position
        self.opened: list[int] = []  # where each of them opened

    def fail(self, problem: str, position: int | None = None) -> OverrideParseError:
        where = self.position if position is None else position
        return OverrideParseError(self.token, problem, self.offset + where + 1, self.key)

    def peek(self) -> str:
        # "\0" stands for the end: it is never in the closer sets the callers test.
        return self.text[self.position] if self.position < len(self.text) else "\0"

    def skip_spaces(self) -> None:
        while self.position < len(self.text) and self.text[self.position].isspace():
            self.position += 1

    def top_level(self) -> Any:
        if not self.text:
            return ""
        first = self.peek()
        if first == "%":
            if len(self.text) < 2 or not self.text.endswith("%"):
                raise self.fail("unclosed '%' (write %text% for a string with spaces)", 0)
            return self.text[1:-1]  # the whole value between the outer signs
        if first in _CLOSERS or first in "'\"":
            value = self.value(closers="")
            self.skip_spaces()
            if self.position != len(self.text):
                raise self.fail(
                    f"unexpected text {self.text[self.position :]!r} after the value "
                    f"(quote the whole value to make it a string)"
                )
            return value
        return self.scalar(self.text, 0)

    def scalar(self, word: str, start: int) -> Any:
        try:
            return scalar(word)
        except InvalidArgumentError as error:  # an integer too long to read
            raise self.fail(str(error), start) from None

    def value(self, closers: str) -> Any:
        self.skip_spaces()
        if self.position >= len(self.text) and self.opened:  # x={'a': ends inside the dict
            where = self.opened[-1]
            raise self.fail(f"unclosed {self.text[where]!r}", where)
        first = self.peek()
        if first in _CLOSERS:
            return self.container()
        if first in "'\"":
            return self.quoted()
        if first == "%":
            return self.percent()
        return self.bare(closers)

    def container(self) -> Any:
        start = self.position
        opener = self.text[start]
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.fail(f"more than {MAX_NESTING} brackets nested in each other", start)
        closer = _CLOSERS[opener]
        self.opened.append(start)
        self.position += 1
        items: list[Any] = []
        entries: dict[Any, Any] = {}
        saw_comma = False
        while True:
            self.skip_spaces()
            if self.position >= len(self.text):
                raise self.fail(f"unclosed {opener!r}", start)
            if self.peek() == closer:
                self.position += 1
                break
            if self.peek() == ",":
                raise self.fail("empty item (two commas, or a comma first)")
            if opener == "{":
                key_start = self.position
                key = self.value(closers=":" + closer + ",")
                self.skip_spaces()
                if self.peek() != ":":
                    raise self.fail("expected ':' after a dict key")
                self.position += 1
                try:
                    repeated = key in entries
                except TypeError:
                    raise self.fail(
                        f"a dict key cannot be {type(key).__name__}", key_start
                    ) from None
                if repeated:  # config files refuse this too; the last would win silently
                    raise self.fail(
                        f"the key {key!r} is written twice in this dict; keep one", key_start
                    )
                entries[key] = self.value(closers="," + closer)
            else:
                items.append(self.value(closers="," + closer))
            self.skip_spaces()
            if self.peek() == ",":
                self.position += 1
                saw_comma = True
            elif self.peek() != closer:
                if self.position >= len(self.text):
                    raise self.fail(f"unclosed {opener!r}", start)
                raise self.fail(f"expected ',' or {closer!r}")
        self.depth -= 1
        self.opened.pop()
        if opener == "{":
            return entries
        if opener == "[":
            return items
        if len(items) == 1 and not saw_comma:
            return items[0]  # (x) is x, as in Python; (x,) is a tuple
        return tuple(items)

    def quoted(self) -> str:
        start = self.position
        quote = self.text[start]
        self.position += 1
        chars: list[str] = []
        while self.position < len(self.text):
            char = self.text[self.position]
            if char == "\\" and self.position + 1 < len(self.text):
                following = self.text[self.position + 1]
                chars.append(_ESCAPES.get(following, "\\" + following))
                self.position += 2
                continue
            if char == quote:
                self.position += 1
                return "".join(chars)
            chars.append(char)
            self.position += 1
        raise self.fail(f"unclosed quote {quote}", start)

    def percent(self) -> str:
        start = self.position
        end = self.text.find("%", start + 1)
        if end < 0:
            raise self.fail("unclosed '%'", start)
        self.position = end + 1
        return self.text[start + 1 : end]

    def bare(self, closers: str) -> Any:
        start = self.position
        while self.position < len(self.text) and self.text[self.position] not in closers:
            self.position += 1
        word = self.text[start : self.position].strip()
        if not word:
            raise self.fail("empty item", start)
        return self.scalar(word, start)


def scalar(word: str) -> Any:
    """An unbracketed, unquoted value: a number, a keyword, or the word itself."""
    return read_word(word, COMMAND_LINE)


def parse_value(text: str, *, token: str | None = None, key: str = "") -> Any:
    """Parse the value part of an override (what follows ``=``)."""
    token = text if token is None else token
    return _Reader(token, key, len(token) - len(text)).top_level()


# -- tokens ------------------------------------------------------------------------------


def parse_token(token: str) -> Override | ViewName | Command:
    """Classify one token and parse its value."""
    if token in COMMANDS:
        return Command(token)
    equals = token.find("=")
    if equals < 0:
        if not token or token.startswith("-"):
            raise OverrideParseError(
                token,
                "not a view name, a command (manual, print, --help) or key=value",
                1,
            )
        return ViewName(token)
    key = token[:equals]
    forced = key.endswith(":")
    if forced:
        key = key[:-1]
    if not key:
        raise OverrideParseError(token, "empty key; write key=value", 1)
    parts = split(key, allow_empty=True)
    if len(parts) > MAX_NESTING:
        raise OverrideParseError(
            token,
            f"the key is nested {len(parts)} levels deep; a command line reaches at most "
            f"{MAX_NESTING} (set deeper parts in a config file)",
            1,
            key=key[:40],
        )
    for index, part in enumerate(parts):
        if not part or part != part.strip():
            column = len(".".join(parts[:index])) + (1 if index else 0) + 1
            raise OverrideParseError(
                token, "empty or padded part in the dotted key", column, key=key
            )
    raw = token[equals + 1 :]
    value = raw if forced else parse_value(raw, token=token, key=key)
    return Override(key, value, token, forced_string=forced)


# Characters no key typed on a command line holds: each is a mistake of another kind.
_NOT_IN_KEYS = {
    "[": "an index is not read; set the whole list (layers=[64, 128])",
    "]": "an index is not read; set the whole list (layers=[64, 128])",
    "(": "a key holds no brackets",
    ")": "a key holds no brackets",
    "{": "a key holds no brackets; set a section as section={key: value}",
    "}": "a key holds no brackets; set a section as section={key: value}",
    ",": "separate words with spaces (high_lr lr=0.1), and quote a list ([1, 2])",
    "'": "quote the value, not the key (name='a b')",
    '"': "quote the value, not the key (name='a b')",
}


def check_key_characters(token: str, key: str) -> None:
    """Refuse a key holding a character no typed key holds (``layers[0]=1``), naming it
    and what to write instead. Called for keys that no view sets: a config may hold such
    a key (from a file), and then overriding it is fine."""
    for column, char in enumerate(key, start=1):
        if char in _NOT_IN_KEYS or char.isspace():
            why = _NOT_IN_KEYS.get(char, "a key has no spaces; quote the value instead")
            raise OverrideParseError(
                token, f"{char!r} in the key {shown(key)}: {why}", column, key=key[:40]
            )


def split_argv(argv: Sequence[str]) -> list[str]:
    """Join shell words that belong to one token: an unclosed ``%``, quote or bracket
    continues into the next word (the shell split ``name=%a b%`` in two)."""
    tokens: list[str] = []
    pending = ""
    for word in argv:
        pending = f"{pending} {word}" if pending else word
        if not _is_open(pending):
            tokens.append(pending)
            pending = ""
    if pending:
        tokens.append(pending)  # parse_token reports what is unclosed
    return tokens


def _is_open(token: str) -> bool:
    equals = token.find("=")
    if equals < 0 or token[:equals].endswith(":"):
        return False
    value = token[equals + 1 :]
    if value.startswith("%"):
        return value.count("%") < 2
    if not value or value[0] not in "[({'\"":
        return False
    depth = 0
    quote = ""
    index = 0
    while index < len(value):
        char = value[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "%":
            closing = value.find("%", index + 1)
            if closing < 0:
                return True
            index = closing
        elif char in _CLOSERS:
            depth += 1
        elif char in ")]}":
            depth -= 1
        index += 1
    return bool(quote) or depth > 0


def parse_command(command: str | Iterable[str]) -> list[Override | ViewName | Command]:
    """Parse a whole command line (a string, split on spaces, or a list of shell words)."""
    words = command.split() if isinstance(command, str) else list(command)
    return [parse_token(token) for token in split_argv(words)]


# -- printing values back ----------------------------------------------------------------

_SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-+@")


def format_value(value: Any) -> str:
    """Write ``value`` so that :func:`parse_value` reads it back as an equal value."""
    if value is None or isinstance(value, (bool, int, float)):
        return format_word(value)
    if isinstance(value, str):
        if value and set(value) <= _SAFE and reads_as_string(value):
            return value
        escaped = value.replace("\\", "\\\\").replace("'", "\\'")
        escaped = escaped.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
        return f"'{escaped}'"
    if isinstance(value, list):
        return "[" + ", ".join(format_value(item) for item in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(format_value(item) for item in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{format_value(k)}: {format_value(v)}" for k, v in value.items()) + "}"
        )
    raise UnrepresentableValueError(
        f"cannot write a {type(value).__name__} on the command line: {value!r:.60}"
    )


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b

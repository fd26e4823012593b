"""XYZ: ato's line-per-key text format, made to be read by people.

::

    model:
      backbone: resnet50
      layers:
        0) 64
        1) 128
    lr: 0.001
    note: "00123"
    tags: [Empty Sequence]

One ``key: value`` per line, two spaces of indentation per level, ``0)``, ``1)`` for list
items, ``[Empty Mapping]`` and ``[Empty Sequence]`` for empty containers. Scalars are
``None``, ``True``/``False``, ints, floats (``inf`` and ``nan`` too) and strings, read by
the table in :mod:`ato.scalars` in its ``XYZ_2X`` dialect (``TRUE``, ``007`` and
``Infinity`` read as 2.x read them). A string is written bare only when it reads back as
itself on the command line too; otherwise (``"00123"``, ``"True"``, ``"null"``,
``" padded"``, a line break...) it is double-quoted with JSON escapes. Keys are quoted
when they would not read back as keys. Tuples are written as lists.

Files written by ato 2.x read back as the values 2.x wrote (with the exception that 2.x
wrote some strings ambiguously, and those read as what they look like).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import IO, Any

from ato.atomic_write import write_text_atomic
from ato.errors import ConfigFileError, InvalidArgumentError, UnrepresentableValueError
from ato.scalars import XYZ_2X, format_word, read_word, reads_as_string

__all__ = ["dump", "dumps", "load", "loads"]

EMPTY_MAPPING = "[Empty Mapping]"
EMPTY_SEQUENCE = "[Empty Sequence]"
_INDENT = "  "

_INDEX = re.compile(r"(\d+)\)(?: (.*))?\Z")
_INDEX_HEAD = re.compile(r"\d+\)")


def parse_scalar(text: str) -> Any:
    """Read one XYZ scalar (the text after ``key:`` or ``0)``, already stripped)."""
    if text == EMPTY_MAPPING:
        return {}
    if text == EMPTY_SEQUENCE:
        return []
    if text.startswith('"'):
        try:
            value = json.loads(text)
        except ValueError:
            return text
        return value if isinstance(value, str) else text
    return read_word(text, XYZ_2X)


def _format_string(text: str, *, is_key: bool = False) -> str:
    """``text`` bare when it reads back as itself, else JSON-quoted."""
    bare = text != "" and text == text.strip() and text.isprintable() and not text.startswith('"')
    if is_key:
        # Keys are always read as strings, but must not look like a list item or hold ':'.
        bare = bare and ":" not in text and not _INDEX_HEAD.match(text)
    else:
        bare = bare and text not in (EMPTY_MAPPING, EMPTY_SEQUENCE) and reads_as_string(text)
    return text if bare else json.dumps(text, ensure_ascii=False)


def _format_scalar(value: Any, path: str, strict: bool) -> str:
    if value is None or isinstance(value, (bool, int, float)):
        return format_word(value)
    if isinstance(value, str):
        return _format_string(value)
    if strict:
        raise UnrepresentableValueError(
            f"XYZ cannot hold {type(value).__name__} values, found at "
            f"{path or 'the top level'}: {value!r:.60}. Convert it to a string, number, "
            f"list or mapping first.",
            key_path=path,
        )
    return _format_string(str(value))


_PLAIN_MARKS = {"key_prefix": "", "key_postfix": ":", "index_prefix": "", "index_postfix": ")"}


def _emit(
    value: Any,
    head: str,
    depth: int,
    path: str,
    out: list[str],
    strict: bool,
    marks: dict[str, str] = _PLAIN_MARKS,
) -> None:
    indent = _INDENT * depth
    prefix = f"{indent}{head}" if head else ""
    if isinstance(value, Mapping):
        if not value:
            out.append(f"{prefix} {EMPTY_MAPPING}" if head else EMPTY_MAPPING)
            return
        if head:
            out.append(prefix)
        child_depth = depth + 1 if head else depth
        for key, child in value.items():
            key_text = _format_string(str(key), is_key=True)
            child_path = f"{path}.{key}" if path else str(key)
            key_head = f"{marks['key_prefix']}{key_text}{marks['key_postfix']}"
            _emit(child, key_head, child_depth, child_path, out, strict, marks)
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append(f"{prefix} {EMPTY_SEQUENCE}" if head else EMPTY_SEQUENCE)
            return
        if head:
            out.append(prefix)
        child_depth = depth + 1 if head else depth
        for index, child in enumerate(value):
            index_head = f"{marks['index_prefix']}{index}{marks['index_postfix']}"
            _emit(child, index_head, child_depth, f"{path}[{index}]", out, strict, marks)
    else:
        text = _format_scalar(value, path, strict)
        already_quoted = isinstance(value, str) and text.startswith('"')
        if not head and not already_quoted and (":" in text or _INDEX.match(text)):
            text = json.dumps(text, ensure_ascii=False)  # a lone scalar must not look like a key
        out.append(f"{prefix} {text}" if head else text)


def dumps(obj: Any, *, strict: bool = True, format_dict: Mapping[str, str] | None = None) -> str:
    """Return ``obj`` as XYZ text.

    With ``strict=False`` a value of another type is written as its ``str()`` instead of
    raising :class:`~ato.errors.UnrepresentableValueError` (for display only).
    ``format_dict`` (2.x) changes the marks around keys and indices, e.g.
    ``{'key_prefix': '-', 'index_postfix': ']'}`` (keys ``key_prefix``, ``key_postfix``,
    ``index_prefix``, ``index_postfix``); the text then starts with one ``name -> mark``
    line per entry, as 2.x wrote it, and is for display: ``loads`` reads plain XYZ only.
    """
    out: list[str] = []
    marks = dict(_PLAIN_MARKS)
    if format_dict:
        unknown = sorted(set(format_dict) - set(_PLAIN_MARKS))
        if unknown:
            raise InvalidArgumentError(
                f"format_dict has unknown entries {unknown}; the known ones are "
                f"{sorted(_PLAIN_MARKS)}."
            )
        # 2.x: an empty postfix falls back to the plain mark.
        marks.update({k: v for k, v in format_dict.items() if v or k.endswith("prefix")})
        out.extend(f"{name} -> {mark}" for name, mark in format_dict.items())
    try:
        _emit(obj, "", 0, "", out, strict, marks)
    except RecursionError:
        raise UnrepresentableValueError(
            "the value is nested too deeply (hundreds of levels), or contains itself, for "
            "the XYZ writer; flatten it, or remove the back-reference"
        ) from None
    return "\n".join(out) + "\n"


class _Line:
    __slots__ = ("content", "indent", "number")

    def __init__(self, number: int, indent: int, content: str) -> None:
        self.number, self.indent, self.content = number, indent, content


class _Parser:
    def __init__(self, text: str, source: str | None) -> None:
        self.source = source
        self.lines = []
        # Only "\n" ends a line: splitlines() would also split on characters such as
        # U+0085 that may stand inside a quoted string.
        for number, raw in enumerate(text.split("\n"), start=1):
            raw = raw.rstrip("\r")
            stripped = raw.strip()
            if not stripped:
                continue
            self.lines.append(_Line(number, len(raw) - len(raw.lstrip()), stripped))
        self.position = 0

    def error(self, line: _Line, message: str, column: int | None = None) -> ConfigFileError:
        return ConfigFileError(message, path=self.source, line=line.number, column=column)

    def scalar(self, line: _Line, text: str) -> Any:
        try:
            return parse_scalar(text)
        except InvalidArgumentError as error:  # an integer too long to read
            raise self.error(line, str(error)) from None

    def parse(self) -> Any:
        if not self.lines:
            return {}
        first = self.lines[0]
        if self._split(first)[0] == "value":
            if len(self.lines) > 1:
                raise self.error(
                    self.lines[1], "a lone value must be the only line of an XYZ document"
                )
            return self.scalar(first, first.content)
        value = self._block(first.indent)
        if self.position < len(self.lines):
            line = self.lines[self.position]
            raise self.error(
                line,
                f"indentation of {line.indent} spaces matches no enclosing level "
                f"(expected {self.lines[0].indent})",
                column=1,
            )
        return value

    def _split(self, line: _Line) -> tuple[str, Any, str | None]:
        """Return (kind, key or index, inline value text or None) for one line."""
        content = line.content
        match = _INDEX.match(content)
        if match:
            index = match.group(1)
            # Gaps read as None (as in 2.x), so an index far past the lines is refused
            # rather than allocating a list of that length.
            if len(index) > 9 or int(index) > 2 * len(self.lines) + 1000:
                raise self.error(line, f"list index {index[:12]} is far beyond this list's items")
            return "index", int(index), match.group(2)
        if content.startswith('"'):
            try:
                key, end = json.JSONDecoder().raw_decode(content)
            except ValueError as error:
                raise self.error(line, f"unreadable quoted key: {error}", column=1) from None
            rest = content[end:]
            if not rest:
                return "value", None, content
            if not isinstance(key, str) or not rest.startswith(":"):
                raise self.error(
                    line, "expected ':' after a quoted key", column=line.indent + end + 1
                )
            inline = rest[1:].strip()
            return "key", key, inline or None
        colon = content.find(":")
        if colon < 0:
            return "value", None, content
        key = content[:colon].strip()
        inline = content[colon + 1 :].strip()
        return "key", key, inline or None

    def _block(self, indent: int) -> Any:
        """Read the sibling lines at ``indent``: one mapping, one list, or one lone value."""
        first = self.lines[self.position]
        kind = self._split(first)[0]
        if kind == "value":
            self.position += 1
            return self.scalar(first, first.content)
        items: dict[Any, Any] = {}
        origin: dict[Any, int] = {}
        while self.position < len(self.lines):
            line = self.lines[self.position]
            if line.indent < indent:
                break
            if line.indent > indent:
                raise self.error(
                    line,
                    f"indentation of {line.indent} spaces matches no enclosing level "
                    f"(expected {indent})",
                    column=1,
                )
            line_kind, key, inline = self._split(line)
            if line_kind != kind:
                expected = "a 'key: value' line" if kind == "key" else "a list item 'N) value'"
                raise self.error(
                    line,
                    f"expected {expected} like the line {first.number} above, "
                    f"found {line.content!r:.40}",
                    column=line.indent + 1,
                )
            if key in origin:
                raise self.error(
                    line, f"{key!r} appears twice (first on line {origin[key]})", column=1
                )
            origin[key] = line.number
            self.position += 1
            following = self.lines[self.position] if self.position < len(self.lines) else None
            nested = following is not None and following.indent > indent
            if inline is not None:
                if nested:
                    assert following is not None
                    raise self.error(
                        following,
                        f"{key!r} on line {line.number} already has a value, "
                        f"so it cannot hold nested lines",
                        column=1,
                    )
                items[key] = self.scalar(line, inline)
            elif nested:
                assert following is not None
                items[key] = self._block(following.indent)
            else:
                items[key] = None
        if kind == "key":
            return items
        values: list[Any] = [None] * (max(items) + 1)
        for index, value in items.items():
            values[index] = value
        return values


def loads(text: str, *, source: str | None = None) -> Any:
    """Read XYZ text; ``source`` (a file name) is used in error messages."""
    try:
        return _Parser(text, source).parse()
    except RecursionError:
        raise ConfigFileError(
            "nested too deeply to read (hundreds of levels); flatten the structure", path=source
        ) from None


def dump(obj: Any, path_or_file: str | os.PathLike[str] | IO[str]) -> None:
    """Write ``obj`` as XYZ to a path (atomically) or to an open text file."""
    text = dumps(obj)
    if isinstance(path_or_file, (str, os.PathLike)):
        write_text_atomic(path_or_file, text)
    else:
        path_or_file.write(text)


def load(path_or_file: str | os.PathLike[str] | IO[str]) -> Any:
    """Read XYZ from a path or an open text file."""
    if isinstance(path_or_file, (str, os.PathLike)):
        with open(path_or_file, encoding="utf-8") as handle:
            return loads(handle.read(), source=os.fspath(path_or_file))
    return loads(path_or_file.read(), source=getattr(path_or_file, "name", None))

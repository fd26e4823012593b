"""How the ``ato`` command writes: tables with rich on a terminal, aligned plain text when
piped, JSON with ``--json``. Commands hand it data; only it decides the look."""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import sys
from collections.abc import Sequence
from typing import IO, Any

__all__ = ["Output", "to_json"]


def _default(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return repr(value)


def _finite(value: Any) -> Any:
    # JSON has no infinity or NaN: strict parsers (jq, JavaScript) reject them.
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    # Nor does Python write an int of more than 4,300 digits.
    from ato.message_text import LONG_INT_BITS, long_int

    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and value.bit_length() > LONG_INT_BITS
    ):
        return long_int(value)
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def to_json(data: Any) -> str:
    return json.dumps(_finite(data), indent=2, default=_default, allow_nan=False)


class Output:
    """Where a command's results go (``stream``, standard output by default)."""

    def __init__(self, json_mode: bool = False, stream: IO[str] | None = None) -> None:
        self.json_mode = json_mode
        self.stream = stream or sys.stdout
        isatty = getattr(self.stream, "isatty", lambda: False)
        self.rich = not json_mode and isatty() and "NO_COLOR" not in os.environ
        self._console: Any = None

    @property
    def console(self) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(file=self.stream, highlight=False, soft_wrap=False)
        return self._console

    def json(self, data: Any) -> None:
        self.stream.write(to_json(data) + "\n")

    def line(self, text: str = "", style: str | None = None) -> None:
        if self.rich:
            from rich.text import Text

            self.console.print(Text(text, style=style or ""))
        else:
            self.stream.write(text + "\n")

    def heading(self, text: str) -> None:
        if self.rich:
            self.line(text, style="bold")
        else:
            self.stream.write(f"{text}\n{'-' * len(text)}\n")

    def code(self, text: str) -> None:
        """A unified diff or source text."""
        if self.rich:
            from rich.syntax import Syntax

            self.console.print(Syntax(text.rstrip("\n"), "diff", theme="ansi_dark"))
        else:
            self.stream.write(text if text.endswith("\n") else text + "\n")

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str = "") -> None:
        cells = [[_cell(value) for value in row] for row in rows]
        if self.rich:
            from rich.table import Table

            table = Table(title=title or None, title_justify="left", show_edge=False)
            for column in columns:
                table.add_column(column, overflow="fold")
            for row in cells:
                table.add_row(*row)
            self.console.print(table)
            return
        if title:
            self.stream.write(title + "\n")
        widths = [len(column) for column in columns]
        for row in cells:
            widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
        for row in [list(columns), *cells]:
            padded = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
            self.stream.write("  ".join(padded).rstrip() + "\n")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, _dt.datetime):
        return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(item) for item in value)
    return str(value)

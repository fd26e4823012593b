"""A config file's text, as every reader reads it: UTF-8, with an error that says how to
fix a file that is not; and float literals past a float's range, refused where found."""

from __future__ import annotations

import math

from ato.errors import ConfigFileError

__all__ = ["OutOfRange", "finite", "read_text"]


def read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except UnicodeDecodeError as error:
        raise ConfigFileError(
            f"not UTF-8 text (byte {error.start}); save the file as UTF-8", path=path
        ) from None
    except FileNotFoundError:
        raise  # ConfigFileNotFoundError is made by the caller, which knows who asked
    except IsADirectoryError:
        raise ConfigFileError("is a folder, not a file; name a config file", path=path) from None
    except OSError as error:
        raise ConfigFileError(
            f"cannot be read ({error.strerror or error}); check its permissions", path=path
        ) from None


class OutOfRange(Exception):
    """A float literal past a float's range (``1e999``), found while parsing."""

    def __init__(self, word: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(word)
        self.word, self.line, self.column = word, line, column

    def error(self, path: str, text: str) -> ConfigFileError:
        line = self.line
        if line is None:  # the parser does not say: the first line that holds the word
            index = text.find(self.word)
            line = text.count("\n", 0, index) + 1 if index >= 0 else None
        return ConfigFileError(
            f"{self.word[:20]} is beyond a float's range (about 1.8e308); write inf (.inf "
            f"in YAML, Infinity in JSON) for infinity, or quote it to keep it as text",
            path=path,
            line=line,
            column=self.column,
        )


def finite(word: str) -> float:
    """``parse_float`` for JSON and TOML: their own infinity words pass, a finite literal
    that overflows raises."""
    value = float(word)
    if math.isinf(value) and word.lstrip("+-").lower() not in ("inf", "infinity"):
        raise OutOfRange(word)
    return value

"""Config files: one table from extension to reader and writer.

Readers return plain data (dicts, lists, scalars); :class:`~ato.adict.ADict` wraps it.
Writers check every value first and name the key path of one the format cannot hold,
then write through a temporary file and an atomic rename, so a failed write never leaves
a truncated file behind.

How YAML is read (safely; ``1e-3`` as a float) is :mod:`ato.yaml_files`'s, and strings
that look like such floats are quoted when written; how every file's text is read,
:mod:`ato.file_text`'s.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ato.atomic_write import write_text_atomic
from ato.errors import (
    AtoError,
    ConfigFileError,
    ConfigFileNotFoundError,
    UnrepresentableValueError,
    UnsupportedFormatError,
)
from ato.file_text import OutOfRange, finite, read_text
from ato.yaml_files import read_yaml, yaml_classes

__all__ = ["FORMATS", "Format", "dumps", "format_for", "read", "write", "write_text_atomic"]

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class Format:
    """How to read (and maybe write) one kind of config file."""

    name: str
    extensions: tuple[str, ...]
    read: Callable[[str], Any]
    dumps: Callable[..., str] | None = None


# -- reading ---------------------------------------------------------------------------


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key written twice (``json`` keeps the last silently)."""
    mapping = dict(pairs)
    if len(mapping) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return mapping


def _json_loads(text: str, path: str, line: int | None = None) -> Any:
    """Parse JSON text from ``path`` (``line``: the line of a JSON Lines record)."""
    try:
        return json.loads(text, object_pairs_hook=_unique_pairs, parse_float=finite)
    except OutOfRange as out:
        raise out.error(path, text) from None
    except json.JSONDecodeError as error:
        where = "on this line of a JSON Lines file: " if line is not None else ""
        raise ConfigFileError(
            f"invalid JSON{' ' if where else ': '}{where}{error.msg}",
            path=path,
            line=line if line is not None else error.lineno,
            column=error.colno,
        ) from None
    except _DuplicateKey as duplicate:
        first, second = _duplicate_lines(text, duplicate.key)
        raise ConfigFileError(
            f"duplicate key {duplicate.key!r}"
            + (f" (first at line {first + (line or 1) - 1})" if first else "")
            + "; keep one of them (JSON readers would silently keep the last)",
            path=path,
            line=(second + (line or 1) - 1) if second else line,
        ) from None
    except RecursionError:
        raise ConfigFileError(_TOO_DEEP, path=path, line=line) from None
    except ValueError as error:  # e.g. an integer of more digits than Python converts
        raise ConfigFileError(f"invalid JSON: {error}", path=path, line=line) from None


_COLON = re.compile(r"\s*:")
_TOO_DEEP = "nested too deeply to read (hundreds of levels); flatten the structure"


def _duplicate_lines(text: str, key: str) -> tuple[int | None, int | None]:
    """The lines of the first and the repeated ``key`` within one JSON object of ``text``
    (valid JSON up to the repeat), found by a scan that follows strings and nesting."""
    objects: list[dict[str, int] | None] = []  # per open bracket: keys seen, or None for [
    index, line, length = 0, 1, len(text)
    while index < length:
        char = text[index]
        if char == "\n":
            line += 1
        elif char in "{[":
            objects.append({} if char == "{" else None)
        elif char in "}]":
            if objects:
                objects.pop()
        elif char == '"':
            end = index + 1
            while text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            if objects and objects[-1] is not None and _COLON.match(text, end + 1):
                name = json.loads(text[index : end + 1])
                keys = objects[-1]
                if name == key and name in keys:
                    return keys[name], line
                keys.setdefault(name, line)
            line += text.count("\n", index, end)
            index = end
        index += 1
    return None, None


def _read_json(path: str) -> Any:
    return _json_loads(read_text(path), path)


def _read_json_lines(path: str) -> list[Any]:
    text = read_text(path)
    if text.lstrip().startswith("["):  # ato 2.x read .jsonl files holding one JSON array
        return _read_json(path)  # type: ignore[no-any-return]
    return [
        _json_loads(record, path, number)
        for number, record in enumerate(text.splitlines(), start=1)
        if record.strip()
    ]


_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def _read_toml(path: str) -> Any:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib  # type: ignore[import-not-found]
    text = read_text(path)
    try:
        return tomllib.loads(text, parse_float=finite)
    except OutOfRange as out:
        raise out.error(path, text) from None
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        where = _TOML_POSITION.search(message)
        raise ConfigFileError(
            f"invalid TOML: {_TOML_POSITION.sub('', message).strip()}",
            path=path,
            line=int(where.group(1)) if where else None,
            column=int(where.group(2)) if where else None,
        ) from None


def _read_xyz(path: str) -> Any:
    from ato import xyz

    return xyz.loads(read_text(path), source=path)


def _read_python(path: str) -> dict[str, Any]:
    """Run a .py config file (code by the user's own choice) and keep its plain names:
    module-level names that are not dunders, modules or functions."""
    import importlib.util
    import types

    name = f"_ato_config_{abs(hash(os.path.abspath(path)))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigFileError("cannot be loaded as a Python module", path=path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # while it runs, so dataclasses and pickling can find it
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        own = error.filename and os.path.abspath(error.filename) == os.path.abspath(path)
        if not own:  # raised by code the file runs (compile, literal_eval, an import)
            raise
        # The file itself is malformed, as a bad JSON file is.
        raise ConfigFileError(
            f"is not valid Python: {error.msg}", path=path, line=error.lineno, column=error.offset
        ) from None
    finally:
        sys.modules.pop(name, None)
    return {
        key: value
        for key, value in vars(module).items()
        if not key.startswith("__")
        and not isinstance(value, (types.ModuleType, types.FunctionType, types.BuiltinFunctionType))
    }


# -- writing ---------------------------------------------------------------------------

_JSON_SCALARS: tuple[type, ...] = (str, int, float, bool, type(None))
_YAML_SCALARS: tuple[type, ...] = (
    *_JSON_SCALARS,
    bytes,
    datetime.date,
    datetime.datetime,
)
_TOML_SCALARS: tuple[type, ...] = (
    str,
    int,
    float,
    bool,
    datetime.date,
    datetime.datetime,
    datetime.time,
)


def _plain(value: Any, scalars: tuple[type, ...], format_name: str, path: str = "") -> Any:
    """Plain dicts and lists for a writer; raise naming the key path of anything else."""
    if isinstance(value, Mapping):
        result = {}
        for key, child in value.items():
            child_path = f"{path}.{key}" if path else str(key)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise UnrepresentableValueError(
                    f"{format_name} keys must be strings, but {child_path!r} has a "
                    f"{type(key).__name__} key. Use a string key.",
                    key_path=child_path,
                )
            result[key] = _plain(child, scalars, format_name, child_path)
        return result
    if isinstance(value, (list, tuple)):
        return [
            _plain(item, scalars, format_name, f"{path}[{index}]")
            for index, item in enumerate(value)
        ]
    if isinstance(value, scalars):
        return value
    where = path or "the top level"
    if value is None:
        fix = "remove the key or give it a value; TOML has no null"
    else:
        fix = "convert it to a string, number, list or mapping first"
    raise UnrepresentableValueError(
        f"{format_name} cannot hold the {type(value).__name__} value at {where} "
        f"({value!r:.60}): {fix}.",
        key_path=path,
    )


def _dumps_json(data: Any, **options: Any) -> str:
    options.setdefault("indent", 2)
    options.setdefault("ensure_ascii", False)
    return json.dumps(_plain(data, _JSON_SCALARS, "JSON"), **options) + "\n"


def _dumps_yaml(data: Any, **options: Any) -> str:
    import yaml

    _, dumper = yaml_classes()
    options.setdefault("sort_keys", False)
    options.setdefault("allow_unicode", True)
    options.setdefault("default_flow_style", False)
    text: str = yaml.dump(_plain(data, _YAML_SCALARS, "YAML"), Dumper=dumper, **options)
    return text


def _dumps_toml(data: Any, **options: Any) -> str:
    import tomli_w

    if not isinstance(data, Mapping):
        raise UnrepresentableValueError(
            f"TOML needs a mapping at the top level, not {type(data).__name__}."
        )
    plain = _plain(data, _TOML_SCALARS, "TOML")
    return tomli_w.dumps(_string_keys(plain), **options)


def _string_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _string_keys(child) for key, child in value.items()}
    if isinstance(value, list):
        return [_string_keys(item) for item in value]
    return value


def _dumps_xyz(data: Any, **options: Any) -> str:
    from ato import xyz

    return xyz.dumps(data, **options)


FORMATS: dict[str, Format] = {
    fmt.name: fmt
    for fmt in (
        Format("json", (".json",), _read_json, _dumps_json),
        Format("jsonl", (".jsonl",), _read_json_lines),
        Format("yaml", (".yaml", ".yml"), read_yaml, _dumps_yaml),
        Format("toml", (".toml",), _read_toml, _dumps_toml),
        Format("xyz", (".xyz",), _read_xyz, _dumps_xyz),
        Format("python", (".py",), _read_python),
    )
}
_BY_EXTENSION = {ext: fmt for fmt in FORMATS.values() for ext in fmt.extensions}


def format_for(path: PathLike, *, writing: bool = False) -> Format:
    """The :class:`Format` for ``path``'s extension, or an error listing the supported ones."""
    extension = os.path.splitext(os.fspath(path))[1].lower()
    fmt = _BY_EXTENSION.get(extension)
    supported = sorted(
        ext for ext, f in _BY_EXTENSION.items() if not writing or f.dumps is not None
    )
    action = "write" if writing else "read"
    if fmt is None:
        shown = f"extension {extension!r}" if extension else "no extension"
        raise UnsupportedFormatError(
            f"cannot {action} a config file with {shown}. Supported: {', '.join(supported)}",
            path=os.fspath(path),
        )
    if writing and fmt.dumps is None:
        raise UnsupportedFormatError(
            f"{extension} files can be read but not written. Write one of: {', '.join(supported)}",
            path=os.fspath(path),
        )
    return fmt


def read(path: PathLike) -> Any:
    """Read a config file into plain data (format by extension)."""
    fmt = format_for(path)
    text_path = os.fspath(path)
    if not os.path.exists(text_path):
        raise ConfigFileNotFoundError(
            f"no such config file (working directory: {os.getcwd()})", text_path
        )
    if fmt.name == "python":
        return fmt.read(text_path)  # the user's own code: its errors are its own
    try:
        return fmt.read(text_path)
    except RecursionError:
        raise ConfigFileError(_TOO_DEEP, path=text_path) from None
    except AtoError:
        raise
    except ValueError as error:  # e.g. an integer of more digits than Python converts
        raise ConfigFileError(f"invalid {fmt.name.upper()}: {error}", path=text_path) from None


def dumps(data: Any, format_name: str, **options: Any) -> str:
    """``data`` as text in the named format (``'json'``, ``'yaml'``, ``'toml'``, ``'xyz'``)."""
    fmt = FORMATS.get(format_name)
    if fmt is None or fmt.dumps is None:
        writable = sorted(name for name, f in FORMATS.items() if f.dumps is not None)
        raise UnsupportedFormatError(
            f"cannot write format {format_name!r}; choose one of {', '.join(writable)}"
        )
    try:
        return fmt.dumps(data, **options)
    except RecursionError:
        raise UnrepresentableValueError(
            f"the value is nested too deeply (hundreds of levels), or contains itself, for "
            f"the {format_name.upper()} writer; flatten it, or remove the back-reference"
        ) from None


def write(data: Any, path: PathLike, **options: Any) -> None:
    """Write ``data`` to ``path`` (format by extension) atomically; ``options`` go to the
    underlying writer (e.g. ``indent`` for JSON)."""
    write_text_atomic(path, dumps(data, format_for(path, writing=True).name, **options))

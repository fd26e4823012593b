"""Which version of a file a loaded module was loaded from: an edit made after loading
is not what runs until the module is loaded again.

The witnesses, compared without positions (a comment or a blank line added above moves
every line, and changes nothing that runs) and without function docstrings:

- the code of the functions and methods the module holds, against each version's text
  compiled;
- the ``.pyc`` Python wrote as it imported the module (only where Python rewrites a
  stale one: with bytecode writing off, an earlier process's ``.pyc`` may name an older
  version), which also holds the module's data.

With bytecode writing off, an edit to a module's data alone (``LR = 0.1`` made ``0.5``)
after loading is not seen: its functions are what is compared.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import marshal
import os
import sys
import types
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ato.live_source import FUTURE_FLAGS

if TYPE_CHECKING:
    from ato.module_files import ModuleFile

__all__ = ["compiled_from", "version_loaded"]

_CO_OPTIMIZED = 0x1  # a function's code, not a module's or a class body's (inspect's)
_PLAIN_LOADERS = (importlib.machinery.SourceFileLoader, importlib.machinery.SourcelessFileLoader)


def version_loaded(
    module: types.ModuleType,
    filename: str,
    now: tuple[int, int],
    counted: ModuleFile,
    versions: dict[tuple[int, int], ModuleFile],
) -> ModuleFile | None:
    """The version of ``filename`` ``module`` was loaded from, among ``versions`` (by
    their ``.pyc`` stamps; ``counted``, stamped ``now``, is the file on disk); None when
    it is none of them."""
    spec = getattr(module, "__spec__", None)
    loader = getattr(spec, "loader", None)
    if loader is not None and not isinstance(loader, _PLAIN_LOADERS):
        return counted  # an import hook that rewrites the code (pytest's): it cannot tell
    running = list(_running_code(module, filename))
    cached = getattr(spec, "cached", None)
    when = compiled_from(cached)
    stored = _pyc_code(cached) if when is not None and isinstance(cached, str) else None
    if when == now and stored is not None and _holds(stored, running):
        return counted  # the .pyc of the text on disk holds what runs: nothing to compile
    witness = None  # the .pyc, where it holds the version loaded
    if when is not None and isinstance(cached, str) and _bytecode_written(cached):
        hint = counted if when == now else versions.get(when)
        if hint is not None and _holds(_compiled(hint, filename, running), running):
            return hint
        if hint is None:
            witness = stored
    for version in [counted, *(v for v in reversed(versions.values()) if v is not counted)]:
        compiled = _compiled(version, filename, running)
        if compiled is None:
            return version  # too big or not parsed: cannot tell
        if _holds(compiled, running) and (
            witness is None or _positionless(witness) == _positionless(compiled)
        ):
            return version
    return None


def compiled_from(cached: Any) -> tuple[int, int] | None:
    """(mtime, size) of the source a module's ``.pyc`` was compiled from, as its header
    records them (None: no such file, or one checked by hash, not by time)."""
    if not isinstance(cached, str):
        return None
    try:
        with open(cached, "rb") as handle:
            header = handle.read(16)
    except OSError:
        return None
    if len(header) < 16 or header[:4] != importlib.util.MAGIC_NUMBER:
        return None
    if int.from_bytes(header[4:8], "little") != 0:  # a hash-based .pyc
        return None
    return int.from_bytes(header[8:12], "little"), int.from_bytes(header[12:16], "little")


def _bytecode_written(cached: str) -> bool:
    """Whether importing writes ``cached`` (a .pyc) when it is stale."""
    if sys.dont_write_bytecode:
        return False
    folder = os.path.dirname(cached)
    return os.access(folder if os.path.isdir(folder) else os.path.dirname(folder), os.W_OK)


def _pyc_code(cached: str) -> types.CodeType | None:
    """The module code a .pyc holds; None if it cannot be read (truncated, garbage)."""
    try:
        with open(cached, "rb") as handle:
            stored = marshal.loads(handle.read()[16:])  # builds code objects, runs nothing
    except Exception:
        return None
    return stored if isinstance(stored, types.CodeType) else None


def _compiled(
    version: ModuleFile, filename: str, running: list[types.CodeType]
) -> types.CodeType | None:
    """``version``'s text compiled as its functions were: with their future features (a
    module run by exec() may inherit its caller's). None if it cannot be."""
    if version.source is None:
        return None
    features = running[0].co_flags & FUTURE_FLAGS if running else 0
    try:
        code: types.CodeType = compile(
            version.source, filename, "exec", flags=features, dont_inherit=True
        )
        return code
    except (SyntaxError, ValueError, TypeError):
        return None


def _holds(compiled: types.CodeType | None, running: list[types.CodeType]) -> bool:
    """Whether ``compiled`` defines the code of each function in ``running`` that it
    defines by name (one it lacks, made by exec() or left by importlib.reload, cannot
    tell)."""
    if compiled is None:
        return True
    defined: dict[str, set[types.CodeType]] = {}
    waiting = [compiled]
    while waiting:
        for constant in waiting.pop().co_consts:
            if isinstance(constant, types.CodeType):
                defined.setdefault(_name(constant), set()).add(_positionless(constant))
                waiting.append(constant)
    for code in running:
        twins = defined.get(_name(code))
        if twins is not None and _positionless(code) not in twins:
            return False
    return True


def _name(code: types.CodeType) -> str:
    return getattr(code, "co_qualname", code.co_name)  # 3.11+: Net.forward, not forward


def _positionless(code: types.CodeType) -> types.CodeType:
    """``code`` without line and column positions, nor a function's docstring: equal for
    two versions of a file that differ only in layout, comments or docstrings."""
    consts = [_positionless(c) if isinstance(c, types.CodeType) else c for c in code.co_consts]
    # A named function's first constant is its docstring or None (Python 3.10 to 3.13).
    function = code.co_flags & _CO_OPTIMIZED and not code.co_name.startswith("<")
    if function and consts and isinstance(consts[0], str):
        consts[0] = None
    if "__firstlineno__" in code.co_names:  # a class body on 3.13+ stores its first line
        for index in _first_line_constants(code):
            consts[index] = 0
    return code.replace(co_firstlineno=1, co_linetable=b"", co_consts=tuple(consts))


def _first_line_constants(code: types.CodeType) -> list[int]:
    """Where in ``code.co_consts`` the line stored as ``__firstlineno__`` is."""
    import dis

    found, previous = [], None
    for instruction in dis.get_instructions(code):
        stored = instruction.opname == "STORE_NAME" and instruction.argval == "__firstlineno__"
        if stored and previous is not None and previous.opname == "LOAD_CONST":
            found.append(previous.arg)
        previous = instruction
    return [index for index in found if index is not None]


def _running_code(module: types.ModuleType, filename: str) -> Iterator[types.CodeType]:
    """The code objects of the functions ``module`` holds, and of the methods of the
    classes it defines (properties, static and class methods too), compiled from
    ``filename``."""
    name = module.__name__
    seen: set[int] = set()
    waiting: list[Any] = [module]
    while waiting:
        holder = waiting.pop()
        try:
            values = list(vars(holder).values())
        except Exception:  # a class whose __dict__ cannot be listed
            continue
        for value in values:
            try:  # a lazy proxy's attributes may raise anything
                code = _code_of(value, name, filename, seen, waiting)
            except Exception:
                continue
            yield from code


def _code_of(
    value: Any, module: str, filename: str, seen: set[int], waiting: list[Any]
) -> list[types.CodeType]:
    if isinstance(value, type):
        if value.__module__ == module and id(value) not in seen:
            seen.add(id(value))
            waiting.append(value)
        return []
    if isinstance(value, (staticmethod, classmethod)):
        value = value.__func__
    functions = [value.fget, value.fset, value.fdel] if isinstance(value, property) else [value]
    return [
        function.__code__
        for function in functions
        if isinstance(function, types.FunctionType)
        and function.__code__.co_filename == filename
        and function.__module__ == module
    ]

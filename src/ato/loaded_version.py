"""Which version of a file a loaded module was loaded from: an edit made after loading
is not what runs until the module is loaded again.

The witnesses, compared without positions (a comment or a blank line added above moves
every line, and changes nothing that runs) and without function docstrings:

- the code of the functions and methods the module holds, against each version's text
  compiled;
- the ``.pyc`` Python wrote as it imported the module (only where Python rewrites a
  stale one: with bytecode writing off, an earlier process's ``.pyc`` may name an older
  version), which also holds the module's data.

A running function the text no longer defines (renamed or deleted since) makes the
version unknown, unless an earlier version read defines it (``importlib.reload`` leaves
a deleted function in the namespace). With bytecode writing off, an edit to a module's
data alone after loading (``LR = 0.1`` made ``0.5``, a default argument, a class
attribute) is not seen: its functions' code is what is compared.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.machinery
import importlib.util
import marshal
import os
import sys
import types
from collections.abc import Callable, Iterator
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
    features = running[0][1].co_flags & FUTURE_FLAGS if running else 0
    compiled: dict[int, types.CodeType | None] = {}

    def compiled_of(version: ModuleFile) -> types.CodeType | None:
        if id(version) not in compiled:
            compiled[id(version)] = _compiled(version, filename, features)
        return compiled[id(version)]

    everything = [counted, *(v for v in reversed(versions.values()) if v is not counted)]

    def others(version: ModuleFile) -> list[types.CodeType]:
        found = (compiled_of(other) for other in everything if other is not version)
        return [code for code in found if code is not None]

    check = _Check(running)
    cached = getattr(spec, "cached", None)
    when = compiled_from(cached)
    stored = _pyc_code(cached) if when is not None and isinstance(cached, str) else None
    if when == now and stored is not None and check.holds(stored, lambda: others(counted)):
        return counted  # the .pyc of the text on disk holds what runs: nothing to compile
    witness = None  # the .pyc, where it holds the version loaded
    if when is not None and isinstance(cached, str) and _bytecode_written(cached):
        hint = counted if when == now else versions.get(when)
        if hint is not None and check.holds(compiled_of(hint), lambda: others(hint)):
            return hint
        if hint is None:
            witness = stored
    for version in everything:
        code = compiled_of(version)
        if code is None:
            return version  # too big or not parsed: cannot tell
        if check.holds(code, functools.partial(others, version)) and (
            witness is None or check.same(witness, code)
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


def _compiled(version: ModuleFile, filename: str, features: int) -> types.CodeType | None:
    """``version``'s text compiled as its functions were: with their future features (a
    module run by exec() may inherit its caller's). None if it cannot be."""
    if version.source is None:
        return None
    try:
        code: types.CodeType = compile(
            version.source, filename, "exec", flags=features, dont_inherit=True
        )
        return code
    except (SyntaxError, ValueError, TypeError):
        return None


# qualified name (and "#" + bare name) -> the digests of the code defined under it
_Defined = dict[str, set[bytes]]


class _Check:
    """One check of a module against the versions of its file: what each version
    defines, its code stripped of positions and docstrings, each found once."""

    def __init__(self, running: list[tuple[str, types.CodeType]]) -> None:
        self.running = running
        # id -> (the code object, kept alive so that its id is not reused; its digest)
        self.digests: dict[int, tuple[types.CodeType, bytes]] = {}
        self.defined: dict[int, tuple[types.CodeType, _Defined]] = {}

    def holds(
        self, compiled: types.CodeType | None, others: Callable[[], list[types.CodeType]]
    ) -> bool:
        """Whether ``compiled`` defines the code of each running function. One it does
        not define at all (renamed or deleted since) is a mismatch, unless ``others``
        (earlier versions) define it: left in the namespace by importlib.reload."""
        if compiled is None:
            return True
        defined = self._defined(compiled)
        for name, code in self.running:
            twins = defined.get(name)
            if twins is None and any(
                self.digest(code) in self._defined(other).get(name, ()) for other in others()
            ):
                continue
            if twins is None or self.digest(code) not in twins:
                return False
        return True

    def same(self, a: types.CodeType, b: types.CodeType) -> bool:
        return self.digest(a) == self.digest(b)

    def _defined(self, compiled: types.CodeType) -> _Defined:
        known = self.defined.get(id(compiled))
        if known is not None:
            return known[1]
        defined: _Defined = {}
        waiting: list[tuple[types.CodeType, str]] = [(compiled, "")]
        while waiting:
            code, prefix = waiting.pop()
            for constant in code.co_consts:
                if isinstance(constant, types.CodeType):
                    name = getattr(constant, "co_qualname", prefix + constant.co_name)
                    digest = self.digest(constant)
                    defined.setdefault(name, set()).add(digest)
                    defined.setdefault("#" + constant.co_name, set()).add(digest)
                    inner = ".<locals>." if constant.co_flags & _CO_OPTIMIZED else "."
                    waiting.append((constant, name + inner))  # 3.10 has no co_qualname
        self.defined[id(compiled)] = (compiled, defined)
        return defined

    def digest(self, code: types.CodeType) -> bytes:
        """A digest of what ``code`` runs: without line and column positions, nor the
        docstring of a function or a class body (nor the first line a class body
        stores on 3.13), so equal for two versions of a file that differ only in
        layout, comments or docstrings. Nested code first, without recursion (generated
        code may nest past the stack), each once: comparing code objects with ``==``
        takes time exponential in their nesting."""
        waiting = [(code, False)]
        while waiting:
            node, ready = waiting.pop()
            if id(node) in self.digests:
                continue
            inner = [c for c in node.co_consts if isinstance(c, types.CodeType)]
            if not ready and inner:
                waiting.append((node, True))
                waiting.extend((c, False) for c in inner)
                continue
            consts = [_constant_key(c, self.digests) for c in node.co_consts]
            # A named function's first constant is its docstring or None (3.10 to 3.13).
            function = node.co_flags & _CO_OPTIMIZED and not node.co_name.startswith("<")
            if function and consts and isinstance(node.co_consts[0], str):
                consts[0] = _NONE
            if not node.co_flags & _CO_OPTIMIZED:
                for index in _prologue_constants(node):
                    consts[index] = _NONE
            facts = (
                node.co_name, node.co_code, node.co_names, node.co_varnames,
                node.co_freevars, node.co_cellvars, node.co_argcount,
                node.co_posonlyargcount, node.co_kwonlyargcount, node.co_flags,
                getattr(node, "co_exceptiontable", b""), consts,
            )  # fmt: skip
            self.digests[id(node)] = (node, hashlib.sha256(repr(facts).encode()).digest())
        return self.digests[id(code)][1]


_NONE = "NoneType:None"  # what a blanked docstring reads as: as if there were none


def _constant_key(value: Any, digests: dict[int, tuple[types.CodeType, bytes]]) -> str:
    """A constant as text that tells apart what ``==`` does not (1, 1.0, True; 0.0 and
    -0.0), a frozenset whatever its order, nested code by its digest."""
    if isinstance(value, types.CodeType):
        return "code:" + digests[id(value)][1].hex()
    if isinstance(value, frozenset):
        return "frozenset:" + repr(sorted(_constant_key(item, digests) for item in value))
    if isinstance(value, tuple):
        return "tuple:" + repr([_constant_key(item, digests) for item in value])
    return f"{type(value).__name__}:{value!r}"


# What a class body stores first: where it stands (3.13: __firstlineno__) and its
# docstring, neither of which runs.
_PROLOGUE = frozenset({"__firstlineno__", "__doc__"})


def _prologue_constants(code: types.CodeType) -> list[int]:
    """Where in a class body's constants its ``__doc__`` and ``__firstlineno__`` are,
    from its first few instructions (a constant shared with the body, the compiler
    merging equal ones, is left: blanking it would hide an edit)."""
    if not _PROLOGUE & set(code.co_names):
        return []
    import dis

    found, previous = [], None
    for count, instruction in enumerate(dis.get_instructions(code)):
        if count > 16:
            break
        stored = instruction.opname == "STORE_NAME" and instruction.argval in _PROLOGUE
        if stored and previous is not None and previous.opname == "LOAD_CONST":
            found.append(previous.arg)
        previous = instruction
    return [index for index in found if index is not None and _loads(code, index) == 1]


def _loads(code: types.CodeType, index: int) -> int:
    """How many instructions of ``code`` read constant ``index`` (from the raw bytecode:
    disassembling whole class bodies took four times as long as the rest)."""
    import dis

    readers = {dis.opmap[name] for name in ("LOAD_CONST", "RETURN_CONST") if name in dis.opmap}
    count, extended, raw = 0, 0, code.co_code
    for offset in range(0, len(raw), 2):
        operation, argument = raw[offset], raw[offset + 1] | extended
        extended = argument << 8 if operation == dis.EXTENDED_ARG else 0
        count += operation in readers and argument == index
    return count


def _running_code(module: types.ModuleType, filename: str) -> Iterator[tuple[str, types.CodeType]]:
    """The code objects of the functions ``module`` holds, and of the methods of the
    classes it defines (properties, static and class methods too), compiled from
    ``filename``, each with its qualified name."""
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


def _qualified_name(function: types.FunctionType) -> str:
    """The name ``function``'s code is defined under in its file: its code's (3.11+), or
    its own when that ends in its code's name; else, a wrapper functools.wraps renamed on
    3.10, by the code's bare name (``#wrapper``)."""
    code = function.__code__
    name = getattr(code, "co_qualname", None)
    if isinstance(name, str):
        return name
    own = function.__qualname__
    return own if own.rpartition(".")[2] == code.co_name else "#" + code.co_name


def _code_of(
    value: Any, module: str, filename: str, seen: set[int], waiting: list[Any]
) -> list[tuple[str, types.CodeType]]:
    if isinstance(value, type):
        if value.__module__ == module and id(value) not in seen:
            seen.add(id(value))
            waiting.append(value)
        return []
    if isinstance(value, (staticmethod, classmethod)):
        value = value.__func__
    functions = [value.fget, value.fset, value.fdel] if isinstance(value, property) else [value]
    return [
        (_qualified_name(function), function.__code__)
        for function in functions
        if isinstance(function, types.FunctionType)
        and function.__code__.co_filename == filename
        and function.__module__ == module
    ]

"""Which version of a file a loaded module was loaded from: an edit made after loading
is not what runs until the module is loaded again.

The witnesses, each digested as instructions with their operands as values (so that
positions, comments, layout and docstrings count for nothing, and a docstring added
shifts no other constant):

- the code of the functions and methods the module holds, past decorators
  (``__wrapped__``, closures, lru_cache, cached_property), against each version's text
  compiled;
- the ``.pyc`` Python wrote as it imported the module (only where Python rewrites a
  stale one: with bytecode writing off, an earlier process's ``.pyc`` may name an older
  version), which also holds the module's data.

A running function the text no longer defines (renamed or deleted since) makes the
version unknown, unless an earlier version read defines it (``importlib.reload`` leaves
a deleted function in the namespace); text that does not compile is no version. With
bytecode writing off, an edit to a module's data alone after loading (``LR = 0.1`` made
``0.5``, a default argument, a class attribute) is not seen: its functions' code is
what is compared.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.machinery
import importlib.util
import marshal
import os
import struct
import sys
import types
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ato.live_source import FUTURE_FLAGS

if TYPE_CHECKING:
    from ato.module_files import ModuleFile

__all__ = ["version_loaded"]

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
    cached: Any = getattr(spec, "cached", None)
    pyc = _pyc(cached) if isinstance(cached, str) else None
    witness = None  # the .pyc, where it holds the version loaded
    if pyc is not None:
        when, stored = pyc
        fresh = when == now and _written_after(cached, filename)
        if fresh and check.holds(stored, list):
            return counted  # the .pyc of the text on disk holds what runs: no compiling
        if _bytecode_written(cached):
            hint = counted if when == now else versions.get(when)
            if hint is not None and check.holds(compiled_of(hint), list):
                return hint
            if hint is None:
                witness = stored
    # Each version by itself first; then allowing for what an earlier version read
    # defines (a function importlib.reload left in the namespace).
    for lenient in (False, True):
        for version in everything:
            if version.source is None:
                return version  # too big to parse: cannot tell
            code = compiled_of(version)
            if code is None:
                continue  # text that does not compile is not what was loaded
            leftovers = functools.partial(others, version) if lenient else list
            if check.holds(code, leftovers) and (witness is None or check.same(witness, code)):
                return version
    return None


def _written_after(cached: str, filename: str) -> bool:
    """Whether the .pyc ``cached`` was written after ``filename`` last changed: a same-
    size edit within the second of an import gives the .pyc's stamp to other text."""
    try:
        return os.stat(cached).st_mtime_ns >= os.stat(filename).st_mtime_ns
    except (OSError, ValueError):
        return False


def _pyc(cached: str) -> tuple[tuple[int, int], types.CodeType] | None:
    """What a module's ``.pyc`` holds, read once: the (mtime, size) of the source it was
    compiled from, as its header records them, and its module code (built by marshal,
    which runs nothing). None for no such file, one checked by hash rather than by time,
    or one that cannot be read (truncated, garbage)."""
    try:
        with open(cached, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    if len(data) < 16 or data[:4] != importlib.util.MAGIC_NUMBER:
        return None
    if int.from_bytes(data[4:8], "little") != 0:  # a hash-based .pyc
        return None
    try:
        stored = marshal.loads(data[16:])
    except Exception:
        return None
    if not isinstance(stored, types.CodeType):
        return None
    return (int.from_bytes(data[8:12], "little"), int.from_bytes(data[12:16], "little")), stored


def _bytecode_written(cached: str) -> bool:
    """Whether importing writes ``cached`` (a .pyc) when it is stale."""
    if sys.dont_write_bytecode:
        return False
    folder = os.path.dirname(cached)
    return os.access(folder if os.path.isdir(folder) else os.path.dirname(folder), os.W_OK)


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
            return False
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
            facts = (
                node.co_name, _instructions(node, self.digests), node.co_varnames,
                node.co_freevars, node.co_cellvars, node.co_argcount,
                node.co_posonlyargcount, node.co_kwonlyargcount, node.co_flags,
            )  # fmt: skip
            self.digests[id(node)] = (node, hashlib.sha256(repr(facts).encode()).digest())
        return self.digests[id(code)][1]


def _instructions(
    code: types.CodeType, digests: dict[int, tuple[types.CodeType, bytes]]
) -> list[tuple[str, str]]:
    """``code``'s instructions with their operands as values, not indexes: a docstring
    (a constant no instruction reads) then counts for nothing, and adding one shifts no
    other constant. Jumps point at the instruction they reach, by its place in the list;
    a class body's or module's first stores of ``__doc__`` and ``__firstlineno__`` are
    left out (neither runs)."""
    import dis

    try:
        listed = list(dis.get_instructions(code))
    except ValueError:  # a constant whose repr Python refuses (an int of 5,000 digits)
        return [("code", code.co_code.hex())] + [
            ("const", _constant_key(constant, digests)) for constant in code.co_consts
        ]
    left_out: set[int] = set()
    if not code.co_flags & _CO_OPTIMIZED:
        for index, instruction in enumerate(listed[:-1]):
            after = listed[index + 1]
            if (
                instruction.opname == "LOAD_CONST"
                and after.opname == "STORE_NAME"
                and after.argval in _PROLOGUE
            ):
                left_out.update((index, index + 1))
    kept = [i for index, i in enumerate(listed) if index not in left_out and i.opname != "CACHE"]
    place = {instruction.offset: index for index, instruction in enumerate(kept)}
    out = []
    for instruction in kept:
        if instruction.opcode in dis.hasconst:
            operand = _constant_key(instruction.argval, digests)
        elif instruction.opcode in _jumps():
            operand = f"to {place.get(instruction.argval, -1)}"
        else:
            operand = repr(instruction.argval)
        out.append((instruction.opname, operand))
    return out


@functools.cache
def _jumps() -> frozenset[int]:
    import dis  # when first needed: not at import

    return frozenset(dis.hasjrel) | frozenset(dis.hasjabs)


def _constant_key(value: Any, digests: dict[int, tuple[types.CodeType, bytes]]) -> str:
    """A constant as text that tells apart what ``==`` does not (1, 1.0, True; 0.0 and
    -0.0; two NaNs of other signs), a frozenset whatever its order, nested code by its
    digest, an int of any size (``repr`` refuses past 4,300 digits)."""
    if isinstance(value, types.CodeType):
        return "code:" + digests[id(value)][1].hex()
    if isinstance(value, frozenset):
        return "frozenset:" + repr(sorted(_constant_key(item, digests) for item in value))
    if isinstance(value, tuple):
        return "tuple:" + repr([_constant_key(item, digests) for item in value])
    if isinstance(value, int) and not isinstance(value, bool):
        return "int:" + hex(value)
    if isinstance(value, float):
        return "float:" + struct.pack("<d", value).hex()
    return f"{type(value).__name__}:{value!r}"


# What a class body or a module stores first: its docstring and (3.13) where it stands,
# neither of which runs.
_PROLOGUE = frozenset({"__firstlineno__", "__doc__"})


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


_FOLLOWED = 64  # objects followed from one value of a module: wrappers, closures


def _code_of(
    value: Any, module: str, filename: str, seen: set[int], waiting: list[Any]
) -> list[tuple[str, types.CodeType]]:
    """The code of the module's own functions ``value`` is or holds: past decorators
    (``__wrapped__``, a closure's functions, lru_cache, cached_property, partial) and
    as properties, static and class methods; a class of the module is queued."""
    if isinstance(value, type):
        if value.__module__ == module and id(value) not in seen:
            seen.add(id(value))
            waiting.append(value)
        return []
    found = []
    reach, steps = [value], 0
    while reach and steps < _FOLLOWED:
        item = reach.pop()
        steps += 1
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, (staticmethod, classmethod)):
            reach.append(item.__func__)
            continue
        if isinstance(item, property):
            reach.extend(f for f in (item.fget, item.fset, item.fdel) if f is not None)
            continue
        if isinstance(
            item, (functools.partial, functools.partialmethod, functools.cached_property)
        ):
            reach.append(item.func)
            continue
        if isinstance(item, types.FunctionType):
            if item.__code__.co_filename == filename and item.__module__ == module:
                found.append((_qualified_name(item), item.__code__))
            for cell in item.__closure__ or ():
                try:
                    contents = cell.cell_contents
                except ValueError:  # an empty cell
                    continue
                if callable(contents) and not isinstance(contents, type):
                    reach.append(contents)
        wrapped = getattr(item, "__dict__", {}).get("__wrapped__")  # never __getattr__
        if wrapped is not None:
            reach.append(wrapped)
    return found

"""Whether a function's source file still holds the code that runs.

A file edited while a long job imports or runs gives ``inspect.getsource`` text that is
not what runs; fingerprinting that text would tie the run to code it never ran. The
definition as the file holds it now is compiled where the function was defined and its
names, constants and operators compared with the running code object.
"""

from __future__ import annotations

import ast
import itertools
import types
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ato.module_code import ModuleCode

__all__ = [
    "FUTURE_FLAGS",
    "StaleSourceError",
    "find_code",
    "module_definition",
    "same_code",
    "source_is_what_runs",
]


class StaleSourceError(OSError):
    """The function's file was edited after the function was loaded: its text is not the
    code that runs (an edit made while a long job imports or runs)."""


# Future features a module may turn on, which change how a function body compiles.
FUTURE_FLAGS = 0
for _feature in __import__("__future__").all_feature_names:
    FUTURE_FLAGS |= getattr(__import__("__future__"), _feature).compiler_flag


def source_is_what_runs(
    func: types.FunctionType,
    module: ModuleCode | None,
    node: ast.FunctionDef | ast.AsyncFunctionDef | None,
) -> bool:
    """Whether the function's definition as its file holds it now (``node``, from
    ``module``'s parse of the whole file: at its own lines, strings untouched) compiles
    to the code object that runs. Compiled where it was defined, as far as that matters:
    inside its class (name mangling, ``__class__``), inside a function that gives it its
    free variables."""
    code = func.__code__
    parts = func.__qualname__.split(".")
    owner = parts[-2] if len(parts) >= 2 and parts[-2] != "<locals>" else None
    # A segment followed by anything but '<locals>' is a class. One that is not the
    # direct owner (Model.forward.<locals>.step) mangles names and gives __class__ in a
    # way a stand-in cannot rebuild: trust the text there.
    pairs = itertools.pairwise(parts)
    classes = [part for part, after in pairs if "<locals>" not in (part, after)]
    if owner is None and classes:
        return True
    if module is None:
        return True  # no file to read (it is what getsource read): nothing to compare
    if node is None:
        return False  # no such definition at that line any more: the file changed
    statement: ast.stmt = node
    if owner:
        holder = ast.parse(f"class {owner}:\n    pass").body[0]
        assert isinstance(holder, ast.ClassDef)
        holder.body = [node]
        statement = holder
    free = [name for name in code.co_freevars if name != "__class__"]
    if free:  # inside a function that binds them, so that they stay free variables
        bound = sorted({owner or code.co_name} - set(free))
        lines = [f"global {', '.join(bound)}"] if bound else []
        lines.append(f"{' = '.join(free)} = None")
        outer = ast.parse("def __ato_outer__():\n    " + "\n    ".join(lines)).body[0]
        assert isinstance(outer, ast.FunctionDef)
        outer.body.append(statement)
        statement = outer
    try:
        compiled = compile(
            ast.Module(body=[statement], type_ignores=[]), code.co_filename, "exec",
            flags=code.co_flags & FUTURE_FLAGS, dont_inherit=True,
        )  # fmt: skip
    except (SyntaxError, ValueError, TypeError):
        return True  # cannot tell (a construct that only compiles in place): trust it
    found = find_code(compiled, code.co_name)
    return found is not None and same_code(found, code)


def find_code(code: types.CodeType, name: str) -> types.CodeType | None:
    stack = [code]
    while stack:
        current = stack.pop(0)
        if current.co_name == name and current is not code:
            return current
        stack.extend(c for c in current.co_consts if isinstance(c, types.CodeType))
    return None


_OPERATORS = ("BINARY_", "INPLACE_", "UNARY_", "COMPARE_OP", "IS_OP", "CONTAINS_OP")


def _operators(code: types.CodeType) -> list[tuple[str, str]]:
    """The operators a code object applies, in order. Not its whole bytecode: how a call
    on a module compiles depends on whether the module imported it in the same file."""
    import dis

    return [
        (i.opname, i.argrepr) for i in dis.get_instructions(code) if i.opname.startswith(_OPERATORS)
    ]


def same_code(a: types.CodeType, b: types.CodeType) -> bool:
    """Names, constants and operators agree: what any edit of the text changes."""
    if (a.co_names, a.co_varnames, a.co_freevars, a.co_cellvars) != (
        b.co_names, b.co_varnames, b.co_freevars, b.co_cellvars,
    ):  # fmt: skip
        return False
    if _operators(a) != _operators(b):
        return False
    if len(a.co_consts) != len(b.co_consts):
        return False
    for x, y in zip(a.co_consts, b.co_consts, strict=True):
        if isinstance(x, types.CodeType) and isinstance(y, types.CodeType):
            if not same_code(x, y):
                return False
        elif (type(x) is not type(y) or repr(x) != repr(y)) and not (
            isinstance(x, str) and _same_qualname(x, str(y))
        ):
            return False
    return True


def _same_qualname(x: str, y: str) -> bool:
    """A nested function's qualified name, a constant up to Python 3.10: where it was
    compiled (inside a stand-in) changes its prefix only."""
    return ("<locals>" in x or "<locals>" in y) and x.split(".")[-1] == y.split(".")[-1]


def module_definition(
    func: types.FunctionType,
) -> tuple[ModuleCode | None, ast.FunctionDef | ast.AsyncFunctionDef | None]:
    """The parse of ``func``'s file, and its definition there (by name and first line);
    ``(None, None)`` for a lambda, which is found in its line's text instead."""
    from ato.module_code import code_of_file

    code = func.__code__
    if code.co_name == "<lambda>":
        return None, None
    module = code_of_file(code.co_filename)
    return module, module.functions.get((code.co_name, code.co_firstlineno)) if module else None

"""What a module's file says at its top level, read once per version of the file: the
statements that assign each global, the names it imports from other modules, and its
classes. Fingerprints count a global by the code that sets it (never by the value it
holds when a run starts) and a class by its body; both look here.
"""

from __future__ import annotations

import ast
import functools
import os
import sys
import sysconfig
import textwrap
import tokenize
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ato.canonical_writer import all_args

__all__ = [
    "BLOCKS",
    "ModuleCode",
    "assigned_names",
    "is_user_path",
    "library_roots",
    "module_code",
    "names_read",
    "top_level",
]


@dataclass
class ModuleCode:
    """One parse of a module's file. ``assignments`` maps a global to the statements that
    set it; ``imported`` a global to ``(module, name)`` for ``from module import name``;
    ``star`` lists the modules imported with ``*``; ``classes`` maps a class's qualified
    name (outside functions) to its node."""

    filename: str
    text: str
    tree: ast.Module
    assignments: dict[str, list[ast.stmt]] = field(default_factory=dict)
    imported: dict[str, tuple[str, str]] = field(default_factory=dict)
    star: list[str] = field(default_factory=list)
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)
    # (name, first line with its decorators) -> every function definition in the file
    functions: dict[tuple[str, int], ast.FunctionDef | ast.AsyncFunctionDef] = field(
        default_factory=dict
    )

    lines: list[str] = field(default_factory=list)
    # id of a statement inside a function that sets a global -> that function's locals
    # (parameters too): names its code reads that are no module globals.
    locals_of: dict[int, frozenset[str]] = field(default_factory=dict)

    def source(self, node: ast.stmt) -> str:
        """The statement as the file writes it (with a class's decorators), dedented.
        Cut from lines split once: ``ast.get_source_segment`` splits the whole file at
        every call."""
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        last = node.end_lineno or node.lineno
        chunk = [line.encode("utf-8") for line in self.lines[first - 1 : last]]
        if not chunk:
            return ast.unparse(node)
        if node.end_col_offset is not None:  # offsets count UTF-8 bytes
            chunk[-1] = chunk[-1][: node.end_col_offset]
        if first == node.lineno and node.col_offset:
            chunk[0] = b" " * node.col_offset + chunk[0][node.col_offset :]
        text = b"".join(chunk).decode("utf-8", errors="replace")
        return textwrap.dedent(text).rstrip("\n")


def module_code(namespace: Mapping[str, Any]) -> ModuleCode | None:
    """The code of the module whose globals are ``namespace``; None without a readable
    file (a notebook cell, ``exec``)."""
    filename = namespace.get("__file__")
    if not isinstance(filename, str):
        return None
    return code_of_file(filename)


def code_of_file(filename: str) -> ModuleCode | None:
    try:
        stamp = os.stat(filename).st_mtime_ns
    except OSError:
        return None
    return _parse(filename, stamp)


@functools.lru_cache(maxsize=128)
def _parse(filename: str, stamp: int) -> ModuleCode | None:
    """``stamp`` (the file's mtime) makes an edited file read again."""
    try:
        with tokenize.open(filename) as handle:  # a BOM or a coding cookie, as Python reads
            text = handle.read()
        tree = ast.parse(text)
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return None
    # Lines as the AST counts them: split on newlines only (not on form feeds, \x85...).
    lines = [line + "\n" for line in text.split("\n")]
    code = ModuleCode(filename, text, tree, lines=lines)
    filled: dict[str, list[ast.stmt]] = {}
    for node, guards in _guarded(tree.body):
        # if CUDA: DEVICE = "cuda": the condition is part of what sets it
        for name in assigned_names(node):
            code.assignments.setdefault(name, []).extend([*guards, node])
        for owner in _filled_names(node):
            filled.setdefault(owner, []).extend([*guards, node])
        if isinstance(node, ast.ImportFrom) and (node.module or node.level):
            source = "." * node.level + (node.module or "")  # relative: resolved by the reader
            for alias in node.names:
                if alias.name == "*":
                    code.star.append(source)
                elif node.module:
                    code.imported[alias.asname or alias.name] = (source, alias.name)
    for name, calls in filled.items():  # LAYERS = [] then LAYERS.append(3): both set it
        # (or from registry import LAYERS; LAYERS.append(3))
        if name in code.assignments or name in code.imported:
            both = code.assignments.get(name, []) + calls
            code.assignments[name] = sorted(both, key=lambda n: (n.lineno, n.col_offset))
    for name, statements in code.assignments.items():  # a condition shared is said once
        code.assignments[name] = list({id(s): s for s in statements}.values())
    _collect_classes(tree.body, "", code.classes)
    for each in ast.walk(tree):
        if isinstance(each, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min([each.lineno, *(d.lineno for d in each.decorator_list)])
            code.functions.setdefault((each.name, first), each)
            for statements, name, local in _global_assignments(each):
                code.assignments.setdefault(name, []).extend(statements)
                for statement in statements:
                    code.locals_of[id(statement)] = local
    return code


def _global_assignments(
    function: ast.FunctionDef | ast.AsyncFunctionDef,
) -> Iterator[tuple[list[ast.stmt], str, frozenset[str]]]:
    """``(statements, name, the function's locals)`` for each module global that
    ``function``'s own body sets after ``global NAME`` (a ``setup()`` that builds the
    model): the statements that set or fill it (``MODEL.append(layer)``) and those that
    set the locals they read, line by
    line back (``depth = 3`` before ``MODEL = [width, depth]``); not the rest of the
    function, and not its parameters, which its callers pass."""
    declared: set[str] = set()
    statements: list[ast.stmt] = []
    blocks: dict[int, ast.stmt] = {}  # a node's id -> the if or loop it is in
    stack: list[ast.AST] = list(function.body)
    while stack:  # its body, not the bodies of functions or classes inside it
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Global):
            declared.update(node.names)
        elif isinstance(node, ast.stmt):
            statements.append(node)
        # through try, with and match too: an if above them decides what runs in them
        outer = node if isinstance(node, _GUARDS) else blocks.get(id(node))
        for child in ast.iter_child_nodes(node):
            if outer is not None:
                blocks[id(child)] = outer
            stack.append(child)
    if not declared:
        return
    parameters = {argument.arg for argument in all_args(function.args)}
    assigning = {id(s): set(assigned_names(s)) for s in statements}
    local = frozenset(parameters | set().union(*assigning.values()) - declared)
    # MODEL = [] then MODEL.append(k * v) in a loop: the call sets it too (a global it
    # fills without declaring it, REGISTRY.append(3), stays a global it reads)
    setting = {id(s): {*assigning[id(s)], *_filled_names(s)} for s in statements}
    for name in sorted(declared):
        chosen = _with_blocks([s for s in statements if name in setting[id(s)]], blocks)
        if not chosen:
            continue
        taken = {id(s) for s in chosen}
        wanted = names_read(chosen, local - parameters)
        while wanted:
            more = [s for s in statements if id(s) not in taken and setting[id(s)] & wanted]
            more = [s for s in _with_blocks(more, blocks) if id(s) not in taken]
            chosen += more
            taken.update(id(s) for s in more)
            wanted = names_read(more, local - parameters)
        yield sorted(chosen, key=lambda s: (s.lineno, s.col_offset)), name, local


def _with_blocks(statements: list[ast.stmt], blocks: dict[int, ast.stmt]) -> list[ast.stmt]:
    """``statements`` and the ``if`` and loops they are in (``if size > 1:`` decides
    whether ``MODEL = 2`` runs), each once."""
    found = {id(s): s for s in statements}
    for statement in statements:
        block = blocks.get(id(statement))
        while block is not None and id(block) not in found:
            found[id(block)] = block
            block = blocks.get(id(block))
    return list(found.values())


def names_read(statements: Sequence[ast.stmt], among: Collection[str]) -> set[str]:
    """The names of ``among`` that ``statements`` read (not only set)."""
    return {
        node.id
        for statement in statements
        for node in ast.walk(statement)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in among
    }


def _collect_classes(body: list[ast.stmt], prefix: str, found: dict[str, ast.ClassDef]) -> None:
    for node in top_level(body):
        if isinstance(node, ast.ClassDef):
            name = f"{prefix}{node.name}"
            found.setdefault(name, node)
            _collect_classes(node.body, f"{name}.", found)


# Methods that change a list, dict, set or deque in place: a call to another
# (LOG.info("...")) is no part of the value the global holds.
_FILLING = frozenset(
    (
        *("append", "extend", "insert", "update", "add", "setdefault", "appendleft"),
        *("extendleft", "pop", "popitem", "popleft", "remove", "discard", "clear", "sort"),
        *("reverse", "difference_update", "intersection_update", "symmetric_difference_update"),
        *("rotate", "move_to_end", "__setitem__", "__delitem__"),
    )
)


# Calls made for their effect that only report what they are given: print(LAYERS) and
# LOG.info(LAYERS) change nothing.
_REPORTING = frozenset(
    (
        *("print", "pprint", "display", "debug", "info", "warning", "warn", "error"),
        *("exception", "critical", "log"),
    )
)


def _filled_names(node: ast.stmt) -> list[str]:
    """The globals a statement may change in place: ``LAYERS.append(3)``,
    ``CONFIG.update(lr=0.1)``, ``LAYERS.sort()``, ``del LAYERS[0]``, ``setattr(CONFIG,
    "lr", 0.1)``, ``vars(CONFIG).update(...)``, ``first = QUEUE.pop()``, and what a call
    made for its effect is given (``random.shuffle(KEYS)``, ``fill(LAYERS)``): each changes
    the global when the module is imported."""
    owners: list[ast.expr] = []
    if isinstance(node, ast.Delete):  # del LAYERS[0], del CONFIG.lr (del TMP: no value left)
        owners = [target for target in node.targets if not isinstance(target, ast.Name)][:1]
    elif isinstance(node, (ast.Expr, ast.Assign, ast.AnnAssign, ast.AugAssign)) and isinstance(
        node.value, ast.Call
    ):
        call, func = node.value, node.value.func
        if isinstance(func, ast.Name) and func.id in ("setattr", "delattr") and call.args:
            owners.append(call.args[0])  # setattr(CONFIG, "lr", 0.1), delattr(CONFIG, "lr")
        elif isinstance(func, ast.Attribute) and func.attr in _FILLING:
            owners.append(func.value)
        if isinstance(node, ast.Expr) and _called_name(func) not in _REPORTING:
            arguments = [*call.args, *(keyword.value for keyword in call.keywords)]
            owners += [
                argument.value if isinstance(argument, ast.Starred) else argument
                for argument in arguments
            ]
    names = [_root(owner) for owner in owners]
    return list(dict.fromkeys(name for name in names if name))


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def _root(owner: ast.expr) -> str | None:
    """``LAYERS`` of ``LAYERS``, ``LAYERS[0].items``, ``vars(CONFIG)``."""
    while True:
        if isinstance(owner, (ast.Attribute, ast.Subscript)):
            owner = owner.value
        elif (
            isinstance(owner, ast.Call)
            and isinstance(owner.func, ast.Name)
            and owner.func.id in ("vars", "getattr")
            and owner.args
        ):
            owner = owner.args[0]
        else:
            return owner.id if isinstance(owner, ast.Name) else None


# Statements whose bodies hold statements of the same level: a global set in one is one.
BLOCKS = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith)
# What decides whether (or how often) a statement runs: not a with, whose header (a
# timer's label) is no part of what the statements in it set.
_GUARDS = (ast.If, ast.For, ast.AsyncFor, ast.While)


def top_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements of a module or class body, looking into ``if``, ``try``, ``with`` and
    loops (``if cuda: DEVICE = 'cuda'``), not into functions or classes."""
    for node, _ in _guarded(body):
        if not isinstance(node, BLOCKS):
            yield node


def _guarded(
    body: list[ast.stmt], guards: tuple[ast.stmt, ...] = ()
) -> Iterator[tuple[ast.stmt, tuple[ast.stmt, ...]]]:
    """``(statement, the if and loops it is in)`` for the statements of ``body`` as
    :func:`top_level` finds them, each ``if``, loop and ``with`` too, before its body
    (a loop's targets are globals: ``for K in KEYS:``)."""
    for node in body:
        if isinstance(node, BLOCKS):
            yield node, guards
            inner = (*guards, node) if isinstance(node, _GUARDS) else guards
            yield from _guarded(node.body, inner)
            yield from _guarded(getattr(node, "orelse", []), inner)
        elif isinstance(node, ast.Try) or (
            sys.version_info >= (3, 11) and type(node).__name__ == "TryStar"
        ):
            for part in (node.body, node.orelse, node.finalbody):  # type: ignore[attr-defined]
                yield from _guarded(part, guards)
            for handler in node.handlers:  # type: ignore[attr-defined]
                yield from _guarded(handler.body, guards)
        else:
            yield node, guards


def assigned_names(node: ast.stmt) -> list[str]:
    """The names an assignment statement sets (``A, B = 1, 2`` sets both), or the
    header of a loop or a ``with`` (``for K, V in ...``)."""
    if isinstance(node, ast.Assign):
        targets: list[ast.expr] = list(node.targets)
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor)):
        targets = [node.target]
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        targets = [item.optional_vars for item in node.items if item.optional_vars is not None]
    else:
        return []
    return [
        part.id for target in targets for part in ast.walk(target) if isinstance(part, ast.Name)
    ]


@functools.cache  # sysconfig is slow, and a class's members are checked one by one
def library_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths.get(key) for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    roots.add(os.path.dirname(os.path.abspath(__file__)))  # ato itself
    return tuple(os.path.realpath(p) for p in roots if p)


def is_user_path(filename: str) -> bool:
    """A file outside the standard library, site-packages and ato: the program's own."""
    if not filename or filename.startswith("<"):
        return False
    real = os.path.realpath(filename)
    return not any(real.startswith(root + os.sep) for root in library_roots())

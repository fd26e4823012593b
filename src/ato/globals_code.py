"""What a traced function reads besides other functions: module globals, counted by
the code that sets them (followed through imports into the program's own files), and
classes, counted by their bodies. Never by the values they hold when a run starts: a
start time, a counter, a cache differ from run to run without any change to the code.
"""

from __future__ import annotations

import ast
import enum
import hashlib
import inspect
import sys
import textwrap
import types
from collections.abc import Mapping, Sequence
from typing import Any

from ato.canonical import canonical_statements
from ato.canonical_writer import is_trace_decorator
from ato.message_text import repr_of
from ato.module_code import (
    BLOCKS,
    ModuleCode,
    assigned_names,
    is_user_path,
    module_code,
    names_read,
    top_level,
)

__all__ = [
    "PLAIN_LIMIT",
    "GlobalValue",
    "chains",
    "class_body",
    "class_node",
    "global_statements",
    "global_value",
    "is_plain_data",
]

#: Items of a global table looked into: a registry's functions, a notebook's plain data.
PLAIN_LIMIT = 10_000


def chains(nodes: Sequence[ast.AST]) -> dict[str, list[tuple[str, ...]]]:
    """``{name: [chain, ...]}`` for each ``name.a.b`` read in ``nodes``."""
    reads: dict[str, list[tuple[str, ...]]] = {}
    for tree in nodes:
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                chain: list[str] = []
                current: ast.expr = node
                while isinstance(current, ast.Attribute):
                    chain.append(current.attr)
                    current = current.value
                if isinstance(current, ast.Name):
                    chains = reads.setdefault(current.id, [])
                    if tuple(reversed(chain)) not in chains:
                        chains.append(tuple(reversed(chain)))
    return reads


def global_statements(
    namespace: Mapping[str, Any], name: str, visited: set[tuple[str, str]] | None = None
) -> tuple[str, list[ast.stmt], ModuleCode, Mapping[str, Any]] | None:
    """Where module global ``name`` of ``namespace`` is set by user code: ``(key,
    statements, that module's code, that module's globals)``. Followed through ``from m
    import name``, ``from .m import name`` and ``from m import *`` into the module that
    sets it (a constant kept in consts.py), each module once; None when no user file
    sets it at a module's top level (a library's globals are its version's, which the
    environment records)."""
    code = module_code(namespace)
    if code is None or not is_user_path(code.filename):
        return None
    visited = set() if visited is None else visited
    if (code.filename, name) in visited:
        return None
    visited.add((code.filename, name))
    module_name = str(namespace.get("__name__", ""))
    statements = code.assignments.get(name)
    if statements:
        return f"{module_name}.{name}", statements, code, namespace
    return _imported_statements(namespace, code, name, visited)


def _imported_statements(
    namespace: Mapping[str, Any], code: ModuleCode, name: str, visited: set[tuple[str, str]]
) -> tuple[str, list[ast.stmt], ModuleCode, Mapping[str, Any]] | None:
    """Where the module ``name`` is imported from (``from m import name``, ``*``) sets it."""
    package = namespace.get("__package__") or ""
    sources = [code.imported[name]] if name in code.imported else []
    sources += [(star, name) for star in code.star]
    for source, original in sources:
        module = sys.modules.get(_absolute(source, str(package)))
        if module is not None and not isinstance(vars(module).get(original), types.ModuleType):
            found = global_statements(vars(module), original, visited)
            if found is not None:
                return found
    return None


def _absolute(source: str, package: str) -> str:
    """``.consts`` inside package ``pk`` is ``pk.consts``."""
    if not source.startswith("."):
        return source
    import importlib.util

    try:
        return importlib.util.resolve_name(source, package)
    except (ImportError, ValueError):
        return source


def global_value(namespace: Mapping[str, Any], name: str) -> tuple[str, GlobalValue, Any] | None:
    """Module global ``name`` as a traced function reads it: counted by the code that
    sets it (``SCALE = 2``, ``START = time.time()``), never by the value it holds when a
    run starts (a start time, a counter the program bumps differ without any change to the
    code). Returns ``(key, value, what to follow)``: the names and attribute chains the
    code reads, with the globals to read them in, so that ``HIDDEN = BASE * 4`` counts
    ``BASE`` and ``model = MLP(64)`` counts ``MLP``. Without a file (a notebook cell), a
    plain value counts by its value, as the only record of it. Never raises."""
    try:
        return _global_value(namespace, name)
    except Exception:  # code too deep for the writer, or odd: it never fails the program
        return None


def _global_value(namespace: Mapping[str, Any], name: str) -> tuple[str, GlobalValue, Any] | None:
    found = global_statements(namespace, name)
    if found is None:
        if module_code(namespace) is not None or name not in namespace:
            return None
        value = namespace[name]
        if callable(value) or isinstance(value, (types.ModuleType, type)):
            return None
        if not is_plain_data(value):
            return None
        from ato.value_hash import value_hash

        key = f"{namespace.get('__name__', '')}.{name}"
        text = f"{name} = {repr_of(value)}"
        return key, GlobalValue("value:" + value_hash(value), text), None
    key, statements, code, home = found
    own = key.rsplit(".", 1)[-1]
    narrowed = [_narrowed(statement, own) for statement in statements]
    text = _shown(narrowed, statements, code)
    # A function's parameters and locals are no module globals, whatever their names.
    local = set().union(*(code.locals_of.get(id(s), frozenset()) for s in statements))
    placed = _placed(narrowed, statements)
    statements = narrowed
    try:
        canonical, names = canonical_statements(placed, local=local)
    except RecursionError:  # an expression nested past the stack: its text, as written
        canonical, names = text, []
    if own in names and (own in code.imported or code.star):
        # BATCH = int(os.environ.get("BATCH", BATCH)) after from consts import BATCH
        origin = _imported_statements(home, code, own, {(code.filename, own)})
        if origin is not None:
            canonical += "\0" + "\n".join(origin[2].source(s) for s in origin[1])
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    # What the code reads, not what it sets (``A, B = f(x)`` reads f and x).
    targets = {name for statement in statements for name in assigned_names(statement)}
    only_set = targets - names_read(statements, targets)
    reads = [n for n in names if n != own and n not in local and n not in only_set]
    follow = (home, reads, chains(list(statements)))
    return key, GlobalValue("value:" + digest[:32], text), follow


def _shown(narrowed: list[ast.stmt], statements: list[ast.stmt], code: ModuleCode) -> str:
    """The code that sets a global as ``ato explain`` shows it: a statement under the
    ``if``, loop or ``with`` it is in (in its ``else:`` when it is there), each block cut
    to its header and what it holds of that code."""
    return "\n".join(_lines(list(zip(statements, narrowed, strict=True)), code))


def _lines(items: list[tuple[ast.stmt, ast.stmt]], code: ModuleCode) -> list[str]:
    """Lines of ``(original, narrowed)`` statements in the order of the file, a block's
    statements (those after it, inside its lines) under it."""
    out: list[str] = []
    index = 0
    while index < len(items):
        original, statement = items[index]
        end = index + 1
        while end < len(items) and _inside(items[end][0], original):
            end += 1
        inner = items[index + 1 : end]
        index = end
        if statement is original:  # as written; a loop kept whole holds what follows
            out += code.source(original).split("\n")
            continue
        if not inner or not isinstance(original, BLOCKS):
            out += ast.unparse(statement).split("\n")
            continue
        out.append(ast.unparse(statement).split("\n", 1)[0])  # if CUDA:
        last = original.body[-1].end_lineno or original.body[-1].lineno
        body = [item for item in inner if item[0].lineno <= last]
        rest = inner[len(body) :]
        out += ["    " + line for line in (_lines(body, code) if body else ["..."])]
        if rest:
            out += ["else:"] + ["    " + line for line in _lines(rest, code)]
    return out


def _inside(statement: ast.stmt, block: ast.stmt) -> bool:
    return isinstance(block, BLOCKS) and _start(block) < _start(statement) <= _end(block)


def _start(node: ast.stmt) -> tuple[int, int]:
    return node.lineno, node.col_offset


def _end(node: ast.stmt) -> tuple[int, int]:
    return node.end_lineno or node.lineno, node.end_col_offset or 0


def _placed(narrowed: list[ast.stmt], statements: list[ast.stmt]) -> list[ast.stmt]:
    """``narrowed``, each statement inside a block of the list after a marker that says
    which blocks and which of their branches it is in: moving ``X = 3`` from an ``else:``
    into the ``if`` is an edit, though the statements read the same."""
    placed: list[ast.stmt] = []
    # The blocks the statement met last is in, with their places in the list: statements
    # come in the order of the file, so a block that does not hold one holds none after.
    around: list[tuple[int, ast.stmt, ast.stmt]] = []
    for index, (statement, original) in enumerate(zip(narrowed, statements, strict=True)):
        around = [item for item in around if _inside(original, item[1])]
        path = [f"{where}{'' if _start(original) <= _end(last) else ' else'}"
                for where, _, last in around]  # fmt: skip
        if path:
            marker = ast.Expr(value=ast.Constant(value=f"in block {', '.join(path)}"))
            placed.append(ast.fix_missing_locations(ast.copy_location(marker, original)))
        placed.append(statement)
        body: list[ast.stmt] = getattr(original, "body", [])
        if isinstance(original, BLOCKS) and body:
            around.append((index, original, body[-1]))
    return placed


def _narrowed(statement: ast.stmt, name: str) -> ast.stmt:
    """The part of ``statement`` that sets ``name``: ``DROPOUT, OTHER = 0.1, 3`` as
    ``DROPOUT = 0.1`` (an edit to ``OTHER``'s value is not one to ``DROPOUT``), nested
    and starred targets too (``A, *MID, Z = 1, 2, 3, 4`` sets ``MID = [2, 3]``); a loop
    or a ``with`` as its header (``for K in KEYS: ...``: its body does not set ``K``,
    unless it may ``break``).
    Other statements, and values not written out element by element, as they are."""
    loop = isinstance(statement, (ast.For, ast.AsyncFor, ast.While))
    if loop and any(isinstance(node, ast.Break) for node in ast.walk(statement)):
        return statement  # for DEVICE in (...): if ...: break: its body picks the value
    header = ast.Expr(value=ast.Constant(value=Ellipsis))
    if isinstance(statement, (ast.If, ast.While)):  # if CUDA: DEVICE = "cuda"
        short: ast.stmt = type(statement)(test=statement.test, body=[header], orelse=[])
        return ast.fix_missing_locations(ast.copy_location(short, statement))
    if isinstance(statement, (ast.For, ast.AsyncFor, ast.With, ast.AsyncWith)):
        if isinstance(statement, (ast.For, ast.AsyncFor)):
            kind = type(statement)
            short = kind(target=statement.target, iter=statement.iter, body=[header],
                                   orelse=[], type_comment=None)  # fmt: skip
        else:
            short = type(statement)(items=statement.items, body=[header], type_comment=None)
        return ast.fix_missing_locations(ast.copy_location(short, statement))
    if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1):
        return statement
    target, value = statement.targets[0], statement.value
    if sum(isinstance(n, ast.Name) and n.id == name for n in ast.walk(target)) != 1:
        return statement
    part = _part(target, value, name)
    if part is None or part is value:
        return statement
    single = ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=part)
    return ast.fix_missing_locations(ast.copy_location(single, statement))


def _part(target: ast.expr, value: ast.expr, name: str) -> ast.expr | None:
    """The expression of ``value`` that target ``name`` (in ``target``) receives, when
    both are written out alike; None when that cannot be told."""
    while not isinstance(target, ast.Name):
        if not (
            isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List))
        ):
            return None
        if any(isinstance(item, ast.Starred) for item in value.elts):
            return None
        targets, values = target.elts, value.elts
        stars = [i for i, item in enumerate(targets) if isinstance(item, ast.Starred)]
        if len(stars) > 1 or len(values) < len(targets) - len(stars):
            return None
        if not stars and len(values) != len(targets):
            return None
        star = stars[0] if stars else len(targets)
        after = len(targets) - star - 1
        here = next(
            i
            for i, item in enumerate(targets)
            if any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(item))
        )
        if here < star:
            target, value = targets[here], values[here]
        elif here == star:  # *MID: a list of what the others leave
            inner = targets[here]
            assert isinstance(inner, ast.Starred)
            middle = values[star : len(values) - after]
            target, value = inner.value, ast.List(elts=middle, ctx=ast.Load())
        else:
            target, value = targets[here], values[len(values) - (len(targets) - here)]
    return value


def class_body(cls: type) -> tuple[str, Mapping[str, Any], list[str], Any] | None:
    """A user class's own statements other than its methods (fields, defaults, constants,
    enum members): ``(canonical text, its module's globals, the names they read, their
    attribute chains)``, or None without a readable source. What its generated methods
    are made from, counted as code: not the values its attributes hold now (a cache the
    class fills differs from run to run)."""
    module = sys.modules.get(getattr(cls, "__module__", "") or "")
    namespace = vars(module) if module is not None else {}
    found = class_node(cls)
    node = found[1] if found is not None else None
    if node is None:  # defined in a function: its own source (slower)
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
            node = next((n for n in tree.body if isinstance(n, ast.ClassDef)), None)
        except Exception:  # no source, or none that parses
            node = None
    if node is None:
        return None
    # Its decorators count (@register("small") files it under a name a config selects),
    # ato's own tracing decorators do not.
    kept: list[ast.stmt] = [
        ast.copy_location(ast.Expr(value=decorator), decorator)
        for decorator in node.decorator_list
        if not is_trace_decorator(decorator, namespace)
    ]
    kept += [
        statement
        for statement in top_level(node.body)
        if isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign))
    ]
    try:
        text, names = canonical_statements(kept, class_body=True)
    except RecursionError:  # nested past the stack: the class counts by its name
        return None
    return text, namespace, names, chains(list(kept))


def class_node(cls: type) -> tuple[ModuleCode, ast.ClassDef] | None:
    """Where a class (outside functions) is in its module's one parse: looked up by its
    qualified name, never by scanning the module (``inspect.getsource`` before Python
    3.13 walks the whole module for every class)."""
    module = sys.modules.get(getattr(cls, "__module__", "") or "")
    code = module_code(vars(module)) if module is not None else None
    qualname = getattr(cls, "__qualname__", "")
    if code is None or "<locals>" in qualname or qualname not in code.classes:
        return None
    return code, code.classes[qualname]


class GlobalValue:
    """A module global a traced function (or a helper) reads that is not a function or a
    class: counted by ``fingerprint`` (of the code that sets it, see :func:`global_value`).
    ``text`` is that code, as the diff of ``ato explain`` shows it."""

    __slots__ = ("fingerprint", "text")

    def __init__(self, fingerprint: str, text: str) -> None:
        self.fingerprint = fingerprint
        shown = text if len(text) <= _VALUE_TEXT else text[:_VALUE_TEXT] + "..."
        self.text = shown + "\n"


_VALUE_TEXT = 2000


def is_plain_data(value: Any) -> bool:
    """Numbers, strings, enum members and exact lists, tuples, dicts and sets of them,
    ``PLAIN_LIMIT`` items at most."""
    stack, count = [value], 0
    while stack:
        item = stack.pop()
        count += 1
        if count > PLAIN_LIMIT:
            return False
        if isinstance(item, (bool, int, float, complex, str, bytes, type(None), enum.Enum)):
            continue
        if type(item) not in (list, tuple, dict, set, frozenset):
            return False
        stack.extend(item.items() if type(item) is dict else item)  # pairs are tuples
    return True

"""How a syntax tree is written canonically: the text a code fingerprint hashes.

:class:`Writer` renames locals consistently (per scope, the way Python binds them),
leaves out what does not change what code computes (positions, docstrings, annotations,
``@scope.trace``) and writes the rest the same way on every supported Python, where
``ast.unparse`` and ``ast.dump`` differ. What is written for a given function is decided
in :mod:`ato.canonical`.
"""

from __future__ import annotations

import ast
import types
from collections.abc import Mapping
from typing import Any

__all__ = ["NameScope", "Writer", "is_trace_decorator"]

# Fields left out everywhere: positions, comments of type, and fields that only some
# Python versions have and that are empty in code those versions share.
_SKIPPED_FIELDS = {"type_comment", "kind", "type_ignores", "lineno", "col_offset"}
_EMPTY_IF_ABSENT = {"type_params"}
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_TRACE_DECORATORS = {"trace", "runtime_trace"}


def is_trace_decorator(node: ast.expr, namespace: Mapping[str, Any] | None = None) -> bool:
    """``@scope.trace(...)`` or ``@scope.runtime_trace(...)`` of ato's: tracing is not the
    function's logic. A decorator of the user's that happens to be named ``trace`` is (its
    root name, looked up in ``namespace``, must be an ato object when that is known)."""
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Attribute):
        if target.attr not in _TRACE_DECORATORS:
            return False
        root: ast.expr = target.value
        while isinstance(root, ast.Attribute):
            root = root.value
        name = root.id if isinstance(root, ast.Name) else None
    elif isinstance(target, ast.Name) and target.id in _TRACE_DECORATORS:
        name = target.id
    else:
        return False
    if namespace is None or name is None or name not in namespace:
        return True  # cannot tell: as the name says
    found = namespace[name]
    module = found.__name__ if isinstance(found, types.ModuleType) else type(found).__module__
    if callable(found) and not isinstance(found, type):
        module = getattr(found, "__module__", None) or module
    return module == "ato" or str(module).startswith("ato.")


class NameScope:
    """Names bound in one function, lambda, comprehension or class body."""

    def __init__(self, parent: NameScope | None, renames: bool) -> None:
        self.parent, self.renames = parent, renames
        self.bound: set[str] = set()
        self.declared_outer: set[str] = set()  # global / nonlocal
        self.kept: set[str] = set()  # bound, but keep their names (traced parameters)
        # Canonical names given so far. Held by the scope itself: a table keyed by id()
        # would hand a new scope the names of a freed one at the same address, which
        # depends on the allocator and so on the Python version.
        self.renamed: dict[str, str] = {}


def _bound_names(node: ast.AST, params_too: bool) -> tuple[set[str], set[str]]:
    """Names a scope binds (not descending into nested scopes), and global/nonlocal ones."""
    bound: set[str] = set()
    outer: set[str] = set()
    if params_too and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        bound.update(a.arg for a in all_args(node.args))
    if isinstance(node, _COMPREHENSIONS):
        for generator in node.generators:
            bound.update(_target_names(generator.target))
        return bound, outer
    raw_body = getattr(node, "body", [])
    body = raw_body if isinstance(raw_body, list) else [raw_body]
    stack: list[ast.AST] = list(body)
    while stack:
        child = stack.pop()
        if isinstance(child, (ast.Global, ast.Nonlocal)):
            outer.update(child.names)
            continue
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(child.name)
            stack.extend(child.decorator_list)
            if not isinstance(child, ast.ClassDef):
                stack.extend(d for d in child.args.defaults if d is not None)
                stack.extend(d for d in child.args.kw_defaults if d is not None)
            continue
        if isinstance(child, ast.Lambda):
            stack.extend(child.args.defaults)
            stack.extend(d for d in child.args.kw_defaults if d is not None)
            continue
        if isinstance(child, _COMPREHENSIONS):
            stack.append(child.generators[0].iter)
            for generator in child.generators:  # walrus inside binds here
                stack.extend(n for n in ast.walk(generator) if isinstance(n, ast.NamedExpr))
            continue
        if isinstance(child, ast.Name) and isinstance(child.ctx, (ast.Store, ast.Del)):
            bound.add(child.id)
        elif isinstance(child, ast.NamedExpr) and isinstance(child.target, ast.Name):
            bound.add(child.target.id)
        elif isinstance(child, (ast.Import, ast.ImportFrom)):
            for alias in child.names:
                bound.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(child, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and child.name:
            bound.add(child.name)
        elif isinstance(child, ast.MatchMapping) and child.rest:
            bound.add(child.rest)
        stack.extend(ast.iter_child_nodes(child))
    return bound - outer, outer


def _target_names(target: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}


def all_args(args: ast.arguments) -> list[ast.arg]:
    """Every parameter of a signature: positional-only, plain, keyword-only, *args, **kwargs."""
    found = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    if args.vararg:
        found.append(args.vararg)
    if args.kwarg:
        found.append(args.kwarg)
    return found


class Writer:
    """Writes the canonical form of one top-level function."""

    def __init__(self, namespace: Mapping[str, Any] | None = None) -> None:
        self.out: list[str] = []
        self.counter = 0
        self.scope: NameScope | None = None
        self.globals_used: list[str] = []
        self.namespace = namespace  # the function's globals: whose decorator is whose
        # Writing a class body: there a bare annotation declares a field (a dataclass's,
        # a NamedTuple's), which counts; elsewhere it computes nothing.
        self.class_body = False

    # -- names -----------------------------------------------------------------------

    def _resolve(self, name: str) -> str:
        scope = self.scope
        while scope is not None:
            if name in scope.declared_outer:
                scope = scope.parent
                continue
            if name in scope.bound:
                if not scope.renames or name in scope.kept:
                    return name
                if name not in scope.renamed:
                    self.counter += 1
                    scope.renamed[name] = f"_{self.counter}"
                return scope.renamed[name]
            scope = scope.parent
        if name not in self.globals_used:
            self.globals_used.append(name)
        return name

    def _enter(self, node: ast.AST, renames: bool, params_too: bool) -> NameScope:
        scope = NameScope(self.scope, renames)
        scope.bound, scope.declared_outer = _bound_names(node, params_too)
        self.scope = scope
        return scope

    # -- writing ---------------------------------------------------------------------

    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, top: bool) -> None:
        self.out.append(type(node).__name__ + "(")
        decorators = [d for d in node.decorator_list if not is_trace_decorator(d, self.namespace)]
        self._field("decorators", decorators)
        if not top:
            self.out.append(f"name={self._resolve(node.name)};")
        parent = self.scope
        # Defaults are evaluated in the enclosing scope.
        self._defaults(node.args)
        scope = self._enter(node, renames=True, params_too=True)
        if top:
            # Parameters of the traced function keep their names: configs are injected by
            # parameter name, so renaming one changes behaviour.
            scope.kept = {a.arg for a in all_args(node.args)}
        self._arguments(node.args, keep_names=top)
        was_class_body, self.class_body = self.class_body, False  # a method's own body
        self._field("body", _without_docstring(node.body))
        self.scope, self.class_body = parent, was_class_body
        self.out.append(")")

    def _defaults(self, args: ast.arguments) -> None:
        self._field("defaults", args.defaults)
        self._field("kw_defaults", args.kw_defaults)

    def _arguments(self, args: ast.arguments, keep_names: bool) -> None:
        def names(items: list[ast.arg]) -> list[str]:
            return [a.arg if keep_names else self._resolve(a.arg) for a in items]

        self.out.append(
            f"args(posonly={names(args.posonlyargs)},args={names(args.args)},"
            f"kwonly={names(args.kwonlyargs)},"
            f"vararg={names([args.vararg]) if args.vararg else None},"
            f"kwarg={names([args.kwarg]) if args.kwarg else None});"
        )

    def _field(self, name: str, value: Any) -> None:
        self.out.append(f"{name}=")
        self.value(value)
        self.out.append(";")

    def value(self, value: Any) -> None:
        if isinstance(value, ast.AST):
            self.node(value)
        elif isinstance(value, list):
            self.out.append("[")
            for item in value:
                if isinstance(item, ast.AnnAssign) and item.value is None and not self.class_body:
                    continue  # a bare annotation computes nothing
                self.value(item)
                self.out.append(",")
            self.out.append("]")
        elif value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
            self.out.append(f"{type(value).__name__}:{value!r}")
        elif value is Ellipsis:
            self.out.append("Ellipsis")
        else:
            self.out.append(repr(value))

    def node(self, node: ast.AST) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.function(node, top=False)
            return
        if isinstance(node, ast.Name):
            self.out.append(f"Name({self._resolve(node.id)},{type(node.ctx).__name__})")
            return
        if isinstance(node, ast.Lambda):
            self.out.append("Lambda(")
            self._defaults(node.args)
            parent = self.scope
            self._enter(node, renames=True, params_too=True)
            self._arguments(node.args, keep_names=False)
            self._field("body", node.body)
            self.scope = parent
            self.out.append(")")
            return
        if isinstance(node, _COMPREHENSIONS):
            self._comprehension(node)
            return
        if isinstance(node, ast.ClassDef):
            self.out.append(f"ClassDef(name={self._resolve(node.name)};")
            self._field("bases", node.bases)
            self._field("keywords", node.keywords)
            self._field("decorators", node.decorator_list)
            parent, was_class_body = self.scope, self.class_body
            self._enter(node, renames=False, params_too=False)
            self.class_body = True
            self._field("body", _without_docstring(node.body))
            self.scope, self.class_body = parent, was_class_body
            self.out.append(")")
            return
        if isinstance(node, ast.AnnAssign):
            if self.class_body:  # a field: its name, its type (pydantic converts by it)
                self.out.append("Field(")
                self._field("target", node.target)
                self._field("annotation", node.annotation)
                self._field("value", node.value)
                self.out.append(")")
            elif node.value is not None:
                self.node(ast.Assign(targets=[node.target], value=node.value))
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            self._import(node)
            return
        if isinstance(node, ast.Global):
            self.out.append(f"Global({sorted(node.names)})")
            return
        if isinstance(node, ast.Nonlocal):
            # The enclosing function's variable, under the name it has there.
            self.out.append(f"Nonlocal({sorted(self._resolve(n) for n in node.names)})")
            return
        if isinstance(node, ast.ExceptHandler):
            self.out.append("ExceptHandler(")
            self._field("type", node.type)
            self.out.append(f"name={self._resolve(node.name) if node.name else None};")
            self._field("body", node.body)
            self.out.append(")")
            return
        if isinstance(node, ast.JoinedStr):
            self.out.append("JoinedStr(")
            self._field("values", _merge_constants(node.values))
            self.out.append(")")
            return
        if isinstance(node, ast.arg):
            self.out.append(f"arg({self._resolve(node.arg)})")
            return
        if isinstance(node, ast.keyword):
            self.out.append(f"keyword({node.arg!r},")
            self.value(node.value)
            self.out.append(")")
            return
        if isinstance(node, (ast.MatchAs, ast.MatchStar)):
            name = self._resolve(node.name) if node.name else None
            self.out.append(f"{type(node).__name__}(name={name};")
            if isinstance(node, ast.MatchAs):
                self._field("pattern", node.pattern)
            self.out.append(")")
            return
        self.out.append(type(node).__name__ + "(")
        for field in node._fields:
            if field in _SKIPPED_FIELDS:
                continue
            value = getattr(node, field, None)
            if field in _EMPTY_IF_ABSENT and not value:
                continue
            if field == "annotation" or field == "returns":
                continue
            self._field(field, value)
        self.out.append(")")

    def _comprehension(self, node: ast.expr) -> None:
        assert isinstance(node, _COMPREHENSIONS)
        self.out.append(type(node).__name__ + "(")
        # The first iterable is evaluated in the enclosing scope.
        self._field("first_iter", node.generators[0].iter)
        parent = self.scope
        self._enter(node, renames=True, params_too=False)
        for index, generator in enumerate(node.generators):
            self.out.append("for(")
            self._field("target", generator.target)
            if index:
                self._field("iter", generator.iter)
            self._field("ifs", generator.ifs)
            self.out.append(f"async={generator.is_async});")
        if isinstance(node, ast.DictComp):
            self._field("key", node.key)
            self._field("value", node.value)
        else:
            self._field("elt", node.elt)
        self.scope = parent
        self.out.append(")")

    def _import(self, node: ast.Import | ast.ImportFrom) -> None:
        aliases = sorted(node.names, key=lambda a: (a.name, a.asname or ""))
        module = node.module if isinstance(node, ast.ImportFrom) else None
        level = node.level if isinstance(node, ast.ImportFrom) else 0
        parts = []
        for alias in aliases:
            local = (alias.asname or alias.name).split(".")[0]
            parts.append(f"{alias.name}->{self._resolve(local)}")
        self.out.append(f"{type(node).__name__}({module!r},{level},{parts})")


def _without_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        return body[1:] or [ast.Pass()]
    return body


def _merge_constants(values: list[ast.expr]) -> list[ast.expr]:
    merged: list[ast.expr] = []
    for value in values:
        if (
            merged
            and isinstance(value, ast.Constant)
            and isinstance(merged[-1], ast.Constant)
            and isinstance(value.value, str)
            and isinstance(merged[-1].value, str)
        ):
            merged[-1] = ast.Constant(value=merged[-1].value + value.value)
        elif not (isinstance(value, ast.Constant) and value.value == ""):
            merged.append(value)
    return merged

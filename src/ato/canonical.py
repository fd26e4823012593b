"""The logic of a function, as a canonical form of its AST, and its SHA-256.

Two functions get the same fingerprint when they compute the same thing the same way,
whatever their comments, formatting, docstrings, type annotations, own name, the names
of their local variables (consistently renamed), the order of names in one
``from x import a, b``, or an ``@scope.trace`` decorator. Everything else counts: constants,
operators, call targets and attribute names, argument order, keyword names, global names,
control flow, default values, other decorators, parameter names (ato injects configs by
parameter name), the order of keys in a dict literal and the text of f-strings.

What is fingerprinted for a given callable (past wrappers, partials, instances) is
decided in :mod:`ato.fingerprint`.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import textwrap
import types
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ato.module_code import ModuleCode

__all__ = [
    "CodeFingerprint",
    "analyse",
    "canonical_form",
    "code_object_hash",
    "global_names",
    "is_trace_decorator",
    "name_of",
    "unwrap",
]

# Fields left out everywhere: positions, comments of type, and fields that only some
# Python versions have and that are empty in code those versions share.
_SKIPPED_FIELDS = {"type_comment", "kind", "type_ignores", "lineno", "col_offset"}
_EMPTY_IF_ABSENT = {"type_params"}
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_TRACE_DECORATORS = {"trace", "runtime_trace"}


class CodeFingerprint:
    """A function's fingerprint: ``value`` (hex SHA-256) and how it was made (``basis``:
    ``'ast'``, or ``'code object'`` when the source could not be read)."""

    __slots__ = ("basis", "value")

    def __init__(self, value: str, basis: str) -> None:
        self.value, self.basis = value, basis


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


class _Scope:
    """Names bound in one function, lambda, comprehension or class body."""

    def __init__(self, parent: _Scope | None, renames: bool) -> None:
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
        bound.update(a.arg for a in _all_args(node.args))
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


def _all_args(args: ast.arguments) -> list[ast.arg]:
    found = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    if args.vararg:
        found.append(args.vararg)
    if args.kwarg:
        found.append(args.kwarg)
    return found


class _Writer:
    """Writes the canonical form of one top-level function."""

    def __init__(self, namespace: Mapping[str, Any] | None = None) -> None:
        self.out: list[str] = []
        self.counter = 0
        self.scope: _Scope | None = None
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

    def _enter(self, node: ast.AST, renames: bool, params_too: bool) -> _Scope:
        scope = _Scope(self.scope, renames)
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
            scope.kept = {a.arg for a in _all_args(node.args)}
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


def _function_node(
    func: Callable[..., Any], source: str
) -> ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda:
    code = func.__code__
    if code.co_name == "<lambda>":
        lambdas = [n for n in ast.walk(_parse_fragment(source)) if isinstance(n, ast.Lambda)]
        if len(lambdas) != 1:
            raise OSError("cannot tell which lambda on this line is the function")
        return lambdas[0]
    tree = _parse_fragment(source)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return node
    raise OSError("no function definition in the source")


class StaleSourceError(OSError):
    """The function's file was edited after the function was loaded: its text is not the
    code that runs (an edit made while a long job imports or runs)."""


# Future features a module may turn on, which change how a function body compiles.
_FUTURE_FLAGS = 0
for _feature in __import__("__future__").all_feature_names:
    _FUTURE_FLAGS |= getattr(__import__("__future__"), _feature).compiler_flag


def _source_is_what_runs(
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
            flags=code.co_flags & _FUTURE_FLAGS, dont_inherit=True,
        )  # fmt: skip
    except (SyntaxError, ValueError, TypeError):
        return True  # cannot tell (a construct that only compiles in place): trust it
    found = _find_code(compiled, code.co_name)
    return found is not None and _same_code(found, code)


def _find_code(code: types.CodeType, name: str) -> types.CodeType | None:
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


def _same_code(a: types.CodeType, b: types.CodeType) -> bool:
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
            if not _same_code(x, y):
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


def _module_definition(
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


def _parse_fragment(source: str) -> ast.Module:
    try:
        return ast.parse(source)
    except SyntaxError:
        # getsource of a lambda gives its whole line, which may not parse alone.
        return ast.parse(source.strip().rstrip(",").split("=", 1)[-1].strip())


class _Analysis:
    """What one parse of a function's source gives: its canonical text, the global names
    it reads (in order of first use), the attributes it reads on its first parameter and
    on ``super()`` (the methods it may reach), and its source, dedented."""

    __slots__ = ("globals_used", "inherited", "node", "own", "source", "text")

    def __init__(
        self,
        text: str,
        globals_used: list[str],
        attributes: tuple[list[str], list[str]],
        source: str,
        node: ast.AST | None = None,
    ) -> None:
        self.text, self.globals_used, self.source = text, globals_used, source
        self.own, self.inherited = attributes
        self.node = node  # the definition's syntax tree


# Per code object (immutable, so the analysis never goes stale): a traced function and its
# callees are parsed once per process, however often runs resolve their callees. Keyed by
# identity: equal code objects may come from sources that differ (defaults are not part
# of a code object); the entry keeps its code object alive, so an id is never reused.
_ANALYSES: dict[int, tuple[types.CodeType, _Analysis]] = {}


def analyse(func: Callable[..., Any]) -> _Analysis:
    original = unwrap(func)
    if not isinstance(original, types.FunctionType):
        raise TypeError(f"{name_of(original)} is not a Python function")
    code = original.__code__
    cached = _ANALYSES.get(id(code))
    if cached is not None and cached[0] is code:
        return cached[1]
    source = textwrap.dedent(inspect.getsource(original))
    # From the module's own parse when it has the definition at that line: dedenting a
    # method whose multi-line string starts at column 0 gives text that does not parse.
    module, defined = _module_definition(original)
    node = defined or _function_node(original, source)
    if not isinstance(node, ast.Lambda) and not _source_is_what_runs(original, module, defined):
        raise StaleSourceError(
            f"the source file of {name_of(original)} changed since it was loaded (the "
            f"text there compiles to other code than what runs)"
        )
    writer = _Writer(original.__globals__)
    if code.co_freevars:
        # Variables of the enclosing function (a decorator's ``fn``): renamed like locals.
        writer.scope = _Scope(None, renames=True)
        writer.scope.bound = set(code.co_freevars)
    if isinstance(node, ast.Lambda):
        writer.node(node)
    else:
        writer.function(node, top=True)
    text = "".join(writer.out)
    analysis = _Analysis(text, writer.globals_used, _attributes_read(node), source, node)
    _ANALYSES[id(code)] = (code, analysis)
    return analysis


def _attributes_read(node: ast.AST) -> tuple[list[str], list[str]]:
    """Attributes read on the first parameter (``self.head``) and on ``super()``."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        return [], []
    positional = [*node.args.posonlyargs, *node.args.args]
    first = positional[0].arg if positional else None
    own: list[str] = []
    inherited: list[str] = []
    for child in ast.walk(node):
        if not isinstance(child, ast.Attribute):
            continue
        target = child.value
        if isinstance(target, ast.Name) and target.id == first:
            found = own
        elif (
            isinstance(target, ast.Call)
            and isinstance(target.func, ast.Name)
            and target.func.id == "super"
        ):
            found = inherited
        else:
            continue
        if child.attr not in found:
            found.append(child.attr)
    return own, inherited


def canonical_statements(
    statements: list[ast.stmt], class_body: bool = False
) -> tuple[str, list[str]]:
    """The canonical text of module- or class-level statements (the same on every
    supported Python, unlike ``ast.unparse``) and the global names they read."""
    writer = _Writer()
    writer.class_body = class_body
    for statement in statements:
        writer.node(statement)
    return "".join(writer.out), list(writer.globals_used)


def canonical_form(func: Callable[..., Any]) -> str:
    """The canonical text of ``func``'s logic (what the fingerprint hashes)."""
    return analyse(func).text


def global_names(func: Callable[..., Any]) -> list[str]:
    """Global names ``func`` reads, in order of first use."""
    return list(analyse(func).globals_used)


def code_object_hash(code: types.CodeType, digest: Any) -> None:
    digest.update(code.co_code)
    digest.update(repr(code.co_names).encode())
    digest.update(repr((code.co_argcount, code.co_kwonlyargcount, code.co_varnames)).encode())
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            code_object_hash(constant, digest)
        elif isinstance(constant, frozenset):  # `x in {1, 2}`: its repr's order is the hash seed's
            digest.update(repr(sorted(map(repr, constant))).encode())
        else:
            digest.update(repr(constant).encode())


_MAX_WRAPPERS = 100


def unwrap(obj: Any) -> Any:
    """The object ``functools.wraps`` wrappers stand for: ``__wrapped__`` followed through
    instance dictionaries only (never ``__getattr__``, which may invent one)."""
    for _ in range(_MAX_WRAPPERS):
        try:
            inner = vars(obj).get("__wrapped__")
        except Exception:  # no __dict__, or one that fails: nothing to follow
            return obj
        if inner is None or inner is obj:
            return obj
        obj = inner
    return obj


def name_of(obj: Any) -> str:
    """A deterministic name for ``obj``, never its ``repr()`` (which may hold an address
    or fail)."""
    kind = type(obj)
    kind_name = f"{kind.__module__}.{kind.__qualname__}"
    try:
        module = getattr(obj, "__module__", None)
        qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    except Exception:
        module = qualname = None
    if not isinstance(qualname, str):
        return f"instance of {kind_name}"
    if isinstance(module, str):
        return f"{module}.{qualname}"
    return f"{kind_name} {qualname}"

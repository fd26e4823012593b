"""The logic of a function, as a canonical form of its AST, and its SHA-256.

Two functions get the same fingerprint when they compute the same thing the same way,
whatever their comments, formatting, docstrings, type annotations, own name, the names
of their local variables (consistently renamed), the order of names in one
``from x import a, b``, or an ``@scope.trace`` decorator. Everything else counts: constants,
operators, call targets and attribute names, argument order, keyword names, global names,
control flow, default values, other decorators, parameter names (ato injects configs by
parameter name), the order of keys in a dict literal and the text of f-strings.

How a tree is written is in :mod:`ato.canonical_writer`; the check that a file still
holds the code that runs, in :mod:`ato.live_source`. What is fingerprinted for a given
callable (past wrappers, partials, instances) is decided in :mod:`ato.fingerprint`.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import types
from collections.abc import Callable, Collection
from typing import Any

from ato.canonical_writer import NameScope, Writer, is_trace_decorator
from ato.live_source import StaleSourceError, module_definition, source_is_what_runs

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


class CodeFingerprint:
    """A function's fingerprint: ``value`` (hex SHA-256) and how it was made (``basis``:
    ``'ast'``, or ``'code object'`` when the source could not be read)."""

    __slots__ = ("basis", "value")

    def __init__(self, value: str, basis: str) -> None:
        self.value, self.basis = value, basis


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
    module, defined = module_definition(original)
    node = defined or _function_node(original, source)
    if not isinstance(node, ast.Lambda) and not source_is_what_runs(original, module, defined):
        raise StaleSourceError(
            f"the source file of {name_of(original)} changed since it was loaded (the "
            f"text there compiles to other code than what runs)"
        )
    writer = Writer(original.__globals__)
    if code.co_freevars:
        # Variables of the enclosing function (a decorator's ``fn``): renamed like locals.
        writer.scope = NameScope(None, renames=True)
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
    statements: list[ast.stmt], class_body: bool = False, local: Collection[str] = ()
) -> tuple[str, list[str]]:
    """The canonical text of module- or class-level statements (the same on every
    supported Python, unlike ``ast.unparse``) and the global names they read. ``local``:
    names that are a function's locals there (statements of a ``setup()`` that sets a
    global), renamed like a function's, so that renaming them is no edit."""
    writer = Writer()
    writer.class_body = class_body
    if local:
        writer.scope = NameScope(None, renames=True)
        writer.scope.bound = set(local)
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

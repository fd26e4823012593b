"""What a function's source reads through a name, for :mod:`ato.callees`: the attribute
chains read on each global (``ops.clip``, ``pkg.ops.OFFSET``), the modules it imports in
its body, the modules it may import by a name computed as it runs
(:mod:`ato.computed_imports`), and the classes its parameters are annotated with
(:mod:`ato.parameter_types`). Nothing is imported or run: modules already loaded are
looked up in ``sys.modules``.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
import types
from typing import Any

from ato.canonical import analyse
from ato.computed_imports import (
    ModuleFile,
    Walk,
    imported_at_the_top,
    is_import,
    may_import,
)
from ato.globals_code import (
    chains,
)
from ato.module_lookup import is_own_module
from ato.parameter_types import annotated_classes

__all__ = ["ANY_ATTRIBUTE", "attribute_reads"]


def attribute_reads(
    func: Any,
    as_it_runs: bool = True,
    walk: Walk | None = None,
) -> tuple[dict[str, list[tuple[str, ...]]], dict[str, Any], list[tuple[str, ModuleFile]], bool]:
    """What ``func``'s source reads through a name: ``{name: [chain, ...]}`` for each
    ``name.a.b`` (``pkg.ops.clip`` is ``('ops', 'clip')``); the modules (or what they
    hold) it imports inside its body, by local name, as already loaded (never imported
    here); the files of the modules it imports as it runs (:mod:`ato.computed_imports`);
    and whether any of the modules it imports is loaded only as it runs (not by an import
    at the top of its own module). Those are left out unless ``as_it_runs``. ``walk``:
    what one walk found about modules (see :class:`ato.computed_imports.Walk`)."""
    try:
        analysis = analyse(func)
        tree = analysis.node if analysis.node is not None else ast.parse(analysis.source)
    except Exception:  # no source, or none that parses: nothing more to find
        return {}, {}, [], False
    reads = chains([tree])
    imported: dict[str, Any] = {}
    home = getattr(func, "__globals__", {})
    found_settled: list[frozenset[str]] = []  # read on the first import met

    def settled() -> frozenset[str]:
        if not found_settled:
            found_settled.append(imported_at_the_top(home, walk))
        return found_settled[0]

    lazy = False

    def take(name: str, value: Any, module: str) -> None:
        """Follow ``value``, imported in the body from ``module``, if that module is
        loaded whatever ran before (imported at the top), or ``as_it_runs``."""
        nonlocal lazy
        if module not in settled() and is_own_module(module):
            lazy = True
            if not as_it_runs:
                return
        imported[name] = value

    may_run: list[tuple[str, ModuleFile]] = []
    for node in ast.walk(tree):
        held = _looked_up_by_a_computed_name(node)
        if isinstance(held, types.ModuleType):  # getattr(importlib.import_module("m"), n)
            take(f"<module {held.__name__}>", held, held.__name__)
            reads.setdefault(f"<module {held.__name__}>", []).append(ANY_ATTRIBUTE)
        elif held is not None and held[0] == _OWN_MODULE:
            # getattr(sys.modules[__name__], name), globals()[name]: its own module's
            own = sys.modules.get(str(home.get("__name__")))
            if own is not None:
                imported[_OWN_MODULE] = own
                reads.setdefault(_OWN_MODULE, []).append(ANY_ATTRIBUTE)
        elif held is not None:  # getattr(optim, name), getattr(pkg.optim, name)
            reads.setdefault(held[0], []).append((*held[1], *ANY_ATTRIBUTE))
        loaded = _imported_by_name(node)
        if loaded is not None:  # optim = importlib.import_module("pkg.optim")
            take(loaded[0], loaded[1], loaded[1].__name__)
        written = _read_on_an_imported_module(node)
        if written is not None:  # importlib.import_module("models.small").build(x)
            held, chain = written
            take(f"<module {held.__name__}>", held, held.__name__)
            reads.setdefault(f"<module {held.__name__}>", []).append(chain)
        # import_module(f"models.{name}"), or an import in its body of a module its
        # module does not import at the top: code it may run, by the module's file
        if is_import(node):
            may_run += may_import(node, home, settled(), walk)
        if isinstance(node, ast.Import):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                module = sys.modules.get(alias.name if alias.asname else bound)
                if module is not None:
                    take(bound, module, alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            source = sys.modules.get(node.module)
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found = sys.modules.get(submodule)
                if found is None and source is not None:
                    found = vars(source).get(alias.name)
                if found is not None and alias.name != "*":
                    where = submodule if isinstance(found, types.ModuleType) else node.module
                    take(alias.asname or alias.name, found, where)
    # def step(model: Net): the class of what comes in as an argument, which nothing
    # else in its module names
    for annotation, cls in annotated_classes(tree, home):
        imported.setdefault(f"<annotation {annotation}>", cls)
    return reads, imported, may_run, lazy


def _imported_by_name(node: ast.AST) -> tuple[str, Any] | None:
    """``(local name, module)`` for ``name = importlib.import_module("pkg.mod")`` (or
    ``import_module(...)``; annotated, or with ``:=``) with the module's name written
    out, when it is loaded."""
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target, value = node.targets[0], node.value
    elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)) and node.value is not None:
        target, value = node.target, node.value
    else:
        return None
    module = _module_loaded_by(value)
    if not isinstance(target, ast.Name) or module is None:
        return None
    return target.id, module


def _module_loaded_by(node: ast.expr) -> types.ModuleType | None:
    """The module ``importlib.import_module("pkg.mod")`` (or ``(".mod", "pkg")``) gives,
    or ``sys.modules["pkg.mod"]`` names, when it is loaded; never imported here."""
    name: str | None = None
    if isinstance(node, ast.Call) and not node.keywords and 1 <= len(node.args) <= 2:
        called = node.func
        function = called.attr if isinstance(called, ast.Attribute) else getattr(called, "id", "")
        texts = [arg.value for arg in node.args if isinstance(arg, ast.Constant)]
        written = len(texts) == len(node.args) and all(isinstance(t, str) for t in texts)
        if function == "import_module" and written:
            try:
                name = importlib.util.resolve_name(texts[0], texts[1] if texts[1:] else None)  # type: ignore[arg-type]
            except (ImportError, ValueError, TypeError):  # relative, without its package
                return None
    elif (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "modules"
        and isinstance(node.slice, ast.Constant)
        and isinstance(node.slice.value, str)
    ):
        name = node.slice.value  # sys.modules["pkg.mod"]
    module = sys.modules.get(name) if name else None
    return module if isinstance(module, types.ModuleType) else None


def _read_on_an_imported_module(
    node: ast.AST,
) -> tuple[types.ModuleType, tuple[str, ...]] | None:
    """``(module, attribute chain)`` for ``importlib.import_module("pkg.mod").a.b`` (or
    ``sys.modules["pkg.mod"].a``) with the module loaded."""
    if not isinstance(node, ast.Attribute):
        return None
    chain: list[str] = []
    base: ast.expr = node
    while isinstance(base, ast.Attribute):
        chain.append(base.attr)
        base = base.value
    module = _module_loaded_by(base) if isinstance(base, (ast.Call, ast.Subscript)) else None
    return (module, tuple(reversed(chain))) if module is not None else None


ANY_ATTRIBUTE = ("*",)  # an attribute chain: whichever one a name computed as it runs picks
_OWN_MODULE = "<its own module>"


def _looked_up_by_a_computed_name(
    node: ast.AST,
) -> tuple[str, tuple[str, ...]] | types.ModuleType | None:
    """``(global name, attribute chain)`` of the module whose attributes ``node`` reads by
    a name computed at run time (``getattr(optim, config.opt)`` is ``('optim', ())``,
    ``getattr(pkg.optim, name)`` is ``('pkg', ('optim',))``); :data:`_OWN_MODULE` for the
    function's own module (``getattr(sys.modules[__name__], name)``, ``globals()[name]``,
    ``globals().get(name)``); or the module itself when the code names it another way
    (``getattr(importlib.import_module("pkg.optim"), name)``, ``sys.modules["pkg.optim"]``).
    ``vars(optim)[name]`` and ``optim.__dict__[name]`` read as ``getattr(optim, name)``."""
    if isinstance(node, ast.Subscript):
        if not _computed(node.slice):
            return None
        if _globals_call(node.value):
            return _OWN_MODULE, ()
        owner = node.value
        if (
            isinstance(owner, ast.Call)
            and isinstance(owner.func, ast.Name)
            and owner.func.id == "vars"
            and len(owner.args) == 1
        ):
            return _owner(owner.args[0])
        if isinstance(owner, ast.Attribute) and owner.attr == "__dict__":
            return _owner(owner.value)
        return None
    if not isinstance(node, ast.Call) or not node.args:
        return None
    called = node.func
    if isinstance(called, ast.Attribute) and called.attr == "get" and _globals_call(called.value):
        return (_OWN_MODULE, ()) if _computed(node.args[0]) else None  # globals().get(name)
    if not (isinstance(called, ast.Name) and called.id == "getattr" and len(node.args) >= 2):
        return None
    if not _computed(node.args[1]):
        return None
    return _owner(node.args[0])


def _owner(owner: ast.expr) -> tuple[str, tuple[str, ...]] | types.ModuleType | None:
    """What a lookup by a computed name reads from: see _looked_up_by_a_computed_name."""
    loaded = _module_loaded_by(owner)
    if loaded is not None:
        return loaded
    chain: list[str] = []
    while isinstance(owner, ast.Attribute):
        chain.append(owner.attr)
        owner = owner.value
    if isinstance(owner, ast.Name):
        return owner.id, tuple(reversed(chain))
    if (
        not chain
        and isinstance(owner, ast.Subscript)
        and isinstance(owner.slice, ast.Name)
        and owner.slice.id == "__name__"
        and isinstance(owner.value, ast.Attribute)
        and owner.value.attr == "modules"
    ):
        return _OWN_MODULE, ()  # sys.modules[__name__]
    return None


def _globals_call(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and (node.func.id == "globals")
    )


def _computed(node: ast.expr) -> bool:
    return not isinstance(node, ast.Constant)

"""Modules a function imports as it runs: by a name it computes
(``importlib.import_module(f"models.{config.model}")``: which one is known only when it
runs, so every module of the program whose name fits what is written may be it), or by
an import in its body (``from models import small``), which may or may not be loaded when
a run starts, depending on what ran before in the process. Each counts by its file's
canonical text (comments and formatting do not count), read from disk without importing
anything, so a module the run loads only after it started counts from the start; a
module already loaded counts by the text first read while it is loaded (an edit after
that does not run until it is loaded again).

A fingerprint lists them among the callees under :data:`MAY_RUN` + the module's name,
its file's hash counted in the combined one; what such a module holds is found only in
a run that starts with it loaded, so it is marked the same way and left out of the
combined hash (see :func:`ato.trace.combined_fingerprint`). ``ato explain`` names such a
module only when both runs saw it and its code differs: choosing another model is a
config change, not a code change. Where a module is, without importing it, is
:mod:`ato.module_lookup`'s.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import os
import re
import string
import sys
import types
import warnings
from collections.abc import Collection, Mapping
from typing import Any

from ato.errors import AtoWarning
from ato.module_code import is_user_path
from ato.module_files import Import, ModuleFile, forget_versions, module_file
from ato.module_lookup import file_of, modules_under

__all__ = [
    "MAY_RUN",
    "ModuleFile",
    "Walk",
    "forget_read_files",
    "imported_at_the_top",
    "is_import",
    "is_may_run",
    "may_import",
]

_Found = list[tuple[str, ModuleFile]]  # (module name, its file), nearest first

MAY_RUN = "?"  # marks a callee name: a module the function imports as it runs
CANDIDATES_KEPT = 500  # per call site; each file is read once per version
SETTLED_KEPT = 2000  # program modules followed to find what is loaded with a module


class Walk:
    """What one walk of a function's callees found about modules: each module's file as
    loaded (``files``), the modules loaded with each set of top-level imports
    (``settled``), what importing some modules loads (``reached``), what each program
    module imports at its top (``tops``), and whether it warned of too many. One per
    walk: between runs, modules are loaded, reloaded and edited."""

    __slots__ = ("files", "reached", "settled", "tops", "warned", "warned_settled")

    def __init__(self) -> None:
        self.files: dict[str, list[tuple[str, ModuleFile]]] = {}
        self.settled: dict[tuple[frozenset[str], frozenset[str]], frozenset[str]] = {}
        # (modules imported, the modules loaded anyway) -> what importing them loads
        self.reached: dict[tuple[frozenset[str], frozenset[str]], _Found] = {}
        # A program module -> what its top level imports (None: a library's, or no file)
        self.tops: dict[str, frozenset[str] | None] = {}
        self.warned = False  # of too many modules imported in turn
        self.warned_settled = False  # of too many modules loaded anyway


def is_may_run(name: str) -> bool:
    return name.startswith(MAY_RUN)


def is_import(node: ast.AST) -> bool:
    """An ``import``, a ``from ... import`` or a call of ``import_module``."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return True
    return isinstance(node, ast.Call) and _called_name(node) == "import_module"


def _called_name(node: ast.Call) -> str:
    """``f`` of ``f(...)`` and of ``m.f(...)``."""
    called = node.func
    return called.attr if isinstance(called, ast.Attribute) else getattr(called, "id", "")


def may_import(
    node: ast.AST,
    home: Mapping[str, Any],
    settled: Collection[str] = (),
    walk: Walk | None = None,
) -> list[tuple[str, ModuleFile]]:
    """``[(module name, its file)]`` of the program's modules ``node`` (in a function's
    body; ``home`` is the function's globals) imports as it runs, but for those in
    ``settled`` (imported at the top of its module, so loaded whatever ran before):

    - ``import_module(name)`` (or ``importlib.import_module``) with a name computed after
      a written start: ``f"models.{name}"``, ``"models." + name``,
      ``"models.{}".format(name)``, ``"models.%s" % name``, or relative (``f".{name}"``
      beside ``"pkg.models"``, ``__package__`` or ``__name__``). The start must name a
      package (``f"m{name}"`` could be any module: nothing is counted); the modules
      and subpackages whose names fit count, level by level: ``f"models.{name}_v2.net"``
      each ``models.*_v2`` package's ``net``, ``f"models.{family}.{size}"`` every module
      two levels below ``models``.
    - ``import models.small``, ``from models import small``,
      ``import_module("models.small")``: loaded or not when a run starts (a loaded
      one's functions are followed as callees too, see :func:`ato.callees.callees`).

    And, in turn, the program's modules those import at their top (``models/small.py``
    importing ``models/layers.py``), as the version loaded imports them, but for those
    in ``settled``, and the packages that hold them. ``walk`` (one per walk of a
    function's callees) keeps each module found once.
    """
    walk = Walk() if walk is None else walk
    found = _directly(node, home, settled, walk)
    return _with_what_they_import(found, settled, walk) if found else []


def _with_what_they_import(
    found: list[tuple[str, ModuleFile]], settled: Collection[str], walk: Walk
) -> list[tuple[str, ModuleFile]]:
    """``found``, the packages that hold them, and the program's modules they import at
    their top, transitively (at most :data:`CANDIDATES_KEPT` more, the nearest, with a
    warning once per walk; libraries are never followed)."""
    # By value: an id may be reused once a set is freed, and a set may change.
    loaded_anyway = settled if isinstance(settled, frozenset) else frozenset(settled)
    limit = len(found) + CANDIDATES_KEPT
    key = (frozenset(name for name, _ in found), loaded_anyway)
    reached = walk.reached.get(key)
    if reached is None:
        reached = walk.reached[key] = _nearest(found, loaded_anyway, walk, limit + 1)
    if len(reached) <= limit:
        return reached
    if not walk.warned:
        walk.warned = True
        warnings.warn(
            f"{found[0][0]} leads to more than {CANDIDATES_KEPT} modules of the program "
            f"imported in turn; only the {CANDIDATES_KEPT} nearest count as code the run "
            f"may run. Import {found[0][0]} at the top of the module that uses it, so "
            f"that its code is followed function by function.",
            AtoWarning,
            stacklevel=4,
        )
    return reached[:limit]


def _nearest(
    found: list[tuple[str, ModuleFile]], loaded_anyway: frozenset[str], walk: Walk, limit: int
) -> list[tuple[str, ModuleFile]]:
    """``found``, then the modules importing them loads, breadth first, each depth in
    order of name as a whole (so which are kept past ``limit`` depends neither on the
    order of the imports nor on what the walk met before); no file is read past
    ``limit``."""
    order = list(found)
    seen = {name for name, _ in found} | loaded_anyway
    level = sorted(found, key=lambda pair: pair[0])
    while level and len(order) < limit:
        names = sorted(set().union(*(_onward(module, file) for module, file in level)) - seen)
        seen.update(names)
        level = []
        for name in names:
            if len(order) >= limit:
                break
            own = _own(name, walk)
            level += own
            order += own
    return order[:limit]


def _onward(module: str, file: ModuleFile) -> frozenset[str]:
    """What importing ``module`` (held in ``file``) loads next: its packages and what
    its top level imports."""
    package = _package_of(module, file.package)
    return _names(file.imports, package or None) | _with_packages(package)


def _package_of(module: str, is_package: bool) -> str:
    """The package a module's relative imports start from: itself for a package."""
    return module if is_package else module.rpartition(".")[0]


def _directly(
    node: ast.AST,
    home: Mapping[str, Any],
    settled: Collection[str],
    walk: Walk,
) -> list[tuple[str, ModuleFile]]:
    """What ``node`` itself imports: see :func:`may_import`."""
    if isinstance(node, ast.Import):
        return _unique(
            [
                found
                for alias in node.names
                if alias.name not in settled
                for found in _own(alias.name, walk)
            ]
        )
    if isinstance(node, ast.ImportFrom):
        source = _absolute("." * node.level + (node.module or ""), home.get("__package__"))
        if source is None:
            return []
        found = []
        for alias in node.names:
            submodule = f"{source}.{alias.name}"
            if submodule in settled:
                continue
            if file_of(submodule) is not None:  # from models import small: models.small
                found += _own(submodule, walk)
            elif source not in settled:  # from models import REGISTRY: models
                found += _own(source, walk)
        return _unique(found)
    if not (isinstance(node, ast.Call) and len(node.args) <= 2):
        return []
    if _called_name(node) != "import_module":
        return []
    keywords = {k.arg: k.value for k in node.keywords if k.arg is not None}
    name = node.args[0] if node.args else keywords.get("name")
    package = node.args[1] if len(node.args) > 1 else keywords.get("package")
    anchor = _package_text(package, home)
    if name is None:
        return []
    if isinstance(name, ast.Constant) and isinstance(name.value, str):
        whole = _absolute(name.value, anchor)
        return _own(whole, walk) if whole is not None and whole not in settled else []
    pattern = _absolute(_name_pattern(name), anchor)
    if pattern is not None and _COMPUTED not in pattern:  # f"models.small": written
        return _own(pattern, walk) if pattern not in settled else []
    return _unique([found for module in _fitting(pattern, walk) for found in _own(module, walk)])


def _fitting(pattern: str | None, walk: Walk) -> list[str]:
    """The program's modules whose names fit ``pattern`` (an absolute module name, each
    computed part :data:`_COMPUTED`): level by level below the written packages it
    starts with, at most :data:`CANDIDATES_KEPT` (first by name, with a warning)."""
    if pattern is None:
        return []
    written, *levels = pattern.split(".")
    if _COMPUTED in written:  # f"m{name}": no package written, could be any module
        return []
    current = [written]
    while levels and _COMPUTED not in levels[0]:
        current = [f"{current[0]}.{levels.pop(0)}"]
    for depth, level in enumerate(levels):
        if _COMPUTED not in level:
            current = [f"{package}.{level}" for package in current]
            continue
        pieces = level.split(_COMPUTED)
        fits = re.compile(".*".join(re.escape(piece) for piece in pieces) + r"\Z", re.DOTALL)
        deeper = depth + 1 < len(levels)  # a namespace package may hold what follows
        found = sorted(
            module
            for package in current
            for module in modules_under(package, pieces[0], namespaces=deeper)
            if fits.match(module.rpartition(".")[2])
        )
        # On the way, folders that hold nothing fitting (outputs beside the packages)
        # must not fill the cap: a level on the way may hold ten times as many.
        current = _capped(found, CANDIDATES_KEPT * (10 if deeper else 1), pattern)
    if _COMPUTED not in levels[-1]:  # a written tail: where it exists
        current = [module for module in current if file_of(module) is not None]
    return _capped(current, CANDIDATES_KEPT, pattern)


def _capped(found: list[str], limit: int, pattern: str) -> list[str]:
    if len(found) > limit:
        warnings.warn(
            f"{len(found)} modules fit the computed import_module name "
            f"{pattern.replace(_COMPUTED, '{...}')!r}; only the first {limit} by name "
            f"count as code the run may run. Import the module by a name written out, or "
            f"trace its functions.",
            AtoWarning,
            stacklevel=5,
        )
    return found[:limit]


def imported_at_the_top(home: Mapping[str, Any], walk: Walk | None = None) -> frozenset[str]:
    """The modules loaded whenever the module whose globals are ``home`` is: itself, its
    packages, what its top level imports (``import a.b`` loads ``a`` and ``a.b``), and,
    in turn, what those of the program's own modules import at their top, each as the
    version loaded imports them (found once per ``walk``)."""
    name, filename = home.get("__name__"), home.get("__file__")
    package = home.get("__package__")
    found = _with_packages(name) if isinstance(name, str) else frozenset()
    if not isinstance(filename, str):
        return found
    # Run as a script, its `if __name__ == "__main__":` block ran before any run began.
    script = name == "__main__"
    loaded = sys.modules.get(name) if isinstance(name, str) else None
    package = package if isinstance(package, str) else None
    direct = _top_imports(filename, package, script, loaded)
    walk = Walk() if walk is None else walk
    key = (found, direct)
    if key not in walk.settled:  # one object per module: the memo of `reached` shares it
        walk.settled[key] = found | _and_what_they_import(direct, walk)
    return walk.settled[key]


def _and_what_they_import(names: frozenset[str], walk: Walk) -> frozenset[str]:
    """``names`` and what the program's own modules among them import at their top,
    transitively (at most :data:`SETTLED_KEPT` modules read, in order of name, with a
    warning past them)."""
    found = set(names)
    waiting = sorted(names, reverse=True)
    read = 0
    while waiting:
        name = waiting.pop()
        onward = _top_imports_of(name, walk)
        if onward is None:
            continue  # a library's imports are its own business
        if read >= SETTLED_KEPT:
            if walk.warned_settled:
                break
            walk.warned_settled = True
            warnings.warn(
                f"more than {SETTLED_KEPT} modules of the program are imported at the top "
                f"of others; those past them (by name) are taken as imported as a function "
                f"runs, so they count by their whole files. Raise "
                f"ato.computed_imports.SETTLED_KEPT to follow them all.",
                AtoWarning,
                stacklevel=4,
            )
            break
        read += 1
        onward -= found
        found |= onward
        waiting.extend(sorted(onward, reverse=True))
    return frozenset(found)


def _top_imports_of(name: str, walk: Walk) -> frozenset[str] | None:
    """What program module ``name`` imports at its top, as the version loaded does
    (None for a library's module or a name no file holds); once per walk."""
    if name in walk.tops:
        return walk.tops[name]
    filename = file_of(name)
    onward = None
    if filename is not None and is_user_path(filename):
        package = _package_of(name, os.path.basename(filename) == "__init__.py")
        onward = _top_imports(filename, package or None, False, sys.modules.get(name))
    walk.tops[name] = onward
    return onward


@functools.lru_cache(maxsize=4096)
def _with_packages(name: str) -> frozenset[str]:
    parts = name.split(".")
    return frozenset(".".join(parts[: i + 1]) for i in range(len(parts)))


def _top_imports(
    filename: str, package: str | None, script: bool = False, loaded: Any = None
) -> frozenset[str]:
    """The modules ``filename``'s top level imports whenever it is imported, or run as a
    ``script``: as the version ``loaded`` (the module loaded from it, if any) imports
    them, else as the file does now (read once per version of the file)."""
    module = loaded if isinstance(loaded, types.ModuleType) else None
    file = module_file(filename, module, warn=False) if module is not None else None
    file = file or module_file(filename)
    if file is None:
        return frozenset()
    return _names(file.script_imports if script else file.imports, package)


@functools.lru_cache(maxsize=4096)
def _names(imports: tuple[Import, ...], package: str | None) -> frozenset[str]:
    found: set[str] = set()
    for level, module, names in imports:
        if level < 0:  # import a.b: loads a and a.b
            for name in names:
                found |= _with_packages(name)
            continue
        source = _absolute("." * level + module, package)
        if source is not None:
            found |= _with_packages(source)
            found |= {f"{source}.{name}" for name in names}
    return frozenset(found)


def _unique(found: list[tuple[str, ModuleFile]]) -> list[tuple[str, ModuleFile]]:
    return list(dict(found).items())


def _absolute(name: str, package: Any) -> str | None:
    """``name`` made absolute (a relative one against ``package``); None when it cannot
    be (import_module would raise) or names no module (``pkg..models``)."""
    if name.startswith("."):
        try:
            name = importlib.util.resolve_name(name, package)
        except (ImportError, ValueError, TypeError, AttributeError):
            return None
    return name if name and all(name.split(".")) else None


def _own(name: str, walk: Walk | None = None) -> list[tuple[str, ModuleFile]]:
    """``[(name, its file)]`` for a module of the program's own; ``[]`` for a library's,
    a name no file holds, or a loaded module whose file as loaded is not known. Found
    once per ``walk``."""
    if walk is None:
        return _found_own(name)
    if name not in walk.files:
        walk.files[name] = _found_own(name)
    return walk.files[name]


def _found_own(name: str) -> list[tuple[str, ModuleFile]]:
    if not name:
        return []
    loaded = sys.modules.get(name) if "/" not in name and os.sep not in name else None
    filename = file_of(name)
    if filename is None or not is_user_path(filename):
        return []
    counted = module_file(filename, loaded if isinstance(loaded, types.ModuleType) else None)
    return [(name, counted)] if counted is not None else []


def _package_text(node: ast.expr | None, home: Mapping[str, Any]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name) and node.id in ("__package__", "__name__"):
        value = home.get(node.id)
        return value if isinstance(value, str) else None
    return None


_COMPUTED = "\x00"  # stands for a computed part of a module name: no name holds it
# A %-conversion: "%s", "%(name)s", "%-5d"; "%%" is a written "%".
_CONVERSION = re.compile(
    r"%(?:\((?:[^()]|\([^()]*\))*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[a-zA-Z%]"
)


def _name_pattern(node: ast.expr) -> str:
    """A module name as written, each part computed at run time as :data:`_COMPUTED`:
    ``f"models.{name}.net"``, ``"models." + name``, ``"models.{}".format(name)`` and
    ``"models.%s" % name`` all read ``models.<computed>...``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            value.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str)
            else _COMPUTED
            for value in node.values
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _name_pattern(node.left) + _name_pattern(node.right)
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Mod)
        and isinstance(node.left, ast.Constant)
        and isinstance(node.left.value, str)
    ):
        return _CONVERSION.sub(
            lambda found: "%" if found.group() == "%%" else _COMPUTED, node.left.value
        )
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and isinstance(node.func.value, ast.Constant)
        and isinstance(node.func.value.value, str)
    ):
        try:
            parsed = list(string.Formatter().parse(node.func.value.value))
        except ValueError:  # "{" unclosed: format() would raise
            return _COMPUTED
        return "".join(
            written + ("" if field is None else _COMPUTED) for written, field, _, _ in parsed
        )
    return _COMPUTED


def forget_read_files() -> None:
    """Forget every file read and every module's top-level imports (tests start afresh)."""
    forget_versions()
    _names.cache_clear()
    _with_packages.cache_clear()

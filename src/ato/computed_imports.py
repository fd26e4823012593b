"""Modules a function may import as it runs: by a name it computes
(``importlib.import_module(f"models.{config.model}")``: which one is known only when it
runs, so every module of the program whose name fits the written start may be it), or by
an import in its body of a module not loaded yet. Each counts by its file's canonical
text (comments and formatting do not count), read from disk without importing anything,
so a module the run loads only after it started counts from the start.

They are kept apart from the callees proper: a fingerprint lists them under
:data:`MAY_RUN` + the module's name and leaves them out of the combined hash, because
choosing another model is a config change, not a code change. ``ato explain`` names such
a module only when both runs saw it and its code differs.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import os
import sys
import tokenize
import warnings
from collections.abc import Mapping
from typing import Any

from ato.errors import AtoWarning
from ato.module_code import is_user_path

__all__ = ["MAY_RUN", "ModuleFile", "is_may_run", "may_import"]

MAY_RUN = "?"  # marks a callee name: a module that may be imported by a computed name
CANDIDATES_KEPT = 1000  # per call site: each is read once per version of its file
_TEXT_KEPT = 100_000  # of a module's text stored for a diff


def is_may_run(name: str) -> bool:
    return name.startswith(MAY_RUN)


class ModuleFile:
    """A module's file as code a function may run: ``fingerprint`` ('module:' + hex of
    its canonical text) and ``text`` (what a diff shows)."""

    __slots__ = ("fingerprint", "text")

    def __init__(self, fingerprint: str, text: str) -> None:
        self.fingerprint, self.text = fingerprint, text


def may_import(node: ast.AST, home: Mapping[str, Any]) -> list[tuple[str, ModuleFile]]:
    """``[(module name, its file)]`` of the program's modules ``node`` (in a function's
    body; ``home`` is the function's globals) may import as it runs:

    - ``import_module(name)`` (or ``importlib.import_module``) with a name computed after
      a written start: ``f"models.{name}"``, ``"models." + name``,
      ``"models.{}".format(name)``, ``"models.%s" % name``, or relative (``f".{name}"``
      beside ``"pkg.models"``, ``__package__`` or ``__name__``). The start must name a
      package (``f"m{name}"`` could be any module: nothing is counted); its direct
      modules and subpackages whose names fit count.
    - ``import models.small``, ``from models import small`` or
      ``import_module("models.small")`` of a module not loaded yet (one loaded is
      followed as a callee).
    """
    if isinstance(node, ast.Import):
        return [found for alias in node.names for found in _not_loaded(alias.name)]
    if isinstance(node, ast.ImportFrom):
        package = home.get("__package__")
        source = _absolute("." * node.level + (node.module or ""), package)
        if source is None:
            return []
        found = []
        for alias in node.names:
            found += _not_loaded(f"{source}.{alias.name}") or _not_loaded(source)
        return list(dict(found).items())
    if not (isinstance(node, ast.Call) and len(node.args) <= 2):
        return []
    called = node.func
    function = called.attr if isinstance(called, ast.Attribute) else getattr(called, "id", "")
    if function != "import_module":
        return []
    keywords = {k.arg: k.value for k in node.keywords if k.arg is not None}
    name = node.args[0] if node.args else keywords.get("name")
    package = node.args[1] if len(node.args) > 1 else keywords.get("package")
    anchor = _package_text(package, home)
    if name is None or (package is not None and anchor is None):
        return []  # a package computed as it runs too: any module at all
    if isinstance(name, ast.Constant) and isinstance(name.value, str):
        whole = _absolute(name.value, anchor)
        return _not_loaded(whole) if whole is not None else []
    start = _absolute(_written_start(name) + "_", anchor)
    if start is None or "." not in start:
        return []
    parent, stem = start[:-1].rsplit(".", 1)
    found = []
    for module, filename in _modules_under(parent, stem):
        counted = module_file(filename)
        if counted is not None:
            found.append((module, counted))
    return found


def _absolute(name: str, package: Any) -> str | None:
    """``name`` made absolute (a relative one against ``package``); None when it cannot
    be (import_module would raise)."""
    if not name.startswith("."):
        return name or None
    try:
        return importlib.util.resolve_name(name, package)
    except (ImportError, ValueError, TypeError, AttributeError):
        return None


def _not_loaded(name: str) -> list[tuple[str, ModuleFile]]:
    """``[(name, its file)]`` for a module of the program's own that is not loaded."""
    if not name or name in sys.modules or "*" in name:
        return []
    parent, _, stem = name.rpartition(".")
    for module, filename in _modules_under(parent, stem) if parent else _top_level(stem):
        counted = module_file(filename) if module == name else None
        if counted is not None:
            return [(name, counted)]
    return []


def _package_text(node: ast.expr | None, home: Mapping[str, Any]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name) and node.id in ("__package__", "__name__"):
        value = home.get(node.id)
        return value if isinstance(value, str) else None
    return None


def _written_start(node: ast.expr) -> str:
    """The text a module name computed at run time begins with, as written ('' if none)."""
    if isinstance(node, ast.JoinedStr):  # f"models.{name}"
        first = node.values[0] if node.values else None
        written = isinstance(first, ast.Constant) and isinstance(first.value, str)
        return first.value if written else ""  # type: ignore[union-attr]
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        left = node.left  # "models." + name + suffix: the leftmost operand
        while isinstance(left, ast.BinOp) and isinstance(left.op, ast.Add):
            left = left.left
        if isinstance(left, ast.Constant) and isinstance(left.value, str):
            return left.value.split("%")[0] if isinstance(node.op, ast.Mod) else left.value
        return ""
    if (  # "models.{}".format(name)
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and isinstance(node.func.value, ast.Constant)
        and isinstance(node.func.value.value, str)
    ):
        return node.func.value.value.split("{")[0]
    return ""


def _package_folders(package: str) -> list[str]:
    """Where ``package``'s modules live: its ``__path__`` when loaded, else found on
    ``sys.path`` folder by folder (never imported: that would run its code)."""
    parts = package.split(".")
    folders: list[str] = []
    for depth in range(len(parts), 0, -1):
        loaded = sys.modules.get(".".join(parts[:depth]))
        path = getattr(loaded, "__path__", None) if loaded is not None else None
        if path is not None:
            try:
                folders = [str(p) for p in list(path)]
            except Exception:  # a namespace path that cannot be listed
                return []
            break
    else:
        depth = 0
        folders = [p or os.getcwd() for p in sys.path if isinstance(p, str)]
    for part in parts[depth:]:
        folders = [os.path.join(folder, part) for folder in folders]
    return [folder for folder in dict.fromkeys(folders) if os.path.isdir(folder)]


def _top_level(name: str) -> list[tuple[str, str]]:
    """``[(name, file)]`` of a top-level module of the program's own, found on sys.path."""
    for folder in [p or os.getcwd() for p in sys.path if isinstance(p, str)]:
        for filename in (
            os.path.join(folder, name + ".py"),
            os.path.join(folder, name, "__init__.py"),
        ):
            if os.path.isfile(filename):
                return [(name, filename)] if is_user_path(filename) else []
    return []


def _modules_under(package: str, stem: str) -> list[tuple[str, str]]:
    """``[(module name, file)]`` of the program's own direct modules of ``package`` whose
    names begin with ``stem``, at most :data:`CANDIDATES_KEPT` (a warning says so)."""
    found: dict[str, str] = {}
    for folder in _package_folders(package):
        try:
            entries = sorted(os.listdir(folder))
        except OSError:
            continue
        for entry in entries:
            name = entry.removesuffix(".py")
            path = os.path.join(folder, entry)
            if entry.endswith(".py") and name != "__init__":
                filename = path
            elif "." not in entry and os.path.isfile(os.path.join(path, "__init__.py")):
                filename = os.path.join(path, "__init__.py")
            else:
                continue
            if name.isidentifier() and name.startswith(stem) and is_user_path(filename):
                found.setdefault(f"{package}.{name}", filename)
    if len(found) > CANDIDATES_KEPT:
        warnings.warn(
            f"{package} has {len(found)} modules a computed import_module name may pick; "
            f"only the first {CANDIDATES_KEPT} by name count as code the run may run. "
            f"Import the module by a name written out, or trace its functions.",
            AtoWarning,
            stacklevel=2,
        )
    return sorted(found.items())[:CANDIDATES_KEPT]


def module_file(filename: str) -> ModuleFile | None:
    try:
        stat = os.stat(filename)
    except OSError:
        return None
    return _read(filename, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4096)
def _read(filename: str, stamp: int, size: int) -> ModuleFile | None:
    """``stamp`` and ``size`` make an edited file read again."""
    from ato.canonical import canonical_statements

    try:
        with tokenize.open(filename) as handle:  # a BOM or a coding cookie, as Python reads
            text = handle.read()
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    try:
        canonical = canonical_statements(ast.parse(text).body)[0]
    except Exception:  # unparsable (it would fail to import): counted by its text
        canonical = "text:" + text
    digest = hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
    shown = text if len(text) <= _TEXT_KEPT else text[:_TEXT_KEPT] + "\n..."
    return ModuleFile("module:" + digest, shown)

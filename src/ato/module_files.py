"""A module's file as code a function may run (:mod:`ato.computed_imports` says which):
its canonical text's hash (comments and layout do not count), read once per version of
the file. A module already loaded counts as the file was when it was loaded (which
version that is, :mod:`ato.loaded_version` tells): an edit made after it was loaded is
not what runs, until the module is loaded again (``importlib.reload``, a new process).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import os
import stat
import tokenize
import types
import warnings
from collections.abc import Iterator

from ato.errors import AtoWarning
from ato.loaded_version import version_loaded

__all__ = ["Import", "ModuleFile", "forget_versions", "module_file", "run_on_import"]

_PARSED_LIMIT = 2_000_000  # bytes: a bigger file counts by its bytes, unparsed
_TEXT_KEPT = 100_000  # characters of a module's text kept for a diff


# An import statement as written: (level, module or "", imported names); level -1 for
# "import a.b" (names: the modules named), else "from" with that many dots.
Import = tuple[int, str, tuple[str, ...]]


class ModuleFile:
    """A module's file as code a function may run: ``fingerprint`` ('module:' + hex of
    its canonical text), ``text`` (what a diff shows), ``source`` (the whole text, None
    for a file too big to parse), ``imports`` (the imports its top level runs whenever
    it is imported) and ``script_imports`` (those it runs as a script)."""

    __slots__ = ("fingerprint", "imports", "package", "script_imports", "source", "text")

    def __init__(
        self,
        fingerprint: str,
        text: str,
        source: str | None = None,
        imports: tuple[Import, ...] = (),
        script_imports: tuple[Import, ...] = (),
        package: bool = False,
    ) -> None:
        self.fingerprint, self.text, self.source = fingerprint, text, source
        self.imports, self.script_imports = imports, script_imports
        self.package = package  # an __init__.py: its relative imports start from it


def run_on_import(body: list[ast.stmt], script: bool = False) -> Iterator[ast.stmt]:
    """The statements of a module's top level that run whenever it is imported (or run
    as a ``script``): into ``if``, ``try`` and ``with``, but not the body of
    ``if TYPE_CHECKING:`` (typing only), nor, unless ``script``, of
    ``if __name__ == "__main__":``."""
    for node in body:
        if isinstance(node, ast.If):
            if not _typing_only(node.test) and (script or not _script_only(node.test)):
                yield from run_on_import(node.body, script)
            yield from run_on_import(node.orelse, script)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            yield from run_on_import(node.body, script)
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            yield from run_on_import(node.body, script)  # type: ignore[attr-defined]
            yield from run_on_import(node.orelse, script)  # type: ignore[attr-defined]
            yield from run_on_import(node.finalbody, script)  # type: ignore[attr-defined]
        else:
            yield node


def _typing_only(test: ast.expr) -> bool:
    """``TYPE_CHECKING``, ``typing.TYPE_CHECKING``."""
    if isinstance(test, ast.Name) and test.id == "TYPE_CHECKING":
        return True
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _script_only(test: ast.expr) -> bool:
    """``__name__ == "__main__"``."""
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
    )


def _imports(tree: ast.Module, script: bool = False) -> tuple[Import, ...]:
    found: list[Import] = []
    for node in run_on_import(tree.body, script):
        if isinstance(node, ast.Import):
            found.append((-1, "", tuple(alias.name for alias in node.names)))
        elif isinstance(node, ast.ImportFrom):
            names = tuple(alias.name for alias in node.names)
            found.append((node.level, node.module or "", names))
    return tuple(found)


# A loaded module's file as read when it was loaded, by (file, spec it was loaded by:
# importlib.reload gives it a new one): what runs is that, not a later edit on disk.
_pinned: dict[tuple[str, int], tuple[object, ModuleFile]] = {}
# Each version of a file read: {file: {(mtime in whole seconds, size): ModuleFile}}, as
# a .pyc header records them (32 bits each).
_versions: dict[str, dict[tuple[int, int], ModuleFile]] = {}
_warned: set[str] = set()
# A loaded module whose version is none of those read, by (file, spec), with the file
# as read then: checked again only once the file changes.
_unknown: dict[tuple[str, int], tuple[object, ModuleFile]] = {}


def module_file(
    filename: str, loaded: types.ModuleType | None = None, warn: bool = True
) -> ModuleFile | None:
    """``filename`` as code (None when it cannot be read); ``loaded``: the module it was
    loaded as, counted as the file was then: an edit after that is not what runs (None,
    with a warning unless not ``warn``, when that version was never read)."""
    try:  # a module of a ModuleType subclass may raise anything
        spec = getattr(loaded, "__spec__", None) if loaded is not None else None
    except Exception:
        spec = None
    # By its spec (importlib.reload gives it a new one); without one, by the module.
    holder: object = spec if spec is not None else loaded
    key = (filename, id(holder))
    pinned = _pinned.get(key)
    if loaded is not None and pinned is not None and pinned[0] is holder:
        return pinned[1]
    try:
        found = os.stat(filename)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(found.st_mode):
        return None
    counted = _read(filename, found.st_mtime_ns, found.st_size)
    if counted is None:
        return None
    now = (int(found.st_mtime) & 0xFFFFFFFF, found.st_size & 0xFFFFFFFF)
    versions = _versions.setdefault(filename, {})
    versions[now] = counted
    if loaded is None:
        return counted
    unknown = _unknown.get(key)
    if unknown is not None and unknown[0] is holder and unknown[1] is counted:
        return None  # none of the versions read, as found before: not checked again
    try:
        loaded_as = version_loaded(loaded, filename, now, counted, versions)
    except Exception:  # its attributes raise: what it was loaded from cannot be told
        loaded_as = counted
    if loaded_as is None:
        _unknown[key] = (holder, counted)
        if warn and filename not in _warned:
            _warned.add(filename)
            warnings.warn(
                f"{filename} was edited after it was loaded: the code that runs is not "
                f"known, so the module is not counted for this run. Start a new process "
                f"to run (and count) the edit.",
                AtoWarning,
                stacklevel=2,
            )
        return None
    _pinned[key] = (holder, loaded_as)
    return loaded_as


def forget_versions() -> None:
    """Forget every file read (tests start afresh)."""
    _pinned.clear()
    _unknown.clear()
    _versions.clear()
    _warned.clear()
    _read.cache_clear()


# Unbounded, as _versions is: a walk reads its files in the same order each time, so an
# LRU smaller than a program reads every file again (1,100 files: 20x slower warm).
@functools.cache
def _read(filename: str, stamp: int, size: int) -> ModuleFile | None:
    """``stamp`` and ``size`` make an edited file read again."""
    from ato.canonical import canonical_statements

    if size > _PARSED_LIMIT:  # generated tables: hashed as bytes, never held whole
        digest = hashlib.sha256()
        try:
            with open(filename, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        except OSError:
            return None
        shown = f"# {filename}: {size:,} bytes, too big to show\n"
        return ModuleFile("module:" + digest.hexdigest(), shown)  # imports unknown
    try:
        with tokenize.open(filename) as handle:  # a BOM or a coding cookie, as Python reads
            text = handle.read()
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    imports: tuple[Import, ...] = ()
    script_imports: tuple[Import, ...] = ()
    try:
        tree = ast.parse(text)
        canonical = canonical_statements(tree.body)[0]
        imports, script_imports = _imports(tree), _imports(tree, script=True)
    except Exception:  # unparsable (it would fail to import): counted by its text
        canonical = "text:" + text
    digest_text = hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
    shown = text if len(text) <= _TEXT_KEPT else text[:_TEXT_KEPT] + "\n..."
    package = os.path.basename(filename) == "__init__.py"
    return ModuleFile("module:" + digest_text, shown, text, imports, script_imports, package)

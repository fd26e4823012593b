"""Where a module of the program is, found without importing it (that would run its
code): its file, from ``sys.modules`` when loaded, else from its package's ``__path__``
or ``sys.path``; and the modules a package folder holds. Whatever ``sys.modules`` holds
is read defensively: a lazy-loading library may put a proxy there whose attributes raise.
"""

from __future__ import annotations

import os
import stat
import sys
import warnings
from typing import Any

from ato.errors import AtoWarning
from ato.module_code import is_user_path

__all__ = ["file_attribute", "file_of", "is_own_module", "modules_under"]


def is_own_module(name: str) -> bool:
    """A loaded module of the program's own (not of a library)."""
    filename = file_attribute(sys.modules.get(name))
    return filename is not None and is_user_path(filename)


def file_attribute(module: Any) -> str | None:
    """``module.__file__``, whatever ``sys.modules`` holds (a proxy may raise anything)."""
    try:
        filename = getattr(module, "__file__", None)
    except Exception:
        return None
    return filename if isinstance(filename, str) else None


def file_of(name: str) -> str | None:
    """The file module ``name`` is (or would be) loaded from; None if none holds it."""
    if "/" in name or os.sep in name:  # import_module("a/b") imports nothing
        return None
    loaded = sys.modules.get(name)
    if loaded is not None:
        return file_attribute(loaded)
    return _locate(name)[0]


def _locate(name: str) -> tuple[str | None, list[str]]:
    """Where Python's path finder would find module ``name`` (not loaded): its file
    (None for a namespace package) and the folders of its submodules ([] for a plain
    module). Per folder, a package (``stem/__init__.py``) before a module
    (``stem.py``); the first found wins, and folders named ``stem`` without an
    ``__init__.py`` are portions of a namespace package only when none is found."""
    parent, _, stem = name.rpartition(".")
    folders = _package_folders(parent) if parent else _search_path()
    portions: list[str] = []
    for folder in folders:
        package = os.path.join(folder, stem)
        if _regular(os.path.join(package, "__init__.py")):
            return os.path.join(package, "__init__.py"), [package]
        if _regular(package + ".py"):
            return package + ".py", []
        if os.path.isdir(package):
            portions.append(package)
    return None, portions


def _regular(filename: str) -> bool:
    """A regular file (a FIFO named ``x.py`` would block the read)."""
    try:
        return stat.S_ISREG(os.stat(filename).st_mode)
    except (OSError, ValueError):
        return False


def _search_path() -> list[str]:
    return [p or os.getcwd() for p in sys.path if isinstance(p, str)]


def _package_folders(package: str) -> list[str]:
    """Where ``package``'s modules live: its ``__path__`` when loaded, else where the
    path finder would find it (never imported: that would run its code)."""
    loaded = sys.modules.get(package)
    if loaded is None:
        return list(dict.fromkeys(_locate(package)[1]))
    try:  # whatever sys.modules holds: a proxy may raise anything
        path = getattr(loaded, "__path__", None)
        folders = [str(p) for p in list(path)] if path is not None else []
    except Exception:  # a namespace path that cannot be listed
        return []
    return [folder for folder in dict.fromkeys(folders) if os.path.isdir(folder)]


def modules_under(package: str, stem: str, kept: int) -> list[str]:
    """The names of ``package``'s direct modules and subpackages whose names begin with
    ``stem`` (at most :data:`kept`, first by name; a warning says so)."""
    found: set[str] = set()
    for folder in _package_folders(package):
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for entry in entries:
            name = entry.removesuffix(".py")
            if name == "__init__" or "." in name or not name.startswith(stem) or not name:
                continue
            if entry.endswith(".py") or os.path.isfile(os.path.join(folder, entry, "__init__.py")):
                found.add(f"{package}.{name}")
    if len(found) > kept:
        warnings.warn(
            f"{package} has {len(found)} modules a computed import_module name may pick; "
            f"only the first {kept} by name count as code the run may run. "
            f"Import the module by a name written out, or trace its functions.",
            AtoWarning,
            stacklevel=2,
        )
    return sorted(found)[:kept]

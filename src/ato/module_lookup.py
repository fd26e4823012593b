"""Where a module of the program is, found without importing it (that would run its
code): its file, from ``sys.modules`` when loaded, else from its package's ``__path__``
or ``sys.path``; and the modules a package folder holds. Whatever ``sys.modules`` holds
is read defensively: a lazy-loading library may put a proxy there whose attributes raise.
"""

from __future__ import annotations

import importlib.machinery
import os
import stat
import sys
from typing import Any

from ato.module_code import is_user_path

__all__ = ["file_attribute", "file_of", "is_own_module", "modules_under"]

# In the order Python's file finder tries them, per folder.
_SUFFIXES = (
    *importlib.machinery.EXTENSION_SUFFIXES,
    *importlib.machinery.SOURCE_SUFFIXES,
    *importlib.machinery.BYTECODE_SUFFIXES,
)


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
        folder_of_it = os.path.isdir(package)
        init = _first_file(os.path.join(package, "__init__")) if folder_of_it else None
        if init is not None:
            return (init if init.endswith(".py") else None), [package]
        module = _first_file(package)
        if module is not None:
            return (module if module.endswith(".py") else None), []
        if folder_of_it:
            portions.append(package)
    return None, portions


def _first_file(stem: str) -> str | None:
    """``stem`` with the first suffix Python's file finder tries that names a file: an
    extension module's before a source file's (a compiled build beside its .py is what
    is imported), then a .pyc without source."""
    for suffix in _SUFFIXES:
        if _regular(stem + suffix):
            return stem + suffix
    return None


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


def modules_under(package: str, stem: str, namespaces: bool = False) -> list[str]:
    """The names of ``package``'s direct modules and subpackages whose names begin with
    ``stem``, in order of name; folders without an ``__init__.py`` (namespace packages)
    too when ``namespaces``."""
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
            if entry.endswith(".py"):
                found.add(f"{package}.{name}")
                continue
            path = os.path.join(folder, entry)
            if os.path.isfile(os.path.join(path, "__init__.py")) or (
                namespaces and name.isidentifier() and name != "__pycache__" and os.path.isdir(path)
            ):
                found.add(f"{package}.{name}")
    return sorted(found)

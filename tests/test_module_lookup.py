"""Where a module is, found without importing it, the way Python's path finder finds it
(ato.module_lookup)."""

from __future__ import annotations

import importlib
import importlib.machinery
import itertools
import sys

import pytest

from ato.module_lookup import file_of, modules_under

_NAMES = itertools.count()


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """(two folders put first on sys.path, a top-level name of its own); its modules are
    unloaded after."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    monkeypatch.syspath_prepend(str(second))
    monkeypatch.syspath_prepend(str(first))
    name = f"lookup_pkg_{next(_NAMES)}"
    yield first, second, name
    for loaded in [m for m in sys.modules if m.split(".")[0] == name]:
        del sys.modules[loaded]
    importlib.invalidate_caches()


def _imported_file(name):
    importlib.invalidate_caches()
    return importlib.import_module(name).__file__


def test_a_package_folder_beats_a_module_file_of_the_same_name(fresh):
    first, _, name = fresh
    (first / name / "small").mkdir(parents=True)
    (first / name / "__init__.py").write_text("")
    (first / name / "small.py").write_text("WHICH = 'module'\n")
    (first / name / "small" / "__init__.py").write_text("WHICH = 'package'\n")
    found = file_of(f"{name}.small")
    assert found == _imported_file(f"{name}.small")
    assert found.endswith("__init__.py")


def test_a_regular_package_hides_a_folder_of_its_name_later_on_the_path(fresh):
    first, second, name = fresh
    for base in (first, second):
        (base / name).mkdir()
        (base / name / "__init__.py").write_text("")
    (first / name / "small.py").write_text("")
    (second / name / "legacy.py").write_text("")
    assert modules_under(name, "", 500) == [f"{name}.small"]
    assert file_of(f"{name}.legacy") is None
    with pytest.raises(ImportError):
        _imported_file(f"{name}.legacy")
    assert file_of(f"{name}.small") == _imported_file(f"{name}.small")


def test_a_namespace_package_spans_every_folder_of_its_name(fresh):
    first, second, name = fresh
    for base, module in ((first, "small"), (second, "big")):
        (base / name).mkdir()
        (base / name / f"{module}.py").write_text("")
    assert modules_under(name, "", 500) == [f"{name}.big", f"{name}.small"]
    for module in ("small", "big"):
        assert file_of(f"{name}.{module}") == _imported_file(f"{name}.{module}")


def test_a_module_later_on_the_path_beats_a_namespace_folder_before_it(fresh):
    first, second, name = fresh
    (first / name).mkdir()  # no __init__.py: a namespace portion
    (second / f"{name}.py").write_text("")
    assert file_of(name) == _imported_file(name) == str(second / f"{name}.py")


def test_a_subpackage_of_a_package_not_loaded_is_found_in_its_own_folder_only(fresh):
    first, second, name = fresh
    for base in (first, second):
        (base / name / "models").mkdir(parents=True)
        (base / name / "__init__.py").write_text("")
        (base / name / "models" / "__init__.py").write_text("")
    (second / name / "models" / "other.py").write_text("")
    (first / name / "models" / "small.py").write_text("")
    assert modules_under(f"{name}.models", "", 500) == [f"{name}.models.small"]


def test_an_extension_module_beside_a_source_file_is_what_python_imports(fresh):
    """A compiled build (mypyc, Cython) beside its .py: Python imports the extension,
    so the .py is not the module's file."""
    first, _, name = fresh
    extension = importlib.machinery.EXTENSION_SUFFIXES[0]
    (first / f"{name}{extension}").write_bytes(b"")  # never loaded: looked up only
    (first / f"{name}.py").write_text("")
    spec = importlib.machinery.PathFinder.find_spec(name)
    assert spec is not None and spec.origin.endswith(extension)
    assert file_of(name) is None


def test_an_extension_module_earlier_on_the_path_hides_a_source_file_later(fresh):
    first, second, name = fresh
    extension = importlib.machinery.EXTENSION_SUFFIXES[0]
    (first / f"{name}{extension}").write_bytes(b"")
    (second / f"{name}.py").write_text("")
    assert file_of(name) is None

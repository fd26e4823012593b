"""Whether a function's file still holds the code that runs (ato.live_source)."""

from __future__ import annotations

import importlib.util
import itertools
import sys
import textwrap
from pathlib import Path

import pytest

from ato.canonical import analyse
from ato.live_source import StaleSourceError, module_definition, source_is_what_runs

SOURCE = """\
SCALE = 2


def plain(x):
    return x * SCALE


class Model:
    def forward(self, x):
        return self.__private(x) + 1

    def __private(self, x):
        return x


def outer(k):
    def inner(x):
        return x + k

    return inner
"""


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_NAMES = itertools.count()


@pytest.fixture
def loaded(tmp_path):
    name = f"live_source_{next(_NAMES)}"  # a module name of its own: nothing cached
    path = tmp_path / f"{name}.py"
    path.write_text(SOURCE)
    yield path, _load(path, name)
    sys.modules.pop(name, None)


def _functions(module):
    return {
        "plain": module.plain,
        "method": module.Model.forward,
        "mangled": module.Model._Model__private,
        "closure": module.outer(3),
    }


@pytest.mark.parametrize("which", ["plain", "method", "mangled", "closure"])
def test_an_unedited_file_holds_what_runs(loaded, which):
    _, module = loaded
    func = _functions(module)[which]
    code, node = module_definition(func)
    assert node is not None
    assert source_is_what_runs(func, code, node)


@pytest.mark.parametrize(
    ("which", "old", "new"),
    [
        ("plain", "return x * SCALE", "return x / SCALE"),
        ("method", "self.__private(x) + 1", "self.__private(x) + 2"),
        ("closure", "return x + k", "return x - k"),
    ],
)
def test_an_edit_after_loading_is_told(loaded, which, old, new):
    path, module = loaded
    func = _functions(module)[which]
    path.write_text(SOURCE.replace(old, new))
    code, node = module_definition(func)
    assert not source_is_what_runs(func, code, node)


def test_a_comment_added_above_moves_the_definition_and_is_told_as_gone(loaded):
    path, module = loaded
    path.write_text("# a new first line\n" + SOURCE)
    code, node = module_definition(module.plain)
    assert node is None  # no definition at the line the running code starts on
    assert not source_is_what_runs(module.plain, code, node)


def test_analysing_an_edited_function_raises_stale_source_naming_it(tmp_path):
    path = tmp_path / "live_source_stale_named.py"
    path.write_text(textwrap.dedent(SOURCE))
    module = _load(path, "live_source_stale_named")
    try:
        path.write_text(SOURCE.replace("x * SCALE", "x - SCALE"))
        with pytest.raises(StaleSourceError, match=r"live_source_stale_named\.plain"):
            analyse(module.plain)
    finally:
        sys.modules.pop("live_source_stale_named", None)


def test_a_lambda_has_no_module_definition():
    code, node = module_definition(lambda x: x)
    assert (code, node) == (None, None)

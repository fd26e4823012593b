"""ato.module_code: one parse of a module's file."""

from __future__ import annotations

import os

from ato.module_code import code_of_file, is_user_path


def test_a_modules_globals_imports_classes_and_functions_are_indexed(tmp_path):
    path = tmp_path / "prog.py"
    path.write_bytes(
        "\ufeff# -*- coding: utf-8 -*-\n"
        "from consts import LR as rate\n"
        "from .local import *\n"
        "try:\n    import torch\nexcept ImportError:\n    torch = None\n"
        "if True:\n    DEVICE = 'cpu'\nelse:\n    DEVICE = 'cuda'\n"
        "A, B = 1, 2\n"
        "NAME = 'café'  # non-ASCII before the end of the line\n"
        "class Outer:\n    class Inner:\n        x: int = 1\n\n"
        "def step(x):\n    return x\n".encode("utf-8")
    )
    code = code_of_file(str(path))
    assert code is not None
    assert set(code.assignments) >= {"torch", "DEVICE", "A", "B", "NAME"}
    # the if (which decides between them) and both assignments
    assert [type(s).__name__ for s in code.assignments["DEVICE"]] == ["If", "Assign", "Assign"]
    assert code.imported["rate"] == ("consts", "LR") and code.star == [".local"]
    assert set(code.classes) == {"Outer", "Outer.Inner"}
    assert ("step", 18) in code.functions
    assert code.source(code.assignments["NAME"][0]) == "NAME = 'café'"


def test_a_file_that_cannot_be_read_or_parsed_gives_nothing(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("def (:\n")
    assert code_of_file(str(broken)) is None
    assert code_of_file(str(tmp_path / "missing.py")) is None


def test_the_standard_library_is_no_users_code(tmp_path):
    assert not is_user_path(os.__file__) and not is_user_path("<stdin>")
    assert is_user_path(str(tmp_path / "train.py"))

"""ato.globals_code: module globals and classes, counted by the code that sets them."""

from __future__ import annotations

import importlib.util
import sys

from ato.globals_code import class_body, global_value


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_a_global_counts_by_its_code_and_says_what_that_code_reads(tmp_path):
    path = tmp_path / "gc_prog.py"
    path.write_text("import time\nBASE = 64\nHIDDEN = BASE * 4\nSTART = time.time()\n")
    module = load(path, "gc_prog")
    try:
        key, value, follow = global_value(vars(module), "HIDDEN")
        assert key == "gc_prog.HIDDEN" and value.text == "HIDDEN = BASE * 4\n"
        assert "BASE" in follow[1]
        start = global_value(vars(module), "START")[1].fingerprint
        module.START = 0.0  # another value, the same code
        assert global_value(vars(module), "START")[1].fingerprint == start
        assert global_value(vars(module), "missing") is None
    finally:
        sys.modules.pop("gc_prog", None)


def test_without_a_file_a_plain_global_counts_by_its_value():
    namespace = {"__name__": "cell", "SCALE": 2, "OBJ": object()}
    key, value, follow = global_value(namespace, "SCALE")
    assert key == "cell.SCALE" and value.fingerprint.startswith("value:") and follow is None
    assert global_value(namespace, "OBJ") is None


def test_a_class_counts_by_its_body_not_its_state(tmp_path):
    path = tmp_path / "gc_cls.py"
    path.write_text(
        "class Cfg:\n    lr: float = 0.1\n    cache = {}\n\n    def f(self):\n        return 1\n"
    )
    module = load(path, "gc_cls")
    try:
        before = class_body(module.Cfg)[0]
        module.Cfg.cache["x"] = 1
        assert class_body(module.Cfg)[0] == before and "lr" in before
    finally:
        sys.modules.pop("gc_cls", None)


def test_a_global_set_with_others_in_one_statement_counts_by_its_own_part(tmp_path):
    fingerprints = []
    for tag, other in (("a", 3), ("b", 4)):
        path = tmp_path / f"gc_tuple_{tag}.py"
        path.write_text(f"DROPOUT, OTHER = 0.1, {other}\nA, B = divmod(7, 2)\n")
        module = load(path, f"gc_tuple_{tag}")
        try:
            _, value, follow = global_value(vars(module), "DROPOUT")
            assert value.text.strip() == "DROPOUT = 0.1" and "OTHER" not in follow[1]
            fingerprints.append(value.fingerprint)
            _, whole, follow = global_value(vars(module), "A")  # not split: one call
            assert whole.text.strip() == "A, B = divmod(7, 2)" and "B" not in follow[1]
        finally:
            sys.modules.pop(f"gc_tuple_{tag}", None)
    assert fingerprints[0] == fingerprints[1]

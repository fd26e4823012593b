"""ato.globals_code: module globals and classes, counted by the code that sets them."""

from __future__ import annotations

import importlib.util
import sys

import pytest

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


def _value_of(tmp_path, tag, text, name):
    path = tmp_path / f"gc_{tag}.py"
    path.write_text(text)
    module = load(path, f"gc_{tag}")
    try:
        found = global_value(vars(module), name)
        return None if found is None else found[1]
    finally:
        sys.modules.pop(f"gc_{tag}", None)


@pytest.mark.parametrize(
    ("first", "second", "name", "text"),
    [
        ("SCALE, (LO, HI) = 2, (0, 1)", "SCALE, (LO, HI) = 2, (0, 5)", "SCALE", "SCALE = 2"),
        ("SCALE, (LO, HI) = 2, (0, 1)", "SCALE, (LO, HI) = 2, (7, 1)", "HI", "HI = 1"),
        ("FIRST, *REST = 1, 2, 3", "FIRST, *REST = 1, 2, 4", "FIRST", "FIRST = 1"),
        ("*REST, LAST = 1, 2, 3", "*REST, LAST = 0, 2, 3", "LAST", "LAST = 3"),
        ("A, *MID, Z = 1, 2, 3, 4", "A, *MID, Z = 9, 2, 3, 8", "MID", "MID = [2, 3]"),
        ("[A, [B, C]] = [1, [2, 3]]", "[A, [B, C]] = [1, [2, 4]]", "B", "B = 2"),
    ],
)
def test_a_global_set_in_a_nested_or_starred_target_counts_by_its_own_part(
    tmp_path, first, second, name, text
):
    one = _value_of(tmp_path, "nest_a", first + "\n", name)
    two = _value_of(tmp_path, "nest_b", second + "\n", name)
    assert one.text == two.text == text + "\n"
    assert one.fingerprint == two.fingerprint


@pytest.mark.parametrize(
    ("first", "second", "name"),
    [
        ("SCALE, (LO, HI) = 2, (0, 1)", "SCALE, (LO, HI) = 3, (0, 1)", "SCALE"),
        ("A, *MID, Z = 1, 2, 3, 4", "A, *MID, Z = 1, 2, 5, 4", "MID"),
        ("A, *MID, Z = 1, 2, 3, 4", "A, *MID, Z = 1, 2, 3, 4, 5", "MID"),  # one more
        ("A, (B, C) = 1, PAIR", "A, (B, C) = 1, OTHER", "B"),  # not written out: all of it
    ],
)
def test_an_edit_to_the_part_that_sets_a_global_still_counts(tmp_path, first, second, name):
    one = _value_of(tmp_path, "edit_a", "PAIR = OTHER = (1, 2)\n" + first + "\n", name)
    two = _value_of(tmp_path, "edit_b", "PAIR = OTHER = (1, 2)\n" + second + "\n", name)
    assert one.fingerprint != two.fingerprint


@pytest.mark.parametrize(
    ("first", "second", "name"),
    [
        ("for K in (1, 2):\n    pass\n", "for K in (1, 3):\n    pass\n", "K"),
        (
            "for K, V in {'a': 1}.items():\n    pass\n",
            "for K, V in {'a': 2}.items():\n    pass\n",
            "V",
        ),
        (
            "with open(__file__) as HANDLE:\n    pass\n",
            "with open(__file__, 'rb') as HANDLE:\n    pass\n",
            "HANDLE",
        ),
    ],
)
def test_a_global_set_by_a_loop_or_a_with_counts_by_its_header(tmp_path, first, second, name):
    one = _value_of(tmp_path, "loop_a", first, name)
    two = _value_of(tmp_path, "loop_b", second, name)
    assert one is not None and two is not None, "a global a loop sets was not counted"
    assert one.fingerprint != two.fingerprint
    # Its body is not what sets it: an edit there is no edit to the global.
    body = _value_of(tmp_path, "loop_c", first.replace("pass", "print('x')"), name)
    assert body.fingerprint == one.fingerprint


def test_a_global_filled_by_calls_at_the_top_level_counts_by_them_too(tmp_path):
    base = "import json\nLAYERS = []\nLAYERS.append({})\nCONFIG = {{}}\nCONFIG.update(lr={})\n"
    one = _value_of(tmp_path, "fill_a", base.format(3, 0.1), "LAYERS")
    two = _value_of(tmp_path, "fill_b", base.format(5, 0.1), "LAYERS")
    assert one.fingerprint != two.fingerprint
    assert one.text == "LAYERS = []\nLAYERS.append(3)\n"
    assert _value_of(tmp_path, "fill_c", base.format(3, 0.2), "LAYERS").fingerprint == (
        one.fingerprint
    )
    config = _value_of(tmp_path, "fill_d", base.format(3, 0.2), "CONFIG")
    assert config.text == "CONFIG = {}\nCONFIG.update(lr=0.2)\n"
    # A module a call is made on is not data the module sets: it counts by its version.
    assert _value_of(tmp_path, "fill_e", base.format(3, 0.1) + "json.dumps(1)\n", "json") is None


def test_a_loop_that_may_break_counts_whole_and_a_log_call_is_no_fill(tmp_path):
    loop = "for DEVICE in ('cpu', 'cuda'):\n    if DEVICE == '{}':\n        break\n"
    one = _value_of(tmp_path, "brk_a", loop.format("cuda"), "DEVICE")
    two = _value_of(tmp_path, "brk_b", loop.format("mps"), "DEVICE")
    assert one.fingerprint != two.fingerprint
    logged = "import logging\nLOG = logging.getLogger('x')\nLOG.info('{}')\n"
    one = _value_of(tmp_path, "log_a", logged.format("starting"), "LOG")
    two = _value_of(tmp_path, "log_b", logged.format("started"), "LOG")
    assert one.fingerprint == two.fingerprint
    # what is only reported (printed, logged) is not changed by it
    shown = "import logging\nC = [1]\nprint('{}', C)\nlogging.info('%s', C)\n"
    one = _value_of(tmp_path, "show_a", shown.format("C is"), "C")
    two = _value_of(tmp_path, "show_b", shown.format("C:"), "C")
    assert one.text == "C = [1]\n" and one.fingerprint == two.fingerprint


@pytest.fixture
def registry(tmp_path, monkeypatch):
    """``gc_registry.py`` holding ``LAYERS = [1]``, importable from ``tmp_path``."""
    (tmp_path / "gc_registry.py").write_text("LAYERS = [1]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("gc_registry", None)


def test_a_global_imported_then_filled_counts_by_the_calls_and_its_origin(tmp_path, registry):
    text = "from gc_registry import LAYERS\nLAYERS.append({})\n"
    one = _value_of(tmp_path, "imp_a", text.format(3), "LAYERS")
    two = _value_of(tmp_path, "imp_b", text.format(9), "LAYERS")
    assert one.fingerprint != two.fingerprint and "LAYERS.append(9)" in two.text


def test_a_global_imported_reassigned_and_filled_keeps_every_statement(tmp_path, registry):
    text = "from gc_registry import LAYERS\nLAYERS = LAYERS + [{}]\nLAYERS.append(3)\n"
    one = _value_of(tmp_path, "both_a", text.format(2), "LAYERS")
    two = _value_of(tmp_path, "both_b", text.format(5), "LAYERS")
    assert one.fingerprint != two.fingerprint
    assert one.text == "LAYERS = LAYERS + [2]\nLAYERS.append(3)\n"


SETUP = "def setup(size):\n    global MODEL\n{}\nsetup(2)\n"
LOOP = (
    "    MODEL = []\n    for {}, ({}, {}) in enumerate([(1, {})]):\n        MODEL.append({} * {})"
)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("    width = 64\n    MODEL = [width]", "    w = 64\n    MODEL = [w]"),
        (
            "    width, (depth, heads) = 64, (3, 2)\n    MODEL = [width, depth, size]",
            "    w, (d, h) = 64, (3, 2)\n    MODEL = [w, d, size]",
        ),
        (
            "    width, *rest = 64, 3, 2\n    MODEL = [width, rest]",
            "    w, *r = 64, 3, 2\n    MODEL = [w, r]",
        ),
        (
            LOOP.format("i", "k", "v", 2, "k", "v"),
            LOOP.format("j", "a", "b", 2, "a", "b"),
        ),
    ],
)
def test_locals_renamed_in_a_function_that_sets_a_global_are_no_edit(tmp_path, first, second):
    one = _value_of(tmp_path, "ren_a", SETUP.format(first), "MODEL")
    two = _value_of(tmp_path, "ren_b", SETUP.format(second), "MODEL")
    assert one.fingerprint == two.fingerprint


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            LOOP.format("i", "k", "v", 2, "k", "v"),
            LOOP.format("i", "k", "v", 7, "k", "v"),
        ),
        ("    MODEL = {}\n    MODEL.update(lr=0.1)", "    MODEL = {}\n    MODEL.update(lr=0.2)"),
        ("    width = 64\n    MODEL = [width]", "    width = 64\n    MODEL = [WIDTH]"),
    ],
)
def test_an_edit_to_what_fills_a_global_in_a_function_counts(tmp_path, first, second):
    head = "WIDTH = 3\n"
    one = _value_of(tmp_path, "fn_a", head + SETUP.format(first), "MODEL")
    two = _value_of(tmp_path, "fn_b", head + SETUP.format(second), "MODEL")
    assert one.fingerprint != two.fingerprint


@pytest.mark.parametrize(
    ("first", "second", "name"),
    [
        (
            "DEVICE = 'cpu'\nif FLAG > 1:\n    DEVICE = 'cuda'\n",
            "DEVICE = 'cpu'\nif FLAG < 1:\n    DEVICE = 'cuda'\n",
            "DEVICE",
        ),
        (
            "if FLAG > 1:\n    pass\nelif FLAG > 0:\n    DEVICE = 'cuda'\n",
            "if FLAG > 1:\n    pass\nelif FLAG > -1:\n    DEVICE = 'cuda'\n",
            "DEVICE",
        ),
        (
            "L = []\ni = 0\nwhile i < 3:\n    L.append(i)\n    i += 1\n",
            "L = []\ni = 0\nwhile i < 5:\n    L.append(i)\n    i += 1\n",
            "L",
        ),
        (
            "L = []\nfor k in (1, 2):\n    if k > 1:\n        L.append(k)\n",
            "L = []\nfor k in (1, 2):\n    if k > 0:\n        L.append(k)\n",
            "L",
        ),
        (
            SETUP.format("    MODEL = 1\n    if size > 1:\n        MODEL = 2"),
            SETUP.format("    MODEL = 1\n    if size > 3:\n        MODEL = 2"),
            "MODEL",
        ),
    ],
)
def test_the_condition_a_global_is_set_under_counts_with_it(tmp_path, first, second, name):
    one = _value_of(tmp_path, "cond_a", "FLAG = 0\n" + first, name)
    two = _value_of(tmp_path, "cond_b", "FLAG = 0\n" + second, name)
    assert one.fingerprint != two.fingerprint
    if first.startswith("DEVICE"):  # shown as written: the branch under its condition
        assert one.text == first
    # What the branch does besides setting it is no edit to it.
    other = first.replace("DEVICE = 'cuda'\n", "DEVICE = 'cuda'\n    print(1)\n")
    if other != first:
        assert _value_of(tmp_path, "cond_c", "FLAG = 0\n" + other, name).fingerprint == (
            one.fingerprint
        )


def test_a_global_set_in_branches_shows_each_under_its_condition(tmp_path):
    text = (
        "FLAG = 0\nif FLAG > 1:\n    print(1)\nelif FLAG:\n    D = 'cuda'\nelse:\n    D = 'cpu'\n"
    )
    assert _value_of(tmp_path, "branches", text, "D").text == (
        "if FLAG > 1:\n    ...\nelse:\n    if FLAG:\n        D = 'cuda'\n"
        "    else:\n        D = 'cpu'\n"
    )


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("C = [1, 2]\ndel C[0]\n", "C = [1, 2]\ndel C[1]\n"),
        ("C = [1, 2]\nT = 0\ndel T, C[0]\n", "C = [1, 2]\nT = 0\ndel T, C[1]\n"),
        ("C = K()\nsetattr(C, 'lr', 1)\n", "C = K()\nsetattr(C, 'lr', 2)\n"),
        ("C = K()\nC.lr = 1\ndelattr(C, 'lr')\n", "C = K()\nC.lr = 1\n"),
        ("C = [3, 1]\nC.sort()\n", "C = [3, 1]\nC.sort(reverse=True)\n"),
        ("C = [3, 1]\nC.pop()\n", "C = [3, 1]\nC.pop(0)\n"),
        ("C = {1, 2}\nC.discard(1)\n", "C = {1, 2}\nC.discard(2)\n"),
        ("C = {'a': 1}\nC.clear()\n", "C = {'a': 1}\n"),
        ("C = [3, 1]\nFIRST = C.pop()\n", "C = [3, 1]\nFIRST = C.pop(0)\n"),  # as a value
        ("C = K()\nvars(C).update(lr=1)\n", "C = K()\nvars(C).update(lr=2)\n"),
        ("import random\nC = [1, 2]\nrandom.shuffle(C)\n", "import random\nC = [1, 2]\n"),
        ("C = [1]\ndef fill(x):\n    x.append(2)\nfill(C)\n", "C = [1]\n"),  # given
        ("C = [1]\ndef fill(items):\n    items.append(2)\nfill(items=C)\n", "C = [1]\n"),
    ],
)
def test_a_global_changed_in_place_at_the_top_level_counts_by_that_code(tmp_path, first, second):
    head = "class K:\n    pass\n"
    one = _value_of(tmp_path, "mut_a", head + first, "C")
    two = _value_of(tmp_path, "mut_b", head + second, "C")
    assert one.fingerprint != two.fingerprint


def _found(tmp_path, tag, text, name):
    path = tmp_path / f"gc_{tag}.py"
    path.write_text(text)
    module = load(path, f"gc_{tag}")
    try:
        return global_value(vars(module), name)
    finally:
        sys.modules.pop(f"gc_{tag}", None)


def test_a_global_a_setup_fills_without_declaring_it_stays_a_global_it_reads(tmp_path):
    text = (
        "REGISTRY = [1, 2]\ndef setup():\n    global MODEL\n    REGISTRY.append(3)\n"
        "    MODEL = sum(REGISTRY)\nsetup()\n"
    )
    _, _, (_, reads, _) = _found(tmp_path, "fills_other", text, "MODEL")
    assert "REGISTRY" in reads  # so an edit to REGISTRY = [1, 2] is followed


@pytest.mark.parametrize(
    ("first", "second", "name"),
    [
        (  # X = 3 moved from the else: into the if
            "if A:\n    Y = 2\nelse:\n    X = 3\n",
            "if A:\n    X = 3\nelse:\n    Y = 2\n",
            "X",
        ),
        ("if A:\n    X = 1\nelse:\n    X = 3\n", "if A:\n    X = 3\nelse:\n    X = 1\n", "X"),
        (  # an if above a try, in a setup()
            "def setup():\n    global X\n    if A:\n        try:\n            X = 2\n"
            "        except Exception:\n            pass\nsetup()\n",
            "def setup():\n    global X\n    if not A:\n        try:\n            X = 2\n"
            "        except Exception:\n            pass\nsetup()\n",
            "X",
        ),
    ],
)
def test_which_branch_a_global_is_set_in_counts(tmp_path, first, second, name):
    head = "A = True\nX = 1\n"
    one = _value_of(tmp_path, "br_a", head + first, name)
    two = _value_of(tmp_path, "br_b", head + second, name)
    assert one.fingerprint != two.fingerprint


def test_a_with_is_no_condition_and_a_one_line_if_shows_its_branch(tmp_path):
    timer = "import contextlib\ntimer = contextlib.nullcontext\nwith timer({!r}):\n    DATA = [1]\n"
    one = _value_of(tmp_path, "with_a", timer.format("load"), "DATA")
    two = _value_of(tmp_path, "with_b", timer.format("loading data"), "DATA")
    assert one.fingerprint == two.fingerprint  # a timer's label is no part of DATA
    shown = _value_of(tmp_path, "oneline", "FAST = 2\nSCALE = 2\nif FAST > 1: SCALE = 3\n", "SCALE")
    assert shown.text == "SCALE = 2\nif FAST > 1:\n    SCALE = 3\n"

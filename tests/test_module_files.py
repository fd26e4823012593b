"""A module's file as code, read once per version, as it was when loaded
(ato.module_files)."""

from __future__ import annotations

import os
import sys
import warnings

import pytest

from ato import module_files
from ato.module_files import module_file
from tests.test_canonical import _corpus_files, on_every_python


def test_a_module_counts_by_its_logic_not_its_comments_or_layout(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("def build(x):\n    return x * 2\n")
    first = module_file(str(path))
    path.write_text("# a note\ndef build( x ):\n\n    return x*2  # same\n")
    assert module_file(str(path)).fingerprint == first.fingerprint
    path.write_text("def build(x):\n    return x * 3\n")
    edited = module_file(str(path))
    assert edited.fingerprint != first.fingerprint
    assert "x * 3" in edited.text


def test_a_file_that_does_not_parse_counts_by_its_text_and_a_missing_one_not_at_all(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("def build(x:\n")
    first = module_file(str(path)).fingerprint
    path.write_text("def build(x:\n    # other\n")
    assert module_file(str(path)).fingerprint != first
    assert module_file(str(tmp_path / "missing.py")) is None


def test_a_huge_module_counts_by_its_bytes_without_being_parsed(program, monkeypatch):
    monkeypatch.setattr(module_files, "_PARSED_LIMIT", 100)
    big = program / "models" / "table.py"
    big.write_text("TABLE = [\n" + "    1,\n" * 100 + "]\n")
    first = module_file(str(big))
    assert first.fingerprint.startswith("module:") and "too big to show" in first.text
    big.write_text("TABLE = [\n" + "    2,\n" * 100 + "]\n")
    assert module_file(str(big)).fingerprint != first.fingerprint


def _write(path, text):
    path.write_text(text)
    stamp = path.stat().st_mtime_ns + 2_000_000_000  # another second: a .pyc records seconds
    os.utime(path, ns=(stamp, stamp))


def test_an_edit_after_loading_counts_the_version_loaded(program):
    """The file as read before the module was loaded (a first run that imported it
    later) is what runs after an edit; never read before: not counted, with a warning."""
    small = program / "models" / "small.py"
    before = module_file(str(small))
    import zoo.models.small

    _write(small, "def build(x):\n    return 7 * x  # edited while loaded\n")
    assert module_file(str(small), zoo.models.small).fingerprint == before.fingerprint
    big = program / "models" / "big.py"
    import zoo.models.big

    _write(big, "def build(x):\n    return 9 * x  # edited while loaded\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert module_file(str(big), zoo.models.big) is None
    assert any("was edited after it was loaded" in str(w.message) for w in caught)


def test_one_file_loaded_under_two_names_keeps_a_pin_for_each(program, monkeypatch):
    monkeypatch.syspath_prepend(str(program / "models"))
    import small  # noqa: F401  (the same file as zoo.models.small)
    import zoo.models.small

    path = str(program / "models" / "small.py")
    first = module_file(path, sys.modules["small"]).fingerprint
    assert module_file(path, zoo.models.small).fingerprint == first
    _write(program / "models" / "small.py", "def build(x):\n    return 5 * x\n")
    assert module_file(path, sys.modules["small"]).fingerprint == first
    assert module_file(path, zoo.models.small).fingerprint == first
    sys.modules.pop("small")


def test_modules_loaded_without_a_spec_keep_a_pin_each(tmp_path):
    """A plugin loaded by hand (no __spec__), edited, then loaded again: the second one
    counts as its own load, not as the first."""
    import types as _types

    path = tmp_path / "plugin.py"
    counted = []
    for factor in ("2", "3000"):
        _write(path, f"def run(x):\n    return x * {factor}\n")
        plugin = _types.ModuleType("plugin")
        plugin.__file__ = str(path)
        exec(compile(path.read_text(), str(path), "exec"), vars(plugin))
        plugin.__spec__ = None
        counted.append(module_file(str(path), plugin).fingerprint)
    assert counted[0] != counted[1]


MODULE_FILES_SCRIPT = """
import json, sys
from ato.module_files import module_file
print(json.dumps({path: module_file(path).fingerprint for path in sys.argv[1:]}))
"""


def test_a_module_file_counts_the_same_on_every_installed_python(tmp_path):
    """A run on Python 3.10 and one on 3.13 read the same file the same."""
    results = on_every_python(MODULE_FILES_SCRIPT, [str(p) for p in _corpus_files(tmp_path)])
    reference = next(iter(results.values()))
    assert len(set(reference.values())) > len(reference) // 2  # they do differ
    for python, fingerprints in results.items():
        assert fingerprints == reference, python


PYC_SCRIPT = """
import os, sys, warnings
sys.path.insert(0, os.getcwd())
from ato.module_files import module_file

path = os.path.abspath(os.path.join("models", "small.py"))  # as file_of gives it


def count(loaded=None):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = module_file(path, loaded)
    return (found.fingerprint if found else None), [str(w.message) for w in caught]


def edit(text):
    with open(path, "w") as handle:
        handle.write(text)
    stamp = os.stat(path).st_mtime_ns + 2_000_000_000  # another second: .pyc stamps
    os.utime(path, ns=(stamp, stamp))


steps = sys.argv[1].split("\t")
seen = {}
for step in steps:
    if step == "read":
        seen.setdefault("read", []).append(count()[0])
    elif step.startswith("edit:"):
        edit(step[5:].replace("|", "\\n"))
    elif step == "touch":
        stamp = os.stat(path).st_mtime_ns + 2_000_000_000
        os.utime(path, ns=(stamp, stamp))
    elif step == "import":
        import models.small
    elif step == "reload":
        import importlib
        importlib.reload(models.small)
    elif step == "other":  # another process imports it (and rewrites a stale .pyc)
        import subprocess
        subprocess.run([sys.executable, "-c", "import models.small"], check=True)
    elif step.startswith("corrupt:"):  # the .pyc's body, its header kept
        import glob
        (pyc,) = glob.glob(os.path.join("models", "__pycache__", "small.*.pyc"))
        with open(pyc, "rb") as handle:
            header = handle.read(16)
        with open(pyc, "wb") as handle:
            handle.write(header + bytes.fromhex(step[8:]))
    elif step == "loaded":
        seen["loaded"] = count(sys.modules["models.small"])
print(repr(seen))
"""


def _pyc_program(tmp_path, first_text):
    """models/small.py with a .pyc of ``first_text`` left by an earlier process that
    wrote bytecode."""
    import subprocess

    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "__init__.py").write_text("")
    (tmp_path / "models" / "small.py").write_text(first_text)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": ""}
    subprocess.run([sys.executable, "-c", "import models.small"], cwd=tmp_path, env=env, check=True)
    assert list((tmp_path / "models" / "__pycache__").glob("small.*.pyc"))


def _steps(tmp_path, steps, write_bytecode):
    """Run ``steps`` (a list, or a string of them split at commas) in a new process."""
    import ast as _ast
    import subprocess

    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "" if write_bytecode else "1"}
    done = subprocess.run(
        [sys.executable, "-c", PYC_SCRIPT, "\t".join(_split(steps))], cwd=tmp_path, env=env,
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return _ast.literal_eval(done.stdout.strip().splitlines()[-1])


def _split(steps):
    return steps.split(",") if isinstance(steps, str) else steps


V0 = "def build(x):\n    return 'v0'\n"
V1 = "def build(x):|    return 'v1'|"


def test_a_stale_pyc_python_did_not_rewrite_is_not_taken_for_the_version_loaded(tmp_path):
    """Bytecode writing off (PYTHONDONTWRITEBYTECODE, python -B): Python compiles the
    file and leaves an earlier process's .pyc as it was; its header names an older
    version than the one that runs."""
    _pyc_program(tmp_path, V0)
    seen = _steps(tmp_path, f"read,edit:{V1},read,import,loaded", write_bytecode=False)
    v0, v1 = seen["read"]
    assert v0 != v1
    assert seen["loaded"] == (v1, [])


def test_a_stale_pyc_and_a_version_never_read_still_count_the_file_that_runs(tmp_path):
    _pyc_program(tmp_path, V0)
    seen = _steps(tmp_path, f"edit:{V1},import,read,loaded", write_bytecode=False)
    assert seen["loaded"] == (seen["read"][0], [])


def test_a_loaded_module_whose_file_is_only_touched_still_counts(tmp_path):
    """An editor saving without a change, or a branch switched and back: the time
    changes, the text does not."""
    _pyc_program(tmp_path, V0)
    seen = _steps(tmp_path, "import,touch,read,loaded", write_bytecode=True)
    assert seen["loaded"] == (seen["read"][0], [])


def test_an_edit_to_a_modules_data_after_loading_is_told_by_its_pyc(tmp_path):
    """No function changed, so only the .pyc (written as Python loaded it) tells that
    the file on disk is not what runs."""
    _pyc_program(tmp_path, "SCALE = 2\n")
    seen = _steps(tmp_path, "import,edit:SCALE = 3|,loaded", write_bytecode=True)
    found, warned = seen["loaded"]
    assert found is None
    assert any("was edited after it was loaded" in message for message in warned)


def test_a_program_of_more_files_than_any_cache_bound_is_read_once(tmp_path):
    """A walk reads its files in the same order each time: a bounded LRU smaller than
    the program (1,024 files) missed on every file, every walk."""
    paths = []
    for index in range(1100):
        path = tmp_path / f"m{index}.py"
        path.write_text(f"X = {index}\n")
        paths.append(str(path))
    module_files.forget_versions()
    for path in paths:
        module_file(path)
    misses = module_files._read.cache_info().misses
    for path in paths:
        module_file(path)
    assert module_files._read.cache_info().misses == misses


SWAPPED = (
    "class Net:|    def forward(self, x):|        return x * 2|"
    "|def loss(a, b):|    return a - b|"
    "|def gate(x, y):|    return x and y|"
)


@pytest.mark.parametrize("write_bytecode", [True, False])
@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("a - b", "b - a"),  # the same names, constants and operators, in another order
        ("x and y", "x or y"),  # a jump, not an operator
        ("x * 2", "x * 3"),  # a method's constant
    ],
)
def test_a_loaded_module_edited_before_it_was_read_is_not_taken_for_the_edit(
    tmp_path, write_bytecode, old, new
):
    _pyc_program(tmp_path, SWAPPED.replace("|", "\n"))
    edited = SWAPPED.replace(old, new)
    seen = _steps(tmp_path, ["import", f"edit:{edited}", "loaded"], write_bytecode)
    found, warned = seen["loaded"]
    assert found is None
    assert any("was edited after it was loaded" in message for message in warned)


@pytest.mark.parametrize("then", [[], ["touch"]])
def test_a_pyc_rewritten_by_another_process_after_loading_is_not_taken_for_it(tmp_path, then):
    """A notebook loaded v0; the file is edited and a test run in another process
    imports it, rewriting the .pyc: its header names v1, which this process never ran
    (and, the file touched since, a version never read)."""
    _pyc_program(tmp_path, V0)
    seen = _steps(tmp_path, ["import", f"edit:{V1}", "other", *then, "loaded"], True)
    found, warned = seen["loaded"]
    assert found is None
    assert any("was edited after it was loaded" in message for message in warned)


@pytest.mark.parametrize("body", [b"", b"\x00garbage\xff" * 4])
def test_an_unreadable_pyc_body_leaves_a_touched_file_counted(tmp_path, body):
    _pyc_program(tmp_path, V0)
    seen = _steps(tmp_path, f"import,corrupt:{body.hex()},touch,read,loaded", True)
    assert seen["loaded"] == (seen["read"][0], [])


LAYOUT = (
    "def loss(a, b):|    return a - b|||class Net:|    def forward(self, x):|        return x * 2|"
)


@pytest.mark.parametrize("write_bytecode", [True, False])
@pytest.mark.parametrize(
    "edited",
    [
        "# a comment added above|" + LAYOUT,  # every line moves
        LAYOUT.replace("a - b", "a-b"),
        LAYOUT.replace("(a, b):|", '(a, b):|    """Now documented."""|'),
    ],
)
def test_a_layout_comment_or_docstring_edit_after_loading_still_counts(
    tmp_path, write_bytecode, edited
):
    """Nothing that runs changed: the module counts (by the text on disk, the same
    fingerprint), with no warning."""
    _pyc_program(tmp_path, LAYOUT.replace("|", "\n"))
    seen = _steps(tmp_path, ["import", f"edit:{edited}", "read", "loaded"], write_bytecode)
    assert seen["loaded"] == (seen["read"][0], [])


def test_an_edit_to_data_beside_functions_is_told_by_the_pyc(tmp_path):
    _pyc_program(tmp_path, "LR = 0.1|def rate():|    return LR|".replace("|", "\n"))
    seen = _steps(tmp_path, ["import", "edit:LR = 0.5|def rate():|    return LR|", "loaded"], True)
    assert seen["loaded"][0] is None


@pytest.mark.parametrize("write_bytecode", [True, False])
def test_a_reload_after_a_function_was_deleted_counts_the_new_version(tmp_path, write_bytecode):
    """importlib.reload leaves a deleted function in the module's namespace: it is not
    the new version's, and does not make the new version unknown."""
    _pyc_program(
        tmp_path, "def helper():|    return 1|def build():|    return 2|".replace("|", "\n")
    )
    steps = ["read", "import", "edit:def build():|    return 3|", "reload", "read", "loaded"]
    seen = _steps(tmp_path, steps, write_bytecode)
    assert seen["loaded"] == (seen["read"][1], [])


@pytest.mark.parametrize("write_bytecode", [True, False])
def test_a_function_renamed_after_loading_is_not_taken_for_the_new_text(tmp_path, write_bytecode):
    """The process still runs ``augment`` (by a registry, a getattr); the text on disk
    no longer defines it."""
    source = "def augment(x):|    return x * 2|def train(x):|    return augment(x)|"
    _pyc_program(tmp_path, source.replace("|", "\n"))
    edited = source.replace("augment", "augment_v2").replace("x * 2", "x * 3")
    seen = _steps(tmp_path, ["import", f"edit:{edited}", "loaded"], write_bytecode)
    found, warned = seen["loaded"]
    assert found is None and warned


def test_functions_a_module_makes_with_exec_do_not_make_it_unknown(tmp_path):
    made = "exec(compile('def made():\\n    return 1', '<generated>', 'exec'))"
    source = made + "|def build():|    return 2|"
    _pyc_program(tmp_path, source.replace("|", "\n"))
    seen = _steps(tmp_path, ["import", "touch", "read", "loaded"], False)
    assert seen["loaded"] == (seen["read"][0], [])


def test_a_module_loaded_by_an_import_hook_that_rewrites_code_counts_its_file(tmp_path):
    """pytest rewrites a test module's asserts as it imports it: its code is not what
    the file compiles to, and says nothing of which version was loaded."""
    import importlib.abc
    import importlib.machinery
    import types as _types

    path = tmp_path / "rewritten.py"
    path.write_text("def check(x):\n    assert x\n")

    class Rewriting(importlib.abc.Loader):  # as pytest's AssertionRewritingHook is
        pass

    module = _types.ModuleType("rewritten")
    module.__file__ = str(path)
    module.__spec__ = importlib.machinery.ModuleSpec("rewritten", Rewriting(), origin=str(path))
    exec(
        compile("def check(x):\n    if not x: raise AssertionError\n", str(path), "exec"),
        vars(module),
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = module_file(str(path), module)
    assert found is not None and found.fingerprint == module_file(str(path)).fingerprint
    assert not caught


def test_a_class_whose_attributes_raise_does_not_hide_an_edit(tmp_path):
    source = (
        "class Meta(type):|    def __getattribute__(cls, name):|"
        "        if name == '__module__':|            raise RuntimeError('lazy')|"
        "        return super().__getattribute__(name)|"
        "class Lazy(metaclass=Meta):|    pass|"
        "def loss(a, b):|    return a - b|"
    )
    _pyc_program(tmp_path, source.replace("|", "\n"))
    seen = _steps(tmp_path, ["import", "edit:" + source.replace("a - b", "b - a"), "loaded"], False)
    assert seen["loaded"][0] is None


def test_deeply_nested_code_is_compared_in_time_linear_in_its_size(tmp_path):
    """Comparing code objects with == takes time exponential in their nesting (30
    nested lambdas: hours); each is digested once instead."""
    source = "f = " + "lambda: " * 30 + "1|def train(x):|    return x + 1|"
    _pyc_program(tmp_path, source.replace("|", "\n"))
    edited = source.replace("x + 1", "x - 1")
    seen = _steps(tmp_path, ["import", "touch", "read", "loaded"], False)
    assert seen["loaded"] == (seen["read"][0], [])
    seen = _steps(tmp_path, ["import", f"edit:{edited}", "loaded"], False)
    assert seen["loaded"][0] is None


DECORATED = {
    "wraps": (
        "import functools|def deco(f):|    @functools.wraps(f)|    def wrapper(*a):|"
        "        return f(*a)|    return wrapper|@deco|def evaluate(x):|    return x * 0.1|"
    ),
    "lru_cache": (
        "import functools|@functools.lru_cache(maxsize=None)|def evaluate(x):|    return x * 0.1|"
    ),
    "contextmanager": (
        "import contextlib|@contextlib.contextmanager|def evaluate(x):|    yield x * 0.1|"
    ),
    "cached_property": (
        "import functools|class Model:|    @functools.cached_property|"
        "    def evaluate(self):|        return 0.1|"
    ),
}


@pytest.mark.parametrize("write_bytecode", [True, False])
@pytest.mark.parametrize("kind", sorted(DECORATED))
def test_an_edit_to_a_decorated_function_after_loading_is_told(tmp_path, kind, write_bytecode):
    """What the module holds is the decorator's wrapper; the edited body is reached
    through it (``__wrapped__``, a closure, ``.func``)."""
    source = DECORATED[kind]
    _pyc_program(tmp_path, source.replace("|", "\n"))
    seen = _steps(
        tmp_path, ["import", "edit:" + source.replace("0.1", "0.5"), "loaded"], write_bytecode
    )
    found, warned = seen["loaded"]
    assert found is None and warned


@pytest.mark.parametrize("write_bytecode", [True, False])
@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("def f(x):|    return None|", 'def f(x):|    """Added."""|    return None|'),
        ('def f(x):|    """Removed."""|    return None|', "def f(x):|    return None|"),
        (
            "class C:|    def m(self):|        return None|",
            'class C:|    """Added."""|    def m(self):|        return None|',
        ),
    ],
)
def test_a_docstring_added_or_removed_after_loading_still_counts(
    tmp_path, before, after, write_bytecode
):
    """A docstring shifts the index of every later constant; what runs is the same."""
    _pyc_program(tmp_path, before.replace("|", "\n"))
    seen = _steps(tmp_path, ["import", f"edit:{after}", "read", "loaded"], write_bytecode)
    assert seen["loaded"] == (seen["read"][0], [])


@pytest.mark.parametrize("write_bytecode", [True, False])
def test_text_saved_with_a_syntax_error_after_loading_is_not_what_runs(tmp_path, write_bytecode):
    _pyc_program(tmp_path, V0)
    seen = _steps(tmp_path, ["import", "edit:def build(x:|", "loaded"], write_bytecode)
    found, warned = seen["loaded"]
    assert found is None and warned


def test_a_function_deleted_after_the_loaded_version_was_read_counts_that_version(tmp_path):
    two = "def f():|    return 1|def g():|    return 2|"
    _pyc_program(tmp_path, V0)
    steps = [f"edit:{two}", "read", "import", "edit:def f():|    return 1|", "loaded"]
    seen = _steps(tmp_path, steps, False)
    assert seen["loaded"] == (seen["read"][0], [])


def test_a_module_holding_an_int_of_thousands_of_digits_still_tells_an_edit(tmp_path):
    source = "def f(x):|    return x + 0x" + "7" * 5000 + "|"  # repr() refuses the int
    _pyc_program(tmp_path, source.replace("|", "\n"))
    seen = _steps(tmp_path, ["import", "edit:" + source.replace("x +", "x -"), "loaded"], False)
    assert seen["loaded"][0] is None


def test_a_module_of_no_version_read_is_not_checked_again_until_another_is_read(
    tmp_path, monkeypatch
):
    """Finding that none of the versions read is the one loaded compiles each of them:
    once, not on every run of a long session."""
    import importlib.util

    path = tmp_path / "unknown_version.py"
    _write(path, "def f(x):\n    return x + 1\n")
    spec = importlib.util.spec_from_file_location("unknown_version", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _write(path, "def f(x):\n    return x - 1\n")
    checks = []
    real = module_files.version_loaded
    monkeypatch.setattr(module_files, "version_loaded", lambda *a: checks.append(a) or real(*a))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert module_file(str(path), module) is None
        assert module_file(str(path), module) is None
        assert len(checks) == 1
        _write(path, "def f(x):\n    return x + 1\n")  # back as it was loaded
        assert module_file(str(path), module) is not None
    assert len(checks) == 2

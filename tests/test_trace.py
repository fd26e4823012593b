"""The tracer: callees resolved when read (helpers above or below), own and combined
fingerprints, sources kept, functions traced late announced."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from ato.scope import Scope
from ato.trace import Fingerprint, combined_fingerprint


@pytest.fixture(autouse=True)
def _forget_module():
    yield
    sys.modules.pop("trace_train", None)


def _load(path: Path, source: str):
    path.write_text(textwrap.dedent(source))
    name = "trace_train"  # as a program's module is named the same in every run
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # the tracer resolves callees through the module's globals
    spec.loader.exec_module(module)
    return module


def _files_step(folder: Path, files: dict[str, str], main: str, trace: str = "step") -> Any:
    """Write ``files`` into ``folder`` (a package's too), load ``main`` from there with
    ``folder`` importable, and return its scope's fingerprint of ``step``; the modules
    of ``files`` are forgotten after."""
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    tops = {Path(name).parts[0].removesuffix(".py") for name in files}
    sys.path.insert(0, str(folder))
    try:
        return _load(folder / "train.py", main).scope.fingerprints[trace]
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m.split(".")[0] in tops]:
            del sys.modules[name]


TRAINING = """
from ato.scope import Scope
scope = Scope(name="s_{tag}")

def above(x):
    return x + {above}

@scope.trace(trace_id="step")
def step(x):
    return above(x) * below(x)

def below(x):
    return x - {below}
"""


def _step(tmp_path: Path, tag: str, above: int = 1, below: int = 2) -> Fingerprint:
    folder = tmp_path / tag
    folder.mkdir()
    module = _load(folder / "train.py", TRAINING.format(tag=tag, above=above, below=below))
    return module.scope.fingerprints["step"]


@pytest.mark.parametrize(("edit", "changed"), [("above", "above"), ("below", "below")])
def test_a_helpers_edit_changes_the_combined_fingerprint_and_names_the_helper(
    tmp_path, edit, changed
):
    before = _step(tmp_path, "a")
    after = _step(tmp_path, "b", **{edit: 5})
    assert before.value == after.value  # the traced function itself is the same
    assert before.combined != after.combined
    old = {name.rsplit(".", 1)[-1]: value for name, value in before.callees.items()}
    new = {name.rsplit(".", 1)[-1]: value for name, value in after.callees.items()}
    assert set(old) == {"above", "below"}  # the helper defined below is found too
    assert {name for name in old if old[name] != new[name]} == {changed}


def test_unchanged_code_has_equal_fingerprints_everywhere(tmp_path):
    first, second = _step(tmp_path, "a"), _step(tmp_path, "b")
    assert (first.value, first.combined, first.callees) == (
        second.value,
        second.combined,
        second.callees,
    )


def test_combined_is_the_own_fingerprint_without_callees():
    assert combined_fingerprint("abc", {}) == "abc"
    assert combined_fingerprint("abc", {"f": "1"}) != combined_fingerprint("abc", {"f": "2"})
    assert combined_fingerprint("abc", {"f": "1"}) != combined_fingerprint("abc", {"g": "1"})


def test_the_source_of_a_traced_function_is_kept():
    scope = Scope(name="sources")

    @scope.trace(trace_id="relu")
    def activation(x):
        return max(x, 0)  # relu

    source = scope.fingerprints["relu"].source
    assert source is not None and source.startswith("@scope.trace")
    assert "return max(x, 0)" in source


def test_a_function_traced_later_is_announced_to_listeners():
    scope = Scope(name="late")
    seen: list[tuple[str, str]] = []
    scope.tracer.static_listeners.append(lambda name, fp: seen.append((name, fp.value)))

    @scope.trace(trace_id="late_fn")
    def late(x):
        return x

    assert seen == [("late_fn", scope.fingerprints["late_fn"].value)]


def test_a_bare_trace_decorator_traces_and_returns_the_function():
    scope = Scope(name="bare")

    @scope.trace
    def step(x):
        return x + 1

    assert step(1) == 2
    assert any(name.endswith("step") for name in scope.fingerprints)


def test_the_tracer_keeps_a_bounded_tail_of_runtime_calls(monkeypatch):
    from ato import trace

    monkeypatch.setattr(trace, "CALLS_KEPT", 5)
    scope = Scope(name="bounded")

    @scope.runtime_trace(trace_id="step")
    def step(i):
        return i

    for i in range(12):
        step(i)
    assert [call.index for call in scope.runtime_calls] == [7, 8, 9, 10, 11]


def test_a_failing_listener_never_fails_the_traced_call():
    import warnings as _warnings

    from ato.errors import AtoWarning

    scope = Scope(name="listener")

    def broken(call):
        raise OSError("disk full")

    scope.tracer.listeners.append(broken)

    @scope.runtime_trace(trace_id="step")
    def step(x):
        return x * 2

    with _warnings.catch_warnings(record=True) as caught:
        _warnings.simplefilter("always")
        assert step(2) == 4
    assert any(issubclass(w.category, AtoWarning) and "disk full" in str(w.message) for w in caught)


MODULE_HELPERS = """
import {package}.ops as ops
from {package} import ops as ops_again
from ato.scope import Scope
scope = Scope(name="s_{tag}")
sched = ops.Sched()

@scope.trace(trace_id="step")
def step(x):
    return ops.clip(x) + ops_again.clip(x) * sched.factor(x)
"""

OPS = """
def inner(x):
    return x * {inner}

def clip(x):
    return min(inner(x), 10)

class Sched:
    def factor(self, x):
        return x + {factor}
"""


def _module_step(tmp_path: Path, tag: str, inner: int = 1, factor: int = 2) -> Fingerprint:
    package = f"pkg_{tag}"
    files = {
        f"{package}/__init__.py": "",
        f"{package}/ops.py": OPS.format(inner=inner, factor=factor),
    }
    return _files_step(tmp_path / tag, files, MODULE_HELPERS.format(package=package, tag=tag))


@pytest.mark.parametrize(("edit", "changed"), [("inner", "inner"), ("factor", "Sched")])
def test_helpers_reached_through_a_module_or_an_objects_method_are_callees(tmp_path, edit, changed):
    before = _module_step(tmp_path, "a")
    after = _module_step(tmp_path, "b", **{edit: 5})
    assert before.value == after.value
    assert before.combined != after.combined

    def short(callees):
        return {name.split(".ops.", 1)[-1]: value for name, value in callees.items()}

    old, new = short(before.callees), short(after.callees)
    assert {"clip", "inner", "Sched"} <= set(old)  # sched = ops.Sched(): its class
    # the class Sched counts its methods too, so an edit of factor shows there as well
    assert changed in {name for name in old if old[name] != new.get(name)}


def test_a_runtime_traced_functions_code_is_fingerprinted_too():
    scope = Scope(name="loader")
    seen: list[str] = []
    scope.tracer.static_listeners.append(lambda name, fp: seen.append(name))

    @scope.runtime_trace(trace_id="load_data")
    def load_data():
        return [1, 2, 3]

    assert seen == ["load_data"]
    assert scope.tracer.static_fingerprint("load_data") is not None
    load_data()
    assert scope.fingerprints["load_data"].kind == "runtime"  # outputs, as in 2.x


def test_runtime_tracing_a_function_without_source_warns_nothing():
    import warnings as _warnings

    scope = Scope(name="no_source")
    namespace: dict = {}
    exec("def made():\n    return 1\n", namespace)
    with _warnings.catch_warnings():
        _warnings.simplefilter("error")
        traced = scope.runtime_trace(trace_id="made")(namespace["made"])
        assert traced() == 1


GLOBAL_DATA = """
import enum
from ato.scope import Scope
import {package}.ops as ops
scope = Scope(name="s_{tag}")
SCALE = {scale}
TABLE = {{"relu": {table}}}
START = object()  # not plain data: never hashed


class Mode(enum.Enum):
    FAST = 1


def helper(x):
    return x * TABLE["relu"] + ops.OFFSET

@scope.trace(trace_id="step")
def step(x):
    return helper(x) * SCALE + (START is None) + Mode.FAST.value + len(__name__)
"""


def _data_step(tmp_path: Path, tag: str, scale: int = 2, table: int = 1, offset: int = 0):
    package = f"pkgd_{tag}"
    files = {f"{package}/__init__.py": "", f"{package}/ops.py": f"OFFSET = {offset}\n"}
    source = GLOBAL_DATA.format(package=package, tag=tag, scale=scale, table=table)
    return _files_step(tmp_path / tag, files, source)


@pytest.mark.parametrize(
    ("edit", "changed"),
    [("scale", "trace_train.SCALE"), ("table", "trace_train.TABLE"), ("offset", "ops.OFFSET")],
)
def test_plain_data_a_traced_function_or_its_helpers_read_counts(tmp_path, edit, changed):
    before = _data_step(tmp_path, "a")
    after = _data_step(tmp_path, "b", **{edit: 5})
    assert before.value == after.value and before.combined != after.combined

    def short(callees):
        return {
            name.split(".ops.", 1)[-1] if ".ops." in name else name: v
            for name, v in callees.items()
        }

    old, new = short(before.callees), short(after.callees)
    differing = {name for name in old.keys() | new.keys() if old.get(name) != new.get(name)}
    assert differing == {changed.replace("ops.", "")} if edit == "offset" else {changed}
    same = _data_step(tmp_path, "c")  # its package is named apart: compare by short name
    assert short(same.callees) == old
    # what the diff shows: the value as written
    assert any("SCALE = 2" in text for text in before.callee_sources.values())


def test_a_helper_edited_after_it_was_loaded_is_fingerprinted_as_what_runs(tmp_path):
    import warnings as _warnings

    from ato.errors import AtoWarning

    folder = tmp_path / "stale"
    folder.mkdir()
    helper = folder / "stale_helper.py"
    helper.write_text("def h(x):\n    return x * 2\n")
    sys.path.insert(0, str(folder))
    try:
        module = _load(
            folder / "train.py",
            """
            import stale_helper
            from ato.scope import Scope
            scope = Scope(name="stale")

            @scope.trace(trace_id="step")
            def step(x):
                return stale_helper.h(x)
            """,
        )
        # Edited before the run starts and reads its code (lines inserted above it too):
        edited = "import math\n\n\ndef other(x):\n    return x - 100\n\n\ndef h(x):\n"
        helper.write_text(edited + "    return x * 3\n")
        with _warnings.catch_warnings(record=True) as caught:
            _warnings.simplefilter("always")
            after = module.scope.fingerprints["step"]
        assert module.step(1) == 2  # what runs is still the code loaded
        assert "stale_helper.h" in after.callees
        texts = list(after.callee_sources.values())
        assert not any("x * 3" in text or "x - 100" in text for text in texts)
        assert any(
            issubclass(w.category, AtoWarning) and "edited since it was loaded" in str(w.message)
            for w in caught
        )
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("stale_helper", None)


REACH = """
import {package}.ops
from ato.scope import Scope
scope = Scope(name="r_{tag}")


def relu(x):
    return max(x, {relu})


ACTS = {{"relu": relu}}


@scope.trace(trace_id="step")
def step(x):
    from {package} import ops as local_ops
    return ACTS["relu"](x) + {package}.ops.deep(x) + local_ops.deep(x)
"""

REACH_OPS = """
def deep(x):
    return x * {deep}
"""


def _reach_step(tmp_path: Path, tag: str, relu: int = 0, deep: int = 1):
    package = f"pkgr_{tag}"
    files = {f"{package}/__init__.py": "", f"{package}/ops.py": REACH_OPS.format(deep=deep)}
    return _files_step(tmp_path / tag, files, REACH.format(package=package, tag=tag, relu=relu))


@pytest.mark.parametrize(("edit", "changed"), [("relu", "relu"), ("deep", "deep")])
def test_helpers_in_a_registry_dict_or_two_modules_deep_or_imported_inside_are_callees(
    tmp_path, edit, changed
):
    before = _reach_step(tmp_path, "a")
    after = _reach_step(tmp_path, "b", **{edit: 5})  # its package is named apart

    def short(callees):  # the functions; the module imported inside counts apart ("?")
        return {
            name.rsplit(".", 1)[-1]: value
            for name, value in callees.items()
            if not name.startswith("?")
        }

    old, new = short(before.callees), short(after.callees)
    assert {"relu", "deep"} <= set(old)
    assert {name for name in old if old[name] != new.get(name)} == {changed}


def test_module_globals_count_by_the_code_that_sets_them_not_by_their_value(tmp_path):
    source = """
    import os, time
    from ato.scope import Scope
    scope = Scope(name="state_{tag}")
    START = time.time()  # another value at every start: the same code
    HOME = os.environ.get("HOME", "")
    COUNTS = {{"seen": 0}}  # bumped by the program
    LIMIT = {limit}

    class Tokenizer:
        _cache = {{}}  # filled as it runs

        def __call__(self, text):
            self._cache.setdefault(text, len(text))
            return self._cache[text]

    @scope.trace(trace_id="step")
    def step(x):
        COUNTS["seen"] += 1
        return x + START + len(HOME) + LIMIT + Tokenizer()("abc")
    """
    prints = []
    for tag, limit in (("a", 10), ("b", 10), ("c", 11)):
        folder = tmp_path / tag
        folder.mkdir()
        module = _load(folder / "train.py", source.format(tag=tag, limit=limit))
        module.step(1)  # state changes as it runs: a counter, a cache
        prints.append(module.scope.fingerprints["step"])
    names = {name.rsplit(".", 1)[-1] for name in prints[0].callees}
    assert {"START", "HOME", "COUNTS", "LIMIT", "Tokenizer"} <= names
    assert prints[0].callees == prints[1].callees and prints[0].combined == prints[1].combined
    changed = {n for n in prints[0].callees if prints[0].callees[n] != prints[2].callees[n]}
    assert changed == {"trace_train.LIMIT"}
    assert any("LIMIT = 10" in text for text in prints[0].callee_sources.values())


def test_a_global_a_function_sets_counts_by_that_code(tmp_path):
    source = """
    from ato.scope import Scope
    scope = Scope(name="setup_{tag}")
    SCALE = 1

    def setup(factor):
        global SCALE, MODEL
        SCALE = factor * {scale}
        MODEL = build({width})

    def build(width):
        return [0] * width

    @scope.trace(trace_id="step")
    def step(x):
        return x * SCALE + len(MODEL)

    setup(2)
    """
    prints = []
    for tag, scale, width in (("a", 3, 4), ("b", 3, 4), ("c", 5, 4), ("d", 3, 8)):
        folder = tmp_path / tag
        folder.mkdir()
        module = _load(folder / "train.py", source.format(tag=tag, scale=scale, width=width))
        module.step(1)
        prints.append(module.scope.fingerprints["step"])
    assert prints[0].callees == prints[1].callees
    for other, name in ((prints[2], "SCALE"), (prints[3], "MODEL")):
        changed = {n for n in prints[0].callees if prints[0].callees[n] != other.callees[n]}
        assert changed == {f"trace_train.{name}"}


def test_a_global_built_in_a_function_counts_its_lines_not_same_named_module_globals(tmp_path):
    source = """
    from ato.scope import Scope
    scope = Scope(name="build_{tag}")
    width = {unrelated}  # a module global named like setup's parameter: not read

    def setup(width, lr):
        global MODEL
        depth = {depth}
        MODEL = [width, depth, lr]

    @scope.trace(trace_id="step")
    def step(x):
        return x + sum(MODEL)

    setup(4, 0.1)
    """
    prints = []
    for tag, unrelated, depth in (("a", 80, 3), ("b", 120, 3), ("c", 80, 5)):
        folder = tmp_path / tag
        folder.mkdir()
        module = _load(
            folder / "train.py", source.format(tag=tag, unrelated=unrelated, depth=depth)
        )
        prints.append(module.scope.fingerprints["step"])
    assert prints[0].callees == prints[1].callees  # the unrelated global is not read
    changed = {n for n in prints[0].callees if prints[0].callees[n] != prints[2].callees[n]}
    assert changed == {"trace_train.MODEL"}  # the local line it is built from


def test_each_function_of_a_registry_counts_on_its_own(tmp_path):
    source = """
    from ato.scope import Scope
    scope = Scope(name="acts_{tag}")
    ACTS = {{"relu": lambda x: max(x, {floor}), "id": lambda x: x}}

    @scope.trace(trace_id="step")
    def step(x):
        return ACTS["relu"](x)
    """
    prints = []
    for tag, floor in (("a", 0), ("b", 1)):
        folder = tmp_path / tag
        folder.mkdir()
        module = _load(folder / "train.py", source.format(tag=tag, floor=floor))
        prints.append(module.scope.fingerprints["step"])
    assert prints[0].combined != prints[1].combined


def test_globals_imported_from_another_module_and_what_they_are_made_from_count(tmp_path):
    consts = """
    BASE = {base}
    HIDDEN = BASE * 4
    """
    source = """
    from consts_{tag} import HIDDEN
    from ato.scope import Scope
    scope = Scope(name="derived_{tag}")
    model = None  # set later in a loop of runs: state, never code

    @scope.trace(trace_id="step")
    def step(x):
        return x * HIDDEN + (model is None)
    """
    prints = []
    for tag, base in (("a", 64), ("b", 64), ("c", 32)):
        folder = tmp_path / tag
        folder.mkdir()
        (folder / f"consts_{tag}.py").write_text(textwrap.dedent(consts.format(base=base)))
        sys.path.insert(0, str(folder))
        try:
            module = _load(folder / "train.py", source.format(tag=tag))
            if tag == "b":
                module.model = object()  # what a loop of runs does between two of them
            prints.append(module.scope.fingerprints["step"])
        finally:
            sys.path.remove(str(folder))
            sys.modules.pop(f"consts_{tag}", None)

    def short(callees):
        return {name.split(".", 1)[-1]: value for name, value in callees.items()}

    assert short(prints[0].callees) == short(prints[1].callees)
    changed = {
        name
        for name in short(prints[0].callees)
        if short(prints[0].callees)[name] != short(prints[2].callees).get(name)
    }
    assert changed == {"BASE"}  # HIDDEN's code is the same; BASE's is not


def test_odd_module_code_never_fails_and_library_globals_do_not_count(tmp_path):
    total = " + ".join(f"W{i}" for i in range(400))
    weights = "\n".join(f"W{i} = {i}" for i in range(400))
    main = f"""
    import datetime, random
    from ato.scope import Scope
    scope = Scope(name="odd")
    {weights.replace(chr(10), chr(10) + "    ")}
    TOTAL = {total}  # deeper than the canonical writer's stack: counted as written
    EPOCH = datetime.datetime(2020, 1, 1)

    @scope.trace(trace_id="step")
    def step(x):
        return x + TOTAL + EPOCH.year + random.random()
    """
    fingerprint = _files_step(tmp_path, {}, main)
    assert "trace_train.TOTAL" in fingerprint.callees
    assert not [name for name in fingerprint.callees if name.startswith(("datetime", "random"))]


def test_relative_star_and_shadowed_imports_reach_the_code_that_sets_them(tmp_path):
    def build(tag: str, lr: str, batch: str) -> Any:
        files = {
            f"pkq_{tag}/__init__.py": "",
            f"pkq_{tag}/consts.py": f"LR = {lr}\nBATCH = {batch}\n",
            f"pkq_{tag}/stars.py": "from .consts import *\n",
        }
        main = f"""
        import os
        from pkq_{tag}.stars import *
        from pkq_{tag}.consts import BATCH
        from ato.scope import Scope
        scope = Scope(name="rel_{tag}")
        BATCH = int(os.environ.get("ATO_TEST_BATCH", BATCH))  # re-set from the import

        @scope.trace(trace_id="step")
        def step(x):
            return x * LR + BATCH
        """
        return _files_step(tmp_path / tag, files, main)

    def short(fp: Any) -> dict[str, str]:
        return {name.rsplit(".", 1)[-1]: value for name, value in fp.callees.items()}

    base, lr, batch = build("a", "0.1", "32"), build("b", "0.5", "32"), build("c", "0.1", "64")
    assert {"LR", "BATCH"} <= set(short(base))
    assert short(base)["LR"] != short(lr)["LR"] and short(base)["BATCH"] == short(lr)["BATCH"]
    assert short(base)["BATCH"] != short(batch)["BATCH"]


def test_a_cache_filled_while_running_is_not_code(tmp_path):
    main = """
    import functools
    from ato.scope import Scope
    scope = Scope(name="cache")
    _CACHE = {}

    def loss(x, k):
        return x * k

    @scope.trace(trace_id="step")
    def step(x):
        fn = _CACHE.setdefault(1.0, functools.partial(loss, k=1.0))
        return fn(x)
    """
    folder = tmp_path / "cache"
    folder.mkdir()
    module = _load(folder / "train.py", main)
    before = module.scope.fingerprints["step"]
    module.step(2)  # fills the cache
    after = module.scope.fingerprints["step"]
    assert (before.callees, before.combined) == (after.callees, after.combined)


def test_a_file_with_a_bom_is_read_as_python_reads_it(tmp_path):
    main = (
        "\ufeffimport time\nfrom ato.scope import Scope\nscope = Scope(name='bom_{tag}')\n"
        "START = time.time()\n\n@scope.trace(trace_id='step')\ndef step(x):\n"
        "    return x + START\n"
    )
    prints = []
    for tag in ("a", "b"):
        folder = tmp_path / tag
        folder.mkdir()
        path = folder / "train.py"
        path.write_text(main.format(tag=tag), encoding="utf-8")
        spec = importlib.util.spec_from_file_location("trace_train", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["trace_train"] = module
        spec.loader.exec_module(module)
        prints.append(module.scope.fingerprints["step"])
    assert prints[0].callees == prints[1].callees  # START by its code, not its time


BY_NAME_OPTIM = """
import sys

def sgd(w, g):
    return w - {rate} * g

def adam(w, g):
    return w - 0.01 * g

def make(name):
    return getattr(sys.modules[__name__], name)
"""

BY_NAME = """
import {package}.optim as optim_module
from ato.scope import Scope
scope = Scope(name="n_{tag}")


def local_sgd(w, g):
    return w - {local} * g


@scope.trace(trace_id="step")
def step(x, name="sgd"):
    import importlib
    first = getattr(optim_module, name)(x, 1)
    second = optim_module.make(name)(x, 1)
    third = globals()["local_" + name](x, 1)
    loaded = importlib.import_module("{package}.optim")
    return first + second + third + getattr(loaded, name)(x, 1)


@scope.trace(trace_id="dotted")
def dotted(x, name="sgd"):
    return getattr({package}.optim, name, None)(x, 1) + globals().get("local_" + name)(x, 1)
"""


@pytest.mark.parametrize(("edit", "changed"), [("rate", "sgd"), ("local", "local_sgd")])
def test_functions_chosen_by_a_computed_name_are_callees(tmp_path, edit, changed):
    """getattr(module, name), getattr(sys.modules[__name__], name) and globals()[name]
    with a name from the config: every function the module defines may run, so each
    counts (an edit to the one chosen must never read as "same code")."""

    def fingerprint(tag, trace, rate=0.1, local=0.1):
        package = f"pkgn_{tag}"
        files = {
            f"{package}/__init__.py": "",
            f"{package}/optim.py": BY_NAME_OPTIM.format(rate=rate),
        }
        main = BY_NAME.format(package=package, tag=tag, local=local)
        return _files_step(tmp_path / tag, files, main, trace=trace)

    def short(callees):  # the functions; the module imported inside counts apart ("?")
        return {
            name.rsplit(".", 1)[-1]: value
            for name, value in callees.items()
            if not name.startswith("?")
        }

    for trace in ("step", "dotted"):
        before, after = (
            fingerprint("a" + trace, trace=trace),
            fingerprint("b" + trace, trace=trace, **{edit: 0.5}),
        )
        old, new = short(before.callees), short(after.callees)
        assert {"sgd", "adam", "local_sgd"} <= set(old), trace
        # (the traced functions themselves name their package, which differs here)
        differ = {name for name in old if old[name] != new.get(name)} - {"step", "dotted"}
        assert differ == {changed}, trace


IMPORTED_BY_NAME = """
import importlib
import {package}.optim
from ato.scope import Scope
scope = Scope(name="m_{tag}")


@scope.trace(trace_id="step")
def step(x, name="sgd"):
    {body}
"""


@pytest.mark.parametrize(
    "body",
    [
        'loaded = importlib.import_module("{package}.optim")\n'
        "    return getattr(loaded, name)(x, 1)",
        'return getattr(importlib.import_module("{package}.optim"), name)(x, 1)',
        'loaded: object = importlib.import_module(".optim", "{package}")\n'
        "    return getattr(loaded, name)(x, 1)",
        'return getattr(__import__("sys").modules["{package}.optim"], name)(x, 1)',
        "return vars({package}.optim)[name](x, 1)",
        "return {package}.optim.__dict__[name](x, 1)",
    ],
)
def test_a_module_imported_by_importlib_then_read_by_a_computed_name_is_followed(tmp_path, body):
    def fingerprint(tag, rate=0.1):
        package = f"pkgm_{tag}"
        files = {
            f"{package}/__init__.py": "",
            f"{package}/optim.py": BY_NAME_OPTIM.format(rate=rate),
        }
        main = IMPORTED_BY_NAME.replace("{body}", body).format(package=package, tag=tag)
        return _files_step(tmp_path / tag, files, main)

    before, after = fingerprint("a"), fingerprint("b", rate=0.5)
    changed = {
        n.rsplit(".", 1)[-1]
        for n in before.callees
        if before.callees[n] != after.callees.get(n.replace("pkgm_a", "pkgm_b"))
    }
    assert "sgd" in changed and "adam" not in changed


COMPUTED_IMPORT = """
import importlib
import {package}.models.small
from ato.scope import Scope
scope = Scope(name="ci_{tag}")


@scope.trace(trace_id="step")
def step(x, name="small"):
    {body}
"""


@pytest.mark.parametrize(
    "body",
    [
        'return importlib.import_module(f"{package}.models.{{name}}").build(x)',
        'module = importlib.import_module("{package}.models." + name)\n    return module.build(x)',
        'return importlib.import_module("{package}.models.{{}}".format(name)).build(x)',
        'return importlib.import_module("{package}.models.%s" % name).build(x)',
        'return importlib.import_module(f".{{name}}", "{package}.models").build(x)',
        'return importlib.import_module(name=f".{{name}}", package="{package}.models").build(x)',
        'return importlib.import_module(f".models.{{name}}", __package__).build(x)',
    ],
)
def test_a_module_imported_by_a_computed_name_is_code_the_function_may_run(tmp_path, body):
    """import_module(f"models.{name}"): every module of that package the name fits may be
    the one that runs, loaded or not (it may be loaded only later): each counts by its
    file, under "?" (explain names one only when both runs saw it: another model is a
    config change); a comment does not count; a module outside that start does not."""

    def fingerprint(tag, small="2", big="3"):
        package = f"pkgc_{tag}"
        files = {
            f"{package}/__init__.py": "",
            f"{package}/other.py": "def build(x):\n    return x\n",
            f"{package}/models_old.py": "def build(x):\n    return x\n",
            f"{package}/models/__init__.py": "",
            f"{package}/models/small.py": f"def build(x):\n    return x * {small}\n",
            f"{package}/models/big.py": f"def build(x):\n    return x * {big}\n",
            f"{package}/train.py": COMPUTED_IMPORT.replace("{body}", body).format(
                package=package, tag=tag
            ),
        }
        main = f"from {package}.train import scope\n"
        return _files_step(tmp_path / tag, files, main)

    def may_run(found):
        return {n.split("models.")[-1]: v for n, v in found.callees.items() if n.startswith("?")}

    base = fingerprint("a")
    assert set(may_run(base)) == {"small", "big"}
    assert not any("other" in name or "models_old" in name for name in base.callees)
    edited = fingerprint("b", big="5")
    assert may_run(edited)["big"] != may_run(base)["big"]
    assert may_run(edited)["small"] == may_run(base)["small"]
    commented = fingerprint("c", small="2  # was 3")
    assert may_run(commented) == may_run(base)


def test_a_module_imported_as_it_runs_counts_in_the_combined_fingerprint_by_its_file():
    """Its file counts; what it holds ("?models.small.build") is found only in a run
    that starts with it loaded, so it does not."""
    base = combined_fingerprint("own", {"helper": "h", "?models.small": "module:1"})
    assert combined_fingerprint("own", {"helper": "h", "?models.small": "module:2"}) != base
    with_loaded = {"helper": "h", "?models.small": "module:1", "?models.small.build": "b"}
    assert combined_fingerprint("own", with_loaded) == base


def test_a_computed_import_name_with_no_package_in_its_written_start_counts_nothing(tmp_path):
    """f"m{name}" could be any module at all: no guess is made."""
    files = {"mlib.py": "def build(x):\n    return x\n"}
    main = COMPUTED_IMPORT.replace(
        "{body}", 'return importlib.import_module(f"m{{name}}").build(x)'
    ).format(package="unused", tag="nopkg")
    main = main.replace("import unused.models.small\n", "")
    found = _files_step(tmp_path, files, main)
    assert not any(name.startswith("?") for name in found.callees)


BODY_IMPORT = """
{top}
from ato.scope import Scope
scope = Scope(name="bi_{tag}")


@scope.trace(trace_id="step")
def step(x):
    from {package}.helpers import clip
    from {package}.models import REGISTRY
    return clip(x) + {package}.models.small.build(x) + len(REGISTRY)
"""


@pytest.mark.parametrize("loaded", [False, True])
def test_a_helper_imported_only_in_the_body_counts_by_its_file_loaded_or_not(tmp_path, loaded):
    """from helpers import clip in the body, helpers imported nowhere at the top: loaded
    when the run starts (an earlier run imported it) or not, the combined fingerprint is
    the same; what the loaded module holds is marked "?". A module imported at the top
    (models.small) is followed as always, even beside a body import of its package."""

    def fingerprint(tag, load):
        package = f"pkgb_{tag}"
        files = {
            f"{package}/__init__.py": "",
            f"{package}/helpers.py": "def clip(x):\n    return min(x, 1.0)\n",
            f"{package}/models/__init__.py": "REGISTRY = {}\n",
            f"{package}/models/small.py": "def build(x):\n    return 2 * x\n",
        }
        top = f"import {package}.models.small"
        if load:
            top += f"\nimport {package}.helpers as _h"
        main = BODY_IMPORT.format(top=top, package=package, tag=tag)
        found = _files_step(tmp_path / tag, files, main)
        return {name.replace(package, "P"): value for name, value in found.callees.items()}

    fresh = fingerprint("a", False)
    assert "?P.helpers" in fresh and "P.models.small.build" in fresh
    assert not any(name.startswith("?P.models") for name in fresh)
    if loaded:  # loaded by the top of the program here: settled, followed as callees
        again = fingerprint("b", True)
        assert "P.helpers.clip" in again
    else:
        assert not any("clip" in name for name in fresh)


def test_what_a_module_loaded_as_it_runs_holds_is_marked_and_left_out_of_the_combined(tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "lazyhelp.py").write_text("def clip(x):\n    return min(x, 1.0)\n")
    main = """
from ato.scope import Scope
scope = Scope(name="lazy_marked")


@scope.trace(trace_id="step")
def step(x):
    from lazyhelp import clip
    return clip(x)
"""
    sys.path.insert(0, str(folder))
    try:
        module = _load(folder / "train.py", main)
        before = module.scope.fingerprints["step"]
        module.step(3.0)  # imports lazyhelp, as a first run would
        after = module.scope.fingerprints["step"]
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("lazyhelp", None)
    assert set(before.callees) == {"?lazyhelp"}
    assert set(after.callees) == {"?lazyhelp", "?lazyhelp.clip"}
    assert after.callees["?lazyhelp"] == before.callees["?lazyhelp"]
    assert after.combined == before.combined


def test_a_callee_reached_both_ways_keeps_its_name_once_the_lazy_module_is_loaded(tmp_path):
    """A registry partial read by a helper (always) and by a module imported as the
    function runs: its name comes from where it was read, which must not flip to the
    lazy module's once that is loaded (the combined fingerprint changed)."""
    folder = tmp_path / "both"
    (folder / "lzmodels").mkdir(parents=True)
    (folder / "lzmodels" / "__init__.py").write_text("")
    (folder / "lzmodels" / "small.py").write_text(
        "import lzhelpers\n\ndef build(x):\n    return lzhelpers.ACTS['a'](x)\n"
    )
    (folder / "lzwrap.py").write_text(
        "import lzhelpers\n\ndef wrapper(x):\n    return lzhelpers.ACTS['a'](x)\n"
    )
    (folder / "lzhelpers.py").write_text(
        "import functools\n\ndef _act(x, k):\n    return x * k\n\n"
        "ACTS = {'a': functools.partial(_act, k=2)}\n"
    )
    main = """
import lzwrap
from ato.scope import Scope
scope = Scope(name="both_ways")


@scope.trace(trace_id="step")
def step(x):
    from lzmodels import small
    return lzwrap.wrapper(x) + small.build(x)
"""
    sys.path.insert(0, str(folder))
    try:
        module = _load(folder / "train.py", main)
        before = module.scope.fingerprints["step"]
        assert module.step(1.0) == 4.0  # loads lzmodels.small, as a first run would
        after = module.scope.fingerprints["step"]
    finally:
        sys.path.remove(str(folder))
        for name in ("lzwrap", "lzhelpers", "lzmodels", "lzmodels.small"):
            sys.modules.pop(name, None)
    name = 'entry:[["ACTS", "a"]]:lzwrap.ACTS[\'a\']()'  # an entry (ato.registry_entries)
    assert name in before.callees and name in after.callees
    assert "?lzmodels.small.build" in after.callees
    assert after.combined == before.combined


ANNOTATED = """
from __future__ import annotations
from typing import Optional
from ato.scope import Scope
import {package}.nets as nets
from {package}.nets import Plain
scope = Scope(name="ann_{tag}")

class Recorder:
    def record(self, v):
        return v * {record}

T = int  # an alias: no class of the program's

@scope.trace(trace_id="step")
def step(x, log: Recorder, net: Optional["nets.Net"] = None, *more: list[Plain], n: T = 0):
    log.record(x)
    return net.forward(x)
"""

NETS = """
class Net:
    def forward(self, x):
        return x + {net}

class Plain:
    def go(self):
        return {plain}
"""


def _annotated_step(tmp_path: Path, tag: str, record=1, net=0, plain=0) -> Fingerprint:
    package = f"annpkg_{tag}"
    files = {
        f"{package}/__init__.py": "",
        f"{package}/nets.py": NETS.format(net=net, plain=plain),
    }
    main = ANNOTATED.format(package=package, tag=tag, record=record)
    return _files_step(tmp_path / tag, files, main)


@pytest.mark.parametrize(
    ("edit", "changed"),
    [("record", "Recorder"), ("net", "nets.Net"), ("plain", "nets.Plain")],
)
def test_the_class_a_parameter_is_annotated_with_counts_as_code_it_calls(tmp_path, edit, changed):
    """``def step(model: Net)``: the object comes in as an argument, so nothing else names
    its class; the annotation does (a string, inside Optional[...] or list[...] too)."""
    before = _annotated_step(tmp_path, "a")
    after = _annotated_step(tmp_path, "b", **{edit: 2})
    assert before.value == after.value  # the function's own logic is the same
    assert before.combined != after.combined

    def short(callees):
        return {name.split(".", 1)[-1]: value for name, value in callees.items()}

    old, new = short(before.callees), short(after.callees)
    assert {"Recorder", "nets.Net", "nets.Plain"} <= set(old)
    assert "T" not in old and "int" not in str(old)  # an alias of a builtin is no code
    assert [name for name in old if old[name] != new.get(name)] == [changed]

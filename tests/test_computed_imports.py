"""Modules a function may import as it runs, read from disk (ato.computed_imports)."""

from __future__ import annotations

import ast
import importlib
import os
import sys
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ato import computed_imports, module_lookup
from ato.computed_imports import may_import
from ato.errors import AtoWarning

PACKAGES = ("zoo", "zoo.models")  # hold every candidate here: counted with each


def _found(code: str, home: dict | None = None, packages: bool = False) -> list[str]:
    node = ast.parse(code).body[0]
    call = node.value if isinstance(node, ast.Expr) else node
    found = may_import(call, {"__package__": "zoo"} if home is None else home)
    return [name for name, _ in found if packages or name not in PACKAGES]


@pytest.mark.parametrize(
    "code",
    [
        'import_module(f"zoo.models.{name}")',
        'importlib.import_module("zoo.models." + name + "")',
        'import_module("zoo.models.{}".format(name))',
        'import_module("zoo.models.%s" % name)',
        'import_module(f".{name}", "zoo.models")',
        'import_module(package="zoo.models", name=f".{name}")',
        'import_module(f".models.{name}", __package__)',
        'import_module(f"zoo.models.{name}", __package__)',  # a script's: None
        'import_module(f"zoo.models.{name}", package=None)',
    ],
)
def test_a_computed_name_may_import_each_module_of_its_package(program, code):
    home = {"__package__": None} if "zoo.models" in code and "__package__" in code else None
    assert _found(code, home) == ["zoo.models.big", "zoo.models.deep", "zoo.models.small"]


@pytest.mark.parametrize(
    "code",
    [
        'import_module(f"z{name}")',  # no package written: could be any module
        'import_module("zoo" + name)',
        "import_module(name)",
        'import_module(f".{name}")',  # relative, and no package beside it
        'import_module(f".{name}", package)',  # a package computed too
        'import_module(f"nowhere.{name}")',
        'load(f"zoo.models.{name}")',
        'import_module(f"zoo..models.{name}")',
        'import_module(f"zoo.models/{name}")',
    ],
)
def test_a_name_whose_package_is_unknown_counts_nothing(program, code):
    assert _found(code, {}) == []
    if code.startswith('import_module(f".'):
        assert _found(code) == []  # not the function's own package instead


def test_the_written_start_and_end_narrow_the_modules(program):
    assert _found('import_module(f"zoo.models.s{name}")') == ["zoo.models.small"]
    assert _found('import_module("zoo.models." + name + "ig")') == ["zoo.models.big"]
    (program / "models" / "deep" / "network.py").write_text("def net():\n    return 1\n")
    (program / "models" / "my-net.py").write_text("def net():\n    return 2\n")
    network = ["zoo.models.deep.network", "zoo.models.deep"]  # and the package holding it
    assert _found('import_module(f"zoo.models.{name}.network")') == network
    assert _found('import_module("zoo.models.%s.network" % name)') == network
    assert "zoo.models.my-net" in _found('import_module(f"zoo.models.{name}")')


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import zoo.models.small", ["zoo.models.small"]),
        ("from zoo.models import small, big", ["zoo.models.small", "zoo.models.big"]),
        ("from zoo.models import build", []),  # the package itself (one of PACKAGES)
        ("from .models import small", ["zoo.models.small"]),
        ('import_module("zoo.models.big")', ["zoo.models.big"]),
        ('import_module(f"zoo.models.big")', ["zoo.models.big"]),  # nothing computed
        ('import_module("zoo.models." + "big")', ["zoo.models.big"]),
        ("import os", []),  # loaded: followed as a callee instead
        ("import json.decoder", []),  # a library's
    ],
)
def test_an_import_in_a_body_of_a_module_not_loaded_counts_its_file(program, code, expected):
    assert _found(code) == expected


def test_a_loaded_module_counts_by_its_file_as_first_read_while_loaded(program):
    """Loaded or not when a run starts (an earlier run in the process may have imported
    it), the module counts the same; an edit after it was loaded does not run, so it does
    not count until the module is loaded again."""
    first = may_import(ast.parse("import zoo.models.small").body[0], {})
    import zoo.models.small

    loaded = may_import(ast.parse("import zoo.models.small").body[0], {})
    assert [(n, f.fingerprint) for n, f in loaded] == [(n, f.fingerprint) for n, f in first]
    (program / "models" / "small.py").write_text("def build(x):\n    return -x\n")
    again = may_import(ast.parse("import zoo.models.small").body[0], {})
    assert again[0][1].fingerprint == first[0][1].fingerprint  # what runs is the old code
    importlib.reload(zoo.models.small)
    reloaded = may_import(ast.parse("import zoo.models.small").body[0], {})
    assert reloaded[0][1].fingerprint != first[0][1].fingerprint


def test_a_fifo_named_like_a_module_is_skipped_not_read(program):
    os.mkfifo(program / "models" / "pipe.py")
    assert "zoo.models.pipe" not in _found('import_module(f"zoo.models.{name}")')
    assert _found("import zoo.models.pipe") == []


def test_an_unreadable_package_folder_counts_nothing(program, monkeypatch):
    def refuse(folder):
        raise PermissionError(folder)

    monkeypatch.setattr(module_lookup.os, "listdir", refuse)
    assert _found('import_module(f"zoo.models.{name}")') == []


def test_too_many_modules_keep_a_bounded_number_and_say_so(program, monkeypatch):
    monkeypatch.setattr(computed_imports, "CANDIDATES_KEPT", 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = _found('import_module(f"zoo.models.{name}")')
    assert found == ["zoo.models.big", "zoo.models.deep"]
    (warning,) = [w for w in caught if issubclass(w.category, AtoWarning)]
    assert "3 modules fit the computed import_module name 'zoo.models.{...}'" in str(
        warning.message
    )


def test_the_cap_counts_the_modules_that_fit_not_those_that_start_alike(program, monkeypatch):
    """A package of many modules, one of which fits the written end: it is kept."""
    monkeypatch.setattr(computed_imports, "CANDIDATES_KEPT", 2)
    for index in range(5):
        (program / "models" / f"m{index}.py").write_text("")
    (program / "models" / "zz_v2.py").write_text("")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert _found('import_module(f"zoo.models.{name}_v2")') == ["zoo.models.zz_v2"]
    assert not [str(w.message) for w in caught if issubclass(w.category, AtoWarning)]


def test_a_computed_level_may_be_a_namespace_package(program):
    """models/resnet/ without __init__.py is a namespace package Python imports from."""
    (program / "models" / "resnet").mkdir()
    (program / "models" / "resnet" / "r50.py").write_text("def build():\n    return 50\n")
    assert "zoo.models.resnet.r50" in _found('import_module(f"zoo.models.{family}.{size}")')


@given(
    package=st.from_regex(r"[a-z][a-z0-9_]{0,8}(\.[a-z][a-z0-9_]{0,8}){0,2}", fullmatch=True),
    stem=st.from_regex(r"[a-z0-9_]{0,5}", fullmatch=True),
    form=st.sampled_from(
        ["f'{p}.{s}{{n}}'", "'{p}.{s}' + n", "'{p}.{s}{{}}'.format(n)", "'{p}.{s}%s' % n"]
    ),
)
def test_the_written_start_is_read_whatever_its_form(package, stem, form):
    node = ast.parse(form.format(p=package, s=stem), mode="eval").body
    assert computed_imports._name_pattern(node) == f"{package}.{stem}{computed_imports._COMPUTED}"


@given(
    parts=st.lists(
        st.one_of(st.none(), st.from_regex(r"[a-z0-9_.]{1,6}", fullmatch=True)),
        min_size=1,
        max_size=6,
    ),
)
def test_every_form_of_a_computed_name_reads_as_the_same_pattern(parts):
    """Written text and computed parts in any order: an f-string, a sum, .format() and
    % give the one pattern, written text as written."""
    computed = computed_imports._COMPUTED
    expected = "".join(computed if part is None else part for part in parts)
    forms = [
        "f'" + "".join("{x}" if p is None else p for p in parts) + "'",
        " + ".join("x" if p is None else repr(p) for p in parts),
        "'" + "".join("{}" if p is None else p for p in parts) + "'.format(*x)",
        "'" + "".join("%s" if p is None else p for p in parts) + "' % x",
    ]
    for form in forms:
        node = ast.parse(form, mode="eval").body
        assert computed_imports._name_pattern(node) == expected, form


def test_each_computed_part_of_a_name_picks_among_the_modules_at_its_level(program):
    """A name with two computed parts (f"models.{family}.{size}") may import any module
    two levels down; a written tail after them, each one's."""
    deep = program / "models" / "deep"
    (deep / "r50.py").write_text("def build():\n    return 50\n")
    (deep / "r18").mkdir()
    (deep / "r18" / "__init__.py").write_text("")
    (deep / "r18" / "net.py").write_text("def build():\n    return 18\n")
    two = _found('import_module(f"zoo.models.{family}.{size}")')
    assert set(two) == {"zoo.models.deep", "zoo.models.deep.r18", "zoo.models.deep.r50"}
    tail = _found('import_module("zoo.models.%s.%s.net" % (family, size))')
    assert set(tail) == {"zoo.models.deep", "zoo.models.deep.r18", "zoo.models.deep.r18.net"}


def test_a_written_tail_that_goes_deeper_is_followed(program):
    (program / "models" / "small_v2").mkdir()
    (program / "models" / "small_v2" / "__init__.py").write_text("")
    (program / "models" / "small_v2" / "net.py").write_text("def build():\n    return 2\n")
    found = _found('import_module(f"zoo.models.{name}_v2.net")')
    assert set(found) == {"zoo.models.small_v2", "zoo.models.small_v2.net"}


def test_two_computed_levels_keep_a_bounded_number_and_say_so(program, monkeypatch):
    monkeypatch.setattr(computed_imports, "CANDIDATES_KEPT", 2)
    for name in ("a", "b", "c"):
        (program / "models" / "deep" / f"{name}.py").write_text("")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = _found('import_module(f"zoo.models.{family}.{size}")')
    assert [name for name in found if name != "zoo.models.deep"] == [
        "zoo.models.deep.a",
        "zoo.models.deep.b",
    ]
    assert any("only the first 2 by name" in str(w.message) for w in caught)


def test_a_module_imported_at_the_top_is_settled_and_not_counted_here(program):
    home = {"__name__": "zoo.train", "__package__": "zoo", "__file__": str(program / "t.py")}
    (program / "t.py").write_text("import zoo.models.small\nfrom .models import big\n")
    settled = computed_imports.imported_at_the_top(home)
    assert {"zoo", "zoo.models", "zoo.models.small", "zoo.models.big", "zoo.train"} <= settled
    node = ast.parse("from zoo.models import small, big, deep").body[0]
    assert [name for name, _ in may_import(node, home, settled)] == ["zoo.models.deep"]


@pytest.mark.parametrize(
    "guard",
    ["if TYPE_CHECKING:", "if typing.TYPE_CHECKING:", 'if __name__ == "__main__":'],
)
def test_an_import_under_a_typing_or_script_guard_is_not_settled(program, guard):
    """Imported at the top only for type checkers, or only when run as a script: the
    module is not loaded whenever its importer is."""
    (program / "t.py").write_text(f"import typing\n{guard}\n    import zoo.models.small\n")
    home = {"__name__": "zoo.t", "__package__": "zoo", "__file__": str(program / "t.py")}
    assert "zoo.models.small" not in computed_imports.imported_at_the_top(home)
    node = ast.parse("from zoo.models import small").body[0]
    assert _found_in(node, home) == ["zoo.models.small"]


def _found_in(node, home):
    settled = computed_imports.imported_at_the_top(home)
    return [name for name, _ in may_import(node, home, settled) if name not in PACKAGES]


class _Proxy:
    """What a lazy-loading library may put in sys.modules: every attribute raises."""

    def __getattr__(self, name):
        raise KeyError(name)


def test_whatever_sys_modules_holds_never_makes_a_fingerprint_fail(program, monkeypatch):
    monkeypatch.setitem(sys.modules, "zoo.models", _Proxy())
    monkeypatch.setitem(sys.modules, "zoo.models.small", _Proxy())
    for code in ('import_module(f"zoo.models.{name}")', "from zoo.models import small"):
        assert _found(code) == []
    assert not module_lookup.is_own_module("zoo.models")


def test_from_a_package_import_a_submodule_never_counts_the_package_instead(program, recwarn):
    """models.small's file as loaded unknown: it is left out, not replaced by the
    package's __init__."""
    import zoo.models.small

    small = program / "models" / "small.py"
    small.write_text("def build(x):\n    return -x  # edited after loading\n")
    stamp = small.stat().st_mtime_ns + 2_000_000_000
    os.utime(small, ns=(stamp, stamp))
    assert zoo.models.small.build(1) == 1
    assert _found("from zoo.models import small") == []


def test_a_script_s_main_block_runs_before_any_run_so_its_imports_are_settled(program):
    (program / "t.py").write_text(
        "import typing\nif typing.TYPE_CHECKING:\n    import zoo.models.big\n"
        'if __name__ == "__main__":\n    import zoo.models.small\n'
    )
    script = {"__name__": "__main__", "__package__": None, "__file__": str(program / "t.py")}
    settled = computed_imports.imported_at_the_top(script)
    assert "zoo.models.small" in settled and "zoo.models.big" not in settled


def test_what_the_top_imports_import_in_turn_is_settled_too(program):
    """train.py imports trainer, which imports models.small: models.small is loaded
    whenever train.py is, so a body import of it is followed as a callee, not counted by
    its file (an edit to an unused function of it made a new version)."""
    (program / "trainer.py").write_text("import zoo.models.small\n")
    (program / "t.py").write_text("from zoo import trainer\n")
    home = {"__name__": "zoo.t", "__package__": "zoo", "__file__": str(program / "t.py")}
    settled = computed_imports.imported_at_the_top(home)
    assert {"zoo.trainer", "zoo.models.small"} <= settled
    assert "zoo.models.big" not in settled


def test_what_a_module_imported_as_it_runs_imports_at_its_top_counts_too(program):
    """models/small.py imports models.layers (and a library): an edit to layers may be
    what changed the run. A module the function's own module imports at the top is
    followed as a callee instead, and a library never counts."""
    (program / "models" / "layers.py").write_text("import json\nimport zoo.models.deep\n")
    (program / "models" / "small.py").write_text(
        "import os\nfrom zoo.models import layers\n\ndef build(x):\n    return x\n"
    )
    found = _found("from zoo.models import small", packages=True)
    assert found[0] == "zoo.models.small"
    assert set(found) == {"zoo.models.small", "zoo.models.layers", "zoo.models", "zoo"} | {
        "zoo.models.deep"
    }
    home = {"__package__": "zoo"}
    node = ast.parse("from zoo.models import small").body[0]
    settled = {"zoo", "zoo.models", "zoo.models.layers"}
    assert [name for name, _ in may_import(node, home, settled)] == ["zoo.models.small"]


def test_what_a_loaded_module_imports_in_turn_is_read_from_the_version_loaded(program):
    (program / "models" / "layers.py").write_text("def conv(x):\n    return x\n")
    (program / "models" / "extra.py").write_text("def other(x):\n    return x\n")
    small = program / "models" / "small.py"
    small.write_text("from zoo.models import layers\n\ndef build(x):\n    return x\n")
    first = _found("from zoo.models import small")
    import zoo.models.small  # noqa: F401  (loaded, as by an earlier run in the process)

    small.write_text("from zoo.models import extra\n\ndef build(x):\n    return 2 * x\n")
    stamp = small.stat().st_mtime_ns + 2_000_000_000
    os.utime(small, ns=(stamp, stamp))
    assert _found("from zoo.models import small") == first
    assert "zoo.models.layers" in first and "zoo.models.extra" not in first


def test_too_many_modules_imported_in_turn_keep_a_bounded_number_and_say_so(program, monkeypatch):
    chain = program / "chain"
    chain.mkdir()
    (chain / "__init__.py").write_text("")
    for index in range(6):
        (chain / f"m{index}.py").write_text(f"import zoo.chain.m{index + 1}\n")
    monkeypatch.setattr(computed_imports, "CANDIDATES_KEPT", 3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = _found("import zoo.chain.m0")
    assert len(found) <= 1 + 3
    assert "zoo.chain.m1" in found and "zoo.chain.m6" not in found  # the nearest kept
    assert any("only the 3 nearest count" in str(w.message) for w in caught)


def test_what_is_loaded_anyway_is_told_apart_by_value_within_a_walk(program):
    """Two functions of one walk, with different modules loaded anyway, importing the
    same module: each gets its own answer (keyed by id, a freed set's id came back)."""
    (program / "models" / "layers.py").write_text("X = 1\n")
    (program / "models" / "small.py").write_text("import zoo.models.layers\n")
    walk = computed_imports.Walk()
    node = ast.parse("import zoo.models.small").body[0]
    first = [name for name, _ in may_import(node, {}, ["zoo.models.layers"], walk)]
    second = [name for name, _ in may_import(node, {}, [], walk)]
    assert "zoo.models.layers" not in first and "zoo.models.layers" in second


def test_the_packages_that_hold_a_module_imported_as_it_runs_count_too(program):
    """Importing zoo.models.small runs zoo/__init__.py and zoo/models/__init__.py (and
    what they import), unless those are loaded anyway."""
    (program / "models" / "registry.py").write_text("REG = {}\n")
    (program / "models" / "__init__.py").write_text("from .registry import REG\n")
    found = _found("from zoo.models import small", packages=True)
    assert set(found) == {"zoo.models.small", "zoo.models", "zoo", "zoo.models.registry"}
    home = {"__package__": "zoo"}
    node = ast.parse("from zoo.models import small").body[0]
    settled = {"zoo", "zoo.models", "zoo.models.registry"}
    assert [name for name, _ in may_import(node, home, settled)] == ["zoo.models.small"]


def test_which_modules_past_the_cap_are_kept_does_not_depend_on_what_the_walk_saw_first(
    program, monkeypatch
):
    """zoo.r imports zoo.a (a long chain) and zoo.z (which imports zoo.h): zoo.z and
    zoo.h are nearest, kept whether or not the walk met zoo.a first (reordering two
    imports in a body changed the fingerprint)."""
    (program / "r.py").write_text("import zoo.a\nimport zoo.z\n")
    (program / "z.py").write_text("import zoo.h\n")
    (program / "h.py").write_text("")
    (program / "a.py").write_text("import zoo.c0\n")
    for index in range(8):
        (program / f"c{index}.py").write_text(f"import zoo.c{index + 1}\n")
    monkeypatch.setattr(computed_imports, "CANDIDATES_KEPT", 4)
    home = {"__package__": "zoo"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AtoWarning)
        fresh = may_import(ast.parse("import zoo.r").body[0], home, {"zoo"})
        walk = computed_imports.Walk()
        may_import(ast.parse("import zoo.a").body[0], home, {"zoo"}, walk)
        after = may_import(ast.parse("import zoo.r").body[0], home, {"zoo"}, walk)
    assert [name for name, _ in after] == [name for name, _ in fresh]
    assert {"zoo.z", "zoo.h"} <= {name for name, _ in after}


def test_which_modules_past_the_cap_are_kept_does_not_depend_on_the_order_of_one_statement(
    program, monkeypatch
):
    """``import zoo.a, zoo.z`` and ``import zoo.z, zoo.a``: one set of modules kept."""
    (program / "a.py").write_text("".join(f"import zoo.a{i}\n" for i in range(6)))
    (program / "z.py").write_text("import zoo.z0\nimport zoo.z1\n")
    for name in [*(f"a{i}" for i in range(6)), "z0", "z1"]:
        (program / f"{name}.py").write_text(f"X = {name!r}\n")
    monkeypatch.setattr(computed_imports, "CANDIDATES_KEPT", 4)
    kept = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AtoWarning)
        for code in ("import zoo.a, zoo.z", "import zoo.z, zoo.a"):
            found = may_import(ast.parse(code).body[0], {"__package__": "zoo"}, {"zoo"})
            kept.append({name for name, _ in found})
    assert kept[0] == kept[1]
    assert {"zoo.a0", "zoo.a1", "zoo.a2", "zoo.a3"} <= kept[0]  # nearest, then by name


def test_past_the_cap_the_modules_beyond_it_are_not_read(program, monkeypatch):
    """A module importing 60 others, 5 kept: the other files are not read at all (the
    cap bounds the work, not only what is kept)."""
    (program / "fan.py").write_text("".join(f"import zoo.f{i:02}\n" for i in range(60)))
    for index in range(60):
        (program / f"f{index:02}.py").write_text(f"X = {index}\n")
    monkeypatch.setattr(computed_imports, "CANDIDATES_KEPT", 5)
    read = []
    real = computed_imports.module_file
    monkeypatch.setattr(
        computed_imports,
        "module_file",
        lambda path, *a, **k: read.append(path) or real(path, *a, **k),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AtoWarning)
        found = may_import(ast.parse("import zoo.fan").body[0], {"__package__": "zoo"}, {"zoo"})
    assert [name for name, _ in found] == [
        "zoo.fan",
        "zoo.f00",
        "zoo.f01",
        "zoo.f02",
        "zoo.f03",
        "zoo.f04",
    ]
    assert len(set(read)) <= 1 + 5 + 1


def test_what_a_module_imports_at_its_top_is_read_once_per_walk(program, monkeypatch):
    """Each function's module finds what is loaded anyway; a helper all of them import
    (with what it imports in turn) is looked up once per walk, not once per module."""
    (program / "common.py").write_text("".join(f"import zoo.c{i}\n" for i in range(20)))
    for index in range(20):
        (program / f"c{index}.py").write_text("")
    homes = []
    for index in range(10):
        path = program / f"user{index}.py"
        path.write_text("import zoo.common\n")
        homes.append({"__name__": f"zoo.user{index}", "__file__": str(path), "__package__": "zoo"})
    looked_up = []
    real = computed_imports.file_of
    monkeypatch.setattr(
        computed_imports, "file_of", lambda name: looked_up.append(name) or real(name)
    )
    walk = computed_imports.Walk()
    for home in homes:
        assert "zoo.c19" in computed_imports.imported_at_the_top(home, walk)
    assert looked_up.count("zoo.c19") == 1


@pytest.mark.parametrize(
    ("form", "pattern"),
    [
        ('"zoo.models.%ld" % n', "zoo.models.\0"),  # a length modifier Python accepts
        ('"zoo.models.%(a(b))s" % d', "zoo.models.\0"),  # a key with parentheses
        ('"zoo.models.%%s%s" % n', "zoo.models.%s\0"),
        ('"zoo.{0!r:>{w}}".format(n, w=3)', "zoo.\0"),
        ('f"zoo.{n!s:>{w}}"', "zoo.\0"),
    ],
)
def test_odd_format_fields_read_as_computed_parts(form, pattern):
    node = ast.parse(form, mode="eval").body
    assert computed_imports._name_pattern(node) == pattern.replace("\0", computed_imports._COMPUTED)


def test_folders_on_the_way_that_hold_nothing_fitting_do_not_fill_the_cap(program, monkeypatch):
    """tasks/ holds one package and many output folders: the model module that fits
    is kept, with no warning (the folders filled the cap of the level on the way)."""
    monkeypatch.setattr(computed_imports, "CANDIDATES_KEPT", 3)
    tasks = program / "tasks"
    (tasks / "vision").mkdir(parents=True)
    (tasks / "__init__.py").write_text("")
    (tasks / "vision" / "__init__.py").write_text("")
    (tasks / "vision" / "model.py").write_text("def build():\n    return 1\n")
    for index in range(5):
        (tasks / f"run_{index:03}").mkdir()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = _found('import_module(f"zoo.tasks.{task}.model")')
    assert "zoo.tasks.vision.model" in found
    assert not [str(w.message) for w in caught if issubclass(w.category, AtoWarning)]

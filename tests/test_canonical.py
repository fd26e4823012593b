"""Code fingerprints: the README's promises, a table of labelled pairs from real module
files, the same fingerprints on every installed Python 3.10-3.13, callees, fallbacks."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import pytest

from ato import fingerprint
from ato.callees import callees
from ato.errors import AtoWarning
from ato.fingerprint import fingerprint_function
from ato.scope import Scope
from tests.fingerprint_pairs import DIFFERENT, PAIRS, SAME

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch):
    monkeypatch.setattr(fingerprint, "_WARNED", set())  # each test sees its own warnings


def load_module(path: Path, source: str):
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(f"fp_{path.parent.name}_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    module.__dict__.update(scope=_Decorators(), torch=_Decorators(), cache=_identity_factory)
    sys.modules[spec.name] = module  # as an import does: a class finds its file there
    spec.loader.exec_module(module)
    return module


class _Decorators:
    """Stands in for decorators used in the pair sources (scope.trace, torch.no_grad)."""

    def __getattr__(self, name):
        return _identity_factory


_Decorators.__module__ = "ato.scope"  # as ato's Scope: its trace decorators do not count


def _identity_factory(*args, **kwargs):
    return lambda fn: fn


def test_at_least_sixty_pairs_of_both_kinds():
    assert len(PAIRS) >= 60
    assert {expected for _, expected, _, _ in PAIRS} == {SAME, DIFFERENT}
    assert len({label for label, *_ in PAIRS}) == len(PAIRS)


@pytest.mark.parametrize(("label", "expected", "a", "b"), PAIRS, ids=[p[0] for p in PAIRS])
def test_pair(tmp_path, label, expected, a, b):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    first = load_module(tmp_path / "one" / "first.py", a).f
    second = load_module(tmp_path / "two" / "second.py", b).f
    same = fingerprint_function(first).value == fingerprint_function(second).value
    assert same == (expected == SAME), label


README_SCRIPT = """
from ato.scope import Scope

scope = Scope()
model = data = None

@scope.trace(trace_id='train_step')
@scope
def train_v1(config):
    loss = model(data)
    return loss

first = scope.fingerprints['train_step'].value

@scope.trace(trace_id='train_step')
@scope
def train_v2(config):
    # Added comments
    loss = model(data)  # Compute loss
    return loss

second = scope.fingerprints['train_step'].value

@scope.trace(trace_id='train_step')
@scope
def completely_different_name(config):
    loss=model(data)  # Different whitespace
    return loss

third = scope.fingerprints['train_step'].value

@scope.trace(trace_id='train_step')
@scope
def train_v4(config):
    loss = model(data) * 2  # Logic changed!
    return loss

fourth = scope._traced_data.fingerprints['train_step']
"""


def test_readme_three_identical_functions_and_the_times_two_change(tmp_path):
    module = load_module(tmp_path / "readme.py", README_SCRIPT)
    assert module.first == module.second == module.third
    assert module.fourth != module.first
    assert isinstance(module.fourth, str)


def test_trace_below_scope_and_function_unchanged(tmp_path):
    scope = Scope()

    def forward(model, x):
        out = model(x)
        return out

    traced = scope.trace(trace_id="forward_pass")(forward)
    assert traced is forward
    wrapped = scope(forward)
    scope.trace(trace_id="above")(wrapped)
    assert scope.fingerprints["above"].value == scope.fingerprints["forward_pass"].value
    assert scope.fingerprints["forward_pass"].kind == "static"
    assert scope.fingerprints["forward_pass"].basis == "ast"


def test_default_trace_id_is_module_and_qualname():
    scope = Scope()

    @scope.trace()
    def step(x):
        return x

    assert "tests.test_canonical.test_default_trace_id_is_module_and_qualname.<locals>.step" in (
        scope.fingerprints
    )


def test_callees_are_recorded_transitively(tmp_path):
    (tmp_path / "helpers.py").write_text(
        "def scale(x):\n    return x * 2\n\ndef compute_loss(x):\n    return scale(x) + 1\n"
    )
    source = (
        f"import sys\nsys.path.insert(0, {str(tmp_path)!r})\n"
        "from helpers import compute_loss\nimport json\n"
        "def f(x):\n    return compute_loss(x) + len(json.dumps(x))\n"
    )
    module = load_module(tmp_path / "main.py", source)
    found = dict(callees(module.f))
    assert sorted(found) == ["helpers.compute_loss", "helpers.scale"]
    scope = Scope()
    scope.trace(trace_id="f")(module.f)
    assert set(scope.fingerprints["f"].callees) == {"helpers.compute_loss", "helpers.scale"}
    sys.modules.pop("helpers", None)


def test_no_source_falls_back_to_code_object_with_a_warning():
    namespace: dict[str, object] = {}
    exec("def made(x):\n    return x + 1\n", namespace)
    with pytest.warns(AtoWarning, match="No source"):
        fingerprint = fingerprint_function(namespace["made"])
    assert fingerprint.basis == "code object"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = fingerprint_function(namespace["made"])
    assert again.value == fingerprint.value
    with pytest.warns(AtoWarning, match="builtins.len"):
        assert fingerprint_function(len).basis == "name"


def _corpus_files(folder: Path) -> list[Path]:
    paths = []
    for index, (_, _, a, b) in enumerate(PAIRS):
        for side, source in (("a", a), ("b", b)):
            path = folder / f"pair{index}_{side}.py"
            path.write_text(textwrap.dedent(source))
            paths.append(path)
    return paths


CROSS_VERSION_SCRIPT = """
import importlib.util, json, sys, warnings
from ato.fingerprint import fingerprint_function

warnings.simplefilter("always")

class D:
    def __getattr__(self, name):
        return lambda *a, **k: (lambda fn: fn)

out = {}
for path in sys.argv[1:]:
    spec = importlib.util.spec_from_file_location("m" + str(len(out)), path)
    module = importlib.util.module_from_spec(spec)
    module.__dict__.update(scope=D(), torch=D(), cache=lambda *a, **k: (lambda fn: fn))
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    with warnings.catch_warnings(record=True) as caught:
        value = fingerprint_function(module.f).value
    # A warning means a fallback (no xxhash, no source): not the fingerprint under test.
    out[path.rsplit("/", 1)[-1]] = [value, [str(w.message) for w in caught]]
print(json.dumps(out, sort_keys=True))
"""


def _pythons() -> list[str]:
    pyenv = shutil.which("pyenv")
    found = []
    for version in ("3.10", "3.11", "3.12", "3.13"):
        if pyenv:
            result = subprocess.run([pyenv, "prefix", version], capture_output=True, text=True)
            candidate = Path(result.stdout.strip()) / "bin" / "python"
            if result.returncode == 0 and candidate.exists():
                found.append(str(candidate))
                continue
        plain = shutil.which(f"python{version}")
        if plain:
            found.append(plain)
    return found


def cross_python_path(python: str) -> str:
    """PYTHONPATH for ``python``: ato's sources and xxhash built for that interpreter,
    installed once into .venv/cross-python/<version>."""
    version = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    target = ROOT / ".venv" / "cross-python" / version
    if not (target / "xxhash").exists():
        subprocess.run(
            [
                python,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
                str(target),
                "xxhash",
            ],
            check=True,
            capture_output=True,
        )
    return f"{ROOT / 'src'}{os.pathsep}{target}"


def on_every_python(script: str, arguments: list[str]) -> dict[str, Any]:
    """``{python: what script printed, read as JSON}`` for each installed Python, with
    ato's sources (skipped with fewer than two)."""
    pythons = _pythons()
    if len(pythons) < 2:
        pytest.skip("fewer than two Python versions installed")
    results = {}
    for python in pythons:
        run = subprocess.run(
            [python, "-c", script, *arguments],
            capture_output=True,
            text=True,
            env={"PYTHONPATH": cross_python_path(python), "PATH": "/usr/bin:/bin"},
        )
        assert run.returncode == 0, (python, run.stderr)
        results[python] = json.loads(run.stdout)
    return results


def test_fingerprints_are_identical_on_every_installed_python(tmp_path):
    results = on_every_python(CROSS_VERSION_SCRIPT, [str(p) for p in _corpus_files(tmp_path)])
    reference = next(iter(results.values()))
    assert not {name: seen[1] for name, seen in reference.items() if seen[1]}
    for python, fingerprints in results.items():
        assert fingerprints == reference, python
    assert len(results) >= 2


def test_code_without_source_counts_its_defaults_and_set_constants_in_any_order():
    made = []
    for default in (2, 3):
        namespace: dict = {}
        exec(f"def made(x, k={default}):\n    return x * k in {{'a', 'b', 'c'}}\n", namespace)
        made.append(namespace["made"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first, second = (fingerprint_function(f) for f in made)
    assert first.basis == "code object" and first.value != second.value
    script = (
        "import warnings; warnings.simplefilter('ignore'); ns = {}\n"
        "exec(\"def made(x):\\n    return x in {'alpha', 'beta', 'gamma', 'delta'}\\n\", ns)\n"
        "from ato.fingerprint import fingerprint_function\n"
        "print(fingerprint_function(ns['made']).value)\n"
    )
    values = {
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            check=True,
        ).stdout
        for seed in ("0", "1", "2", "3")
    }
    assert len(values) == 1


def test_a_decorator_of_the_users_named_trace_counts_and_atos_does_not(tmp_path):
    helper = tmp_path / "helper_deco.py"
    helper.write_text("def trace(fn):\n    return lambda x: fn(x) * 2\n")
    sys.path.insert(0, str(tmp_path))
    try:
        plain = load_module(tmp_path / "plain.py", "def f(x):\n    return x + 1\n").f
        users = load_module(
            tmp_path / "users.py",
            "import helper_deco\n@helper_deco.trace\ndef f(x):\n    return x + 1\n",
        ).f
        atos = load_module(
            tmp_path / "atos.py",
            "from ato.scope import Scope\ns = Scope(name='deco_test')\n"
            "@s.trace(trace_id='t')\n@s.runtime_trace(trace_id='r')\ndef f(x):\n    return x + 1\n",
        ).f
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("helper_deco", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = fingerprint_function(plain).value
        assert fingerprint_function(atos).value == base
        assert fingerprint_function(users).value != base


def test_each_lambda_without_source_warns_with_its_place():
    namespace: dict = {}
    exec("first = lambda x: x + 1\nsecond = lambda x: x + 2\n", namespace)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fingerprint_function(namespace["first"])
        fingerprint_function(namespace["second"])
    said = [str(w.message) for w in caught if issubclass(w.category, AtoWarning)]
    assert len(said) == 2 and ":1)" in said[0] and ":2)" in said[1]

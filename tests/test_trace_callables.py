"""Tracing what is not a plain function: partials, callable instances, classes, methods,
builtins and objects that misbehave. Tracing never fails the traced program, never
hashes a repr (which holds an address), and warns once about code it cannot see."""

from __future__ import annotations

import functools
import math
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from ato import fingerprint
from ato.errors import AtoWarning
from ato.fingerprint import fingerprint_function
from ato.scope import Scope
from ato.trace import trace_id_of


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch):
    monkeypatch.setattr(fingerprint, "_WARNED", set())


class BrokenRepr:
    """Callable, with a repr that fails and attributes that fail."""

    def __repr__(self) -> str:
        raise RuntimeError("repr must not be called")

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"no {name}")

    def __call__(self, x: int) -> int:
        return x + 1


class Layer:
    def forward(self, x: int) -> int:
        return self.scale(x)

    def scale(self, x: int) -> int:
        return x * 2

    def __call__(self, x: int) -> int:
        return self.forward(x)

    @property
    def size(self) -> int:
        return 3

    @staticmethod
    def make() -> Layer:
        return Layer()

    @classmethod
    def build(cls) -> Layer:
        return cls()


def _add(a: int, b: int) -> int:
    return a + b


class NoCode:
    """An instance without __call__ or forward: nothing to read."""

    __slots__ = ()


ODD: list[tuple[str, Any, bool]] = [  # (label, object, warns: its code cannot be seen)
    ("builtin function", len, True),
    ("C function", math.sqrt, True),
    ("builtin method", [].append, True),
    ("method descriptor", str.upper, True),
    ("builtin class", dict, True),
    ("bound method", Layer().forward, False),
    ("classmethod", Layer.build, False),
    ("staticmethod", Layer.make, False),
    ("property", Layer.size, False),
    ("class", Layer, False),
    ("callable instance", Layer(), False),
    ("broken repr and attributes", BrokenRepr(), False),
    ("partial", functools.partial(_add, 1), False),
    ("partial of a builtin", functools.partial(max, 0), True),
    ("partial with an unhashable argument", functools.partial(_add, NoCode()), True),
    ("object without code", NoCode(), True),
    ("lambda", lambda x: x, False),
    ("mock", mock.Mock(), True),
]


@pytest.mark.parametrize(("label", "obj", "warns"), ODD, ids=[o[0] for o in ODD])
def test_tracing_odd_callables_never_fails_and_is_deterministic(label, obj, warns):
    scope = Scope(name="odd")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert scope.trace(trace_id="odd")(obj) is obj
        first = scope.fingerprints["odd"]
        second = fingerprint_function(obj)
    assert first.value == second.value
    assert ("0x" not in (first.source or "")) and first.value
    messages = [str(w.message) for w in caught if issubclass(w.category, AtoWarning)]
    assert bool(messages) == warns, messages
    assert len(messages) <= 1, messages  # once, however often it is read
    if not warns:
        assert first.basis == "ast"


def test_the_default_trace_id_of_odd_callables():
    assert trace_id_of(functools.partial(_add, 1)).endswith("test_trace_callables._add")
    assert trace_id_of(Layer()).endswith("test_trace_callables.Layer")
    assert trace_id_of(Layer).endswith("test_trace_callables.Layer")
    assert trace_id_of(Layer().forward).endswith("test_trace_callables.Layer.forward")
    assert trace_id_of(BrokenRepr()).endswith("test_trace_callables.BrokenRepr")
    assert trace_id_of(Layer.size).endswith("test_trace_callables.Layer.size")
    assert trace_id_of(len) == "builtins.len"
    scope = Scope(name="defaults")
    scope.trace()(functools.partial(_add, 1))
    scope.trace()(BrokenRepr())
    assert len(scope.fingerprints) == 2


def test_a_name_only_fingerprint_warns_once_and_names_the_object():
    scope = Scope(name="once")
    with pytest.warns(AtoWarning, match=r"builtins\.len") as caught:
        scope.trace(trace_id="a")(len)
        scope.trace(trace_id="b")(len)
        assert scope.fingerprints["a"].basis == "name"
        assert scope.fingerprints["a"].value == scope.fingerprints["b"].value
    assert len([w for w in caught if issubclass(w.category, AtoWarning)]) == 1


def test_a_partial_counts_its_arguments_by_value_and_a_callable_one_by_code():
    first = fingerprint_function(functools.partial(_add, b=[1, 2]))
    assert first.value == fingerprint_function(functools.partial(_add, b=[1, 2])).value
    assert first.value != fingerprint_function(functools.partial(_add, b=[1, 3])).value
    assert first.value != fingerprint_function(functools.partial(_add, [1, 2])).value
    by_code = fingerprint_function(functools.partial(_add, b=Layer()))
    assert by_code.value == fingerprint_function(functools.partial(_add, b=Layer())).value


def test_a_traced_class_keeps_its_source_and_does_not_raise():
    scope = Scope(name="classes")
    assert scope.trace(trace_id="layer")(Layer) is Layer
    fingerprint = scope.fingerprints["layer"]
    assert fingerprint.basis == "ast"
    assert fingerprint.source is not None and fingerprint.source.startswith("class Layer")


def test_a_failure_inside_fingerprinting_warns_instead_of_failing(monkeypatch):
    def broken(obj: object) -> None:
        raise RecursionError("too deep")

    monkeypatch.setattr(fingerprint, "what_runs", broken)
    scope = Scope(name="broken")

    def step(x: int) -> int:
        return x

    with pytest.warns(AtoWarning, match="step"):
        assert scope.trace(trace_id="step")(step) is step
        assert scope.fingerprints["step"].basis == "name"


MODEL = """
from ato.scope import Scope
scope = Scope(name="m_{tag}")

def activation(x):
    return x * {factor}

class Net:
    def forward(self, x):
        return activation(x)

    def __call__(self, x):
        return self.forward(x)

model = Net()

@scope.trace(trace_id="step")
def step(x):
    return model(x)
"""


def _step_of(path: Path, name: str, source: str):
    """Write ``source`` to ``path``, import it as module ``name`` (registered, as an import
    is) and return its scope's fingerprint of ``step``."""
    import importlib.util

    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        return module.scope.fingerprints["step"]
    finally:
        sys.modules.pop(name, None)


def _step(tmp_path: Path, tag: str, factor: int):
    folder = tmp_path / tag
    folder.mkdir()
    source = textwrap.dedent(MODEL.format(tag=tag, factor=factor))
    return _step_of(folder / "model_train.py", "model_train", source)


def test_a_global_model_instance_and_what_its_forward_calls_are_callees(tmp_path):
    before, same, after = _step(tmp_path, "a", 2), _step(tmp_path, "b", 2), _step(tmp_path, "c", 3)
    # model = Net(): the line that makes it, its class (methods and __init__), its helper
    assert set(before.callees) == {
        "model_train.model",
        "model_train.Net",
        "model_train.activation",
    }
    assert before.callees == same.callees and before.combined == same.combined
    assert before.value == after.value
    assert before.callees["model_train.activation"] != after.callees["model_train.activation"]
    assert before.combined != after.combined


def test_a_cached_function_is_fingerprinted_as_its_function():
    def step(x: int) -> int:
        return x + 1

    assert fingerprint_function(functools.lru_cache(step)).value == (
        fingerprint_function(step).value
    )


TORCH_MODULE = """
import torch

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, {width})

    def forward(self, x):
        return self.head(self.linear(x))

    def head(self, x):
        return x * {factor}

    def unused(self):
        return {unused}

model = Net()
"""


def test_an_nn_module_counts_forward_and_what_it_reaches(tmp_path):
    pytest.importorskip("torch")
    import importlib.util

    def load(tag: str, factor: int, unused: int, width: int = 2) -> Any:
        path = tmp_path / f"net_{tag}.py"
        path.write_text(TORCH_MODULE.format(factor=factor, unused=unused, width=width))
        spec = importlib.util.spec_from_file_location(f"net_{tag}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.model

    with warnings.catch_warnings():
        warnings.simplefilter("error", AtoWarning)
        base = fingerprint_function(load("a", 2, 0))
        assert base.basis == "ast"
        assert base.value == fingerprint_function(load("b", 2, 1)).value
        assert base.value != fingerprint_function(load("c", 3, 0)).value
        # __init__ made the instance's parts: a layer's width is the model's logic too
        assert base.value != fingerprint_function(load("d", 2, 0, width=4)).value


SETTINGS_CLASS = """
import dataclasses
import typing
from ato.scope import Scope
scope = Scope(name="d_{tag}")


@dataclasses.dataclass
class Settings:
    lr: float = {lr}
    depth: {depth_type} = 2


class Pair(typing.NamedTuple):
    a: int
    b: int = {b}


class Plain:
    scale = {scale}


@scope.trace(trace_id="step")
def step(x):
    return x * Settings().lr + Pair(1).b + Plain.scale
"""


def _settings_step(tmp_path: Path, tag: str, **edits: Any):
    values = {"lr": 0.1, "depth_type": "int", "b": 2, "scale": 3} | edits
    folder = tmp_path / tag
    folder.mkdir()
    source = SETTINGS_CLASS.format(tag=tag, **values)
    return _step_of(folder / "settings_train.py", "settings_train", source)


@pytest.mark.parametrize(
    ("edit", "changed"),
    [
        ({"lr": 0.5}, "settings_train.Settings"),
        ({"depth_type": "float"}, "settings_train.Settings"),
        ({"b": 3}, "settings_train.Pair"),
        ({"scale": 4}, "settings_train.Plain"),
    ],
)
def test_a_class_without_methods_counts_its_fields_defaults_and_data(tmp_path, edit, changed):
    before, same = _settings_step(tmp_path, "a"), _settings_step(tmp_path, "b")
    after = _settings_step(tmp_path, "c", **edit)
    assert (before.combined, before.callees) == (same.combined, same.callees)
    assert before.value == after.value and before.combined != after.combined
    differing = {k for k in before.callees.keys() | after.callees.keys()
                 if before.callees.get(k) != after.callees.get(k)}  # fmt: skip
    assert differing == {changed}

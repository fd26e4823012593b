"""Deep, cyclic and oversized input: every case loads, or raises an ato error that says
what and where; never a RecursionError or a bare ValueError."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ato.adict import ADict
from ato.errors import (
    AtoError,
    ConfigFileError,
    ConfigStructureError,
    UnrepresentableValueError,
)


def nested(depth: int, leaf: Any = 1) -> dict[str, Any]:
    root: dict[str, Any] = {}
    node = root
    for _ in range(depth):
        node["a"] = {}
        node = node["a"]
    node["leaf"] = leaf
    return root


def nested_list(depth: int) -> list[Any]:
    root: list[Any] = []
    node = root
    for _ in range(depth):
        node.append([])
        node = node[0]
    return root


def depth_of(value: Any) -> int:
    depth = 0
    while isinstance(value, (dict, list)) and value:
        value = (
            value["a"]
            if isinstance(value, dict) and "a" in value
            else next(iter(value.values()) if isinstance(value, dict) else iter(value))
        )
        depth += 1
    return depth


def cyclic_list() -> list[Any]:
    items: list[Any] = [1]
    items.append(items)
    return items


def cyclic_dict() -> dict[str, Any]:
    mapping: dict[str, Any] = {"x": 1}
    mapping["self"] = mapping
    return mapping


# -- in memory -------------------------------------------------------------------------

IN_MEMORY = [
    ("500-deep dict", lambda: ADict(nested(500)), None, 501),
    ("2000-deep dict", lambda: ADict(nested(2000)), None, 2001),
    ("2000-deep list", lambda: ADict(x=nested_list(2000)), None, 2001),
    ("2000-deep assigned", lambda: ADict().update(x=nested(2000)), None, 2002),
    ("2000-deep clone", lambda: ADict(nested(2000)).clone(), None, 2001),
    ("2000-deep to_dict", lambda: ADict(nested(2000)).to_dict(), None, 2001),
    ("2000-deep frozen", lambda: ADict(nested(2000)).freeze(), None, 2001),
    (
        "2000-deep recursive update",
        lambda: ADict(nested(2000)).update(nested(2000, leaf=2), recurrent=True),
        None,
        2001,
    ),
    (
        "2000-deep update_if_absent",
        lambda: ADict(nested(2000)).update_if_absent(nested(2000)),
        None,
        2001,
    ),
    ("cyclic list", lambda: ADict(x=cyclic_list()), ConfigStructureError, "x[1] contains itself"),
    ("cyclic dict", lambda: ADict(cfg=cyclic_dict()), ConfigStructureError, "cfg.self contains"),
    (
        "cyclic list assigned",
        lambda: setattr(ADict(), "layers", [0, cyclic_list()]),
        ConfigStructureError,
        "The list at layers[1][1] contains itself (a cycle)",
    ),
    ("cyclic dict pairs", lambda: ADict([("c", cyclic_dict())]), ConfigStructureError, "c.self"),
]


@pytest.mark.parametrize(
    ("name", "build", "error", "expected"), IN_MEMORY, ids=[row[0] for row in IN_MEMORY]
)
def test_deep_and_cyclic_values_in_memory(name, build, error, expected):
    if error is None:
        assert depth_of(build()) == expected
        return
    with pytest.raises(error) as raised:
        build()
    assert expected in str(raised.value)


def test_a_deep_config_still_has_a_structural_hash():
    assert ADict(nested(2000)).get_structural_hash() == ADict(nested(2000)).get_structural_hash()
    assert ADict(nested(2000)).get_structural_repr() == {".".join(["a"] * 2000) + ".leaf": "int"}


# -- files -----------------------------------------------------------------------------

FILES = [
    ("deep.json", json.dumps(nested(500)), None, 501),
    ("deep.yaml", "a: " + "{a: " * 499 + "{leaf: 1}" + "}" * 499 + "\n", None, 501),
    ("deep.toml", "[" + ".".join(["a"] * 500) + "]\nleaf = 1\n", None, 501),
    (
        "deep.xyz",
        "".join(f"{'  ' * level}a:\n" for level in range(500)) + "  " * 500 + "leaf: 1\n",
        None,
        501,
    ),
    ("deeper.json", '{"a": ' + "[" * 5000 + "]" * 5000 + "}", ConfigFileError, "nested too deep"),
    ("deeper.jsonl", '{"a": ' + "[" * 5000 + "]" * 5000 + "}", ConfigFileError, "deeper.jsonl:1:"),
    ("deeper.toml", "a = " + "[" * 5000 + "]" * 5000, ConfigFileError, "nested too deeply"),
    ("deeper.yaml", "a: " + "[" * 5000 + "]" * 5000, ConfigFileError, "nesting depth"),
    ("long.json", '{"n": ' + "1" * 5000 + "}", ConfigFileError, "long.json: invalid JSON: Exceeds"),
    ("long.yaml", "n: " + "1" * 5000 + "\n", ConfigFileError, "long.yaml: invalid YAML: Exceeds"),
    ("long.toml", "n = " + "1" * 5000 + "\n", ConfigFileError, "long.toml: invalid TOML: Exceeds"),
    ("long.xyz", "a: 1\nn: " + "1" * 5000 + "\n", ConfigFileError, "long.xyz:2: the integer 11"),
    ("index.xyz", "a:\n  0) x\n  99999999999) y\n", ConfigFileError, "index.xyz:3: list index"),
    ("gap.xyz", "a:\n  0) x\n  2000) y\n", ConfigFileError, "far beyond this list's items"),
]


@pytest.mark.parametrize(
    ("name", "content", "error", "expected"), FILES, ids=[row[0] for row in FILES]
)
def test_deep_and_oversized_files(tmp_path, name, content, error, expected):
    path = tmp_path / name
    path.write_text(content)
    if error is None:
        assert depth_of(ADict.from_file(path)) == expected
        return
    with pytest.raises(error) as raised:
        ADict.from_file(path)
    assert expected in str(raised.value)
    assert len(str(raised.value)) < 400


@pytest.mark.parametrize("extension", [".json", ".yaml", ".toml", ".xyz"])
def test_writing_a_too_deep_config_raises_naming_the_format(tmp_path, extension):
    config = ADict(nested(3000))
    with pytest.raises(UnrepresentableValueError, match="nested too deeply"):
        config.dump(tmp_path / f"c{extension}")
    assert not (tmp_path / f"c{extension}").exists()


@pytest.mark.parametrize("extension", [".json", ".yaml", ".toml", ".xyz"])
def test_a_200_deep_config_round_trips_through_every_format(tmp_path, extension):
    config = ADict(nested(200, leaf="x"))
    config.dump(tmp_path / f"c{extension}")
    assert ADict.from_file(tmp_path / f"c{extension}") == config


def test_errors_of_this_file_are_ato_errors():
    for _, _, error, _ in IN_MEMORY + FILES:
        assert error is None or issubclass(error, AtoError)

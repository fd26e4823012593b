"""XYZ: reading 2.x files, exact round trips, and errors with line numbers."""

from __future__ import annotations

import io
import json
import math

import pytest
from hypothesis import given

from ato import xyz
from ato.adict import ADict
from ato.errors import ConfigFileError, UnrepresentableValueError
from tests.conftest import DATA
from tests.strategies import configs, values

FOLDER = DATA / "adict" / "xyz_2_1_4"
MANIFEST = json.loads((FOLDER / "manifest.json").read_text())["files"]
# 2.x wrote these strings bare, so they read as what they look like (as they did in 2.x).
AMBIGUOUS_IN_2X = {"numeric_looking_strings.xyz", "empty_string.xyz"}


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_files_written_by_2_1_4_load(name):
    entry = MANIFEST[name]
    loaded = xyz.load(FOLDER / name)
    if name in AMBIGUOUS_IN_2X:
        assert loaded == entry["load_returned"]
    else:
        assert loaded == json.loads((FOLDER / entry["original"]).read_text())


def test_readme_layout():
    text = xyz.dumps(
        {"model": {"backbone": "resnet50", "layers": [64, 128]}, "lr": 0.001, "tags": []}
    )
    assert text == (
        "model:\n"
        "  backbone: resnet50\n"
        "  layers:\n"
        "    0) 64\n"
        "    1) 128\n"
        "lr: 0.001\n"
        "tags: [Empty Sequence]\n"
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("00123", '"00123"'),
        ("True", '"True"'),
        ("none", '"none"'),
        ("1e-3", '"1e-3"'),
        ("-5", '"-5"'),
        ("nan", '"nan"'),
        ("", '""'),
        (" padded", '" padded"'),
        ("two\nlines", '"two\\nlines"'),
        ('"quoted"', '"\\"quoted\\""'),
        ("[Empty Mapping]", '"[Empty Mapping]"'),
        ("http://host:8080/x", "http://host:8080/x"),
        ("resnet 50", "resnet 50"),
        ("1.2.3", "1.2.3"),
        (-5, "-5"),
        (1e-05, "1e-05"),
        (-0.0, "-0.0"),
        (float("inf"), "inf"),
        (None, "None"),
        (False, "False"),
    ],
)
def test_scalars_are_written_so_they_read_back_as_themselves(value, text):
    dumped = xyz.dumps({"k": value})
    assert dumped == f"k: {text}\n"
    assert xyz.loads(dumped) == {"k": value}
    assert type(xyz.loads(dumped)["k"]) is type(value)


def test_nan_round_trips():
    assert math.isnan(xyz.loads(xyz.dumps({"k": float("nan")}))["k"])


def test_keys_that_need_quotes():
    data = {"a:b": 1, "0) x": 2, "": 3, " pad": 4, '"q': 5, "None": 6, "7": 7}
    assert xyz.loads(xyz.dumps(data)) == data


def test_top_level_list_scalar_and_empty():
    assert xyz.loads(xyz.dumps([1, {"a": 2}])) == [1, {"a": 2}]
    assert xyz.loads(xyz.dumps("a: b")) == "a: b"
    assert xyz.loads(xyz.dumps({})) == {}
    assert xyz.loads(xyz.dumps([])) == []
    assert xyz.loads("") == {}


def test_tuples_are_written_as_lists():
    assert xyz.loads(xyz.dumps({"t": (1, (2, 3))})) == {"t": [1, [2, 3]]}


@given(configs())
def test_configs_round_trip_exactly(config):
    assert xyz.loads(xyz.dumps(config)) == config


@given(values())
def test_any_value_round_trips_exactly(value):
    assert xyz.loads(xyz.dumps(value)) == value


def test_to_xyz_and_file_helpers(tmp_path):
    config = ADict(a={"b": [1, 2]})
    assert config.to_xyz() == "a:\n  b:\n    0) 1\n    1) 2\n"
    xyz.dump(config, tmp_path / "c.xyz")
    assert xyz.load(tmp_path / "c.xyz") == config
    buffer = io.StringIO()
    xyz.dump(config, buffer)
    buffer.seek(0)
    assert xyz.load(buffer) == config


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a:\n    b: 1\n  c: 2\n", "c.xyz:3:1: indentation of 2 spaces matches no enclosing"),
        ("  a: 1\nb: 2\n", "c.xyz:2:1: indentation of 0 spaces matches no enclosing"),
        ("a: 1\n0) 2\n", "c.xyz:2:1: expected a 'key: value' line like the line 1 above"),
        ("a: 1\na: 2\n", "c.xyz:2:1: 'a' appears twice (first on line 1)"),
        ("a: 1\n  b: 2\n", "c.xyz:2:1: 'a' on line 1 already has a value"),
        ('"a: 1\n', "c.xyz:1:1: unreadable quoted key"),
        ('"a" 1\n', "expected ':' after a quoted key"),
        ("just a value\nanother\n", "a lone value must be the only line"),
    ],
)
def test_malformed_text_names_file_line_and_column(text, fragment):
    with pytest.raises(ConfigFileError) as raised:
        xyz.loads(text, source="c.xyz")
    assert fragment in str(raised.value)


def test_unrepresentable_value_names_its_key_path():
    with pytest.raises(UnrepresentableValueError, match=r"model\.layers\[1\]"):
        xyz.dumps({"model": {"layers": [1, object()]}})
    assert "object object" in xyz.dumps({"x": object()}, strict=False)


@pytest.mark.parametrize("text", ["a:b", "a:b\nc", "0) x", 'say "hi": now', "plain"])
def test_a_lone_string_round_trips_without_double_quoting(text):
    written = xyz.dumps(text)
    assert xyz.loads(written) == text
    assert not written.startswith('"\\"')


def test_format_dict_of_2x_changes_the_marks_for_display():
    text = ADict(a=1, b=[1, {"c": 2}]).to_xyz(format_dict={"key_prefix": "-", "index_postfix": "]"})
    assert text.splitlines() == [
        "key_prefix -> -",
        "index_postfix -> ]",
        "-a: 1",
        "-b:",
        "  0] 1",
        "  1]",
        "    -c: 2",
    ]
    with pytest.raises(ValueError, match="unknown entries"):
        xyz.dumps({"a": 1}, format_dict={"colour": "red"})

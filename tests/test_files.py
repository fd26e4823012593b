"""Config files: every format, round trips, errors that say where, atomic writes."""

from __future__ import annotations

import json
import math
import os
import stat

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from ato import files, yaml_files
from ato.adict import ADict
from ato.errors import ConfigFileError, UnrepresentableValueError, UnsupportedFormatError
from tests.strategies import configs, texts

WRITABLE = [".json", ".yaml", ".yml", ".toml", ".xyz"]


@pytest.fixture
def sample():
    return ADict(
        lr=0.001,
        epochs=100,
        name="resnet50",
        amp=True,
        model={"depth": 50, "layers": [64, 128], "head": {"dims": [2048, 1000]}},
        augment=[{"name": "flip", "p": 0.5}],
        notes="",
    )


@pytest.mark.parametrize("extension", WRITABLE)
def test_dump_and_from_file_round_trip(tmp_path, sample, extension):
    path = tmp_path / f"config{extension}"
    sample.dump(path)
    loaded = ADict.from_file(path)
    assert type(loaded) is ADict
    assert type(loaded.model.head) is ADict
    assert loaded == sample
    assert loaded.get_structural_hash() == sample.get_structural_hash()


def test_readme_format_agnostic_example(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"lr": 0.001, "batch_size": 32}))
    config = ADict.from_file("config.json")
    config.dump("config.yaml")
    assert ADict.from_file("config.yaml") == config
    config.update_if_absent(lr=0.01, scheduler="cosine")
    assert config == {"lr": 0.001, "batch_size": 32, "scheduler": "cosine"}


def test_load_replaces_contents_in_place(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("a: 1\nb: {c: 2}\n")
    config = ADict(old=1)
    same = config
    config.load(path)
    assert config is same
    assert config == {"a": 1, "b": {"c": 2}}
    assert type(config.b) is ADict


def test_failed_load_changes_nothing(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("a: 1\nb: [unclosed\n")
    config = ADict(old=1)
    with pytest.raises(ConfigFileError):
        config.load(path)
    assert config == {"old": 1}


def test_json_array_and_json_lines_give_lists(tmp_path):
    (tmp_path / "a.json").write_text('[{"a": 1}, {"a": 2}]')
    (tmp_path / "b.jsonl").write_text('{"a": 1}\n\n{"a": {"b": 2}}\n')
    (tmp_path / "c.jsonl").write_text('[{"a": 1}]')  # what ato 2.x read as .jsonl
    assert ADict.from_file(tmp_path / "a.json") == [{"a": 1}, {"a": 2}]
    loaded = ADict.from_file(tmp_path / "b.jsonl")
    assert loaded == [{"a": 1}, {"a": {"b": 2}}]
    assert type(loaded[1].a) is ADict
    assert ADict.from_file(tmp_path / "c.jsonl") == [{"a": 1}]


def test_a_python_config_that_does_not_parse_names_file_line_and_column(tmp_path):
    (tmp_path / "bad.py").write_text("lr = 0.1\nmodel = dict(depth=50\n")
    with pytest.raises(ConfigFileError) as error:
        ADict.from_file(tmp_path / "bad.py")
    said = str(error.value)
    assert said.startswith(f"{tmp_path / 'bad.py'}:2:") and "not valid Python" in said
    assert isinstance(error.value, ValueError)


def test_a_syntax_error_raised_by_code_a_python_config_runs_is_that_codes(tmp_path):
    (tmp_path / "runs.py").write_text("import ast\nlayers = ast.literal_eval('[1, 2,, 3]')\n")
    with pytest.raises(SyntaxError) as error:
        ADict.from_file(tmp_path / "runs.py")
    assert not isinstance(error.value, ConfigFileError)  # its traceback shows the line


def test_python_config_keeps_plain_module_level_names(tmp_path):
    (tmp_path / "cfg.py").write_text(
        "import os\n"
        "from math import sqrt\n"
        "def helper():\n    return 1\n"
        "lr = 0.1\n"
        "model = dict(depth=50, layers=[1, 2])\n"
        "scaled = sqrt(16)\n"
        "__hidden__ = 3\n"
    )
    config = ADict.from_file(tmp_path / "cfg.py")
    assert config == {"lr": 0.1, "model": {"depth": 50, "layers": [1, 2]}, "scaled": 4.0}
    assert not any(name.startswith("_ato_config_") for name in __import__("sys").modules)


def test_yaml_reads_exponent_floats_and_quotes_strings_that_look_like_them(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("lr: 1e-3\nwd: 5E+2\nname: 1e-3x\n")
    assert ADict.from_file(path) == {"lr": 0.001, "wd": 500.0, "name": "1e-3x"}
    ADict(text="1e-3", number=1e-3).dump(path)
    assert ADict.from_file(path) == {"text": "1e-3", "number": 1e-3}


def test_empty_yaml_file_is_an_empty_config(tmp_path):
    (tmp_path / "e.yaml").write_text("# nothing yet\n")
    assert ADict.from_file(tmp_path / "e.yaml") == {}


def test_dump_passes_options_to_the_writer(tmp_path, sample):
    sample.dump(tmp_path / "c.json", indent=None)
    assert "\n" not in (tmp_path / "c.json").read_text().strip()


def test_dump_creates_parent_folders(tmp_path, sample):
    sample.dump(tmp_path / "a" / "b" / "c.toml")
    assert ADict.from_file(tmp_path / "a" / "b" / "c.toml") == sample


def test_yaml_uses_the_c_loader_when_available():
    loader, dumper = yaml_files.yaml_classes()
    if yaml.__with_libyaml__:
        assert issubclass(loader, yaml.CSafeLoader)
        assert issubclass(dumper, yaml.CSafeDumper)
    assert issubclass(loader, yaml.SafeLoader) or issubclass(loader, yaml.CSafeLoader)


# -- errors ----------------------------------------------------------------------------

READ_ERRORS = [
    (
        "bad.json",
        '{"a": 1,\n "b": }',
        ConfigFileError,
        "bad.json:2:7: invalid JSON: Expecting value",
    ),
    (
        "bad.jsonl",
        '{"a": 1}\n{"a": }\n',
        ConfigFileError,
        "bad.jsonl:2:7: invalid JSON on this line",
    ),
    ("bad.yaml", "a: 1\nb: [1, 2\nc: 3\n", ConfigFileError, "bad.yaml:3:2: invalid YAML"),
    ("bad.yml", "a: b: c\n", ConfigFileError, "bad.yml:1:5: invalid YAML: mapping values"),
    (
        "evil.yaml",
        "x: !!python/object/apply:os.system ['echo pwned']\n",
        ConfigFileError,
        "evil.yaml:1:4: invalid YAML: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object/apply:os.system'. ato reads YAML with a safe loader",
    ),
    ("bad.toml", "a = 1\nb = \n", ConfigFileError, "bad.toml:2:5: invalid TOML: Invalid value"),
    (
        "bad.xyz",
        "a: 1\n  b: 2\n",
        ConfigFileError,
        "bad.xyz:2:1: 'a' on line 1 already has a value",
    ),
    ("scalar.yaml", "just text\n", ConfigFileError, "must hold a mapping (or a list of mappings)"),
    ("latin1.json", b'{"a": "\xe9"}', ConfigFileError, "latin1.json: not UTF-8 text"),
    (
        "config.ini",
        "[a]\n",
        UnsupportedFormatError,
        "cannot read a config file with extension '.ini'. Supported: .json, .jsonl, .py, .toml, "
        ".xyz, .yaml, .yml",
    ),
    ("noext", "{}", UnsupportedFormatError, "with no extension"),
    (
        "dup.json",
        '{"a": 1,\n "model": {"depth": 50,\n  "depth": 101}}',
        ConfigFileError,
        "dup.json:3: duplicate key 'depth' (first at line 2)",
    ),
    (
        "dup-escaped.json",
        '{"a\\"b": {"x": "\\"y\\": 1"}, "y": [{"y": 1}], "a\\"b": 2}',
        ConfigFileError,
        "dup-escaped.json:1: duplicate key 'a\"b' (first at line 1)",
    ),
    (
        "dup.jsonl",
        '{"a": 1}\n{"b": 1, "b": 2}\n',
        ConfigFileError,
        "dup.jsonl:2: duplicate key 'b'",
    ),
    ("dup-array.jsonl", '[{"a": 1, "a": 2}]', ConfigFileError, "duplicate key 'a'"),
    # A literal past a float's range is a typo, not infinity (written .inf / Infinity).
    ("huge.json", '{"a": 1,\n "lr": 1e999}', ConfigFileError, "huge.json:2: 1e999 is beyond"),
    ("huge.yaml", "a: 1\nlr: 1e999\n", ConfigFileError, "huge.yaml:2:5: 1e999 is beyond"),
    ("huge.toml", "a = 1\nlr = -2e400\n", ConfigFileError, "huge.toml:2: -2e400 is beyond"),
]


@pytest.mark.parametrize(
    ("name", "content", "error", "fragment"), READ_ERRORS, ids=[row[0] for row in READ_ERRORS]
)
def test_read_errors_say_what_and_where(tmp_path, name, content, error, fragment):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(error) as raised:
        ADict.from_file(path)
    assert fragment in str(raised.value)
    assert str(tmp_path) in str(raised.value)


def test_malformed_files_are_value_errors(tmp_path):
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError):
        ADict.from_file(tmp_path / "bad.json")


def test_missing_file_is_file_not_found_with_the_path(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(FileNotFoundError) as raised:
        ADict.from_file(path)
    assert raised.value.filename == str(path)
    assert str(path) in str(raised.value)


WRITE_ERRORS = [
    ("c.toml", ADict(model={"head": None}), "TOML cannot hold the NoneType value at model.head"),
    ("c.toml", ADict(a=[1, None]), "at a[1]"),
    ("c.json", ADict(a={"b": {1, 2}}), "JSON cannot hold the set value at a.b"),
    ("c.yaml", ADict(fn=print), "YAML cannot hold the builtin_function_or_method value at fn"),
    ("c.xyz", ADict(a={"b": object()}), "XYZ cannot hold object values, found at a.b"),
    ("c.json", ADict({(1, 2): 3}), "keys must be strings"),
]


@pytest.mark.parametrize(("name", "config", "fragment"), WRITE_ERRORS)
def test_unrepresentable_values_name_their_key_path(tmp_path, name, config, fragment):
    with pytest.raises(UnrepresentableValueError) as raised:
        config.dump(tmp_path / name)
    assert fragment in str(raised.value)
    assert not (tmp_path / name).exists()


def test_unknown_extension_for_writing_lists_writable_ones(tmp_path):
    with pytest.raises(
        UnsupportedFormatError, match=r"Supported: \.json, \.toml, \.xyz, \.yaml, \.yml"
    ):
        ADict(a=1).dump(tmp_path / "c.ini")
    with pytest.raises(UnsupportedFormatError, match="can be read but not written"):
        ADict(a=1).dump(tmp_path / "c.py")


def test_failed_dump_leaves_the_old_file_untouched(tmp_path):
    path = tmp_path / "c.toml"
    ADict(a=1).dump(path)
    before = path.read_bytes()
    with pytest.raises(UnrepresentableValueError):
        ADict(a=None).dump(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["c.toml"]


def test_interrupted_write_removes_its_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "c.json"
    ADict(a=1).dump(path)

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        ADict(a=2).dump(path)
    assert json.loads(path.read_text()) == {"a": 1}
    assert os.listdir(tmp_path) == ["c.json"]


def test_rewrite_keeps_file_mode(tmp_path):
    path = tmp_path / "c.yaml"
    ADict(a=1).dump(path)
    path.chmod(0o640)
    ADict(a=2).dump(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


# -- property-based round trips ---------------------------------------------------------

yaml_json_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), texts
)
toml_leaves = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    texts,
)


def _round_trip(tmp_path_factory, config, extension):
    path = tmp_path_factory.mktemp("rt") / f"c{extension}"
    ADict(config).dump(path)
    return files.read(path)


@given(configs(yaml_json_leaves))
def test_json_round_trip(tmp_path_factory, config):
    assert _round_trip(tmp_path_factory, config, ".json") == config


@given(configs(yaml_json_leaves))
def test_yaml_round_trip(tmp_path_factory, config):
    assert _round_trip(tmp_path_factory, config, ".yaml") == config


@given(configs(toml_leaves))
def test_toml_round_trip(tmp_path_factory, config):
    assert _round_trip(tmp_path_factory, config, ".toml") == config


@given(configs())
def test_xyz_round_trip(tmp_path_factory, config):
    assert _round_trip(tmp_path_factory, config, ".xyz") == config


@pytest.mark.parametrize("extension", [".json", ".yaml", ".toml", ".xyz"])
def test_nan_and_infinities_round_trip(tmp_path, extension):
    path = tmp_path / f"c{extension}"
    ADict(nan=float("nan"), inf=float("inf"), ninf=float("-inf")).dump(path)
    loaded = ADict.from_file(path)
    assert math.isnan(loaded.nan)
    assert loaded.inf == math.inf
    assert loaded.ninf == -math.inf


def test_yaml_refuses_a_key_written_twice_naming_both_lines(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text("a: 1\nmodel:\n  depth: 50\n  depth: 101\n")
    expected = r"dup\.yaml:4:3: .*duplicate key 'depth' \(first at line 3\)"
    with pytest.raises(ConfigFileError, match=expected):
        ADict.from_file(path)


def test_yaml_merge_keys_may_repeat_a_merged_key(tmp_path):
    path = tmp_path / "merge.yaml"
    path.write_text("base: &b\n  x: 1\n  y: 2\nd:\n  <<: *b\n  x: 3\n")
    assert ADict.from_file(path).d == {"x": 3, "y": 2}


def test_a_folder_named_like_a_config_file_is_a_config_file_error(tmp_path):
    folder = tmp_path / "real.yaml"
    folder.mkdir()
    with pytest.raises(ConfigFileError, match=r"real\.yaml: is a folder, not a file"):
        ADict.from_file(folder)


def test_an_unreadable_file_is_a_config_file_error(tmp_path, monkeypatch):
    path = tmp_path / "secret.yaml"
    path.write_text("a: 1\n")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("builtins.open", refuse)
    with pytest.raises(
        ConfigFileError, match=r"secret\.yaml: cannot be read \(Permission denied\)"
    ):
        ADict.from_file(path)


def test_a_yaml_alias_that_contains_itself_is_a_config_file_error_naming_the_file(tmp_path):
    path = tmp_path / "cycle.yaml"
    path.write_text("a: &x [1, *x]\n")
    with pytest.raises(ConfigFileError, match=r"cycle\.yaml: a YAML alias .* contains itself"):
        ADict.from_file(path)


def test_a_yaml_alias_bomb_is_refused_before_it_is_expanded(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")  # 10**10 values once expanded
    with pytest.raises(ConfigFileError, match=r"bomb\.yaml: YAML aliases expand .* values"):
        ADict.from_file(path)


def test_yaml_aliases_of_a_sensible_size_are_expanded(tmp_path):
    path = tmp_path / "shared.yaml"
    path.write_text("base: &b {lr: 0.1, depth: 50}\nsmall: *b\nlarge: {<<: *b, depth: 101}\n")
    config = ADict.from_file(path)
    assert config.small == {"lr": 0.1, "depth": 50} and config.large.depth == 101

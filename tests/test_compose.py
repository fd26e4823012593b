"""OpenMMLab-style inheritance and Hydra-style composition."""

from __future__ import annotations

import pytest

from ato.adict import ADict
from ato.errors import (
    ConfigFileError,
    ConfigFileNotFoundError,
    ConfigKeyError,
    ConfigStructureError,
    InheritanceCycleError,
)


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# -- OpenMMLab style ---------------------------------------------------------------------


def test_base_files_merge_in_order_then_the_file(tmp_path):
    write(
        tmp_path / "base" / "model.py",
        "model = dict(type='resnet', depth=50, norm=dict(type='BN'))\n",
    )
    write(tmp_path / "base" / "schedule.yaml", "lr: 0.1\nepochs: 100\nmodel: {pretrained: true}\n")
    write(
        tmp_path / "exp" / "main.py",
        "_base_ = ['../base/model.py', '../base/schedule.yaml']\n"
        "model = dict(depth=101)\n"
        "lr = 0.01\n",
    )
    config = ADict.from_mm_config(tmp_path / "exp" / "main.py")
    assert config == {
        "model": {"type": "resnet", "depth": 101, "norm": {"type": "BN"}, "pretrained": True},
        "lr": 0.01,
        "epochs": 100,
    }
    assert "_base_" not in config
    assert type(config.model.norm) is ADict


def test_base_chains_are_followed_recursively(tmp_path):
    write(tmp_path / "a.yaml", "x: 1\ny: {a: 1}\n")
    write(tmp_path / "sub" / "b.yaml", "_base_: ../a.yaml\ny: {b: 2}\n")
    write(tmp_path / "c.json", '{"_base_": "sub/b.yaml", "y": {"c": 3}}')
    assert ADict.from_mm_config(tmp_path / "c.json") == {"x": 1, "y": {"a": 1, "b": 2, "c": 3}}


def test_delete_replaces_instead_of_merging(tmp_path):
    write(tmp_path / "base.py", "optimizer = dict(type='SGD', lr=0.1, momentum=0.9)\n")
    write(
        tmp_path / "child.py",
        "_base_ = 'base.py'\noptimizer = dict(_delete_=True, type='Adam', lr=0.001)\n",
    )
    assert ADict.from_mm_config(tmp_path / "child.py") == {
        "optimizer": {"type": "Adam", "lr": 0.001}
    }


def test_a_cycle_of_base_files_is_named(tmp_path):
    write(tmp_path / "a.yaml", "_base_: b.yaml\nx: 1\n")
    write(tmp_path / "b.yaml", "_base_: a.yaml\ny: 1\n")
    with pytest.raises(InheritanceCycleError) as raised:
        ADict.from_mm_config(tmp_path / "a.yaml")
    message = str(raised.value)
    assert "a.yaml -> " in message and "b.yaml -> " in message
    assert message.count("a.yaml") >= 2


def test_bad_base_value_is_reported(tmp_path):
    write(tmp_path / "a.yaml", "_base_: 3\n")
    with pytest.raises(ValueError, match="_base_ must be a path or a list of paths"):
        ADict.from_mm_config(tmp_path / "a.yaml")


def test_load_mm_config_updates_in_place(tmp_path):
    write(tmp_path / "base.yaml", "a: 1\n")
    write(tmp_path / "c.yaml", "_base_: base.yaml\nb: 2\n")
    config = ADict(z=0)
    config.load_mm_config(tmp_path / "c.yaml")
    assert config == {"z": 0, "a": 1, "b": 2}


# -- Hydra style -------------------------------------------------------------------------


@pytest.fixture
def hierarchy(tmp_path):
    write(
        tmp_path / "config.yaml", "train: {lr: 0.01, epochs: 10}\nmodel: {name: base, depth: 18}\n"
    )
    write(tmp_path / "model" / "resnet.yaml", "model: {name: resnet, depth: 50}\n")
    write(tmp_path / "aug" / "flip.json", '{"aug": {"flip": true}}')
    write(tmp_path / "aug" / "crop.toml", "[aug]\ncrop = 224\n")
    return tmp_path


def test_compose_base_groups_and_overrides(hierarchy):
    config = ADict.compose_hierarchy(
        hierarchy,
        config_filename="config",
        select={"model": "resnet", "aug": ["flip", "crop"]},
        overrides={"train.lr": 0.1, "extra.deep.key": {"a": 1}},
        required=["train.lr", "model.depth"],
    )
    assert config == {
        "train": {"lr": 0.1, "epochs": 10},
        "model": {"name": "resnet", "depth": 50},
        "aug": {"flip": True, "crop": 224},
        "extra": {"deep": {"key": {"a": 1}}},
    }
    assert type(config.extra.deep.key) is ADict


def test_missing_option_error_warn_ignore(hierarchy):
    with pytest.raises(FileNotFoundError, match="option 'vit' of group 'model': no model/vit"):
        ADict.compose_hierarchy(hierarchy, select={"model": "vit"})
    with pytest.warns(UserWarning, match="model/vit"):
        config = ADict.compose_hierarchy(hierarchy, select={"model": "vit"}, on_missing="warn")
    assert config.model.name == "base"
    assert ADict.compose_hierarchy(hierarchy, select={"model": "vit"}, on_missing="ignore")


def test_missing_base_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="base config: no config"):
        ADict.compose_hierarchy(tmp_path)
    assert ADict.compose_hierarchy(tmp_path, on_missing="ignore") == {}


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        (
            {"required": ["train.momentum"]},
            ConfigKeyError,
            "Required key 'train.momentum' is missing",
        ),
        ({"on_missing": "skip"}, ValueError, "on_missing must be one of error, warn, ignore"),
        ({"overrides": {"train..lr": 1}}, ConfigKeyError, "has an empty part"),
        ({"overrides": {"train.lr.x": 1}}, ConfigStructureError, "'train.lr' holds 0.01"),
    ],
)
def test_compose_errors(hierarchy, kwargs, error, fragment):
    with pytest.raises(error) as raised:
        ADict.compose_hierarchy(hierarchy, **kwargs)
    assert fragment in str(raised.value)


def test_two_files_for_one_name_are_refused(hierarchy):
    write(hierarchy / "config.json", "{}")
    with pytest.raises(ValueError, match=r"config\.yaml and config\.json both exist"):
        ADict.compose_hierarchy(hierarchy)


def test_argument_errors_are_ato_errors():
    from ato.errors import AtoError, InvalidArgumentError

    with pytest.raises(InvalidArgumentError) as raised:
        ADict.compose_hierarchy(".", on_missing="skip")
    assert isinstance(raised.value, (AtoError, ValueError))


def test_a_missing_base_file_is_named_with_the_file_that_names_it(tmp_path):
    write(tmp_path / "sub" / "b.yaml", "_base_: ../gone.yaml\ny: 1\n")
    write(tmp_path / "c.json", '{"_base_": "sub/b.yaml"}')
    with pytest.raises(ConfigFileNotFoundError) as raised:
        ADict.from_mm_config(tmp_path / "c.json")
    message = str(raised.value)
    assert str(tmp_path / "sub" / "b.yaml") in message
    assert "_base_ entry '../gone.yaml'" in message and str(tmp_path / "gone.yaml") in message
    assert isinstance(raised.value, FileNotFoundError)
    assert raised.value.filename == str(tmp_path / "sub" / "b.yaml")


def test_a_chain_of_a_thousand_base_files_loads(tmp_path):
    write(tmp_path / "f0.yaml", "x0: 0\n")
    for index in range(1, 1000):
        write(tmp_path / f"f{index}.yaml", f"_base_: f{index - 1}.yaml\nx{index}: {index}\n")
    config = ADict.from_mm_config(tmp_path / "f999.yaml")
    assert len(config) == 1000 and config.x999 == 999 and config.x0 == 0


def test_a_long_cycle_of_base_files_is_named(tmp_path):
    for index in range(600):
        write(tmp_path / f"f{index}.yaml", f"_base_: f{(index + 1) % 600}.yaml\n")
    expected = r"f0\.yaml -> f1\.yaml -> .* \(590 more\) \.\.\. -> f599\.yaml -> f0\.yaml\. Remove"
    with pytest.raises(InheritanceCycleError, match=expected):
        ADict.from_mm_config(tmp_path / "f0.yaml")


def test_a_file_too_deep_to_merge_is_named(tmp_path):
    deep = "x: " + "{a: " * 900 + "1" + "}" * 900 + "\n"
    write(tmp_path / "base.yaml", deep)
    write(tmp_path / "c.yaml", "_base_: base.yaml\n" + deep)
    write(tmp_path / "config.yaml", deep)
    for load in (
        lambda: ADict.from_mm_config(tmp_path / "c.yaml"),
        lambda: ADict.compose_hierarchy(tmp_path),
    ):
        try:
            config = load()
        except ConfigFileError as error:
            assert "nested too deeply" in str(error) and str(tmp_path) in str(error)
        else:
            assert config.x.a.a.a

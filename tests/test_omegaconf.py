"""A Hydra/OmegaConf config handed to ato becomes a plain ADict of resolved values."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from ato.adict import ADict
from ato.errors import ConfigKeyError, ConfigStructureError


def test_dict_config_becomes_plain_adict_with_interpolations_resolved():
    cfg = OmegaConf.create(
        {"base_lr": 0.1, "train": {"lr": "${base_lr}", "layers": [1, {"w": 2}]}, "name": "x"}
    )
    config = ADict(cfg)
    assert config == {"base_lr": 0.1, "train": {"lr": 0.1, "layers": [1, {"w": 2}]}, "name": "x"}
    assert type(config.train) is ADict
    assert type(config.train.layers) is list
    assert type(config.train.layers[1]) is ADict
    assert (
        config.get_structural_hash()
        == ADict(OmegaConf.to_container(cfg, resolve=True)).get_structural_hash()
    )


def test_assigning_omegaconf_nodes_converts_them():
    cfg = OmegaConf.create({"a": {"b": [1, 2]}})
    config = ADict()
    config.section = cfg.a
    config.items_ = cfg.a.b
    assert type(config.section) is ADict
    assert config.items_ == [1, 2]
    assert type(config.items_) is list


OMEGACONF_ERRORS = [
    ({"model": {"depth": "???"}}, ConfigKeyError, "'model.depth' is mandatory"),
    ({"layers": [1, "???"]}, ConfigKeyError, "'layers[1]' is mandatory"),
    ({"lr": "${base_lr}"}, ConfigStructureError, "at 'lr': Interpolation key 'base_lr' not found"),
]


@pytest.mark.parametrize(("data", "error", "fragment"), OMEGACONF_ERRORS)
def test_unset_mandatory_values_and_broken_interpolations_name_their_key(data, error, fragment):
    cfg = OmegaConf.create(data)
    with pytest.raises(error) as raised:
        ADict(cfg)
    assert fragment in str(raised.value)


def test_a_mandatory_value_assigned_into_a_config_names_its_key():
    cfg = OmegaConf.create({"model": {"depth": "???"}})
    config = ADict()
    with pytest.raises(ConfigKeyError, match=r"'model\.depth' is mandatory"):
        config.model = cfg.model
    assert "model" not in config

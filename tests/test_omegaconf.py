"""A Hydra/OmegaConf config handed to ato becomes a plain ADict of resolved values."""

from __future__ import annotations

from omegaconf import OmegaConf

from ato.adict import ADict


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

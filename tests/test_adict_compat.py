"""Pickles written by ato 2.1.4 load as ADicts."""

from __future__ import annotations

import json
import pickle

import pytest

from ato.adict import ADict
from ato.errors import FrozenConfigError
from tests.conftest import DATA

FOLDER = DATA / "adict" / "pickles_2_1_4"
MANIFEST = json.loads((FOLDER / "manifest.json").read_text())["files"]


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_pickle_from_2_1_4_loads(name):
    expected = MANIFEST[name]
    config = pickle.loads((FOLDER / name).read_bytes())
    assert type(config) is ADict
    assert config.to_dict() == expected["to_dict"]
    assert config.frozen == expected["frozen"]
    assert sorted(config.accessed_keys) == expected["accessed_keys"]
    for value in config.values():
        if isinstance(value, dict):
            assert type(value) is ADict
    if expected["frozen"]:
        with pytest.raises(FrozenConfigError):
            config.anything = 1


def test_pickle_from_2_1_4_keeps_its_default():
    config = pickle.loads((FOLDER / "default_value_p4.pkl").read_bytes())
    assert config.never_set == 0

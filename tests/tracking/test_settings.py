"""ato.tracking.settings: what the tracker reads from a config, and what it says when a
key is missing."""

from __future__ import annotations

import pytest

from ato.adict import ADict
from ato.db_routers.sql.manager import SQLLogger
from ato.errors import TrackerConfigError, TrackerError
from ato.tracking.settings import setting, tracker_settings


@pytest.mark.parametrize(
    ("config", "missing"),
    [
        (ADict(lr=0.1), "config.experiment is missing"),
        (ADict(experiment=ADict(project_name="p")), "config.experiment.sql is missing"),
        (ADict(experiment=ADict(sql=ADict(db_path="sqlite://"))), "project_name is missing"),
    ],
)
def test_a_config_without_the_tracker_keys_names_the_key_and_the_layout(config, missing):
    with pytest.raises(TrackerConfigError, match=missing) as raised:
        SQLLogger(config)
    assert "config.experiment.sql.db_path = 'sqlite:///experiments.db'" in str(raised.value)
    assert isinstance(raised.value, KeyError) and isinstance(raised.value, TrackerError)


def test_the_settings_are_read_from_config_experiment():
    config = ADict(experiment=ADict(project_name="vision", sql=ADict(db_path="sqlite:///x.db")))
    assert tracker_settings(config) == ("vision", "sqlite:///x.db")
    assert setting(config, "experiment.sql.db_path") == "sqlite:///x.db"


@pytest.mark.parametrize("project", ["", None, 3])
def test_a_project_name_must_be_a_non_empty_string(project):
    config = ADict(experiment=ADict(project_name=project, sql=ADict(db_path="sqlite:///x.db")))
    with pytest.raises(TrackerConfigError, match="non-empty string"):
        tracker_settings(config)

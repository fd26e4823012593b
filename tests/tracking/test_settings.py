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


def test_a_database_error_names_how_the_url_was_given(tmp_path):
    """The config key for SQLLogger(config), the argument for SQLLogger.open and
    SQLFinder(url): the user is told which of their settings to change."""
    from ato.tracking import SQLFinder
    from ato.tracking.migrations import migrate_database
    from ato.tracking.settings import Origin, database_origin

    missing = f"sqlite:///{tmp_path / 'no' / 'x.db'}"
    config = ADict(experiment=ADict(project_name="p", sql=ADict(db_path=missing)))
    with pytest.raises(TrackerError, match=r"from experiment\.sql\.db_path='sqlite:///"):
        SQLLogger(config)
    with pytest.raises(TrackerError, match=r"from url='sqlite:///.*' \(of SQLLogger\.open\)"):
        SQLLogger.open(missing, "p")
    with pytest.raises(TrackerError, match=r"url='mysqll://h/d' \(of SQLLogger\.open\) has"):
        SQLLogger.open("mysqll://h/d", "p")
    with pytest.raises(TrackerError, match=r"from url='sqlite:///.*' \(of SQLFinder\)"):
        SQLFinder(missing)
    with pytest.raises(TrackerError, match=r"from experiment\.sql\.db_path="):
        SQLFinder(config)
    db = database_origin("runs.db")
    assert db.given("sqlite:///runs.db") == "--db='runs.db'"  # as typed
    assert db.instead() == "give --db another path"
    assert (
        Origin("--db={}", "").given("postgresql://u:secret@h/d") == "--db='postgresql://u:***@h/d'"
    )
    with pytest.raises(TrackerError, match=r"from url='sqlite:///.*' \(of migrate_database\)"):
        migrate_database(missing)

"""ato.tracking.merge on both backends: SQLite into PostgreSQL and back, idempotent."""

from __future__ import annotations

from ato.tracking import SQLFinder
from ato.tracking.merge import merge_databases
from tests.commands.helpers import log_runs


def _summary(url):
    with SQLFinder(url) as finder:
        return sorted(
            (run.uuid, run.config.lr, run.summary["acc"].count, run.summary["acc"].max)
            for run in finder.get_runs_in_project("vision")
        )


def test_merge_into_either_backend_and_back(db_url, tmp_path):
    source = f"sqlite:///{tmp_path / 'job.db'}"
    log_runs(source)
    first = merge_databases(db_url, [source])
    assert first.copied == {source: 4} and first.metrics == 3 * 10 + 1
    assert _summary(db_url) == _summary(source)
    assert merge_databases(db_url, [source]).copied == {source: 0}  # idempotent
    back = f"sqlite:///{tmp_path / 'back.db'}"
    merge_databases(back, [db_url])
    assert _summary(back) == _summary(source)
    with SQLFinder(back) as finder:
        run = finder.get_runs_in_project("vision")[0]
        assert run.provenance["model"] == ["defaults"]
        assert run.provenance["lr"][0].startswith("code at helpers.py:")
        assert [p.step for p in run.metric("acc")] == [0, 1, 2, 3, 4]

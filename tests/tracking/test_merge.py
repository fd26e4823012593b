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


def test_searches_come_with_their_runs_and_resume_in_the_target(db_url, tmp_path, monkeypatch):
    """Two nodes each ran a search to their own SQLite file; merged, the target holds
    both searches, each trial pointing at its run there, and a search started again
    against the target resumes instead of running again."""
    import sys

    from ato.hyperopt.hyperband import HyperBand
    from tests.tracking.test_searches import SPACES, _scope, loss

    monkeypatch.setattr(sys, "argv", ["train.py"])
    calls = []

    def trial(config):
        calls.append(1)
        return loss(config) if config.model != "vit" else 5.0

    def search(url, project):
        hyperband = HyperBand(_scope(project, url), SPACES, 0.5, 2, tracker=url, mode="min")
        return hyperband.main(trial)()

    sources = [f"sqlite:///{tmp_path / name}.db" for name in ("node0", "node1")]
    results = [search(sources[0], "vision"), search(sources[1], "audio")]
    merge_databases(db_url, sources)
    merge_databases(db_url, sources)  # idempotent for searches too
    with SQLFinder(db_url) as finder:
        found = finder.searches()
        assert sorted(s["id"] for s in found) == sorted(r.search_id for r in results)
        by_project = sorted(found, key=lambda s: s["project"])  # audio, vision
        for summary, result in zip(by_project, results[::-1], strict=True):
            assert summary["status"] == "completed" and summary["trials_done"] == 22
            assert summary["best_metric"] == result.metric
            best = finder.find_run(summary["best_run_id"])  # remapped to the target's run
            assert best.project_name == summary["project"]
            assert best.config.lr == result.config.lr and best.config.model == "resnet101"
            trials = finder.search(summary["id"])["trials"]
            assert len(trials) == 22 and all(t["run_id"] is not None for t in trials)
    calls.clear()
    again = search(db_url, "vision")
    assert calls == [] and again.metric == results[0].metric  # resumed from merged state


def test_a_search_killed_on_one_node_and_finished_on_another_merges_as_finished(
    db_url, tmp_path, monkeypatch
):
    from sqlalchemy import create_engine, text

    node, done = _searched_on_a_node(tmp_path, monkeypatch)
    engine = create_engine(db_url)
    merge_databases(db_url, [node])
    with engine.begin() as connection:  # the target's copy: killed half way
        connection.execute(text("UPDATE hpo_searches SET status = 'killed', result = NULL"))
        connection.execute(text("DELETE FROM hpo_trials WHERE rung >= 2"))
    engine.dispose()
    merge_databases(db_url, [node])
    with SQLFinder(db_url) as finder:
        found = finder.search(done.search_id)
    assert found["status"] == "completed" and found["result"]["metric"] == done.metric
    assert found["trials_done"] == 22


def test_a_trial_completed_in_a_source_replaces_the_same_trial_failed_in_the_target(
    db_url, tmp_path, monkeypatch
):
    from sqlalchemy import create_engine, text

    node, done = _searched_on_a_node(tmp_path, monkeypatch)
    merge_databases(db_url, [node])
    engine = create_engine(db_url)
    with engine.begin() as connection:  # in the target, that trial had failed
        connection.execute(
            text("UPDATE hpo_trials SET status = 'failed', metric = NULL WHERE rung = 3")
        )
    merge_databases(db_url, [node])
    with engine.connect() as connection:
        status, metric = connection.execute(
            text("SELECT status, metric FROM hpo_trials WHERE rung = 3")
        ).one()
    engine.dispose()
    assert status == "completed" and metric == done.metric


def _searched_on_a_node(tmp_path, monkeypatch):
    """A finished search in a node's own SQLite file: its URL and the search's result."""
    import sys

    from ato.hyperopt.hyperband import HyperBand
    from tests.tracking.test_searches import SPACES, _scope

    monkeypatch.setattr(sys, "argv", ["train.py"])
    node = f"sqlite:///{tmp_path / 'node.db'}"
    done = HyperBand(_scope("vision", node), SPACES, 0.5, 2, tracker=node).main(
        lambda config: config.lr
    )()
    return node, done


def test_a_missing_source_is_refused_before_the_target_is_created(tmp_path):
    import pytest

    from ato.errors import TrackerDatabaseError

    target = tmp_path / "new.db"
    with pytest.raises(TrackerDatabaseError):
        merge_databases(f"sqlite:///{target}", [f"sqlite:///{tmp_path / 'no_such.db'}"])
    assert not target.exists()


def test_a_search_completed_in_a_source_brings_its_own_trials_over_a_partial_one(
    db_url, tmp_path, monkeypatch
):
    from sqlalchemy import create_engine, text

    node, done = _searched_on_a_node(tmp_path, monkeypatch)
    merge_databases(db_url, [node])
    engine = create_engine(db_url)
    with engine.begin() as connection:  # another job's partial run, of a noisy metric
        connection.execute(text("UPDATE hpo_searches SET status = 'killed', result = NULL"))
        connection.execute(text("DELETE FROM hpo_trials WHERE rung >= 1"))
        connection.execute(text("UPDATE hpo_trials SET metric = metric + 1"))
    merge_databases(db_url, [node])
    with engine.connect() as connection:
        merged = connection.execute(text("SELECT rung, metric FROM hpo_trials ORDER BY id")).all()
    engine.dispose()
    source = create_engine(node)
    with source.connect() as connection:
        theirs = connection.execute(text("SELECT rung, metric FROM hpo_trials ORDER BY id")).all()
    source.dispose()
    assert sorted(merged) == sorted(theirs) and len(merged) == 22
    with SQLFinder(db_url) as finder:
        assert finder.search(done.search_id)["status"] == "completed"

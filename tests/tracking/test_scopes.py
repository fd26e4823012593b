"""ato.tracking.scopes: the scope whose provenance and fingerprints a run records."""

from __future__ import annotations

from ato.adict import ADict
from ato.scope import Scope
from ato.tracking import SQLFinder, SQLLogger
from tests.tracking.helpers import make_config


def traced_scope(name, url, lr):
    scope = Scope(name=name)

    @scope.observe(default=True)
    def defaults(config):
        config.lr = lr
        config.experiment = ADict(project_name="vision", sql=ADict(db_path=url))

    @scope.trace(trace_id=f"{name}_step")
    def step(x):
        return x + lr

    scope.apply()
    return scope


def stored(url, run_id):
    run = SQLFinder(make_config(url)).find_run(run_id)
    static = sorted(f.trace_id for f in run.fingerprints if f.trace_type == "static")
    return run.provenance, static


def test_the_scope_that_assembled_the_config_is_found(sqlite_url):
    train = traced_scope("train", sqlite_url, 0.1)
    traced_scope("evaluate", sqlite_url, 0.5)
    with SQLLogger(train.config).run() as run_id:
        pass
    provenance, static = stored(sqlite_url, run_id)
    assert "defaults" in provenance["lr"][0] and static == ["train_step"]


def test_a_config_no_scope_assembled_records_no_provenance_of_another(sqlite_url):
    # A clone is no scope's config: the provenance of a scope describes that scope's
    # config, which may differ (here the clone was edited), so none is recorded.
    train = traced_scope("train", sqlite_url, 0.1)
    traced_scope("evaluate", sqlite_url, 0.5)
    clone = train.config.clone()
    clone.lr = 0.3
    with SQLLogger(clone).run() as run_id:
        pass
    provenance, static = stored(sqlite_url, run_id)
    assert provenance is None
    assert static == ["evaluate_step", "train_step"]  # the program's code, as before


def test_a_scope_given_explicitly_is_the_one_recorded(sqlite_url):
    train = traced_scope("train", sqlite_url, 0.1)
    traced_scope("evaluate", sqlite_url, 0.5)
    with SQLLogger(train.config.clone(), scope=train).run() as run_id:
        pass
    provenance, static = stored(sqlite_url, run_id)
    assert "defaults" in provenance["lr"][0] and static == ["train_step"]


def test_a_program_without_scopes_records_none(sqlite_url):
    with SQLLogger(make_config(sqlite_url)).run() as run_id:
        pass
    assert stored(sqlite_url, run_id) == (None, [])

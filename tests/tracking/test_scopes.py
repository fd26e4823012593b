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


def test_a_run_stores_provenance_and_fingerprints_of_its_scope(db_url):
    scope = Scope()

    @scope.observe(default=True)
    def defaults(config):
        config.lr = 0.1
        config.experiment = ADict(project_name="vision", sql=ADict(db_path=db_url))

    @scope.observe()
    def high_lr(config):
        config.lr = 1.0

    def helper(x):
        return x * 2

    @scope.trace(trace_id="train_step")
    def train_step(x):
        return helper(x) + 1

    @scope.runtime_trace(trace_id="evaluate")
    def evaluate(x):
        return [x, x + 1]

    scope.assign("high_lr")
    config = scope.apply()
    logger = SQLLogger(config)
    with logger.run() as run_id:
        evaluate(1)
        evaluate(2)
    run = SQLFinder(config).find_run(run_id)
    assert run.provenance["lr"][0].startswith("high_lr")
    assert "defaults" in run.provenance["lr"][1]
    static = [f for f in run.fingerprints if f.trace_type == "static"]
    # a runtime-traced function's code is fingerprinted too
    assert sorted((f.trace_id, f.fingerprint) for f in static) == [
        ("evaluate", scope.tracer.static_fingerprint("evaluate").value),
        ("train_step", scope.fingerprints["train_step"].value),
    ]
    runtime = [
        (f.trace_id, f.call_index, f.fingerprint)
        for f in run.fingerprints
        if f.call_index is not None
    ]
    assert runtime == [("evaluate", call.index, call.fingerprint) for call in scope.runtime_calls]
    assert len(runtime) == 2 and runtime[0][2] != runtime[1][2]


def test_a_second_run_stores_only_its_own_runtime_calls(sqlite_url):
    from ato.scope import Scope

    scope = Scope()

    @scope.observe(default=True)
    def defaults(config):
        config.experiment = make_config(sqlite_url).experiment

    @scope.runtime_trace(trace_id="evaluate")
    def evaluate(x):
        return x * 2

    logger = SQLLogger(scope.apply())
    evaluate(0)  # before the first run: part of none
    first = logger.run()
    evaluate(1)
    logger.finish()
    second = logger.run()
    evaluate(2)
    logger.finish()
    finder = SQLFinder(make_config(sqlite_url))

    def runtime(run_id):
        return [
            f.call_index for f in finder.find_run(run_id).fingerprints if f.trace_type == "runtime"
        ]

    # Exactly the calls made while each run was open, numbered from 0 within the run.
    assert runtime(first) == [0]
    assert runtime(second) == [0]

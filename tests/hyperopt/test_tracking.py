"""Each trial tracked as a run; the search's state stored; a killed search resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from ato.adict import ADict
from ato.errors import AtoWarning
from ato.hyperopt.hyperband import HyperBand
from ato.hyperopt.storage import searches, trials
from ato.tracking import SQLFinder, SQLLogger
from tests.hyperopt.test_hyperband import lr_score

SCRIPT = Path(__file__).with_name("search_script.py")
ROOT = Path(__file__).resolve().parents[2]


def tracked_scope(scope, url):
    @scope.observe(default=True, priority=-1)
    def experiment(config):
        config.experiment = ADict(project_name="search", sql=ADict(db_path=url))

    return scope


def test_every_trial_is_a_run_with_tags_metric_provenance_and_fingerprints(scope, spaces, tmp_path):
    url = f"sqlite:///{tmp_path}/runs.db"
    tracked_scope(scope, url)
    logger = SQLLogger(ADict(experiment=ADict(project_name="search", sql=ADict(db_path=url))))
    hyperband = HyperBand(scope, spaces, 0.5, 2, tracker=logger)

    @hyperband.main
    @scope.trace("train")
    def train(config):
        return lr_score(config)

    result = train()
    finder = SQLFinder(ADict(experiment=ADict(sql=ADict(db_path=url))))
    runs = finder.get_runs_in_project("search")
    assert len(runs) == 12 + 6 + 3 + 1
    for run in runs:
        assert run.status == "completed"
        assert f"search:{result.search_id}" in run.tags
        assert any(tag.startswith("rung:") for tag in run.tags) and "bracket:0" in run.tags
        assert run.provenance["lr"][0].startswith("search (rung ")
        assert run.provenance["__num_halved__"][0].startswith("search bookkeeping")
        assert run.provenance["__search_id__"][0].startswith("search bookkeeping")
        assert run.config.__search_id__ == result.search_id
        assert "train" in run.static_fingerprints()
        assert [p.value for p in run.metric("metric")] == [pytest.approx(lr_score(run.config))]
    best = finder.find_best_run("search", "metric", mode="max")
    assert best.config.lr == pytest.approx(result.config.lr)


def test_failed_trial_is_a_failed_run_with_its_traceback(scope, spaces, tmp_path):
    url = f"sqlite:///{tmp_path}/runs.db"
    hyperband = HyperBand(scope, spaces, 0.5, 2, tracker=url)

    @hyperband.main
    def train(config):
        if config.model == "vit":
            raise RuntimeError("diverged")
        return lr_score(config)

    train()
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(select(trials.c.status, trials.c.error, trials.c.metric)).all()
        statuses = connection.execute(text("SELECT status, error FROM experiments")).all()
    failed = [row for row in rows if row.status == "failed"]
    assert len(failed) == 4 and all(
        "diverged" in row.error and row.metric is None for row in failed
    )
    assert sum(1 for status, error in statuses if status == "failed" and "diverged" in error) == 4


def test_a_search_run_again_resumes_without_running_finished_trials(scope, spaces, tmp_path):
    url = f"sqlite:///{tmp_path}/runs.db"
    calls = []

    def search():
        hyperband = HyperBand(scope, spaces, 0.5, 2, tracker=url)
        return hyperband.main(lambda config: calls.append(1) or lr_score(config))()

    first = search()
    ran = len(calls)
    second = search()
    assert len(calls) == ran  # nothing ran again
    assert second.config == first.config and second.metric == first.metric
    assert [len(rung) for rung in second.logs] == [len(rung) for rung in first.logs]


def trial_a(config):
    return lr_score(config)


def trial_cosmetic(config):
    # the same logic as trial_a, written otherwise
    return lr_score( config )  # fmt: skip


def trial_edited(config):
    return lr_score(config) + 1


def _searches(url):
    with create_engine(url).connect() as connection:
        return connection.execute(select(searches.c.id)).scalars().all()


def test_a_changed_default_makes_another_search_not_a_resume(scope, spaces, tmp_path):
    length = [10]

    @scope.observe(default=True)
    def epochs(config):
        config.epochs = length[0]  # as if the view (or a config file it reads) were edited

    url = f"sqlite:///{tmp_path}/runs.db"
    first = HyperBand(scope, spaces, 0.5, 2, tracker=url).main(trial_a)()
    length[0] = 20  # the trials now train otherwise: the stored metrics do not count
    seen = []
    second = HyperBand(scope, spaces, 0.5, 2, tracker=url).main(
        lambda config: seen.append(config.epochs) or lr_score(config)
    )()
    assert second.search_id != first.search_id and len(_searches(url)) == 2
    assert len(seen) == 12 + 6 + 3 + 1 and set(seen) == {20}


def test_an_edited_trial_function_makes_another_search_a_cosmetic_edit_does_not(
    scope, spaces, tmp_path
):
    url = f"sqlite:///{tmp_path}/runs.db"
    ids = [
        HyperBand(scope, spaces, 0.5, 2, tracker=url).main(trial)().search_id
        for trial in (trial_a, trial_cosmetic, trial_edited)
    ]
    assert ids[0] == ids[1] != ids[2]
    assert len(_searches(url)) == 2


def test_tracker_settings_and_volatile_keys_do_not_make_another_search(scope, spaces, tmp_path):
    stamps = iter(range(100))

    @scope.observe(default=True)
    def output(config):
        config.out_dir = f"runs/{next(stamps)}"  # differs at every start: marked volatile
        config.experiment = ADict(volatile=["out_dir", f"scratch_{next(stamps)}"])

    url = f"sqlite:///{tmp_path}/runs.db"
    calls = []
    results = [
        HyperBand(scope, spaces, 0.5, 2, tracker=url).main(
            lambda config: calls.append(1) or lr_score(config)
        )()
        for _ in range(2)
    ]
    assert results[0].search_id == results[1].search_id
    assert len(calls) == 12 + 6 + 3 + 1  # the second start ran nothing again


def test_a_program_key_under_experiment_makes_another_search(scope, spaces, tmp_path):
    seed = [0]

    @scope.observe(default=True)
    def seeded(config):
        config.experiment = ADict(seed=seed[0])  # the program's own: results follow it

    url = f"sqlite:///{tmp_path}/runs.db"
    ids = []
    for start in range(2):
        seed[0] = start
        ids.append(HyperBand(scope, spaces, 0.5, 2, tracker=url).main(lr_score)().search_id)
    assert ids[0] != ids[1]


def test_the_same_search_in_another_project_is_another_search(scope, spaces, tmp_path):
    url = f"sqlite:///{tmp_path}/runs.db"
    calls = []
    ids = []
    for project in ("vision", "audio"):
        logger = SQLLogger.open(url, project)
        hyperband = HyperBand(scope, spaces, 0.5, 2, tracker=logger)
        ids.append(hyperband.main(lambda config: calls.append(1) or lr_score(config))().search_id)
    assert ids[0] != ids[1] and len(calls) == 2 * (12 + 6 + 3 + 1)  # its runs are its own
    with SQLFinder(url) as finder:
        assert sorted(s["project"] for s in finder.searches()) == ["audio", "vision"]


def test_budgets_for_another_max_steps_make_another_search(scope, spaces, tmp_path):
    url = f"sqlite:///{tmp_path}/runs.db"
    results = []
    for max_steps in (100, 200, 200):  # the README's pattern: budgets read by the trial
        hyperband = HyperBand(scope, spaces, 0.5, 2, tracker=url)
        budgets = hyperband.compute_optimized_initial_training_steps(max_steps)
        results.append(hyperband.main(lambda config, b=budgets: b[config.__num_halved__])())
    assert [r.metric for r in results] == [100, 200, 200]
    assert results[0].search_id != results[1].search_id == results[2].search_id


def test_a_search_with_an_unprintable_value_in_its_config_runs_and_resumes(scope, spaces, tmp_path):
    class Connection:
        def __repr__(self):
            raise RuntimeError("closed")

    @scope.observe(default=True)
    def database(config):
        config.connection = Connection()

    untracked = HyperBand(scope, spaces, 0.5, 2).main(lr_score)()
    url = f"sqlite:///{tmp_path}/runs.db"
    ids = {HyperBand(scope, spaces, 0.5, 2, tracker=url).main(lr_score)().search_id for _ in "ab"}
    assert untracked.config.model == "resnet101" and len(ids) == 1


def test_a_changed_default_of_a_searched_key_resumes(scope, spaces, tmp_path):
    start = [0.001]  # the scope's lazy view derives warmup from lr: it counts no more

    @scope.observe(default=True)
    def learning_rate(config):
        config.lr = start[0]  # every trial replaces it with a searched value
        config.model = "resnet50"

    url = f"sqlite:///{tmp_path}/runs.db"
    calls = []

    def trial(config):
        calls.append(1)
        return lr_score(config)

    first = HyperBand(scope, spaces, 0.5, 2, tracker=url).main(trial)()
    start[0] = 0.002
    ran = len(calls)
    second = HyperBand(scope, spaces, 0.5, 2, tracker=url).main(trial)()
    assert second.search_id == first.search_id and len(calls) == ran


def test_other_arguments_make_another_search(scope, spaces, tmp_path):
    url = f"sqlite:///{tmp_path}/runs.db"
    ids = set()
    for rate in (0.5, 0.4):
        hyperband = HyperBand(scope, spaces, rate, 2, tracker=url)
        ids.add(hyperband.main(lr_score)().search_id)
    assert len(ids) == 2
    with create_engine(url).connect() as connection:
        assert connection.execute(select(searches.c.status)).scalars().all() == ["completed"] * 2


def test_the_search_tables_come_with_the_trackers_migrations(tmp_path):
    from ato.tracking.database import open_engine
    from ato.tracking.migrations import migrate

    url = f"sqlite:///{tmp_path}/x.db"
    for _ in range(2):  # idempotent
        engine = open_engine(url, writer=True)
        migrate(engine, url)
        engine.dispose()
    with create_engine(url).connect() as connection:
        names = {row[0] for row in connection.execute(text("SELECT name FROM sqlite_master"))}
    assert {"hpo_searches", "hpo_trials"} <= names


def _run_script(env: dict[str, str], **popen: object) -> subprocess.Popen[str]:
    full = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}", **env}
    return subprocess.Popen(
        [sys.executable, str(SCRIPT)],
        env=full,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **popen,
    )


def _result(process: subprocess.Popen[str]) -> dict[str, object]:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def test_the_same_search_started_while_it_runs_elsewhere_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path}/twice.db"
    marks = tmp_path / "marks.txt"
    env = {"ATO_TEST_DB": url, "ATO_TEST_MARKS": str(marks), "ATO_TEST_SLEEP": "0.2"}
    first = _run_script(env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (
        marks.exists() and len(marks.read_text().splitlines()) >= 2
    ):
        time.sleep(0.05)
    second = _run_script(env)
    _, err = second.communicate(timeout=300)
    assert second.returncode != 0
    assert "SearchRunningError" in err and f"in process {first.pid} on" in err
    _result(first)
    with create_engine(url).connect() as connection:
        assert connection.execute(select(func.count()).select_from(trials)).scalar() == 22
    assert len(marks.read_text().splitlines()) == 22  # the second ran no trial
    resumed = _run_script(env)  # after it ended: resumes, nothing left to run
    _result(resumed)
    assert len(marks.read_text().splitlines()) == 22


def test_the_same_search_started_by_two_processes_at_one_instant_runs_once(tmp_path):
    for pair in range(3):  # the claim raced in about 1 pair of 15 when judged apart
        url = f"sqlite:///{tmp_path}/pair{pair}.db"
        marks = tmp_path / f"marks{pair}.txt"
        start = str(time.time() + 2.5)  # both past their imports by then
        env = {"ATO_TEST_DB": url, "ATO_TEST_MARKS": str(marks), "ATO_TEST_SLEEP": "0.02",
               "ATO_TEST_START_AT": start}  # fmt: skip
        both = [_run_script(env), _run_script(env)]
        errors = [process.communicate(timeout=300)[1] for process in both]
        codes = sorted(process.returncode for process in both)
        assert codes[0] == 0 and codes[1] != 0, errors
        assert any("SearchRunningError" in error for error in errors), errors
        assert len(marks.read_text().splitlines()) == 22  # each trial ran once
        with create_engine(url).connect() as connection:
            stored = connection.execute(select(func.count()).select_from(trials)).scalar()
            runs = connection.execute(text("SELECT count(*) FROM experiments")).scalar()
        assert stored == runs == 22


def test_a_search_killed_with_sigkill_resumes_and_ends_as_an_uninterrupted_one(tmp_path):
    url = f"sqlite:///{tmp_path}/killed.db"
    marks = tmp_path / "marks.txt"
    process = _run_script(
        {"ATO_TEST_DB": url, "ATO_TEST_MARKS": str(marks), "ATO_TEST_SLEEP": "0.3"}
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if marks.exists() and len(marks.read_text().splitlines()) >= 9:
            break
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate()
    with create_engine(url).connect() as connection:
        finished = connection.execute(select(trials.c.rung, trials.c.params)).all()
    assert 5 <= len(finished) < 22
    with SQLFinder(url) as finder:  # nothing of it runs any more, and ato says so
        assert finder.searches()[0]["status"] == "interrupted"
    before = len(marks.read_text().splitlines())
    resumed = _result(_run_script({"ATO_TEST_DB": url, "ATO_TEST_MARKS": str(marks)}))
    with SQLFinder(url) as finder:
        assert finder.searches()[0]["status"] == "completed"
    rerun = marks.read_text().splitlines()[before:]
    assert len(rerun) == 22 - len(finished)  # finished trials are not run again
    done = {(rung, params["lr"], params["model"]) for rung, params in finished}
    for line in rerun:
        _, rung, lr, model = line.split()
        assert (int(rung), float(lr), model) not in done
    whole = _result(_run_script({"ATO_TEST_DB": f"sqlite:///{tmp_path}/whole.db"}))
    for result in (resumed, whole):
        del result["config"]["experiment"]  # the database paths differ
        del result["config"]["__search_id__"]  # and so does the marks file the trial keeps
    assert resumed == whole


def test_li_brackets_resume_too(scope, tmp_path):
    from ato.hyperopt.hyperband import BracketHyperBand

    url = f"sqlite:///{tmp_path}/runs.db"
    spaces = ADict(lr=ADict(param_type="FLOAT", param_range=(1e-4, 1.0), space_type="LOG"))
    calls = []

    def search():
        hyperband = BracketHyperBand(scope, spaces, max_budget=9, eta=3, seed=2, tracker=url)
        return hyperband.main(lambda config: calls.append(1) or -abs(config.lr - 0.01))()

    first = search()
    ran = len(calls)
    assert search().config == first.config and len(calls) == ran


def test_a_tracker_url_that_cannot_be_opened_is_named_as_the_tracker_argument(
    scope, spaces, tmp_path
):
    from ato.errors import TrackerDatabaseError

    url = f"sqlite:///{tmp_path}/no/runs.db"
    hyperband = HyperBand(scope, spaces, 0.5, 2, tracker=url)
    with pytest.raises(TrackerDatabaseError, match=r"from tracker='sqlite:///.*' \(of HyperBand\)"):
        hyperband.main(lr_score)()
    assert not (tmp_path / "no").exists()


def _sized_scope(large_layers):
    """A scope whose lazy view derives layers from the searched size; the branch that
    the search's starting point (size 'small') does not take differs between calls."""
    from ato.scope import Scope

    Scope.initialize_registry()  # a fresh program, as a second start of it is
    scope = Scope()

    @scope.observe(default=True)
    def defaults(config):
        config.size = "small"

    if large_layers == 4:

        @scope.observe(default=True, lazy=True)
        def derive(config):
            config.layers = 2 if config.size == "small" else 4

    else:

        @scope.observe(default=True, lazy=True)
        def derive(config):
            config.layers = 2 if config.size == "small" else 1

    return scope


def test_an_edited_view_makes_another_search_even_in_a_branch_the_start_skips(tmp_path):
    url = f"sqlite:///{tmp_path}/runs.db"
    size = ADict(size=ADict(param_type="CATEGORY", categories=["small", "large"]))

    def search(large_layers):
        hyperband = HyperBand(_sized_scope(large_layers), size, 0.5, 1, tracker=url)
        return hyperband.main(lambda config: float(config.layers))()

    first = search(4)
    assert (first.config.size, first.metric) == ("large", 4.0)
    edited = search(1)
    assert edited.search_id != first.search_id
    assert (edited.config.size, edited.metric) == ("small", 2.0)
    assert search(4).search_id == first.search_id  # the same code again resumes


def test_a_search_that_stopped_at_a_failure_with_on_error_raise_tries_it_again(
    scope, spaces, tmp_path
):
    """Started again, it raises as an uninterrupted search does (or goes on, if the
    failure was passing), instead of taking the stored failure as a result."""
    url = f"sqlite:///{tmp_path}/runs.db"
    broken = tmp_path / "vit-is-broken"  # outside the trial's settings: a passing failure
    broken.touch()

    def trial(config):
        if broken.exists() and config.model == "vit":
            raise RuntimeError("vit is broken")
        return lr_score(config)

    def search():
        return HyperBand(scope, spaces, 0.5, 2, tracker=url, on_error="raise").main(trial)()

    for _ in range(2):
        with pytest.raises(RuntimeError, match="vit is broken"):
            search()
    broken.unlink()  # the failure passed (a full disk, a lost node): not an edit
    result = search()
    assert result.config.model == "resnet101"
    with create_engine(url).connect() as connection:
        rows = connection.execute(select(trials.c.status)).scalars().all()
    assert rows.count("failed") == 0 and len(rows) == 12 + 6 + 3 + 1


def test_an_int_past_the_digit_limit_is_searched_tracked_resumed_and_shown(scope, tmp_path, capsys):
    from ato.cli import main

    url = f"sqlite:///{tmp_path}/runs.db"
    huge = 10**5000
    seeds = ADict(seed=ADict(param_type="CATEGORY", categories=[huge, 7, 8]))

    def trial(config):
        if config.seed == huge:
            raise RuntimeError("too big")
        return config.seed

    def search():
        return HyperBand(scope, seeds, 0.5, 1, tracker=url, progress=False).main(trial)()

    assert search().config.seed == 8
    assert search().config.seed == 8  # resumed
    finder = SQLFinder(url)
    (first,) = [run for run in finder.get_runs_in_project("hyperopt") if run.status == "failed"]
    assert finder.find_run(first.id).config.seed == huge
    finder.close()
    explain = ["explain", str(first.id), str(first.id + 1)]
    for command in (["show", str(first.id)], explain, ["searches"]):
        assert main([*command, "--db", url]) == 0
        assert "(5,001 digits)" in capsys.readouterr().out or command == ["searches"]


def test_stored_params_are_exact_and_read_as_written(scope, tmp_path):
    url = f"sqlite:///{tmp_path}/runs.db"
    spaces = ADict(
        seed=ADict(param_type="INTEGER", param_range=(10**20, 10**20 + 2), num_samples=3),
        opt=ADict(param_type="CATEGORY", categories=[(1,), ("adamw", 0.9)]),
    )
    HyperBand(scope, spaces, 0.5, 2, tracker=url, progress=False).main(lambda config: 1.0)()
    with create_engine(url).connect() as connection:
        params = connection.execute(select(trials.c.params).where(trials.c.rung == 0)).scalars()
        stored = [(row["seed"], row["opt"]) for row in params]
    assert {seed for seed, _ in stored} == {10**20, 10**20 + 1, 10**20 + 2}
    assert {opt for _, opt in stored} == {"(1,)", "('adamw', 0.9)"}


def test_a_view_made_with_partial_of_a_volatile_value_does_not_make_another_search(tmp_path):
    import functools
    import itertools

    from ato.scope import Scope

    url = f"sqlite:///{tmp_path}/runs.db"
    folders = itertools.count()

    def set_out_dir(config, out_dir):
        config.out_dir = out_dir

    def search():
        Scope.initialize_registry()
        scope = Scope()

        @scope.observe(default=True)
        def experiment(config):
            config.experiment = ADict(
                project_name="p", sql=ADict(db_path=url), volatile=["out_dir"]
            )

        view = functools.partial(set_out_dir, out_dir=f"runs/{next(folders)}")  # per run
        scope.observe("out_dir", default=True)(view)
        spaces = ADict(x=ADict(param_type="CATEGORY", categories=[1, 2]))
        calls = []
        hyperband = HyperBand(scope, spaces, 0.5, 1, tracker=url, progress=False)
        result = hyperband.main(lambda config: calls.append(1) or config.x)()
        return result.search_id, len(calls)

    first_id, ran = search()
    assert ran == 3
    assert search() == (first_id, 0)


def test_a_completed_search_started_again_with_on_error_raise_returns_its_result(
    scope, spaces, tmp_path
):
    """A failure it ranked last under on_error='continue' is a result of a finished
    search, not a place where the search stopped."""
    url = f"sqlite:///{tmp_path}/runs.db"
    calls = []

    def trial(config):
        calls.append(1)
        if config.model == "vit":
            raise RuntimeError("vit is broken")
        return lr_score(config)

    first = HyperBand(scope, spaces, 0.5, 2, tracker=url, on_error="continue").main(trial)()
    ran = len(calls)
    again = HyperBand(scope, spaces, 0.5, 2, tracker=url, on_error="raise").main(trial)()
    assert len(calls) == ran and again.config == first.config


@pytest.mark.parametrize(
    ("stop", "status"), [(SystemExit(3), "failed"), (KeyboardInterrupt(), "killed")]
)
def test_a_trial_that_exits_leaves_its_run_failed_or_killed_not_completed(
    scope, spaces, tmp_path, stop, status
):
    url = f"sqlite:///{tmp_path}/runs.db"

    def trial(config):
        if config.model == "vit":
            raise stop
        return lr_score(config)

    with pytest.raises(type(stop)):
        HyperBand(scope, spaces, 0.5, 2, tracker=url, progress=False).main(trial)()
    with create_engine(url).connect() as connection:
        last = connection.execute(
            text("SELECT status, error FROM experiments ORDER BY id DESC")
        ).first()
        search = connection.execute(select(searches.c.status)).scalar()
    assert last.status == status and type(stop).__name__ in last.error
    assert search == ("killed" if status == "killed" else "failed")


def test_a_list_of_budgets_the_trial_reads_edited_between_starts_is_another_search(
    scope, spaces, tmp_path
):
    url = f"sqlite:///{tmp_path}/runs.db"

    def search(epochs):
        hyperband = HyperBand(scope, spaces, 0.5, 2, tracker=url, progress=False)
        return hyperband.main(lambda config: lr_score(config) + epochs[config.__num_halved__])()

    first, second = search([1, 10, 100, 1000]), search([1, 10, 100, 1400])
    assert first.search_id != second.search_id
    assert second.metric == pytest.approx(first.metric + 400)


def test_a_postgresql_server_lost_mid_search_is_a_tracker_error_naming_it(postgres_server):
    from ato.errors import TrackerDatabaseError
    from ato.hyperopt.storage import SearchStore
    from ato.tracking import SQLLogger
    from tests.pg_server import PostgresServer

    del postgres_server  # the session's server stays up; this test stops one of its own
    with PostgresServer() as server:
        logger = SQLLogger.open(server.url, "lost")
        store = SearchStore(logger.engine, "f" * 32)
        store.open("lost", "hyperband", {})
        server.stop()
        with pytest.raises(TrackerDatabaseError, match="Lost the tracker database") as error:
            store.record_trial((0, 0, 0), {"lr": 0.1}, None, 1.0, None, None)
        assert "127.0.0.1" in str(error.value) and "search started again resumes" in str(
            error.value
        )


def test_a_changed_search_names_the_unfinished_one_it_does_not_resume(scope, spaces, tmp_path):
    url = f"sqlite:///{tmp_path}/runs.db"

    def stops_at_vit(config):
        if config.model == "vit":
            raise KeyboardInterrupt
        return lr_score(config)

    first = HyperBand(scope, spaces, 0.5, 2, tracker=url, progress=False)
    first.compute_optimized_initial_training_steps(8)
    with pytest.raises(KeyboardInterrupt):
        first.main(stops_at_vit)()
    changed = HyperBand(scope, spaces, 0.5, 2, tracker=url, progress=False)
    changed.compute_optimized_initial_training_steps(9)
    with pytest.warns(AtoWarning) as caught:
        changed.main(lr_score)()
    said = str(caught[0].message)
    assert first.search_id[:12] in said and "budgets_for 8 → 9" in said and "anew" in said
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same search again: it is no other's change
        same = HyperBand(scope, spaces, 0.5, 2, tracker=url, progress=False)
        same.compute_optimized_initial_training_steps(9)
        same.main(lr_score)()
    edited = HyperBand(scope, spaces, 0.5, 2, tracker=url, progress=False)
    edited.compute_optimized_initial_training_steps(8)
    with pytest.warns(AtoWarning, match="the same arguments but another trial code, so"):
        edited.main(lambda config: lr_score(config) * 2)()
    wider = HyperBand(scope, ADict(spaces, lr=ADict(spaces.lr, num_samples=5)), 0.5, 2,
                      tracker=url, progress=False)  # fmt: skip
    wider.compute_optimized_initial_training_steps(8)
    with pytest.warns(
        AtoWarning, match="the same arguments but another trial code and search space, so"
    ):
        wider.main(lr_score)()  # beside the first: another code too


def test_a_search_waits_for_a_database_another_process_is_writing(scope, spaces, tmp_path):
    import sqlite3
    import threading

    url = f"sqlite:///{tmp_path}/busy.db"
    first = HyperBand(scope, spaces, 0.5, 2, tracker=url, progress=False).main(lr_score)()
    started, stop = threading.Event(), threading.Event()

    def writer() -> None:  # a training run logging: the write lock held in bursts
        connection = sqlite3.connect(tmp_path / "busy.db", isolation_level=None, timeout=60)
        while not stop.is_set():
            connection.execute("BEGIN IMMEDIATE")
            started.set()
            time.sleep(0.1)
            connection.execute("COMMIT")
            time.sleep(0.005)
        connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    started.wait()
    try:
        for _ in range(3):  # each start reads the stored search between the bursts
            again = HyperBand(scope, spaces, 0.5, 2, tracker=url, progress=False).main(lr_score)()
            assert again.config == first.config and again.search_id == first.search_id
    finally:
        stop.set()
        thread.join()


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP"])
def test_a_search_ended_by_sigterm_or_sighup_reads_killed_and_resumes(tmp_path, name):
    """A scheduler preempting the job: the trial's run and the search both read 'killed'
    at once (before, the search read 'running' until its heartbeat grew old, and was
    refused meanwhile when started again on another host); started again, it resumes."""
    url = f"sqlite:///{tmp_path}/ended.db"
    marks = tmp_path / "marks.txt"
    env = {"ATO_TEST_DB": url, "ATO_TEST_MARKS": str(marks), "ATO_TEST_SLEEP": "0.3"}
    process = _run_script(env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if marks.exists() and len(marks.read_text().splitlines()) >= 5:
            break
        time.sleep(0.05)
    signum = getattr(signal, name)
    process.send_signal(signum)
    process.communicate(timeout=60)
    assert process.returncode == -signum  # it still dies of the signal, as senders expect
    with create_engine(url).connect() as connection:
        row = connection.execute(text("SELECT status, result FROM hpo_searches")).one()
        assert row.status == "killed" and name in row.result
        runs = connection.execute(text("SELECT status FROM experiments")).scalars().all()
    assert runs[-1] == "killed" and set(runs[:-1]) == {"completed"}
    before = len(marks.read_text().splitlines())
    _result(_run_script({"ATO_TEST_DB": url, "ATO_TEST_MARKS": str(marks)}))
    assert len(marks.read_text().splitlines()) - before == 22 - (len(runs) - 1)


@pytest.mark.parametrize("tracked", [True, False])
def test_ctrl_c_says_what_was_done_and_what_a_start_again_does(
    scope, spaces, tmp_path, capsys, tracked
):
    def trial(config):
        if config.model == "vit":  # the third trial of rung 0
            raise KeyboardInterrupt
        return lr_score(config)

    tracker = f"sqlite:///{tmp_path}/runs.db" if tracked else None
    with pytest.raises(KeyboardInterrupt):  # still raised: the program decides
        HyperBand(scope, spaces, 0.5, 2, tracker=tracker, progress=False).main(trial)()
    said = capsys.readouterr().err
    assert "interrupted (Ctrl-C) after 2 of 22 trials" in said
    assert ("it resumes" in said) is tracked and ("starts over" in said) is not tracked


@pytest.mark.parametrize(
    ("when", "status", "code"),
    [("read", "killed", -signal.SIGTERM), ("finish", "killed", -signal.SIGTERM),
     ("close", "completed", -signal.SIGTERM), ("handler", "killed", 143)],
)  # fmt: skip
def test_a_sigterm_at_an_awkward_moment_leaves_the_search_as_it_is(tmp_path, when, status, code):
    """Inside the read of the stored trials (it held the lock the handler's write waited
    on: the row read 'running'), inside the write that ends a trial's run (the run read
    completed, its trial was not stored and ran again), inside the write that completes
    the search (the handler was gone: the process died mid-write, 'running'), and taken
    by the program's own handler that exits ('failed', while the trial's run read
    'killed')."""
    url = f"sqlite:///{tmp_path}/signals.db"
    script = Path(__file__).with_name("signal_script.py")
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}", "ATO_TEST_DB": url,
           "ATO_TEST_WHEN": when}  # fmt: skip
    ended = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert ended.returncode == code, ended.stderr[-3000:]
    with create_engine(url).connect() as connection:
        row = connection.execute(text("SELECT status, result FROM hpo_searches")).one()
    assert row.status == status, row
    if status == "killed":
        assert "SIGTERM" in row.result
    with create_engine(url).connect() as connection:  # each finished run's trial is stored
        completed = connection.execute(
            text("SELECT count(*) FROM experiments WHERE status = 'completed'")
        ).scalar()
        stored = connection.execute(text("SELECT count(*) FROM hpo_trials")).scalar()
    assert stored == completed


def _signal_script(url: str, when: str, **more: str) -> subprocess.CompletedProcess[str]:
    script = Path(__file__).with_name("signal_script.py")
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}", "ATO_TEST_DB": url,
           "ATO_TEST_WHEN": when, **more}  # fmt: skip
    return subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("when", ["flag", "flag-none"])
def test_a_sigterm_the_programs_handler_takes_stops_the_search_before_storing_a_cut_trial(
    tmp_path, when
):
    """A handler that asks training to stop early (as trainers do on preemption): the
    cut trial returned -1 and was stored as finished, and every later trial too, so the
    search completed, and resumed, with what the cut trials returned."""
    url = f"sqlite:///{tmp_path}/flag.db"
    stopped = _signal_script(url, when)
    assert stopped.returncode == 1 and "SearchStoppedError" in stopped.stderr
    assert "TrialResultError" not in stopped.stderr  # a cut trial, not the function's bug
    assert "SIGTERM reached the program during trial {'lr': 0.1}" in stopped.stderr
    with create_engine(url).connect() as connection:
        search = connection.execute(text("SELECT status FROM hpo_searches")).scalar()
        metrics = connection.execute(text("SELECT metric FROM hpo_trials")).scalars().all()
        runs = connection.execute(text("SELECT status FROM experiments")).scalars().all()
    assert search == "killed" and -1.0 not in metrics and len(metrics) == 3
    assert runs == ["completed"] * 3 + ["killed"]
    resumed = _signal_script(url, "none")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert float(resumed.stdout.strip().splitlines()[-1]) == 0.1


def test_a_sigterm_handler_raising_the_programs_own_error_stops_the_search_with_it(tmp_path):
    """The handler raises an Exception of the program's (on_error='continue' would log a
    trial's error and go on): that error reaches the program's own ``except``, the cut
    trial is not stored, the search reads 'killed', and started again it resumes."""
    url = f"sqlite:///{tmp_path}/raise.db"
    stopped = _signal_script(url, "raise")
    assert stopped.returncode == 7, stopped.stderr[-3000:]
    assert "caught Preempted('signal 15')" in stopped.stdout
    said = "trial {'lr': 0.1} (rung 0) was running when SIGTERM reached the program, then "
    said += "raised Preempted: signal 15. Started again, the search resumes."
    assert said in stopped.stderr and "SearchStoppedError" not in stopped.stderr
    with create_engine(url).connect() as connection:
        search = connection.execute(text("SELECT status, result FROM hpo_searches")).one()
        metrics = connection.execute(text("SELECT metric FROM hpo_trials")).scalars().all()
        runs = connection.execute(text("SELECT status FROM experiments")).scalars().all()
    assert search.status == "killed" and "Preempted" in search.result
    assert len(metrics) == 3 and runs == ["completed"] * 3 + ["killed"]
    resumed = _signal_script(url, "none")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert float(resumed.stdout.strip().splitlines()[-1]) == 0.1


def _statuses(url: str) -> tuple[str, list[str], list[str]]:
    """The search's status, its trials' runs' statuses and those of the trials' own."""
    with create_engine(url).connect() as connection:
        search = connection.execute(text("SELECT status FROM hpo_searches")).scalar()
        runs = connection.execute(text("SELECT status, tags FROM experiments")).all()
    return (
        search,
        [status for status, tags in runs if "search:" in tags],
        [status for status, tags in runs if "mine" in tags],
    )


def test_a_sigterm_handler_exiting_during_a_trial_with_its_own_run_kills_both_runs(tmp_path):
    url = f"sqlite:///{tmp_path}/own.db"
    ended = _signal_script(url, "handler", ATO_TEST_OWN_RUN="1")
    assert ended.returncode == 143, ended.stderr[-3000:]
    search, searched, own = _statuses(url)
    assert search == "killed"
    assert searched == ["completed"] * 3 + ["killed"] and own == searched


@pytest.mark.parametrize("own", ["1", "finish"])
def test_a_sigterm_ending_a_trial_that_left_the_searchs_run_kills_that_run(tmp_path, own):
    """No handler of the program's: it dies of the signal. The search's run for the cut
    trial, which the trial left (a run of its own, or finish()), reads 'killed' too."""
    url = f"sqlite:///{tmp_path}/own.db"
    ended = _signal_script(url, "default", ATO_TEST_OWN_RUN=own)
    assert ended.returncode == -signal.SIGTERM, ended.stderr[-3000:]
    search, searched, mine = _statuses(url)
    assert search == "killed" and searched == ["completed"] * 3 + ["killed"]
    assert mine == (searched if own == "1" else [])


def test_a_sigterm_handler_raising_as_a_trials_run_begins_leaves_no_run_open(tmp_path):
    url = f"sqlite:///{tmp_path}/start.db"
    stopped = _signal_script(url, "start")
    assert stopped.returncode == 7, stopped.stderr[-3000:]
    assert "open run: None" in stopped.stdout  # the program may start a run, or search again
    search, searched, _ = _statuses(url)
    assert search == "killed" and searched == ["completed"] * 2 + ["killed"]
    resumed = _signal_script(url, "none")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert float(resumed.stdout.strip().splitlines()[-1]) == 0.1


def test_an_untracked_search_stops_too_on_a_sigterm_the_programs_handler_takes():
    """Nothing to store or resume, but the program asked to stop: the search does not
    rank the cut trial nor start another, and says a start again starts over."""
    stopped = _signal_script("", "flag")
    assert stopped.returncode == 1 and "SearchStoppedError" in stopped.stderr
    assert "That trial may have been cut short, and it is not ranked." in stopped.stderr
    assert "It is not tracked (no tracker=), so started again it starts over." in stopped.stderr
    raised = _signal_script("", "raise")
    assert raised.returncode == 7, raised.stderr[-3000:]
    assert "caught Preempted('signal 15')" in raised.stdout
    assert "then raised Preempted: signal 15." in raised.stderr and "resumes" not in raised.stderr


def test_an_untracked_search_in_a_thread_warns_of_nothing(scope, spaces):
    """Signals can be watched only from the main thread: no warning of a run it lacks."""
    ended = []

    def search():
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            ended.append(HyperBand(scope, spaces, 0.5, 2, progress=False).main(lr_score)())
        ended.append([str(warning.message) for warning in said])

    thread = threading.Thread(target=search)
    thread.start()
    thread.join(timeout=60)
    assert ended[0].metric == 1.0 and ended[1] == []


def test_a_sighup_the_program_ignores_by_a_handler_of_its_own_lets_the_search_go_on(tmp_path):
    """A program that survives its terminal (as nohup does) with a handler of its own:
    nothing was cut short, and the search completes."""
    url = f"sqlite:///{tmp_path}/hup.db"
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}", "ATO_TEST_DB": url,
           "ATO_TEST_WHEN": "hup"}  # fmt: skip
    script = Path(__file__).with_name("signal_script.py")
    ended = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert ended.returncode == 0, ended.stderr[-3000:]
    assert float(ended.stdout.strip().splitlines()[-1]) == 0.1
    with create_engine(url).connect() as connection:
        assert connection.execute(text("SELECT status FROM hpo_searches")).scalar() == "completed"

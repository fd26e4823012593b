"""The searches a database holds, read back: progress, best trial, rung by rung."""

from __future__ import annotations

import itertools
import math
import shutil
import sys

import pytest
from sqlalchemy import create_engine, text

from ato.adict import ADict
from ato.errors import SearchNotFoundError
from ato.hyperopt.hyperband import BracketHyperBand, HyperBand
from ato.scope import Scope
from ato.tracking import SQLFinder

SPACES = ADict(
    lr=ADict(param_type="FLOAT", param_range=(1e-4, 1e-1), num_samples=4, space_type="LOG"),
    model=ADict(param_type="CATEGORY", categories=["resnet50", "resnet101", "vit"]),
)


def loss(config):
    """Lowest at lr = 1e-2 with resnet101; vit diverges."""
    if config.model == "vit":
        raise RuntimeError("diverged")
    return abs(math.log10(config.lr) + 2) + (config.model != "resnet101")


def _scope(project: str, url: str) -> Scope:
    scope = Scope(name="config", enable_override=True)  # the trial functions' parameter

    @scope.observe(default=True)
    def defaults(config):
        config.lr, config.model = 0.001, "resnet50"
        config.experiment = ADict(project_name=project, sql=ADict(db_path=url))

    return scope


@pytest.fixture
def searched(tmp_path, monkeypatch):
    """Two finished searches: HyperBand (mode min, with failing trials) in 'vision',
    BracketHyperBand in 'other'."""
    monkeypatch.setattr(sys, "argv", ["train.py"])
    url = f"sqlite:///{tmp_path}/runs.db"
    grid = HyperBand(_scope("vision", url), SPACES, 0.5, 2, tracker=url, mode="min")
    first = grid.main(loss)()
    brackets = BracketHyperBand(
        _scope("other", url), SPACES, max_budget=9, eta=3, tracker=url, mode="min"
    )
    second = brackets.main(lambda config: loss(config) if config.model != "vit" else 5.0)()
    return url, first, second


def test_every_search_with_its_progress_and_best_trial(searched):
    url, first, second = searched
    with SQLFinder(url) as finder:
        found = finder.searches()
        assert [s["id"] for s in found] == [first.search_id, second.search_id]
        grid, brackets = found
        assert grid["project"] == "vision" and grid["algorithm"] == "hyperband"
        assert grid["status"] == "completed" and grid["mode"] == "min"
        assert grid["trials_done"] == grid["total_trials"] == 12 + 6 + 3 + 1
        assert grid["trials_failed"] == 4  # the four vit trials of rung 0
        assert grid["best_metric"] == pytest.approx(first.metric)
        assert grid["best_params"] == {"lr": first.config.lr, "model": "resnet101"}
        best_run = finder.find_run(grid["best_run_id"])
        assert best_run.config.lr == first.config.lr and best_run.project_name == "vision"
        assert brackets["algorithm"] == "bracket_hyperband"
        assert brackets["trials_done"] == brackets["total_trials"] > 0
        assert grid["budget_spent"] is None  # its trials got no budget
        plan = BracketHyperBand(_scope("plan", url), SPACES, max_budget=9, eta=3)
        assert brackets["budget_spent"] == plan.total_budget()
        assert brackets["best_metric"] == pytest.approx(second.metric)
        assert [s["id"] for s in finder.searches("other")] == [second.search_id]


def test_a_search_rung_by_rung_by_id_prefix(searched):
    url, first, _ = searched
    with SQLFinder(url) as finder:
        found = finder.search(first.search_id[:6])
    assert found["id"] == first.search_id
    assert [(r["rung"], r["trials"], r["failed"]) for r in found["rungs"]] == [
        (0, 12, 4), (1, 6, 0), (2, 3, 0), (3, 1, 0),
    ]  # fmt: skip
    assert found["rungs"][-1]["best"]["metric"] == pytest.approx(first.metric)
    assert len(found["trials"]) == 22


def test_a_killed_search_counts_its_best_at_the_largest_budget_reached(searched):
    url, first, _ = searched
    engine = create_engine(url)
    with engine.begin() as connection:  # what a kill during rung 2 leaves behind
        connection.execute(
            text("DELETE FROM hpo_trials WHERE search_id = :id AND rung >= 2"),
            {"id": first.search_id},
        )
        connection.execute(text("UPDATE hpo_searches SET status = 'running', result = NULL"))
        best_rung_1 = connection.execute(
            text("SELECT min(metric) FROM hpo_trials WHERE search_id = :id AND rung = 1"),
            {"id": first.search_id},
        ).scalar()
    engine.dispose()
    with SQLFinder(url) as finder:
        grid = finder.searches("vision")[0]
    assert grid["status"] == "running" and grid["trials_done"] == 18
    assert grid["best_metric"] == pytest.approx(best_rung_1)


def test_an_unknown_or_ambiguous_id_names_the_searches(searched):
    url, first, second = searched
    with SQLFinder(url) as finder, pytest.raises(SearchNotFoundError) as caught:
        finder.search("zz")
    message = str(caught.value)
    assert first.search_id[:12] in message and second.search_id[:12] in message
    assert "ato searches" in message


def test_a_database_without_search_tables_has_no_searches(tmp_path, data_dir):
    path = tmp_path / "old.db"
    shutil.copy(data_dir / "tracker" / "ato214.db", path)
    before = path.read_bytes()
    with SQLFinder(f"sqlite:///{path}") as finder:
        assert finder.searches() == []
        with pytest.raises(SearchNotFoundError, match="holds no hyperparameter search"):
            finder.search("abc")
    assert path.read_bytes() == before


def test_a_search_stored_without_its_mode_shows_only_its_stored_result(searched):
    url, first, _ = searched
    engine = create_engine(url)
    with engine.begin() as connection:  # as an earlier ato stored it: arguments without mode
        connection.execute(
            text(
                "UPDATE hpo_searches SET arguments = json_remove(arguments, '$.mode') "
                "WHERE id = :id"
            ),
            {"id": first.search_id},
        )
    engine.dispose()
    with SQLFinder(url) as finder:
        grid = finder.searches("vision")[0]
        assert grid["mode"] is None
        assert grid["best_metric"] == pytest.approx(first.metric)  # min, not the worst
        assert grid["best_params"]["model"] == "resnet101"
        assert all(rung["best"] is None for rung in finder.search(first.search_id)["rungs"])


# -- status: what a stored 'running' means ---------------------------------------------------


def test_a_search_seen_while_it_runs_is_running(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["train.py"])
    url = f"sqlite:///{tmp_path}/runs.db"
    seen = []

    def trial(config):
        with SQLFinder(url) as finder:
            seen.append(finder.searches()[0]["status"])
        return loss(config) if config.model != "vit" else 5.0

    HyperBand(_scope("vision", url), SPACES, 0.5, 2, tracker=url, mode="min").main(trial)()
    assert set(seen) == {"running"}
    with SQLFinder(url) as finder:
        assert finder.searches()[0]["status"] == "completed"


def test_a_search_stopped_by_ctrl_c_is_killed_then_resumes(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["train.py"])
    url = f"sqlite:///{tmp_path}/runs.db"
    calls = []
    counter = itertools.count(1)  # not plain data: the search's identity does not hold it
    seen = []

    def trial(config):
        calls.append(1)  # only filled: a log, not a setting
        number = next(counter)
        if number == 3:
            raise KeyboardInterrupt
        if number > 3:  # resumed
            with SQLFinder(url) as finder:
                seen.append(finder.searches()[0]["status"])
        return 1.0

    def search():
        return HyperBand(_scope("vision", url), SPACES, 0.5, 2, tracker=url).main(trial)()

    with pytest.raises(KeyboardInterrupt):
        search()
    with SQLFinder(url) as finder:
        found = finder.searches()[0]
        assert found["status"] == "killed" and found["trials_done"] == 2
        assert "KeyboardInterrupt" in found["result"]["error"]
    result = search()
    with SQLFinder(url) as finder:
        found = finder.search(result.search_id)
    assert found["status"] == "completed" and found["trials_done"] == found["total_trials"]
    assert len(calls) == 3 + found["total_trials"] - 2  # the two finished are not run again
    assert set(seen) == {"running"}  # resumed, it runs again


def test_a_search_stopped_by_a_trial_error_is_failed(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["train.py"])
    url = f"sqlite:///{tmp_path}/runs.db"
    hyperband = HyperBand(_scope("vision", url), SPACES, 0.5, 2, tracker=url, on_error="raise")
    with pytest.raises(RuntimeError, match="diverged"):
        hyperband.main(loss)()  # its vit trials raise
    with SQLFinder(url) as finder:
        found = finder.searches()[0]
    assert found["status"] == "failed" and "RuntimeError: diverged" in found["result"]["error"]


def _dead_pid() -> int:
    import subprocess

    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout)


def _set_process(url, search_id, host, pid, age, run_age=None):
    """Name ``host``/``pid`` as the search's process, last heard of ``age`` s ago; with
    ``run_age``, one of its runs runs there, last heard of ``run_age`` s ago."""
    import datetime as dt
    import socket

    from sqlalchemy import update

    from ato.hyperopt.storage import searches
    from ato.tracking.schema import Base

    now = dt.datetime.now(dt.timezone.utc)
    host = socket.gethostname() if host == "this" else host
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            update(searches)
            .where(searches.c.id == search_id)
            .values(status="running", result=None, host=host, pid=pid,
                    process_since=now,
                    heartbeat_at=now - dt.timedelta(seconds=age))
        )  # fmt: skip
        if run_age is not None:
            runs = Base.metadata.tables["experiments"]
            tagged = text("SELECT max(id) FROM experiments WHERE CAST(tags AS TEXT) LIKE :tag")
            newest = connection.execute(tagged, {"tag": f'%"search:{search_id}"%'}).scalar()
            connection.execute(
                update(runs)
                .where(runs.c.id == newest)
                .values(status="running", host=host, pid=pid,
                        heartbeat_at=now - dt.timedelta(seconds=run_age))
            )  # fmt: skip
    engine.dispose()


@pytest.mark.parametrize(
    "host, age, run_age, status",
    [
        ("this", 0, None, "interrupted"),  # its pid is gone: kill -9, SIGTERM
        ("elsewhere", 600, None, "interrupted"),  # no news for longer than the grace
        ("elsewhere", 0, None, "running"),
        ("elsewhere", 600, 0, "running"),  # a long trial of it runs there
        ("elsewhere", 600, 600, "interrupted"),
    ],
)
def test_a_search_whose_process_is_gone_is_interrupted(searched, host, age, run_age, status):
    """What kill -9 leaves (tests/hyperopt/test_tracking.py kills one for real)."""
    url, first, _ = searched
    _set_process(url, first.search_id, host, _dead_pid(), age, run_age)
    with SQLFinder(url) as finder:
        assert finder.searches("vision")[0]["status"] == status
        assert finder.search(first.search_id)["status"] == status


def test_a_search_whose_process_lives_is_running_between_trials(searched):
    import os

    url, first, _ = searched  # every run of it is over: as between two trials
    _set_process(url, first.search_id, "this", os.getpid(), 600)
    with SQLFinder(url) as finder:
        assert finder.searches("vision")[0]["status"] == "running"


def test_the_status_of_a_search_on_postgresql(tmp_path, monkeypatch, postgres_server):
    """The runs of a search are found by their tag in PostgreSQL's JSON too."""
    from tests.pg_server import new_database

    monkeypatch.setattr(sys, "argv", ["train.py"])
    url = new_database(postgres_server.url, "search_status")
    done = HyperBand(_scope("vision", url), SPACES, 0.5, 2, tracker=url).main(lambda config: 1.0)()
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE hpo_searches SET status = 'running'"))
    engine.dispose()
    with SQLFinder(url) as finder:
        assert finder.search(done.search_id)["status"] == "running"  # this process lives
    _set_process(url, done.search_id, "elsewhere", _dead_pid(), 600, run_age=0)
    with SQLFinder(url) as finder:  # a run of it found by its tag, running elsewhere
        assert finder.search(done.search_id)["status"] == "running"
    _set_process(url, done.search_id, "this", _dead_pid(), 0, run_age=0)  # both gone
    with SQLFinder(url) as finder:
        assert finder.search(done.search_id)["status"] == "interrupted"


def test_a_stop_never_undoes_a_finished_search_nor_one_another_process_runs(searched):
    from ato.hyperopt.storage import SearchStore

    url, first, _ = searched
    engine = create_engine(url)
    SearchStore(engine, first.search_id).stop(KeyboardInterrupt())  # a late second process
    with SQLFinder(url) as finder:
        found = finder.search(first.search_id)
    assert found["status"] == "completed" and found["result"]["metric"] == first.metric
    _set_process(url, first.search_id, "elsewhere", 1, 0)  # running in another process
    SearchStore(engine, first.search_id).stop(KeyboardInterrupt())
    engine.dispose()
    with SQLFinder(url) as finder:
        assert finder.search(first.search_id)["status"] == "running"


def test_a_trial_recorded_by_a_process_of_it_makes_a_stopped_search_running(searched):
    from ato.hyperopt.storage import SearchStore

    url, first, _ = searched
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE hpo_searches SET status = 'killed'"))
    SearchStore(engine, first.search_id).record_trial((9, 0, 0), {"lr": 0.1}, None, 1.0, None, None)
    engine.dispose()
    with SQLFinder(url) as finder:
        assert finder.search(first.search_id)["status"] == "running"  # this process lives


def test_a_failed_search_keeps_the_first_line_of_its_error(tmp_path, monkeypatch):
    from ato.hyperopt.storage import SearchStore

    monkeypatch.setattr(sys, "argv", ["train.py"])
    url = f"sqlite:///{tmp_path}/runs.db"
    done = HyperBand(_scope("vision", url), SPACES, 0.5, 2, tracker=url).main(lambda config: 1.0)()
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE hpo_searches SET status = 'running'"))
    store = SearchStore(engine, done.search_id)
    store.open("vision", "hyperband", {})  # this process runs it now
    store.stop(RuntimeError("diverged at step 3\nloss: nan\nlr: 10"))
    engine.dispose()
    with SQLFinder(url) as finder:
        found = finder.search(done.search_id)
    assert found["status"] == "failed"
    assert found["result"] == {"error": "RuntimeError: diverged at step 3"}


V6_COLUMNS = ("host", "pid", "pid_namespace", "process_since", "heartbeat_at")


def test_a_search_stored_at_schema_5_is_read_unchanged_then_migrated(tmp_path, monkeypatch):
    from ato.tracking.migrations import LATEST, MIGRATIONS, _record

    path = tmp_path / "v5.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:  # as ato wrote it before migration 6
        for _version, _, step in MIGRATIONS[:5]:
            step(connection)
        _record(connection, 5)
        for column in V6_COLUMNS:
            connection.execute(text(f"ALTER TABLE hpo_searches DROP COLUMN {column}"))
        connection.execute(
            text(
                "INSERT INTO hpo_searches (id, project, algorithm, arguments, status) "
                """VALUES ('abc123', 'vision', 'hyperband', '{"mode": "max"}', 'running')"""
            )
        )
    engine.dispose()
    before = path.read_bytes()
    with SQLFinder(f"sqlite:///{path}") as finder:
        (found,) = finder.searches()
        assert found["status"] == "interrupted"  # no process, no run, no time: nothing lives
        assert finder.search("abc")["id"] == "abc123"
    assert path.read_bytes() == before  # reading migrates nothing
    monkeypatch.setattr(sys, "argv", ["train.py"])
    url = f"sqlite:///{path}"
    HyperBand(_scope("vision", url), SPACES, 0.5, 2, tracker=url).main(lambda config: 1.0)()
    engine = create_engine(url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version FROM ato_schema")).scalar() == LATEST
        columns = {row[1] for row in connection.execute(text("PRAGMA table_info(hpo_searches)"))}
    engine.dispose()
    assert set(V6_COLUMNS) <= columns


def test_a_search_stored_before_migration_6_is_judged_by_its_runs(searched):
    """No process named on the row (written at schema 5, then migrated): the processes
    of its newest runs tell, as before."""
    url, first, _ = searched
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE hpo_searches SET status = 'running', host = NULL, pid = NULL, "
                "pid_namespace = NULL, process_since = NULL, heartbeat_at = NULL"
            )
        )
    with SQLFinder(url) as finder:  # its runs' process (this one) lives: between trials
        assert finder.search(first.search_id)["status"] == "running"
    with engine.begin() as connection:
        connection.execute(text("UPDATE experiments SET pid = :pid"), {"pid": _dead_pid()})
    engine.dispose()
    with SQLFinder(url) as finder:
        assert finder.search(first.search_id)["status"] == "interrupted"


def test_another_rank_s_trials_keep_rank_0_as_the_search_s_process(searched):
    """In a distributed search rank 0 decides, so a Ctrl-C there must mark the search
    even when another rank recorded the last trial."""
    import os

    from sqlalchemy import select

    from ato.hyperopt.storage import SearchStore, searches

    url, first, _ = searched
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE hpo_searches SET status = 'running'"))
    rank0 = SearchStore(engine, first.search_id)
    rank0.open("vision", "hyperband", {})
    _set_process(url, first.search_id, "this", os.getpid(), 60)  # rank 0, heard of 60 s ago
    other = SearchStore(engine, first.search_id, owner=False)
    other.record_trial((9, 0, 0), {"lr": 0.1}, None, 1.0, None, None)
    other.stop(KeyboardInterrupt())  # not this rank's to mark
    with engine.connect() as connection:
        row = connection.execute(
            select(searches.c.status, searches.c.pid, searches.c.heartbeat_at)
        ).first()
    assert row.status == "running" and row.pid == os.getpid()
    assert (row.heartbeat_at is not None) and _age(row.heartbeat_at) < 30  # alive, said rank k
    rank0.stop(KeyboardInterrupt())
    engine.dispose()
    with SQLFinder(url) as finder:
        assert finder.search(first.search_id)["status"] == "killed"


def _age(moment) -> float:
    import datetime as dt

    from ato.tracking.schema import as_utc

    return (dt.datetime.now(dt.timezone.utc) - as_utc(moment)).total_seconds()


def test_the_best_of_li_brackets_is_the_best_at_max_budget_whatever_its_rung(tmp_path, monkeypatch):
    """Each bracket reaches max_budget at a rung of its own: the summary's best is the
    search's result, not the first bracket's finalist."""
    from ato.adict import ADict
    from ato.hyperopt.hyperband import BracketHyperBand
    from ato.scope import Scope
    from ato.tracking import SQLFinder

    monkeypatch.setattr("sys.argv", ["search.py"])  # a search reads the command line
    Scope.initialize_registry()
    url = f"sqlite:///{tmp_path}/runs.db"
    space = ADict(x=ADict(param_type="FLOAT", param_range=(0.0, 1.0)))
    scope = Scope(name="hp")
    search = BracketHyperBand(scope, space, 9, mode="min", tracker=url, progress=False)
    result = search.main(lambda hp: hp.x)()
    finder = SQLFinder(url)
    (summary,) = finder.searches()
    finder.close()
    assert summary["best_metric"] == result.metric

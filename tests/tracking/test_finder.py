"""SQLFinder: queries over runs, answered with records that outlive their session."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import pytest

from ato.adict import ADict
from ato.db_routers.sql import manager
from ato.errors import ProjectNotFoundError, RunNotFoundError, TrackerDatabaseError
from ato.tracking import SQLFinder, SQLLogger
from tests.tracking.helpers import make_config


def log_runs(url: str) -> list[int]:
    """Three vision runs (two with the same config structure) and one nlp run."""
    ids = []
    for index, (project, extra) in enumerate(
        [("vision", {}), ("vision", {}), ("vision", {"dropout": 0.1}), ("nlp", {})]
    ):
        config = make_config(url, project, lr=0.01 * (index + 1), model=ADict(depth=50), **extra)
        logger = SQLLogger(config)
        with logger.run(tags=[f"run{index}"]) as run_id:
            for step in range(5):
                logger.log_metric("loss", 1.0 / (step + 1 + index))
                logger.log_metric("acc", 0.5 + 0.1 * index + 0.01 * step)
        ids.append(run_id)
    return ids


def test_find_project_and_runs_of_a_project(db_url):
    ids = log_runs(db_url)
    finder = SQLFinder(make_config(db_url))
    project = finder.find_project("vision")
    assert project.name == "vision" and project.created_at.tzinfo is not None
    assert finder.find_project("nope") is None
    runs = finder.get_runs_in_project("vision")
    assert [run.id for run in runs] == ids[:3]
    assert [run.config.lr for run in runs] == pytest.approx([0.01, 0.02, 0.03])
    assert [run.summary["acc"].last for run in runs] == pytest.approx([0.54, 0.64, 0.74])
    assert finder.get_runs_in_project("nope") == []


def test_best_run_by_metric_max_and_min(db_url):
    ids = log_runs(db_url)
    finder = SQLFinder(make_config(db_url))
    best = finder.find_best_run("vision", "acc", mode="max")
    assert best.id == ids[2] and best.config.dropout == 0.1
    lowest_loss = finder.find_best_run(project_name="vision", metric_key="loss", mode="min")
    assert lowest_loss.id == ids[2]
    assert finder.find_best_run("vision", "loss", mode="max").id == ids[0]
    with pytest.raises(ValueError, match="'max' or 'min'"):
        finder.find_best_run("vision", "acc", mode="maximum")


@pytest.mark.parametrize(
    ("project", "key", "error", "message"),
    [
        ("visoin", "acc", ProjectNotFoundError, "No project named 'visoin'.*Did you mean 'vision'"),
        ("nope", "acc", ProjectNotFoundError, "Its projects: 'nlp', 'vision'"),
        ("vision", "accuracy", RunNotFoundError, "metric 'accuracy'.*Did you mean 'acc'"),
    ],
)
def test_best_run_of_a_missing_project_or_metric_raises_with_a_hint(
    db_url, project, key, error, message
):
    log_runs(db_url)
    finder = SQLFinder(make_config(db_url))
    with pytest.raises(error, match=message):
        finder.find_best_run(project, key)


def test_similar_runs_share_the_config_structure(db_url):
    ids = log_runs(db_url)
    finder = SQLFinder(make_config(db_url))
    assert [run.id for run in finder.find_similar_runs(ids[0])] == [ids[1], ids[3]]
    assert finder.find_similar_runs(ids[2]) == []
    assert finder.find_similar_runs(10_000) == []


def test_records_stay_usable_after_the_finder_is_gone(db_url):
    ids = log_runs(db_url)
    finder = SQLFinder(make_config(db_url))
    runs = finder.get_runs_in_project("vision")
    finder.engine.dispose()
    del finder
    run = runs[1]
    assert run.config.model.depth == 50
    assert [p.value for p in run.metric("loss")] == pytest.approx(
        [1 / 2, 1 / 3, 1 / 4, 1 / 5, 1 / 6]
    )
    assert run.fingerprints == [] and run.artifacts == []
    assert run.id == ids[1] and run.project_name == "vision"
    # The attributes 2.x's ORM rows had.
    assert run.project.name == "vision" and run.project.id == run.project_id
    assert {point.run_id for point in run.metrics} == {ids[1]}


def test_to_dataframe_has_a_row_per_run(db_url):
    pytest.importorskip("pandas")
    ids = log_runs(db_url)
    frame = SQLFinder(make_config(db_url)).to_dataframe("vision")
    assert list(frame["id"]) == ids[:3]
    assert list(frame["config.lr"]) == pytest.approx([0.01, 0.02, 0.03])
    assert list(frame["metric.acc"]) == pytest.approx([0.54, 0.64, 0.74])
    assert math.isnan(frame["config.dropout"][0]) and frame["config.dropout"][2] == 0.1


TRAIN = """
from ato.adict import ADict
from ato.scope import Scope
from ato.tracking import SQLLogger

scope = Scope()

@scope.observe(default=True)
def defaults(config):
    config.experiment = ADict(project_name='vision', sql=ADict(db_path='sqlite:///x.db'))
    config.lr = 0.1

@scope.trace(trace_id='model_forward')
def forward(x):
    return x * 2

@scope.runtime_trace(trace_id='evaluate')
def evaluate(x):
    return round(forward(x), 6)

@scope
def main(config):
    with SQLLogger(config).run() as run:
        evaluate(config.lr)
    print(int(run))

main()
"""


def run_program(tmp_path, source, url):
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(source))
    result = subprocess.run(
        # The database is chosen on the command line, as a user would.
        [sys.executable, str(script), f"experiment.sql.db_path:={url}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    return int(result.stdout.split()[-1])


def test_trace_statistics_count_versions_of_a_function_across_real_runs(db_url, tmp_path):
    first = run_program(tmp_path, TRAIN, db_url)
    cosmetic = TRAIN.replace("    return x * 2", "    # doubled\n    return (x *\n            2)")
    second = run_program(tmp_path, cosmetic, db_url)
    changed = TRAIN.replace("return x * 2", "return x * 3")
    third = run_program(tmp_path, changed, db_url)
    finder = SQLFinder(make_config(db_url))
    stats = finder.get_trace_statistics("vision", trace_id="model_forward")
    assert stats == {
        "project_name": "vision",
        "trace_id": "model_forward",
        "static_trace_versions": 2,
        "runtime_trace_versions": 0,
    }
    assert finder.get_trace_statistics("vision", "evaluate")["runtime_trace_versions"] == 2
    assert [r.id for r in finder.find_similar_runs_by_trace(first, "model_forward")] == [second]
    assert finder.find_similar_runs_by_trace(third, "model_forward") == []
    same_output = finder.find_similar_runs_by_trace(first, "evaluate", trace_type="runtime")
    assert [r.id for r in same_output] == [second]
    with pytest.raises(ProjectNotFoundError, match="'nope'"):
        finder.get_trace_statistics("nope", "model_forward")
    old = manager.SQLFinder(make_config(db_url))
    assert old.get_trace_statistics("nope", "model_forward") == {"error": "Project not found"}


def test_to_dataframe_takes_config_keys_that_contain_dots(db_url):
    pytest.importorskip("pandas")
    config = make_config(db_url, **{"optimizer.lr": 0.1}, model=ADict(depth=50))
    with SQLLogger(config).run():
        pass
    frame = SQLFinder(make_config(db_url)).to_dataframe("vision")
    assert list(frame["config.optimizer.lr"]) == [0.1]
    assert list(frame["config.model.depth"]) == [50]


def test_a_curve_is_steps_and_values_by_step_with_nan_kept(db_url):
    logger = SQLLogger(make_config(db_url))
    run_id = logger.run()
    for step, value in [(2, 0.5), (0, 1.0), (1, math.nan)]:
        logger.log_metric("loss", value, step=step)
    logger.log_metric("acc", 0.9, step=0)
    logger.finish()
    curve = SQLFinder(make_config(db_url)).curve(run_id, "loss")
    assert [step for step, _ in curve] == [0, 1, 2]
    assert curve[0] == (0, 1.0) and math.isnan(curve[1][1]) and curve[2] == (2, 0.5)
    assert SQLFinder(make_config(db_url)).curve(run_id, "missing") == []


def _misdirect_the_first_lookup(path) -> None:
    """Overwrite the first key of the runs table's root page with 0: SQLite then looks
    for the first runs on the wrong leaf, while a scan of the table still finds them."""
    import sqlite3
    import struct

    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        (root,) = connection.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'experiments'"
        ).fetchone()
    data = bytearray(path.read_bytes())
    start = (root - 1) * page_size
    assert data[start] == 5, "the runs table should span several pages"  # interior page
    (first_cell,) = struct.unpack(">H", data[start + 12 : start + 14])
    data[start + first_cell + 4] = 0  # the cell: child page (4 bytes), then its last id
    path.write_bytes(bytes(data))


def test_a_run_lost_to_a_damaged_page_is_not_reported_missing(tmp_path):
    path = tmp_path / "damaged.db"
    url = f"sqlite:///{path}"
    for index in range(40):
        config = make_config(url, "vision", lr=index, note="x" * 300)
        with SQLLogger(config).run():
            pass
    _misdirect_the_first_lookup(path)
    finder = SQLFinder(url)
    with pytest.raises(TrackerDatabaseError) as error:
        finder.resolve_run_or_raise(1)
    said = str(error.value)
    assert "damaged.db" in said and "is damaged" in said and ".recover" in said
    assert "No run" not in said


def test_a_run_whose_project_row_was_deleted_by_hand_is_not_called_damage(tmp_path):
    import sqlite3

    path = tmp_path / "orphan.db"
    url = f"sqlite:///{path}"
    for project in ("keep", "gone"):
        with SQLLogger(make_config(url, project)).run():
            pass
    with sqlite3.connect(path) as connection:
        connection.execute("DELETE FROM projects WHERE name = 'gone'")
    with pytest.raises(RunNotFoundError, match="its project is not in the projects table"):
        SQLFinder(url).resolve_run_or_raise(2)


def test_a_runtime_traced_function_called_before_the_run_keeps_its_code_fingerprint(
    db_url, tmp_path
):
    before_run = TRAIN.replace(
        "    with SQLLogger(config).run() as run:\n        evaluate(config.lr)",
        "    evaluate(config.lr)  # the data, built before the run opens\n"
        "    with SQLLogger(config).run() as run:\n        pass",
    )
    assert before_run != TRAIN
    first = run_program(tmp_path, before_run, db_url)
    edited = run_program(
        tmp_path, before_run.replace("round(forward(x), 6)", "round(forward(x), 5)"), db_url
    )
    finder = SQLFinder(make_config(db_url))
    prints = [finder.find_run(run_id).static_fingerprints() for run_id in (first, edited)]
    assert "evaluate" in prints[0] and prints[0]["evaluate"] != prints[1]["evaluate"]

"""``ato searches`` and ``ato search``: the searches of a database, read-only."""

from __future__ import annotations

import json

from ato.cli import main
from tests.tracking.test_searches import searched  # noqa: F401 (a fixture)


def _ato(capsys, *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_searches_lists_each_with_progress_and_best(capsys, searched):  # noqa: F811
    url, first, second = searched
    status, out, _ = _ato(capsys, "searches", "--db", url)
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split()[:6] == ["search", "project", "algorithm", "status", "trials", "failed"]
    grid = next(line for line in lines if line.startswith(first.search_id[:12]))
    assert "vision" in grid and "completed" in grid and "22/22" in grid
    assert "model=resnet101" in grid
    status, out, _ = _ato(capsys, "searches", "other", "--db", url, "--json")
    assert [s["id"] for s in json.loads(out)] == [second.search_id]
    spent = json.loads(out)[0]["budget_spent"]
    assert spent > 0
    _, out, _ = _ato(capsys, "search", second.search_id[:8], "--db", url)
    assert f"budget spent {spent:g}" in out


def test_search_shows_one_rung_by_rung(capsys, searched):  # noqa: F811
    url, first, _ = searched
    status, out, _ = _ato(capsys, "search", first.search_id[:8], "--db", url)
    assert status == 0
    assert f"Search {first.search_id} of vision: completed" in out
    assert "trials done 22/22, failed 4" in out and "mode min" in out
    rows = [line.split() for line in out.splitlines() if line[:1].isdigit()]
    assert [(row[1], row[2], row[3]) for row in rows] == [  # no budget: an empty cell
        ("0", "12", "4"), ("1", "6", "0"), ("2", "3", "0"), ("3", "1", "0"),
    ]  # fmt: skip
    status, out, _ = _ato(capsys, "search", first.search_id, "--db", url, "--json")
    assert json.loads(out)["best_params"]["model"] == "resnet101"


def test_unknown_search_or_project_is_one_line_on_stderr(capsys, searched):  # noqa: F811
    url, first, _ = searched
    status, out, err = _ato(capsys, "search", "nope", "--db", url)
    assert status == 1 and out == "" and "Traceback" not in err
    assert "No search" in err and first.search_id[:12] in err
    status, _, err = _ato(capsys, "searches", "visoin", "--db", url)
    assert status == 1 and "vision" in err  # did you mean


def test_a_stopped_search_says_why_and_that_it_resumes(capsys, tmp_path, monkeypatch):
    import sys

    import pytest

    from ato.hyperopt.hyperband import HyperBand
    from tests.tracking.test_searches import SPACES, _scope

    monkeypatch.setattr(sys, "argv", ["train.py"])
    url = f"sqlite:///{tmp_path}/runs.db"

    def trial(config):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        HyperBand(_scope("vision", url), SPACES, 0.5, 2, tracker=url).main(trial)()
    status, out, _ = _ato(capsys, "searches", "--db", url)
    assert status == 0 and "killed" in out and "0/22" in out
    _, out, _ = _ato(capsys, "searches", "--db", url, "--json")
    status, out, _ = _ato(capsys, "search", json.loads(out)[0]["id"], "--db", url)
    assert "stopped by KeyboardInterrupt" in out and "it resumes" in out


def test_a_failed_search_with_every_trial_done_promises_no_resume(capsys, searched):  # noqa: F811
    from sqlalchemy import create_engine, text

    url, first, _ = searched
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE hpo_searches SET status = 'failed', result = :r WHERE id = :id"),
            {
                "r": json.dumps({"error": "TrialFailedError: every trial failed"}),
                "id": first.search_id,
            },
        )
    engine.dispose()
    status, out, _ = _ato(capsys, "search", first.search_id, "--db", url)
    assert status == 0 and "stopped by TrialFailedError: every trial failed" in out
    assert "resumes" not in out

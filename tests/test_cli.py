"""The ato command, in process: each subcommand's output (plain and --json), filters,
exit statuses, and that reading leaves the database as it was."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ato.cli import main
from tests.commands.helpers import log_runs


def ato(capsys, *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def as_json(capsys, *args: str):
    status, out, err = ato(capsys, *args, "--json")
    assert status == 0, err
    return json.loads(out)


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'experiments.db'}"
    ids = log_runs(url)
    return url, ids


def test_runs_without_a_project_lists_the_projects(capsys, db):
    url, _ = db
    projects = as_json(capsys, "runs", "--db", url)
    assert [(p["name"], p["runs"]) for p in projects] == [("nlp", 1), ("vision", 3)]


def test_a_status_no_run_has_says_which_statuses_there_are(capsys, db):
    url, _ = db
    status, out, _ = ato(capsys, "runs", "vision", "--db", url, "--status", "complete")
    assert status == 0 and "No run of vision is 'complete'; its runs are completed, failed." in out


def test_runs_of_a_project_with_filters_and_sort(capsys, db):
    url, ids = db
    rows = as_json(capsys, "runs", "vision", "--db", url, "--metric", "acc")
    assert [r["id"] for r in rows] == ids
    assert [r["status"] for r in rows] == ["completed", "completed", "failed"]
    assert rows[1]["metrics"]["acc"] == pytest.approx(0.9 - 0.01)
    assert len(rows[0]["uuid"]) == 36 and rows[0]["structural_hash"]
    failed = as_json(capsys, "runs", "vision", "--db", url, "--status", "failed")
    assert [r["id"] for r in failed] == [ids[2]]
    tagged = as_json(capsys, "runs", "vision", "--db", url, "--tag", "best")
    assert [r["id"] for r in tagged] == [ids[1]]
    best_first = as_json(capsys, "runs", "vision", "--db", url, "--sort", "val_loss")
    assert [r["id"] for r in best_first] == [ids[1], ids[0], ids[2]]  # losses: lower first
    assert len(as_json(capsys, "runs", "vision", "--db", url, "--limit", "2")) == 2


def test_runs_plain_text_is_a_table(capsys, db):
    url, ids = db
    status, out, _ = ato(capsys, "runs", "vision", "--db", url, "--metric", "acc")
    assert status == 0
    header, *rows = out.splitlines()[1:]
    assert header.split() == [
        "id",
        "uuid",
        "status",
        "start",
        "duration",
        "tags",
        "structure",
        "acc",
    ]
    assert len(rows) == 3 and rows[0].split()[0] == str(ids[0])


def test_show_has_config_with_sources_metrics_and_environment(capsys, db):
    url, ids = db
    shown = as_json(capsys, "show", str(ids[1]), "--db", url)
    config = {row["key"]: row for row in shown["config"]}
    assert config["lr"]["value"] == 0.01
    assert config["lr"]["source"].startswith("code at helpers.py:")  # set after apply()
    assert config["model"]["source"] == "view defaults"
    assert config["experiment.sql.db_path"]["category"] == "tracker"
    assert set(shown["metrics"]) == {"acc", "val_loss"}
    assert shown["environment"]["python"]["version"]
    status, out, _ = ato(capsys, "show", shown["uuid"][:8], "--db", url)
    assert status == 0 and f"Run {ids[1]} (" in out


def test_best_similar_and_traces(capsys, db):
    url, ids = db
    best = as_json(capsys, "best", "vision", "acc", "--db", url)
    assert best["id"] == ids[1]
    lowest = as_json(capsys, "best", "vision", "val_loss", "--mode", "min", "--db", url)
    assert lowest["id"] == ids[1]
    similar = as_json(capsys, "similar", str(ids[0]), "--db", url)
    assert sorted(r["id"] for r in similar) == [ids[1], ids[2]]


@pytest.mark.parametrize(
    ("args", "status", "fragment"),
    [
        (["show", "999"], 1, "No run 999. The nearest ids:"),
        (["runs", "visoin"], 1, "Did you mean 'vision'?"),
        (
            ["best", "vision", "nope"],
            1,
            "No run of project 'vision' logged a number for metric 'nope'",
        ),
        (["explain", "abcd"], 1, "No run 'abcd'"),
    ],
)
def test_errors_name_what_is_wrong(capsys, db, args, status, fragment):
    url, _ = db
    code, out, err = ato(capsys, *args, "--db", url)
    assert code == status and out == ""
    assert fragment in err and err.startswith("ato: error: ")


def test_a_missing_database_is_named_and_never_created(capsys, tmp_path):
    path = tmp_path / "missing.db"
    code, _, err = ato(capsys, "runs", "--db", str(path))
    assert code == 1 and str(path) in err and "reading never creates one" in err
    assert not path.exists()


def test_reading_leaves_the_file_byte_identical_and_works_read_only(capsys, db, tmp_path):
    url, ids = db
    path = Path(url.removeprefix("sqlite:///"))
    # Settle the WAL into the main file first, as a finished program leaves it.
    import sqlite3

    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    os.chmod(path, stat.S_IRUSR | stat.S_IRGRP)
    try:
        assert as_json(capsys, "show", str(ids[0]), "--db", url)["id"] == ids[0]
        assert as_json(capsys, "explain", str(ids[0]), str(ids[1]), "--db", url)["verdict"]
    finally:
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_explain_against_the_previous_run(capsys, db):
    url, ids = db
    report = as_json(capsys, "explain", str(ids[1]), "--db", url)
    assert (report["before"]["id"], report["after"]["id"]) == (ids[0], ids[1])
    assert [(c["key"], c["before"], c["after"]) for c in report["config"]] == [("lr", 0.1, 0.01)]
    first = as_json(capsys, "diff", str(ids[0]), str(ids[1]), "--db", url)
    assert first["config"] == report["config"]
    code, _, err = ato(capsys, "explain", str(ids[0]), "--db", url)
    assert code == 1 and "is the first run of project 'vision'" in err


def test_merge_copies_runs_once_and_remaps_ids(capsys, tmp_path):
    one, two = tmp_path / "one.db", tmp_path / "two.db"
    log_runs(f"sqlite:///{one}")
    log_runs(f"sqlite:///{two}")
    target = tmp_path / "all.db"
    merged = as_json(capsys, "merge", str(target), str(one), str(two))
    assert merged["copied"] == {f"sqlite:///{one}": 4, f"sqlite:///{two}": 4}
    assert merged["metrics"] == 2 * (3 * 10 + 1)
    again = as_json(capsys, "merge", str(target), str(one), str(two))
    assert sum(again["copied"].values()) == 0 and sum(again["skipped"].values()) == 8
    runs = as_json(capsys, "runs", "vision", "--db", str(target), "--metric", "acc")
    assert [r["id"] for r in runs] == [1, 2, 3, 5, 6, 7]
    shown = as_json(capsys, "show", "6", "--db", str(target))
    assert shown["metrics"]["acc"]["count"] == 5
    assert any(row["key"] == "lr" and row["value"] == 0.01 for row in shown["config"])


def test_migrate_brings_a_2x_database_to_the_current_schema(capsys, tmp_path, data_dir):
    import shutil

    path = tmp_path / "old.db"
    shutil.copy(data_dir / "tracker" / "ato214.db", path)
    result = as_json(capsys, "migrate", str(path))
    assert result["from_version"] == 1 and result["to_version"] >= 4
    projects = as_json(capsys, "runs", "--db", str(path))
    name = projects[0]["name"]
    assert all(r["uuid"] for r in as_json(capsys, "runs", name, "--db", str(path)))
    status, out, _ = ato(capsys, "migrate", str(path))
    assert status == 0 and "nothing to do" in out


def test_plot_writes_an_image_of_several_runs(capsys, db, tmp_path):
    pytest.importorskip("matplotlib")
    url, ids = db
    target = tmp_path / "curves.png"
    written = as_json(
        capsys, "plot", str(ids[0]), str(ids[1]), "--metric", "acc", "-o", str(target), "--db", url
    )
    assert written["runs"] == ids[:2]
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, _, err = ato(capsys, "plot", str(ids[0]), "--metric", "nope", "--db", url)
    assert code == 2 and "it logged: acc, val_loss" in err


def test_plot_without_matplotlib_names_the_extra(tmp_path, db):
    url, ids = db
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "matplotlib.py").write_text("raise ImportError('not here')\n")
    env = {**os.environ, "PYTHONPATH": f"{blocker}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    result = subprocess.run(
        [sys.executable, "-m", "ato", "plot", str(ids[0]), "--metric", "acc", "--db", url],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert "pip install 'ato[plot]'" in result.stderr and "Traceback" not in result.stderr


def test_help_is_fast_to_import(tmp_path):
    code = (
        "import sys, ato.cli; "
        "print(sorted(m for m in ('sqlalchemy', 'rich', 'numpy') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"  # ato --help loads none of the heavy parts


def test_volatile_keys_are_stored_and_listed_apart(capsys, tmp_path):
    from ato.adict import ADict
    from ato.tracking import SQLLogger

    url = f"sqlite:///{tmp_path / 'v.db'}"
    ids = []
    for stamp, lr in (("2026-11-30_10-00", 0.1), ("2026-11-30_11-00", 0.2)):
        config = ADict(
            experiment=ADict(project_name="v", sql=ADict(db_path=url), volatile=["ckpt.*"]),
            paths=ADict(output_dir=f"outputs/{stamp}"),
            ckpt=ADict(dir=f"ckpt/{stamp}"),
            lr=lr,
        )
        logger = SQLLogger(config, volatile=["paths.*"])
        with logger.run() as run_id:
            ids.append(int(run_id))
    shown = as_json(capsys, "show", str(ids[0]), "--db", url)
    assert shown["volatile_keys"] == ["paths.*", "ckpt.*"]
    report = as_json(capsys, "explain", *map(str, ids), "--db", url)
    categories = {c["key"]: c["category"] for c in report["config"]}
    assert categories == {"ckpt.dir": "volatile", "lr": "config", "paths.output_dir": "volatile"}
    assert "Config differs in 1 key: lr 0.1 -> 0.2" in report["verdict"]
    assert "2 other keys differ (volatile), listed apart." in report["verdict"]


def test_a_limit_below_one_is_a_usage_error(capsys, db):
    url, _ = db
    with pytest.raises(SystemExit) as stop:
        main(["runs", "vision", "--limit", "-5", "--db", url])
    assert stop.value.code == 2
    assert "'-5' is not a whole number of 1 or more" in capsys.readouterr().err


@pytest.mark.parametrize("target", ["/no/such/folder/c.png", "curves.unknownext"])
def test_a_plot_that_cannot_be_written_exits_2_naming_the_path(capsys, db, tmp_path, target):
    pytest.importorskip("matplotlib")
    url, ids = db
    path = target if target.startswith("/") else str(tmp_path / target)
    code, _, err = ato(capsys, "plot", str(ids[0]), "--metric", "acc", "-o", path, "--db", url)
    assert code == 2 and f"Cannot write the plot to {path!r}" in err


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    ("make_db", "fragment"),
    [
        (lambda tmp: str(tmp), "is a folder, not a tracker database"),
        (lambda tmp: _text_file(tmp), "is not an SQLite database"),
        (
            lambda tmp: f"postgresql+psycopg://ato@127.0.0.1:{_closed_port()}/db",
            "Check that the server is running",
        ),
        (lambda tmp: "foo://bar", "scheme 'foo'"),
        (lambda tmp: "sqlite://", "in-memory SQLite"),
    ],
    ids=["folder", "text file", "unreachable", "scheme", "in memory"],
)
def test_a_database_ato_cannot_read_is_one_line_on_stderr(capsys, tmp_path, make_db, fragment):
    code, out, err = ato(capsys, "runs", "--db", make_db(tmp_path))
    assert code == 1 and out == "" and fragment in err and "Traceback" not in err


def _text_file(folder: Path) -> str:
    path = folder / "notes.db"
    path.write_text("these are notes\n" * 20)
    return str(path)


def test_a_uuid_prefix_of_digits_only_is_found_when_no_run_has_that_id(capsys, tmp_path):
    import sqlite3

    url = f"sqlite:///{tmp_path / 'ids.db'}"
    ids = log_runs(url)
    uuid = "12345678-0000-4000-8000-000000000000"
    with sqlite3.connect(tmp_path / "ids.db") as connection:
        connection.execute("UPDATE experiments SET uuid = ? WHERE id = ?", (uuid, ids[1]))
    assert as_json(capsys, "show", "12345678", "--db", url)["id"] == ids[1]
    assert as_json(capsys, "show", str(ids[0]), "--db", url)["id"] == ids[0]  # ids first


def test_digits_with_a_leading_zero_matching_an_id_and_a_uuid_are_ambiguous(capsys, tmp_path):
    import sqlite3

    url = f"sqlite:///{tmp_path / 'ids.db'}"
    ids = log_runs(url)
    uuid = f"000{ids[0]}dd4-0000-4000-8000-000000000000"
    with sqlite3.connect(tmp_path / "ids.db") as connection:
        connection.execute("UPDATE experiments SET uuid = ? WHERE id = ?", (uuid, ids[1]))
    status, out, err = ato(capsys, "show", f"000{ids[0]}", "--db", url)
    assert status == 1 and out == ""
    assert f"run {ids[0]}'s id" in err and f"run {ids[1]}'s UUID" in err
    assert "Traceback" not in err
    assert as_json(capsys, "show", str(ids[0]), "--db", url)["id"] == ids[0]


def test_a_prefix_too_short_for_a_uuid_says_how_long_one_must_be(capsys, tmp_path):
    url = f"sqlite:///{tmp_path / 'ids.db'}"
    log_runs(url)
    status, _, err = ato(capsys, "show", "abc", "--db", url)
    assert status == 1 and "at least 4 characters" in err


def test_db_may_come_before_the_command_and_after_it_wins(capsys, db, tmp_path):
    url, _ = db
    projects = as_json(capsys, "--db", url, "runs")
    assert [p["name"] for p in projects] == ["nlp", "vision"]
    missing = tmp_path / "missing.db"
    status, _, err = ato(capsys, "--db", str(missing), "runs", "--db", url)
    assert status == 0, err
    status, _, err = ato(capsys, "--db", url, "runs", "--db", str(missing))
    assert status == 1 and "--db=" in err and not missing.exists()


@pytest.mark.parametrize("command", [["merge", "a.db", "b.db"], ["migrate", "a.db"]])
def test_db_is_refused_by_the_commands_that_name_their_databases(capsys, tmp_path, command):
    os.chdir(tmp_path)
    status, _, err = ato(capsys, "--db", "x.db", *command)
    assert status == 2
    assert f"--db 'x.db' does not apply to ato {command[0]}" in err and "Drop --db" in err
    assert not list(tmp_path.iterdir())  # nothing created


def test_a_database_error_names_where_the_url_was_given(capsys, tmp_path, monkeypatch):
    """--db, $ATO_DB, the default, and the positional databases of merge and migrate: each
    error says which one to change, never a config key the user did not write."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ATO_DB", raising=False)
    (tmp_path / "junk.db").write_text("not a database\n")

    def error(*args: str) -> str:
        status, _, err = ato(capsys, *args)
        assert status == 1 and err.startswith("ato: error: ") and "Traceback" not in err
        assert "experiment.sql.db_path" not in err
        return err

    assert "from the default database 'sqlite:///experiments.db' (no --db given" in error("runs")
    err = error("runs", "--db", "junk.db")
    assert "--db='junk.db' is not an SQLite database" in err and "give --db another path" in err
    monkeypatch.setenv("ATO_DB", "postgresq://u:pw@h/d")
    err = error("runs")
    assert "ATO_DB='postgresq://u:***@h/d' has the scheme 'postgresq'" in err
    assert "pw" not in err
    monkeypatch.delenv("ATO_DB")
    err = error("merge", "new.db", "junk.db")
    assert "'junk.db' (a SOURCE of ato merge) is not an SQLite database" in err
    assert "name another path as the SOURCE" in err
    err = error("merge", str(tmp_path / "no" / "t.db"), "junk.db")
    assert "(the TARGET of ato merge)" in err and "folder" in err
    assert "(the DATABASE of ato migrate)" in error("migrate", "nothere.db")


def test_a_config_with_an_int_past_the_digit_limit_is_shown_and_exported(capsys, tmp_path):
    from ato.adict import ADict
    from ato.tracking import SQLLogger

    url = f"sqlite:///{tmp_path / 'runs.db'}"
    for big in (10**5000, 10**5000 + 1):
        logger = SQLLogger.open(url, "p")
        logger.config = ADict(big=big)
        logger.run()
        logger.finish()
    shown = as_json(capsys, "show", "1", "--db", url)
    assert "100000…000000 (5,001 digits)" in json.dumps(shown, ensure_ascii=False)
    status, out, err = ato(capsys, "explain", "1", "2", "--db", url)
    assert status == 0, err
    assert "100000…000000 (5,001 digits)" in out and "100000…000001 (5,001 digits)" in out
    as_json(capsys, "explain", "1", "2", "--db", url)


@pytest.mark.parametrize("tolerance", ["nan", "-1", "inf", "abc"])
def test_a_tolerance_that_is_no_relative_gap_is_refused(capsys, tolerance):
    with pytest.raises(SystemExit) as stop:
        main(["explain", "1", "2", f"--tolerance={tolerance}"])
    assert stop.value.code == 2
    assert "is not a relative gap of 0 or more" in capsys.readouterr().err


def test_a_damaged_database_is_one_line_saying_how_to_recover(capsys, tmp_path):
    import sqlite3

    path = tmp_path / "damaged.db"
    url = f"sqlite:///{path}"
    log_runs(url)
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    page = 4096
    data[2 * page : 4 * page] = b"\xff" * (2 * page)  # pages of the tables, not the header
    path.write_bytes(bytes(data))
    for command in (["runs"], ["show", "1"]):
        status, _, err = ato(capsys, *command, "--db", url)
        assert status == 1 and "Traceback" not in err, err
        assert "is damaged" in err and ".recover" in err and "damaged.db" in err


@pytest.mark.parametrize(
    ("table", "column", "where", "stored"),
    [
        ("experiments", "config", "id = 2", "{oops"),
        ("experiments", "config", "id = 2", "[]"),
        ("experiments", "provenance", "id = 2", "{oops"),
        ("experiments", "provenance", "id = 2", "3"),
        ("experiments", "argv", "id = 2", "{oops"),
        ("experiments", "tags", "id = 2", '"str"'),
        ("environments", "record", "1 = 1", "{oops"),
    ],
)
def test_a_stored_value_edited_by_hand_is_one_line(capsys, tmp_path, table, column, where, stored):
    """A JSON column that is not what ato wrote (edited by hand, damaged) is an error that
    names the run, the column and the database, never a traceback."""
    import sqlite3

    path = tmp_path / "edited.db"
    url = f"sqlite:///{path}"
    log_runs(url)
    with sqlite3.connect(path) as connection:
        connection.execute(f"UPDATE {table} SET {column} = ? WHERE {where}", (stored,))
    for command in (["show", "2"], ["explain", "1", "2"], ["explain", "1", "2", "--json"]):
        status, _, err = ato(capsys, *command, "--db", url)
        assert "Traceback" not in err, (command, err)
        if command == ["show", "2"] or column != "tags":  # explain reads no tags
            assert status == 1, (command, err)
            assert "edited.db" in err and "is not what ato wrote" in err, err


def test_explain_says_when_runs_are_of_two_projects_or_one_run(capsys, db):
    db, _ = db
    status, out, err = ato(capsys, "explain", "1", "4", "--db", db)
    assert status == 0, err
    assert "(runs of two projects, 'vision' and 'nlp'" in out
    status, out, err = ato(capsys, "explain", "2", "2", "--db", db)
    assert status == 0 and "(run 2 compared with itself)" in out


def test_an_empty_db_option_is_refused(capsys):
    status, _, err = ato(capsys, "runs", "--db", "")
    assert status == 2 and "--db is empty" in err

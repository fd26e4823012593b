"""The environment record: what it holds, its hash, git state, and diffs."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import pytest

from ato import environment


def test_capture_is_json_able_with_a_stable_hash():
    record = environment.capture()
    assert json.loads(json.dumps(record)) == record
    for key in ("python", "os", "cpu_count", "distributions", "git", "torch", "numpy", "variables"):
        assert key in record
    assert record["python"]["version"] == ".".join(map(str, sys.version_info[:3]))
    assert record["distributions"]["pyyaml"]
    assert set(record["variables"]) == set(environment.DETERMINISM_VARIABLES)
    assert record["hash"] == environment.environment_hash(record)
    assert environment.capture()["hash"] == record["hash"]


def test_capture_never_imports_torch():
    code = (
        "import sys; from ato import environment; environment.capture(); "
        "print('torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_distributions_read_from_folder_names(tmp_path):
    (tmp_path / "Some_Package-1.2.3.dist-info").mkdir()
    (tmp_path / "old_thing-0.1-py3.8.egg-info").mkdir()
    odd = tmp_path / "noversion.dist-info"
    odd.mkdir()
    (odd / "METADATA").write_text("Metadata-Version: 2.1\nName: noversion\nVersion: 9.9\n\n")
    found = environment.distributions([str(tmp_path)])
    assert found == {"noversion": "9.9", "old-thing": "0.1-py3.8", "some-package": "1.2.3"}


def git(folder, *args):
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True)


def committed(folder, files, *settings):
    """A repository in ``folder`` whose first commit holds ``files`` ({name: text});
    ``settings`` are ``git config`` pairs of the user's (``diff.noprefix``, ``true``)."""
    git(folder, "init", "-q", "-b", "main")
    git(folder, "config", "user.email", "t@example.invalid")
    git(folder, "config", "user.name", "t")
    for name, value in zip(settings[::2], settings[1::2], strict=True):
        git(folder, "config", name, value)
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(folder, "add", *files)
    git(folder, "commit", "-q", "-m", "one")


def test_git_state_clean_dirty_and_diff_hash(tmp_path):
    committed(tmp_path, {"train.py": "x = 1\n"})
    clean = environment.git_state(str(tmp_path))
    assert clean is not None
    assert clean["dirty"] is False and clean["branch"] == "main" and len(clean["commit"]) == 40
    (tmp_path / "train.py").write_text("x = 2\n")
    dirty = environment.git_state(str(tmp_path))
    assert dirty["dirty"] is True and len(dirty["diff_sha256"]) == 64
    (tmp_path / "train.py").write_text("x = 3\n")
    assert environment.git_state(str(tmp_path))["diff_sha256"] != dirty["diff_sha256"]
    (tmp_path / "new.py").write_text("")
    assert "new.py" in environment.git_state(str(tmp_path))["untracked"]


def test_uncommitted_changes_are_named_file_by_file(tmp_path):
    committed(tmp_path, {"train.py": "x = 1\n", "data.py": "x = 1\n"})
    (tmp_path / "data.py").write_text("x = 2\n")
    before = {"git": environment.git_state(str(tmp_path))}
    (tmp_path / "train.py").write_text("x = 3\n")
    after = {"git": environment.git_state(str(tmp_path))}
    assert set(after["git"]["modified"]) == {"train.py", "data.py"}
    changes = environment.diff(before, after, incidental=False)
    assert [str(change) for change in changes] == ["train.py has uncommitted changes (none before)"]


def test_git_state_outside_a_repository(tmp_path):
    assert environment.git_state(str(tmp_path)) is None


def test_diff_lists_packages_interpreter_commit_and_variables():
    before = environment.capture()
    after = copy.deepcopy(before)
    after["distributions"]["pyyaml"] = "999.0"
    after["distributions"]["brand-new"] = "1.0"
    del after["distributions"]["tomli-w"]
    after["python"]["version"] = "3.99.0"
    after["variables"]["PYTHONHASHSEED"] = "7"
    after["git"] = (
        {"commit": "abc"} if before["git"] is None else {**before["git"], "commit": "abc"}
    )
    changes = {str(change) for change in environment.diff(before, after)}
    assert f"package pyyaml upgraded: {before['distributions']['pyyaml']} -> 999.0" in changes
    assert "package brand-new added (1.0)" in changes
    assert any(text.startswith("package tomli-w removed") for text in changes)
    assert f"python.version changed: {before['python']['version']} -> 3.99.0" in changes
    assert "variables.PYTHONHASHSEED changed: None -> 7" in changes or any(
        text.startswith("variables.PYTHONHASHSEED changed") for text in changes
    )
    assert any(text.startswith("git commit ") for text in changes)
    assert environment.diff(before, copy.deepcopy(before)) == []


@pytest.mark.parametrize(
    ("old", "new", "kind"),
    [
        ("1.9", "1.10", "upgraded"),
        ("2.0", "1.99", "downgraded"),
        # PEP 440: a release candidate comes before its release, a dev release before both
        ("2.0.0rc1", "2.0.0", "upgraded"),
        ("2.0.0", "2.0.0.dev3", "downgraded"),
        ("1.0.post1", "1.0", "downgraded"),
        ("2.1.0+cpu", "2.1.0+cu118", "changed"),  # the same release, another build
        ("not-a-version", "also-not", "changed"),  # no order to tell: no direction
    ],
)
def test_versions_are_ordered_as_pep_440_orders_them(old, new, kind):
    change = environment.diff({"distributions": {"p": old}}, {"distributions": {"p": new}})
    assert change[0].kind == kind


def test_the_same_version_written_two_ways_is_no_change():
    assert (
        environment.diff({"distributions": {"p": "1.26"}}, {"distributions": {"p": "1.26.0"}}) == []
    )


def test_changes_are_material_or_incidental():
    before = environment.capture()
    after = copy.deepcopy(before)
    after["python"]["executable"] = "/elsewhere/bin/python"
    after["cpu_count"] = (before["cpu_count"] or 1) + 7
    after["os"]["release"] = "9.9.9-other"
    after["distributions"]["pyyaml"] = "999.0"
    after["variables"]["PYTHONHASHSEED"] = "1"
    changes = {change.what: change.material for change in environment.diff(before, after)}
    assert changes == {
        "python.executable": False,
        "cpu_count": False,
        "os.release": False,
        "package pyyaml": True,
        "variables.PYTHONHASHSEED": True,
    }
    material = environment.diff(before, after, incidental=False)
    assert {change.what for change in material} == {"package pyyaml", "variables.PYTHONHASHSEED"}


def test_untracked_files_are_a_set():
    before = {"git": {"untracked": ["a.py", "b.py"]}}
    same = {"git": {"untracked": ["b.py", "a.py"]}}
    assert environment.diff(before, same) == []
    other = {"git": {"untracked": ["b.py", "c.py"]}}
    changes = [(c.kind, c.what, c.before, c.after) for c in environment.diff(before, other)]
    assert changes == [
        ("added", "untracked file", None, "c.py"),
        ("removed", "untracked file", "a.py", None),
    ]
    assert not any(c.material for c in environment.diff(before, other))


def test_an_edit_to_an_untracked_file_changes_the_record(tmp_path):
    committed(tmp_path, {"train.py": "x = 1\n"})
    (tmp_path / ".gitignore").write_text("*.log\n")
    (tmp_path / "model.py").write_text("act = 'relu'\n")
    first = environment.git_state(str(tmp_path))
    (tmp_path / "model.py").write_text("act = 'gelu'\n")
    second = environment.git_state(str(tmp_path))
    assert first["untracked_sha256"] != second["untracked_sha256"]
    (tmp_path / "noise.log").write_text("ignored files do not count\n")
    assert environment.git_state(str(tmp_path))["untracked_sha256"] == second["untracked_sha256"]
    changes = environment.diff({"git": first}, {"git": second}, incidental=False)
    assert [str(change) for change in changes] == ["untracked file model.py changed"]
    # Against a record older than per-file hashes, the hash of all of them says it.
    older = {key: value for key, value in first.items() if key != "untracked_files"}
    changes = environment.diff({"git": older}, {"git": second}, incidental=False)
    assert [change.what for change in changes] == ["git.untracked_sha256"]


def test_untracked_files_are_named_when_added_removed_or_edited(tmp_path):
    committed(tmp_path, {"train.py": "x = 1\n"})
    (tmp_path / "old.txt").write_text("a\n")
    first = {"git": environment.git_state(str(tmp_path))}
    (tmp_path / "old.txt").unlink()
    (tmp_path / "notes.txt").write_text("b\n")
    second = {"git": environment.git_state(str(tmp_path))}
    changes = environment.diff(first, second, incidental=False)
    assert [str(change) for change in changes] == [
        "untracked file notes.txt added",
        "untracked file old.txt removed",
    ]


def test_the_trackers_own_database_is_not_an_untracked_change(tmp_path):
    """The default setup: ``experiments.db`` in the project's folder, not ignored. The
    tracker writes it (and its -wal, -shm, -journal) on every run; that is no change."""
    committed(tmp_path, {"train.py": "x = 1\n"})
    database = tmp_path / "experiments.db"
    database.write_bytes(b"one")
    (tmp_path / "experiments.db-wal").write_bytes(b"one")
    own = [str(database)]
    first = environment.git_state(str(tmp_path), exclude=own)
    database.write_bytes(b"two")
    (tmp_path / "experiments.db-wal").write_bytes(b"two")
    (tmp_path / "experiments.db-shm").write_bytes(b"two")
    second = environment.git_state(str(tmp_path), exclude=own)
    assert first == second
    assert "experiments.db" not in second.get("untracked", [])


def test_a_slow_git_is_recorded_as_unavailable(tmp_path, monkeypatch):
    git(tmp_path, "init", "-q", "-b", "main")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "git").write_text("#!/bin/sh\nsleep 5\n")
    (fake / "git").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    state = environment.git_state(str(tmp_path), deadline_s=0.5)
    assert state == {"unavailable": "git took longer than 0.5 s"}


def test_an_older_record_without_per_file_changes_compares_by_the_whole_patch(tmp_path):
    committed(tmp_path, {"notes.py": "x = 1\n"})
    clean = {"git": environment.git_state(str(tmp_path))}
    (tmp_path / "notes.py").write_text("x = 2\n")
    now = {"git": environment.git_state(str(tmp_path))}
    older = {"git": {k: v for k, v in now["git"].items() if k != "modified"}}
    assert environment.diff(older, now, incidental=False) == []  # the same patch
    assert [str(c) for c in environment.diff(clean, now, incidental=False)] == [
        "notes.py has uncommitted changes (none before)"
    ]


@pytest.mark.parametrize("name", ["é.py", "data b/train.py", "a b/c.py"])
def test_per_file_names_are_the_files_whatever_they_are_called(tmp_path, name):
    # diff.noprefix: a user's setting, not ours
    committed(tmp_path, {name: "x = 1\n", "c.py": "y = 1\n"}, "diff.noprefix", "true")
    (tmp_path / name).write_text("x = 2\n")
    assert list(environment.git_state(str(tmp_path))["modified"]) == [name]


def test_a_run_outside_git_and_a_package_seen_twice_read_plainly():
    inside = {"git": {"commit": "8073b7b" + "0" * 33, "modified": {"a.py": "x"}}}
    changes = environment.diff(inside, {"git": None}, incidental=False)
    assert [str(c) for c in changes] == [
        "no longer in a git checkout (before: commit 8073b7b00000, with uncommitted changes)"
    ]
    changes = environment.diff({"git": None}, inside, incidental=False)
    assert [str(c) for c in changes] == [
        "now in a git checkout (commit 8073b7b00000, with uncommitted changes; before: not in one)"
    ]
    old = {"distributions": {"numpy": "2.4.6"}, "numpy": {"version": "2.4.6", "blas": {}}}
    new = {"distributions": {"numpy": "2.4.5"}, "numpy": {"version": "2.4.5", "blas": {}}}
    assert [str(c) for c in environment.diff(old, new)] == [
        "package numpy downgraded: 2.4.6 -> 2.4.5"
    ]
    assert [str(c) for c in environment.diff(old, {"distributions": {}, "numpy": None})] == [
        "package numpy removed (was 2.4.6)",
        "numpy removed (was version 2.4.6)",
    ]


def test_past_a_hundred_untracked_files_only_the_named_window_is_compared(tmp_path):
    committed(tmp_path, {"train.py": "x = 1\n"})
    (tmp_path / "data").mkdir()
    for index in range(150):
        (tmp_path / "data" / f"f{index:03}.txt").write_text(str(index))
    first = {"git": environment.git_state(str(tmp_path))}
    (tmp_path / "data" / "a000.txt").write_text("new")  # sorts first: f099 leaves the window
    (tmp_path / "data" / "f141.txt").write_text("edited, past the first 100")
    (tmp_path / "data" / "f005.txt").write_text("edited, within them")
    second = {"git": environment.git_state(str(tmp_path))}
    said = [str(change) for change in environment.diff(first, second, incidental=False)]
    assert sorted(said) == [
        "untracked file data/a000.txt added",
        "untracked file data/f005.txt changed",
        "untracked files differ (their names and contents, hashed)",
    ]


def states(folder, *texts):
    """The git state of ``folder`` after each of ``texts``, ``{file: text or None}``
    (None: remove the file), is written."""
    found = []
    for files in texts:
        for name, text in files.items():
            if text is None:
                (folder / name).unlink()
            else:
                (folder / name).write_text(text)
        found.append({"git": environment.git_state(str(folder))})
    return found


def said(before, after, incidental=False):
    return [str(c) for c in environment.diff(before, after, incidental=incidental)]


COMMENTED = "x = 1  # the learning rate\n\n\ny = (\n    2\n)\n"


def test_an_uncommitted_edit_to_comments_or_layout_only_is_no_cause(tmp_path):
    committed(tmp_path, {"train.py": "x = 1\ny = 2\n", "data.txt": "a\n"})
    clean, commented = states(tmp_path, {}, {"train.py": COMMENTED})
    assert commented["git"]["dirty"] and "train.py" in commented["git"]["modified"]
    assert said(clean, commented) == []
    assert said(commented, clean) == []
    assert said(clean, commented, incidental=True) == [
        "git.dirty changed: False -> True",
        "train.py has uncommitted changes to comments or layout only (none before)",
    ]
    change = environment.diff(clean, commented)[-1]
    assert not change.material and change.to_dict()["cosmetic"] is True
    # A file that is not Python, edited, still counts whatever the edit.
    (edited,) = states(tmp_path, {"data.txt": "a  # b\n"})
    assert said(commented, edited) == ["data.txt has uncommitted changes (none before)"]


def test_an_uncommitted_edit_to_what_the_code_does_still_counts(tmp_path):
    committed(tmp_path, {"train.py": "x = 1\n"})
    first, second, third, fourth = states(
        tmp_path,
        {"train.py": "x = 2\n"},
        {"train.py": "x = 2  # two\n"},  # the same logic as the first: comments only
        {"train.py": "x = 3  # three\n"},
        {"train.py": '"""A docstring counts: a program may read it."""\nx = 3\n'},
    )
    assert said(first, second) == []
    assert said(first, second, incidental=True) == [
        "train.py's uncommitted changes differ in comments or layout only"
    ]
    assert said(second, third) == ["train.py's uncommitted changes differ"]
    assert said(third, fourth) == ["train.py's uncommitted changes differ"]
    (broken,) = states(tmp_path, {"train.py": "x = (3  # saved mid-edit\n"})
    (mended,) = states(tmp_path, {"train.py": "x = (3)  # saved mid-edit\n"})
    assert said(broken, mended) == ["train.py's uncommitted changes differ"]
    (gone,) = states(tmp_path, {"train.py": None})
    assert said(mended, gone) == ["train.py's uncommitted changes differ"]


def test_an_untracked_file_edited_in_comments_only_is_no_cause(tmp_path):
    committed(tmp_path, {"train.py": "x = 1\n"})
    none, first, second, third = states(
        tmp_path,
        {},
        {"model.py": "act = 'relu'\n"},
        {"model.py": "# which activation\nact = 'relu'\n"},
        {"model.py": "act = 'gelu'\n"},
    )
    assert said(none, first) == ["untracked file model.py added"]
    assert said(first, second) == []
    assert said(first, second, incidental=True) == [
        "untracked file model.py changed in comments or layout only"
    ]
    assert said(second, third) == ["untracked file model.py changed"]


def test_logic_known_only_on_one_side_or_at_other_commits_still_counts(tmp_path):
    committed(tmp_path, {"train.py": "x = 1\n"})
    clean, commented = states(tmp_path, {}, {"train.py": "x = 1  # c\n"})
    older = {"git": {k: v for k, v in commented["git"].items() if k != "logic"}}
    assert said(clean, older) == ["train.py has uncommitted changes (none before)"]
    elsewhere = copy.deepcopy(clean)
    elsewhere["git"]["commit"] = "0" * 40  # the file as committed there is not known
    assert "train.py has uncommitted changes (none before)" in said(elsewhere, commented)


def test_only_the_changed_python_files_are_read_and_within_the_deadline(tmp_path):
    committed(tmp_path, {"train.py": "x = 1\n", "notes.md": "a\n"})
    (tmp_path / "notes.md").write_text("b\n")
    (tmp_path / "train.py").write_text("x = 1  # c\n")
    (tmp_path / "odd\nname.py").write_text("y = 1\n")
    state = environment.git_state(str(tmp_path))
    assert set(state["logic"]) == {"train.py", "odd\nname.py"}
    assert state["logic"]["train.py"][0] == state["logic"]["train.py"][1]
    assert state["logic"]["odd\nname.py"][0] is None  # untracked: nothing committed


def test_files_not_read_within_the_time_allowed_count_as_they_are(tmp_path, monkeypatch):
    from ato import git_state

    committed(tmp_path, {"train.py": "x = 1\n"})
    monkeypatch.setattr(git_state, "_LOGIC_BUDGET_S", 0.0)
    clean, commented = states(tmp_path, {}, {"train.py": "x = 1  # c\n"})
    assert commented["git"]["logic"] == {}
    assert said(clean, commented) == ["train.py has uncommitted changes (none before)"]


def test_a_folder_named_like_a_python_file_does_not_shift_the_others(tmp_path):
    committed(tmp_path, {"pkg.py/x.py": "def f():\n    return 42\n", "z.py": "x = 1\n"})
    before = {"git": environment.git_state(str(tmp_path))}
    git(tmp_path, "rm", "-rq", "pkg.py")
    (tmp_path / "pkg.py").write_text("A = 1\n")  # a folder in HEAD, a file now
    git(tmp_path, "add", "pkg.py")
    (tmp_path / "z.py").write_text("x = 42\n")  # a real change
    after = {"git": environment.git_state(str(tmp_path))}
    assert after["git"]["logic"]["z.py"][0] != after["git"]["logic"]["z.py"][1]
    assert "z.py has uncommitted changes (none before)" in said(before, after)


def test_type_comments_count_and_a_big_file_is_not_parsed():
    from ato.source_logic import LOGIC_LIMIT, logic_of

    torchscript = "def f(x):\n    # type: (Tensor) -> Tensor\n    return x\n"
    assert logic_of(torchscript.encode()) != logic_of(
        torchscript.replace("Tensor)", "int)").encode()
    )
    assert logic_of(b"x = 1\n" + b"#" * LOGIC_LIMIT) is None

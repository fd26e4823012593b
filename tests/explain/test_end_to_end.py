"""`ato explain` on real programs run twice in subprocesses: each cause is named.

(a) a command-line override; (b) a cosmetic then a logical edit of a traced function;
(c) an edited helper, defined above and below the traced function; (d) a runtime trace
diverging at call 2 with code and config unchanged; (e) a package upgraded between two
virtual environments; (f) two runs in one process; (g) a 2.x database, read and left
byte-identical.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from tests.conftest import DATA

PROGRAM = """
import os
from ato.scope import Scope
from ato.tracking import SQLLogger

scope = Scope(name="train")

@scope.observe(default=True)
def defaults(config):
    config.experiment = {{"project_name": "demo", "sql": {{"db_path": "sqlite:///runs.db"}}}}
    config.lr = 0.01
    config.epochs = 3

{helpers_above}
@scope.trace(trace_id="train_step")
def train_step(x, lr):
{body}
{helpers_below}
@scope.runtime_trace(trace_id="predictions")
def predict(call):
    with open("data.txt") as handle:
        return handle.read().splitlines()[call]

@scope
def main(train):
    logger = SQLLogger(train)
    with logger.run():
        value = 1.0
        for epoch in range(train.epochs):
            value = train_step(value, train.lr)
            predict(epoch)
            logger.log_metric("loss", value, step=epoch)

main()
"""

BODY = "    step_size = lr * x  # plain SGD\n    return x - step_size\n"


def write_program(folder: Path, body: str = BODY, above: str = "", below: str = "") -> None:
    source = PROGRAM.format(body=body, helpers_above=above, helpers_below=below)
    (folder / "train.py").write_text(textwrap.dedent(source))
    if not (folder / "data.txt").exists():
        (folder / "data.txt").write_text("a\nb\nc\n")


def run(folder: Path, *args: str, python: str = sys.executable) -> None:
    result = subprocess.run(
        [python, "train.py", *args], cwd=folder, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def ato(folder: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "ato", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "ATO_DB": "sqlite:///runs.db"},
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def explain(folder: Path, a: str = "1", b: str = "2") -> dict:
    return json.loads(ato(folder, "explain", a, b, "--json").stdout)


def test_a_command_line_override_is_the_cause(tmp_path):
    write_program(tmp_path)
    run(tmp_path)
    run(tmp_path, "lr=0.1")
    report = explain(tmp_path)
    assert [(c["key"], c["before"], c["after"]) for c in report["config"]] == [("lr", 0.01, 0.1)]
    assert report["config"][0]["source_after"] == "command line 'lr=0.1'"
    assert report["verdict"].startswith("Same code and environment. Config differs in 1 key:")
    assert "lr 0.01 -> 0.1 (command line 'lr=0.1' in run 2" in report["verdict"]
    assert report["code"] == [] and report["runtime"] == []
    assert report["command"]["only_after"] == ["lr=0.1"]
    plain = ato(tmp_path, "explain", "2").stdout  # against the run before it
    assert "lr 0.01 -> 0.1" in plain


def test_a_cosmetic_edit_is_no_change_and_a_logical_one_is_named(tmp_path):
    write_program(tmp_path)
    run(tmp_path)
    cosmetic = (
        "    # the same step, reformatted\n    delta = (lr *\n             x)\n"
        "    return x - delta\n"
    )
    write_program(tmp_path, body=cosmetic)
    run(tmp_path)
    report = explain(tmp_path)
    assert report["code"] == []
    assert report["verdict"].startswith("Same code and environment.")
    write_program(tmp_path, body="    return x - lr * x * x\n")
    run(tmp_path)
    report = explain(tmp_path, "2", "3")
    (change,) = report["code"]
    assert (change["trace_id"], change["change"]) == ("train_step", "changed")
    assert "+    return x - lr * x * x" in change["diff"]
    assert "Code differs: `train_step` changed" in report["verdict"]


@pytest.mark.parametrize("where", ["above", "below"])
def test_an_edited_helper_is_named(tmp_path, where):
    body = "    return x - lr * scale(x)\n"
    helper = "def scale(x):\n    return {}\n\n"
    write_program(tmp_path, body=body, **{where: helper.format("x")})
    run(tmp_path)
    write_program(tmp_path, body=body, **{where: helper.format("2 * x")})
    run(tmp_path)
    report = explain(tmp_path)
    (change,) = report["code"]
    assert change["change"] == "callee changed"
    assert [callee["trace_id"] for callee in change["callees"]] == ["__main__.scale"]
    assert "+    return 2 * x" in change["callees"][0]["diff"]
    assert "`train_step` calls changed code (`__main__.scale`)" in report["verdict"]


def test_a_helper_renamed_with_its_call_and_its_code_unchanged_is_no_cause(tmp_path):
    helper = "def {}(x):\n    return 2 * x\n\n"
    write_program(tmp_path, body="    return x - lr * scale(x)\n", above=helper.format("scale"))
    run(tmp_path)
    body = "    return x - lr * scale_by(x)\n"
    write_program(tmp_path, body=body, above=helper.format("scale_by"))
    run(tmp_path)
    report = explain(tmp_path)
    assert report["verdict"] == "Same code and environment. Same config.", report["verdict"]
    (change,) = report["code"]
    assert change["helpers_renamed"] == {"__main__.scale": "__main__.scale_by"}
    shown = ato(tmp_path, "explain", "1", "2").stdout
    assert "train_step: calls __main__.scale_by (was __main__.scale), the same code" in shown
    write_program(tmp_path, body=body, above=helper.format("scale_by").replace("2 *", "3 *"))
    run(tmp_path)  # its code edited: a cause again
    assert "`train_step` changed" in explain(tmp_path, "1", "3")["verdict"]


MODEL_PROGRAM = """
from ato.scope import Scope
from ato.tracking import SQLLogger

scope = Scope(name="train")

@scope.observe(default=True)
def defaults(config):
    config.experiment = {{"project_name": "demo", "sql": {{"db_path": "sqlite:///runs.db"}}}}

class Net:
    def __call__(self, x):
        return x * {scale}

@scope.trace(trace_id="forward_pass")
def forward(model{annotation}, x):
    return model(x)

@scope
def main(train):
    logger = SQLLogger(train)
    with logger.run():
        logger.log_metric("out", forward(Net(), 1.0), step=0)

main()
"""


def test_an_edit_to_the_class_of_a_model_passed_in_is_named_by_its_annotation(tmp_path):
    for scale, annotation in (("2", ""), ("3", ""), ("3", ': "Net"'), ("2", ': "Net"')):
        source = MODEL_PROGRAM.format(scale=scale, annotation=annotation)
        (tmp_path / "train.py").write_text(textwrap.dedent(source))
        run(tmp_path)
    unannotated = explain(tmp_path)
    assert unannotated["code"] == []  # its class is known only once it is called
    assert unannotated["verdict"].endswith(
        "No recorded cause; metrics differ: out 2.0 -> 3.0. Not seen: what `forward_pass` calls "
        "on its argument model (model(...)), which nothing in its signature names. Name it "
        "there so that an edit to it counts: a class as the annotation (model: Net), a "
        "function as the default (fn=loss_fn)."
    )
    hinted = explain(tmp_path, "2", "3")  # the annotation added, the class the same
    assert hinted["code"] == []
    assert hinted["verdict"] == "Same code and environment. Same config.", hinted["verdict"]
    report = explain(tmp_path, "3", "4")
    (change,) = report["code"]
    assert (change["trace_id"], change["change"]) == ("forward_pass", "callee changed")
    assert [callee["trace_id"] for callee in change["callees"]] == ["__main__.Net"]
    assert "+        return x * 2" in change["callees"][0]["diff"]
    assert "`forward_pass` calls changed code (`__main__.Net`)" in report["verdict"]


def test_a_runtime_trace_diverging_at_call_2_is_named(tmp_path):
    write_program(tmp_path)
    run(tmp_path)
    (tmp_path / "data.txt").write_text("a\nb\nchanged\n")
    run(tmp_path)
    report = explain(tmp_path)
    assert report["code"] == [] and report["config"] == []
    (divergence,) = report["runtime"]
    assert (divergence["trace_id"], divergence["first_call"]) == ("predictions", 2)
    assert divergence["code_and_config_identical"] is True
    assert "Outputs of `predictions` first differ at call 2" in report["verdict"]


def _wheel(folder: Path, version: str) -> Path:
    """A real wheel of a tiny package, built by hand (no build backend, no network)."""
    path = folder / f"tinydep-{version}-py3-none-any.whl"
    info = f"tinydep-{version}.dist-info"
    files = {
        "tinydep.py": f"VERSION = {version!r}\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: tinydep\nVersion: {version}\n",
        f"{info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = "".join(f"{name},,\n" for name in files) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
        archive.writestr(f"{info}/RECORD", record)
    return path


def _venv(folder: Path, wheel: Path) -> str:
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120
    )
    python = str(folder / "bin" / "python")
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # ato and its dependencies come from this test's interpreter; tinydep is the venv's own.
    here = [p for p in sys.path if p.endswith("site-packages") or p.endswith("src")]
    Path(site, "ato_test_paths.pth").write_text("\n".join(here) + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--target",
            site,
            str(wheel),
        ],
        check=True,
        timeout=120,
    )
    return python


def test_a_package_upgraded_between_two_virtual_environments(tmp_path):
    write_program(tmp_path)
    old = _venv(tmp_path / "env-old", _wheel(tmp_path, "1.16.0"))
    new = _venv(tmp_path / "env-new", _wheel(tmp_path, "1.17.0"))
    run(tmp_path, python=old)
    run(tmp_path, python=new)
    report = explain(tmp_path)
    material = [c for c in report["environment"]["changes"] if c["material"]]
    assert {
        "kind": "upgraded",
        "what": "package tinydep",
        "before": "1.16.0",
        "after": "1.17.0",
        "material": True,
    } in material
    assert "package tinydep upgraded: 1.16.0 -> 1.17.0" in report["verdict"]
    assert all(c["what"] != "python.executable" for c in report["environment"]["changes"])


TWO_RUNS = """
from ato.scope import Scope
from ato.tracking import SQLLogger

scope = Scope(name="twice")

@scope.observe(default=True)
def defaults(config):
    config.experiment = {"project_name": "demo", "sql": {"db_path": "sqlite:///runs.db"}}
    config.lr = 0.01

@scope.runtime_trace(trace_id="outputs")
def outputs(i):
    return i * 2

config = scope.apply()
outputs(99)  # before any run: belongs to none
for lr in (0.01, 0.02):
    config.lr = lr
    logger = SQLLogger(config)  # one logger per job, as a Hydra multirun makes them
    with logger.run():
        for i in range(3):
            outputs(i)
"""


def test_two_runs_in_one_process_store_only_their_own_calls(tmp_path):
    (tmp_path / "train.py").write_text(textwrap.dedent(TWO_RUNS))
    run(tmp_path)
    shown = [json.loads(ato(tmp_path, "show", str(i), "--json").stdout) for i in (1, 2)]
    assert [s["runtime_calls"] for s in shown] == [{"outputs": 3}, {"outputs": 3}]
    report = explain(tmp_path)
    assert report["runtime"] == []  # the same outputs, call by call
    assert [(c["key"], c["before"], c["after"]) for c in report["config"]] == [("lr", 0.01, 0.02)]


def test_a_2x_database_is_read_and_left_byte_identical(tmp_path):
    database = tmp_path / "runs.db"
    shutil.copy(DATA / "tracker" / "ato214.db", database)
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    listing = json.loads(ato(tmp_path, "runs", "--json").stdout)
    assert listing, "the 2.x database has projects"
    project = max(listing, key=lambda p: p["runs"])["name"]
    runs = json.loads(ato(tmp_path, "runs", project, "--json").stdout)
    assert len(runs) >= 2
    first, second = str(runs[0]["id"]), str(runs[1]["id"])
    ato(tmp_path, "show", first, "--json")
    report = explain(tmp_path, first, second)
    assert report["verdict"]
    assert all(
        c["source_before"] == "unknown" and c["source_after"] == "unknown" for c in report["config"]
    )
    assert hashlib.sha256(database.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.db"]  # no -wal, no -shm


@pytest.mark.parametrize(
    ("args", "status", "fragment"),
    [
        (["explain", "1", "99"], 1, "No run 99"),
        (["runs", "nosuchproject"], 1, "demo"),
        (["show", "1", "--db", "sqlite:///missing.db"], 1, "missing.db"),
        (["explain"], 2, "usage"),
    ],
)
def test_errors_are_one_line_without_traceback(tmp_path, args, status, fragment):
    write_program(tmp_path)
    run(tmp_path)
    result = ato(tmp_path, *args, check=False)
    assert result.returncode == status
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr


def test_traces_lists_each_version_and_what_changed(tmp_path):
    body = "    return x - lr * scale(x)\n"
    helper = "def scale(x):\n    return {}\n\n"
    write_program(tmp_path, body=body, below=helper.format("x"))
    run(tmp_path)
    run(tmp_path)  # the same code: the same version
    write_program(tmp_path, body=body, below=helper.format("2 * x"))
    run(tmp_path)
    write_program(tmp_path, body="    return x - lr * scale(x) * 3\n", below=helper.format("2 * x"))
    run(tmp_path)
    versions = json.loads(
        ato(tmp_path, "traces", "demo", "train_step", "--json", "--metric", "loss").stdout
    )
    assert [v["runs"] for v in versions] == [[1, 2], [3], [4]]
    assert [v["change"] for v in versions] == [None, "calls __main__.scale", "the function itself"]
    assert all(v["best"] is not None for v in versions)
    stats = subprocess.run(
        [
            sys.executable,
            "-c",
            "from ato.tracking import SQLFinder; "
            "print(SQLFinder('sqlite:///runs.db').get_trace_statistics('demo', 'train_step'))",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "'static_trace_versions': 3" in stats


def test_a_run_started_with_python_m_shows_the_command_as_typed(tmp_path):
    write_program(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "train", "lr=0.5"], cwd=tmp_path, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    shown = ato(tmp_path, "show", "1").stdout
    assert "command: -m train lr=0.5" in shown


def test_a_program_run_by_another_module_or_as_a_folder_keeps_its_argv(tmp_path):
    write_program(tmp_path)
    (tmp_path / "appdir").mkdir()
    (tmp_path / "appdir" / "__main__.py").write_text((tmp_path / "train.py").read_text())
    for command in (["-m", "cProfile", "-o", "prof.out", "train.py", "lr=0.5"], ["appdir"]):
        result = subprocess.run(
            [sys.executable, *command], cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
    assert "command: train.py lr=0.5" in ato(tmp_path, "show", "1").stdout
    assert "command: appdir" in ato(tmp_path, "show", "2").stdout


def test_runs_in_a_git_checkout_beside_their_database_are_the_same(tmp_path):
    """The default layout: the database in the project's folder, under git, not ignored.
    The tracker rewrites it on every run; identical runs are still the same."""
    write_program(tmp_path)
    for step in (("init", "-q", "-b", "main"), ("add", "train.py", "data.txt")):
        subprocess.run(["git", *step], cwd=tmp_path, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one"],
        cwd=tmp_path,
        check=True,
    )
    for _ in range(3):
        run(tmp_path)
    report = explain(tmp_path, "2", "3")
    assert report["verdict"].startswith("Same code and environment."), report["verdict"]
    (tmp_path / "notes.txt").write_text("an untracked file\n")
    run(tmp_path)
    assert "untracked file notes.txt added" in explain(tmp_path, "3", "4")["verdict"]


def git_commit(folder: Path, message: str) -> None:
    """Everything in ``folder`` committed."""
    subprocess.run(["git", "add", "-A"], cwd=folder, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message],
        cwd=folder,
        check=True,
    )


def program_under_git(folder: Path) -> None:
    """The program in a new repository, committed; its database ignored."""
    write_program(folder)
    (folder / ".gitignore").write_text("runs.db*\n")
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=folder, check=True)
    git_commit(folder, "one")


def test_a_new_commit_names_the_files_that_differ(tmp_path):
    def commit(message):
        git_commit(tmp_path, message)

    program_under_git(tmp_path)
    run(tmp_path)
    (tmp_path / "notes.md").write_text("what changed\n")
    commit("two")
    run(tmp_path)
    verdict = explain(tmp_path)["verdict"]
    assert "git commit " in verdict and "(1 file differs: notes.md)" in verdict, verdict


def test_edits_to_comments_and_layout_alone_are_no_cause_committed_or_not(tmp_path):
    def commit(message):
        git_commit(tmp_path, message)

    program_under_git(tmp_path)
    run(tmp_path)
    program = tmp_path / "train.py"
    text = program.read_text()
    program.write_text("# Trains the toy model.\n" + text.replace("\n\n\n", "\n\n\n\n"))
    run(tmp_path)  # 2: uncommitted, comments and blank lines only
    report = explain(tmp_path, "1", "2")
    assert report["verdict"].startswith("Same code and environment."), report["verdict"]
    incidental = ato(tmp_path, "explain", "1", "2", "--incidental").stdout
    assert "train.py has uncommitted changes to comments or layout only" in incidental
    commit("two: a comment")
    run(tmp_path)  # 3: the comment committed
    report = explain(tmp_path, "1", "3")
    assert report["verdict"].startswith("Same code and environment."), report["verdict"]
    incidental = ato(tmp_path, "explain", "1", "3", "--incidental").stdout
    assert "(1 file differs in comments or layout only: train.py)" in incidental
    (tmp_path / "notes.md").write_text("not Python: any edit counts\n")
    commit("three")
    run(tmp_path)
    verdict = explain(tmp_path, "3", "4")["verdict"]
    assert "(1 file differs: notes.md)" in verdict, verdict


LAZY_IMPORT = """
import importlib
import os
import signal
from ato.scope import Scope
from ato.tracking import SQLLogger

scope = Scope(name="train")

@scope.observe(default=True)
def defaults(config):
    config.experiment = {"project_name": "demo", "sql": {"db_path": "sqlite:///runs.db"}}
    config.model = "small"
    config.die = False

@scope.trace(trace_id="train_step")
def train_step(x, name):
    BODY

@scope
def main(train):
    logger = SQLLogger(train)
    logger.run()
    logger.log_metric("out", train_step(1.0, train.model))
    if train.die:
        os.kill(os.getpid(), signal.SIGKILL)
    logger.finish()

main()
"""


def _lazy_program(folder: Path, body: str, small: str = "2", big: str = "3") -> None:
    (folder / "models").mkdir(exist_ok=True)
    (folder / "models" / "__init__.py").write_text("")
    (folder / "models" / "small.py").write_text(f"def build(x):\n    return x * {small}\n")
    (folder / "models" / "big.py").write_text(f"def build(x):\n    return x * {big}\n")
    (folder / "train.py").write_text(LAZY_IMPORT.replace("BODY", body))


@pytest.mark.parametrize(
    ("ending", "body"),
    [
        ("finished", 'return importlib.import_module(f"models.{name}").build(x)'),
        ("killed", 'return importlib.import_module("models." + name).build(x)'),
        ("finished", 'return importlib.import_module("models.small").build(x)'),
        ("finished", "from models import small\n    return small.build(x)"),
    ],
)
def test_an_edit_to_a_module_the_run_imports_as_it_runs_is_named(tmp_path, ending, body):
    """A module a traced function imports as it runs is loaded only after the run began:
    its file counts from the start, so an edit to it is named (the diff shown), whether
    the run finished or was killed with kill -9. It read "Same code"."""
    args = ["die=True"] if ending == "killed" else []
    for factor in ("2", "2.5"):
        _lazy_program(tmp_path, body, small=factor)
        result = subprocess.run(
            [sys.executable, "train.py", *args], cwd=tmp_path, capture_output=True, timeout=120
        )
        assert result.returncode == (-9 if args else 0), result.stderr
    report = explain(tmp_path)
    (change,) = report["code"]
    assert change["change"] == "may run changed"
    ((callee),) = change["callees"]
    assert (callee["trace_id"], callee["may_run"]) == ("models.small", True)
    assert "+    return x * 2.5" in callee["diff"]
    assert (
        "Same code and environment, apart from 1 module imported as it runs, a cause if "
        "the run imported it: `models.small` (by `train_step`). Same config." in report["verdict"]
    ), report["verdict"]
    text = ato(tmp_path, "explain", "1", "2").stdout
    assert "may import models.small as it runs: changed" in text


def test_choosing_another_module_to_import_is_a_config_change_not_a_code_change(tmp_path):
    """model=big after model=small, no file edited: the config differs, the code does
    not, also when one process runs small, big, then small again (big stays loaded)."""
    _lazy_program(tmp_path, 'return importlib.import_module(f"models.{name}").build(x)')
    run(tmp_path)
    run(tmp_path, "model=big")
    report = explain(tmp_path)
    assert report["code"] == []
    assert [c["key"] for c in report["config"]] == ["model"]
    assert report["verdict"].startswith("Same code and environment."), report["verdict"]
    sweep = LAZY_IMPORT.replace(
        "main()\n",
        "import sys\nfor name in ('small', 'big', 'small'):\n"
        "    sys.argv[1:] = [f'model={name}']\n    main()\n",
    )
    (tmp_path / "train.py").write_text(
        sweep.replace("BODY", 'return importlib.import_module(f"models.{name}").build(x)')
    )
    run(tmp_path)
    report = explain(tmp_path, "3", "5")
    assert report["code"] == [] and report["config"] == [], report["verdict"]


@pytest.mark.parametrize(
    "body",
    [
        "from models import small\n    return small.build(x)",
        "import models.small\n    return models.small.build(x)",
        'return importlib.import_module("models.small").build(x)',
    ],
)
def test_a_module_imported_in_the_body_reads_the_same_in_a_fresh_process_and_a_sweep(
    tmp_path, body
):
    """Run 1 starts with models.small not loaded; runs 2 and 3, in one process, start
    with it loaded by the run before. The same code throughout (it read "now calls
    models.small.build"); an edit to the file during the sweep does not run (the module
    is loaded already) and is not reported either."""
    _lazy_program(tmp_path, body)
    run(tmp_path)
    sweep = LAZY_IMPORT.replace(
        "main()\n",
        "import pathlib, sys\nmain()\nmain()\n"
        "pathlib.Path('models/small.py').write_text('def build(x):\\n    return -x\\n')\n"
        "main()\n",
    )
    (tmp_path / "train.py").write_text(sweep.replace("BODY", body))
    run(tmp_path)
    for first, second in (("1", "2"), ("1", "3"), ("2", "3"), ("3", "4")):
        report = explain(tmp_path, first, second)
        assert report["code"] == [], (first, second, report["verdict"])
        assert report["verdict"].startswith("Same code and environment. Same config."), (
            first,
            second,
            report["verdict"],
        )


def test_an_edit_to_a_module_imported_as_it_runs_is_a_new_version_of_the_function(tmp_path):
    body = "from models import small\n    return small.build(x)"
    for factor in ("2", "2.5"):
        _lazy_program(tmp_path, body, small=factor)
        run(tmp_path)
    text = ato(tmp_path, "traces", "demo", "train_step").stdout
    assert "imports models.small as it runs" in text, text
    assert "?" not in text, text


def test_an_edit_to_what_a_lazily_imported_module_imports_is_named(tmp_path):
    """models/small.py imports models.layers at its top: an edit to layers is named as
    a possible cause (it read "No recorded cause")."""
    body = 'return importlib.import_module(f"models.{name}").build(x)'
    for factor in ("2", "3"):
        _lazy_program(tmp_path, body)
        (tmp_path / "models" / "layers.py").write_text(f"def scale(x):\n    return x * {factor}\n")
        (tmp_path / "models" / "small.py").write_text(
            "from models.layers import scale\n\ndef build(x):\n    return scale(x)\n"
        )
        run(tmp_path)
    report = explain(tmp_path)
    assert "`models.layers` (by `train_step`)" in report["verdict"], report["verdict"]
    (change,) = report["code"]
    assert [c["trace_id"] for c in change["callees"]] == ["models.layers"]

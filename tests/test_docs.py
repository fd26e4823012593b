"""The README's Python examples and the quick-start demo run as tests."""

from __future__ import annotations

import re
import runpy
import subprocess
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown, flags=re.DOTALL)


def test_readme_examples_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["readme_examples.py"])  # not pytest's own arguments
    blocks = python_blocks((ROOT / "README.md").read_text())
    assert len(blocks) >= 5
    # One real file, so that code fingerprints can read the functions' source.
    script = tmp_path / "readme_examples.py"
    script.write_text("\n".join(blocks))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        runpy.run_path(str(script), run_name="readme_examples")
    out = capsys.readouterr().out
    assert "~ epochs: int -> str" in out
    assert "lr = 0.05, set by command line (lr=0.05), which replaced 0.01" in out
    assert "Run 1: lr=0.001 completed, best accuracy 0.80" in out
    assert "Run 2: lr=0.01 completed, best accuracy 0.84" in out
    assert "model_forward has 2 versions" in out
    assert "Code differs: `model_forward` changed." in out
    assert "lr 0.001 -> 0.01 (code at readme_examples.py:" in out


def test_readme_programs_run_as_a_file_twice_in_one_folder(tmp_path):
    """As printed, from a file, with no arguments; and again where the first run left its
    database behind."""
    blocks = python_blocks((ROOT / "README.md").read_text())
    script = tmp_path / "readme.py"
    script.write_text("\n".join(blocks))
    outputs = []
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-W", "error::UserWarning", str(script)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout)
    assert "Run 1: lr=0.001 completed" in outputs[0]
    assert "Run 3: lr=0.001 completed" in outputs[1]
    assert "lr=0.001 epochs=100 classes=1000" in outputs[1]  # the Scope program ran


def test_quickstart_demo_runs():
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart" / "run.py")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Demo finished." in result.stdout
    assert "(same: values only)" in result.stdout
    assert "~ train.epochs: int -> str" in result.stdout
    assert "lr = 0.05  ← command line (lr=0.05) ← high_lr (priority 1) ← defaults" in result.stdout
    prints = dict(
        line.rsplit(None, 1)
        for line in result.stdout.splitlines()
        if line.startswith(("original ", "cosmetic edit ", "logic edit "))
    )
    assert prints["original"] == prints["cosmetic edit"] != prints["logic edit"]
    assert "run 1 [completed] lr=0.05" in result.stdout
    assert "run 2 [completed] lr=0.3" in result.stdout
    assert "best run by final_loss: 2 (lr=0.3)" in result.stdout
    assert "config values that differ: {'lr': (0.05, 0.3)}, set by high_lr" in result.stdout
    assert "train_step fingerprint equal in both runs: True" in result.stdout


def test_readme_scope_program_gives_the_documented_output(tmp_path):
    readme = (ROOT / "README.md").read_text()
    program = next(block for block in python_blocks(readme) if "def train(config)" in block)
    (tmp_path / "train.py").write_text(program + "\nif __name__ == '__main__':\n    train()\n")
    shell = re.search(r"```bash\n(python train\.py .*?)```", readme, flags=re.DOTALL)
    assert shell is not None
    for line in shell.group(1).splitlines():
        command, _, expected = line.partition("#")
        argv = command.split()[2:]
        if "manual" in argv:
            continue
        output = subprocess.run(
            [sys.executable, "train.py", *argv],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for fact in expected.replace("...", "").split():
            assert fact in output, (line, output)


def test_quickstart_search_runs_and_resumes(tmp_path):
    """The demo's search: the best config and its provenance; run again, it resumes."""
    import shutil

    folder = tmp_path / "quickstart"
    shutil.copytree(ROOT / "examples" / "quickstart", folder, ignore=shutil.ignore_patterns("out"))
    outputs = [
        subprocess.run(
            [sys.executable, str(folder / "search.py")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for _ in range(2)
    ]
    for out in outputs:
        assert "best config, and where each value came from:" in out
        assert "<- search (rung 3) <- defaults" in out
    assert outputs[0].splitlines()[-6:] == outputs[1].splitlines()[-6:]

"""The README's Python examples and the quick-start demo run as tests."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown, flags=re.DOTALL)


def test_readme_examples_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks((ROOT / "README.md").read_text())
    assert len(blocks) >= 5
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)
    assert "~ epochs: int -> str" in capsys.readouterr().out


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

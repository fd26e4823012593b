"""The README's "Hyperparameter search" section runs, and prints what it says."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def section_code() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Hyperparameter search\n", 1)[1].split("\n## ", 1)[0]
    return "\n".join(re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL))


def run(command: list[str], cwd: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_search_example_prints_its_documented_output(tmp_path):
    code = section_code()
    (tmp_path / "search.py").write_text(code)
    out = run([sys.executable, "search.py"], tmp_path)
    expected = re.findall(r"^    # (.*)$", code.split('if __name__ == "__main__":')[1], re.M)
    assert out.splitlines()[:2] == expected[:2]


def test_the_distributed_example_runs_on_two_gloo_processes(tmp_path):
    pytest.importorskip("torch.distributed")
    code = section_code() + "\n\nif __name__ == '__main__':\n    distributed_search()\n"
    code = code.replace('if __name__ == "__main__":', "if False:", 1)  # only the new one
    (tmp_path / "search.py").write_text(code)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = run(
        [
            sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
            "--master_addr=127.0.0.1", f"--master_port={port}", "search.py",
        ],
        tmp_path,
    )  # fmt: skip
    assert "best: resnet101 lr=0.01" in out

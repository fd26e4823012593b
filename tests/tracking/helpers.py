"""Helpers shared by the tracker tests."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from ato.adict import ADict

# Every process run_script started; the autouse fixture in conftest.py kills those still
# running when a test ends, so a failed test never leaves a logging loop behind.
STARTED: list[subprocess.Popen] = []


def make_config(url: str, project: str = "vision", **values) -> ADict:
    return ADict(
        experiment=ADict(project_name=project, sql=ADict(db_path=url)),
        **values,
    )


def run_script(
    tmp_path: Path, source: str, *args: str, name: str = "job.py", **popen
) -> subprocess.Popen:
    """Start ``source`` as a real Python program in ``tmp_path``."""
    script = tmp_path / name
    text = textwrap.dedent(source)
    if not script.exists() or script.read_text() != text:  # never rewrite a running script
        script.write_text(text)
    process = subprocess.Popen(
        [sys.executable, str(script), *args],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )
    STARTED.append(process)
    return process


def wait_until(condition: Callable[[], object], timeout: float = 5.0) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass; return whether it holds."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)
    return bool(condition())

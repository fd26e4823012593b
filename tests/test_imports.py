"""Import weight: `import ato` stays light and fast."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

HEAVY = ["sqlalchemy", "numpy", "torch", "yaml", "omegaconf", "pandas", "importlib.metadata"]


@pytest.mark.parametrize("module", ["ato", "ato.adict"])
def test_import_pulls_in_no_heavy_module(module):
    code = f"import sys, {module}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""


def test_version_comes_from_package_metadata():
    import importlib.metadata

    import ato

    assert ato.__version__ == importlib.metadata.version("ato")


def test_public_api_is_listed_in_one_place():
    import ato

    for name in ato.__all__:
        assert getattr(ato, name) is not None
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        ato.nope  # noqa: B018


def _own_import_time_us(module: str) -> int:
    """Sum of the 'self' column of -X importtime for ato's own modules.

    Measured as a user meets it: with byte-code caches written by an earlier import
    (some environments set PYTHONDONTWRITEBYTECODE, which would time the compiler).
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-c", f"import {module}"], env=env, check=True)
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    total = 0
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = [part.strip() for part in line[len("import time:") :].split("|")]
        if parts[2].startswith("ato"):
            total += int(parts[0])
    return total


def test_own_import_time_of_ato_adict_is_small():
    # Best of three, so one slow start on a busy machine does not decide it.
    assert min(_own_import_time_us("ato.adict") for _ in range(3)) < 30_000


def test_the_tracker_loads_no_optional_heavy_module():
    optional = ["numpy", "torch", "pandas", "psycopg"]
    code = (
        "import sys, ato.db_routers.sql.manager; "
        f"print(','.join(m for m in {optional!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""

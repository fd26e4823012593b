"""Living beside Hydra: a scope that leaves sys.argv to Hydra entirely and takes Hydra's
config as a layer with its own provenance (the README's recipe, run for real)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import DATA

pytest.importorskip("hydra")

APP = """
import hydra

from ato.scope import Scope

scope = Scope(name="config", command_line=False)  # Hydra reads sys.argv; ato does not


@scope.observe(default=True)
def defaults(config):
    config.seed = 0
    config.lr = 0.001


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg):
    config = scope.apply(("hydra", cfg))  # Hydra's values on top of ato's views
    print(f"lr={config.lr} seed={config.seed} extra={config.get('extra')}")
    print(scope.explain("lr"))


if __name__ == "__main__":
    main()
"""


def _run(folder, *args):
    return subprocess.run(
        [sys.executable, "app.py", *args], cwd=folder, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def app(tmp_path):
    shutil.copytree(DATA / "hydra" / "conf", tmp_path / "conf")
    (tmp_path / "app.py").write_text(textwrap.dedent(APP))
    return tmp_path


def test_hydra_syntax_is_hydras_and_its_values_are_a_layer(app):
    result = _run(app, "lr=0.5", "+extra=1", "~logger", "hydra.run.dir=out")
    assert result.returncode == 0, result.stderr
    assert "lr=0.5 seed=0 extra=1" in result.stdout
    assert "lr = 0.5, set by hydra, which replaced 0.001 from defaults." in result.stdout


def test_a_multirun_assembles_each_job_afresh(app):
    result = _run(app, "-m", "lr=0.1,0.2", "hydra.sweep.dir=multi")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("lr=")]
    assert lines == ["lr=0.1 seed=0 extra=None", "lr=0.2 seed=0 extra=None"]

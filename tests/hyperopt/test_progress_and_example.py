"""The progress display on a terminal (silent elsewhere), and the quick-start search."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from ato.hyperopt.hyperband import HyperBand
from tests.hyperopt.test_hyperband import lr_score

ROOT = Path(__file__).resolve().parents[2]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_rung_trials_budget_and_best_on_a_terminal(scope, spaces, monkeypatch):
    pytest.importorskip("rich")
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    HyperBand(scope, spaces, 0.5, 2, max_budget=8).main(lr_score)()
    shown = terminal.getvalue()
    assert "rung 3" in shown and "22/22" in shown and "budget 44" in shown
    assert "best 1" in shown


def test_budgets_from_compute_optimized_initial_training_steps_are_the_budget_spent(
    scope, spaces, monkeypatch
):
    pytest.importorskip("rich")
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    hyperband = HyperBand(scope, spaces, 0.5, 2)
    budgets = hyperband.compute_optimized_initial_training_steps(8)  # [1, 2, 4, 8]
    seen = []

    @hyperband.main
    def train(config):
        seen.append((config.__num_halved__, config.__budget__))
        return lr_score(config)

    train()
    assert all(budget == budgets[rung] for rung, budget in seen)
    assert "budget 44" in terminal.getvalue()  # 12*1 + 6*2 + 3*4 + 1*8


def test_progress_is_silent_when_not_a_terminal(scope, spaces, capsys):
    HyperBand(scope, spaces, 0.5, 2).main(lr_score)()
    captured = capsys.readouterr()
    assert captured.out == captured.err == ""


def test_quickstart_search_shows_the_best_config_and_its_provenance():
    pytest.importorskip("sklearn")
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart" / "search.py"), "wide"],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
        timeout=300,
    ).stdout
    assert "best validation accuracy 0.9" in out
    assert "<- search (rung 3) <- defaults" in out
    assert "model.hidden          = 128" in out and "<- wide <- defaults" in out
    assert "rungs: [16, 8, 4, 2] trials" in out


def test_a_bracket_that_ends_early_takes_its_trials_off_the_total(scope, monkeypatch):
    from ato.adict import ADict
    from ato.hyperopt.hyperband import BracketHyperBand

    pytest.importorskip("rich")
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    spaces = ADict(lr=ADict(param_type="FLOAT", param_range=(1e-4, 1.0), space_type="LOG"))
    hyperband = BracketHyperBand(scope, spaces, max_budget=9, eta=3)

    @hyperband.main
    def train(config):
        if config.__budget__ == 1:  # bracket 0 ends after its rung 0: 4 trials fewer
            raise RuntimeError("too short to measure")
        return -abs(config.lr - 0.01)

    train()
    assert hyperband.total_trials() == 22
    last = terminal.getvalue().rsplit("\r", 1)[-1]  # the display as it ends
    assert "18/18" in last

"""Helpers for tests that run a small program for real: the README's training script,
a runner and the config it prints, and a scope with three views for in-process tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from ato.adict import ADict
from ato.scope import Scope

TRAIN = """
from ato.scope import Scope

scope = Scope()

@scope.observe(default=True)
def defaults(config):
    config.lr = 0.001
    config.epochs = 100
    config.batch_size = 32
    config.model = 'resnet50'
    config.dataset = 'imagenet'

@scope.observe(priority=1)
def high_lr(config):
    config.lr = 0.01

@scope.observe(priority=2)
def long_training(config):
    config.epochs = 300

@scope.observe(lazy=True)
def computed_config(config):
    if config.dataset == 'imagenet':
        config.num_classes = 1000
        config.image_size = 224
    elif config.dataset == 'cifar10':
        config.num_classes = 10
        config.image_size = 32

@scope
def train(config):
    print(config.json())

if __name__ == '__main__':
    train()
"""


def run(tmp_path: Path, source: str, *argv: str, name: str = "train.py") -> Any:
    """Run ``source`` as a script named ``name`` in ``tmp_path`` with ``argv``."""
    script = tmp_path / name
    script.write_text(textwrap.dedent(source))
    return subprocess.run(
        [sys.executable, str(script), *argv], capture_output=True, text=True, cwd=tmp_path
    )


def final(result: Any) -> Any:
    """The JSON config a successful program printed last."""
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def make_scope(**kwargs: Any) -> Scope:
    """A scope with a default view and two chosen ones (``high_lr``, ``long_training``)."""
    scope = Scope(**kwargs)

    @scope.observe(default=True)
    def defaults(config):
        config.lr = 0.001
        config.epochs = 100
        config.model = ADict(depth=50)

    @scope.observe(priority=1)
    def high_lr(config):
        config.lr = 0.01

    @scope.observe(priority=2)
    def long_training(config):
        config.epochs = 300

    return scope


def outputs_under_hash_seeds(code: str, seeds: tuple[str, ...] = ("1", "2", "3")) -> set[str]:
    """What ``python -c code`` prints under each ``PYTHONHASHSEED``: one output means
    the result does not depend on the order of sets and strings' hashes."""
    source = str(Path(__file__).resolve().parents[1] / "src")
    return {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": source},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in seeds
    }

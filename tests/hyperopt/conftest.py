"""Fixtures of the search tests: a clean command line and a scope with views."""

from __future__ import annotations

import sys

import pytest

from ato.adict import ADict
from ato.scope import Scope


@pytest.fixture(autouse=True)
def empty_command_line(monkeypatch):
    """A search reads the program's command line; in tests it is empty unless set."""
    monkeypatch.setattr(sys, "argv", ["train.py"])


@pytest.fixture
def scope() -> Scope:
    scope = Scope()

    @scope.observe(default=True)
    def defaults(config):
        config.lr = 0.001
        config.batch_size = 32
        config.model = "resnet50"
        config.epochs = 10

    @scope.observe()
    def wide(config):
        config.width = 512

    @scope.observe(lazy=True, default=True)
    def derived(config):
        config.warmup = config.lr * 100

    return scope


@pytest.fixture
def spaces() -> ADict:
    return ADict(
        lr=ADict(param_type="FLOAT", param_range=(1e-4, 1e-1), num_samples=4, space_type="LOG"),
        model=ADict(param_type="CATEGORY", categories=["resnet50", "resnet101", "vit"]),
    )

"""Shared fixtures and hypothesis settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

DATA = Path(__file__).parent / "data"

settings.register_profile(
    "ato", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("ci", parent=settings.get_profile("ato"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "ato")


@pytest.fixture
def data_dir() -> Path:
    return DATA

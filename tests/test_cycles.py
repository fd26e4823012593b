"""The one cycle check."""

from __future__ import annotations

import pytest

from ato.compose import load_mm_config
from ato.cycles import check_cycle, find_cycle, format_cycle
from ato.errors import InheritanceCycleError


def test_find_and_format():
    assert find_cycle(("a", "b", "c"), "b") == ["b", "c", "b"]
    assert find_cycle(("a", "b"), "z") is None
    assert find_cycle((), "a") is None
    assert format_cycle(["a", "b", "a"]) == "a -> b -> a"


def test_a_long_cycle_is_shown_with_its_middle_counted():
    cycle = [f"f{index}" for index in range(600)] + ["f0"]
    assert format_cycle(cycle) == (
        "f0 -> f1 -> f2 -> f3 -> f4 -> f5 -> f6 -> f7 -> f8 -> ... (590 more) ... -> f599 -> f0"
    )


def test_check_raises_the_callers_error_with_the_cycle():
    check_cycle(("a",), "b", ValueError)
    with pytest.raises(ValueError, match=r"^a -> b -> a$"):
        check_cycle(("a", "b"), "a", ValueError)


def test_base_files_that_include_each_other(tmp_path):
    (tmp_path / "a.json").write_text('{"_base_": "b.json"}')
    (tmp_path / "b.json").write_text('{"_base_": "a.json"}')
    with pytest.raises(InheritanceCycleError, match=r"a\.json -> .*b\.json -> .*a\.json"):
        load_mm_config(tmp_path / "a.json")

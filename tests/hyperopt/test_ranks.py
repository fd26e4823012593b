"""ato.hyperopt.ranks: the steps ranks take together, and the settings they compare."""

from __future__ import annotations

import pytest

from ato.hyperopt.errors import SearchSettingsError
from ato.hyperopt.group import ProcessGroup, portable
from ato.hyperopt.ranks import refuse_different_settings, together

FACTS = {"arguments": {"halving_rate": 0.5}, "space": {"model": {"categories": ["h1", "h2"]}}}


def test_ranks_with_the_same_settings_pass():
    refuse_different_settings([(FACTS, {}), (FACTS, {})])


def test_categories_are_named_by_value_not_by_hash():
    other = {**FACTS, "space": {"model": {"categories": ["h1", "h3"]}}}
    expected = r"space\.model\.categories is \['a', 'c'\] on rank 1, \['a', 'b'\] on rank 0"
    every = [(FACTS, {"model": "['a', 'b']"}), (other, {"model": "['a', 'c']"})]
    with pytest.raises(SearchSettingsError, match=expected):
        refuse_different_settings(every)


def test_a_parameter_one_rank_lacks_is_called_missing():
    extra = {**FACTS, "space": {**FACTS["space"], "momentum": {"type": "FLOAT"}}}
    with pytest.raises(SearchSettingsError, match=r"space\.momentum is missing on rank 1"):
        refuse_different_settings([(extra, {}), (FACTS, {})])


def test_alone_a_step_returns_or_raises_as_it_is():
    assert together(ProcessGroup(), "testing", lambda: 3) == 3
    assert together(ProcessGroup(), "testing", lambda: 3, share=True) == [3]
    with pytest.raises(ZeroDivisionError):
        together(ProcessGroup(), "testing", lambda: 1 / 0)


def test_portable_keeps_what_pickle_takes_and_shows_the_rest():
    from ato.adict import ADict

    plain = ADict(lr=0.1, layers=[1, 2])
    assert portable(plain) is plain
    made = portable(ADict(lr=0.1, make=lambda: 0, nested=ADict(items=(1, lambda: 1))))
    assert made.lr == 0.1 and "lambda" in made.make and "lambda" in made.nested["items"][1]
    assert made.nested["items"][0] == 1 and isinstance(made, ADict)

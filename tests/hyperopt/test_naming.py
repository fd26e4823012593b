"""ato.hyperopt.naming: how a search names its trial function, values and project."""

from __future__ import annotations

import functools

from ato.adict import ADict
from ato.hyperopt.naming import named_function, params_text, project_of


class _NoRepr:
    def __repr__(self):
        raise RuntimeError("no repr")


def test_values_read_as_written_whatever_their_reprs_do():
    assert params_text({"opt": (1,), "lr": 0.01}) == "{'opt': (1,), 'lr': 0.01}"
    text = params_text({"seed": 10**5000, "odd": _NoRepr()})
    assert "~10**5000" in text and "<_NoRepr>" in text


def test_a_trial_function_is_named_with_its_file_and_line():
    def train(config):
        return 1.0

    named = named_function(train)
    assert named.endswith(f"train ({__file__}:{train.__code__.co_firstlineno})")
    assert named_function(functools.partial(train, None)) == named


def test_the_project_is_the_configs_else_hyperopt():
    assert project_of(ADict(experiment=ADict(project_name="vision"))) == "vision"
    assert project_of(ADict(lr=0.1)) == "hyperopt"
    assert project_of(ADict(experiment=ADict(project_name=3))) == "hyperopt"

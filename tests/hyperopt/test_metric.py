"""ato.hyperopt.metric: what a trial may return as its metric."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

from ato.hyperopt.errors import TrialResultError
from ato.hyperopt.metric import as_metric, plain_metric


@pytest.mark.parametrize(
    ("value", "metric"),
    [(3, 3.0), (True, 1.0), (np.float32(0.5), 0.5), (np.array([[2.0]]), 2.0),
     (Fraction(1, 4), 0.25), (Decimal("0.1"), 0.1), (np.array([7], dtype=object), 7.0)],
)  # fmt: skip
def test_one_number_counts_as_its_value(value, metric):
    assert as_metric(value, "t") == metric


@pytest.mark.parametrize(
    "value",
    [None, "3", b"3", 1 + 3j, np.complex64(1 + 3j), np.array(["3"]), np.array([1.0, 2.0]),
     [1.0], {"acc": 1.0}],
)  # fmt: skip
def test_what_is_no_single_real_number_is_refused_naming_the_function(value):
    with pytest.raises(TrialResultError, match="The trial function t returned"):
        as_metric(value, "t")


def test_stored_metrics_are_plain_json():
    assert plain_metric(0.5) == 0.5 and plain_metric(math.nan) == "nan"
    assert plain_metric(-math.inf) == "-inf"

"""The point sources of BracketHyperBand."""

from __future__ import annotations

import pytest

from ato.hyperopt.sampling import SobolPoints, UniformPoints


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_sobol_prefixes_put_one_point_in_each_box_of_every_axis(seed):
    source = SobolPoints(14, seed)
    drawn = [source.next() for _ in range(64)]
    for axis in range(12):  # the Sobol axes; 13 and 14 are uniform draws
        for count in (2, 4, 8, 16, 32, 64):
            assert sorted(int(point[axis] * count) for point in drawn[:count]) == list(range(count))
    assert all(0.0 <= value < 1.0 for point in drawn for value in point)


def test_seeds_give_their_own_sequences_and_repeat():
    assert SobolPoints(3, 0).next() != SobolPoints(3, 1).next()
    first, again = SobolPoints(3, 5), SobolPoints(3, 5)
    assert [first.next() for _ in range(10)] == [again.next() for _ in range(10)]
    assert UniformPoints(2, 3).next() == UniformPoints(2, 3).next()

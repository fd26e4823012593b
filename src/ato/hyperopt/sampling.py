"""Points in the unit cube for random search: seeded uniform, or a scrambled Sobol sequence.

A Sobol sequence fills the cube evenly (each prefix of 2**k points puts one point in each
of 2**k equal boxes per axis), so a handful of samples covers a search space better than
as many independent draws. Scrambled here by a seeded random digital shift, which keeps
that property and gives each seed its own sequence. Direction numbers are Joe and Kuo's
(2008) for the first 12 axes; further axes are drawn uniformly.
"""

from __future__ import annotations

import random

__all__ = ["SobolPoints", "UniformPoints", "points"]

_BITS = 30
# (degree s, coefficients a, initial m_1..m_s) of Joe & Kuo's new-joe-kuo-6.21201, axes 2-12.
_DIRECTIONS = [
    (1, 0, [1]),
    (2, 1, [1, 3]),
    (3, 1, [1, 3, 1]),
    (3, 2, [1, 1, 1]),
    (4, 1, [1, 1, 3, 3]),
    (4, 4, [1, 3, 5, 13]),
    (5, 2, [1, 1, 5, 5, 17]),
    (5, 4, [1, 1, 5, 5, 5]),
    (5, 7, [1, 1, 7, 11, 19]),
    (5, 11, [1, 1, 5, 1, 1]),
    (5, 13, [1, 1, 1, 3, 11]),
]


class UniformPoints:
    """Independent uniform points from ``random.Random(seed)``."""

    def __init__(self, dimensions: int, seed: int) -> None:
        self.dimensions, self.rng = dimensions, random.Random(seed)

    def next(self) -> list[float]:
        return [self.rng.random() for _ in range(self.dimensions)]


class SobolPoints:
    """The Sobol sequence in ``dimensions`` axes, shifted by a seeded random digit vector."""

    def __init__(self, dimensions: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.sobol_axes = min(dimensions, len(_DIRECTIONS) + 1)
        self.extra_axes = dimensions - self.sobol_axes
        self.directions = [_direction_numbers(axis) for axis in range(self.sobol_axes)]
        self.shift = [self.rng.getrandbits(_BITS) for _ in range(self.sobol_axes)]
        self.state = [0] * self.sobol_axes
        self.index = 0

    def next(self) -> list[float]:
        if self.index > 0:  # Gray-code order: flip the direction of the lowest zero bit
            bit = (self.index & -self.index).bit_length() - 1
            for axis in range(self.sobol_axes):
                self.state[axis] ^= self.directions[axis][bit]
        self.index += 1
        scale = float(1 << _BITS)
        point = [(s ^ shift) / scale for s, shift in zip(self.state, self.shift, strict=True)]
        return point + [self.rng.random() for _ in range(self.extra_axes)]


def _direction_numbers(axis: int) -> list[int]:
    if axis == 0:
        return [1 << (_BITS - k) for k in range(1, _BITS + 1)]
    degree, coefficients, initial = _DIRECTIONS[axis - 1]
    numbers = [m << (_BITS - k) for k, m in enumerate(initial, start=1)]
    for k in range(degree, _BITS):
        value = numbers[k - degree] ^ (numbers[k - degree] >> degree)
        for i in range(1, degree):
            if (coefficients >> (degree - 1 - i)) & 1:
                value ^= numbers[k - i]
        numbers.append(value)
    return numbers


def points(kind: str, dimensions: int, seed: int) -> UniformPoints | SobolPoints:
    """A point source by name: ``'sobol'`` or ``'random'``."""
    return SobolPoints(dimensions, seed) if kind == "sobol" else UniformPoints(dimensions, seed)

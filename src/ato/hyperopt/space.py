"""Search spaces: what each searched parameter may take, as a grid or as random samples.

A space is the README's mapping of parameter names to specs::

    ADict(
        lr=ADict(param_type='FLOAT', param_range=(1e-5, 1e-1), num_samples=20, space_type='LOG'),
        batch_size=ADict(param_type='INTEGER', param_range=(16, 128), num_samples=5),
        model=ADict(param_type='CATEGORY', categories=['resnet50', 'resnet101']),
    )

A name may be dotted (``'optimizer.lr'``) to reach a nested key; a nested mapping of specs
(``optimizer=ADict(lr=ADict(param_type=...))``) means the same. ``space_type`` is ``LINEAR``
(the default) or ``LOG``, with an optional ``base`` (the grid does not depend on it).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NoReturn

from ato.errors import did_you_mean
from ato.hyperopt.errors import SearchSpaceError

__all__ = ["Parameter", "SearchSpace"]

PARAM_TYPES = ("FLOAT", "INTEGER", "CATEGORY")
SPACE_TYPES = ("LINEAR", "LOG")
_KEYS = {
    "FLOAT": {"param_type", "param_range", "num_samples", "space_type", "base"},
    "INTEGER": {"param_type", "param_range", "num_samples", "space_type", "base"},
    "CATEGORY": {"param_type", "categories", "num_samples"},
}
_ALL_KEYS = set().union(*_KEYS.values())


class Parameter:
    """One searched key: its type, range or categories, and how to spread points over it."""

    __slots__ = ("base", "categories", "high", "kind", "log", "low", "name", "num_samples")

    def __init__(self, name: str, spec: Mapping[str, Any]) -> None:
        self.name = name
        kind = spec.get("param_type")
        if not isinstance(kind, str) or kind.upper() not in PARAM_TYPES:
            self._fail(f"param_type is {kind!r}; it must be one of {', '.join(PARAM_TYPES)}")
        self.kind = kind.upper()
        unknown = sorted(set(spec) - _KEYS[self.kind])
        if unknown:
            hint = did_you_mean(unknown[0], sorted(_KEYS[self.kind]))
            self._fail(f"{self.kind} takes no key {unknown[0]!r}.{hint}")
        self.num_samples: int | None = spec.get("num_samples")
        if self.num_samples is not None and (
            isinstance(self.num_samples, bool)
            or not isinstance(self.num_samples, int)
            or self.num_samples < 1
        ):
            self._fail(f"num_samples is {self.num_samples!r}; it must be an integer >= 1")
        self.categories: list[Any] = []
        self.low = self.high = 0.0
        self.log, self.base = False, 10.0
        if self.kind == "CATEGORY":
            categories = spec.get("categories")
            if isinstance(categories, (str, bytes)) or not isinstance(categories, Sequence):
                self._fail(f"categories is {categories!r}; it must be a non-empty list")
            if not categories:
                self._fail("categories is empty; give at least one value")
            self.categories = list(categories)
            return
        self._read_range(spec)

    def _read_range(self, spec: Mapping[str, Any]) -> None:
        bounds = spec.get("param_range")
        if (
            isinstance(bounds, (str, bytes))
            or not isinstance(bounds, Sequence)
            or len(bounds) != 2
            or not all(_is_number(bound) for bound in bounds)
        ):
            self._fail(f"param_range is {bounds!r}; it must be two numbers (low, high)")
        low, high = bounds
        if self.kind == "INTEGER" and not all(float(b).is_integer() for b in bounds):
            self._fail(f"param_range is {bounds!r}; an INTEGER range has integer bounds")
        if not low <= high:
            self._fail(f"param_range is {bounds!r}; low must not exceed high")
        space_type = spec.get("space_type", "LINEAR")
        if not isinstance(space_type, str) or space_type.upper() not in SPACE_TYPES:
            self._fail(f"space_type is {space_type!r}; it must be LINEAR or LOG")
        self.log = space_type.upper() == "LOG"
        if self.log and low <= 0:
            self._fail(f"param_range is {bounds!r}; a LOG space needs low > 0")
        base = spec.get("base", 2 if self.kind == "INTEGER" else 10)
        if not _is_number(base) or base <= 0 or base == 1:
            self._fail(f"base is {base!r}; it must be a number > 0 other than 1")
        self.base = float(base)
        self.low, self.high = (int(low), int(high)) if self.kind == "INTEGER" else (low, high)

    def _fail(self, problem: str) -> NoReturn:
        end = "" if problem.endswith(("?", ".")) else "."
        raise SearchSpaceError(f"Search space of {self.name!r}: {problem}{end}", self.name)

    def grid(self) -> list[Any]:
        """The grid points: every category, or ``num_samples`` points spread over the
        range (INTEGER points rounded, without duplicates, both bounds kept)."""
        if self.kind == "CATEGORY":
            return list(self.categories)
        if self.num_samples is None:
            self._fail("num_samples is missing; a grid needs it (e.g. num_samples=8)")
        count = self.num_samples
        assert count is not None
        points = [self.from_unit(i / (count - 1) if count > 1 else 0.0) for i in range(count)]
        if self.kind == "FLOAT":  # 12 digits: 0.01, not 0.010000000000000004 from exp(log(...))
            return [float(f"{point:.12g}") for point in points]
        return list(dict.fromkeys(points))  # rounded points collide on narrow ranges

    def from_unit(self, u: float) -> Any:
        """The value at ``u`` in [0, 1] along the space (0 is low, 1 is high)."""
        if self.kind == "CATEGORY":
            return self.categories[min(int(u * len(self.categories)), len(self.categories) - 1)]
        low, high = float(self.low), float(self.high)
        if u <= 0.0:
            value = low
        elif u >= 1.0:
            value = high
        elif self.log:
            value = math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
        else:
            value = low + u * (high - low)
        if self.kind == "INTEGER":
            return min(max(round(value), int(self.low)), int(self.high))
        return min(max(value, low), high)

    def sample_unit(self, u: float) -> Any:
        """A random value from a uniform ``u`` in [0, 1): INTEGER values each get an
        equal share of the (log) axis, categories an equal share of [0, 1)."""
        if self.kind != "INTEGER":
            return self.from_unit(u)
        low, high = float(self.low), float(self.high) + 1.0
        if self.log:
            value = math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
        else:
            value = low + u * (high - low)
        return min(max(math.floor(value), int(self.low)), int(self.high))

    def describe(self) -> dict[str, Any]:
        """The spec as plain data (what makes a search the same search when resumed)."""
        if self.kind == "CATEGORY":
            return {"type": self.kind, "categories": [repr(c) for c in self.categories]}
        return {
            "type": self.kind,
            "range": [self.low, self.high],
            "num_samples": self.num_samples,
            "log": self.log,
        }


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class SearchSpace:
    """The searched parameters, by dotted name."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        if not isinstance(spec, Mapping):
            raise SearchSpaceError(
                f"A search space is a mapping of parameter names to specs, not {spec!r:.60}."
            )
        self.parameters = list(_parameters(spec, ""))
        if not self.parameters:
            raise SearchSpaceError("The search space is empty; give at least one parameter.")

    @property
    def names(self) -> list[str]:
        return [parameter.name for parameter in self.parameters]

    def grid(self) -> list[dict[str, Any]]:
        """Every combination of the parameters' grid points, the first parameter slowest."""
        axes = [parameter.grid() for parameter in self.parameters]
        return [dict(zip(self.names, values, strict=True)) for values in itertools.product(*axes)]

    def sample(self, units: Sequence[float]) -> dict[str, Any]:
        """The point at ``units`` (one number in [0, 1) per parameter)."""
        return {
            parameter.name: parameter.sample_unit(u)
            for parameter, u in zip(self.parameters, units, strict=True)
        }

    def describe(self) -> dict[str, Any]:
        return {parameter.name: parameter.describe() for parameter in self.parameters}


def _parameters(spec: Mapping[str, Any], prefix: str) -> Iterator[Parameter]:
    for key, value in spec.items():
        name = f"{prefix}{key}"
        if not isinstance(value, Mapping):
            raise SearchSpaceError(
                f"Search space of {name!r}: {value!r:.60} is not a spec; write e.g. "
                f"{key}=ADict(param_type='FLOAT', param_range=(0.0, 1.0), num_samples=5).",
                name,
            )
        if "param_type" in value or set(value) & _ALL_KEYS or not value:
            yield Parameter(name, value)
        else:  # a section of nested specs: optimizer=ADict(lr=ADict(...))
            yield from _parameters(value, f"{name}.")

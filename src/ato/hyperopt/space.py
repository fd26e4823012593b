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

import decimal
import itertools
import math
import numbers
import operator
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any, NoReturn

from ato.hyperopt.errors import SearchSpaceError
from ato.message_text import counted, did_you_mean, shown

__all__ = ["GRID_LIMIT", "Parameter", "SearchSpace"]

PARAM_TYPES = ("FLOAT", "INTEGER", "CATEGORY")
SPACE_TYPES = ("LINEAR", "LOG")
_KEYS = {
    "FLOAT": {"param_type", "param_range", "num_samples", "space_type", "base"},
    "INTEGER": {"param_type", "param_range", "num_samples", "space_type", "base"},
    "CATEGORY": {"param_type", "categories", "num_samples"},
}
_ALL_KEYS = set().union(*_KEYS.values())
#: The most points a grid may have: each is a trial of the first rung.
GRID_LIMIT = 1_000_000
_FLOAT_MAX = sys.float_info.max
_FLOAT_EXACT = 2**53  # floats hold every integer below
_INT_LIMIT = 10**1000  # INTEGER bounds: far past any use, well inside str()'s 4,300 digits
#: How deep a space's sections may nest (a trial's config nests as deep).
DEPTH_LIMIT = 100


class Parameter:
    """One searched key: its type, range or categories, and how to spread points over it."""

    __slots__ = ("base", "categories", "high", "kind", "log", "low", "name", "num_samples")

    def __init__(self, name: str, spec: Mapping[str, Any]) -> None:
        self.name = name
        kind = spec.get("param_type")
        if not isinstance(kind, str) or kind.upper() not in PARAM_TYPES:
            self._fail(f"param_type is {shown(kind)}; it must be one of {', '.join(PARAM_TYPES)}")
        self.kind = kind.upper()
        unknown = sorted(set(spec) - _KEYS[self.kind])
        if unknown:
            hint = did_you_mean(unknown[0], sorted(_KEYS[self.kind]))
            self._fail(f"{self.kind} takes no key {unknown[0]!r}.{hint}")
        samples = spec.get("num_samples")
        self.num_samples: int | None = None if samples is None else _whole(samples)
        if samples is not None and (self.num_samples is None or self.num_samples < 1):
            self._fail(f"num_samples is {shown(samples)}; it must be an integer >= 1")
        self.categories: list[Any] = []
        self.low = self.high = 0.0
        self.log, self.base = False, 10.0
        if self.kind == "CATEGORY":
            categories = spec.get("categories")
            if isinstance(categories, (str, bytes)) or not isinstance(categories, Sequence):
                self._fail(f"categories is {shown(categories)}; it must be a non-empty list")
            try:
                count = len(categories)
            except OverflowError:  # a range past sys.maxsize
                count = GRID_LIMIT + 1
            if not count:
                self._fail("categories is empty; give at least one value")
            if count > GRID_LIMIT:  # each is a trial; a list this long only fills memory
                self._fail(
                    f"categories has more than {GRID_LIMIT:,} values ({shown(categories)}); a "
                    f"search takes at most {GRID_LIMIT:,} trials, so give fewer"
                )
            self.categories = list(categories)
            twice = _repeated(self.categories)
            if twice is not None:
                self._fail(
                    f"categories lists {shown(twice)} twice; each would be trained as a trial "
                    f"of its own. List each value once"
                )
            return
        self._read_range(spec)

    def _read_range(self, spec: Mapping[str, Any]) -> None:
        given = spec.get("param_range")
        bounds: Any = given
        if not isinstance(given, (str, bytes)) and isinstance(given, Sequence) and len(given) == 2:
            bounds = tuple(_number(bound) for bound in given)  # numpy numbers as Python's
        if (
            isinstance(bounds, (str, bytes))
            or not isinstance(bounds, Sequence)
            or len(bounds) != 2
            or not all(_is_number(bound) for bound in bounds)
        ):
            self._fail(f"param_range is {shown(given)}; it must be two numbers (low, high)")
        low, high = bounds
        if self.kind == "INTEGER" and not all(isinstance(b, int) or b.is_integer() for b in bounds):
            self._fail(f"param_range is {shown(bounds)}; an INTEGER range has integer bounds")
        if self.kind == "FLOAT" and not all(abs(b) <= _FLOAT_MAX for b in bounds):
            self._fail(
                f"param_range is {shown(bounds)}; a bound is too large for a FLOAT "
                f"(at most {_FLOAT_MAX:.3g}); an INTEGER range takes ints of up to 1,000 digits"
            )
        if self.kind == "INTEGER" and not all(abs(int(b)) < _INT_LIMIT for b in bounds):
            self._fail(f"param_range is {shown(bounds)}; an INTEGER bound has at most 1,000 digits")
        if not low <= high:
            self._fail(f"param_range is {shown(bounds)}; low must not exceed high")
        space_type = spec.get("space_type", "LINEAR")
        if not isinstance(space_type, str) or space_type.upper() not in SPACE_TYPES:
            self._fail(f"space_type is {shown(space_type)}; it must be LINEAR or LOG")
        self.log = space_type.upper() == "LOG"
        if self.log and low <= 0:
            self._fail(f"param_range is {shown(bounds)}; a LOG space needs low > 0")
        base = _number(spec.get("base", 2 if self.kind == "INTEGER" else 10))
        if not _is_number(base) or not 0 < base <= _FLOAT_MAX or base == 1:
            self._fail(f"base is {shown(base)}; it must be a number > 0 other than 1")
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
        size = int(self.high) - int(self.low) + 1 if self.kind == "INTEGER" else None
        if size is not None and size <= min(count, GRID_LIMIT):
            # As many points as the range holds, or more: every integer of it, at any
            # num_samples (as grid_size counts it).
            return list(range(int(self.low), int(self.high) + 1))
        if count > GRID_LIMIT:  # each point is computed before duplicates are dropped
            self._fail(
                f"num_samples is {counted(count)}; a grid takes at most {GRID_LIMIT:,} points"
            )
        points = [
            self.from_unit(Fraction(i, count - 1) if count > 1 else 0.0) for i in range(count)
        ]
        if self.kind == "FLOAT":  # 12 digits: 0.01, not 0.010000000000000004 from exp(log(...))
            # The bounds as given; the others rounded, unless that moves one out of the
            # range or merges two points.
            rounded = [points[0], *(float(f"{p:.12g}") for p in points[1:-1]), points[-1]]
            rounded = rounded[: len(points)]
            inside = all(self.low <= point <= self.high for point in rounded)
            if inside and len(set(rounded)) == len(set(points)):
                points = rounded
        if self.kind == "INTEGER":
            return _distinct_integers(points, int(self.low), int(self.high))
        # FLOAT points collide on a range holding fewer floats than num_samples (low ==
        # high, say): each point is tried once.
        return list(dict.fromkeys(points))

    def grid_size(self) -> int:
        """How many points :meth:`grid` gives at most (INTEGER grids: exactly)."""
        if self.kind == "CATEGORY":
            return len(self.categories)
        count = self.num_samples or 1
        if self.kind == "INTEGER":
            count = min(count, int(self.high) - int(self.low) + 1)
        return count

    def from_unit(self, u: float | Fraction) -> Any:
        """The value at ``u`` in [0, 1] along the space (0 is low, 1 is high)."""
        if self.kind == "CATEGORY":
            return self.categories[min(int(u * len(self.categories)), len(self.categories) - 1)]
        if self.kind == "INTEGER" and not self._float_exact():
            return self._exact_integer(u, rounding=round)
        low, high = float(self.low), float(self.high)
        if u <= 0.0:
            value = low
        elif u >= 1.0:
            value = high
        elif self.log:
            value = math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
        else:
            value = _between(low, high, u)
        if self.kind == "INTEGER":
            return min(max(round(value), int(self.low)), int(self.high))
        return min(max(value, low), high)

    def sample_unit(self, u: float) -> Any:
        """A random value from a uniform ``u`` in [0, 1): INTEGER values each get an
        equal share of the (log) axis, categories an equal share of [0, 1)."""
        if self.kind != "INTEGER":
            return self.from_unit(u)
        if not self._float_exact():
            return self._exact_integer(u, rounding=math.floor, end=1)
        low, high = float(self.low), float(self.high) + 1.0
        if self.log:
            value = math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
        else:
            value = _between(low, high, u)
        return min(max(math.floor(value), int(self.low)), int(self.high))

    def _float_exact(self) -> bool:
        """Whether floats hold every integer of the range (then the float formulas,
        whose points ato has always given, are kept)."""
        return max(abs(int(self.low)), abs(int(self.high)) + 1) < _FLOAT_EXACT

    def _exact_integer(
        self, u: float | Fraction, rounding: Callable[[Any], int], end: int = 0
    ) -> int:
        """The integer at ``u`` along ``[low, high + end]`` for ranges beyond float
        precision: exact on a LINEAR axis, and on a LOG one to a float's precision of the
        position ``u`` (never merging integers a float position tells apart)."""
        low, high = int(self.low), int(self.high)
        if u <= 0:
            return low
        if u >= 1 and not end:
            return high
        top = high + end
        if self.log:
            try:
                spread = math.log1p((top - low) / low)
            except OverflowError:
                spread = math.inf
            if spread < 1e-9:  # a narrow range far out, where 34 digits merge integers:
                # low + (top - low) * (e**(u*spread) - 1) / (e**spread - 1), in floats
                ratio = math.expm1(float(u) * spread) / math.expm1(spread) if spread else 0.0
                return min(max(int(rounding(low + (top - low) * Fraction(ratio))), low), high)
            # Otherwise the points are far apart next to 34 digits of a value, and u, a
            # float, fixes only ~17 of them anyway.
            with decimal.localcontext() as context:
                context.prec = 34
                start, stop = Decimal(low).ln(), Decimal(top).ln()
                position = (
                    Decimal(u.numerator) / Decimal(u.denominator)
                    if isinstance(u, Fraction)
                    else Decimal(u)
                )
                value: Any = (start + position * (stop - start)).exp()
        else:
            value = low + Fraction(u) * (top - low)
        return min(max(int(rounding(value)), low), high)

    def describe(self) -> dict[str, Any]:
        """The spec as plain data (what makes a search the same search when resumed)."""
        if self.kind == "CATEGORY":
            return {"type": self.kind, "categories": [_category(c) for c in self.categories]}
        return {
            "type": self.kind,
            "range": [self.low, self.high],
            "num_samples": self.num_samples,
            "log": self.log,
        }


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def _number(value: Any) -> Any:
    """A numpy (or other) number as the Python int or float it stands for; anything
    else as it is (to be refused by the caller)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return value
    if isinstance(value, numbers.Integral):
        return operator.index(value)
    return float(value)


def _whole(value: Any) -> int | None:
    """``value`` as an int (a numpy int too), or None when it is no whole number."""
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def _between(low: float, high: float, u: float | Fraction) -> float:
    """The point at ``u`` of the way from ``low`` to ``high``; ``high - low`` may
    overflow a float (a range of ±1.8e308), each end's share does not."""
    span = high - low
    if math.isfinite(span):
        return float(low + u * span)
    return float((1 - u) * low + u * high)


def _category(value: Any) -> str:
    """What identifies a category across processes: its canonical hash (a frozenset's
    order and a str's hash seed do not count), else its repr without an address, else
    its type (a repr that raises, an int past str()'s digit limit)."""
    from ato.errors import UnhashableValueError
    from ato.value_hash import value_hash

    try:
        return value_hash(value)
    except UnhashableValueError:
        pass
    try:
        from ato.hyperopt.identity import ADDRESS  # without the address of each start

        return ADDRESS.sub("", repr(value))
    except Exception:
        kind = type(value)
        return f"<{kind.__module__}.{kind.__qualname__}>"


def _distinct_integers(points: list[int], low: int, high: int) -> list[int]:
    """Rounded points made distinct: on a narrow (log) range, rounding gives 1, 2, 2, 4, 6;
    each one that repeats moves up to the next free integer (1, 2, 3, 4, 6), no further
    than leaves room for the points after it, so the grid keeps its size and both
    bounds. A grid of more points than the range holds is every integer of it."""
    if len(points) >= high - low + 1:
        return list(range(low, high + 1))
    spread: list[int] = []
    for index, point in enumerate(points):
        room = high - (len(points) - 1 - index)  # the last place that leaves room
        spread.append(min(max(point, spread[-1] + 1) if spread else point, room))
    return spread


def _repeated(values: list[Any]) -> Any:
    """The first value listed a second time (of the same type), or None."""
    from ato.errors import UnhashableValueError
    from ato.value_hash import value_hash

    seen: set[Any] = set()
    for value in values:
        try:
            # A float by its bits: 0.0 and -0.0 are two points, every NaN one.
            key: Any = (type(value), value.hex() if isinstance(value, float) else value)
            hash(key)
        except TypeError:  # a dict, a list: by the hash of its contents
            try:
                key = (type(value), value_hash(value))
            except UnhashableValueError:
                continue  # no value to compare by: never a duplicate
        if key in seen:
            return value
        seen.add(key)
    return None


class SearchSpace:
    """The searched parameters, by dotted name."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        if not isinstance(spec, Mapping):
            raise SearchSpaceError(
                f"A search space is a mapping of parameter names to specs, not {shown(spec)}."
            )
        self.parameters = list(_parameters(spec))
        if not self.parameters:
            raise SearchSpaceError("The search space is empty; give at least one parameter.")
        _refuse_overlaps(self.names)

    @property
    def names(self) -> list[str]:
        return [parameter.name for parameter in self.parameters]

    def grid(self) -> list[dict[str, Any]]:
        """Every combination of the parameters' grid points, the first parameter slowest."""
        sizes = {p.name: p.grid_size() for p in self.parameters}
        total = math.prod(sizes.values())
        if total > GRID_LIMIT:
            axes = " x ".join(f"{name!r} {counted(size)}" for name, size in sizes.items())
            raise SearchSpaceError(
                f"The search space is a grid of {counted(total)} points ({axes}); a grid takes at "
                f"most {GRID_LIMIT:,}, one trial each. Lower num_samples, or use "
                f"BracketHyperBand, which samples the space instead of a grid.",
                self.parameters[0].name,
            )
        points = [parameter.grid() for parameter in self.parameters]
        return [dict(zip(self.names, values, strict=True)) for values in itertools.product(*points)]

    def sample(self, units: Sequence[float]) -> dict[str, Any]:
        """The point at ``units`` (one number in [0, 1) per parameter)."""
        return {
            parameter.name: parameter.sample_unit(u)
            for parameter, u in zip(self.parameters, units, strict=True)
        }

    def describe(self) -> dict[str, Any]:
        return {parameter.name: parameter.describe() for parameter in self.parameters}

    def readable(self) -> dict[str, str]:
        """Each CATEGORY parameter's values as they read, ``['a', 'b']`` (for messages;
        :meth:`describe` gives hashes)."""
        return {
            p.name: "[" + ", ".join(shown(c) for c in p.categories) + "]"
            for p in self.parameters
            if p.categories
        }


def _parameters(spec: Mapping[str, Any]) -> Iterator[Parameter]:
    """The parameters of ``spec`` in order, depth first; iterative, so that deep
    nesting needs no deep recursion, and a section containing itself is refused."""
    stack: list[tuple[Iterator[tuple[Any, Any]], str, int]] = [(iter(spec.items()), "", id(spec))]
    open_sections = {id(spec)}
    while stack:
        items, prefix, section = stack[-1]
        entry = next(items, None)
        if entry is None:
            stack.pop()
            open_sections.discard(section)
            continue
        key, value = entry
        name = f"{prefix}{key}"
        if not isinstance(key, str) or "" in key.split("."):
            problem = "has an empty part" if isinstance(key, str) else "is not a string"
            raise SearchSpaceError(
                f"Search space of {name!r}: the name {shown(key)} {problem}; a searched "
                f"key is the config's key, its parts joined by single dots ('optimizer.lr').",
                name,
            )
        if not isinstance(value, Mapping):
            raise SearchSpaceError(
                f"Search space of {name!r}: {shown(value)} is not a spec; write e.g. "
                f"{key}=ADict(param_type='FLOAT', param_range=(0.0, 1.0), num_samples=5).",
                name,
            )
        # A section's every value is a spec or a section (a mapping); a spec always has
        # a value that is none (its range, its categories): model=ADict(base=ADict(...))
        # is a section, however its keys are named.
        section = "param_type" not in value and all(
            isinstance(child, Mapping) for child in value.values()
        )
        if not value or (not section and ("param_type" in value or set(value) & _ALL_KEYS)):
            yield Parameter(name, value)
        elif len(stack) >= DEPTH_LIMIT:
            raise SearchSpaceError(
                f"Search space of {name[:60]!r}...: sections nest more than {DEPTH_LIMIT} "
                f"levels deep; a trial's config would nest as deep. Use fewer levels.",
                name,
            )
        elif id(value) in open_sections:
            raise SearchSpaceError(
                f"Search space of {name!r}: this section contains itself (a cycle); a "
                f"search space is a tree of specs.",
                name,
            )
        else:  # a section of nested specs: optimizer=ADict(lr=ADict(...))
            open_sections.add(id(value))
            stack.append((iter(value.items()), f"{name}.", id(value)))


def _refuse_overlaps(names: list[str]) -> None:
    """The same key given twice (``'a.b'`` and ``a=ADict(b=...)``), or a key searched
    both as a value and as a section (``'a'`` and ``'a.b'``): one would silently win."""
    seen: set[str] = set()
    for name in sorted(names):  # 'a' sorts right before 'a.b', 'a.c', ...
        parts = name.split(".")
        for depth in range(1, len(parts) + 1):
            prefix = ".".join(parts[:depth])
            if prefix not in seen:
                continue
            if prefix == name:
                problem = "is given twice (once dotted, once as a nested section)"
            else:
                problem = f"is searched as a value, and {name!r} inside it too"
            raise SearchSpaceError(
                f"Search space of {prefix!r}: {problem}; a key is searched once. Keep one.",
                prefix,
            )
        seen.add(name)

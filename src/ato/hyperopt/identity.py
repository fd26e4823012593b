"""What makes two starts of a search the same search, so that the second one resumes.

The algorithm with its arguments, the search space, the mode and the scope; and, when the
search is tracked (only then is there something to resume), the config every trial starts
from, the logic of the views that assemble it (lazy branches the starting config does not
take included), the logic of the trial function (its canonical fingerprint combined with
its callees': a comment or a renamed local does not count, an edit does) and the plain
values it carries (closure, instance: numbers, strings, lists and dicts of them, numpy
arrays), as they are at the start. Stored metrics measured under another config or other
code would otherwise be mixed into the new search. Keys that differ at every start by
design do not count: the tracker's settings (``experiment.project_name``, ``.sql``,
``.volatile``; another ``experiment.*`` key, a seed, does count), keys marked volatile,
and the searched keys, whose starting values no trial sees. The module globals the
trial function and its helpers read count by the code that sets them (``SCALE = 2``), as
part of their fingerprint, not by the values they hold.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import inspect
import json
import re
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["carried_values", "plain_values", "search_identity", "view_logic"]

# An object without a repr of its own shows its address, which differs at every start.
ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def search_identity(
    facts: Mapping[str, Any],
    config: Mapping[str, Any],
    volatile: Sequence[str] = (),
    trial: Callable[..., Any] | None = None,
    searched: Sequence[str] = (),
    arguments: Mapping[str, Any] | None = None,
    parts: dict[str, str] | None = None,
) -> str:
    """A 32-digit hex id of ``facts`` (JSON-able settings), the ``config`` trials start
    from (without tracker settings, ``volatile`` keys and the ``searched`` keys, whose
    starting values no trial sees), ``trial``'s logic and the plain values it carries,
    and the plain values among the ``arguments`` it is called with. ``parts``, when
    given, gets a short digest of each of these, by name: what tells two searches'
    differences apart."""
    from ato.config_json import encode
    from ato.explain.facts import flatten
    from ato.explain.sections import key_category
    from ato.trace import fingerprint_of

    patterns = tuple(volatile)

    def counts(key: str) -> bool:
        if any(key == name or key.startswith(f"{name}.") for name in searched):
            return False
        return key_category(key, patterns) == "config"

    plain, tags = encode(config)  # a value whose repr raises: a stand-in naming its type
    whole = dict(facts)
    whole["config"] = {key: value for key, value in flatten(plain) if counts(key)}
    whole["types"] = sorted(  # the order keys were written in does not count
        json.dumps(tag, sort_keys=True) for tag in tags if counts(".".join(map(str, tag[0])))
    )
    if trial is not None:
        whole["code"] = fingerprint_of(trial).combined
        whole["carried"] = carried_values(trial)
        whole["called with"] = plain_values(arguments or {})
    if parts is not None:
        parts.update({name: _digest(value)[:12] for name, value in whole.items()})
    return _digest(whole)[:32]


def _digest(value: Any) -> str:
    text = ADDRESS.sub("", json.dumps(value, sort_keys=True, default=repr))
    return hashlib.sha256(text.encode()).hexdigest()


def _immutable(value: Any) -> bool:
    """A value that cannot change while it is held: a number, a string, bytes, None, an
    enum member, a numpy scalar, or a tuple or frozenset of these."""
    if isinstance(value, (tuple, frozenset)):
        try:
            return all(_immutable(item) for item in value)
        except RecursionError:  # nested past the stack: not a setting anyone wrote
            return False
    if isinstance(value, (type(None), bool, int, float, complex, str, bytes, enum.Enum)):
        return True
    kind = type(value)  # numpy scalars, without importing numpy
    return kind.__module__ == "numpy" and getattr(value, "shape", None) == ()


def _hash_of(value: Any) -> str:
    from ato.errors import UnhashableValueError
    from ato.value_hash import value_hash

    try:
        return value_hash(value)  # a frozenset's order, an enum: hashed canonically
    except UnhashableValueError:
        return f"<{type(value).__qualname__}>"


def _plain(value: Any) -> bool:
    """A setting's kind of value: an immutable one, plain data (lists, dicts and sets of
    numbers and strings, as ``epochs = [1, 10, 100]``) or a numpy array of numbers or
    text. Other objects (a model, a data loader, a file) hold state, not settings."""
    from ato.globals_code import is_plain_data

    if _immutable(value) or is_plain_data(value):
        return True
    kind = type(value)
    if kind.__module__ != "numpy" or kind.__name__ != "ndarray":
        return False
    return bool(value.dtype.kind in "biufcSU")


def plain_values(values: Mapping[str, Any]) -> dict[str, str]:
    """The hashes of the plain ones of ``values`` (by name), as they are now."""
    return {name: _hash_of(value) for name, value in values.items() if _plain(value)}


def carried_values(func: Any) -> dict[str, str]:
    """The plain values ``func`` carries, as they are when the search starts: its
    closure's (``epochs = [1, 10, 100]`` of an enclosing function) and, for a callable
    instance or a bound method, its instance's (``Trainer(epochs=100)``). They change
    what a trial does as its code would. A list or dict the function's own code fills
    (``history.append(metric)``, ``cache[key] = ...``) is its log, not a setting, and
    does not count (see :mod:`ato.hyperopt.filled`)."""
    from ato.hyperopt.filled import filled_names

    values: dict[str, Any] = {}
    seen: set[int] = set()

    def visit(obj: Any, label: str, depth: int, method: Any = None) -> None:
        if depth > 8 or id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, functools.partial):  # its arguments count in its fingerprint
            visit(obj.func, label, depth + 1)
        elif isinstance(obj, types.MethodType):
            visit(obj.__self__, label, depth + 1, obj.__func__)
            visit(obj.__func__, label, depth + 1)
        elif isinstance(obj, types.FunctionType):
            filled = filled_names(obj)
            cells = zip(obj.__code__.co_freevars, obj.__closure__ or (), strict=False)
            for name, cell in cells:
                try:
                    content = cell.cell_contents
                except ValueError:  # a cell not filled yet
                    continue
                if isinstance(content, (types.FunctionType, functools.partial)):
                    visit(content, f"{label}{name}.", depth + 1)  # under a decorator
                elif name not in filled:
                    values[f"{label}{name}"] = content
            wrapped = getattr(obj, "__wrapped__", None)
            if wrapped is not None:
                visit(wrapped, label, depth + 1)
        elif not isinstance(obj, type) and hasattr(obj, "__dict__"):
            runs = method or inspect.getattr_static(type(obj), "__call__", None)  # what a call runs
            filled = filled_names(runs) if isinstance(runs, types.FunctionType) else frozenset()
            for name, value in vars(obj).items():
                if f"self.{name}" not in filled:
                    values[f"{label}self.{name}"] = value

    visit(func, "", 0)
    return plain_values(values)


def view_logic(scope: Any) -> dict[str, str]:
    """The canonical fingerprint of each view the scope applies, by name."""
    from ato.trace import fingerprint_of

    applied = scope.get_assigned_views()
    names = [name for group in ("default_views", "views", "default_lazy_views", "lazy_views")
             for name in applied[group]]  # fmt: skip
    logic = {}
    for name in names:
        view = scope.views.get(name)
        function = None if view is None else view.fn
        # Code only: a partial's bound values (a run's output folder, say) reach the
        # config, which counts as the search's starting config, volatile keys aside.
        while isinstance(function, functools.partial):
            function = function.func
        if function is not None:
            logic[name] = fingerprint_of(function).combined
    return logic

"""Assembling a scope's config: views, then command-line values, then lazy parts.

The order is:

1. the initial config (``Scope(config=...)``), then the non-lazy views in the order of
   :func:`ato.views.order_views`;
2. command-line values (``lr=0.01``), which so win over every non-lazy view;
3. the ``with Scope.lazy():`` blocks of those views, run again so that they see step 2;
4. lazy views, default ones first, each group by priority.

Every write is recorded by a :class:`~ato.provenance.Recorder`; afterwards the
command-line keys are checked against what the views set (a warning, or in strict mode
an error).
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from typing import Any

from ato.adict import ADict
from ato.errors import (
    AtoWarning,
    CommandLineError,
    KeyPathError,
    LayerPathError,
    OverridePathError,
    OverrideReplacedError,
    OverrideTypeError,
    ScopeError,
    UnknownKeyError,
)
from ato.message_text import close_matches
from ato.observers import attach_observer, detach_observer
from ato.parser import Override, check_key_characters
from ato.paths import set_value, split
from ato.provenance import Provenance, Recorder, Source, dotted
from ato.views import View

__all__ = ["Assembly", "Layer", "LazyBlock", "Whole", "assemble", "check_command_line_keys"]


class Assembly:
    """The scope being applied right now, for ``Scope.lazy()``."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.view: View | None = None
        self.phase = "views"  # then "replay", then "lazy views"
        self.views_with_lazy_blocks: list[View] = []


_ASSEMBLY: ContextVar[Assembly | None] = ContextVar("ato_scope_assembly", default=None)


class LazyBlock:
    """``with Scope.lazy():``: a block that takes effect after the command-line values."""

    def __enter__(self) -> None:
        assembly = _ASSEMBLY.get()
        if assembly is None or assembly.view is None:
            raise ScopeError(
                "Scope.lazy() marks part of a view, so it only works inside a function "
                "registered with @scope.observe while the scope applies it."
            )
        self.assembly = assembly
        self.was_skipping = assembly.recorder.skipping
        self.was_source = assembly.recorder.source
        view = assembly.view
        if assembly.phase == "views":
            # First pass: the block runs again after the command line; its writes now
            # would only be overwritten, and it may read keys that do not exist yet.
            if view not in assembly.views_with_lazy_blocks:
                assembly.views_with_lazy_blocks.append(view)
            assembly.recorder.skipping = True
        elif assembly.phase == "replay":
            assembly.recorder.skipping = False
            assembly.recorder.source = view.source("lazy block")

    def __exit__(self, kind: object, error: object, trace: object) -> bool:
        assembly = self.assembly
        first_pass = assembly.phase == "views"
        assembly.recorder.skipping = self.was_skipping
        assembly.recorder.source = self.was_source
        return first_pass and isinstance(error, (KeyError, AttributeError))


Layer = tuple[Source, Mapping[str, Any]]


def assemble(
    config: ADict,
    initial: ADict,
    views: Sequence[View],
    overrides: Sequence[Override],
    lazy_views: Callable[[], Sequence[View]],
    scope_name: str,
    layers: Sequence[Layer] = (),
    recorder: Recorder | None = None,
) -> Recorder:
    """Fill ``config`` (emptied first, in place) and return the record of its writes
    (``recorder``, when given: a caller keeps the record of an assembly that raised, whose
    ``stopped_at`` names the source being applied then).

    ``layers`` are written after the command-line values and before the lazy parts, each
    as ``{dotted key: value}`` under its own source: a search's values (kind 'search'), or
    another parser's (Hydra's) config."""
    detach_observer(config)
    config.clear()
    recorder = Recorder() if recorder is None else recorder
    recorder.root = config
    assembly = Assembly(recorder)
    token = _ASSEMBLY.set(assembly)
    attach_observer(config, recorder)
    try:
        recorder.source = Source("initial", "Scope(config=...)")
        for key, value in dict.items(initial.clone()):
            config[key] = value
        for view in views:
            assembly.view = view
            recorder.source = view.source()
            view.apply(config)
        assembly.view = None
        recorder.overrides = [unprefixed(config, override, scope_name) for override in overrides]
        for override in recorder.overrides:
            recorder.source = Source("command line", override.token)
            _set_override(config, _as_float_where_a_view_set_one(override, recorder), scope_name)
        for source, values in layers:
            recorder.source = source
            for key, value in _dotted_leaves(values):
                _set_layer_value(config, key, value, source, recorder, scope_name)
        assembly.phase = "replay"
        for view in assembly.views_with_lazy_blocks:
            assembly.view = view
            recorder.skipping = True
            assert view.fn is not None
            view.fn(config)
            recorder.skipping = False
        assembly.phase = "lazy views"
        for view in lazy_views():
            assembly.view = view
            recorder.source = view.source()
            view.apply(config)
    except BaseException:
        detach_observer(config)
        recorder.stopped_at = assembly.view.source() if assembly.view else recorder.source
        raise
    finally:
        recorder.skipping = False
        _ASSEMBLY.reset(token)
    # The recorder stays attached: the program's writes after this are recorded too
    # (as code, with file and line), so stored provenance never goes stale.
    recorder.assembled()
    return recorder


def unprefixed(config: ADict, override: Override, scope_name: str) -> Override:
    """``train.epochs=9`` for the only scope, named 'train': the key ``train.epochs`` of
    its config when the views made it (2.x's reading), else ``epochs`` (the prefix the
    form of several scopes has). Both present: refused, naming how to write each."""
    if not override.scope_prefixed:
        return override
    nested, bare = override.path, override.path[1:]
    if _exists(config, nested) and _exists(config, bare):
        value = override.token.partition("=")[2]
        raise CommandLineError(
            f"{override.token!r} could set {dotted(tuple(nested))} or {dotted(tuple(bare))}: "
            f"the scope is named {scope_name!r} and its config has a section "
            f"{scope_name!r}. Write {scope_name}.{override.key}={value} for the first, "
            f"{dotted(tuple(bare))}={value} for the second."
        )
    if _exists(config, nested):
        return Override(override.key, override.value, override.token, override.forced_string)
    key = override.key.split(".", 1)[1]
    return Override(key, override.value, override.token, override.forced_string)


def _exists(config: Mapping[str, Any], path: Sequence[str]) -> bool:
    node: Any = config
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False
        node = dict.__getitem__(node, part)  # not node[part]: that marks it as read
    return True


class Whole:
    """A layer's value set as one value, as ``model={...}`` on the command line: a dict
    replaces the section instead of being merged into it leaf by leaf (a searched
    category that is a whole preset)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _dotted_leaves(values: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """A layer's values leaf by leaf (``{"model": {"depth": 50}}`` gives ``model.depth``),
    so that each leaf has its own provenance; a :class:`Whole` value stays one."""
    found: list[tuple[str, Any]] = []
    for key, value in values.items():
        if isinstance(value, Whole):
            found.append(
                (
                    str(key),
                    ADict(value.value).clone() if isinstance(value.value, Mapping) else value.value,
                )
            )
        elif isinstance(value, Mapping) and value:
            found += [(f"{key}.{inner}", leaf) for inner, leaf in _dotted_leaves(value)]
        else:
            found.append((str(key), value))
    return found


def _as_float_where_a_view_set_one(override: Override, recorder: Recorder) -> Override:
    """``lr=1`` for a key the views set to a float gives the float 1.0: a value's type is
    part of the config's structure, and an int there would split its runs from their
    siblings (``find_similar_runs``)."""
    value = override.value
    if type(value) is not int:
        return override
    path = existing_path(recorder.root, override.path)
    written = [v for v, source in recorder.history.get(path, [])]
    if written and type(written[-1]) is float:
        return Override(override.key, float(value), override.token, override.forced_string)
    return override


def existing_path(config: Any, path: Sequence[str]) -> tuple[Any, ...]:
    """``path`` as typed (text), with each part that names a key of another type in the
    config taken as that key: ``class_weights.0=5.0`` sets the int key 0 when the config
    has it (and no key '0'), rather than adding '0' beside it."""
    found: list[Any] = []
    node = config
    for part in path:
        key: Any = part
        if isinstance(node, dict) and part not in node:
            # Looked up, never searched for: a config of many keys takes many new ones.
            key = next((k for k in _typed_readings(part) if k in node), part)
        found.append(key)
        node = dict.get(node, key) if isinstance(node, dict) else None
    return tuple(found)


def _typed_readings(part: str) -> list[Any]:
    """The keys of other types whose ``str()`` is ``part``: ``'0'`` is 0, ``'None'`` None."""
    readings: list[Any] = []
    if part in ("None", "True", "False"):
        readings.append({"None": None, "True": True, "False": False}[part])
    elif part.lstrip("-").isdigit() and part.isascii():
        with contextlib.suppress(ValueError):  # digits past Python's limit
            whole = int(part)
            if str(whole) == part:  # not '007' or '-0': those name keys of their own
                readings.append(whole)
    else:
        with contextlib.suppress(ValueError):
            number = float(part)
            if str(number) == part:
                readings.append(number)
    return readings


def _set_override(config: ADict, override: Override, scope_name: str) -> None:
    try:
        set_value(config, existing_path(config, override.path), override.value, factory=ADict)
    except KeyPathError as error:
        raise OverridePathError(
            f"Cannot apply {override.token!r}: {error.where!r} in scope {scope_name!r} holds "
            f"{error.found!r:.40}, not a mapping. Override {error.where!r} itself instead."
        ) from None


def _set_layer_value(
    config: ADict, key: str, value: Any, source: Source, recorder: Recorder, scope_name: str
) -> None:
    try:
        path = existing_path(config, split(key, allow_empty=True))
        set_value(config, path, value, factory=ADict)
    except KeyPathError as error:
        setters = recorder.sources(tuple(error.parts[: (error.depth or 0) + 1]))
        by = ""
        if setters:
            last = setters[-1]
            named = last.kind in ("view", "lazy view", "lazy block")
            by = f" (set by the {last.kind} {last.name!r})" if named else f" (set by {last})"
        fix = (
            f"search {error.where!r} itself (a CATEGORY of whole sections), or"
            if source.kind == "search"
            else f"set {error.where!r} itself, or"
        )
        setter = "The search" if source.kind == "search" else source.name
        raise LayerPathError(
            f"{setter} sets {key!r}, but {error.where!r} in scope {scope_name!r} holds "
            f"{error.found!r:.40}{by}, not a section of keys. To fix it, {fix} have the "
            f"views make {error.where!r} a section."
        ) from None


def check_command_line_keys(
    recorder: Recorder,
    overrides: Sequence[Override],
    scope_name: str,
    strict: bool,
    prefixed: bool,
) -> None:
    """Warn (or, when ``strict``, raise) for a command-line key that no view sets, and
    when ``strict``, raise for a value of another type than the views set.

    ``prefixed``: keys are typed with the scope's name (there are several scopes).
    """
    history = recorder.history
    longest = max((len(override.path) for override in overrides), default=0)
    under: set[tuple[Any, ...]] | None = None  # made once, and only when needed

    def set_elsewhere(path: tuple[Any, ...]) -> bool:
        nonlocal under
        if any(source.kind != "command line" for _, source in history.get(path, [])):
            return True
        if under is None:
            under = _written_under(history, longest)
        return path in under

    known: list[str] | None = None
    shown = f"{scope_name}." if prefixed else ""
    warned, more = 0, []
    for override in overrides:
        path = existing_path(recorder.root, override.path)
        if set_elsewhere(path):
            _check_type(override, recorder.provenance(path), scope_name, strict)
            _check_not_replaced(override, recorder.provenance(path), scope_name, strict)
            continue
        if _read(recorder.root, path):
            continue  # a view reads it (dataset=... for a lazy view): not a typo
        check_key_characters(override.token, override.key)  # layers[0]=1: refused
        if not strict and warned >= _WARNED_KEYS:
            more.append(f"{shown}{override.key}")  # said at once, below
            continue
        if known is None:  # once: a command line of many new keys stays fast
            known = [dotted(p) for p in history if set_elsewhere(p)]
        matches = close_matches(override.key, known, limit=1)
        hint = f"; did you mean {shown}{matches[0]}?" if matches else ""
        message = f"{shown}{override.key} is set only on the command line{hint}"
        if strict:
            raise UnknownKeyError(
                f"{message} (scope {scope_name!r} is strict: only keys that a view "
                f"sets can be overridden)"
            )
        warned += 1
        warnings.warn(message, AtoWarning, stacklevel=_stacklevel_outside_ato())
    if more:
        listed = ", ".join(more[:5]) + (", ..." if len(more) > 5 else "")
        warnings.warn(
            f"{len(more)} more keys are set only on the command line: {listed}",
            AtoWarning,
            stacklevel=_stacklevel_outside_ato(),
        )


#: Keys set only on the command line warned about one by one; the rest in one warning.
_WARNED_KEYS = 20


_History = dict[tuple[Any, ...], list[tuple[Any, Source]]]


def _read(root: ADict | None, path: tuple[Any, ...]) -> bool:
    """Whether the assembly read ``path`` (every read of an ADict is recorded)."""
    node: Any = root
    for part in path[:-1]:
        if not isinstance(node, ADict) or part not in node:
            return False
        node = dict.__getitem__(node, part)  # not node[part]: that marks it as read
    return isinstance(node, ADict) and path[-1] in node.accessed_keys


def _written_under(history: _History, longest: int) -> set[tuple[Any, ...]]:
    """The paths (of at most ``longest`` parts) that something other than the command
    line wrote, or wrote a key under."""
    found: set[tuple[Any, ...]] = set()
    for path, entries in history.items():
        if any(source.kind != "command line" for _, source in entries):
            found.update(path[:size] for size in range(1, min(len(path), longest) + 1))
    return found


def _check_type(
    override: Override, entries: list[Provenance], scope_name: str, strict: bool
) -> None:
    """A value of another type than the views set: an error when ``strict``, else a
    warning (a string where a float belongs would otherwise fail far from here)."""
    before = [e for e in entries if e.source.kind != "command line" and not e.deleted]
    expected = [e for e in before if e.source.kind in ("view", "initial")]
    if not expected:
        return
    reference = expected[-1]
    old, new = type(reference.value), type(override.value)
    if old is new or (old is float and new is int) or (override.forced_string and old is str):
        return
    if reference.value is None or override.value is None:
        return  # None is how a view says "unset": any type may replace it, and back
    message = (
        f"{override.token!r} gives a {new.__name__}, but {reference.source} sets "
        f"{override.key} to a {old.__name__} ({reference.value!r})"
    )
    if strict:
        raise OverrideTypeError(
            f"{message}. Scope {scope_name!r} is strict: give a {old.__name__}."
        )
    warnings.warn(
        f"{message}; the {new.__name__} is used. Give a {old.__name__}, or make the scope "
        f"check this with Scope(strict=True).",
        AtoWarning,
        stacklevel=_stacklevel_outside_ato(),
    )


def _check_not_replaced(
    override: Override, entries: list[Provenance], scope_name: str, strict: bool
) -> None:
    """A command-line value that a lazy view (or block) overwrote afterwards was typed
    for nothing: say so, naming the view."""
    typed = [i for i, e in enumerate(entries) if e.source.kind == "command line"]
    if not typed:
        return
    later = [e for e in entries[typed[-1] + 1 :] if e.source.kind != "command line"]
    if not later:
        return
    final = later[-1]
    if not final.deleted and final.value == override.value:
        return
    if final.source.kind.startswith("search"):
        # Worded without the trial's value: the same warning for every trial shows once.
        message = (
            f"{override.token!r} on the command line is replaced by the search, which "
            f"sets {override.key} in every trial"
        )
        fix = "Drop it from the command line or from the search space."
    else:
        message = (
            f"{override.token!r} on the command line was replaced by {final.source}, which "
            f"runs after the command line and sets {override.key} = {final.value!r}"
        )
        fix = (
            f"Set the value that view reads instead, or make the view leave "
            f"{override.key} alone when it is given."
        )
    if strict:
        raise OverrideReplacedError(f"{message} (scope {scope_name!r} is strict). {fix}")
    warnings.warn(f"{message}. {fix}", AtoWarning, stacklevel=_stacklevel_outside_ato())


def _stacklevel_outside_ato() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside ato."""
    package = os.path.dirname(os.path.abspath(__file__))
    frame = sys._getframe(1)
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level

"""Scope: a program's config assembled from named views, by priority, with provenance.

A *view* is a function that writes into the config (``@scope.observe``) or a mapping
(``scope.observe(field, config={...})``). Default views always apply; the others apply
when named on the command line or with ``scope.assign``. The order is:

1. non-lazy default views, then the chosen ones, each group by priority (ties in
   registration order), every view after the views it ``chain_with``-s;
2. command-line values (``lr=0.01``), which so win over every non-lazy view;
3. the ``with Scope.lazy():`` blocks of those views, run again so that they see step 2;
4. lazy views, default ones first, each group by priority.

Every write is recorded (:mod:`ato.provenance`): ``scope.provenance('lr')`` gives its
history and ``scope.explain('lr')`` a sentence.
"""

from __future__ import annotations

import functools
import inspect
import os
import warnings
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from contextvars import ContextVar
from typing import Any, ClassVar, TypeVar

from ato import adict
from ato.adict import ADict
from ato.errors import (
    AtoWarning,
    ConfigKeyError,
    OverridePathError,
    OverrideTypeError,
    ScopeError,
    UnknownKeyError,
    UnknownViewError,
    ViewCycleError,
    close_matches,
    did_you_mean,
)
from ato.parser import Command, Override, ViewName, parse_command, parse_token
from ato.provenance import MISSING, Provenance, Recorder, Source, dotted, leaves
from ato.trace import Fingerprint, RuntimeCall, Tracer

__all__ = ["MultiScope", "Scope", "ScopeRegistry", "View", "parse_args_pythonic"]

_F = TypeVar("_F", bound=Callable[..., Any])


class View:
    """One named source of config values: a function or a mapping (or a file path)."""

    __slots__ = ("chain_with", "config", "default", "fn", "lazy", "name", "order", "priority")

    def __init__(
        self,
        name: str,
        order: int,
        fn: Callable[[ADict], Any] | None = None,
        config: Any = None,
        priority: int = 0,
        lazy: bool = False,
        default: bool = False,
        chain_with: str | Sequence[str] | None = None,
    ) -> None:
        self.name, self.order, self.fn, self.config = name, order, fn, config
        self.priority, self.lazy, self.default = priority, lazy, default
        if chain_with is None:
            chain_with = []
        self.chain_with = [chain_with] if isinstance(chain_with, str) else list(chain_with)

    @property
    def internal(self) -> bool:
        return self.name.startswith("_")

    def source(self, kind: str | None = None) -> Source:
        file = os.fspath(self.config) if isinstance(self.config, (str, os.PathLike)) else None
        return Source(
            kind or ("lazy view" if self.lazy else "view"), self.name, self.priority, file
        )

    def apply(self, config: ADict) -> None:
        if self.fn is not None:
            self.fn(config)
            return
        values = self.config
        if isinstance(values, (str, os.PathLike)):
            values = ADict.from_file(values)
        config.update(values, recurrent=True)

    def sort_key(self) -> tuple[int, int, int]:
        """Default views first, then chosen ones; each group by priority, ties in
        registration order."""
        return (0 if self.default else 1, self.priority, self.order)


class ScopeRegistry(MutableMapping[str, "Scope"]):
    """Scopes by name, and what was read from the command line for them.

    ``Scope.registry`` is the default one; tests reset it with ``reset()`` (or
    ``Scope.initialize_registry()``).
    """

    def __init__(self) -> None:
        self.scopes: dict[str, Scope] = {}
        self.parsed = False
        self.commands: list[str] = []

    def reset(self) -> None:
        from ato import external_parser

        self.scopes.clear()
        self.parsed = False
        self.commands.clear()
        external_parser.release(self)

    def __getitem__(self, name: str) -> Scope:
        return self.scopes[name]

    def __setitem__(self, name: str, scope: Scope) -> None:
        self.scopes[name] = scope

    def __delitem__(self, name: str) -> None:
        del self.scopes[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.scopes)

    def __len__(self) -> int:
        return len(self.scopes)

    def __repr__(self) -> str:
        return f"ScopeRegistry({list(self.scopes)})"


class _Assembly:
    """The scope being applied right now, for ``Scope.lazy()``."""

    def __init__(self, scope: Scope, recorder: Recorder) -> None:
        self.scope, self.recorder = scope, recorder
        self.view: View | None = None
        self.phase = "views"  # then "replay", then "lazy views"
        self.views_with_lazy_blocks: list[View] = []


_ASSEMBLY: ContextVar[_Assembly | None] = ContextVar("ato_scope_assembly", default=None)


class _LazyBlock:
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


class Scope:
    """A named config assembled from views; decorate the entry point with it."""

    registry: ClassVar[ScopeRegistry] = ScopeRegistry()

    def __init__(
        self,
        config: Mapping[str, Any] | None = None,
        name: str = "config",
        use_external_parser: bool = False,
        external_priority: int = -2,
        enable_override: bool = False,
        strict: bool = False,
    ) -> None:
        self.name = name
        self.use_external_parser = use_external_parser
        self.external_priority = external_priority
        self.strict = strict
        self.views: dict[str, View] = {}
        self.manuals = ADict.auto()
        self._initial = ADict(config) if config is not None else ADict()
        self.config = self._initial.clone()
        self._selected: list[str] = []
        self._literals: list[Override] = []
        self._recorder: Recorder | None = None
        self._order_counter = 0
        self.active = True
        self.is_applied = False
        self._tracer = Tracer()
        self._register(enable_override)
        if use_external_parser:
            from ato import external_parser

            external_parser.install(self.registry)

    def _register(self, enable_override: bool) -> None:
        existing = self.registry.get(self.name)
        if existing is not None and existing is not self and not enable_override:
            raise ScopeError(
                f"A scope named {self.name!r} already exists. Give this one another name "
                f"(Scope(name=...)), or pass enable_override=True to replace it."
            )
        self.registry[self.name] = self

    @classmethod
    def initialize_registry(cls) -> None:
        """Forget every scope and what was read from the command line (2.x name)."""
        cls.registry.reset()

    # -- views ---------------------------------------------------------------------------

    def observe(
        self,
        field: str | Callable[..., Any] | None = None,
        config: Any = None,
        priority: int = 0,
        lazy: bool = False,
        default: bool = False,
        chain_with: str | Sequence[str] | None = None,
    ) -> Any:
        """Register a view: ``@scope.observe(...)`` on a function, or a mapping (or a file
        path) with ``scope.observe('name', config=...)``."""
        if callable(field) and config is None:  # @scope.observe without parentheses
            return self.observe()(field)
        if config is not None:
            if not isinstance(field, str):
                raise ScopeError(
                    "A view given as config=... needs a name: scope.observe('name', config=...)"
                )
            self._add_view(field, None, config, priority, lazy, default, chain_with)
            return None

        def register(fn: _F) -> _F:
            name = field if isinstance(field, str) else fn.__name__
            self._add_view(name, fn, None, priority, lazy, default, chain_with)
            return fn

        return register

    add_to_screen = observe  # 2.x name

    def _add_view(
        self,
        name: str,
        fn: Callable[..., Any] | None,
        config: Any,
        priority: int,
        lazy: bool,
        default: bool,
        chain_with: str | Sequence[str] | None,
    ) -> None:
        if name in ("manual", "print"):
            raise ScopeError(f"{name!r} is a command; give the view another name.")
        self._order_counter += 1
        previous = self.views.get(name)
        order = previous.order if previous is not None else self._order_counter
        self.views[name] = View(name, order, fn, config, priority, lazy, default, chain_with)
        self.is_applied = False

    def manual(self, field: Callable[[ADict], Any] | None = None, manual: Any = None) -> Any:
        """Document keys: ``@scope.manual`` on a function that sets ``config.key = 'text'``,
        or ``scope.manual(manual={...})``."""
        if manual is not None:
            self.manuals.update(manual, recurrent=True)
        if field is not None:
            field(self.manuals)
        return field

    # -- choosing ------------------------------------------------------------------------

    def assign(self, literals: str | Override | Sequence[str | Override]) -> None:
        """Choose views and add overrides, as the command line would (``'high_lr'``,
        ``'lr=0.1'``)."""
        if isinstance(literals, (str, Override)):
            literals = [literals]
        for literal in literals:
            if isinstance(literal, Override):
                self._literals.append(literal)
            elif literal in self.views:
                self._select(literal, ())
            else:
                token = parse_token(literal)
                if isinstance(token, Override):
                    self._literals.append(token)
                elif isinstance(token, Command):
                    self.registry.commands.append(str(token))
                else:
                    raise self.unknown_view(token)
        self.is_applied = False

    def unknown_view(self, name: str) -> UnknownViewError:
        hint = did_you_mean(name, [v for v in self.views if not v.startswith("_")])
        return UnknownViewError(f"Unknown view {name!r} in scope {self.name!r}.{hint}")

    def _select(self, name: str, chain: tuple[str, ...]) -> None:
        if name in chain:
            cycle = " -> ".join([*chain[chain.index(name) :], name])
            raise ViewCycleError(f"Views chain to each other: {cycle}. Remove one chain_with.")
        view = self.views.get(name)
        if view is None:
            raise self.unknown_view(name)
        for dependency in view.chain_with:
            self._select(dependency, (*chain, name))
        if name not in self._selected:
            self._selected.append(name)

    def _ordered(self, lazy: bool) -> list[View]:
        chosen = [
            view
            for view in self.views.values()
            if view.lazy == lazy and (view.default or view.name in self._selected)
        ]
        chosen.sort(key=View.sort_key)
        ordered: list[View] = []

        def place(view: View, chain: tuple[str, ...]) -> None:
            if view in ordered:
                return
            if view.name in chain:
                cycle = " -> ".join([*chain[chain.index(view.name) :], view.name])
                raise ViewCycleError(f"Views chain to each other: {cycle}.")
            for dependency in view.chain_with:
                if dependency not in self.views:
                    raise self.unknown_view(dependency)
                needed = self.views[dependency]
                if needed.lazy == lazy:
                    place(needed, (*chain, view.name))
            ordered.append(view)

        for view in chosen:
            place(view, ())
        return ordered

    def get_assigned_views(self) -> ADict:
        """The chosen views and command-line values, in the order they apply."""
        eager, lazy = self._ordered(lazy=False), self._ordered(lazy=True)
        return ADict(
            default_views=[v.name for v in eager if v.default],
            default_lazy_views=[v.name for v in lazy if v.default],
            views=[v.name for v in eager if not v.default],
            lazy_views=[v.name for v in lazy if not v.default],
            literals=[literal.token for literal in self._literals],
        )

    def reset_user_inputs(self) -> None:
        self._selected.clear()
        self._literals.clear()
        self.is_applied = False

    # -- assembling ----------------------------------------------------------------------

    def apply(self) -> ADict:
        """Assemble ``scope.config`` (in place) from the views and command-line values."""
        config = self.config
        adict.observe(config, None)
        dict.clear(config)
        recorder = Recorder()
        recorder.root = config
        assembly = _Assembly(self, recorder)
        token = _ASSEMBLY.set(assembly)
        adict.observe(config, recorder)
        try:
            recorder.source = Source("initial", "Scope(config=...)")
            for key, value in dict.items(self._initial.clone()):
                config[key] = value
            for view in self._ordered(lazy=False):
                assembly.view = view
                recorder.source = view.source()
                view.apply(config)
            assembly.view = None
            for override in self._literals:
                recorder.source = Source("command line", override.token)
                self._set_override(config, override)
            assembly.phase = "replay"
            for view in assembly.views_with_lazy_blocks:
                assembly.view = view
                recorder.skipping = True
                assert view.fn is not None
                view.fn(config)
                recorder.skipping = False
            assembly.phase = "lazy views"
            for view in self._ordered(lazy=True):
                assembly.view = view
                recorder.source = view.source()
                view.apply(config)
        finally:
            recorder.skipping = False
            adict.observe(config, None)
            _ASSEMBLY.reset(token)
        self._recorder = recorder
        self.is_applied = True
        self._check_command_line_keys()
        return config

    def _set_override(self, config: ADict, override: Override) -> None:
        node = config
        parts = override.path
        for depth, part in enumerate(parts[:-1]):
            if part not in node:
                node[part] = ADict()
            child = dict.__getitem__(node, part)
            if not isinstance(child, ADict):
                where = ".".join(parts[: depth + 1])
                raise OverridePathError(
                    f"Cannot apply {override.token!r}: {where!r} in scope {self.name!r} holds "
                    f"{child!r:.40}, not a mapping. Override {where!r} itself instead."
                )
            node = child
        node[parts[-1]] = override.value

    def _check_command_line_keys(self) -> None:
        if not self._literals:
            return
        assert self._recorder is not None
        history = self._recorder.history
        for override in self._literals:
            path = tuple(override.path)
            if self._set_elsewhere(path):
                if self.strict:
                    self._check_type(override, self._recorder.provenance(path))
                continue
            known = [dotted(p) for p in history if self._set_elsewhere(p)]
            matches = close_matches(override.key, known, limit=1)
            # With several scopes, keys are typed with their scope's name: show them so.
            shown = f"{self.name}." if len(self.registry) > 1 else ""
            hint = f"; did you mean {shown}{matches[0]}?" if matches else ""
            message = f"{shown}{override.key} is set only on the command line{hint}"
            if self.strict:
                raise UnknownKeyError(
                    f"{message} (scope {self.name!r} is strict: only keys that a view "
                    f"sets can be overridden)"
                )
            warnings.warn(message, AtoWarning, stacklevel=_stacklevel_outside_ato())

    def _set_elsewhere(self, path: tuple[Any, ...]) -> bool:
        """Whether something other than the command line wrote ``path`` or a key under it."""
        assert self._recorder is not None
        history = self._recorder.history
        if any(source.kind != "command line" for _, source in history.get(path, [])):
            return True
        return any(
            key[: len(path)] == path and any(s.kind != "command line" for _, s in entries)
            for key, entries in history.items()
            if len(key) > len(path)
        )

    def _check_type(self, override: Override, entries: list[Provenance]) -> None:
        before = [e for e in entries if e.source.kind != "command line" and not e.deleted]
        expected = [e for e in before if e.source.kind in ("view", "initial")]
        if not expected:
            return
        reference = expected[-1]
        old, new = type(reference.value), type(override.value)
        if old is new or (old is float and new is int) or (override.forced_string and old is str):
            return
        raise OverrideTypeError(
            f"{override.token!r} gives a {new.__name__}, but {reference.source} sets "
            f"{override.key} to a {old.__name__} ({reference.value!r}). Scope "
            f"{self.name!r} is strict: give a {old.__name__}."
        )

    # -- provenance ----------------------------------------------------------------------

    def provenance(self, key: str) -> list[Provenance]:
        """Every write to ``key`` (dotted) during the last assembly, oldest first.

        For a section (``'model'``), the writes to each key under it, key by key; each
        record's ``key`` says which.
        """
        history = self._history()
        path = tuple(key.split("."))
        if path not in history:
            path = next((k for k in history if dotted(k) == key), path)
        assert self._recorder is not None
        if path in history:
            return self._recorder.provenance(path)
        prefix = key + "."
        under = [k for k in history if dotted(k).startswith(prefix)]
        if not under:
            hint = did_you_mean(key, [dotted(k) for k in history])
            raise ConfigKeyError(f"Nothing in scope {self.name!r} wrote {key!r}.{hint}", key)
        return [record for k in under for record in self._recorder.provenance(k)]

    def explain(self, key: str) -> str:
        """One sentence on where ``key``'s value came from."""
        entries = self.provenance(key)
        last = entries[-1]
        if last.deleted:
            return f"{key} was removed by {last.source}."
        text = f"{key} = {last.value!r}, set by {last.source}"
        for previous in reversed(entries[:-1]):
            if not previous.deleted:
                text += f", which replaced {previous.value!r} from {previous.source}"
        return text + "."

    def _history(self) -> dict[tuple[Any, ...], list[tuple[Any, Source]]]:
        if self._recorder is None:
            raise ScopeError(
                f"Scope {self.name!r} has not been applied yet: call the decorated "
                f"function or scope.apply() first."
            )
        return self._recorder.history

    def sources(self) -> list[tuple[str, Any, list[Source]]]:
        """``(key, value, sources newest first)`` for every leaf of the final config."""
        history = self._history()
        rows = []
        for path, value in leaves(self.config, ()):
            if not path:
                continue
            chain: list[Source] = []
            for written, source in reversed(history.get(path, [])):
                if written is MISSING:
                    break
                if not chain or chain[-1] != source:
                    chain.append(source)
            rows.append((dotted(path), value, chain))
        return rows

    # -- fingerprints --------------------------------------------------------------------

    def trace(self, trace_id: str | None = None) -> Callable[[_F], _F]:
        """Fingerprint the decorated function's logic (above or below ``@scope``)."""
        return self._tracer.trace(trace_id)

    def runtime_trace(
        self,
        init_fn: Callable[[], Any] | None = None,
        inspect_fn: Callable[[Any], Any] | None = None,
        trace_id: str | None = None,
    ) -> Callable[[_F], _F]:
        """Fingerprint what the decorated function returns, at every call."""
        return self._tracer.runtime_trace(init_fn=init_fn, inspect_fn=inspect_fn, trace_id=trace_id)

    @property
    def fingerprints(self) -> dict[str, Fingerprint]:
        """``{trace_id: Fingerprint}``: static ones, and the latest of each runtime trace."""
        return self._tracer.fingerprints

    @property
    def runtime_calls(self) -> list[RuntimeCall]:
        """Every runtime-traced call so far, in order."""
        return self._tracer.calls

    @property
    def tracer(self) -> Tracer:
        """The scope's fingerprints and runtime calls; ``tracer.listeners`` are called
        with each new runtime call (the tracker stores them as they come)."""
        return self._tracer

    @property
    def _traced_data(self) -> ADict:
        return self._tracer.legacy_view()

    # -- running -------------------------------------------------------------------------

    def __call__(self, func: _F) -> _F:
        """Decorate the entry point: it receives the finished config by parameter name."""
        signature = inspect.signature(func)

        @functools.wraps(func)
        def entry(*args: Any, **kwargs: Any) -> Any:
            if not self.active:
                return func(*args, **kwargs)
            from ato import cli

            cli.prepare_scopes(self.registry, [self])
            return call_with_configs(func, signature, {self.name: self.config}, args, kwargs)

        return entry  # type: ignore[return-value]

    exec = __call__  # 2.x name

    def activate(self) -> None:
        self.active = True

    def deactivate(self) -> None:
        self.active = False

    def pause(self) -> _Paused:
        """``with scope.pause():`` decorated functions get no config injected inside."""
        return _Paused(self)

    @classmethod
    def lazy(cls, with_compile: bool = False, priority: int = 1) -> _LazyBlock:
        """``with Scope.lazy():`` inside a view: the block takes effect after the
        command-line values and sees them. (``with_compile`` and ``priority`` are
        accepted for 2.x code; blocks need neither.)"""
        return _LazyBlock()

    def __repr__(self) -> str:
        return f"Scope(name={self.name!r}, views={list(self.views)})"


def _stacklevel_outside_ato() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside ato."""
    import sys

    package = os.path.dirname(os.path.abspath(__file__))
    frame = sys._getframe(1)
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


class _Paused:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def __enter__(self) -> Scope:
        self.was_active = self.scope.active
        self.scope.active = False
        return self.scope

    def __exit__(self, *exc: object) -> None:
        self.scope.active = self.was_active


class MultiScope:
    """Several scopes, each with its own views and priorities, for one entry point."""

    def __init__(self, *scopes: Scope) -> None:
        if not scopes:
            raise ScopeError("MultiScope needs at least one Scope.")
        self.scopes = scopes
        self.registry = scopes[0].registry
        for scope in scopes:
            self.registry[scope.name] = scope

    def __call__(self, func: _F) -> _F:
        signature = inspect.signature(func)

        @functools.wraps(func)
        def entry(*args: Any, **kwargs: Any) -> Any:
            active = [scope for scope in self.scopes if scope.active]
            if not active:
                return func(*args, **kwargs)
            from ato import cli

            cli.prepare_scopes(self.registry, active)
            configs = {scope.name: scope.config for scope in active}
            return call_with_configs(func, signature, configs, args, kwargs)

        return entry  # type: ignore[return-value]


def call_with_configs(
    func: Callable[..., Any],
    signature: inspect.Signature,
    configs: Mapping[str, ADict],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    """Call ``func`` with each config given to the parameter of its name.

    The caller's positional arguments fill the other parameters in order; a config the
    caller passes explicitly wins; a function with ``**kwargs`` receives every config.
    """
    parameters = signature.parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    inject = {
        name: value
        for name, value in configs.items()
        if (name in parameters or takes_any) and name not in kwargs
    }
    if not inject:
        return func(*args, **kwargs)
    remaining = list(args)
    positional: list[Any] = []
    for parameter in parameters.values():
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            if parameter.name in inject:
                if not remaining and parameter.kind is not parameter.POSITIONAL_ONLY:
                    break  # the rest go by keyword
                positional.append(inject.pop(parameter.name))
            elif remaining:
                positional.append(remaining.pop(0))
            else:
                break
        elif parameter.kind is parameter.VAR_POSITIONAL:
            break
    positional.extend(remaining)
    return func(*positional, **kwargs, **inject)


def parse_args_pythonic(
    argv: Sequence[str] | None = None, registry: ScopeRegistry | None = None
) -> None:
    """Read the command line (``sys.argv[1:]``) into the registered scopes: view names
    are chosen, ``key=value`` tokens recorded, commands remembered."""
    import sys

    registry = Scope.registry if registry is None else registry
    from ato import external_parser

    words = external_parser.remaining_words(registry)
    if words is None:
        words = list(sys.argv[1:] if argv is None else argv)
    scopes = list(registry.values())
    for token in parse_command(words):
        if isinstance(token, Command):
            registry.commands.append(str(token))
        elif isinstance(token, ViewName):
            _assign_view(scopes, str(token))
        else:
            _assign_override(scopes, token)
    registry.parsed = True


def _assign_view(scopes: list[Scope], name: str) -> None:
    prefix, _, rest = name.partition(".")
    named = [scope for scope in scopes if scope.name == prefix and rest in scope.views]
    if named:
        named[0].assign(rest)
        return
    having = [scope for scope in scopes if name in scope.views]
    if not having:
        if len(scopes) == 1:
            raise scopes[0].unknown_view(name)
        everything = [v for scope in scopes for v in scope.views if not v.startswith("_")]
        raise UnknownViewError(
            f"Unknown view {name!r}; no scope ({', '.join(s.name for s in scopes)}) has it."
            + did_you_mean(name, everything)
        )
    for scope in having:
        scope.assign(name)


def _assign_override(scopes: list[Scope], override: Override) -> None:
    first, *rest = override.path
    if len(scopes) == 1:
        scope = scopes[0]
        if first == scope.name and rest:
            override = Override(
                ".".join(rest), override.value, override.token, override.forced_string
            )
        scope.assign(override)
        return
    target = next((scope for scope in scopes if scope.name == first), None)
    if target is None or not rest:
        names = ", ".join(scope.name for scope in scopes)
        raise UnknownKeyError(
            f"{override.token!r}: with several scopes, a key starts with the scope it is for "
            f"({names}), e.g. {scopes[0].name}.{override.key}={override.token.partition('=')[2]}"
        )
    target.assign(Override(".".join(rest), override.value, override.token, override.forced_string))


__all__ += ["MISSING"]

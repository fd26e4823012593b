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

This module holds ``Scope`` and ``MultiScope``; the parts live beside it: views and their
order in :mod:`ato.views`, assembling in :mod:`ato.assembly`, the registry in
:mod:`ato.registry`, the path from ``sys.argv`` to the decorated function in
:mod:`ato.entry`, the 2.x method names in :mod:`ato.scope_compat`. ``View``,
``ScopeRegistry`` and ``parse_args_pythonic`` are importable from here, as in ato 2.x.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar, overload

from ato.adict import ADict
from ato.assembly import LazyBlock, assemble, check_command_line_keys
from ato.entry import entry_point, parse_args_pythonic
from ato.errors import ConfigKeyError, ScopeArgumentError, ScopeError, UnknownViewError
from ato.message_text import did_you_mean
from ato.parser import Command, Override, parse_token
from ato.paths import split
from ato.provenance import MISSING, Provenance, Recorder, Source, dotted, leaves
from ato.registry import DEFAULT_REGISTRY, ScopeRegistry
from ato.scope_compat import Scope2xNames
from ato.trace import Fingerprint, RuntimeCall, Tracer
from ato.views import COMMANDS, View, order_views, select_view, unknown_view

__all__ = ["MISSING", "MultiScope", "Scope", "ScopeRegistry", "View", "parse_args_pythonic"]

_F = TypeVar("_F", bound=Callable[..., Any])
_T = TypeVar("_T")


class Scope(Scope2xNames):
    """A named config assembled from views; decorate the entry point with it."""

    registry: ClassVar[ScopeRegistry] = DEFAULT_REGISTRY

    def __init__(
        self,
        config: Mapping[str, Any] | None = None,
        name: str = "config",
        use_external_parser: bool = False,
        external_priority: int = -2,
        enable_override: bool = False,
        strict: bool = False,
        command_line: bool = True,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ScopeArgumentError(
                f"A scope's name is the config's parameter name and its prefix on the "
                f"command line, so it must be a non-empty string; got {name!r:.40}. "
                f"Pass e.g. Scope(name='model')."
            )
        self.name = name
        self.use_external_parser = use_external_parser
        # False: another parser (Hydra) owns sys.argv; this scope never reads it, and its
        # entry point assembles afresh at every call (a multirun calls it once per job).
        self.command_line = command_line
        self.external_priority = external_priority
        self.strict = strict
        self.views: dict[str, View] = {}
        self.manuals = ADict.auto()
        # A config object passed in is the live config (2.x code keeps using the reference
        # it passed, and fills it further before the first call); a copy of its contents at
        # the first assembly is where every assembly starts from.
        self._initial = ADict(config).clone() if config is not None else ADict()
        self.config = config if isinstance(config, ADict) else self._initial.clone()
        self._assembled = False
        self._selected: list[str] = []
        self._literals: list[Override] = []
        self._recorder: Recorder | None = None
        #: ``(where, exception)`` when the last :meth:`apply` raised, else None.
        self.assembly_error: tuple[str, Exception] | None = None
        self._layers: tuple[Source, ...] = ()  # the sources of the last assembly's layers
        self._order_counter = 0
        self.active = True
        self.is_applied = False
        self._tracer = Tracer()
        self._register(enable_override)
        if use_external_parser:
            # Imported here: only programs that opt in load the argparse bridge.
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
                raise ScopeArgumentError(
                    f"A view given as config=... needs a name as its first argument, got "
                    f"{field!r:.40} in scope {self.name!r}: scope.observe('name', config=...)"
                )
            self._add_view(field, None, config, priority, lazy, default, chain_with)
            return None

        def register(fn: _F) -> _F:
            name = field if isinstance(field, str) else fn.__name__
            self._add_view(name, fn, None, priority, lazy, default, chain_with)
            return fn

        return register

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
        if name in COMMANDS:
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
        if isinstance(literals, (str, Override)) or not isinstance(literals, Iterable):
            literals = [literals]  # one word; a wrong kind is refused below
        for literal in literals:
            if not isinstance(literal, (str, Override)):
                raise ScopeArgumentError(
                    f"scope.assign() takes view names and 'key=value' strings (or a list of "
                    f"them), got {type(literal).__name__} {literal!r:.40} for scope "
                    f"{self.name!r}. Pass e.g. scope.assign(['high_lr', 'lr=0.1'])."
                )
            if isinstance(literal, Override):
                self._literals.append(literal)
            elif literal in self.views:
                select_view(self.views, self._selected, literal, self.name)
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
        """The error for a view name this scope does not have, with a "did you mean"."""
        return unknown_view(name, self.name, self.views)

    def _ordered(self, lazy: bool) -> list[View]:
        return order_views(self.views, self._selected, lazy, self.name)

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

    def apply(self, *layers: tuple[Source | str, Mapping[str, Any]]) -> ADict:
        """Assemble ``scope.config`` (in place) from the views and command-line values.

        Each of ``layers`` is ``(source, {key: value})``, written after the command line
        and before the lazy parts under its own source: how a search sets a trial's values
        (``Source('search', ...)``), or how another parser's config joins with its
        provenance (``scope.apply(("hydra", cfg))``; a name stands for a source of that
        kind). Keys may be dotted or nested; a layer's keys need not be set by any view."""
        sourced = tuple(
            (source if isinstance(source, Source) else Source(source, source), ADict(values))
            for source, values in layers
        )
        if not self._assembled:
            self._initial = self.config.clone()
            self._assembled = True
        # Kept before assembling: an assembly that raises leaves its record (what was
        # set before the failing view), which `manual` shows.
        self._recorder = Recorder()
        self.is_applied = False
        self._layers = tuple(source for source, _ in sourced)
        self.assembly_error = None
        try:
            assemble(
                self.config,
                self._initial,
                self._ordered(lazy=False),
                self._literals,
                lambda: self._ordered(lazy=True),
                self.name,
                sourced,
                self._recorder,
            )
        except Exception as error:
            stopped = self._recorder.stopped_at
            where = f"{stopped.kind} {stopped.name!r}" if stopped else "assembling"
            self.assembly_error = (where, error)
            raise
        self.is_applied = True
        if self._literals:
            try:
                # With several scopes, keys are typed with their scope's name: show them so.
                check_command_line_keys(
                    self._recorder,
                    self._recorder.overrides,
                    self.name,
                    self.strict,
                    len(self.registry) > 1,
                )
            except Exception as error:
                self.assembly_error = ("the check of command-line values", error)
                raise
        return self.config

    # -- provenance ----------------------------------------------------------------------

    def provenance(self, key: str) -> list[Provenance]:
        """Every write to ``key`` (dotted) during the last assembly, oldest first.

        For a section (``'model'``), the writes to each key under it, key by key; each
        record's ``key`` says which.
        """
        history = self._history()
        path = split(key, allow_empty=True)
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
        """One sentence on where ``key``'s value came from; for a section, one for each
        key it holds now (the records of different keys do not make one history)."""
        entries = self.provenance(key)
        assert self._recorder is not None
        path = next((r.path for r in entries if r.key == key), split(key, allow_empty=True))
        current: Any = self.config
        for part in path:
            found = isinstance(current, dict) and part in current
            current = dict.__getitem__(current, part) if found else MISSING
        own = [record for record in entries if record.key == key]
        if not (isinstance(current, ADict) and current):
            if own:
                return _sentence(key, own)
            last = entries[-1]  # an empty section: what happened under it last
            under = [record for record in entries if record.key == last.key]
            return f"{key} is an empty section; under it, " + _sentence(last.key, under)
        shown = []
        for where, value in leaves(current, tuple(path)):
            records = self._recorder.provenance(where)
            if records:
                shown.append(_sentence(dotted(where), records))
            else:
                shown.append(f"{dotted(where)} = {value!r}, unrecorded.")
        return f"{key} is a section: " + " ".join(shown)

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

    def provenance_record(self) -> dict[str, list[dict[str, Any]]]:
        """Every leaf's sources, newest first, as the data a tracker stores: ``kind``,
        ``name``, ``priority``, ``file``, ``token`` (for the command line) and the
        ``value`` each one wrote (as JSON holds it). Rendered text is made from this."""
        from ato.config_json import encode

        history = self._history()
        record: dict[str, list[dict[str, Any]]] = {}
        for path, _ in leaves(self.config, ()):
            if not path:
                continue
            chain: list[dict[str, Any]] = []
            last: Source | None = None
            for written, source in reversed(history.get(path, [])):
                if written is MISSING:
                    break
                if source == last:  # one source writing twice: its newest value counts
                    continue
                last = source
                chain.append(
                    {
                        "kind": source.kind,
                        "name": source.name,
                        "priority": source.priority,
                        "file": source.file,
                        "token": source.name if source.kind == "command line" else None,
                        "value": encode(written)[0],
                    }
                )
            record[dotted(path)] = chain
        return record

    # -- fingerprints --------------------------------------------------------------------

    @overload
    def trace(self, trace_id: str | None = None) -> Callable[[_T], _T]: ...
    @overload
    def trace(self, trace_id: _T) -> _T: ...

    def trace(self, trace_id: Any = None) -> Any:
        """Fingerprint what the decorated object runs (a function above or below ``@scope``,
        a partial, a callable instance, a class). ``@scope.trace`` and
        ``@scope.trace(trace_id='step')`` both work."""
        if trace_id is not None and not isinstance(trace_id, str):
            return self._tracer.trace(None)(trace_id)  # used bare: given the object itself
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
        """The runtime-traced calls so far, in order (the latest 10,000: a tracker stores
        every call of its runs)."""
        return list(self._tracer.calls)

    @property
    def tracer(self) -> Tracer:
        """The scope's fingerprints and runtime calls; ``tracer.listeners`` are called
        with each new runtime call (the tracker stores them as they come)."""
        return self._tracer

    # -- running -------------------------------------------------------------------------

    def __call__(self, func: _F) -> _F:
        """Decorate the entry point: it receives the finished config by parameter name."""
        return entry_point(
            func, self.registry, lambda: [self] if self.active else [], f"Scope {self.name!r}"
        )

    def activate(self) -> None:
        self.active = True

    def deactivate(self) -> None:
        self.active = False

    def pause(self) -> _Paused:
        """``with scope.pause():`` decorated functions get no config injected inside."""
        return _Paused(self)

    @classmethod
    def lazy(cls, with_compile: bool = False, priority: int = 1) -> LazyBlock:
        """``with Scope.lazy():`` inside a view: the block takes effect after the
        command-line values and sees them. (``with_compile`` and ``priority`` are
        accepted for 2.x code; blocks need neither.)"""
        return LazyBlock()

    def __repr__(self) -> str:
        return f"Scope(name={self.name!r}, views={list(self.views)})"


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
            raise ScopeError("MultiScope needs at least one Scope: MultiScope(model, data).")
        for scope in scopes:
            if not isinstance(scope, Scope):
                raise ScopeArgumentError(
                    f"MultiScope takes Scope objects, got {type(scope).__name__} "
                    f"{scope!r:.40}. Pass e.g. MultiScope(Scope(name='model'), "
                    f"Scope(name='data'))."
                )
        self.scopes = scopes
        self.registry = scopes[0].registry
        for scope in scopes:
            self.registry[scope.name] = scope

    def __call__(self, func: _F) -> _F:
        """Decorate the entry point: it receives each active scope's config by name."""
        names = ", ".join(scope.name for scope in self.scopes)
        return entry_point(
            func,
            self.registry,
            lambda: [scope for scope in self.scopes if scope.active],
            f"MultiScope({names})",
        )


def _sentence(key: str, entries: list[Provenance]) -> str:
    """Where ``key``'s value came from, from its records (oldest first)."""
    last = entries[-1]
    if last.deleted:
        return f"{key} was removed by {last.source}."
    text = f"{key} = {last.value!r}, set by {last.source}"
    for previous in reversed(entries[:-1]):
        if not previous.deleted:
            text += f", which replaced {previous.value!r} from {previous.source}"
    return text + "."

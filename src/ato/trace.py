"""Fingerprints a scope keeps: of code (``@scope.trace``) and of outputs
(``@scope.runtime_trace``).

- :meth:`Tracer.trace` fingerprints a function's logic (see :mod:`ato.canonical`) when
  it is decorated and returns the function itself. A partial, a callable instance, a
  method or a class is fingerprinted by the code that runs when it is called; what has
  no readable code counts by its name, with a warning. Tracing never raises.
  The user code it calls is resolved later, each time the fingerprints are read (a
  tracker reads them when a run starts): Python looks names up when a function runs, so a
  helper defined below the traced function, or imported after it, counts as it will be
  called. A fingerprint holds the function's own hash, its callees' hashes and a
  *combined* hash of both, so a helper's edit changes the combined one only.
- :meth:`Tracer.runtime_trace` wraps a function: ``init_fn()`` first, then the call, then
  the canonical hash (:mod:`ato.value_hash`) of ``inspect_fn(result)`` (or the result); the
  result is returned unchanged and every call is announced to the listeners (a tracker
  numbers and stores the calls made while its run is open).
"""

from __future__ import annotations

import collections
import functools
import hashlib
import types
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from ato.adict import ADict
from ato.errors import AtoWarning, UnhashableValueError

__all__ = [
    "Fingerprint",
    "RuntimeCall",
    "Tracer",
    "combined_fingerprint",
    "fingerprint_of",
    "trace_id_of",
]

_F = TypeVar("_F", bound=Callable[..., Any])

# How many runtime calls a tracer keeps in memory (``scope.runtime_calls``).
CALLS_KEPT = 10_000
_T = TypeVar("_T")


class Fingerprint:
    """``kind`` ('static' or 'runtime'), ``value`` (hex: the function's own logic, or the
    value a runtime call returned), ``callees`` ({trace_id: hex} of the user functions a
    traced function calls, transitively), ``combined`` (hex of ``value`` and the callees
    together: what changes when anything the function runs changes), ``basis`` ('ast',
    'code object' or 'value'), ``source`` (the function's source text, when seen) and
    ``callee_sources`` ({callee's fingerprint: its source text})."""

    __slots__ = ("basis", "callee_sources", "callees", "combined", "kind", "source", "value")

    def __init__(
        self,
        kind: str,
        value: str,
        callees: dict[str, str] | None = None,
        basis: str = "ast",
        source: str | None = None,
        callee_sources: dict[str, str] | None = None,
    ) -> None:
        self.kind, self.value, self.basis, self.source = kind, value, basis, source
        self.callees = dict(callees or {})
        self.combined = combined_fingerprint(value, self.callees)
        self.callee_sources = dict(callee_sources or {})

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return self.value == other
        if not isinstance(other, Fingerprint):
            return NotImplemented
        return (self.kind, self.value, self.callees) == (other.kind, other.value, other.callees)

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        extra = f", callees={self.callees!r}" if self.callees else ""
        return f"Fingerprint(kind={self.kind!r}, value={self.value!r}{extra})"


def combined_fingerprint(own: str, callees: dict[str, str] | None) -> str:
    """The hash of a function together with its callees; its own hash when it has none
    (so functions that call no user code compare exactly as before). The modules it
    imports as it runs count by their files (``?models.small``: ``module:...``, see
    :mod:`ato.computed_imports`); what such a module holds (``?models.small.build``) is
    left out: it is found only in a run that starts with the module loaded, which
    depends on what ran before in its process."""
    # A module's file counts; what it holds is found only when it is loaded ("?name").
    counted = {
        k: v for k, v in (callees or {}).items() if not k.startswith("?") or v.startswith("module:")
    }
    if not counted:
        return own
    digest = hashlib.sha256(own.encode())
    for trace_id, value in sorted(counted.items()):
        digest.update(f"\0{trace_id}\0{value}".encode())
    return digest.hexdigest()


class RuntimeCall:
    """One call of a runtime-traced function: its trace id, index and fingerprint."""

    __slots__ = ("fingerprint", "index", "trace_id")

    def __init__(self, trace_id: str, index: int, fingerprint: str) -> None:
        self.trace_id, self.index, self.fingerprint = trace_id, index, fingerprint

    def __repr__(self) -> str:
        return f"RuntimeCall({self.trace_id!r}, {self.index}, {self.fingerprint!r})"


def trace_id_of(func: Any) -> str:
    """``module.qualname`` of what ``func`` stands for: the function past ``functools.wraps``
    wrappers and partials, a method's function, a property's getter, a callable
    instance's class."""
    from ato.fingerprint import unwrap

    original = unwrap(func)
    for _ in range(100):  # a partial of a partial ...
        if not isinstance(original, functools.partial):
            break
        original = unwrap(original.func)
    if isinstance(original, types.MethodType):
        original = original.__func__
    elif isinstance(original, property) and original.fget is not None:
        original = original.fget
    try:
        module = getattr(original, "__module__", None)
        qualname = getattr(original, "__qualname__", None)
    except Exception:  # an object whose attribute lookup fails
        module = qualname = None
    if isinstance(module, str) and isinstance(qualname, str):
        return f"{module}.{qualname}"
    kind = type(original)
    return f"{kind.__module__}.{kind.__qualname__}"


class _Traced:
    """A function (or other callable) under ``@trace``: its own fingerprint is fixed when
    decorated."""

    __slots__ = ("basis", "func", "own", "source")

    def __init__(self, func: Any) -> None:
        from ato.fingerprint import fingerprint_function, function_source

        fingerprint = fingerprint_function(func)
        self.func, self.own, self.basis = func, fingerprint.value, fingerprint.basis
        self.source = function_source(func) if fingerprint.basis == "ast" else None

    def resolve(self, kind: str = "static") -> Fingerprint:
        from ato.callees import callees
        from ato.fingerprint import fingerprint_function, function_source
        from ato.globals_code import GlobalValue
        from ato.module_files import ModuleFile

        called: dict[str, str] = {}
        sources: dict[str, str] = {}
        lazy: list[bool] = []
        found = list(callees(self.func, lazy=lazy))
        if lazy:
            found = _marked_if_found_as_it_runs(found, list(callees(self.func, as_it_runs=False)))
        for name, fn in found:
            # plain data it reads (SCALE = 2); a module it may import by a computed name
            if isinstance(fn, (GlobalValue, ModuleFile)):
                called[name] = fn.fingerprint
                sources[fn.fingerprint] = fn.text
                continue
            value = fingerprint_function(fn).value
            called[name] = value
            text = function_source(fn)
            if text is not None:
                sources[value] = text
        return Fingerprint(kind, self.own, called, self.basis, self.source, sources)


def _marked_if_found_as_it_runs(
    found: list[tuple[str, Any]], settled: list[tuple[str, Any]]
) -> list[tuple[str, Any]]:
    """``found`` (every callee) with what only a module loaded as it runs holds marked
    "?": it is found in a run that starts with the module loaded (by an earlier run in
    the process), not in others. What ``settled`` (found without such modules) holds
    keeps the name it has there: a partial or an instance is named after where it was
    read, which may differ between the two walks."""
    from ato.computed_imports import MAY_RUN
    from ato.globals_code import GlobalValue
    from ato.module_files import ModuleFile

    def plain(value: Any) -> bool:  # named by what it is, not by the object
        return isinstance(value, (GlobalValue, ModuleFile))

    by_object = {id(value): name for name, value in settled if not plain(value)}
    by_name = {name for name, value in settled if plain(value)}
    marked = []
    for name, value in found:
        if name.startswith(MAY_RUN):
            marked.append((name, value))
        elif plain(value):
            marked.append((name if name in by_name else MAY_RUN + name, value))
        else:
            marked.append((by_object.get(id(value), MAY_RUN + name), value))
    return marked


def fingerprint_of(func: Any) -> Fingerprint:
    """``func``'s static fingerprint as ``@trace`` records it (its own, its callees'
    and the combined one), without tracing it."""
    return _Traced(func).resolve()


class Tracer:
    """The fingerprints of one scope."""

    def __init__(self) -> None:
        self._static: dict[str, _Traced] = {}
        self._runtime: dict[str, Fingerprint] = {}
        # The latest calls, for ``scope.runtime_calls``: a bounded tail, since tracing
        # every step of a long training must not grow memory (a tracker stores them all).
        self.calls: collections.deque[RuntimeCall] = collections.deque(maxlen=CALLS_KEPT)
        self._call_counts: dict[str, int] = {}
        # Called with each RuntimeCall as it happens (a tracker stores them as they come).
        self.listeners: list[Callable[[RuntimeCall], None]] = []
        # Called with (trace_id, Fingerprint) when a function is traced (a tracker whose
        # run is open records functions traced after it started).
        self.static_listeners: list[Callable[[str, Fingerprint], None]] = []

    @property
    def fingerprints(self) -> dict[str, Fingerprint]:
        """``{trace_id: Fingerprint}``: static ones with their callees resolved now, and
        the latest of each runtime trace."""
        # A copy: another thread may trace a function meanwhile.
        found = {name: traced.resolve() for name, traced in list(self._static.items())}
        found.update(self._runtime)
        return found

    def static_fingerprints(self) -> dict[str, Fingerprint]:
        """``{trace_id: Fingerprint}`` of the code of every traced function, runtime
        traced ones included (whose calls :attr:`fingerprints` shows instead)."""
        return {name: traced.resolve() for name, traced in list(self._static.items())}

    def static_fingerprint(self, trace_id: str) -> Fingerprint | None:
        traced = self._static.get(trace_id)
        return traced.resolve() if traced is not None else None

    def trace(self, trace_id: str | None = None) -> Callable[[_T], _T]:
        def decorate(func: _T) -> _T:
            name = trace_id or trace_id_of(func)
            self._static[name] = _Traced(func)
            if self.static_listeners:
                fingerprint = self._static[name].resolve()
                for listener in list(self.static_listeners):
                    listener(name, fingerprint)
            return func

        return decorate

    def runtime_trace(
        self,
        init_fn: Callable[[], Any] | None = None,
        inspect_fn: Callable[[Any], Any] | None = None,
        trace_id: str | None = None,
    ) -> Callable[[_F], _F]:
        """Wrap a function so each call is fingerprinted by the value it returns.

        Tracing never makes the call fail or lose its result. A value that cannot be
        hashed (or an ``inspect_fn`` that raises) is recorded with the fingerprint
        ``'unhashable: <reason>'``, with one :class:`~ato.errors.AtoWarning` per trace. A
        generator function (or one returning a generator or coroutine) gets its
        generator back untouched and records nothing: its values only exist once the
        caller iterates, so there is nothing to hash when the call returns (one warning).
        """

        def decorate(func: _F) -> _F:
            name = trace_id or trace_id_of(func)
            if name not in self._static:
                # Its code counts as much as its outputs: an edit to a data loader must
                # read as a code change, not as "code identical, data differs". Quietly,
                # and never failing: runtime tracing asked for outputs only.
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", AtoWarning)
                    try:
                        self.trace(trace_id=name)(func)
                    except Exception:
                        self._static.pop(name, None)
            warned: set[str] = set()

            def warn_once(kind: str, message: str) -> None:
                if kind not in warned:
                    warned.add(kind)
                    warnings.warn(f"runtime_trace {name!r}: {message}", AtoWarning, stacklevel=3)

            @functools.wraps(func)
            def traced(*args: Any, **kwargs: Any) -> Any:
                if init_fn is not None:
                    init_fn()
                result = func(*args, **kwargs)
                if isinstance(result, _LAZY_RESULTS):
                    warn_once(
                        "lazy",
                        f"it returned a {type(result).__name__}, whose values exist only once "
                        f"it is consumed; it is returned untouched and its calls are not "
                        f"fingerprinted. Trace a function that returns the values instead.",
                    )
                    return result
                self._record_runtime_call(name, _fingerprint_of(result, inspect_fn, warn_once))
                return result

            return traced  # type: ignore[return-value]

        return decorate

    def _record_runtime_call(self, name: str, fingerprint: str) -> None:
        index = self._call_counts.get(name, 0)
        self._call_counts[name] = index + 1
        call = RuntimeCall(name, index, fingerprint)
        self.calls.append(call)
        self._runtime[name] = Fingerprint("runtime", fingerprint, basis="value")
        for listener in list(self.listeners):
            try:
                listener(call)
            except Exception as error:  # a traced function never fails because it is traced
                warnings.warn(
                    f"runtime_trace {name!r}: recording call {index} failed "
                    f"({type(error).__name__}: {error}); the function's result is returned.",
                    AtoWarning,
                    stacklevel=4,
                )

    def legacy_view(self) -> ADict:
        """What 2.x code reads as ``scope._traced_data``: fingerprints as hex strings."""
        return ADict(fingerprints=ADict({name: fp.value for name, fp in self.fingerprints.items()}))


# What a traced call may return that holds no values yet (see Tracer.runtime_trace).
_LAZY_RESULTS = (types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType)


def _fingerprint_of(
    result: Any,
    inspect_fn: Callable[[Any], Any] | None,
    warn_once: Callable[[str, str], None],
) -> str:
    """The canonical hash of ``inspect_fn(result)`` (or ``result``), or
    ``'unhashable: <reason>'`` with a warning when it cannot be computed."""
    from ato.value_hash import value_hash

    try:
        inspected = inspect_fn(result) if inspect_fn is not None else result
    except Exception as error:
        reason = f"inspect_fn raised {type(error).__name__}: {error}"
        warn_once("inspect", f"{reason}; the call is recorded as unhashable.")
        return f"unhashable: {reason}"[:300]
    try:
        return value_hash(inspected)
    except Exception as error:  # a __getstate__ or property of the user's may raise too
        if isinstance(error, UnhashableValueError):
            reason = str(error).split(". ")[0]
        else:
            reason = f"hashing its {type(inspected).__name__} raised {type(error).__name__}"
        warn_once(
            "unhashable",
            f"{reason}. The call is recorded as 'unhashable' and its result returned "
            f"unchanged; pass inspect_fn= to turn the result into plain data.",
        )
        return f"unhashable: {reason}"[:300]

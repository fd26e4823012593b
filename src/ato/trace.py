"""Fingerprints a scope keeps: of code (``@scope.trace``) and of outputs
(``@scope.runtime_trace``).

- :meth:`Tracer.trace` fingerprints a function's logic once, when it is decorated (see
  :mod:`ato.canonical`), with the fingerprints of the user-code functions it calls, and
  returns the function itself.
- :meth:`Tracer.runtime_trace` wraps a function: ``init_fn()`` first, then the call, then
  the canonical hash (:mod:`ato.value_hash`) of ``inspect_fn(result)`` (or the result); the
  result is returned unchanged and every call is recorded in order.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from ato.adict import ADict

__all__ = ["Fingerprint", "RuntimeCall", "Tracer", "trace_id_of"]

_F = TypeVar("_F", bound=Callable[..., Any])


class Fingerprint:
    """``kind`` ('static' or 'runtime'), ``value`` (hex), ``callees`` ({trace_id: hex} of
    the user functions a traced function calls) and ``basis`` ('ast', 'code object' or
    'value')."""

    __slots__ = ("basis", "callees", "kind", "value")

    def __init__(
        self, kind: str, value: str, callees: dict[str, str] | None = None, basis: str = "ast"
    ) -> None:
        self.kind, self.value, self.basis = kind, value, basis
        self.callees = dict(callees or {})

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


class RuntimeCall:
    """One call of a runtime-traced function: its trace id, index and fingerprint."""

    __slots__ = ("fingerprint", "index", "trace_id")

    def __init__(self, trace_id: str, index: int, fingerprint: str) -> None:
        self.trace_id, self.index, self.fingerprint = trace_id, index, fingerprint

    def __repr__(self) -> str:
        return f"RuntimeCall({self.trace_id!r}, {self.index}, {self.fingerprint!r})"


def trace_id_of(func: Callable[..., Any]) -> str:
    original = inspect.unwrap(func)
    return f"{original.__module__}.{original.__qualname__}"


class Tracer:
    """The fingerprints of one scope."""

    def __init__(self) -> None:
        self.fingerprints: dict[str, Fingerprint] = {}
        self.calls: list[RuntimeCall] = []
        self._call_counts: dict[str, int] = {}
        # Called with each RuntimeCall as it happens (a tracker stores them as they come).
        self.listeners: list[Callable[[RuntimeCall], None]] = []

    def trace(self, trace_id: str | None = None) -> Callable[[_F], _F]:
        from ato.canonical import callees, fingerprint_function

        def decorate(func: _F) -> _F:
            name = trace_id or trace_id_of(func)
            own = fingerprint_function(func)
            called = {callee_id: fingerprint_function(fn).value for callee_id, fn in callees(func)}
            self.fingerprints[name] = Fingerprint("static", own.value, called, own.basis)
            return func

        return decorate

    def runtime_trace(
        self,
        init_fn: Callable[[], Any] | None = None,
        inspect_fn: Callable[[Any], Any] | None = None,
        trace_id: str | None = None,
    ) -> Callable[[_F], _F]:
        from ato.value_hash import value_hash

        def decorate(func: _F) -> _F:
            name = trace_id or trace_id_of(func)

            @functools.wraps(func)
            def traced(*args: Any, **kwargs: Any) -> Any:
                if init_fn is not None:
                    init_fn()
                result = func(*args, **kwargs)
                inspected = inspect_fn(result) if inspect_fn is not None else result
                fingerprint = value_hash(inspected)
                index = self._call_counts.get(name, 0)
                self._call_counts[name] = index + 1
                call = RuntimeCall(name, index, fingerprint)
                self.calls.append(call)
                self.fingerprints[name] = Fingerprint("runtime", fingerprint, basis="value")
                for listener in list(self.listeners):
                    listener(call)
                return result

            return traced  # type: ignore[return-value]

        return decorate

    def legacy_view(self) -> ADict:
        """What 2.x code reads as ``scope._traced_data``: fingerprints as hex strings."""
        return ADict(fingerprints=ADict({name: fp.value for name, fp in self.fingerprints.items()}))

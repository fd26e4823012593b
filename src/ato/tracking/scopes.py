"""What a run records of the scope behind its config: where each value came from
(provenance), the static fingerprints of traced functions, and runtime calls."""

from __future__ import annotations

import sys
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ato.scope import Scope
    from ato.trace import RuntimeCall, Tracer

__all__ = ["ScopeRecorder"]


class ScopeRecorder:
    """The scopes a logger's runs record.

    With ``scope`` given, that one. Otherwise the scope whose ``config`` is the run's
    config; when no scope's is (a cloned or hand-made config), the fingerprints and calls
    of every registered scope, as the program's code, but no provenance: another
    scope's would describe another config.
    """

    def __init__(self, scope: Scope | None = None) -> None:
        self.scope = scope
        self._scopes: list[Scope] = []
        self._own = False  # whether the chosen scopes assembled the run's config
        # Per tracer, how many of its runtime calls earlier runs stored.
        self._stored: weakref.WeakKeyDictionary[Tracer, int] = weakref.WeakKeyDictionary()

    def choose(self, config: Any) -> None:
        """Pick the scopes of the next run, whose config is ``config``."""
        if self.scope is not None:
            self._scopes, self._own = [self.scope], True
            return
        module = sys.modules.get("ato.scope")  # never imported here when the program did not
        scopes: list[Scope] = list(module.Scope.registry.values()) if module else []
        own = [scope for scope in scopes if scope.config is config]
        self._scopes, self._own = (own, True) if own else (scopes, False)

    def provenance(self) -> dict[str, list[str]] | None:
        """``{key: [source, ...]}`` (newest first) of the scope that built the config;
        None when unknown."""
        if not self._own:
            return None
        for scope in self._scopes:
            if scope.is_applied:
                try:
                    return {key: [str(s) for s in chain] for key, _, chain in scope.sources()}
                except Exception:  # provenance is a bonus; never let it stop a run
                    return None
        return None

    def static_fingerprints(self) -> list[dict[str, Any]]:
        """Rows of the fingerprints table (without ``run_id``), one per trace id."""
        rows: dict[str, dict[str, Any]] = {}
        for scope in self._scopes:
            for trace_id, fingerprint in scope.fingerprints.items():
                if fingerprint.kind == "static":
                    rows[trace_id] = {
                        "trace_id": trace_id,
                        "trace_type": "static",
                        "fingerprint": fingerprint.value,
                        "callees": fingerprint.callees or None,
                        "basis": fingerprint.basis,
                    }
        return list(rows.values())

    def listen(self, listener: Callable[[RuntimeCall], None]) -> list[RuntimeCall]:
        """Pass each new runtime call to ``listener``; return the calls made since the
        last run (or before the first), which are this run's too."""
        calls: list[RuntimeCall] = []
        for scope in self._scopes:
            tracer = scope.tracer
            calls.extend(tracer.calls[self._stored.get(tracer, 0) :])
            tracer.listeners.append(listener)
        return calls

    def stop_listening(self, listener: Callable[[RuntimeCall], None]) -> None:
        for scope in self._scopes:
            tracer = scope.tracer
            if listener in tracer.listeners:
                tracer.listeners.remove(listener)
            self._stored[tracer] = len(tracer.calls)

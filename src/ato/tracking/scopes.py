"""What a run records of the scope behind its config: where each value came from
(provenance), the static fingerprints of traced functions, and runtime calls."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ato.scope import Scope
    from ato.trace import Fingerprint, RuntimeCall

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

    def choose(self, config: Any) -> None:
        """Pick the scopes of the next run, whose config is ``config``."""
        if self.scope is not None:
            self._scopes, self._own = [self.scope], True
            return
        module = sys.modules.get("ato.scope")  # never imported here when the program did not
        scopes: list[Scope] = list(module.Scope.registry.values()) if module else []
        own = [scope for scope in scopes if scope.config is config]
        self._scopes, self._own = (own, True) if own else (scopes, False)

    def provenance(self) -> dict[str, list[dict[str, Any]]] | None:
        """``{key: [source, ...]}`` (newest first, each a dict: see
        :meth:`ato.scope.Scope.provenance_record`) of the scope that built the config;
        None when unknown."""
        if not self._own:
            return None
        for scope in self._scopes:
            if scope.is_applied:
                try:
                    return scope.provenance_record()
                except Exception:  # provenance is a bonus; never let it stop a run
                    return None
        return None

    def static_fingerprints(self) -> tuple[list[dict[str, Any]], dict[str, tuple[str, str]]]:
        """Rows of the fingerprints table (without ``run_id``), one per trace id, and the
        sources of their code (``{own fingerprint: (trace id, source)}``)."""
        rows: dict[str, dict[str, Any]] = {}
        sources: dict[str, tuple[str, str]] = {}
        for scope in self._scopes:
            # The code of each traced function, also of a runtime traced one that was
            # called already (its latest call then shows in scope.fingerprints).
            for trace_id, fingerprint in scope.tracer.static_fingerprints().items():
                rows[trace_id] = static_row(trace_id, fingerprint, sources)
        return list(rows.values()), sources

    def listen(
        self,
        listener: Callable[[RuntimeCall], None],
        traced: Callable[[str, Fingerprint], None],
    ) -> None:
        """Pass each runtime call made from now on to ``listener``, and each function
        traced from now on to ``traced``."""
        for scope in self._scopes:
            scope.tracer.listeners.append(listener)
            scope.tracer.static_listeners.append(traced)

    def stop_listening(
        self,
        listener: Callable[[RuntimeCall], None],
        traced: Callable[[str, Fingerprint], None],
    ) -> None:
        for scope in self._scopes:
            tracer = scope.tracer
            if listener in tracer.listeners:
                tracer.listeners.remove(listener)
            if traced in tracer.static_listeners:
                tracer.static_listeners.remove(traced)


def static_row(
    trace_id: str, fingerprint: Fingerprint, sources: dict[str, tuple[str, str]]
) -> dict[str, Any]:
    """A fingerprints row of a traced function; its code's sources go to ``sources``."""
    if fingerprint.source is not None:
        sources[fingerprint.value] = (trace_id, fingerprint.source)
    names = {value: name for name, value in fingerprint.callees.items()}
    for value, text in fingerprint.callee_sources.items():
        sources.setdefault(value, (names.get(value, trace_id), text))
    return {
        "trace_id": trace_id,
        "trace_type": "static",
        "fingerprint": fingerprint.value,
        "combined": fingerprint.combined,
        "callees": fingerprint.callees or None,
        "basis": fingerprint.basis,
    }

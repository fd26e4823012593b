"""ato 2.x spellings of ``Scope`` methods, kept so that 2.x programs run unchanged.

They live here, apart from the class they belong to, so that the core reads as ato 3:
``Scope`` inherits :class:`Scope2xNames`, and this module imports nothing of the core at
run time. New code uses the names on the right:

- ``scope.add_to_screen(...)``   -> ``scope.observe(...)``
- ``scope.exec(main)``           -> ``scope(main)`` (``@scope``)
- ``Scope.initialize_registry()`` -> ``Scope.registry.reset()``
- ``scope._traced_data``         -> ``scope.fingerprints``, ``scope.runtime_calls``
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

if TYPE_CHECKING:
    from ato.adict import ADict
    from ato.registry import ScopeRegistry
    from ato.trace import Tracer

__all__ = ["Scope2xNames"]

_F = TypeVar("_F", bound=Callable[..., Any])


class _Scope(Protocol):
    """What the 2.x names need of a ``Scope``."""

    @property
    def tracer(self) -> Tracer: ...

    def observe(self, *args: Any, **kwargs: Any) -> Any: ...

    def __call__(self, func: _F) -> _F: ...


class Scope2xNames:
    """The 2.x names of ``Scope`` methods (a mixin of :class:`ato.scope.Scope`)."""

    registry: ClassVar[ScopeRegistry]

    def add_to_screen(self: _Scope, *args: Any, **kwargs: Any) -> Any:
        """2.x name of :meth:`Scope.observe`."""
        return self.observe(*args, **kwargs)

    def exec(self: _Scope, func: _F) -> _F:
        """2.x name of ``Scope.__call__``: ``scope.exec(main)`` is ``@scope`` on ``main``."""
        return self(func)

    @classmethod
    def initialize_registry(cls) -> None:
        """Forget every scope and what was read from the command line (2.x name of
        ``Scope.registry.reset()``; the tests' autouse fixture calls it)."""
        cls.registry.reset()

    @property
    def _traced_data(self: _Scope) -> ADict:
        """2.x's record of fingerprints, as hex strings."""
        return self.tracer.legacy_view()

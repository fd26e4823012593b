"""ato: a thin layer beside your ML stack that answers "why did this result change?".

The public API, in one place. Light parts are imported here; anything heavier is loaded
on first use through the module ``__getattr__`` below (``ato.Scope``, ``ato.SQLLogger``),
so ``import ato`` stays fast and pulls in neither SQLAlchemy, numpy nor torch.
"""

from __future__ import annotations

from ato.adict import ADict
from ato.errors import (
    AtoError,
    AtoWarning,
    ConfigFileError,
    ConfigKeyError,
    ConfigStructureError,
    FrozenConfigError,
    InheritanceCycleError,
    UnrepresentableValueError,
    UnsupportedFormatError,
)
from ato.structure import StructuralDiff

__all__ = [
    "ADict",
    "AtoError",
    "AtoWarning",
    "ConfigFileError",
    "ConfigKeyError",
    "ConfigStructureError",
    "FrozenConfigError",
    "InheritanceCycleError",
    "StructuralDiff",
    "UnrepresentableValueError",
    "UnsupportedFormatError",
    "__version__",
]

# Loaded on first use: name -> module that defines it.
_LAZY = {
    "BracketHyperBand": "ato.hyperopt.hyperband",
    "DistributedHyperBand": "ato.hyperopt.hyperband",
    "HyperBand": "ato.hyperopt.hyperband",
    "compare_runs": "ato.explain",
    "MultiScope": "ato.scope",
    "SQLFinder": "ato.tracking",
    "SQLLogger": "ato.tracking",
    "Scope": "ato.scope",
}
__all__ += sorted(_LAZY)


def __getattr__(name: str) -> object:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("ato")
        except PackageNotFoundError:  # running from a source tree that is not installed
            return "0+unknown"
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ato' has no attribute {name!r}")

"""2.x import path: ``from ato.hyperopt.base import HyperOpt, ...`` (re-exports only)."""

from __future__ import annotations

from ato.hyperopt.compat import DistributedHyperOpt, DistributedMixIn, GridSpaceMixIn
from ato.hyperopt.search import HyperOpt

__all__ = ["DistributedHyperOpt", "DistributedMixIn", "GridSpaceMixIn", "HyperOpt"]

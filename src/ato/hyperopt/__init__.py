"""Hyperparameter search: HyperBand over a scope's configs, tracked and resumable.

    from ato.hyperopt import HyperBand            # or ato.hyperopt.hyperband (2.x path)

    hyperband = HyperBand(scope, search_spaces, halving_rate=0.3, num_min_samples=3)

    @hyperband.main
    def train(config):                            # the scope's config, searched values on top
        return evaluate(config, epochs=budgets[config.__num_halved__])

    result = train()                              # ADict(config=..., metric=..., logs=[...])

Modules: :mod:`~ato.hyperopt.space` (search spaces), :mod:`~ato.hyperopt.hyperband`
(the algorithms), :mod:`~ato.hyperopt.search` (trials, ranking, tracking),
:mod:`~ato.hyperopt.assembly` (a trial's config), :mod:`~ato.hyperopt.storage` (the
search's state), :mod:`~ato.hyperopt.group` (ranks), :mod:`~ato.hyperopt.progress`.
Nothing here imports torch until a ``DistributedHyperBand`` is made.
"""

from __future__ import annotations

from ato.hyperopt.errors import (
    MissingDependencyError,
    SearchError,
    SearchSettingsError,
    SearchSpaceError,
    TrialFailedError,
    TrialResultError,
)
from ato.hyperopt.hyperband import BracketHyperBand, DistributedHyperBand, HyperBand
from ato.hyperopt.space import Parameter, SearchSpace

__all__ = [
    "BracketHyperBand",
    "DistributedHyperBand",
    "HyperBand",
    "MissingDependencyError",
    "Parameter",
    "SearchError",
    "SearchSettingsError",
    "SearchSpace",
    "SearchSpaceError",
    "TrialFailedError",
    "TrialResultError",
]

"""ato.hyperopt.base keeps the names 2.x code imports."""

from __future__ import annotations

import pytest

from ato.adict import ADict


def test_2x_names_import():
    from ato.hyperopt import base

    assert set(base.__all__) == {
        "DistributedHyperOpt", "DistributedMixIn", "GridSpaceMixIn", "HyperOpt",
    }  # fmt: skip
    from ato.hyperopt.hyperband import DistributedHyperBand, HyperBand

    assert issubclass(HyperBand, base.HyperOpt) and issubclass(DistributedHyperBand, HyperBand)


def test_grid_space_mixin_gives_one_config_per_grid_point():
    from ato.hyperopt.base import GridSpaceMixIn

    spaces = ADict(
        lr=ADict(param_type="FLOAT", param_range=(0.1, 0.2), num_samples=2),
        **{"model.depth": ADict(param_type="CATEGORY", categories=[18, 50])},
    )
    configs = GridSpaceMixIn.prepare_distributions(ADict(epochs=3), spaces)
    assert [(c.lr, c.model.depth, c.epochs) for c in configs] == [
        (0.1, 18, 3), (0.1, 50, 3), (0.2, 18, 3), (0.2, 50, 3),
    ]  # fmt: skip


def test_distributed_mixin_alone():
    from ato.hyperopt.base import DistributedMixIn

    mixin = DistributedMixIn(rank=0, world_size=1)
    assert mixin.is_root and mixin.all_gather_object(5) == [5]
    assert mixin.broadcast_object_from_root("x") == "x"


def test_prepare_distributions_refuses_a_searched_key_under_a_value_readably():
    from ato.hyperopt.base import GridSpaceMixIn
    from ato.hyperopt.errors import SearchSpaceError

    spaces = ADict(
        {"optimizer.lr": ADict(param_type="FLOAT", param_range=(0.1, 1.0), num_samples=2)}
    )
    with pytest.raises(SearchSpaceError, match=r"'optimizer.lr'.*'optimizer'.*'adam'.*itself"):
        GridSpaceMixIn.prepare_distributions(ADict(optimizer="adam"), spaces)

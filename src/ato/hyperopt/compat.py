"""2.x's helper classes of ``ato.hyperopt.base``, kept for code that subclassed them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ato.adict import ADict
from ato.errors import KeyPathError, SearchSpaceError
from ato.hyperopt.group import ProcessGroup, TorchGroup
from ato.hyperopt.search import HyperOpt
from ato.hyperopt.space import SearchSpace
from ato.paths import set_value
from ato.scope import Scope

__all__ = ["DistributedHyperOpt", "DistributedMixIn", "GridSpaceMixIn"]


class GridSpaceMixIn:
    """2.x: ``prepare_distributions`` gives one config per grid point."""

    @classmethod
    def prepare_distributions(
        cls, base_config: ADict, search_spaces: Mapping[str, Any]
    ) -> list[ADict]:
        configs = []
        for point in SearchSpace(search_spaces).grid():
            config = base_config.clone()
            for key, value in point.items():
                try:
                    set_value(config, key, value, factory=ADict)
                except KeyPathError as error:
                    raise SearchSpaceError(
                        f"Search space of {key!r}: base_config[{error.where!r}] holds "
                        f"{error.found!r:.40}, not a section of keys. Search {error.where!r} "
                        f"itself, or make it a section of base_config.",
                        key,
                    ) from None
            configs.append(config)
        return configs


class DistributedMixIn:
    """2.x: a rank's view of its process group (``torch.distributed`` only)."""

    def __init__(self, rank: int = 0, world_size: int = 1, backend: str = "pytorch") -> None:
        self.rank, self.world_size, self.backend = rank, world_size, backend
        self._group: ProcessGroup = TorchGroup(rank, world_size)

    @property
    def is_root(self) -> bool:
        return self.rank == 0

    def broadcast_object_from_root(self, obj: Any) -> Any:
        return self._group.broadcast(obj)

    def all_gather_object(self, obj: Any) -> list[Any]:
        return self._group.gather(obj)


class DistributedHyperOpt(DistributedMixIn, HyperOpt):
    """2.x: a search base class whose trials are shared among ranks."""

    def __init__(
        self,
        scope: Scope,
        search_spaces: Mapping[str, Any],
        tracker: Any = None,
        mode: str = "max",
        rank: int = 0,
        world_size: int = 1,
        backend: str = "pytorch",
    ) -> None:
        DistributedMixIn.__init__(self, rank, world_size, backend)
        HyperOpt.__init__(self, scope, search_spaces, tracker, mode, group=self._group)

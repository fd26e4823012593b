"""How the processes of a search talk: alone, or over ``torch.distributed``.

torch is imported only when a :class:`TorchGroup` is made, so a single-process search
never imports it.
"""

from __future__ import annotations

import contextlib
import operator
from collections.abc import Iterator
from typing import Any

from ato.errors import shown
from ato.hyperopt.errors import MissingDependencyError, SearchSettingsError

__all__ = ["LocalGroup", "ProcessGroup", "TorchGroup"]


class ProcessGroup:
    """The processes (ranks) that share a search."""

    rank = 0
    world_size = 1

    def gather(self, value: Any) -> list[Any]:
        """Every rank's ``value``, in rank order, on every rank."""
        return [value]

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value``, on every rank."""
        return value

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """Around a whole search, entered by every rank."""
        yield

    @contextlib.contextmanager
    def trial(self) -> Iterator[None]:
        """Around one trial: what the trial sees of the process group."""
        yield


LocalGroup = ProcessGroup


class TorchGroup(ProcessGroup):
    """The caller's default ``torch.distributed`` process group, used and left as it is."""

    def __init__(self, rank: int, world_size: int) -> None:
        try:
            import torch.distributed as dist
        except ImportError:
            raise MissingDependencyError(
                "DistributedHyperBand needs PyTorch: pip install 'ato[distributed]'"
            ) from None
        rank, world_size = _whole("rank", rank), _whole("world_size", world_size)
        if world_size < 1:
            raise SearchSettingsError(f"world_size is {world_size}; it must be >= 1.")
        if not 0 <= rank < world_size:
            raise SearchSettingsError(f"rank is {rank}; it must be in [0, world_size={world_size})")
        self.rank, self.world_size = rank, world_size
        self._dist = dist
        if world_size > 1:
            if not dist.is_available() or not dist.is_initialized():
                raise SearchSettingsError(
                    f"DistributedHyperBand with world_size={world_size} needs an initialised "
                    f"process group: call torch.distributed.init_process_group(...) first."
                )
            if dist.get_world_size() != world_size or dist.get_rank() != rank:
                raise SearchSettingsError(
                    f"rank={rank}, world_size={world_size} differ from the process group's "
                    f"rank {dist.get_rank()} of {dist.get_world_size()}."
                )
        self._alone: Any = None

    def gather(self, value: Any) -> list[Any]:
        if self.world_size == 1:
            return [value]
        gathered: list[Any] = [None] * self.world_size
        self._dist.all_gather_object(gathered, value)
        return gathered

    def broadcast(self, value: Any) -> Any:
        if self.world_size == 1:
            return value
        box = [value]
        self._dist.broadcast_object_list(box, src=0)
        return box[0]

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """For the search: a group of this rank alone, for its trials (made by every
        rank in the same order, as ``new_group`` requires), destroyed at the end."""
        if self.world_size == 1:
            yield
            return
        dist = self._dist
        self._alone = [dist.new_group([member]) for member in range(self.world_size)][self.rank]
        try:
            yield
            dist.barrier()  # the ranks leave the search together
        finally:
            alone, self._alone = self._alone, None
            dist.destroy_process_group(alone)

    @contextlib.contextmanager
    def trial(self) -> Iterator[None]:
        """While a trial runs, the default group is this rank alone: the ranks run
        different trials, so a trial's collectives (``DDP(model)``, ``all_reduce``) must
        not wait for the others. The caller's group is the default again afterwards."""
        if self._alone is None:
            yield
            return
        member: Any = self._dist.GroupMember
        world = member.WORLD
        member.WORLD = self._alone
        try:
            yield
        finally:
            member.WORLD = world


def _whole(name: str, value: Any) -> int:
    """``value`` as the int it stands for (a numpy int too), or a SearchSettingsError."""
    if not isinstance(value, bool):
        try:
            return operator.index(value)
        except TypeError:
            pass
    raise SearchSettingsError(
        f"{name} is {shown(value)}; it must be an int (e.g. {name}=dist.get_{name}())."
    )

"""How the processes of a search talk: alone, or over ``torch.distributed``.

torch is imported only when a :class:`TorchGroup` is made, so a single-process search
never imports it.
"""

from __future__ import annotations

import contextlib
import datetime
import operator
import pickle
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ato.hyperopt.errors import MissingDependencyError, RankStoppedError, SearchSettingsError
from ato.message_text import repr_of, shown

__all__ = ["CONTROL_TIMEOUT", "LocalGroup", "ProcessGroup", "TorchGroup", "portable"]

#: How long a rank waits for the others' trials of a rung.
CONTROL_TIMEOUT = datetime.timedelta(days=30)


def backend_said(line: str) -> str:
    """The first sentence of a torch backend's error line, without the source file it
    starts with (gloo: ``[.../pair.cc:553] Connection closed by peer [127.0.0.1]:23980.
    This is typically caused by ... GLHF!``): what a user reads and a search stores."""
    line = re.sub(r"^\[[^\]]*\]\s*", "", line.strip())
    sentence = re.match(r"(.+?\.)(?:\s|$)", line)
    return sentence.group(1) if sentence else line


class ProcessGroup:
    """The processes (ranks) that share a search."""

    rank = 0
    world_size = 1

    def gather(self, value: Any, what: str = "gathering the results of a rung") -> list[Any]:
        """Every rank's ``value``, in rank order, on every rank (``what``: the step, for
        an error)."""
        return [value]

    def broadcast(self, value: Any, what: str = "sharing rank 0's decision") -> Any:
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
        # Against the caller's group first, if there is one: world_size=1 in a group of
        # several ranks would run the whole search on each.
        grouped = dist.is_available() and dist.is_initialized()
        if grouped and (dist.get_world_size() != world_size or dist.get_rank() != rank):
            raise SearchSettingsError(
                f"rank={rank}, world_size={world_size} differ from the process group's "
                f"rank {dist.get_rank()} of {dist.get_world_size()}: pass "
                f"rank=dist.get_rank(), world_size=dist.get_world_size() (for a search "
                f"of its own on each rank, use HyperBand)."
            )
        if world_size < 1:
            raise SearchSettingsError(f"world_size is {world_size}; it must be >= 1.")
        if not 0 <= rank < world_size:
            raise SearchSettingsError(f"rank is {rank}; it must be in [0, world_size={world_size})")
        if world_size > 1 and not grouped:
            raise SearchSettingsError(
                f"DistributedHyperBand with world_size={world_size} needs an initialised "
                f"process group: call torch.distributed.init_process_group(...) first."
            )
        self.rank, self.world_size = rank, world_size
        self._dist = dist
        self._alone: Any = None
        self._control: Any = None  # while the search runs: its gathers and broadcasts

    def gather(self, value: Any, what: str = "gathering the results of a rung") -> list[Any]:
        if self.world_size == 1:
            return [value]
        gathered: list[Any] = [None] * self.world_size
        with self._talking(what):
            self._waiting(lambda: self._dist.all_gather_object(gathered, value, self._control))
        return gathered

    def broadcast(self, value: Any, what: str = "sharing rank 0's decision") -> Any:
        if self.world_size == 1:
            return value
        box = [value]
        with self._talking(what):
            self._waiting(lambda: self._dist.broadcast_object_list(box, 0, self._control))
        return box[0]

    def _waiting(self, collective: Callable[[], None]) -> None:
        """``collective()`` over the search's own gloo group runs in a thread while the
        main thread waits in short steps, so that a signal handler runs meanwhile: a
        SIGTERM ends a rank waiting for the others' trials at once (blocked in gloo, it
        ran only once the slowest trial was over). What a handler raises meanwhile (a
        Ctrl-C) is raised once the collective is over, as before. Before the search, on
        the caller's group (nccl, say: its device is the calling thread's), the call is
        direct."""
        if self._control is None or threading.current_thread() is not threading.main_thread():
            collective()
            return
        failed: list[BaseException] = []

        def run() -> None:
            try:
                collective()
            except BaseException as error:  # raised in the main thread below
                failed.append(error)

        worker = threading.Thread(target=run, name="ato-search-collective", daemon=True)
        worker.start()
        raised: BaseException | None = None
        while worker.is_alive():
            try:
                worker.join(0.2)
            except BaseException as error:  # a handler's: once the others are heard
                raised = raised or error
        if raised is not None:
            raise raised
        if failed:
            raise failed[0]

    @contextlib.contextmanager
    def _talking(self, what: str) -> Iterator[None]:
        """A collective that fails (a rank's process ended, or a wait outlasted the
        process group's timeout) as a RankStoppedError saying so."""
        try:
            yield
        except RuntimeError as error:  # torch's DistBackendError is one
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            timed_out = "timed out" in first.lower() or "timeout" in first.lower()
            first = backend_said(first)
            if timed_out and self._control is None:  # before the search: the caller's group
                problem = (
                    "waited for the other ranks longer than the process group's timeout: "
                    "one of them reached the search late, or stopped before it (see its "
                    "output). Start the ranks together, or pass init_process_group(..., "
                    "timeout=datetime.timedelta(minutes=...))"
                )
            elif timed_out:
                problem = (
                    f"waited for the other ranks longer than {CONTROL_TIMEOUT.days} days: "
                    f"one of them is stopped or hung (see its output)"
                )
            else:
                problem = (
                    "lost the other ranks: one of their processes ended or failed (see "
                    "its output). Started again, the search resumes"
                )
            raise RankStoppedError(
                f"Rank {self.rank} of the distributed search, {what}, {problem}. ({first})"
            ) from None

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """For the search: a group of this rank alone, for its trials (made by every
        rank in the same order, as ``new_group`` requires), destroyed at the end."""
        if self.world_size == 1:
            yield
            return
        dist = self._dist
        self._alone = [dist.new_group([member]) for member in range(self.world_size)][self.rank]
        # The ranks talk over a gloo group of their own: on CPU whatever the caller's
        # backend, and with a timeout no trial outlasts (a rank that finished its share
        # of a rung waits there for the slowest trial, which may take days).
        self._control = dist.new_group(backend="gloo", timeout=CONTROL_TIMEOUT)
        try:
            yield
            self.broadcast(None, "leaving the search")  # the ranks leave together
        finally:
            alone, control = self._alone, self._control
            self._alone = self._control = None
            dist.destroy_process_group(alone)
            dist.destroy_process_group(control)

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


def portable(config: Any) -> Any:
    """``config`` as it can cross to the other ranks: itself when pickle takes it, else
    a copy with each value pickle refuses (a lambda a view set, a lock) as its repr; a
    rank that cannot send its results would leave the others waiting."""
    try:
        pickle.dumps(config)
        return config
    except Exception:
        pass
    from ato.adict import ADict

    def fix(node: Any) -> Any:
        if isinstance(node, Mapping):
            return ADict({key: fix(value) for key, value in node.items()})
        if isinstance(node, (list, tuple)):
            return (
                type(node)(fix(item) for item in node)
                if type(node) in (list, tuple)
                else shown(node)
            )
        try:
            pickle.dumps(node)
            return node
        except Exception:
            return repr_of(node)

    return fix(config)

"""A tracked search run as its own program (for the kill -9 and distributed tests).

Settings come from the environment, not the command line, which the scope reads:
``ATO_TEST_DB`` (database URL), ``ATO_TEST_MARKS`` (a file that gets one line per trial
this process runs), ``ATO_TEST_SLEEP`` (seconds per trial), ``ATO_TEST_FAIL`` (a model
whose trials raise), ``ATO_TEST_RETURN_ON_RANK`` (a rank whose trials return no number),
``ATO_TEST_EXIT_ON_RANK`` (a rank whose first trial raises ``SystemExit(3)``),
``ATO_TEST_SLEEP_RUNG`` (the rung whose trials sleep ``ATO_TEST_SLEEP``; default every
one), ``ATO_TEST_SLEEP_ON_RANK`` (the rank whose trials sleep; default every one),
``ATO_TEST_PG_TIMEOUT`` (the process group's timeout, in seconds),
``ATO_TEST_RATE_ON_RANK`` (``rank:rate``, a rank given another halving rate),
``ATO_TEST_WORLD_ARG`` (the world_size passed, if not the group's),
``ATO_TEST_KILL_ON_RANK`` (``rank:n``, a rank that kills itself with SIGKILL as its
n-th trial starts), ``ATO_TEST_STALE_READ_ON_RANK`` (a rank whose reading of the stored
trials misses the last one, as one made before a straggler stored it),
``ATO_TEST_TERM_FLAG_ON_RANK`` (a rank with a SIGTERM handler that asks training to
stop, whose second trial sends it SIGTERM and then returns -1234.5),
``ATO_TEST_SIGINT_AT_RUNG`` with ``ATO_TEST_PIDS`` (a folder where each rank leaves its
pid: rank 0's first trial of that rung sends SIGINT to every rank
a second later),
``ATO_TEST_BAD_DB_ON_RANK`` (a rank whose tracker URL names a missing folder),
``ATO_TEST_DB_ON_RANK`` (``rank:url``, a rank given another tracker; no URL: none) and
``ATO_TEST_LAMBDA`` (a view puts a lambda in the config, which pickle refuses),
``ATO_TEST_ON_ERROR`` (the search's ``on_error``), ``ATO_TEST_START_AT`` (a
``time.time()`` to start the search at, spinning until then).
With ``RANK``/``WORLD_SIZE``/``MASTER_PORT`` set, it runs ``DistributedHyperBand`` over
gloo. It prints the result as JSON on its last line.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import time

from ato.adict import ADict
from ato.scope import Scope

SPACES = ADict(
    lr=ADict(param_type="FLOAT", param_range=(1e-4, 1e-1), num_samples=4, space_type="LOG"),
    model=ADict(param_type="CATEGORY", categories=["resnet50", "resnet101", "vit"]),
)


def score(config: ADict) -> float:
    return -abs(math.log10(config.lr) + 2) + (config.model == "resnet101") + config.__num_halved__


def main() -> None:
    scope = Scope()

    @scope.observe(default=True)
    def defaults(config):
        config.lr = 0.001
        config.model = "resnet50"
        config.experiment = ADict(
            project_name="search", sql=ADict(db_path=os.environ["ATO_TEST_DB"])
        )

    if os.environ.get("ATO_TEST_LAMBDA"):

        @scope.observe(default=True, lazy=True)
        def factory(config):
            config.make = lambda: config.lr

    rank = int(os.environ.get("RANK", "0"))
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    tracker = os.environ.get("ATO_TEST_DB") or None
    if os.environ.get("ATO_TEST_BAD_DB_ON_RANK") == str(rank):
        tracker = "sqlite:////nonexistent-folder/runs.db"
    odd_rank, _, odd_db = os.environ.get("ATO_TEST_DB_ON_RANK", "").partition(":")
    if odd_rank == str(rank):
        tracker = odd_db or None
    if os.environ.get("ATO_TEST_STALE_READ_ON_RANK") == str(rank):
        from ato.hyperopt.storage import SearchStore

        reading = SearchStore.finished_trials

        def stale(self):
            found = reading(self)
            return dict(list(found.items())[:-1])

        SearchStore.finished_trials = stale  # type: ignore[method-assign]
    pids = os.environ.get("ATO_TEST_PIDS")
    if pids:
        with open(os.path.join(pids, str(rank)), "w") as handle:
            handle.write(str(os.getpid()))
    interrupt_rung = os.environ.get("ATO_TEST_SIGINT_AT_RUNG")
    on_error = os.environ.get("ATO_TEST_ON_ERROR", "continue")
    if world_size > 1:
        import torch.distributed as dist

        from ato.hyperopt.hyperband import DistributedHyperBand

        timeout = os.environ.get("ATO_TEST_PG_TIMEOUT")
        extra = {"timeout": datetime.timedelta(seconds=float(timeout))} if timeout else {}
        dist.init_process_group("gloo", rank=rank, world_size=world_size, **extra)
        callers_group = dist.GroupMember.WORLD
        odd_rank, _, odd_rate = os.environ.get("ATO_TEST_RATE_ON_RANK", "").partition(":")
        rate = float(odd_rate) if odd_rank == str(rank) else 0.5
        world_arg = int(os.environ.get("ATO_TEST_WORLD_ARG", world_size))
        hyperband = DistributedHyperBand(
            scope, SPACES, rate, 2, tracker=tracker, rank=rank, world_size=world_arg,
            on_error=on_error,
        )  # fmt: skip
    else:
        from ato.hyperopt.hyperband import HyperBand

        hyperband = HyperBand(scope, SPACES, 0.5, 2, tracker=tracker, on_error=on_error)
    marks = os.environ.get("ATO_TEST_MARKS")
    failing = os.environ.get("ATO_TEST_FAIL")
    returning_nothing = os.environ.get("ATO_TEST_RETURN_ON_RANK") == str(rank)
    exiting = os.environ.get("ATO_TEST_EXIT_ON_RANK") == str(rank)
    if os.environ.get("ATO_TEST_TERM_FLAG_ON_RANK") == str(rank):
        import signal

        signal.signal(signal.SIGTERM, lambda signum, frame: STOP.append(signum))

    @hyperband.main
    def train(config):
        if marks:
            with open(marks, "a") as handle:
                handle.write(f"{rank} {config.__num_halved__} {config.lr} {config.model}\n")
        # Counted in the environment: a counter the trial function carried would count
        # in the search's identity.
        ran = os.environ["ATO_TEST_RAN"] = str(int(os.environ.get("ATO_TEST_RAN", "0")) + 1)
        if os.environ.get("ATO_TEST_KILL_ON_RANK") == f"{rank}:{ran}":
            import signal

            os.kill(os.getpid(), signal.SIGKILL)
        if interrupt_rung == str(config.__num_halved__) and rank == 0 and pids:
            import signal
            import threading

            def interrupt_every_rank() -> None:
                for name in os.listdir(pids):
                    with open(os.path.join(pids, name)) as handle:
                        os.kill(int(handle.read()), signal.SIGINT)

            threading.Timer(1.0, interrupt_every_rank).start()
        # Read here, not captured: a value the trial function carries counts in the
        # search's identity, and the killed run sleeps where the resumed one does not.
        sleep_rung = os.environ.get("ATO_TEST_SLEEP_RUNG")
        sleep_rank = os.environ.get("ATO_TEST_SLEEP_ON_RANK", str(rank))
        if (sleep_rung is None or int(sleep_rung) == config.__num_halved__) and sleep_rank == str(
            rank
        ):
            time.sleep(float(os.environ.get("ATO_TEST_SLEEP", "0")))
        if exiting:
            raise SystemExit(3)
        if os.environ.get("ATO_TEST_TERM_FLAG_ON_RANK") == f"{rank}" and ran == "2":
            import signal

            os.kill(os.getpid(), signal.SIGTERM)
        if STOP:
            return -1234.5  # cut short by the program's own handler
        if world_size > 1:
            import torch
            import torch.distributed as dist

            assert dist.get_world_size() == 1  # a trial's collectives span its rank only
            total = torch.ones(1)
            dist.all_reduce(total)
            assert total.item() == 1.0
        if config.model == failing:
            raise RuntimeError(f"{failing} diverged on rank {rank}")
        if returning_nothing:
            return "oops"
        return score(config)

    start_at = os.environ.get("ATO_TEST_START_AT")  # several processes at one instant
    while start_at and time.time() < float(start_at):
        pass
    result = train()
    if world_size > 1:
        import torch.distributed as dist

        assert dist.GroupMember.WORLD is callers_group  # left as the caller made it
        assert dist.get_world_size() == world_size
        dist.destroy_process_group()
    config = result.config.to_dict()
    made = config.pop("make", None)  # a lambda where it ran, its repr on the other ranks
    assert made is None or callable(made) or "lambda" in made
    print(json.dumps({"config": config, "metric": result.metric}))


STOP: list[int] = []  # the program's own SIGTERM handler asks training to stop


if __name__ == "__main__":
    main()

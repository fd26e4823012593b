"""DistributedHyperBand with real processes over gloo on 127.0.0.1."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time

import pytest
from sqlalchemy import create_engine, select, text

from ato.hyperopt.storage import trials
from tests.hyperopt.test_hyperband import lr_score
from tests.hyperopt.test_tracking import _run_script

pytest.importorskip("torch.distributed")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_ranks(world_size: int, **env: str) -> list[subprocess.Popen[str]]:
    port = str(_free_port())
    return [
        _run_script(
            {
                "RANK": str(rank),
                "WORLD_SIZE": str(world_size),
                "MASTER_ADDR": "127.0.0.1",
                "MASTER_PORT": port,
                "GLOO_SOCKET_IFNAME": "lo",
                **env,
            }
        )
        for rank in range(world_size)
    ]


def run_ranks(world_size: int, **env: str) -> list[dict[str, object]]:
    results = []
    for process in start_ranks(world_size, **env):
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def expected(tmp_path, **env: str) -> dict[str, object]:
    out, _ = _run_script({"ATO_TEST_DB": f"sqlite:///{tmp_path}/single.db", **env}).communicate(
        timeout=300
    )
    return strip([json.loads(out.strip().splitlines()[-1])])[0]


def strip(results: list[dict[str, object]]) -> list[dict[str, object]]:
    """Without what differs from a single process by design: the database path, and
    the search id (the trial function carries world_size, which counts in it)."""
    for result in results:
        del result["config"]["experiment"]
        del result["config"]["__search_id__"]
    return results


@pytest.mark.parametrize("world_size", [2, 4])
def test_every_rank_returns_the_single_process_result(tmp_path, world_size):
    marks = tmp_path / "marks.txt"
    url = f"sqlite:///{tmp_path}/dist.db"
    results = strip(run_ranks(world_size, ATO_TEST_DB=url, ATO_TEST_MARKS=str(marks)))
    assert all(result == results[0] for result in results)
    assert results[0] == expected(tmp_path)
    lines = marks.read_text().splitlines()
    assert len(lines) == 12 + 6 + 3 + 1  # each trial ran once, on one rank
    assert {line.split()[0] for line in lines} == {str(rank) for rank in range(world_size)}
    with create_engine(url).connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM experiments")).scalar() == 22


def test_a_trial_raising_on_one_rank_hangs_no_rank(tmp_path):
    results = strip(run_ranks(2, ATO_TEST_DB=f"sqlite:///{tmp_path}/d.db", ATO_TEST_FAIL="vit"))
    assert results[0] == results[1] == expected(tmp_path, ATO_TEST_FAIL="vit")
    assert results[0]["config"]["model"] == "resnet101"


def test_a_trial_returning_no_number_on_one_rank_stops_every_rank(tmp_path):
    url = f"sqlite:///{tmp_path}/d.db"
    for process in start_ranks(2, ATO_TEST_DB=url, ATO_TEST_RETURN_ON_RANK="1"):
        _, err = process.communicate(timeout=300)  # no rank hangs
        assert process.returncode != 0
        assert "TrialResultError" in err and "returned 'oops' (str)" in err


def test_tracked_to_one_postgresql_database_from_all_ranks(tmp_path, postgres_server):
    from tests.pg_server import new_database

    url = new_database(postgres_server.url, "hpo_distributed")
    results = strip(run_ranks(2, ATO_TEST_DB=url))
    assert results[0] == results[1] == expected(tmp_path)
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(select(trials.c.rung, trials.c.run_id)).all()
        runs = connection.execute(text("SELECT count(*) FROM experiments")).scalar()
    assert len(rows) == 22 and runs == 22
    engine.dispose()
    from ato.tracking import SQLFinder

    with SQLFinder(url) as finder:  # read back from PostgreSQL (JSON comes parsed there)
        (search,) = finder.searches()
        assert search["status"] == "completed" and search["trials_done"] == 22
        assert search["best_metric"] == results[0]["metric"]
        assert len(finder.search(search["id"][:6])["rungs"]) == 4


@pytest.mark.parametrize(
    "rank, world_size, fragment",
    [
        ("0", 2, "rank is '0'; it must be an int"),
        (True, 2, "rank is True; it must be an int"),
        (0, 2.0, "world_size is 2.0; it must be an int"),
        (0, 0, "world_size is 0; it must be >= 1"),
        (2, 2, r"rank is 2; it must be in \[0, world_size=2\)"),
    ],
)
def test_a_rank_or_world_size_that_cannot_be_is_refused(scope, spaces, rank, world_size, fragment):
    from ato.hyperopt.errors import SearchSettingsError
    from ato.hyperopt.hyperband import DistributedHyperBand

    with pytest.raises(SearchSettingsError, match=fragment):
        DistributedHyperBand(scope, spaces, 0.5, 1, rank=rank, world_size=world_size)


def test_numpy_ints_are_a_rank_and_a_world_size(scope, spaces):
    import numpy as np

    from ato.hyperopt.hyperband import DistributedHyperBand, HyperBand

    hyperband = DistributedHyperBand(
        scope, spaces, 0.5, 1, rank=np.int64(0), world_size=np.int32(1), progress=False
    )
    best = HyperBand(scope, spaces, 0.5, 1, progress=False).main(lr_score)()
    assert hyperband.main(lr_score)().metric == best.metric


def _errors(processes):
    """Each rank's (exit status, standard error), once every rank has ended."""
    ended = []
    for process in processes:
        _, err = process.communicate(timeout=300)
        ended.append((process.returncode, err))
    return ended


def test_ranks_given_different_settings_are_refused_on_every_rank(tmp_path):
    ended = _errors(start_ranks(2, ATO_TEST_DB="", ATO_TEST_RATE_ON_RANK="1:0.25"))
    for status, err in ended:
        assert status != 0 and "SearchSettingsError" in err
        assert "arguments.halving_rate is 0.25 on rank 1, 0.5 on rank 0" in err


def test_world_size_1_in_a_group_of_2_is_refused(tmp_path):
    for status, err in _errors(start_ranks(2, ATO_TEST_DB="", ATO_TEST_WORLD_ARG="1")):
        assert status != 0 and "world_size=1 differ from the process group's" in err


def test_a_rank_waits_for_a_trial_longer_than_the_groups_timeout(tmp_path):
    """The final rung's one trial runs on rank 0 for longer than the caller's process
    group timeout: rank 1 waits for it all the same."""
    env = dict(ATO_TEST_DB="", ATO_TEST_PG_TIMEOUT="5", ATO_TEST_SLEEP="7", ATO_TEST_SLEEP_RUNG="3")
    results = strip_untracked(run_ranks(2, **env))
    assert results[0] == results[1] and results[0]["config"]["model"] == "resnet101"


def strip_untracked(results):
    for result in results:
        del result["config"]["__search_id__"]
    return results


def test_system_exit_in_a_trial_on_one_rank_stops_every_rank_saying_which(tmp_path):
    url = f"sqlite:///{tmp_path}/d.db"
    (status0, err0), (status1, _) = _errors(
        start_ranks(2, ATO_TEST_DB=url, ATO_TEST_EXIT_ON_RANK="1")
    )
    assert status1 == 3  # the trial's own exit, on its rank
    assert status0 != 0 and "RankStoppedError: Rank 1 stopped the search in rung 0" in err0
    assert "raised SystemExit: 3" in err0
    with create_engine(url).connect() as connection:
        statuses = connection.execute(text("SELECT status, error FROM experiments")).all()
        search = connection.execute(text("SELECT status FROM hpo_searches")).scalar()
    assert search == "failed"
    assert any(
        status == "failed" and "SystemExit: 3" in (error or "") for status, error in statuses
    )


def test_a_sigterm_one_ranks_own_handler_takes_stops_the_search_storing_no_cut_trial(tmp_path):
    url = f"sqlite:///{tmp_path}/d.db"
    (status0, err0), (status1, err1) = _errors(
        start_ranks(2, ATO_TEST_DB=url, ATO_TEST_TERM_FLAG_ON_RANK="1")
    )
    assert status1 != 0 and "SearchStoppedError: The search stopped: SIGTERM" in err1
    assert status0 != 0 and "RankStoppedError: Rank 1 stopped the search" in err0
    assert "SearchStoppedError: The search stopped: SIGTERM" in err0  # not 'lost a rank'
    assert "interrupted (on rank 1) after" in err0 and "Ctrl-C" not in err0
    with create_engine(url).connect() as connection:
        metrics = connection.execute(text("SELECT metric FROM hpo_trials")).scalars().all()
        search = connection.execute(text("SELECT status FROM hpo_searches")).scalar()
    assert -1234.5 not in metrics and search == "killed"


def test_on_error_raise_raises_the_trials_own_error_on_its_rank_as_in_one_process(tmp_path):
    ended = _errors(start_ranks(2, ATO_TEST_DB="", ATO_TEST_FAIL="vit", ATO_TEST_ON_ERROR="raise"))
    assert all(status != 0 for status, _ in ended)
    raised = ["TrialFailedError" in err for _, err in ended]
    assert sorted(raised) == [False, True]  # one rank raises its trial's error, one says so
    own = ended[raised.index(False)][1]
    owner = own.strip().splitlines()[-1].rpartition(" ")[2]
    assert own.strip().endswith(f"]: RuntimeError: vit diverged on rank {owner}")
    other = ended[raised.index(True)][1]
    assert f"vit diverged on rank {owner}" in other and "on_error='raise'" in other


def test_a_rank_that_cannot_open_the_tracker_stops_every_rank_at_once(tmp_path):
    url = f"sqlite:///{tmp_path}/d.db"
    (status0, err0), (status1, err1) = _errors(
        start_ranks(2, ATO_TEST_DB=url, ATO_TEST_BAD_DB_ON_RANK="1")
    )
    assert status1 != 0 and "TrackerDatabaseError" in err1 and "nonexistent-folder" in err1
    assert status0 != 0
    assert "Rank 1 of the distributed search stopped opening the search's tracking" in err0
    with create_engine(url).connect() as connection:  # rank 0 had opened it: not 'running'
        assert connection.execute(text("SELECT status FROM hpo_searches")).scalar() == "failed"


def test_a_rank_without_the_tracker_the_others_have_is_refused_on_every_rank(tmp_path):
    url = f"sqlite:///{tmp_path}/d.db"
    for status, err in _errors(start_ranks(2, ATO_TEST_DB=url, ATO_TEST_DB_ON_RANK="1:")):
        assert status != 0 and "SearchSettingsError" in err and "tracked is False on rank 1" in err


def test_ranks_tracking_to_different_databases_are_refused_on_every_rank(tmp_path):
    url, other = f"sqlite:///{tmp_path}/d.db", f"sqlite:///{tmp_path}/other.db"
    (status0, err0), (status1, err1) = _errors(
        start_ranks(2, ATO_TEST_DB=url, ATO_TEST_DB_ON_RANK=f"1:{other}")
    )
    assert status1 != 0 and "SearchSettingsError" in err1 and "same database" in err1
    assert status0 != 0 and "Rank 1 of the distributed search stopped" in err0
    with create_engine(other).connect() as connection:  # no trial stored where none finds it
        assert connection.execute(text("SELECT count(*) FROM hpo_trials")).scalar() == 0


def test_ctrl_c_on_every_rank_while_one_waits_is_a_killed_search(tmp_path):
    """Rank 0 is in the final rung's trial, rank 1 waits for it: both are interrupted,
    both stop (rank 1 with its own KeyboardInterrupt, or with the RankStoppedError that
    names rank 0's, whichever torch lets through first), and the search reads 'killed'."""
    url = f"sqlite:///{tmp_path}/d.db"
    pids = tmp_path / "pids"
    pids.mkdir()
    env = dict(ATO_TEST_DB=url, ATO_TEST_SLEEP="30", ATO_TEST_SLEEP_RUNG="3",
               ATO_TEST_SIGINT_AT_RUNG="3", ATO_TEST_PIDS=str(pids))  # fmt: skip
    for status, err in _errors(start_ranks(2, **env)):
        assert status != 0 and "KeyboardInterrupt" in err
    with create_engine(url).connect() as connection:
        assert connection.execute(text("SELECT status FROM hpo_searches")).scalar() == "killed"


def test_a_config_value_pickle_refuses_reaches_the_other_ranks_as_its_repr(tmp_path):
    results = strip_untracked(run_ranks(2, ATO_TEST_DB="", ATO_TEST_LAMBDA="1"))
    assert results[0] == results[1] and results[0]["config"]["model"] == "resnet101"


@pytest.mark.parametrize("stale", [{}, {"ATO_TEST_STALE_READ_ON_RANK": "1"}], ids=["", "stale"])
def test_a_resumed_search_shares_a_killed_ranks_unfinished_trials_over_every_rank(tmp_path, stale):
    """Rank 1 dies (kill -9) as its second trial of rung 0 starts; rank 0 runs its own
    six and stops at the gather. Started again, the five trials rank 1 left are shared
    by both ranks (before, rank 1 ran all five while rank 0 waited), and the result is
    the uninterrupted one; also when rank 1 would have read fewer stored trials than
    rank 0 (every rank shares out what rank 0 read: each rank's own reading gave a
    KeyError and trials run twice)."""
    url = f"sqlite:///{tmp_path}/d.db"
    marks = tmp_path / "marks.txt"
    for status, _ in _errors(
        start_ranks(2, ATO_TEST_DB=url, ATO_TEST_MARKS=str(marks), ATO_TEST_KILL_ON_RANK="1:2")
    ):
        assert status != 0
    before = len(marks.read_text().splitlines())
    results = strip(run_ranks(2, ATO_TEST_DB=url, ATO_TEST_MARKS=str(marks), **stale))
    assert results[0] == results[1] == expected(tmp_path)
    restarted = [line.split() for line in marks.read_text().splitlines()[before:]]
    rung_0 = [rank for rank, rung, *_ in restarted if rung == "0"]
    assert sorted(rung_0) == ["0", "0", "0", "1", "1"]
    assert len(restarted) == 22 - 7  # each trial ran once


def test_a_sigterm_ends_a_rank_waiting_for_the_others_trials_at_once(tmp_path):
    """Rank 1 has run its share of rung 0 and waits while rank 0's trial takes a minute:
    a SIGTERM ends it at once (blocked in gloo, it ran only once that trial was over)."""
    marks = tmp_path / "marks.txt"
    ranks = start_ranks(2, ATO_TEST_DB=f"sqlite:///{tmp_path}/d.db", ATO_TEST_MARKS=str(marks),
                        ATO_TEST_SLEEP="60", ATO_TEST_SLEEP_ON_RANK="0")  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # rank 1's six trials, rank 0's first
            lines = marks.read_text().splitlines() if marks.exists() else []
            if len(lines) >= 7:
                break
            time.sleep(0.05)
        time.sleep(1.0)  # rank 1 is in the gather
        ranks[1].send_signal(signal.SIGTERM)
        ranks[1].communicate(timeout=30)  # not the minute rank 0's trial takes
        assert ranks[1].returncode == -signal.SIGTERM
    finally:
        for process in ranks:
            process.kill()
            process.communicate()

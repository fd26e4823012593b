"""The run a tracked search starts for each trial, when the program uses the search's
tracker itself: a run left open around the search, or runs started inside a trial."""

from __future__ import annotations

import functools
import time
import warnings

import pytest
from sqlalchemy import text

from ato.errors import AtoWarning, NoActiveRunError, SearchSettingsError
from ato.hyperopt.hyperband import HyperBand
from ato.tracking import SQLLogger
from tests.hyperopt.test_hyperband import lr_score


def _runs(logger: SQLLogger) -> list[tuple[int, str, str, str | None]]:
    with logger.engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                text("SELECT id, status, tags, error FROM experiments ORDER BY id")
            )
        ]


def _metrics(logger: SQLLogger) -> dict[int, list[tuple[str, float]]]:
    found: dict[int, list[tuple[str, float]]] = {}
    with logger.engine.connect() as connection:
        for run_id, key, value in connection.execute(
            text("SELECT run_id, key, value FROM metrics ORDER BY id")
        ):
            found.setdefault(run_id, []).append((key, value))
    return found


def test_a_run_left_open_on_the_tracker_is_refused_before_any_trial(scope, spaces, tmp_path):
    """The search starts a run per trial on its tracker, which would end the program's
    open run early (and its later log_metric would fail): refused, saying what to do."""
    logger = SQLLogger.open(f"sqlite:///{tmp_path}/runs.db", "p")
    called = []
    with logger.run(tags=["outer"]) as run:
        with pytest.raises(SearchSettingsError) as refused:
            HyperBand(scope, spaces, 0.5, 2, tracker=logger, progress=False).main(
                lambda config: called.append(config) or 1.0
            )()
        logger.log_metric("after", 1.0)  # the program's run is still its own
    said = str(refused.value)
    assert f"run {int(run)}" in said and "logger.finish()" in said
    assert "SQLLogger.open(" in said
    assert not called
    assert _runs(logger)[0][1] == "completed" and len(_runs(logger)) == 1


def test_a_trial_starting_its_own_runs_on_the_searchs_tracker_loses_nothing(
    scope, spaces, tmp_path
):
    """A program tracked before it was searched: its trial calls logger.run() and
    logger.finish() on the very logger it gave the search. The search still ends
    normally, stores every trial, and writes each trial's metric on its own run."""
    logger = SQLLogger.open(f"sqlite:///{tmp_path}/runs.db", "p")

    def trial(config):
        logger.run(tags=["mine"])
        logger.log_metric("loss", config.lr)
        logger.finish()
        return lr_score(config)

    with pytest.warns(AtoWarning, match="started a run of its own") as said:
        result = HyperBand(scope, spaces, 0.5, 2, tracker=logger, progress=False).main(trial)()
    assert len(said) == 1 and said[0].filename == __file__  # once, at the trial function
    assert "Trial {'lr': 0.0001, 'model': 'resnet50'} (rung 0)" in str(said[0].message)
    plain = HyperBand(scope, spaces, 0.5, 2, progress=False).main(lr_score)()
    assert result.metric == plain.metric and result.config.lr == plain.config.lr
    runs = _runs(logger)
    searched = [run for run in runs if "search:" in run[2]]
    mine = [run for run in runs if "mine" in run[2]]
    assert len(searched) == len(mine) == HyperBand(scope, spaces, 0.5, 2).total_trials()
    assert {run[1] for run in runs} == {"completed"}
    metrics = _metrics(logger)
    assert all([key for key, _ in metrics[run[0]]] == ["metric"] for run in searched)
    assert all([key for key, _ in metrics[run[0]]] == ["loss"] for run in mine)
    with logger.engine.connect() as connection:
        stored = connection.execute(text("SELECT run_id FROM hpo_trials")).scalars().all()
    assert sorted(stored) == [run[0] for run in searched]


def test_a_failing_trial_that_left_its_own_run_open_fails_both_runs(scope, spaces, tmp_path):
    """The run the trial started and did not finish ends with the trial: 'failed', as
    does the search's run for it, both with the trial's traceback."""
    logger = SQLLogger.open(f"sqlite:///{tmp_path}/runs.db", "p")

    def trial(config):
        logger.run(tags=["mine"])
        if config.model == "vit":
            raise ValueError("diverged")
        return lr_score(config)

    with pytest.warns(AtoWarning):
        HyperBand(scope, spaces, 0.5, 2, tracker=logger, progress=False).main(trial)()
    runs = _runs(logger)
    failed = [run for run in runs if run[1] == "failed"]
    assert failed and all("ValueError: diverged" in run[3] for run in failed)
    # every vit trial: the search's run and the trial's own
    assert len([run for run in failed if "search:" in run[2]]) == len(
        [run for run in failed if "mine" in run[2]]
    )
    assert logger.active_run_id is None  # the last trial's run ended with it


def test_the_searchs_run_stays_running_while_the_trials_own_run_is_open(scope, spaces, tmp_path):
    """Not 'completed' before the trial is: a process that dies meanwhile leaves it
    'running' (read as interrupted), as it leaves a trial it never stored."""
    logger = SQLLogger.open(f"sqlite:///{tmp_path}/runs.db", "p")
    seen = []

    def trial(config):
        searched = logger.active_run_id
        if config.model == "vit":
            logger.finish("failed", "the program's own word")  # a success all the same
        else:
            logger.run(tags=["mine"])
        seen.append(dict((run[0], run[1]) for run in _runs(logger))[searched])
        return lr_score(config)

    with pytest.warns(AtoWarning):
        HyperBand(scope, spaces, 0.5, 2, tracker=logger, progress=False).main(trial)()
    assert set(seen) == {"running"}
    failed = [run for run in _runs(logger) if run[1] != "completed"]
    assert failed and {(run[1], run[3]) for run in failed} == {("failed", "the program's own word")}


def test_the_searchs_run_beats_while_the_trials_own_run_is_open(scope, spaces, tmp_path):
    """Seen from another host, a run without a recent heartbeat reads 'crashed'."""
    logger = SQLLogger.open(f"sqlite:///{tmp_path}/runs.db", "p", heartbeat_interval=0.05)
    beats = []

    def beat_of(run_id):
        with logger.engine.connect() as connection:
            query = text("SELECT heartbeat_at FROM experiments WHERE id = :id")
            return connection.execute(query, {"id": run_id}).scalar()

    def trial(config):
        searched = logger.active_run_id
        logger.run(tags=["mine"])
        before = beat_of(searched)
        time.sleep(0.4)
        beats.append(beat_of(searched) > before)
        return lr_score(config)

    search = HyperBand(scope, spaces, 0.5, 100, tracker=logger, progress=False)
    with pytest.warns(AtoWarning):
        search.main(trial)()
    assert beats and all(beats)


class _Trainer:
    def __init__(self, logger):
        self.logger = logger

    def __call__(self, config):
        self.logger.run(tags=["mine"])
        return lr_score(config)


def _wrapped(function):
    @functools.wraps(function)
    def wrapper(config):
        return function(config)

    return wrapper


@pytest.mark.parametrize("kind", ["partial", "object", "wrapped"])
def test_the_warning_points_at_the_programs_own_trial_code(scope, spaces, tmp_path, kind):
    logger = SQLLogger.open(f"sqlite:///{tmp_path}/runs.db", "p")

    def own(config, offset=0.0):
        logger.run(tags=["mine"])
        return lr_score(config) + offset

    function, line = {
        "partial": (functools.partial(own, offset=1.0), own.__code__.co_firstlineno),
        "object": (_Trainer(logger), _Trainer.__call__.__code__.co_firstlineno),
        "wrapped": (_wrapped(own), own.__code__.co_firstlineno),
    }[kind]
    search = HyperBand(scope, spaces, 0.5, 2, tracker=logger, progress=False)
    with pytest.warns(AtoWarning, match="started a run of its own") as said:
        search.run(function)
    assert (said[0].filename, said[0].lineno) == (__file__, line)


def test_a_warning_raised_as_an_error_comes_after_the_trial_is_stored(
    scope, spaces, tmp_path, recwarn
):
    logger = SQLLogger.open(f"sqlite:///{tmp_path}/runs.db", "p")

    def trial(config):
        logger.run(tags=["mine"])
        return lr_score(config)

    search = HyperBand(scope, spaces, 0.5, 2, tracker=logger, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AtoWarning)
        with pytest.raises(AtoWarning):
            search.main(trial)()
    with logger.engine.connect() as connection:
        stored = connection.execute(text("SELECT run_id FROM hpo_trials")).scalars().all()
    assert stored == [1]  # the first trial's, stored before the warning stopped the search


def test_a_trial_that_only_finishes_the_searchs_run_is_told_so(scope, spaces, tmp_path):
    logger = SQLLogger.open(f"sqlite:///{tmp_path}/runs.db", "p")

    def trial(config):
        logger.log_metric("loss", config.lr)
        logger.finish()
        return lr_score(config)

    with pytest.warns(AtoWarning, match=r"ended it \(logger.finish\(\)\)"):
        HyperBand(scope, spaces, 0.5, 2, tracker=logger, progress=False).main(trial)()
    metrics = _metrics(logger)
    assert all(keys == [("loss", keys[0][1]), ("metric", keys[1][1])] for keys in metrics.values())


def test_after_the_search_the_logger_has_the_programs_config_again(scope, spaces, tmp_path):
    logger = SQLLogger.open(f"sqlite:///{tmp_path}/runs.db", "p")
    before = logger.config
    HyperBand(scope, spaces, 0.5, 2, tracker=logger, progress=False).main(lr_score)()
    assert logger.config is before and logger.held.run_id is None


def test_logging_after_finishing_the_searchs_run_says_to_leave_it_to_the_search(
    scope, spaces, tmp_path
):
    logger = SQLLogger.open(f"sqlite:///{tmp_path}/runs.db", "p")

    def trial(config):
        logger.finish()
        logger.log_metric("loss", config.lr)
        return lr_score(config)

    search = HyperBand(scope, spaces, 0.5, 2, tracker=logger, progress=False, on_error="raise")
    with pytest.raises(NoActiveRunError, match=r"after logger.finish\(\) ended run 1, the"):
        search.main(trial)()


def test_logging_after_the_trials_own_run_ended_names_that_run(scope, spaces, tmp_path):
    logger = SQLLogger.open(f"sqlite:///{tmp_path}/runs.db", "p")

    def trial(config):
        with logger.run(tags=["mine"]):
            pass
        logger.log_metric("loss", config.lr)
        return lr_score(config)

    search = HyperBand(scope, spaces, 0.5, 2, tracker=logger, progress=False, on_error="raise")
    said = r"after the trial's own run 2 ended \(the search's run for the trial is run 1\)"
    with pytest.raises(NoActiveRunError, match=said):
        search.main(trial)()

"""What every search shares: running trials, ranking them, tracking and resuming.

A subclass says which trials to run (:meth:`HyperOpt._search`); this class runs each one
with the scope's own assembly plus the searched values (:func:`assemble_trial`), as a
run of the tracker, records it in the search's state (:mod:`ato.hyperopt.storage`),
shares the work of a rung among the ranks of a :class:`ProcessGroup`, and ranks results
so that NaN, infinities and failures come last.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from ato.adict import ADict
from ato.entry import call_with_configs, prepare_scopes
from ato.hyperopt.assembly import PREVIEW_SOURCE, assemble_trial, search_layer, search_source
from ato.hyperopt.errors import (
    RankStoppedError,
    SearchSettingsError,
    TrialFailedError,
    TrialResultError,
)
from ato.hyperopt.group import ProcessGroup, portable
from ato.hyperopt.guards import check_arguments, check_tracker, searching
from ato.hyperopt.metric import as_metric, plain_metric
from ato.hyperopt.naming import named_function, params_text, project_of, trial_tags
from ato.hyperopt.outcomes import (
    Outcome,
    Position,
    Trial,
    best_first,
    failed,
    interrupted,
    interruption,
    refuse_all_failed,
)
from ato.hyperopt.progress import SearchProgress
from ato.hyperopt.ranks import rank_stopped, refuse_different_settings, together
from ato.hyperopt.session import SearchSession
from ato.hyperopt.signals import say_stopped, unwatch, watch_untracked
from ato.hyperopt.space import SearchSpace
from ato.hyperopt.trial_function import check_callable, settings_among
from ato.hyperopt.trial_runs import (
    logger_kept,
    refuse_open_run,
    start_trial_run,
)
from ato.message_text import first_line
from ato.scope import Scope
from ato.tracking.process import main_writes

if TYPE_CHECKING:
    from ato.hyperopt.storage import SearchStore
    from ato.tracking import SQLLogger

__all__ = ["BOOKKEEPING_KEYS", "HyperOpt", "Outcome", "Trial"]

log = logging.getLogger("ato.hyperopt")

#: Keys a search writes into each trial's config (source kind "search bookkeeping").
BOOKKEEPING_KEYS = ("__num_halved__", "__budget__", "__search_id__")
#: Keys the search writes into its result's configs and logs.
RESULT_KEYS = ("__metric__",)


class HyperOpt:
    """A search over ``search_spaces`` with trials run through ``scope`` (2.x base class)."""

    algorithm: ClassVar[str] = "search"

    def __init__(
        self,
        scope: Scope,
        search_spaces: Mapping[str, Any],
        tracker: SQLLogger | str | None = None,
        mode: str = "max",
        *,
        on_error: str = "continue",
        progress: bool = True,
        group: ProcessGroup | None = None,
        **unknown: Any,
    ) -> None:
        check_arguments(type(self), scope, group, unknown, mode=mode, on_error=on_error)
        check_tracker(tracker)
        self.scope, self.search_spaces, self.tracker = scope, search_spaces, tracker
        self.mode, self.on_error, self.show_progress = mode, on_error, progress
        self.space = SearchSpace(search_spaces)
        written = (*BOOKKEEPING_KEYS, *RESULT_KEYS)
        reserved = [name for name in self.space.names if name in written]
        if reserved:
            raise SearchSettingsError(
                f"The search space searches {reserved[0]!r}, a key the search itself writes "
                f"into each trial's config or its result ({', '.join(written)}); the "
                f"searched value would be lost. Search a key of your own."
            )
        self.group = group or ProcessGroup()
        self.search_id: str | None = None
        self._trial_name = "the trial function"
        self._called_with: dict[str, Any] = {}  # what the decorated trial was called with
        self._parts: dict[str, str] = {}  # digests of what makes the search's identity
        # What stopped a trial on this rank (SystemExit...), raised once every rank knows.
        self._halted: BaseException | None = None
        self._progress: SearchProgress | None = None  # the display of the search under way
        # With on_error='raise', what this rank's trials raised (by position): the rank
        # whose trial stops the search raises the trial's own error, as a local search does.
        self._raised: dict[Any, Exception] = {}

    # -- what subclasses provide ---------------------------------------------------------

    def _search(self, run_rung: Callable[[list[Trial]], list[Outcome]]) -> ADict:
        raise NotImplementedError

    def _arguments(self) -> dict[str, Any]:
        """The arguments that make two searches the same search."""
        return {}

    def total_trials(self) -> int:
        raise NotImplementedError

    # -- running -------------------------------------------------------------------------

    def main(self, func: Callable[..., Any]) -> Callable[..., ADict]:
        """Decorate the trial function: it gets the trial's config by the scope's name
        (as with ``@scope``) and returns the metric; calling it runs the search."""
        signature = inspect.signature(func)

        @functools.wraps(func)
        def launch(*args: Any, **kwargs: Any) -> ADict:
            check_callable(func, signature, self.scope.name, args, kwargs)
            self._called_with = settings_among(func, signature, self.scope.name, args, kwargs)

            def evaluate(config: ADict) -> Any:
                configs = {self.scope.name: config}
                return call_with_configs(func, signature, configs, args, kwargs)

            return self.run(evaluate, trial_code=func)

        return launch

    def run(
        self, evaluate: Callable[[ADict], Any], trial_code: Callable[..., Any] | None = None
    ) -> ADict:
        """Run the search with ``evaluate(config) -> metric``; return the result.
        ``trial_code`` is the function whose logic the trials run (default: ``evaluate``):
        a tracked search started again resumes only if it is unchanged."""
        with searching(self.scope), logger_kept(self.tracker):
            return self._run(evaluate, trial_code)

    def _run(
        self, evaluate: Callable[[ADict], Any], trial_code: Callable[..., Any] | None
    ) -> ADict:
        # The command line, once, assembled as a trial is (a lazy view may read a
        # searched key that no view sets), at the search's first point: what `manual`
        # shows.
        first = self.space.sample([0.0] * len(self.space.parameters))
        prepare_scopes(self.scope.registry, [self.scope], [search_layer(PREVIEW_SOURCE, first)])
        self._trial_name = named_function(trial_code or evaluate)
        code = trial_code or evaluate
        every = together(
            self.group,
            "comparing the ranks' settings",
            lambda: (
                {**self._facts(), "tracked": self.tracker is not None},
                self.space.readable(),
                self._identity(code),
            ),
            share=True,
        )
        refuse_different_settings([(facts, readable) for facts, readable, _ in every])
        self.search_id = every[0][2]  # rank 0's: a rank's own device or paths may differ
        opened: list[SearchStore] = []  # to mark stopped, whichever step fails
        ending = None if self.tracker is not None else watch_untracked()
        try:
            logger, store = together(
                self.group, "opening the search's tracking", lambda: self._open_tracking(opened)
            )
            together(
                self.group,
                "checking that the ranks track to one database",
                lambda: store.check_shared() if store is not None else None,
            )
            # Rank 0's reading, on every rank: they share out the trials it leaves to run
            # (a straggler of a killed job may store one between two ranks' readings).
            stored = together(
                self.group,
                "reading the search's stored trials",
                lambda: store.finished_trials() if store and store.owner else {},
                share=True,
            )[0]
            if store is not None:  # as rank 0 found it
                store.completed = self.group.broadcast(store.completed, "opening the search")
            enabled = self.show_progress and self.group.rank == 0
            with (
                self.group.session(),
                SearchProgress(self.total_trials(), enabled, self.mode) as progress,
            ):
                self._progress = progress
                session = SearchSession(evaluate, code, logger, store, stored, progress, ending)
                result = self._search(functools.partial(self._run_rung, session))
            result["search_id"] = self.search_id
            if store is not None and store.owner:  # a SIGTERM meanwhile waits for the write
                store.close({"metric": plain_metric(result["metric"])})
        except BaseException as stopped:  # Ctrl-C too: the row must not say 'running'
            for each in opened:
                each.stop(stopped)  # a no-op unless this process runs the search now
            how = interruption(stopped)
            if how and self.group.rank == 0 and self._progress is not None:
                self._progress.say_interrupted(tracked=bool(opened), how=how)
            raise
        finally:
            self._progress = None
            for each in opened:
                each.unwatch_signals()
            unwatch(ending)
        return result

    def _facts(self) -> dict[str, Any]:
        """The settings that make the search's plan: its trials and rungs."""
        return {
            "algorithm": self.algorithm,
            "arguments": self._arguments(),
            "space": self.space.describe(),
            "mode": self.mode,
            "scope": self.scope.name,
            "assigned": self.scope.get_assigned_views().to_dict(),
        }

    def _identity(self, trial_code: Callable[..., Any]) -> str:
        """Equal for two starts of the same search (see :mod:`ato.hyperopt.identity`)."""
        from ato.hyperopt.identity import search_identity, view_logic
        from ato.tracking.starting import volatile_keys

        facts = self._facts()
        self._parts.clear()
        if self.tracker is None:  # nothing to resume: the id only labels the trials
            return search_identity(facts, {})
        # Its runs belong to a project: the same search filed elsewhere is another one.
        facts["project"] = self._project()
        # The logic of the views that assemble each trial: a lazy view's branch that the
        # starting config below does not take is code all the same.
        facts["views"] = view_logic(self.scope)
        # What every trial starts from, its searched keys at a fixed point (their low
        # ends), so that a lazy view deriving a value from one does not see its default.
        fixed = self.space.sample([0.0] * len(self.space.parameters))
        base = assemble_trial(self.scope, fixed, search_source(0))
        marked = list(getattr(self.tracker, "volatile", None) or ())
        volatile = volatile_keys(base, marked)
        names = self.space.names
        return search_identity(
            facts, base, volatile, trial_code, names, self._called_with, self._parts
        )

    def _open_tracking(
        self, opened: list[SearchStore]
    ) -> tuple[SQLLogger | None, SearchStore | None]:
        if self.tracker is None:
            return None, None
        from ato.hyperopt.storage import SearchStore, warn_not_resumed
        from ato.tracking import SQLLogger
        from ato.tracking.settings import Origin

        logger = self.tracker
        if isinstance(logger, str):
            origin = Origin(f"tracker={{}} (of {type(self).__name__})", "pass tracker={}")
            logger = SQLLogger.open(logger, self._project(), _origin=origin)
            self.tracker = logger
        refuse_open_run(logger, type(self).__name__)
        assert self.search_id is not None
        # Rank 0 writes the search's row, the others find it; on every rank, a SIGTERM
        # marks the search killed (rank 0's), as it does a run, or stops it.
        store = SearchStore(logger.engine, self.search_id, owner=self.group.rank == 0)
        opened.append(store)
        store.watch_signals()
        if not store.owner:
            return logger, store
        described = {**self._arguments(), "mode": self.mode, "total_trials": self.total_trials()}
        described["parts"] = dict(self._parts)  # read by a changed search's warning
        store.open(logger.project_name, self.algorithm, described)
        if store.created:
            other = store.unfinished_other(logger.project_name, self.algorithm)
            if other is not None:
                warn_not_resumed(other, described)
        return logger, store

    def _project(self) -> str:
        """The project the trials' runs are filed in: the logger's, or for a URL the
        config's ``experiment.project_name`` (else 'hyperopt')."""
        if self.tracker is None or isinstance(self.tracker, str):
            return project_of(self.scope.config)
        return self.tracker.project_name

    def _run_rung(self, session: SearchSession, trials: list[Trial]) -> list[Outcome]:
        """Run ``trials`` (this rank's share of them) and return every rank's outcomes
        in the order of ``trials``."""
        group = self.group
        local = group.world_size == 1
        if trials:
            where = f"rung {trials[0].rung}"
            if self.algorithm == "bracket_hyperband":
                where = f"bracket {trials[0].bracket} · {where}"
            session.progress.rung(where)
        # Stored trials are rebuilt on every rank (each read the same rows), and only
        # the others are shared out: after a resume, the trials a killed rank left are
        # spread over every rank rather than run again where they were.
        kept: dict[Position, Outcome] = {}
        pending = []
        for trial in trials:
            outcome = self._stored_outcome(session, trial)
            if outcome is None:
                pending.append(trial)
            else:
                kept[trial.position] = outcome
        mine = []
        for trial in pending[group.rank :: group.world_size]:
            mine.append(self._run_trial(session, trial, local))
            if mine[-1].stopped is not None:
                break  # no more trials here; the other ranks learn of it at the gather
        if kept and not local:  # rank 0's configs, as for trials run now (gathered)
            kept = group.broadcast(
                {at: replace(o, snapshot=portable(o.snapshot)) for at, o in kept.items()},
                "sharing the configs of stored trials",
            )
        if local:
            ran = {outcome.trial.position: outcome for outcome in mine}
            outcomes = [kept.get(trial.position) or ran[trial.position] for trial in trials]
        else:
            try:
                shares = group.gather([replace(o, snapshot=portable(o.snapshot)) for o in mine])
                stopped = rank_stopped(shares)
                if stopped is not None:
                    raise stopped
            except RankStoppedError:
                # A trial's SystemExit or KeyboardInterrupt stops every rank: its own rank
                # re-raises it (a Ctrl-C reaches every rank: so too when another rank
                # left before the gather), the others the error naming that rank.
                if self._halted is not None:
                    halted, self._halted = self._halted, None
                    raise halted from None
                raise
            by_position = {o.trial.position: o for share in shares for o in share}
            by_position.update(kept)
            outcomes = [by_position[trial.position] for trial in trials]
            done_here = {outcome.trial.position for outcome in [*mine, *kept.values()]}
            for outcome in outcomes:
                if outcome.trial.position not in done_here:
                    session.progress.update(outcome.metric, outcome.trial.budget)
            fatal = [o.error for o in outcomes if o.fatal]
            if fatal:  # every rank gathered the same outcomes: they all stop here
                raise TrialResultError(fatal[0])
            failed = [o for o in outcomes if o.error is not None and not o.resumed]
            stop = group.broadcast(bool(failed) and self.on_error == "raise")
            raised, self._raised = self._raised, {}
            if stop:
                trial, error = failed[0].trial, failed[0].error
                own = raised.get(trial.position)
                if own is not None:
                    raise own
                raise TrialFailedError(
                    f"Trial {params_text(trial.params)} (rung {trial.rung}) raised and "
                    f"on_error='raise':\n{error}"
                )
        return outcomes

    def _assemble(self, trial: Trial) -> ADict:
        bookkeeping: dict[str, Any] = {"__num_halved__": trial.rung}
        if trial.budget is not None:
            bookkeeping["__budget__"] = trial.budget
        bookkeeping["__search_id__"] = self.search_id
        bracket = trial.bracket if self.algorithm == "bracket_hyperband" else None
        source = search_source(trial.rung, bracket)
        return assemble_trial(self.scope, trial.params, source, bookkeeping)

    def _stored_outcome(self, session: SearchSession, trial: Trial) -> Outcome | None:
        """The outcome of ``trial`` as a resumed search stored it, or None to run it."""
        stored = session.stored.get(trial.position)
        if stored is None:
            return None
        if (
            stored.error is not None
            and self.on_error == "raise"
            and not (session.store is not None and session.store.completed)
        ):
            return None  # the search stopped at this failure: try the trial again
        snapshot = self._assemble(trial).clone()
        snapshot["__metric__"] = stored.metric
        session.progress.update(stored.metric, trial.budget)
        return Outcome(trial, stored.metric, stored.error, snapshot, resumed=True)

    def _run_trial(self, session: SearchSession, trial: Trial, local: bool) -> Outcome:
        stopping = session.signal_stop(trial, started=False)
        if stopping is not None:
            return self._stopped(stopping, trial, ADict(), local)
        config = self._assemble(trial)
        # The config as the trial gets it (what a resumed search can rebuild without it).
        snapshot = config.clone()
        logger, run_id = session.logger, None
        if logger is not None:  # the search's run for the trial: the logger's current run
            logger.config = config
            run_id = start_trial_run(logger, trial_tags(self.search_id, self.algorithm, trial))
        error: str | None = None
        try:
            with self.group.trial():
                value = session.evaluate(config)
            metric = as_metric(value, self._trial_name)
        except TrialResultError as bad:
            session.end_run(trial, run_id, "failed", str(bad))
            stopping = session.signal_stop(trial, started=True)
            if stopping is not None:  # cut short before it had a metric: not its bug
                stopping.__suppress_context__ = True
                return self._stopped(stopping, trial, snapshot, local)
            if local:
                raise
            return Outcome(trial, math.nan, str(bad), snapshot, fatal=True)
        except Exception as exception:
            error = "".join(traceback.format_exception(exception))
            metric = math.nan
            if session.signal_stop(trial, started=True) is not None:
                # The program's SIGTERM handler raised its own error (or the cut trial
                # did): the search stops with it, for the program's own `except`.
                session.end_run(trial, run_id, "killed", error)
                say_stopped(trial, exception, bool(session.store))
                return self._stopped(exception, trial, snapshot, local, killed=True)
            log.warning(
                "Trial %s (rung %d) raised:\n%s", params_text(trial.params), trial.rung, error
            )
            if local and self.on_error == "raise":
                session.end_run(trial, run_id, "failed", error)
                raise
            if self.on_error == "raise":
                self._raised[trial.position] = exception
        except BaseException as halt:  # SystemExit, KeyboardInterrupt: the search stops
            status = "killed" if isinstance(halt, KeyboardInterrupt) else "failed"
            session.end_run(trial, run_id, status, "".join(traceback.format_exception(halt)))
            if isinstance(halt, SystemExit):  # sys.exit(0) would end the program unsaid
                say_stopped(trial, halt, bool(session.store))
            return self._stopped(halt, trial, snapshot, local)
        snapshot["__metric__"] = metric
        # A SIGTERM meanwhile waits: a completed run whose trial is not stored runs again.
        with main_writes.marked():
            status = "failed" if error is not None else "completed"
            session.end_run(trial, run_id, status, error, metric=metric, step=trial.rung)
            stopping = session.signal_stop(trial, started=True)
            if stopping is None and session.store is not None:
                session.store.record_trial(
                    trial.position, trial.params, trial.budget, metric, error, run_id
                )
        if stopping is not None:
            return self._stopped(stopping, trial, snapshot, local)
        session.progress.update(metric, trial.budget)
        session.say()
        return Outcome(trial, metric, error, snapshot)

    def _stopped(
        self, halt: BaseException, trial: Trial, snapshot: ADict, local: bool, killed: bool = False
    ) -> Outcome:
        """``halt`` stops the search: raised here in one process, else raised once every
        rank has learnt of it at the gather (the others raise a RankStoppedError).
        ``killed``: it reads 'killed' whatever ``halt`` is (a SIGTERM came first)."""
        if local:
            raise halt
        self._halted = halt
        what, killed = first_line(halt), killed or interrupted(halt)
        return Outcome(trial, math.nan, what, snapshot, stopped=what, interrupted=killed)

    def best_first(self, outcomes: Sequence[Outcome]) -> list[Outcome]:
        """Best first; NaN, infinite and failed trials last, ties in trial order."""
        return best_first(outcomes, self.mode)

    failed = staticmethod(failed)

    def _refuse_all_failed(self, best: Outcome, where: str, more: bool = False) -> None:
        refuse_all_failed(best, where, self._trial_name, more)

    def _result(self, best: Outcome, logs: list[list[ADict]], where: str) -> ADict:
        self._refuse_all_failed(best, where)
        # The scope ends holding the best trial's assembly: scope.explain(key) and
        # scope.sources() tell where each of its values came from.
        self._assemble(best.trial)
        provenance = {
            key: [str(source) for source in chain] for key, _, chain in self.scope.sources()
        }
        return ADict(config=best.snapshot, metric=best.metric, logs=logs, provenance=provenance)

"""HyperBand: successive halving over a grid (the README's), and Li et al.'s brackets.

:class:`HyperBand` evaluates every point of the grid, keeps the best ``halving_rate``
fraction (at least one), and repeats until at most ``num_min_samples`` remain; those
survivors are trained at the final budget and the best of them is returned. A grid of
at most ``num_min_samples`` points is trained at the final budget at once. The trial
sees its rung as ``config.__num_halved__`` (and, given ``max_budget``, its budget as
``config.__budget__``).

:class:`BracketHyperBand` is the Hyperband of Li et al. (2018): several brackets of
successive halving over seeded random samples, from many cheap trials to a few trained
at ``max_budget`` from the start; the budget is handed to each trial as
``config.__budget__``.

:class:`DistributedHyperBand` shares each rung's trials among the ranks of a
``torch.distributed`` process group; torch is imported only when it is made.
"""

from __future__ import annotations

import math
import numbers
import operator
import sys
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import TYPE_CHECKING, Any, NoReturn

from ato.adict import ADict
from ato.hyperopt.errors import SearchSettingsError
from ato.hyperopt.group import TorchGroup
from ato.hyperopt.sampling import points
from ato.hyperopt.search import HyperOpt, Outcome, Trial
from ato.hyperopt.space import GRID_LIMIT
from ato.message_text import counted, shown
from ato.scope import Scope

if TYPE_CHECKING:
    from ato.tracking import SQLLogger

__all__ = ["BracketHyperBand", "DistributedHyperBand", "HyperBand"]

_EPS = 1e-9
#: The most trials a HyperBand search may run, all rungs together (each rung is smaller
#: than the last, so a rate near 1 over a big grid would run for ever).
TRIAL_LIMIT = 10 * GRID_LIMIT


def _budget_setting(name: str, value: Any) -> Any:
    """``value`` if it is a budget: a number > 0 that a float holds (budgets are summed
    and stored as floats)."""
    if not isinstance(value, bool) and isinstance(value, numbers.Real):
        value = operator.index(value) if isinstance(value, numbers.Integral) else float(value)
        if 0 < value <= sys.float_info.max:
            return value  # a numpy number as the Python int or float it stands for
    raise SearchSettingsError(
        f"{name} is {shown(value)}; it must be a number > 0 and at most "
        f"{sys.float_info.max:.3g}, such as epochs or steps (e.g. {name}=27)."
    )


def _as_given(number: Any) -> Any:
    """27.0 as 27: a whole budget or eta plans the same search however it is written."""
    if isinstance(number, float) and number.is_integer():
        return int(number)
    return number


def _exact(number: Any) -> Fraction:
    """``number`` as the decimal it was written as: 0.1 is 1/10, not the binary value
    just above it (which would put ``ceil`` one step too high)."""
    if isinstance(number, numbers.Integral):
        return Fraction(operator.index(number))
    return Fraction(repr(float(number)))


class HyperBand(HyperOpt):
    """Successive halving over the grid of ``search_spaces`` (the README's HyperBand).

    ``halving_rate`` is the fraction kept after each rung (0 < rate < 1);
    ``num_min_samples`` is how few survivors end the halving; ``mode`` is ``'max'`` or
    ``'min'``. ``tracker`` (an ``SQLLogger`` or a database URL) records each trial as a
    run and the search's state, so that a search started again resumes. ``max_budget``
    hands each trial ``config.__budget__`` (see
    :meth:`compute_optimized_initial_training_steps`). ``on_error='raise'`` stops the
    search at the first trial that raises; by default it ranks last.
    """

    algorithm = "hyperband"

    def __init__(
        self,
        scope: Scope,
        search_spaces: Mapping[str, Any],
        halving_rate: float,
        num_min_samples: int,
        tracker: SQLLogger | str | None = None,
        mode: str = "max",
        *,
        max_budget: float | None = None,
        on_error: str = "continue",
        progress: bool = True,
        **kwargs: Any,
    ) -> None:
        rate: Any = halving_rate  # checked as what a caller may pass, not as annotated
        is_number = isinstance(rate, numbers.Real) and not isinstance(rate, bool)
        if not is_number or not 0.0 < float(rate) < 1.0:
            raise SearchSettingsError(
                f"halving_rate is {shown(halving_rate)}; it is the fraction kept after each "
                f"rung, so 0 < halving_rate < 1 (e.g. 0.3)."
            )
        minimum: Any = num_min_samples
        try:
            minimum = None if isinstance(minimum, bool) else operator.index(minimum)
        except TypeError:
            minimum = None
        if minimum is None or minimum < 1:
            raise SearchSettingsError(
                f"num_min_samples is {shown(num_min_samples)}; give an int >= 1 (how few "
                f"survivors end the halving, e.g. 4)."
            )
        super().__init__(
            scope, search_spaces, tracker, mode, on_error=on_error, progress=progress, **kwargs
        )
        # As Python numbers (a Fraction or a numpy float is stored and shown as a float).
        self.halving_rate, self.num_min_samples = float(rate), minimum
        self.max_budget = None if max_budget is None else _budget_setting("max_budget", max_budget)
        self.budgets_for: float | None = None  # the last max_steps budgets were computed for
        self.grid = self.space.grid()
        self.rung_sizes = self._rung_sizes(len(self.grid))

    def _rung_sizes(self, count: int) -> list[int]:
        # _EPS: 108 * (1/3) is 36, not the 35.99... of a float; and every rung is smaller
        # than the last, however close to 1 the rate is (or the halving would never end).
        sizes, total = [count], count
        while sizes[-1] > self.num_min_samples:
            kept = math.floor(sizes[-1] * self.halving_rate + _EPS)
            sizes.append(max(1, min(kept, sizes[-1] - 1)))
            total += sizes[-1]
            if total > TRIAL_LIMIT:
                raise SearchSettingsError(
                    f"HyperBand(halving_rate={shown(self.halving_rate)}, num_min_samples="
                    f"{self.num_min_samples}) over a grid of {count:,} points makes more than "
                    f"{TRIAL_LIMIT:,} trials (rungs of {', '.join(map(str, sizes[:4]))}, ...); "
                    f"a search takes at most {TRIAL_LIMIT:,}. Search a smaller grid (lower "
                    f"num_samples), keep fewer after each rung (a lower halving_rate), or "
                    f"stop the halving sooner (a higher num_min_samples)."
                )
        return sizes

    def num_generations(self) -> int:
        """The number of rungs the search runs (the last trains at the final budget)."""
        return len(self.rung_sizes)

    def compute_optimized_initial_training_steps(self, max_steps: int) -> list[int]:
        """One budget per rung, growing by ``1 / halving_rate``, the last ``max_steps``:
        ``budgets[config.__num_halved__]`` is the trial's budget."""
        self.budgets_for = _budget_setting("max_steps", max_steps)  # a resume must match
        return self._budgets(self.budgets_for)

    def _budgets(self, max_steps: Any) -> list[Any]:
        """Whole budgets (epochs, steps: 27 or 27.0) are rounded up, at least 1; others
        (0.5 of a dataset) are that fraction, to 12 digits. None exceeds ``max_steps``."""
        rate = _exact(self.halving_rate)  # exact: a huge int max_steps overflows no float
        whole = isinstance(max_steps, int) or float(max_steps).is_integer()
        budgets, share = [int(max_steps) if whole else max_steps], Fraction(1)
        for _ in range(len(self.rung_sizes) - 1):  # from the last rung down
            share *= rate
            if whole:
                budget: Any = max(1, math.ceil(max_steps * share - Fraction(_EPS)))
            else:
                budget = float(f"{float(_exact(max_steps) * share):.12g}")
            budgets.append(min(budget, max_steps))
        return budgets[::-1]

    def total_trials(self) -> int:
        return sum(self.rung_sizes)

    def _arguments(self) -> dict[str, Any]:
        return {
            "halving_rate": self.halving_rate,
            "num_min_samples": self.num_min_samples,
            "max_budget": _as_given(self.max_budget),
            "budgets_for": _as_given(self.budgets_for),
        }

    def _search(self, run_rung: Callable[[list[Trial]], list[Outcome]]) -> ADict:
        budgets: list[int] | None = None
        if self.max_budget is not None:
            budgets = self._budgets(self.max_budget)
        elif self.budgets_for is not None:  # the trials read these: the budget spent
            budgets = self._budgets(self.budgets_for)
        candidates = list(enumerate(self.grid))
        logs: list[list[ADict]] = []
        ranked: list[Outcome] = []
        for rung, size in enumerate(self.rung_sizes):
            budget = budgets[rung] if budgets is not None else None
            trials = [Trial(0, rung, index, params, budget) for index, params in candidates]
            assert len(trials) == size
            ranked = self.best_first(run_rung(trials))
            logs.append([outcome.snapshot for outcome in ranked])
            if rung + 1 < len(self.rung_sizes):
                self._refuse_all_failed(ranked[0], f"rung {rung}", more=True)
                keep = self.group.broadcast(
                    [outcome.trial.index for outcome in ranked[: self.rung_sizes[rung + 1]]]
                )
                candidates = [(index, self.grid[index]) for index in sorted(keep)]
        return self._result(ranked[0], logs, "the final rung")


class DistributedHyperBand(HyperBand):
    """:class:`HyperBand` with each rung's trials shared among ``world_size`` ranks.

    Uses the caller's default ``torch.distributed`` process group (gloo on CPU, nccl on
    GPU) and leaves it as it was; every rank returns the same result. With
    ``world_size=1`` no process group is needed.
    """

    def __init__(
        self,
        scope: Scope,
        search_spaces: Mapping[str, Any],
        halving_rate: float,
        num_min_samples: int,
        tracker: SQLLogger | str | None = None,
        mode: str = "max",
        rank: int = 0,
        world_size: int = 1,
        backend: str = "pytorch",
        **kwargs: Any,
    ) -> None:
        if backend != "pytorch":
            raise SearchSettingsError(f"backend is {backend!r}; the only one is 'pytorch'.")
        self.rank, self.world_size, self.backend = rank, world_size, backend
        super().__init__(
            scope,
            search_spaces,
            halving_rate,
            num_min_samples,
            tracker,
            mode,
            group=TorchGroup(rank, world_size),
            **kwargs,
        )
        self.rank, self.world_size = self.group.rank, self.group.world_size  # checked ints

    @property
    def is_root(self) -> bool:
        return self.rank == 0


class BracketHyperBand(HyperOpt):
    """The Hyperband of Li et al. (2018): brackets of successive halving over random
    samples, each trial trained for ``config.__budget__`` (``min_budget`` to
    ``max_budget``, growing by ``eta`` per rung).

    Bracket ``s`` (from ``s_max = floor(log_eta(max_budget / min_budget))`` down to 0)
    samples ``ceil((s_max + 1) / (s + 1) * eta**s)`` points (``sampler='sobol'``: a seeded,
    scrambled Sobol sequence, which covers the space more evenly than ``'random'``
    independent draws) and starts them at ``max_budget / eta**s``; the best of every
    bracket's final rung, all trained at ``max_budget``, is returned.
    """

    algorithm = "bracket_hyperband"

    def __init__(
        self,
        scope: Scope,
        search_spaces: Mapping[str, Any],
        max_budget: float,
        *,
        min_budget: float = 1,
        eta: float = 3,
        seed: int = 0,
        sampler: str = "sobol",
        tracker: SQLLogger | str | None = None,
        mode: str = "max",
        on_error: str = "continue",
        progress: bool = True,
        **kwargs: Any,
    ) -> None:
        max_budget = _budget_setting("max_budget", max_budget)
        min_budget = _budget_setting("min_budget", min_budget)
        if not min_budget <= max_budget:
            raise SearchSettingsError(
                f"min_budget={min_budget!r}, max_budget={max_budget!r}; "
                f"0 < min_budget <= max_budget."
            )
        given_eta: Any = eta  # checked as what a caller may pass, not as annotated
        if isinstance(given_eta, bool) or not isinstance(given_eta, numbers.Real):
            eta = math.nan
        elif isinstance(given_eta, numbers.Integral):
            eta = operator.index(given_eta)  # a numpy int as the int it stands for
        else:
            eta = float(given_eta)
        if not 1 < eta < math.inf:
            raise SearchSettingsError(
                f"eta is {shown(given_eta)}; it must be a number > 1 (e.g. 3)."
            )
        if sampler not in ("sobol", "random"):
            raise SearchSettingsError(f"sampler is {sampler!r}; it must be 'sobol' or 'random'.")
        wrong = SearchSettingsError(f"seed is {shown(seed)}; it must be an int (e.g. seed=0).")
        if isinstance(seed, bool):
            raise wrong
        try:
            seed = operator.index(seed)  # a numpy int as the int it stands for
        except TypeError:
            raise wrong from None
        super().__init__(
            scope, search_spaces, tracker, mode, on_error=on_error, progress=progress, **kwargs
        )
        self.max_budget, self.min_budget, self.eta, self.seed = max_budget, min_budget, eta, seed
        self.sampler = sampler
        ratio = math.log(max_budget) - math.log(min_budget)  # logs: ints of any size
        self.s_max = math.floor(ratio / math.log(eta) + _EPS)
        self._plan = self._brackets()

    def _brackets(self) -> list[list[tuple[int, Any]]]:
        s_max, eta = self.s_max, self.eta
        # Bracket s has s + 1 rungs of at least one trial, the first bracket eta**s_max
        # trials: refuse before counting what would take hours to count, or to run.
        rungs_in_all = (s_max + 1) * (s_max + 2) // 2
        if rungs_in_all > GRID_LIMIT:  # eta near 1: a great many brackets of few trials
            self._too_many(f"{counted(rungs_in_all)} rungs in all, each of one trial or more")
        if s_max * math.log(eta) > math.log(GRID_LIMIT):
            self._too_many(f"about 10**{s_max * math.log10(eta):.1f} trials in the first")
        budgets = self._budgets()
        plan = []
        for s in range(s_max, -1, -1):
            count = math.ceil((s_max + 1) / (s + 1) * eta**s - _EPS)
            rungs = [
                (max(1, math.floor(count * eta ** (-i) + _EPS)), budgets[s - i])
                for i in range(s + 1)
            ]
            plan.append(rungs)
        total = sum(size for rungs in plan for size, _ in rungs)
        if total > GRID_LIMIT:
            self._too_many(f"{counted(total)} trials in all")
        return plan

    def _budgets(self) -> list[Any]:
        """``max_budget / eta**k`` for k = 0 .. s_max, within ``[min_budget, max_budget]``:
        rounded ints (exact) when both budgets are whole numbers (27 or 27.0), floats
        otherwise."""
        top, bottom = self.max_budget, self.min_budget
        whole = all(isinstance(b, int) or b.is_integer() for b in (top, bottom))
        budgets: list[Any] = []
        power, step = Fraction(1), _exact(self.eta)
        for k in range(self.s_max + 1):
            if whole:
                value: Any = min(max(round(int(top) / power), int(bottom)), int(top))
                power *= step
            else:
                value = min(max(top / self.eta**k, bottom), top)
            budgets.append(value)
        return budgets

    def _too_many(self, what: str) -> NoReturn:
        raise SearchSettingsError(
            f"BracketHyperBand(max_budget={shown(self.max_budget)}, "
            f"min_budget={shown(self.min_budget)}, eta={shown(self.eta)}) has "
            f"{counted(self.s_max + 1)} brackets and {what}; a search takes at most "
            f"{GRID_LIMIT:,} trials. Raise min_budget or eta, or lower max_budget."
        )

    def brackets(self) -> list[list[tuple[int, Any]]]:
        """Per bracket, its rungs as ``(number of trials, budget)``."""
        return [list(rungs) for rungs in self._plan]

    def total_trials(self) -> int:
        return sum(size for rungs in self.brackets() for size, _ in rungs)

    def total_budget(self) -> int:
        return sum(size * budget for rungs in self.brackets() for size, budget in rungs)

    def _arguments(self) -> dict[str, Any]:
        return {
            "max_budget": _as_given(self.max_budget),
            "min_budget": _as_given(self.min_budget),
            "eta": _as_given(self.eta),
            "seed": self.seed,
            "sampler": self.sampler,
        }

    def _search(self, run_rung: Callable[[list[Trial]], list[Outcome]]) -> ADict:
        source = points(self.sampler, len(self.space.parameters), self.seed)
        logs: list[list[ADict]] = []
        finalists: list[Outcome] = []
        for bracket, rungs in enumerate(self.brackets()):
            samples = [self.space.sample(source.next()) for _ in range(rungs[0][0])]
            candidates = list(enumerate(samples))
            ranked: list[Outcome] = []
            for rung, (_, budget) in enumerate(rungs):
                trials = [Trial(bracket, rung, i, params, budget) for i, params in candidates]
                ranked = self.best_first(run_rung(trials))
                logs.append([outcome.snapshot for outcome in ranked])
                if self.failed(ranked[0]):
                    # Larger budgets are not worth configs that all failed.
                    if self._progress is not None:  # its other rungs leave the total
                        self._progress.skip(sum(size for size, _ in rungs[rung + 1 :]))
                    break
                if rung + 1 < len(rungs):
                    keep = self.group.broadcast(
                        [outcome.trial.index for outcome in ranked[: rungs[rung + 1][0]]]
                    )
                    candidates = [(index, samples[index]) for index in sorted(keep)]
            finalists.append(ranked[0])
        return self._result(self.best_first(finalists)[0], logs, "every bracket's last rung")

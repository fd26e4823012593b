"""ato's HyperBand against Optuna, in one run, at an equal budget in epochs.

    python benchmarks/bench_hpo.py                  # 5 seeds, both problems
    python benchmarks/bench_hpo.py --seeds 2 --problems digits

Needs ``pip install 'ato[bench]'`` (optuna, scikit-learn). Methods:

- ``ato-readme``: :class:`HyperBand` as the README has it (a grid of 108 points,
  ``halving_rate=1/3``, ``num_min_samples=4``: rungs of 108, 36, 12 and 4 trials at 1, 3,
  9 and 27 epochs, from ``compute_optimized_initial_training_steps``);
- ``ato-li``: :class:`BracketHyperBand` (Li et al. 2018, ``eta=3``, scrambled Sobol
  samples); ``ato-li-random``: the same with independent uniform samples;
- ``optuna-tpe-hb``: TPESampler + HyperbandPruner;
- ``optuna-rs-sha``: RandomSampler + SuccessiveHalvingPruner;
- ``random``: random search, every trial at the full budget.

Every method may spend the same number of epochs (``BUDGET``: one Hyperband iteration of
``ato-li``, 27 epochs at most per trial); a trial restarted at a larger budget pays for
its epochs again. Problems (data bundled with scikit-learn, split 60/20/20 into
train/validation/test once):

- digits: ``MLPClassifier`` trained by ``partial_fit`` one epoch at a time, searching the
  learning rate (log), batch size (log) and activation; maximise validation accuracy;
- breast_cancer: ``SGDClassifier`` (log-loss, constant step), searching ``eta0`` (log),
  ``alpha`` (log) and the penalty; minimise validation log-loss (``mode='min'``).

Reported per method over the seeds: the test score of the returned config retrained at
the full budget (median and range; ``--retrains N`` averages N trainings, the search's
own and N - 1 with other seeds, so that the figure is the config's rather than one
training's), its validation score (what the searches optimise; on a small validation set
the two can disagree), the best validation value seen once a third of the budget is
spent, wall time, and optimizer overhead per trial on a zero-cost objective. Each ato
method is then compared with each Optuna method seed by seed, on test and on validation,
with a sign test.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ato.adict import ADict
from ato.hyperopt.hyperband import BracketHyperBand, HyperBand
from ato.scope import Scope

MAX_EPOCHS, ETA = 27, 3


# -- problems ------------------------------------------------------------------------------


@dataclass
class Problem:
    name: str
    mode: str  # 'max' or 'min'
    spaces: ADict  # for ato (FLOAT/INTEGER/CATEGORY)
    grid_sizes: dict[str, int]  # README mode: num_samples per numeric parameter
    raw: tuple[Any, Any] = field(repr=False, default=(None, None))
    split_seed: int | None = 0  # None: each search seed splits the data its own way
    splits: dict[int, tuple[Any, ...]] = field(repr=False, default_factory=dict)

    def data(self, seed: int) -> tuple[Any, ...]:
        """(x_train, y_train, x_val, y_val, x_test, y_test) for ``seed``."""
        key = seed if self.split_seed is None else self.split_seed
        if key not in self.splits:
            self.splits[key] = _split(*self.raw, key)
        return self.splits[key]

    def train(self, params: dict[str, Any], epochs: int, seed: int) -> Any:
        raise NotImplementedError

    def epochs(self, params: dict[str, Any], seed: int, train_seed: int | None = None) -> Any:
        """Yield (epoch, validation score, model) one epoch at a time; ``seed`` picks the
        split (with ``split_seed=None``), ``train_seed`` (default ``seed``) the training's
        randomness."""
        raise NotImplementedError

    def test_score(self, params: dict[str, Any], seed: int, retrains: int = 1) -> float:
        """The test score after the full budget, averaged over ``retrains`` trainings: the
        search's own (``seed``) and ``retrains - 1`` with other seeds, so that the figure
        is the config's, not one lucky run's."""
        _, _, _, _, x_test, y_test = self.data(seed)
        scores = []
        for k in range(retrains):
            *_, (_, _, model) = self.epochs(params, seed, seed + 1000 * k)
            scores.append(self._test(model, x_test, y_test))
        return statistics.fmean(scores)

    def _test(self, model: Any, x: Any, y: Any) -> float:
        raise NotImplementedError

    def validation_score(self, params: dict[str, Any], seed: int) -> float:
        """The validation score after the full budget: what the searches optimise."""
        *_, (_, value, _) = self.epochs(params, seed)
        return float(value)


def _split(x: Any, y: Any, seed: int) -> tuple[Any, ...]:
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x_train, x_rest, y_train, y_rest = train_test_split(
        x, y, test_size=0.4, random_state=seed, stratify=y
    )
    x_val, x_test, y_val, y_test = train_test_split(
        x_rest, y_rest, test_size=0.5, random_state=seed, stratify=y_rest
    )
    scaler = StandardScaler().fit(x_train)
    return (
        scaler.transform(x_train), y_train, scaler.transform(x_val), y_val,
        scaler.transform(x_test), y_test,
    )  # fmt: skip


class Digits(Problem):
    def __init__(self) -> None:
        from sklearn.datasets import load_digits

        spaces = ADict(
            lr=ADict(param_type="FLOAT", param_range=(1e-4, 1e-1), space_type="LOG"),
            batch_size=ADict(param_type="INTEGER", param_range=(16, 256), space_type="LOG"),
            activation=ADict(param_type="CATEGORY", categories=["relu", "tanh", "logistic"]),
        )
        x, y = load_digits(return_X_y=True)
        super().__init__("digits", "max", spaces, {"lr": 12, "batch_size": 3}, (x, y))

    def _model(self, params: dict[str, Any], seed: int) -> Any:
        from sklearn.neural_network import MLPClassifier

        return MLPClassifier(
            hidden_layer_sizes=(64,),
            learning_rate_init=params["lr"],
            batch_size=int(params["batch_size"]),
            activation=params["activation"],
            random_state=seed,
        )

    def epochs(self, params: dict[str, Any], seed: int, train_seed: int | None = None) -> Any:
        x_train, y_train, x_val, y_val, _, _ = self.data(seed)
        model = self._model(params, seed if train_seed is None else train_seed)
        classes = np.unique(y_train)
        for epoch in range(1, MAX_EPOCHS + 1):
            model.partial_fit(x_train, y_train, classes=classes)
            yield epoch, float(model.score(x_val, y_val)), model

    def _test(self, model: Any, x: Any, y: Any) -> float:
        return float(model.score(x, y))


class BreastCancer(Problem):
    def __init__(self) -> None:
        from sklearn.datasets import load_breast_cancer

        spaces = ADict(
            eta0=ADict(param_type="FLOAT", param_range=(1e-5, 1.0), space_type="LOG"),
            alpha=ADict(param_type="FLOAT", param_range=(1e-6, 1e-1), space_type="LOG"),
            penalty=ADict(param_type="CATEGORY", categories=["l2", "l1", "elasticnet"]),
        )
        x, y = load_breast_cancer(return_X_y=True)
        super().__init__("breast_cancer", "min", spaces, {"eta0": 9, "alpha": 4}, (x, y))

    def _loss(self, model: Any, x: Any, y: Any) -> float:
        from sklearn.metrics import log_loss

        with np.errstate(all="ignore"):
            probabilities = model.predict_proba(x)
        if not np.all(np.isfinite(probabilities)):
            return math.nan
        return float(log_loss(y, probabilities, labels=[0, 1]))

    def epochs(self, params: dict[str, Any], seed: int, train_seed: int | None = None) -> Any:
        from sklearn.linear_model import SGDClassifier

        x_train, y_train, x_val, y_val, _, _ = self.data(seed)
        model = SGDClassifier(
            loss="log_loss",
            learning_rate="constant",
            eta0=params["eta0"],
            alpha=params["alpha"],
            penalty=params["penalty"],
            random_state=seed if train_seed is None else train_seed,
        )
        order = np.random.default_rng(seed if train_seed is None else train_seed)
        for epoch in range(1, MAX_EPOCHS + 1):
            shuffled = order.permutation(len(y_train))
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                model.partial_fit(x_train[shuffled], y_train[shuffled], classes=[0, 1])
            yield epoch, self._loss(model, x_val, y_val), model

    def _test(self, model: Any, x: Any, y: Any) -> float:
        return self._loss(model, x, y)


# -- bookkeeping of a method's run ---------------------------------------------------------


class Ledger:
    """Epochs spent, and the best validation value once a third of the budget is spent."""

    def __init__(self, budget: int, mode: str) -> None:
        self.budget, self.mode, self.spent = budget, mode, 0
        self.best = math.nan
        self.best_at_third = math.nan

    def better(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if math.isnan(self.best):
            return True
        return value > self.best if self.mode == "max" else value < self.best

    def epoch(self, value: float) -> None:
        self.spent += 1
        if self.better(value):
            self.best = value
        if self.spent <= self.budget / 3:
            self.best_at_third = self.best


def train_for(problem: Problem, params: dict[str, Any], epochs: int, seed: int, ledger: Ledger,
              report: Callable[[int, float], bool] | None = None) -> float:  # fmt: skip
    """Train ``epochs`` epochs; ``report(epoch, value)`` returning True stops early."""
    value = math.nan
    for epoch, value, _ in problem.epochs(params, seed):
        ledger.epoch(value)
        if report is not None and report(epoch, value):
            break
        if epoch >= epochs:
            break
    return value


# -- methods -------------------------------------------------------------------------------


def _fresh_scope() -> Scope:
    Scope.initialize_registry()
    return Scope(name="config")


def ato_readme(problem: Problem, seed: int, budget: int) -> tuple[dict[str, Any], Ledger]:
    spaces = problem.spaces.clone()
    for name, count in problem.grid_sizes.items():
        spaces[name].num_samples = count
    hyperband = HyperBand(
        _fresh_scope(), spaces, 1 / ETA, 4, mode=problem.mode, max_budget=MAX_EPOCHS,
        progress=False,
    )  # fmt: skip
    return _search(hyperband, problem, seed, budget)


def _search(
    hyperband: HyperBand | BracketHyperBand, problem: Problem, seed: int, budget: int
) -> tuple[dict[str, Any], Ledger]:
    """Run one of ato's searches on ``problem``; the returned config's params and the
    ledger of epochs spent."""
    ledger = Ledger(budget, problem.mode)

    @hyperband.main
    def trial(config: ADict) -> float:
        params = {name: config[name] for name in problem.spaces}
        return train_for(problem, params, config.__budget__, seed, ledger)

    result = trial()
    return {name: result.config[name] for name in problem.spaces}, ledger


def ato_li(
    problem: Problem, seed: int, budget: int, sampler: str = "sobol"
) -> tuple[dict[str, Any], Ledger]:
    hyperband = BracketHyperBand(
        _fresh_scope(), problem.spaces, MAX_EPOCHS, eta=ETA, seed=seed, mode=problem.mode,
        sampler=sampler, progress=False,
    )  # fmt: skip
    return _search(hyperband, problem, seed, budget)


def _optuna_params(trial: Any, problem: Problem) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, spec in problem.spaces.items():
        if spec.param_type == "CATEGORY":
            params[name] = trial.suggest_categorical(name, list(spec.categories))
        elif spec.param_type == "INTEGER":
            low, high = spec.param_range
            params[name] = trial.suggest_int(name, low, high, log=spec.space_type == "LOG")
        else:
            low, high = spec.param_range
            params[name] = trial.suggest_float(name, low, high, log=spec.space_type == "LOG")
    return params


def optuna_method(sampler_name: str, pruner_name: str) -> Callable[..., Any]:
    def method(problem: Problem, seed: int, budget: int) -> tuple[dict[str, Any], Ledger]:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = (
            optuna.samplers.TPESampler(seed=seed)
            if sampler_name == "tpe"
            else optuna.samplers.RandomSampler(seed=seed)
        )
        pruner: Any = {
            "hyperband": optuna.pruners.HyperbandPruner(
                min_resource=1, max_resource=MAX_EPOCHS, reduction_factor=ETA
            ),
            "sha": optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=ETA),
            "none": optuna.pruners.NopPruner(),
        }[pruner_name]
        direction = "maximize" if problem.mode == "max" else "minimize"
        # Named, not left to a random name: HyperbandPruner puts each trial in a bracket
        # by a hash of the study's name, so an unnamed study gives other figures each run.
        study = optuna.create_study(
            direction=direction, sampler=sampler, pruner=pruner,
            study_name=f"{problem.name}-{sampler_name}-{pruner_name}-{seed}",
        )  # fmt: skip
        ledger = Ledger(budget, problem.mode)

        def objective(trial: Any) -> float:
            params = _optuna_params(trial, problem)
            pruned = False

            def report(epoch: int, value: float) -> bool:
                nonlocal pruned
                trial.report(value if math.isfinite(value) else _worst(problem), epoch)
                pruned = trial.should_prune()
                return pruned

            value = train_for(problem, params, MAX_EPOCHS, seed, ledger, report)
            if pruned:
                raise optuna.TrialPruned()
            return value if math.isfinite(value) else _worst(problem)

        def stop(study: Any, trial: Any) -> None:
            if ledger.spent >= budget:
                study.stop()

        study.optimize(objective, callbacks=[stop])
        return dict(study.best_trial.params), ledger

    return method


def _worst(problem: Problem) -> float:
    return -1e9 if problem.mode == "max" else 1e9


METHODS: dict[str, Callable[..., tuple[dict[str, Any], Ledger]]] = {
    "ato-readme": ato_readme,
    "ato-li": ato_li,
    "ato-li-random": lambda problem, seed, budget: ato_li(problem, seed, budget, "random"),
    "optuna-tpe-hb": optuna_method("tpe", "hyperband"),
    "optuna-rs-sha": optuna_method("random", "sha"),
    "random": optuna_method("random", "none"),
}


# -- overhead on a zero-cost objective -----------------------------------------------------


def overhead_ato(trials: int = 3000) -> float:
    scope = _fresh_scope()

    @scope.observe(default=True)
    def defaults(config: ADict) -> None:
        config.lr, config.batch_size, config.model = 0.01, 32, "a"

    spaces = ADict(
        lr=ADict(param_type="FLOAT", param_range=(1e-5, 1e-1), num_samples=100, space_type="LOG"),
        batch_size=ADict(param_type="INTEGER", param_range=(1, 2048), num_samples=10),
        model=ADict(param_type="CATEGORY", categories=["a", "b"]),
    )
    hyperband = HyperBand(scope, spaces, 1 / ETA, 3, progress=False)
    rng = random.Random(0)
    start = time.perf_counter()
    hyperband.main(lambda config: rng.random())()
    return (time.perf_counter() - start) / hyperband.total_trials()


def overhead_optuna(trials: int = 300) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=0),
        pruner=optuna.pruners.HyperbandPruner(),
    )
    rng = random.Random(0)

    def objective(trial: Any) -> float:
        trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        trial.suggest_int("batch_size", 1, 2048)
        trial.suggest_categorical("model", ["a", "b"])
        value = rng.random()
        trial.report(value, 1)
        return value

    start = time.perf_counter()
    study.optimize(objective, n_trials=trials)
    return (time.perf_counter() - start) / trials


# -- main ----------------------------------------------------------------------------------


def summary(values: list[float], digits: int = 3) -> str:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return "n/a"
    median = statistics.median(finite)
    return f"{median:.{digits}f} [{min(finite):.{digits}f}, {max(finite):.{digits}f}]"


def sign_test(better: int, worse: int) -> float:
    """Two-sided exact sign test: how likely a split at least this uneven is by chance."""
    n, k = better + worse, min(better, worse)
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired(
    problem: Problem, scores: dict[str, list[float]], validation: dict[str, list[float]]
) -> None:
    """Each ato method against each Optuna method, seed by seed (the same data and seed),
    on the test score and on the validation score the searches optimise; and the target:
    a median test score at least the best Optuna median."""
    ours = [name for name in scores if name.startswith("ato-")]
    theirs = [name for name in scores if name.startswith("optuna-")]
    if not ours or not theirs:
        return
    sign = 1.0 if problem.mode == "max" else -1.0

    def compare(a: list[float], b: list[float]) -> str:
        pairs = list(zip(a, b, strict=True))
        better = sum(1 for x, y in pairs if sign * (x - y) > 1e-12)
        worse = sum(1 for x, y in pairs if sign * (y - x) > 1e-12)
        return f"better on {better}, worse on {worse} (p = {sign_test(better, worse):.2f})"

    def median(name: str) -> float:
        finite = [v for v in scores[name] if math.isfinite(v)]
        return statistics.median(finite) if finite else math.nan

    best = max(theirs, key=lambda name: sign * median(name))
    print(f"paired by seed; best Optuna median: {best} {median(best):.3f}")
    for name in ours:
        met = "met" if sign * median(name) >= sign * median(best) else "NOT met"
        print(f"  {name}: target {met} ({median(name):.3f})")
        for other in theirs:
            print(f"    vs {other}: test {compare(scores[name], scores[other])}; "
                  f"validation {compare(validation[name], validation[other])}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--problems", nargs="*", default=["digits", "breast_cancer"])
    parser.add_argument("--methods", nargs="*", default=list(METHODS))
    parser.add_argument(
        "--split-per-seed", action="store_true",
        help="each search seed splits the data its own way (default: one split, seed 0, "
        "so that every seed meets the same validation and test sets)",
    )  # fmt: skip
    parser.add_argument(
        "--retrains", type=int, default=1,
        help="test score: the mean over this many trainings of the returned config at the "
        "full budget (the search's own seed and others), so that it does not hang on one "
        "training's luck (default 1: the search's own training, reproduced)",
    )  # fmt: skip
    args = parser.parse_args()
    sys.argv = sys.argv[:1]  # a search reads the command line, as any @scope program does
    budget = BracketHyperBand(_fresh_scope(), Digits().spaces, MAX_EPOCHS, eta=ETA).total_budget()
    problems = {"digits": Digits, "breast_cancer": BreastCancer}
    split = "each seed its own split" if args.split_per_seed else "one split (seed 0)"
    print(f"budget: {budget} epochs per search (at most {MAX_EPOCHS} per trial); {split}")
    for problem_name in args.problems:
        problem = problems[problem_name]()
        problem.split_seed = None if args.split_per_seed else 0
        higher = "higher" if problem.mode == "max" else "lower"
        print(f"\n## {problem.name}: test {'accuracy' if problem.mode == 'max' else 'log-loss'} "
              f"({higher} is better), {args.seeds} seeds")  # fmt: skip
        print(f"{'method':<15} {'test score, median [range]':<28} {'its validation score':<28} "
              f"{'best val @1/3 budget':<28} {'epochs':>7} {'wall s':>7}")  # fmt: skip
        scores: dict[str, list[float]] = {}
        validation: dict[str, list[float]] = {}
        for method_name in args.methods:
            tests, vals, thirds, spent, walls = [], [], [], [], []
            for seed in range(args.seeds):
                start = time.perf_counter()
                params, ledger = METHODS[method_name](problem, seed, budget)
                walls.append(time.perf_counter() - start)
                tests.append(problem.test_score(params, seed, args.retrains))
                vals.append(problem.validation_score(params, seed))
                thirds.append(ledger.best_at_third)
                spent.append(ledger.spent)
            print(f"{method_name:<15} {summary(tests):<28} {summary(vals, 4):<28} "
                  f"{summary(thirds):<28} {statistics.median(spent):>7.0f} "
                  f"{statistics.median(walls):>7.1f}")  # fmt: skip
            scores[method_name], validation[method_name] = tests, vals
        paired(problem, scores, validation)
    print("\n## optimizer overhead per trial, zero-cost objective")
    print(f"ato HyperBand (3 parameters, a scope with a view): {overhead_ato() * 1e3:.3f} ms")
    print(f"Optuna TPESampler + HyperbandPruner (300 trials): {overhead_optuna() * 1e3:.3f} ms")


if __name__ == "__main__":
    main()

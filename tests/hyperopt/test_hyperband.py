"""HyperBand as the README describes it, with 2.x's faults fixed."""

from __future__ import annotations

import math
import sys
import warnings
from fractions import Fraction

import pytest

from ato.adict import ADict
from ato.errors import AtoError, AtoWarning
from ato.hyperopt.errors import SearchSettingsError, TrialFailedError, TrialResultError
from ato.hyperopt.hyperband import BracketHyperBand, HyperBand
from ato.scope import Scope


def lr_score(config):
    """Best at lr = 1e-2 with resnet101."""
    return -abs(math.log10(config.lr) + 2) + (config.model == "resnet101")


def test_readme_example_runs():
    scope = Scope()
    search_spaces = ADict(
        lr=ADict(param_type="FLOAT", param_range=(1e-5, 1e-1), num_samples=20, space_type="LOG"),
        batch_size=ADict(
            param_type="INTEGER", param_range=(16, 128), num_samples=5, space_type="LOG"
        ),
        model=ADict(param_type="CATEGORY", categories=["resnet50", "resnet101", "efficientnet_b0"]),
    )
    hyperband = HyperBand(scope, search_spaces, halving_rate=0.3, num_min_samples=3, mode="max")
    budgets = hyperband.compute_optimized_initial_training_steps(100)

    @hyperband.main
    def train(config):
        num_epochs = budgets[config.__num_halved__]
        return lr_score(config) - abs(config.batch_size - 45) / 1000 + num_epochs / 1e6

    best_result = train()
    assert best_result.config.model == "resnet101"
    assert best_result.config.batch_size == 45
    assert best_result.metric == max(c.__metric__ for c in best_result.logs[-1])
    assert best_result.config.__num_halved__ == hyperband.num_generations() - 1


def test_rungs_keep_the_top_fraction_until_at_most_num_min_samples_remain(scope, spaces):
    hyperband = HyperBand(scope, spaces, halving_rate=0.5, num_min_samples=2, mode="max")
    seen: list[int] = []

    @hyperband.main
    def train(config):
        seen.append(config.__num_halved__)
        return lr_score(config)

    result = train()
    # 12 points: 12 -> 6 -> 3 -> 1 (<= 2 remain): rungs of 12, 6, 3, then the final one.
    assert hyperband.rung_sizes == [12, 6, 3, 1]
    assert [len(rung) for rung in result.logs] == [12, 6, 3, 1]
    assert seen == [0] * 12 + [1] * 6 + [2] * 3 + [3]
    assert hyperband.num_generations() == 4
    assert result.config.lr == pytest.approx(1e-2) and result.config.model == "resnet101"


def test_final_rung_trains_every_survivor_and_returns_the_best_of_them(scope, spaces):
    hyperband = HyperBand(scope, spaces, halving_rate=0.3, num_min_samples=3, mode="max")

    @hyperband.main
    def train(config):
        score = lr_score(config)
        # A short rung lies: at rung 0, resnet50 looks best; trained fully, resnet101 wins.
        if config.__num_halved__ == 0 and config.model == "resnet50":
            score += 5
        return score

    result = train()
    final = result.logs[-1]
    assert len(final) == 3  # 12 -> 3 survivors, all trained at the final budget
    assert result.metric == max(c.__metric__ for c in final)


def test_at_least_one_config_survives_a_tiny_halving_rate(scope, spaces):
    hyperband = HyperBand(scope, spaces, halving_rate=0.01, num_min_samples=1)
    assert hyperband.rung_sizes == [12, 1]


def test_a_grid_smaller_than_num_min_samples_is_trained_at_the_final_budget(scope):
    spaces = ADict(model=ADict(param_type="CATEGORY", categories=["a", "b"]))
    hyperband = HyperBand(scope, spaces, halving_rate=0.3, num_min_samples=5)
    assert hyperband.num_generations() == 1
    assert hyperband.compute_optimized_initial_training_steps(50) == [50]

    @hyperband.main
    def train(config):
        return {"a": 1.0, "b": 2.0}[config.model] + config.__num_halved__

    result = train()
    assert result.config.model == "b" and result.metric == 2.0
    assert [len(rung) for rung in result.logs] == [2]


def test_budgets_one_per_rung_ending_at_max_steps(scope, spaces):
    hyperband = HyperBand(scope, spaces, halving_rate=0.5, num_min_samples=2, max_budget=40)
    budgets = hyperband.compute_optimized_initial_training_steps(40)
    assert budgets == [5, 10, 20, 40]
    assert len(budgets) == hyperband.num_generations()
    seen = set()

    @hyperband.main
    def train(config):
        assert config.__budget__ == budgets[config.__num_halved__]
        seen.add(config.__budget__)
        return lr_score(config)

    train()
    assert seen == set(budgets)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, "raise"])
@pytest.mark.parametrize("mode", ["max", "min"])
def test_nan_inf_and_raising_trials_rank_last(scope, spaces, bad, mode, caplog):
    hyperband = HyperBand(scope, spaces, halving_rate=0.5, num_min_samples=1, mode=mode)

    @hyperband.main
    def train(config):
        if config.model == "vit":
            if bad == "raise":
                raise RuntimeError("diverged")
            return bad
        score = lr_score(config)
        return score if mode == "max" else -score

    result = train()
    assert result.config.model == "resnet101"
    assert math.isfinite(result.metric)
    worst = result.logs[0][-4:]
    assert {c.model for c in worst} == {"vit"}
    if bad == "raise":
        assert "diverged" in caplog.text and "Traceback" in caplog.text


def test_on_error_raise_stops_the_search(scope, spaces):
    hyperband = HyperBand(scope, spaces, 0.5, 1, on_error="raise")
    calls = []

    @hyperband.main
    def train(config):
        calls.append(1)
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        train()
    assert len(calls) == 1


@pytest.mark.parametrize(
    "value, shown",
    [(None, "None"), ("0.9", "'0.9'"), ({"acc": 0.9}, "{'acc': 0.9}"), ("array", "shape (2,)")],
)
@pytest.mark.parametrize("on_error", ["continue", "raise"])
def test_a_trial_returning_no_number_stops_the_search_naming_the_function(
    scope, spaces, value, shown, on_error, tmp_path
):
    import numpy as np

    from ato.errors import AtoError, TrialResultError

    url = f"sqlite:///{tmp_path}/runs.db"
    hyperband = HyperBand(scope, spaces, 0.5, 1, tracker=url, on_error=on_error)
    calls = []

    @hyperband.main
    def train(config):
        calls.append(1)
        return np.array([0.5, 0.7]) if value == "array" else value

    with pytest.raises(TrialResultError) as caught:
        train()
    assert isinstance(caught.value, AtoError) and isinstance(caught.value, TypeError)
    message = str(caught.value)
    assert "train" in message and "test_hyperband.py:" in message and shown in message
    assert "one number" in message
    assert len(calls) == 1  # the budget is not spent on a program that cannot rank trials
    from sqlalchemy import create_engine, text

    with create_engine(url).connect() as connection:
        status = connection.execute(text("SELECT status, error FROM experiments")).one()
    assert status[0] == "failed" and "one number" in status[1]


def test_numbers_in_other_clothes_are_metrics(scope, spaces):
    import numpy as np

    one_value = (np.float32, np.array, lambda v: np.array([v]), lambda v: np.array([[v]]))
    for make in (*one_value, lambda v: np.int64(round(v * 100)), lambda v: v > 0):
        hyperband = HyperBand(scope, spaces, 0.5, 1, progress=False)
        result = hyperband.main(lambda config, make=make: make(lr_score(config)))()
        assert isinstance(result.metric, float) and math.isfinite(result.metric)


def test_all_final_trials_failing_raises(scope):
    spaces = ADict(model=ADict(param_type="CATEGORY", categories=["a"]))
    hyperband = HyperBand(scope, spaces, 0.5, 1)

    @hyperband.main
    def train(config):
        raise ValueError("boom")

    with pytest.raises(TrialFailedError, match="boom"):
        train()


def test_mode_min(scope, spaces):
    hyperband = HyperBand(scope, spaces, 0.5, 2, mode="min")

    @hyperband.main
    def train(config):
        return -lr_score(config)

    result = train()
    assert result.config.model == "resnet101" and result.metric == min(
        c.__metric__ for c in result.logs[-1]
    )


def test_every_trial_gets_defaults_command_line_views_overrides_and_lazy_views(
    scope, spaces, monkeypatch
):
    monkeypatch.setattr(sys, "argv", ["train.py", "wide", "epochs=3"])
    hyperband = HyperBand(scope, spaces, 0.5, 2)
    seen = []

    @hyperband.main
    def train(config):
        seen.append(config.to_dict())
        config.epochs = 99  # a trial's writes do not leak into the next trial
        return lr_score(config)

    train()
    assert len(seen) == 12 + 6 + 3 + 1
    for config in seen:
        assert config["width"] == 512 and config["epochs"] == 3 and config["batch_size"] == 32
        assert config["warmup"] == pytest.approx(config["lr"] * 100)  # lazy view saw the search


def test_provenance_of_searched_values_is_search_not_command_line(scope, spaces, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["train.py", "lr=0.5"])
    hyperband = HyperBand(scope, spaces, 0.5, 2)
    explained = []

    @hyperband.main
    def train(config):
        explained.append((scope.explain("lr"), scope.provenance("lr")[-1].source))
        return lr_score(config)

    with pytest.warns(AtoWarning, match="'lr=0.5' on the command line is replaced by the search"):
        train()
    text, source = explained[-1]
    assert source.kind == "search" and "rung 3" in source.name
    assert text.startswith("lr = ") and "set by search (rung 3)" in text
    assert "command line" not in str(source)
    assert scope.provenance("__num_halved__")[-1].source.kind == "search bookkeeping"


def test_a_searched_key_no_view_sets_is_not_a_typo_even_when_strict():
    scope = Scope(strict=True)

    @scope.observe(default=True)
    def defaults(config):
        config.lr = 0.1

    spaces = ADict(**{"optimizer.momentum": ADict(param_type="CATEGORY", categories=[0.9, 0.99])})
    hyperband = HyperBand(scope, spaces, 0.5, 1)

    @hyperband.main
    def train(config):
        return config.optimizer.momentum

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = train()
    assert result.config.optimizer.momentum == 0.99


def test_a_lazy_view_may_read_a_searched_key_that_no_view_sets():
    scope = Scope(strict=True)

    @scope.observe(default=True)
    def defaults(config):
        config.epochs = 10  # no lr: only the search sets it

    @scope.observe(default=True, lazy=True)
    def warmup(config):
        config.warmup_lr = config.lr / 10

    spaces = ADict(lr=ADict(param_type="FLOAT", param_range=(1e-3, 1e-1), num_samples=3))
    hyperband = HyperBand(scope, spaces, 0.5, 1, progress=False)

    @hyperband.main
    def train(config):
        assert config.warmup_lr == pytest.approx(config.lr / 10)
        return -abs(config.lr - 0.0505)

    assert train().config.lr == pytest.approx(0.0505)


def test_manual_under_a_search_names_the_search_as_the_source_of_searched_keys(
    scope, spaces, monkeypatch, capsys
):
    monkeypatch.setattr(sys, "argv", ["train.py", "manual"])
    hyperband = HyperBand(scope, spaces, 0.5, 2, progress=False)

    @hyperband.main
    def train(config):
        raise AssertionError("manual runs no trial")

    with pytest.raises(SystemExit) as stop:
        train()
    assert stop.value.code == 0
    shown = capsys.readouterr().out
    assert "defaults → [wide] → (CLI Inputs) → (Search) → derived" in shown, shown
    lr_line = next(line for line in shown.splitlines() if line.strip().startswith("lr"))
    assert "search" in lr_line, shown
    batch_line = next(line for line in shown.splitlines() if "batch_size" in line)
    assert "defaults" in batch_line and "search" not in batch_line, shown


@pytest.mark.parametrize(
    "default", [ADict(name="resnet", depth=50), "sgd"], ids=["section", "scalar"]
)
def test_a_category_that_is_a_dict_replaces_the_key_as_on_the_command_line(default):
    scope = Scope()

    @scope.observe(default=True)
    def defaults(config):
        config.model = default

    presets = [{"name": "vit"}, {"name": "mlp", "hidden": 128}]
    spaces = ADict(model=ADict(param_type="CATEGORY", categories=presets))
    seen = []

    @HyperBand(scope, spaces, 0.5, 1, progress=False).main
    def train(config):
        seen.append(config.model.to_dict())
        return config.model.name == "vit"

    assert train().config.model == {"name": "vit"}
    assert {"name": "mlp", "hidden": 128} in seen and all(len(s) <= 2 for s in seen)
    assert scope.provenance("model.name")[-1].source.kind == "search"


def test_the_trial_function_gets_the_config_by_the_scopes_name():
    scope = Scope(name="cfg")

    @scope.observe(default=True)
    def defaults(cfg):
        cfg.x = 0

    spaces = ADict(x=ADict(param_type="INTEGER", param_range=(0, 3), num_samples=4))
    hyperband = HyperBand(scope, spaces, 0.5, 1)

    @hyperband.main
    def train(offset, cfg):
        return cfg.x + offset

    assert train(10).metric == 13


async def _async_trial(config):
    return config.lr


def _generator_trial(config):
    yield config.lr


async def _async_generator_trial(config):
    yield config.lr


@pytest.mark.parametrize(
    "func, fragment",
    [
        (_async_trial, r"async def.*asyncio\.run"),
        (_generator_trial, r"generator.*return the metric"),
        (_async_generator_trial, r"generator.*return the metric"),
    ],
    ids=["async", "generator", "async-generator"],
)
def test_a_trial_function_that_returns_no_value_when_called_is_refused_first(
    scope, spaces, func, fragment
):
    hyperband = HyperBand(scope, spaces, 0.5, 1, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "coroutine was never awaited"
        with pytest.raises(SearchSettingsError, match=fragment) as caught:
            hyperband.main(func)()
    assert "test_hyperband.py:" in str(caught.value)


def test_a_wrapped_coroutine_is_closed_when_refused_as_a_result(scope, spaces):
    import inspect

    from ato.errors import TrialResultError

    hyperband = HyperBand(scope, spaces, 0.5, 1, progress=False)
    made = []

    def trial(config):
        made.append(_async_trial(config))
        return made[-1]

    with pytest.raises(TrialResultError, match="coroutine"):
        hyperband.main(trial)()
    assert inspect.getcoroutinestate(made[0]) == inspect.CORO_CLOSED  # never "not awaited"


SETTINGS = [
    (dict(halving_rate=1.0, num_min_samples=1), "halving_rate is 1.0"),
    (dict(halving_rate=0.0, num_min_samples=1), "0 < halving_rate < 1"),
    (dict(halving_rate="0.5", num_min_samples=1), "halving_rate is '0.5'"),
    (dict(halving_rate=None, num_min_samples=1), "halving_rate is None"),
    (dict(halving_rate=0.5, num_min_samples=0), "num_min_samples is 0"),
    (dict(halving_rate=0.5, num_min_samples=1, mode="maximize"), "mode is 'maximize'"),
    (dict(halving_rate=0.5, num_min_samples=1, on_error="skip"), "on_error is 'skip'"),
    (dict(halving_rate=0.5, num_min_samples=1, tracker=42), "tracker is 42; give an SQLLogger"),
    (dict(halving_rate=0.5, num_min_samples=1, tracker=""), "tracker is ''; give an SQLLogger"),
]


@pytest.mark.parametrize(("kwargs", "fragment"), SETTINGS)
def test_invalid_settings(scope, spaces, kwargs, fragment):
    with pytest.raises(SearchSettingsError, match=fragment):
        HyperBand(scope, spaces, **kwargs)


def test_li_et_al_brackets_hand_out_budgets_and_return_a_full_budget_config(scope):
    spaces = ADict(
        lr=ADict(param_type="FLOAT", param_range=(1e-4, 1.0), space_type="LOG"),
        model=ADict(param_type="CATEGORY", categories=["resnet50", "resnet101"]),
    )
    hyperband = BracketHyperBand(scope, spaces, max_budget=27, eta=3, seed=1)
    assert hyperband.brackets() == [
        [(27, 1), (9, 3), (3, 9), (1, 27)],
        [(12, 3), (4, 9), (1, 27)],
        [(6, 9), (2, 27)],
        [(4, 27)],
    ]
    budgets = []

    @hyperband.main
    def train(config):
        budgets.append(config.__budget__)
        return lr_score(config) + config.__budget__ / 1000

    result = train()
    assert len(budgets) == hyperband.total_trials()
    assert sum(budgets) == hyperband.total_budget()
    assert result.config.__budget__ == 27 and result.config.model == "resnet101"
    again = BracketHyperBand(scope, spaces, max_budget=27, eta=3, seed=1)
    assert again.main(lambda config: lr_score(config) + config.__budget__ / 1000)().config == (
        result.config
    )


def test_after_the_search_the_scope_explains_the_best_config(scope, spaces):
    hyperband = HyperBand(scope, spaces, 0.5, 2)
    result = hyperband.main(lr_score)()
    assert scope.config.lr == result.config.lr and scope.config.model == "resnet101"
    assert scope.explain("model").startswith("model = 'resnet101', set by search (rung 3)")
    assert result.provenance["lr"] == ["search (rung 3)", "defaults"]
    assert result.provenance["warmup"] == ["derived (lazy)"]


def test_snapshots_are_the_config_as_the_trial_got_it(scope, spaces):
    hyperband = HyperBand(scope, spaces, 0.5, 2)

    @hyperband.main
    def train(config):
        config.scratch = "written by the trial"
        return lr_score(config)

    result = train()
    assert all("scratch" not in snapshot for rung in result.logs for snapshot in rung)


# -- hostile settings ------------------------------------------------------------------------

FLOAT_SPACE = ADict(lr=ADict(param_type="FLOAT", param_range=(0.0, 1.0)))


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(max_budget=10**18, eta=1.0000001),  # 4e8 brackets: it hung
        dict(max_budget=10**300, eta=3),  # 3**628 trials in the first bracket
        dict(max_budget=3**20, eta=3),  # 3**20 trials in the first bracket
    ],
)
def test_brackets_too_many_to_run_are_refused_with_how_to_fix(scope, kwargs):
    with pytest.raises(SearchSettingsError) as caught:
        BracketHyperBand(scope, FLOAT_SPACE, **kwargs)
    message = str(caught.value)
    assert "1,000,000" in message and "min_budget" in message and "eta" in message


def test_an_eta_near_1_is_refused_for_its_rungs_in_all_not_its_first_bracket(scope):
    """It said 'about 10**1.4 trials in the first' bracket: true, and no reason."""
    with pytest.raises(SearchSettingsError) as caught:
        BracketHyperBand(scope, FLOAT_SPACE, max_budget=27, eta=1.0000001)
    assert "32,958,371 brackets and 543," in str(caught.value)
    assert "rungs in all, each of one trial or more" in str(caught.value)


def test_huge_int_budgets_are_exact(scope):
    big = 10**300
    hyperband = BracketHyperBand(scope, FLOAT_SPACE, max_budget=9 * big, min_budget=big, eta=3)
    assert hyperband.brackets() == [
        [(9, big), (3, 3 * big), (1, 9 * big)],
        [(5, 3 * big), (1, 9 * big)],
        [(3, 9 * big)],
    ]


@pytest.mark.parametrize(
    "budget", [10**400, 10**5000, -(10**5000)], ids=["e400", "e5000", "-e5000"]
)
def test_a_budget_no_float_holds_is_refused_in_a_readable_message(scope, budget):
    with pytest.raises(SearchSettingsError, match=r"max_budget is -?~10\*\*\d+; .*at most 1.8e"):
        BracketHyperBand(scope, FLOAT_SPACE, max_budget=budget)


def test_whole_float_budgets_are_handed_out_as_ints_as_before(scope):
    hyperband = BracketHyperBand(scope, FLOAT_SPACE, max_budget=27.0, eta=3)
    budgets = [budget for rungs in hyperband.brackets() for _, budget in rungs]
    assert all(type(budget) is int for budget in budgets)  # range(config.__budget__) works
    assert sorted(set(budgets)) == [1, 3, 9, 27]


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        (0.1, [10**8, 10**9]),  # 10000001 when 0.1 was read as its binary value
        (0.5, [125_000_000, 250_000_000, 500_000_000, 10**9]),
        (0.3, [90_000_000, 300_000_000, 10**9]),
    ],
)
def test_budgets_of_a_large_max_steps_are_not_a_step_too_high(scope, spaces, rate, expected):
    hyperband = HyperBand(scope, spaces, rate, 1)
    assert hyperband.compute_optimized_initial_training_steps(10**9) == expected


def test_float_budgets_stay_within_min_and_max(scope):
    hyperband = BracketHyperBand(scope, FLOAT_SPACE, max_budget=27.5, min_budget=0.5, eta=3)
    budgets = [budget for rungs in hyperband.brackets() for _, budget in rungs]
    assert max(budgets) == 27.5 and min(budgets) >= 0.5  # round(27.5) was 28
    assert all(rungs[-1][1] == 27.5 for rungs in hyperband.brackets())


@pytest.mark.parametrize("max_steps", [0, -5, 0.0, True, "27", math.nan])
def test_budgets_need_a_positive_max_steps(scope, spaces, max_steps):
    hyperband = HyperBand(scope, spaces, 0.5, 2)
    with pytest.raises(SearchSettingsError, match="max_steps"):
        hyperband.compute_optimized_initial_training_steps(max_steps)


def test_budgets_of_a_huge_max_steps_are_exact(scope, spaces):
    hyperband = HyperBand(scope, spaces, 0.5, 2)
    assert hyperband.compute_optimized_initial_training_steps(8 * 10**300) == [
        10**300, 2 * 10**300, 4 * 10**300, 8 * 10**300,
    ]  # fmt: skip


@pytest.mark.parametrize("max_budget", [0, -1, True, "27", math.inf])
def test_an_invalid_max_budget_is_refused(scope, spaces, max_budget):
    with pytest.raises(SearchSettingsError, match="max_budget"):
        HyperBand(scope, spaces, 0.5, 2, max_budget=max_budget)
    with pytest.raises(SearchSettingsError, match="max_budget"):
        BracketHyperBand(scope, spaces, max_budget=max_budget)


def test_a_trial_function_that_cannot_get_the_config_is_refused_before_any_trial(spaces):
    scope = Scope(name="hparams")
    calls = []

    @HyperBand(scope, spaces, 0.5, 2).main
    def train(config):  # the config comes by the scope's name: 'hparams'
        calls.append(1)
        return lr_score(config)

    with pytest.raises(SearchSettingsError) as caught:
        train()
    message = str(caught.value)
    assert "'hparams'" in message and "(config)" in message and "Scope(name='config')" in message
    assert calls == []


def test_a_trial_function_missing_another_argument_is_refused_before_any_trial(scope, spaces):
    calls = []

    @HyperBand(scope, spaces, 0.5, 2, progress=False).main
    def train(config, epochs):
        calls.append(1)
        return lr_score(config) * epochs

    with pytest.raises(SearchSettingsError, match="missing a required argument: 'epochs'"):
        train()
    assert calls == []
    assert train(3).config.model == "resnet101"  # given, it runs
    assert train(epochs=3).config.model == "resnet101"


def test_a_catch_all_decorator_does_not_excuse_a_missing_argument(scope, spaces):
    import functools

    def timed(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            return fn(*args, **kwargs)

        return wrapper

    @HyperBand(scope, spaces, 0.5, 2, progress=False).main
    @timed
    def train(config, epochs):
        return lr_score(config) * epochs

    with pytest.raises(SearchSettingsError, match="missing a required argument: 'epochs'"):
        train()


def test_a_trial_function_may_read_the_scope_instead(spaces):
    scope = Scope(name="hparams")

    @HyperBand(scope, spaces, 0.5, 2).main
    def train():
        return lr_score(scope.config)

    assert train().config.model == "resnet101"


class _Diverged:
    def __float__(self):
        raise FloatingPointError("loss diverged")


@pytest.mark.parametrize("bad", [10**400, _Diverged()], ids=["too-large-int", "float-raises"])
def test_a_number_that_cannot_become_a_float_is_the_trials_failure(scope, spaces, bad, caplog):
    hyperband = HyperBand(scope, spaces, 0.5, 1, progress=False)

    @hyperband.main
    def train(config):
        return bad if config.model == "vit" else lr_score(config)

    result = train()  # the search goes on: the trial ranks last, its traceback logged
    assert result.config.model == "resnet101"
    assert {c.model for c in result.logs[0][-4:]} == {"vit"}
    assert "Traceback" in caplog.text


@pytest.mark.parametrize("seed", [math.nan, 1.5, "0", None, True])
def test_a_seed_is_an_int(scope, seed):
    with pytest.raises(SearchSettingsError, match="seed is"):
        BracketHyperBand(scope, FLOAT_SPACE, max_budget=9, seed=seed)


def test_numpy_numbers_are_settings_like_any_other(scope, spaces):
    import numpy as np

    assert BracketHyperBand(scope, FLOAT_SPACE, max_budget=np.int64(9), seed=np.int64(1)).seed == 1
    hyperband = HyperBand(scope, spaces, np.float32(0.5), 2)
    assert hyperband.compute_optimized_initial_training_steps(np.int64(40)) == [5, 10, 20, 40]


def test_a_plain_function_that_runs_a_coroutine_is_a_trial_function(scope, spaces):
    import asyncio
    import functools

    def run_to_end(func):
        @functools.wraps(func)  # __wrapped__ is the async def; what is called is plain
        def plain(config):
            return asyncio.run(func(config))

        return plain

    result = HyperBand(scope, spaces, 0.5, 1, progress=False).main(run_to_end(_async_lr))()
    assert result.metric == pytest.approx(0.1)


def test_a_partial_of_an_async_def_is_refused_readably(scope, spaces):
    import functools

    hyperband = HyperBand(scope, spaces, 0.5, 1, progress=False)
    with pytest.raises(SearchSettingsError, match=r"async def.*def run__async_lr\(config\)"):
        hyperband.main(functools.partial(_async_lr))()


async def _async_lr(config):
    return config.lr


# -- hostile settings and trial functions --------------------------------------------------


@pytest.mark.parametrize("rate", [Fraction(1, 2), "np.float32"])
def test_a_halving_rate_of_another_number_type_is_a_float(scope, spaces, tmp_path, rate):
    import numpy as np

    rate = np.float32(0.5) if rate == "np.float32" else rate
    url = f"sqlite:///{tmp_path}/runs.db"
    hyperband = HyperBand(scope, spaces, rate, np.int64(2), tracker=url, progress=False)
    assert type(hyperband.halving_rate) is float and type(hyperband.num_min_samples) is int
    result = hyperband.main(lr_score)()
    assert result.config.model == "resnet101"
    bracket = BracketHyperBand(scope, spaces, 9, eta=np.int64(3), progress=False)
    assert bracket.eta == 3 and type(bracket.eta) is int


def test_a_halving_rate_close_to_one_is_refused_at_once_not_after_hours(scope):
    import time

    grid = ADict(x=ADict(param_type="INTEGER", param_range=(0, 15_999), num_samples=16_000))
    start = time.perf_counter()
    with pytest.raises(
        SearchSettingsError, match=r"more than 10,000,000 trials.*a lower halving_rate"
    ):
        HyperBand(scope, grid, 0.99999, 1)
    # A rate so close to 1 that a float rounds 5 * rate back to 5: the halving still ends.
    small = ADict(x=ADict(param_type="CATEGORY", categories=[1, 2, 3, 4, 5]))
    assert HyperBand(scope, small, 1 - 1e-12, 1).rung_sizes == [5, 4, 3, 2, 1]
    assert time.perf_counter() - start < 30  # generous: refused, not computed


@pytest.mark.parametrize(
    ("rate", "sizes"),
    [(1 / 3, [108, 36, 12, 4]), (0.3, [108, 32, 9, 2]), (Fraction(1, 3), [108, 36, 12, 4])],
)
def test_a_rate_keeps_the_fraction_it_is_written_as(scope, rate, sizes):
    grid = ADict(x=ADict(param_type="INTEGER", param_range=(0, 107), num_samples=108))
    assert HyperBand(scope, grid, rate, 4).rung_sizes == sizes


@pytest.mark.parametrize("key", ["__num_halved__", "__budget__", "__search_id__", "__metric__"])
def test_a_key_the_search_writes_cannot_be_searched(scope, key):
    with pytest.raises(SearchSettingsError, match=f"searches '{key}', a key the search itself"):
        HyperBand(scope, {key: ADict(param_type="CATEGORY", categories=[1, 2])}, 0.5, 1)


def test_a_search_started_inside_a_trial_of_the_same_scope_is_refused(scope, spaces):
    outer = HyperBand(scope, spaces, 0.5, 2, progress=False)
    seen = []

    @outer.main
    def trial(config):
        before = (config.lr, config.model)
        inner = HyperBand(scope, spaces, 0.5, 2, progress=False, on_error="raise")
        with pytest.raises(SearchSettingsError, match="already running a search"):
            inner.main(lr_score)()
        seen.append(before == (config.lr, config.model))  # its config is untouched
        return lr_score(config)

    assert trial().config.model == "resnet101"
    assert seen and all(seen)
    assert HyperBand(scope, spaces, 0.5, 2, progress=False).main(lr_score)().metric  # free again


def test_two_threads_cannot_search_with_one_scope(scope, spaces):
    import threading

    started, release = threading.Event(), threading.Event()
    first = HyperBand(scope, spaces, 0.5, 2, progress=False)

    @first.main
    def slow(config):
        started.set()
        release.wait(10)
        return lr_score(config)

    thread = threading.Thread(target=slow)
    thread.start()
    try:
        assert started.wait(10)
        with pytest.raises(SearchSettingsError, match="another thread"):
            HyperBand(scope, spaces, 0.5, 2, progress=False).main(lr_score)()
    finally:
        release.set()
        thread.join()


@pytest.mark.parametrize("make", ["np.complex128", "np.complex64", "str array", "object array"])
def test_complex_and_text_metrics_are_refused_not_truncated(scope, spaces, make):
    import numpy as np

    value = {
        "np.complex128": np.complex128(1 + 3j),
        "np.complex64": np.complex64(1 + 3j),
        "str array": np.array(["3"]),
        "object array": np.array(["3"], dtype=object),
    }[make]
    hyperband = HyperBand(scope, spaces, 0.5, 2, progress=False)
    with pytest.raises(TrialResultError, match="must return the metric as one number"):
        hyperband.main(lambda config: value)()


def test_a_trial_without_parameters_reads_the_config_it_holds(scope, spaces):
    """The config object a program holds (2.x habit) is each trial's, assembled in place."""
    config = scope.config
    hyperband = HyperBand(scope, spaces, 0.5, 2, progress=False)

    @hyperband.main
    def trial():
        return lr_score(config)

    result = trial()
    assert (result.config.lr, result.config.model) == (0.01, "resnet101")


def test_fractional_budgets_stay_fractions_and_grow_to_max_budget(scope):
    grid = ADict(x=ADict(param_type="INTEGER", param_range=(1, 8), num_samples=8))
    hyperband = HyperBand(scope, grid, 0.5, 1, max_budget=0.5, progress=False)
    seen = []
    hyperband.main(lambda config: seen.append(config.__budget__) or config.x)()
    assert sorted(set(seen)) == [0.0625, 0.125, 0.25, 0.5] and max(seen) == 0.5
    assert hyperband._budgets(2.5) == [0.3125, 0.625, 1.25, 2.5]
    assert hyperband.compute_optimized_initial_training_steps(27) == [4, 7, 14, 27]


def test_a_final_rung_of_nan_metrics_chooses_no_config(scope, spaces):
    hyperband = HyperBand(scope, spaces, 0.5, 2, progress=False)
    with pytest.raises(TrialFailedError, match="returned NaN or an infinity"):
        hyperband.main(lambda config: math.nan)()


@pytest.mark.parametrize("how", ["keyword", "position"])
def test_a_config_passed_to_the_search_is_refused_not_searched_over(scope, spaces, how):
    calls = []

    @HyperBand(scope, spaces, 0.5, 2, progress=False).main
    def train(config):
        calls.append(config.lr)
        return lr_score(config)

    given = ADict(lr=0.2)
    with pytest.raises(SearchSettingsError) as caught:
        train(config=given) if how == "keyword" else train(given)
    message = str(caught.value)
    assert "'config'" in message and "train()" in message and "view" in message
    assert calls == []


def test_a_searched_key_under_a_value_that_is_no_section_is_refused_naming_who_set_it(scope):
    @scope.observe(default=True)
    def optimizer(config):
        config.optimizer = "adam"

    spaces = ADict(
        {"optimizer.lr": ADict(param_type="FLOAT", param_range=(0.1, 1.0), num_samples=2)}
    )
    hyperband = HyperBand(scope, spaces, 0.5, 1, progress=False)
    with pytest.raises(AtoError) as caught:  # not SystemExit: a library call raises
        hyperband.main(lambda config: 1.0)()
    message = str(caught.value)
    assert "'optimizer.lr'" in message and "'adam'" in message and "view 'optimizer'" in message
    assert "search 'optimizer' itself" in message


def test_a_section_whose_keys_are_spec_words_is_a_section(scope):
    spec = ADict(param_type="FLOAT", param_range=(0.1, 1.0), num_samples=2)
    for child in ("base", "categories", "num_samples", "param_range"):
        hyperband = HyperBand(scope, ADict(model=ADict({child: spec})), 0.5, 1)
        assert hyperband.space.names == [f"model.{child}"]


def test_an_unknown_keyword_names_the_class_and_the_likely_one(scope, spaces):
    with pytest.raises(SearchSettingsError, match=r"HyperBand.*'max_budgte'.*max_budget"):
        HyperBand(scope, spaces, 0.5, 1, max_budgte=27)
    with pytest.raises(SearchSettingsError, match=r"BracketHyperBand.*'etaa'.*'eta'"):
        BracketHyperBand(scope, spaces, 27, etaa=3)


@pytest.mark.parametrize(("kwargs", "fragment"), [
    (dict(scope=None), "scope is None"),
    (dict(scope="config"), "scope is 'config'"),
    (dict(group="nonsense"), "group is 'nonsense'"),
])  # fmt: skip
def test_a_scope_or_group_of_another_kind_is_refused(scope, spaces, kwargs, fragment):
    arguments = dict(scope=scope, search_spaces=spaces, halving_rate=0.5, num_min_samples=1)
    with pytest.raises(SearchSettingsError, match=fragment):
        HyperBand(**{**arguments, **kwargs})


def test_a_trial_that_exits_quietly_is_said_to_have_stopped_the_search(scope, spaces, capsys):
    def train(config):
        if config.model == "vit":
            sys.exit(0)
        return lr_score(config)

    with pytest.raises(SystemExit):
        HyperBand(scope, spaces, 0.5, 2, progress=False).main(train)()
    said = capsys.readouterr().err
    assert "stopped" in said and "SystemExit(0)" in said and "'model': 'vit'" in said


def test_a_rung_where_every_trial_failed_stops_the_search_before_larger_budgets(scope, spaces):
    budgets = []
    hyperband = HyperBand(scope, spaces, 0.5, 2, max_budget=8, progress=False)

    @hyperband.main
    def train(config):
        budgets.append(config.__budget__)
        raise RuntimeError("CUDA out of memory")

    with pytest.raises(TrialFailedError, match=r"(?s)rung 0 raised.*CUDA out of memory"):
        train()
    assert len(budgets) == hyperband.rung_sizes[0]  # none trained at a larger budget


def test_a_bracket_whose_rung_all_failed_ends_there_and_the_others_run(scope):
    spaces = ADict(lr=ADict(param_type="FLOAT", param_range=(1e-4, 1.0), space_type="LOG"))
    hyperband = BracketHyperBand(scope, spaces, max_budget=9, eta=3, progress=False)
    seen = []

    @hyperband.main
    def train(config):
        seen.append(config.__budget__)
        if config.__budget__ == 1:
            raise RuntimeError("too short to measure")
        return -abs(math.log10(config.lr) + 2)

    result = train()
    assert hyperband.brackets() == [[(9, 1), (3, 3), (1, 9)], [(5, 3), (1, 9)], [(3, 9)]]
    assert seen == [1] * 9 + [3] * 5 + [9] + [9] * 3  # bracket 0 ended after its rung 0
    assert result.config.__budget__ == 9 and len(result.logs) == 4


@pytest.mark.parametrize("max_steps", [1.0, 27.0, 1e18])
def test_budgets_of_a_whole_float_max_steps_are_all_ints(scope, spaces, max_steps):
    budgets = HyperBand(scope, spaces, 0.5, 2).compute_optimized_initial_training_steps(max_steps)
    assert all(type(budget) is int for budget in budgets)  # range(budget) works in each rung
    assert budgets[-1] == max_steps

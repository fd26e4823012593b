"""Which values a trial function only fills as it runs (its logs), told from its code."""

from __future__ import annotations

from ato.hyperopt.filled import filled_names


def _closures():
    history, cache, seen, total, epochs, count = [], {}, set(), [0], [1, 10], 0

    def trial(config, log):
        nonlocal count
        history.append(config)
        cache[config] = 1
        seen.add(config)
        total[0] += 1
        log.extend([1])
        count += 1
        shadow = []  # a local of its own
        shadow.append(1)
        return epochs[config]

    return trial


class Trainer:
    def __init__(self):
        self.epochs, self.results, self.best = [1, 10], [], {}

    def __call__(self, config):
        self.results.append(config)
        self.best["x"] = config
        return self.epochs[0]


def test_names_the_code_fills_are_told_from_those_it_reads():
    filled = filled_names(_closures())
    assert {"history", "cache", "seen", "total", "log", "count"} <= filled
    assert "epochs" not in filled and "config" not in filled


def test_attributes_of_the_instance_filled_by_its_method():
    filled = filled_names(Trainer.__call__)
    assert filled == {"self.results", "self.best"}


def test_a_lambda_and_code_without_source():
    calls: list[int] = []
    assert filled_names(lambda config: calls.append(1) or config) == {"calls"}
    assert filled_names(len) == frozenset()
    namespace: dict = {}
    exec("def f(config, log):\n    log.append(1)\n", namespace)  # no file to read
    assert filled_names(namespace["f"]) == frozenset()


def test_a_name_also_read_is_a_setting_even_if_the_code_writes_into_it():
    kwargs = {"depth": 50}

    def trial(config):
        kwargs["lr"] = config
        return kwargs["depth"]

    assert filled_names(trial) == frozenset()


def _logged(fn):
    import functools

    times = []

    @functools.wraps(fn)
    def wrapper(config):
        times.append(1)
        return fn(config)

    return wrapper


def test_a_decorators_wrapper_is_read_from_its_own_code():
    @_logged
    def trial(config):
        return config

    assert filled_names(trial) == {"times"}


def test_what_pop_or_setdefault_hand_back_is_read():
    schedule, defaults, queue = [1, 10], {"lr": 0.1}, [3]

    def trial(config):
        queue.pop()  # dropped: only filled
        warmup = schedule.pop(0)
        return warmup * defaults.setdefault("lr", 0.1)

    assert filled_names(trial) == {"queue"}

"""The ato 2.x names of Scope methods (ato.scope_compat) keep working, beside the core."""

from __future__ import annotations

import pytest

from ato.scope import Scope, parse_args_pythonic
from ato.scope_compat import Scope2xNames


@pytest.mark.parametrize("name", ["add_to_screen", "exec", "initialize_registry", "_traced_data"])
def test_the_2x_names_live_in_the_mixin_not_in_the_core_class(name):
    assert name in vars(Scope2xNames)
    assert name not in vars(Scope)
    assert issubclass(Scope, Scope2xNames)


def test_add_to_screen_registers_views_like_observe():
    scope = Scope()

    @scope.add_to_screen
    def defaults(config):
        config.lr = 0.1

    @scope.add_to_screen(priority=1)
    def high_lr(config):
        config.lr = 1.0

    scope.add_to_screen("base", config={"seed": 3}, default=True)
    assert defaults.__name__ == "defaults"  # the function is returned, as by observe
    scope.assign(["defaults", "high_lr"])
    assert scope.apply() == {"seed": 3, "lr": 1.0}


def test_exec_is_the_decorator():
    scope = Scope()
    scope.observe("defaults", config={"lr": 0.1}, default=True)

    def main(config):
        return config.lr

    wrapped = scope.exec(main)
    parse_args_pythonic([])
    assert wrapped() == 0.1
    assert wrapped.__name__ == "main"


def test_initialize_registry_resets_the_registry():
    Scope(name="a")
    parse_args_pythonic([])
    Scope.initialize_registry()
    assert len(Scope.registry) == 0 and not Scope.registry.parsed


def test_traced_data_holds_the_fingerprints():
    scope = Scope()

    @scope.trace(trace_id="step")
    def step(x):
        return x + 1

    assert set(scope._traced_data.fingerprints) == {"step"}

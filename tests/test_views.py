"""Views and their order (ato.views), without a Scope around them."""

from __future__ import annotations

import re

import pytest

from ato.adict import ADict
from ato.errors import ScopeArgumentError, UnknownViewError, ViewCycleError, ViewOrderError
from ato.views import View, order_views, select_view, unknown_view


def table(*views: View) -> dict[str, View]:
    return {view.name: view for view in views}


def test_order_defaults_first_then_priority_then_registration():
    views = table(
        View("late", 1, config={}, priority=2),
        View("base", 2, config={}, default=True, priority=9),
        View("early", 3, config={}, priority=-1),
        View("tie", 4, config={}, priority=2),
        View("lazy", 5, config={}, lazy=True, default=True),
    )
    ordered = order_views(views, ["tie", "late", "early"], lazy=False, scope_name="s")
    assert [v.name for v in ordered] == ["base", "early", "late", "tie"]
    assert [v.name for v in order_views(views, [], lazy=True, scope_name="s")] == ["lazy"]


def test_a_chained_view_comes_after_its_dependency():
    views = table(
        View("base", 1, config={}, priority=5),
        View("top", 2, config={}, chain_with="base", default=True),
        View("early", 3, config={}),
        View("lazy_top", 4, config={}, chain_with=["early"], lazy=True, default=True),
    )
    ordered = order_views(views, ["base"], lazy=False, scope_name="s")
    assert [v.name for v in ordered] == ["base", "top"]
    # A lazy view may chain with a non-lazy one: that one applies earlier anyway.
    assert [v.name for v in order_views(views, [], lazy=True, scope_name="s")] == ["lazy_top"]


def test_a_view_chained_with_a_lazy_view_it_would_precede_is_refused():
    # Lazy views apply after every non-lazy view and the command line: the dependency
    # would come after the view that needs it (2.x applied them so, silently).
    def uses_base(config):
        config.derived = config.base

    views = table(
        View("lazy_base", 1, config={}, lazy=True),
        View("uses_base", 2, uses_base, chain_with="lazy_base"),
    )
    with pytest.raises(ViewOrderError) as caught:
        order_views(views, ["lazy_base", "uses_base"], lazy=False, scope_name="s")
    message = str(caught.value)
    assert "View 'uses_base' (" in message and "test_views.py:" in message
    assert "chains with 'lazy_base', a lazy view" in message
    assert "lazy=True" in message


def test_an_unknown_chained_view_names_the_view_that_chains_to_it():
    def multi_node_training(config):
        config.nodes = 4

    views = table(View("multi_node_training", 1, multi_node_training, chain_with="gpu_setup"))
    for call in (
        lambda: order_views(views, ["multi_node_training"], lazy=False, scope_name="s"),
        lambda: select_view(views, [], "multi_node_training", "s"),
    ):
        with pytest.raises(UnknownViewError) as caught:
            call()
        message = str(caught.value)
        assert message.startswith("View 'multi_node_training' (")
        assert "chains with 'gpu_setup', which scope 's' does not have" in message


def test_select_view_adds_dependencies_once_and_names_cycles():
    views = table(
        View("a", 1, config={}),
        View("b", 2, config={}, chain_with="a"),
        View("c", 3, config={}, chain_with=["a", "b"]),
    )
    selected: list[str] = []
    select_view(views, selected, "c", "s")
    select_view(views, selected, "b", "s")
    assert selected == ["a", "b", "c"]
    loop = table(View("x", 1, config={}, chain_with="y"), View("y", 2, config={}, chain_with="x"))
    with pytest.raises(ViewCycleError, match=r"x -> y -> x\. Remove one chain_with"):
        select_view(loop, [], "x", "s")
    with pytest.raises(ViewCycleError, match="x -> y -> x"):
        order_views(loop, ["x"], lazy=False, scope_name="s")


def test_unknown_views_suggest_visible_names_only():
    error = unknown_view("high_lrr", "config", ["high_lr", "_high_lr_internal"])
    assert str(error) == "Unknown view 'high_lrr' in scope 'config'. Did you mean 'high_lr'?"
    views = table(View("a", 1, config={}, chain_with="missing"))
    with pytest.raises(UnknownViewError, match="'missing', which scope 's' does not have"):
        order_views(views, ["a"], lazy=False, scope_name="s")


def test_a_view_applies_a_function_a_mapping_or_a_file(tmp_path):
    (tmp_path / "base.json").write_text('{"model": {"depth": 18}}')
    config = ADict(model=ADict(width=2))
    View("file", 1, config=tmp_path / "base.json").apply(config)
    View("dict", 2, config={"model": {"depth": 50}}).apply(config)
    View("fn", 3, fn=lambda c: c.update(lr=0.1)).apply(config)
    assert config == {"model": {"width": 2, "depth": 50}, "lr": 0.1}
    assert View("file", 1, config=tmp_path / "base.json").source().file == str(
        tmp_path / "base.json"
    )
    assert str(View("v", 1, config={}, lazy=True, priority=3).source()) == "v (lazy, priority 3)"
    assert View("_argparse", 1).internal and not View("v", 1).internal


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"priority": "1"}, "View 'v': priority must be a number"),
        ({"chain_with": 5}, "View 'v': chain_with names the views to apply first"),
        ({"chain_with": ["a", None]}, "Pass e.g. chain_with=['base_setup']"),
    ],
)
def test_wrong_kinds_of_arguments(kwargs, message):
    with pytest.raises(ScopeArgumentError, match=re.escape(message)):
        View("v", 1, config={}, **kwargs)

"""Scope and MultiScope in-process: views, priorities, chains, lazy evaluation, strictness,
provenance, and the errors for arguments of the wrong kind. (The command line, the
decorator and the commands are tested in test_entry.py, test_manual.py and
test_external_parser.py.)"""

from __future__ import annotations

import sys
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ato.adict import ADict
from ato.errors import (
    AtoWarning,
    CommandLineError,
    ConfigKeyError,
    OverrideTypeError,
    ScopeArgumentError,
    ScopeError,
    UnknownKeyError,
    ViewCycleError,
)
from ato.scope import MultiScope, Scope
from tests.programs import final, make_scope, run


def test_lazy_block_sees_command_line_values(tmp_path):
    source = """
    from ato.scope import Scope

    scope = Scope()

    @scope.observe(default=True)
    def my_config(config):
        config.model = 'resnet50'
        config.num_layers = 50
        with Scope.lazy():
            if config.model == 'resnet101':
                config.num_layers = 101
            config.tag = f'{config.model}-{config.num_layers}'

    @scope
    def train(config):
        print(config.json())

    if __name__ == '__main__':
        train()
    """
    assert final(run(tmp_path, source)) == {
        "model": "resnet50",
        "num_layers": 50,
        "tag": "resnet50-50",
    }
    assert final(run(tmp_path, source, "model=resnet101")) == {
        "model": "resnet101",
        "num_layers": 101,
        "tag": "resnet101-101",
    }
    # with_compile=True is the 2.x spelling of the same thing
    compiled = source.replace("Scope.lazy()", "Scope.lazy(with_compile=True)")
    assert final(run(tmp_path, compiled, "model=resnet101"))["num_layers"] == 101


def test_assign_apply_and_assigned_views():
    scope = make_scope()
    scope.assign(["long_training", "high_lr", "lr=0.5"])
    config = scope.apply()
    assert config is scope.config
    assert (config.lr, config.epochs) == (0.5, 300)
    assert scope.get_assigned_views() == {
        "default_views": ["defaults"],
        "default_lazy_views": [],
        "views": ["high_lr", "long_training"],
        "lazy_views": [],
        "literals": ["lr=0.5"],
    }


def test_provenance_and_explain():
    scope = make_scope()
    scope.assign(["high_lr", "lr=0.5"])
    scope.apply()
    history = scope.provenance("lr")
    assert [entry.value for entry in history] == [0.001, 0.01, 0.5]
    assert [str(entry.source) for entry in history] == [
        "defaults",
        "high_lr (priority 1)",
        "command line (lr=0.5)",
    ]
    assert history[1].replaced == 0.001
    assert scope.explain("lr") == (
        "lr = 0.5, set by command line (lr=0.5), which replaced 0.01 from high_lr "
        "(priority 1), which replaced 0.001 from defaults."
    )
    assert scope.provenance("model.depth")[0].value == 50
    with pytest.raises(ConfigKeyError, match="Did you mean 'lr'"):
        scope.provenance("lrr")


def test_explain_of_a_section_explains_each_key_it_holds():
    scope = make_scope()
    scope.assign(["model.depth=101"])
    scope.apply()
    said = scope.explain("model")
    assert said.startswith("model is a section: ")
    assert "model.depth = 101, set by command line (model.depth=101), which replaced 50" in said
    assert "removed" not in said


def test_explain_of_a_section_emptied_or_replaced_and_rebuilt():
    scope = Scope()

    @scope.observe(default=True)
    def defaults(config):
        config.model = ADict(name="resnet", depth=50)

    @scope.observe(default=True)
    def emptied(config):
        del config.model.depth
        del config.model.name

    scope.apply()
    assert scope.explain("model").startswith("model is an empty section; under it, model.")
    rebuilt = Scope(name="rebuilt")

    @rebuilt.observe(default=True)
    def first(config):
        config.model = ADict(name="resnet")

    @rebuilt.observe(default=True)
    def scalar(config):
        config.model = "sgd"

    @rebuilt.observe(default=True)
    def again(config):
        config.model = ADict(name="vit", depth=3)

    rebuilt.apply()
    said = rebuilt.explain("model")
    assert said.startswith("model is a section: model.name = 'vit', set by again")
    assert "model.depth = 3, set by again." in said and "'sgd'" not in said


def test_chain_with_applies_dependencies_first_once():
    scope = Scope()
    order = []

    @scope.observe()
    def base_setup(config):
        order.append("base_setup")
        config.project_name = "my_project"

    @scope.observe()
    def gpu_setup(config):
        order.append("gpu_setup")
        config.gpus = 8

    @scope.observe(chain_with="base_setup", priority=-5)
    def advanced_training(config):
        order.append("advanced_training")
        config.distributed = True

    @scope.observe(chain_with=["base_setup", "gpu_setup"])
    def multi_node_training(config):
        order.append("multi_node_training")
        config.nodes = 4

    scope.assign(["advanced_training", "multi_node_training"])
    config = scope.apply()
    assert order.index("base_setup") < order.index("advanced_training")
    assert order.count("base_setup") == 1
    assert order.index("gpu_setup") < order.index("multi_node_training")
    assert config.project_name == "my_project" and config.nodes == 4


def test_default_views_apply_before_chosen_ones_whatever_their_priority():
    scope = Scope()
    scope.observe("base", config={"lr": 1, "seed": 0}, default=True, priority=5)
    scope.observe("override", config={"lr": 2}, priority=-5)
    scope.observe("late", config={"lr": 3}, priority=1)
    scope.observe("early", config={"lr": 4}, priority=0)
    scope.assign(["late", "override", "early"])
    assert scope.get_assigned_views().views == ["override", "early", "late"]
    assert scope.apply().lr == 3


def test_chain_cycle_is_named():
    scope = Scope()
    scope.observe("a", config={"x": 1}, chain_with="b")
    scope.observe("b", config={"y": 1}, chain_with="a")
    with pytest.raises(ViewCycleError, match="a -> b -> a"):
        scope.assign("a")


def test_dict_and_file_views(tmp_path):
    (tmp_path / "base.yaml").write_text("model: {depth: 18, width: 1}\n")
    scope = Scope()
    scope.observe("from_file", config=tmp_path / "base.yaml", default=True)
    scope.observe("deeper", config={"model": {"depth": 50}}, priority=1)
    scope.assign("deeper")
    config = scope.apply()
    assert config == {"model": {"depth": 50, "width": 1}}
    assert str(scope.provenance("model.width")[0].source).startswith("from_file (from ")


def test_initial_config_and_reapply_keeps_the_same_object():
    scope = Scope(config={"seed": 1})

    @scope.observe(default=True)
    def defaults(config):
        config.lr = 0.1

    first = scope.apply()
    scope.assign("lr=0.2")
    second = scope.apply()
    assert first is second
    assert second == {"seed": 1, "lr": 0.2}


def test_duplicate_scope_names():
    Scope(name="a")
    with pytest.raises(ScopeError, match="A scope named 'a' already exists"):
        Scope(name="a")
    replacement = Scope(name="a", enable_override=True)
    assert Scope.registry["a"] is replacement
    Scope.initialize_registry()
    assert len(Scope.registry) == 0


def test_lazy_outside_a_view_is_an_error():
    with pytest.raises(ScopeError, match="only works inside a function"), Scope.lazy():
        pass


def test_strict_scope_refuses_unknown_keys_and_other_types():
    scope = make_scope(strict=True)
    scope.assign("lr_rate=0.1")
    with pytest.raises(UnknownKeyError, match="did you mean lr"):
        scope.apply()
    scope = make_scope(name="s2", strict=True)
    scope.assign("epochs=abc")
    with pytest.raises(OverrideTypeError, match="gives a str, but defaults sets epochs to a int"):
        scope.apply()
    scope = make_scope(name="s3", strict=True)
    scope.assign(["lr=1", "epochs=5"])  # int for a float is fine
    assert scope.apply().lr == 1


def test_many_unknown_keys_are_warned_about_twenty_then_at_once():
    scope = make_scope()
    scope.assign([f"k{index}=1" for index in range(30)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scope.apply()
    said = [str(w.message) for w in caught]
    assert said[:20] == [f"k{index} is set only on the command line" for index in range(20)]
    assert said[20:] == [
        "10 more keys are set only on the command line: k20, k21, k22, k23, k24, ..."
    ]


def test_non_strict_warns_for_unknown_keys():
    scope = make_scope()
    scope.assign("epoch=3")
    with pytest.warns(
        AtoWarning, match="epoch is set only on the command line; did you mean epochs"
    ):
        scope.apply()
    scope.reset_user_inputs()
    scope.assign("model.depth=3")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scope.apply()


def test_a_dict_view_given_as_adict_is_not_changed_by_overrides():
    scope = Scope()
    base = ADict(lr=0.1, model={"depth": 50})
    scope.observe("base", config=base, default=True)
    scope.assign("model.depth=101")
    scope.assign("lr=0.5")
    config = scope.apply()
    assert config.model.depth == 101 and config.lr == 0.5
    assert base == {"lr": 0.1, "model": {"depth": 50}}


def test_copying_a_section_inside_a_view_keeps_two_independent_sections():
    scope = Scope()

    @scope.observe(default=True)
    def defaults(config):
        config.train = ADict(lr=0.1)
        config.eval = config.train
        config.eval.lr = 0.0

    config = scope.apply()
    assert config.train.lr == 0.1 and config.eval.lr == 0.0
    assert [p.value for p in scope.provenance("train.lr")] == [0.1]


def test_in_place_list_edits_in_a_view_with_a_lazy_block_happen_once():
    scope = Scope()

    @scope.observe(default=True)
    def defaults(config):
        config.layers = [64]
        config.layers.append(128)
        config.width = 1
        with Scope.lazy():
            config.layers.append(config.width)

    scope.assign("width=7")
    config = scope.apply()
    assert config.layers == [64, 128, 7]


def test_provenance_of_a_section_lists_the_writes_under_it():
    scope = make_scope()
    scope.assign("model.depth=101")
    scope.apply()
    records = scope.provenance("model")
    assert [(r.key, r.value) for r in records] == [("model.depth", 50), ("model.depth", 101)]


# -- arguments of the wrong kind ---------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Scope(name=3), "must be a non-empty string; got 3"),
        (lambda: Scope(name=""), "Pass e.g. Scope(name='model')"),
        (lambda: make_scope().assign(["high_lr", 3]), "got int 3 for scope 'config'"),
        (lambda: make_scope().assign(None), "scope.assign() takes view names"),
        (lambda: Scope().observe(None, config={"a": 1}), "needs a name as its first argument"),
        (lambda: Scope().observe("v", config={"a": 1}, priority="high"), "priority must be"),
        (lambda: Scope().observe("v", config={}, chain_with=3), "chain_with names the views"),
        (lambda: Scope().observe("v", config={}, chain_with=[1]), "got [1]"),
        (lambda: MultiScope(Scope(), "data"), "MultiScope takes Scope objects, got str"),
    ],
)
def test_arguments_of_the_wrong_kind(make, message):
    with pytest.raises(ScopeArgumentError) as caught:
        make()
    assert message in str(caught.value)
    assert isinstance(caught.value, TypeError) and isinstance(caught.value, ValueError)


def test_multiscope_needs_a_scope():
    with pytest.raises(ScopeError, match="at least one Scope"):
        MultiScope()


def test_a_view_named_like_a_command_is_refused():
    with pytest.raises(ScopeError, match="'manual' is a command"):
        Scope().observe("manual", config={"a": 1})


def test_chain_with_accepts_any_iterable_of_names():
    scope = Scope()
    scope.observe("a", config={"x": 1})
    scope.observe("b", config={"y": 2}, chain_with=(name for name in ["a"]))
    scope.assign("b")
    assert scope.get_assigned_views().views == ["a", "b"]
    assert scope.apply() == {"x": 1, "y": 2}


def test_the_registry_is_the_default_one_and_is_reset():
    from ato.registry import DEFAULT_REGISTRY

    scope = Scope()
    assert Scope.registry is DEFAULT_REGISTRY and DEFAULT_REGISTRY["config"] is scope
    Scope.registry.reset()
    assert len(DEFAULT_REGISTRY) == 0 and not DEFAULT_REGISTRY.parsed


def test_provenance_record_is_structured_newest_first_with_values():
    scope = Scope(name="record")

    @scope.observe(default=True)
    def defaults(config):
        config.lr = 0.001
        config.model = {"depth": 50}

    @scope.observe(priority=1)
    def high_lr(config):
        config.lr = 0.01

    scope.assign(["high_lr", "lr=0.05"])
    scope.apply()
    record = scope.provenance_record()
    assert record["lr"] == [
        {
            "kind": "command line",
            "name": "lr=0.05",
            "priority": None,
            "file": None,
            "token": "lr=0.05",
            "value": 0.05,
        },
        {
            "kind": "view",
            "name": "high_lr",
            "priority": 1,
            "file": None,
            "token": None,
            "value": 0.01,
        },
        {
            "kind": "view",
            "name": "defaults",
            "priority": 0,
            "file": None,
            "token": None,
            "value": 0.001,
        },
    ]
    assert [entry["name"] for entry in record["model.depth"]] == ["defaults"]


@pytest.mark.parametrize("strict", [False, True])
def test_an_int_for_a_float_key_becomes_a_float_and_keeps_the_structure(strict):
    scope = make_scope(strict=strict)
    scope.assign("lr=1")
    config = scope.apply()
    assert type(config.lr) is float and config.lr == 1.0
    baseline = make_scope(name="baseline").apply()
    assert config.get_structural_hash() == baseline.get_structural_hash()


def test_a_value_of_another_type_warns_naming_key_types_and_strict():
    scope = make_scope()
    scope.assign("lr=abc")
    with pytest.warns(AtoWarning) as caught:
        config = scope.apply()
    (warning,) = [w for w in caught if "gives a str" in str(w.message)]
    message = str(warning.message)
    assert "'lr=abc' gives a str, but defaults sets lr to a float" in message
    assert "Scope(strict=True)" in message
    assert config.lr == "abc"


def _shaped(strict: bool = False) -> Scope:
    scope = Scope(strict=strict)

    @scope.observe(default=True)
    def defaults(config):
        config.dataset = "imagenet"
        config.num_classes = 0

    @scope.observe(default=True, lazy=True)
    def dataset_shape(config):
        config.num_classes = {"imagenet": 1000, "cifar10": 10}[config.dataset]

    return scope


def test_a_command_line_value_a_lazy_view_overwrites_is_warned_about():
    scope = _shaped()
    scope.assign("num_classes=5")
    with pytest.warns(
        AtoWarning,
        match="'num_classes=5' on the command line was replaced by "
        "dataset_shape .lazy., which runs after the command line",
    ):
        assert scope.apply().num_classes == 1000


def test_under_strict_a_replaced_command_line_value_is_an_error():
    from ato.errors import OverrideReplacedError

    scope = _shaped(strict=True)
    scope.assign("num_classes=5")
    with pytest.raises(OverrideReplacedError, match="dataset_shape"):
        scope.apply()


def test_a_lazy_view_that_keeps_the_typed_value_is_fine():
    scope = _shaped()
    scope.assign("num_classes=1000")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert scope.apply().num_classes == 1000


def test_the_config_object_passed_in_is_the_live_config():
    mine = ADict(lr=0.1, data={"root": "/data"})
    scope = Scope(config=mine, name="live")

    @scope.observe(default=True)
    def defaults(config):
        config.epochs = 3

    scope.assign("lr=0.5")
    assert scope.apply() is mine
    assert mine == {"lr": 0.5, "data": {"root": "/data"}, "epochs": 3}
    scope.reset_user_inputs()
    scope.apply()  # assembled again from what was passed, not from the last result
    assert mine.lr == 0.1


def test_writes_to_the_passed_config_before_the_first_assembly_are_kept():
    # 2.x habit: make the scope with the config object, then keep filling that object.
    mine = ADict(seed=1)
    scope = Scope(config=mine, name="filled")
    mine.data_root, mine.seed = "/datasets", 42

    @scope.observe(default=True)
    def defaults(config):
        config.lr = 0.1

    assert scope.apply() == {"seed": 42, "data_root": "/datasets", "lr": 0.1}
    assert scope.provenance("seed")[-1].source.kind == "initial"
    scope.reset_user_inputs()
    assert scope.apply() == {"seed": 42, "data_root": "/datasets", "lr": 0.1}


def test_writes_to_scope_config_before_the_first_assembly_are_kept():
    scope = Scope(name="prefilled")
    scope.config.seed = 7
    assert scope.apply().seed == 7


def test_a_plain_dict_passed_in_is_copied():
    mine = {"lr": 0.1}
    scope = Scope(config=mine, name="copied")
    scope.assign("lr=0.5")
    assert scope.apply().lr == 0.5 and mine == {"lr": 0.1}


def test_layers_apply_after_the_command_line_and_before_lazy_views_with_their_source():
    from ato.provenance import Source

    scope = _shaped(strict=True)
    search = Source("search", "search (rung 1)", 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a searched key no view sets is not a typo
        config = scope.apply((search, {"dataset": "cifar10", "optimizer.lr": 0.1}))
    assert (config.dataset, config.num_classes, config.optimizer.lr) == ("cifar10", 10, 0.1)
    record = scope.provenance_record()
    assert [e["kind"] for e in record["dataset"]] == ["search", "view"]
    assert record["optimizer.lr"][0]["name"] == "search (rung 1)"


def test_writes_after_assembly_are_recorded_as_code_with_file_and_line():
    scope = make_scope(name="after")
    config = scope.apply()
    config.lr = 0.5  # the line below is what provenance names
    line = sys._getframe().f_lineno - 1
    assert scope.explain("lr") == (
        f"lr = 0.5, set by code at test_scope.py:{line}, which replaced 0.001 from defaults."
    )
    for epoch in range(1000):
        config.epochs = epoch  # one entry for this line, however often it runs
    record = scope.provenance_record()
    assert [entry["kind"] for entry in record["epochs"]] == ["code", "view"]
    assert record["epochs"][0]["value"] == 999
    assert len(scope.provenance("epochs")) == 2


def test_a_key_with_spaces_or_brackets_that_a_view_sets_can_be_overridden():
    scope = Scope(name="odd_keys")

    @scope.observe(default=True)
    def defaults(config):
        config["loss weights"] = ADict({"ce (main)": 1.0})

    scope.assign(["loss weights.ce (main)=2.0"])
    assert scope.apply()["loss weights"]["ce (main)"] == 2.0
    scope.reset_user_inputs()
    scope.assign(["layers[0]=1"])
    with pytest.raises(CommandLineError, match=r"'\[' in the key 'layers\[0\]'"):
        scope.apply()


def test_an_int_key_is_overridden_from_the_command_line_by_its_digits():
    scope = Scope(name="int_keys")

    @scope.observe(default=True)
    def defaults(config):
        config.class_weights = {0: 1.0, 1: 2.0}

    scope.assign(["class_weights.0=5.0"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a key the views set: no warning
        assert scope.apply().class_weights == {0: 5.0, 1: 2.0}
    assert scope.explain("class_weights.0").startswith("class_weights.0 = 5.0")


def test_digits_that_are_not_how_an_int_prints_name_a_key_of_their_own():
    scope = Scope(name="int_keys_text")

    @scope.observe(default=True)
    def defaults(config):
        config.w = {0: 1.0}

    scope.assign(["w.00=5.0", "w.0=2.0"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert scope.apply().w == {0: 2.0, "00": 5.0}


@given(
    keys=st.lists(
        st.one_of(st.integers(-(10**6), 10**6), st.none(), st.booleans(), st.text(min_size=1)),
        min_size=1,
        max_size=6,
        unique_by=lambda key: str(key),
    ),
    index=st.integers(0, 5),
)
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
def test_a_typed_key_overrides_exactly_the_key_whose_text_it_is(keys, index):
    """``w.<text>=9`` sets the key whose ``str()`` is that text, whatever its type, and no
    other: the config keeps its keys and their types."""
    keys = [key for key in keys if isinstance(key, str) is False or _plain_text(key)]
    if not keys or len({hash(key) for key in keys}) < len(keys):
        return  # 1 and True are one key to Python
    target = keys[index % len(keys)]
    scope = Scope(name="typed_keys", enable_override=True)

    @scope.observe(default=True)
    def defaults(config):
        config.w = {key: 0 for key in keys}

    scope.assign([f"w.{target}=9"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = scope.apply().w
    assert list(w) == keys and [type(k) for k in w] == [type(k) for k in keys]
    assert [w[key] for key in keys] == [9 if key is target else 0 for key in keys]


def _plain_text(key: str) -> bool:
    """A text a command-line key part can be: no dots, brackets, quotes, commas, spaces,
    '=' or ':', and not the text of a number or None/True/False (those name typed keys)."""
    odd = set(".[](){},'=:") | {'"', "%", "\\"}
    if any(char in odd or char.isspace() for char in key):
        return False
    if key in ("None", "True", "False") or key.lstrip("-").isdigit():
        return False
    try:
        float(key)
    except ValueError:
        return True
    return False

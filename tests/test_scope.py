"""Scope and MultiScope: views, priorities, chains, lazy evaluation, the command line,
provenance and the manual, run both in-process and as real programs."""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap
import warnings

import pytest

from ato.adict import ADict
from ato.errors import (
    AtoWarning,
    ConfigKeyError,
    OverrideParseError,
    OverrideTypeError,
    ScopeError,
    UnknownKeyError,
    UnknownViewError,
    ViewCycleError,
)
from ato.scope import MultiScope, Scope, parse_args_pythonic

TRAIN = """
from ato.scope import Scope

scope = Scope()

@scope.observe(default=True)
def defaults(config):
    config.lr = 0.001
    config.epochs = 100
    config.batch_size = 32
    config.model = 'resnet50'
    config.dataset = 'imagenet'

@scope.observe(priority=1)
def high_lr(config):
    config.lr = 0.01

@scope.observe(priority=2)
def long_training(config):
    config.epochs = 300

@scope.observe(lazy=True)
def computed_config(config):
    if config.dataset == 'imagenet':
        config.num_classes = 1000
        config.image_size = 224
    elif config.dataset == 'cifar10':
        config.num_classes = 10
        config.image_size = 32

@scope
def train(config):
    print(config.json())

if __name__ == '__main__':
    train()
"""


def run(tmp_path, source, *argv, name="train.py"):
    script = tmp_path / name
    script.write_text(textwrap.dedent(source))
    return subprocess.run(
        [sys.executable, str(script), *argv], capture_output=True, text=True, cwd=tmp_path
    )


def final(result):
    assert result.returncode == 0, result.stderr
    import json

    return json.loads(result.stdout.strip().splitlines()[-1])


# -- the README's programs, run for real -----------------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ((), {"lr": 0.001, "epochs": 100}),
        (("high_lr",), {"lr": 0.01, "epochs": 100}),
        (("high_lr", "long_training"), {"lr": 0.01, "epochs": 300}),
        (("long_training", "high_lr"), {"lr": 0.01, "epochs": 300}),
        (("lr=0.01",), {"lr": 0.01}),
        (("high_lr", "lr=0.5"), {"lr": 0.5}),
        (("dataset=%cifar10%", "computed_config"), {"num_classes": 10, "image_size": 32}),
        (("computed_config",), {"num_classes": 1000, "image_size": 224}),
        (("model=%resnet 101%",), {"model": "resnet 101"}),
    ],
)
def test_readme_priority_examples(tmp_path, argv, expected):
    config = final(run(tmp_path, TRAIN, *argv))
    for key, value in expected.items():
        assert config[key] == value


def test_quick_start_program(tmp_path):
    source = """
    from ato.scope import Scope

    scope = Scope()

    @scope.observe(default=True)
    def config(config):
        config.lr = 0.001
        config.batch_size = 32
        config.model = 'resnet50'

    @scope
    def train(config):
        print(f"Training {config.model} with lr={config.lr}")

    if __name__ == '__main__':
        train()
    """
    assert run(tmp_path, source).stdout == "Training resnet50 with lr=0.001\n"
    assert run(tmp_path, source, "lr=0.01").stdout == "Training resnet50 with lr=0.01\n"


def test_manual_prints_the_readme_layout_then_provenance(tmp_path):
    source = """
    from ato.scope import Scope

    scope = Scope()

    @scope.observe(default=True)
    def config(config):
        config.lr = 0.001
        config.batch_size = 32
        config.model = 'resnet50'

    @scope.manual
    def config_docs(config):
        config.lr = 'Learning rate for optimizer'
        config.batch_size = 'Number of samples per batch'
        config.model = 'Model architecture (resnet50, resnet101, etc.)'

    @scope
    def train(config):
        print('training')

    if __name__ == '__main__':
        train()
    """
    result = run(tmp_path, source, "manual")
    assert result.returncode == 0
    assert "training" not in result.stdout
    assert result.stdout.startswith(
        "--------------------------------------------------\n"
        '[Scope "config"]\n'
        "(The Applying Order of Views)\n"
        "config → (CLI Inputs)\n"
        "\n"
        "(User Manuals)\n"
        "lr: Learning rate for optimizer\n"
        "batch_size: Number of samples per batch\n"
        "model: Model architecture (resnet50, resnet101, etc.)\n"
        "\n"
        "(Where Values Come From)\n"
        "lr = 0.001  ← config  [float]\n"
    )
    assert result.stdout.endswith("--------------------------------------------------\n")
    assert run(tmp_path, source, "--help").stdout == result.stdout
    assert run(tmp_path, source, "-h").stdout == result.stdout


def test_manual_shows_order_and_where_lr_came_from(tmp_path):
    source = """
    from ato.scope import Scope

    scope = Scope()

    @scope.observe(default=True)
    def defaults(config):
        config.lr = 0.001
        config.batch_size = 32

    @scope.observe(priority=1)
    def experiment_config(config):
        config.lr = 0.01

    @scope.observe(priority=2)
    def another_config(config):
        config.lr = 0.1

    @scope.observe(lazy=True)
    def adaptive_lr(config):
        if config.batch_size > 64:
            config.lr = config.lr * 2

    @scope
    def train(config):
        pass

    if __name__ == '__main__':
        train()
    """
    result = run(tmp_path, source, "experiment_config", "another_config", "manual")
    lines = result.stdout.splitlines()
    assert "defaults → experiment_config → another_config → (CLI Inputs) → adaptive_lr" in lines
    assert (
        "lr = 0.1  ← another_config (priority 2) ← experiment_config (priority 1) ← defaults"
        "  [float]" in lines
    )
    doubled = run(tmp_path, source, "batch_size=128", "adaptive_lr", "manual").stdout
    assert "lr = 0.002  ← adaptive_lr (lazy) ← defaults  [float]" in doubled.splitlines()
    assert "batch_size = 128  ← command line (batch_size=128) ← defaults  [int]" in doubled


def test_print_shows_the_final_config_and_exits(tmp_path):
    result = run(tmp_path, TRAIN, "high_lr", "print")
    assert result.returncode == 0
    assert result.stdout.startswith("lr: 0.01\nepochs: 100\n")
    assert "{" not in result.stdout  # train() did not run


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("high_lrr",), "Unknown view 'high_lrr' in scope 'config'. Did you mean 'high_lr'?"),
        (("eps=[1,",), "Cannot parse override 'eps=[1,' (key 'eps'): unclosed '[' at column 5"),
        (("=3",), "empty key"),
        (("lr.x=1",), "'lr' in scope 'config' holds 0.001, not a mapping"),
    ],
)
def test_command_line_errors_exit_2_without_traceback(tmp_path, argv, message):
    result = run(tmp_path, TRAIN, *argv)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("train.py: error: ")


def test_key_set_only_on_the_command_line_warns_with_close_match(tmp_path):
    result = run(tmp_path, TRAIN, "lr_rate=0.1")
    assert result.returncode == 0
    assert "lr_rate is set only on the command line; did you mean lr?" in result.stderr


def test_values_are_never_executed(tmp_path):
    marker = tmp_path / "ran"
    payload = f"x=__import__('os').system('touch {marker}')"
    config = final(run(tmp_path, TRAIN, payload))
    assert config["x"] == f"__import__('os').system('touch {marker}')"
    assert not marker.exists()


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


def test_multiscope_readme_example(tmp_path):
    source = """
    from ato.scope import Scope, MultiScope

    model_scope = Scope(name='model')
    data_scope = Scope(name='data')
    scope = MultiScope(model_scope, data_scope)

    @model_scope.observe(default=True)
    def model_config(model):
        model.backbone = 'resnet50'
        model.lr = 0.1

    @data_scope.observe(default=True)
    def data_config(data):
        data.dataset = 'cifar10'
        data.lr = 0.001

    @scope
    def train(model, data):
        print(f"Model LR: {model.lr}, Data LR: {data.lr}, {model.backbone}, {data.dataset}")

    if __name__ == '__main__':
        train()
    """
    assert run(tmp_path, source).stdout == "Model LR: 0.1, Data LR: 0.001, resnet50, cifar10\n"
    assert (
        run(tmp_path, source, "model.backbone=%resnet101%").stdout
        == "Model LR: 0.1, Data LR: 0.001, resnet101, cifar10\n"
    )
    assert (
        run(tmp_path, source, "model.backbone=%resnet101%", "data.dataset=%imagenet%").stdout
        == "Model LR: 0.1, Data LR: 0.001, resnet101, imagenet\n"
    )
    unprefixed = run(tmp_path, source, "lr=3")
    assert unprefixed.returncode == 2
    assert "a key starts with the scope it is for (model, data)" in unprefixed.stderr
    manual = run(tmp_path, source, "manual").stdout
    assert '[Scope "model"]' in manual and '[Scope "data"]' in manual
    assert "data.lr = 0.001  ← data_config  [float]" in manual


# -- in-process API ----------------------------------------------------------------------


def make_scope(**kwargs):
    scope = Scope(**kwargs)

    @scope.observe(default=True)
    def defaults(config):
        config.lr = 0.001
        config.epochs = 100
        config.model = ADict(depth=50)

    @scope.observe(priority=1)
    def high_lr(config):
        config.lr = 0.01

    @scope.observe(priority=2)
    def long_training(config):
        config.epochs = 300

    return scope


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


def test_decorator_injects_by_name_in_any_position():
    scope = make_scope()

    @scope
    def before(x, config, y=2):
        return x, config.lr, y

    @scope
    def keyword_only(x, *, config):
        return x, config.epochs

    @scope
    def no_config(x):
        return x

    @scope
    def anything(**kwargs):
        return sorted(kwargs)

    parse_args_pythonic([])
    assert before(1) == (1, 0.001, 2)
    assert before(1, y=3) == (1, 0.001, 3)
    assert keyword_only(5) == (5, 100)
    assert no_config(7) == 7
    assert anything() == ["config"]
    assert before(1, config=ADict(lr=9)) == (1, 9, 2)


def test_pause_and_deactivate():
    scope = make_scope()

    @scope
    def main(config=None):
        return config

    parse_args_pythonic([])
    with scope.pause():
        assert main() is None
    assert main().lr == 0.001
    scope.deactivate()
    assert main() is None
    scope.activate()
    assert main() is scope.config


def test_parse_args_pythonic_reads_views_and_values():
    scope = make_scope()
    parse_args_pythonic(["high_lr", "config.epochs=7", "model.depth=101"])
    config = scope.apply()
    assert (config.lr, config.epochs, config.model.depth) == (0.01, 7, 101)


def test_programmatic_errors_are_raised_not_exits():
    scope = make_scope()
    with pytest.raises(UnknownViewError, match="Did you mean 'high_lr'"):
        scope.assign("high_lrr")
    with pytest.raises(OverrideParseError, match="unclosed"):
        scope.assign("x=[1")
    with pytest.raises(UnknownViewError):
        parse_args_pythonic(["nope"])


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


def test_argparse_is_untouched_without_opt_in():
    make_scope()
    assert argparse.ArgumentParser.parse_known_args.__module__ == "argparse"


def test_argparse_opt_in(monkeypatch):
    scope = Scope(use_external_parser=True)

    @scope.observe(default=True)
    def defaults(config):
        config.lr = 0.001

    @scope.observe()
    def high_lr(config):
        config.lr = 0.01

    @scope
    def main(config):
        return config

    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--name", default="run")
    monkeypatch.setattr(sys, "argv", ["prog", "--epochs", "20", "high_lr", "batch=4"])
    namespace = parser.parse_args()
    assert namespace.epochs == 20
    with pytest.warns(AtoWarning, match="batch is set only on the command line"):
        config = main()
    assert (config.epochs, config.name, config.lr, config.batch) == (20, "run", 0.01, 4)
    Scope.initialize_registry()
    assert argparse.ArgumentParser.parse_known_args.__module__ == "argparse"


def test_multiscope_in_process():
    model = Scope(name="model")
    data = Scope(name="data")
    both = MultiScope(model, data)
    model.observe("m", config={"lr": 0.1}, default=True)
    data.observe("d", config={"lr": 0.001}, default=True)

    @both
    def train(model, data):
        return model.lr, data.lr

    parse_args_pythonic(["model.lr=0.5"])
    assert train() == (0.5, 0.001)


# -- found in review: sharing, replay, errors of views, argparse scope ------------------


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


def test_a_view_that_breaks_raises_its_own_error_not_exit_2(tmp_path):
    result = run(
        tmp_path,
        """
        from ato.scope import Scope
        scope = Scope()

        @scope.observe(default=True)
        def defaults(config):
            config['a', 'b'] = [1, 2, 3]  # a bug in the view

        @scope
        def main(config):
            pass

        main()
        """,
    )
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "ConfigStructureError" in result.stderr


def test_a_command_line_path_through_a_value_exits_2(tmp_path):
    result = run(tmp_path, TRAIN, "model.depth=50")
    assert result.returncode == 2
    assert "'model' in scope 'config' holds" in result.stderr and "Traceback" not in result.stderr


def test_provenance_of_a_section_lists_the_writes_under_it():
    scope = make_scope()
    scope.assign("model.depth=101")
    scope.apply()
    records = scope.provenance("model")
    assert [(r.key, r.value) for r in records] == [("model.depth", 50), ("model.depth", 101)]


def test_multiscope_unknown_key_warning_names_the_scope():
    model = Scope(name="model")
    data = Scope(name="data")
    MultiScope(model, data)
    model.observe("m", config={"lr": 0.1}, default=True)
    data.observe("d", config={"size": 1}, default=True)
    parse_args_pythonic(["model.lr_rate=0.5"])
    with pytest.warns(AtoWarning, match=r"model\.lr_rate is set only .* did you mean model\.lr\?"):
        model.apply()


def test_argparse_opt_in_leaves_other_parsers_alone(monkeypatch):
    scope = Scope(use_external_parser=True)
    scope.observe("defaults", config={"lr": 0.1}, default=True)
    monkeypatch.setattr(sys, "argv", ["prog", "--epochs", "3", "lr=0.5"])
    library = argparse.ArgumentParser()
    library.add_argument("--verbose", action="store_true")
    # A parser given its own words is not the program's: plain argparse behaviour.
    assert library.parse_known_args(["--verbose", "x=1"]) == (
        argparse.Namespace(verbose=True),
        ["x=1"],
    )
    program = argparse.ArgumentParser()
    program.add_argument("--epochs", type=int, default=1)
    assert program.parse_args().epochs == 3
    other = argparse.ArgumentParser()
    other.add_argument("--epochs", type=int, default=1)
    # Another parser of sys.argv after the program's: untouched, ato's words stay its own.
    assert other.parse_known_args()[1] == ["lr=0.5"]
    assert list(scope.views) == ["defaults", "_argparse"]
    parse_args_pythonic()
    assert scope.apply().lr == 0.5


def test_argparse_help_also_prints_the_ato_manual(tmp_path):
    result = run(
        tmp_path,
        """
        import argparse
        from ato.scope import Scope
        scope = Scope(use_external_parser=True)

        @scope.observe(default=True)
        def defaults(config):
            config.lr = 0.1

        @scope.observe()
        def high_lr(config):
            config.lr = 1.0

        parser = argparse.ArgumentParser()
        parser.add_argument("--epochs", type=int, default=1)
        parser.parse_args()
        """,
        "--help",
    )
    assert result.returncode == 0, result.stderr
    assert "--epochs" in result.stdout
    assert "high_lr" in result.stdout and "lr = 0.1" in result.stdout

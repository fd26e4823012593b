"""The entry path (ato.entry): programs run for real with their command line, the
decorator that injects configs, argv routing among scopes, and exits on errors."""

from __future__ import annotations

import inspect
import sys

import pytest

from ato import entry
from ato.adict import ADict
from ato.errors import (
    AtoWarning,
    OverrideParseError,
    ScopeArgumentError,
    UnknownKeyError,
    UnknownViewError,
)
from ato.parser import parse_token
from ato.registry import ScopeRegistry
from ato.scope import MultiScope, Scope, parse_args_pythonic
from tests.programs import TRAIN, final, make_scope, run

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


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("high_lrr",), "Unknown view 'high_lrr' in scope 'config'. Did you mean 'high_lr'?"),
        (("eps=[1,",), "Cannot parse override 'eps=[1,' (key 'eps'): unclosed '[' at column 5"),
        (("=3",), "empty key"),
        (("lr.x=1",), "'lr' in scope 'config' holds 0.001, not a mapping"),
        (
            ("--batch-size", "64"),
            "'--batch-size' is an option flag, but ato reads view names and key=value words "
            "(e.g. batch-size=VALUE); if the program parses its own flags with argparse, "
            "create the scope with Scope(use_external_parser=True)",
        ),
        (("-m",), "'-m' is an option flag"),
        (("epochs",), "Unknown view 'epochs' in scope 'config'. Its views: "),
        (("epochs",), "To set a value, write epochs=VALUE."),
        (("x" * 5000,), "Unknown view 'xxxxxxxxxx"),
        (("layers[0]=1",), "'[' in the key 'layers[0]'"),
        (("a_view,lr=1",), "',' in the key 'a_view,lr'"),
        (("a b=1",), "' ' in the key 'a b'"),
        (("a." * 200 + "b=1",), "nested 201 levels deep"),
    ],
)
def test_command_line_errors_exit_2_without_traceback(tmp_path, argv, message):
    result = run(tmp_path, TRAIN, *argv)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("train.py: error: ")
    assert len(result.stderr) < 1000  # a long token is cut short, never echoed whole


def test_a_malformed_file_named_as_a_view_exits_2_naming_file_and_line(tmp_path):
    (tmp_path / "bad.yaml").write_text("lr: [1,\n")
    source = """
    from ato.scope import Scope
    scope = Scope()
    scope.observe("exp", config="bad.yaml")

    @scope
    def main(config):
        print(config)

    main()
    """
    result = run(tmp_path, source, "exp")
    assert result.returncode == 2
    assert "bad.yaml:2:1: invalid YAML" in result.stderr
    assert "Traceback" not in result.stderr


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


@pytest.mark.parametrize("word", ["--lr=0.5", "-lr=0.5"])
def test_dashed_key_value_is_read_as_key_value(word):
    scope = make_scope()
    parse_args_pythonic([word])
    config = scope.apply()
    assert config.lr == 0.5
    assert not any(key.startswith("-") for key in config)


def test_programmatic_errors_are_raised_not_exits():
    scope = make_scope()
    with pytest.raises(UnknownViewError, match="Did you mean 'high_lr'"):
        scope.assign("high_lrr")
    with pytest.raises(OverrideParseError, match="unclosed"):
        scope.assign("x=[1")
    with pytest.raises(UnknownViewError):
        parse_args_pythonic(["nope"])


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


def test_multiscope_unknown_key_warning_names_the_scope():
    model = Scope(name="model")
    data = Scope(name="data")
    MultiScope(model, data)
    model.observe("m", config={"lr": 0.1}, default=True)
    data.observe("d", config={"size": 1}, default=True)
    parse_args_pythonic(["model.lr_rate=0.5"])
    with pytest.warns(AtoWarning, match=r"model\.lr_rate is set only .* did you mean model\.lr\?"):
        model.apply()


# -- found when the entry path moved to its own module -----------------------------------


def test_ato_scope_reexports_the_entry_path():
    import ato.scope

    assert ato.scope.parse_args_pythonic is entry.parse_args_pythonic
    assert set(ato.scope.__all__) >= {"MultiScope", "Scope", "ScopeRegistry", "View"}


@pytest.mark.parametrize("decorate", [lambda f: Scope()(f), lambda f: MultiScope(Scope())(f)])
def test_decorating_something_that_is_not_a_function(decorate):
    with pytest.raises(ScopeArgumentError, match="decorates the program's entry function"):
        decorate({"lr": 0.1})


def test_parse_args_pythonic_refuses_a_string():
    make_scope()
    with pytest.raises(ScopeArgumentError, match=r"Pass e.g. \['high_lr', 'lr=0.5'\]"):
        parse_args_pythonic("high_lr lr=0.5")


def test_parse_args_pythonic_reads_sys_argv_and_a_given_registry(monkeypatch):
    scope = make_scope()
    monkeypatch.setattr(sys, "argv", ["prog", "high_lr", "epochs=3", "print"])
    parse_args_pythonic()
    assert Scope.registry.parsed and Scope.registry.commands == ["print"]
    assert (scope.apply().lr, scope.config.epochs) == (0.01, 3)
    other = ScopeRegistry()
    parse_args_pythonic(["manual"], registry=other)
    assert other.commands == ["manual"] and other.parsed
    assert Scope.registry.commands == ["print"]


def test_a_view_in_two_scopes_is_chosen_in_both_and_a_prefix_picks_one():
    model = Scope(name="model")
    data = Scope(name="data")
    model.observe("fast", config={"lr": 1})
    data.observe("fast", config={"size": 1})
    data.observe("small", config={"size": 2})
    parse_args_pythonic(["fast"])
    assert model.get_assigned_views().views == ["fast"]
    assert data.get_assigned_views().views == ["fast"]
    parse_args_pythonic(["data.small"])
    assert data.get_assigned_views().views == ["fast", "small"]
    with pytest.raises(UnknownViewError, match=r"no scope \(model, data\) has it. Did you mean"):
        parse_args_pythonic(["smal"])


def test_a_second_call_raises_instead_of_exiting(monkeypatch, capsys):
    scope = make_scope(strict=True)

    @scope
    def main(config):
        return config.lr

    monkeypatch.setattr(sys, "argv", ["prog"])
    assert main() == 0.001
    scope.assign("lr_rate=1")  # not from the command line: raised, not printed
    with pytest.raises(UnknownKeyError, match="did you mean lr"):
        main()
    assert capsys.readouterr().err == ""


def stderr_of_exit_2(monkeypatch, capsys, main, *argv: str) -> str:
    """Run ``main`` as ``train.py ARGV``: it must exit 2; what it printed on stderr."""
    monkeypatch.setattr(sys, "argv", ["train.py", *argv])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 2
    return capsys.readouterr().err


def test_a_command_line_error_prints_and_exits_2(monkeypatch, capsys):
    scope = make_scope()

    @scope
    def main(config):
        raise AssertionError("must not run")

    assert stderr_of_exit_2(monkeypatch, capsys, main, "high_lrr") == (
        "train.py: error: Unknown view 'high_lrr' in scope 'config'. Did you mean 'high_lr'?\n"
    )


@pytest.mark.parametrize(
    ("view", "fragment"),
    [
        ("a", "Views chain to each other: a -> b -> a"),
        ("uses_base", "chains with 'lazy_base', a lazy view"),
        ("multi_node", "chains with 'gpu_setup', which scope 'config' does not have"),
    ],
)
def test_views_chained_wrongly_print_one_line_and_exit_2(monkeypatch, capsys, view, fragment):
    scope = Scope()
    for name, chain, lazy in [
        ("a", "b", False),
        ("b", "a", False),
        ("lazy_base", None, True),
        ("uses_base", "lazy_base", False),
        ("multi_node", "gpu_setup", False),
    ]:
        scope.observe(name, {"x": name}, chain_with=chain, lazy=lazy)

    @scope
    def main(config):
        raise AssertionError("must not run")

    err = stderr_of_exit_2(monkeypatch, capsys, main, view)
    assert err.startswith("train.py: error: ") and fragment in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(("argv", "first_line"), [(["print"], "lr: 0.01"), (["manual"], "-" * 50)])
def test_a_command_prints_and_exits_0(monkeypatch, capsys, argv, first_line):
    scope = make_scope()

    @scope
    def main(config):
        raise AssertionError("must not run")

    monkeypatch.setattr(sys, "argv", ["prog", "high_lr", *argv])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 0
    assert capsys.readouterr().out.splitlines()[0] == first_line
    assert Scope.registry.commands == []


@pytest.mark.parametrize(
    ("commands", "shows"),
    [
        (["print"], "config"),
        (["manual"], "manual"),
        (["print", "manual"], "manual"),
        (["print", "--help"], "help"),
        (["-h"], "help"),
    ],
)
def test_command_output_chooses_config_or_manual(commands, shows):
    scope = make_scope()
    scope.apply()
    text = entry.command_output(commands, [scope])
    assert text.startswith("-" * 50) == (shows == "manual")
    assert text.startswith("usage: ") == (shows == "help")
    assert ("lr: 0.001" in text.splitlines()) == (shows == "config")
    if shows == "help":
        assert "views of 'config' you can name: high_lr, long_training" in text


def test_show_after_argparse_help_prints_only_text(capsys):
    entry.show_after_argparse_help("")
    assert capsys.readouterr().out == ""
    entry.show_after_argparse_help("ato part")
    assert capsys.readouterr().out == "ato part\n"


def _call(func, configs, *args, **kwargs):
    return entry.call_with_configs(func, inspect.signature(func), configs, args, kwargs)


def test_call_with_configs_fills_parameters_by_name():
    cfg, other = ADict(a=1), ADict(b=2)

    def positional_only(config, x, /):
        return config, x

    def star_args(x, *rest, config):
        return x, rest, config

    def neither(x):
        return x

    assert _call(positional_only, {"config": cfg}, 5) == (cfg, 5)
    assert _call(star_args, {"config": cfg}, 1, 2, 3) == (1, (2, 3), cfg)
    assert _call(neither, {"config": cfg}, 4) == 4
    assert _call(lambda **kw: sorted(kw), {"config": cfg, "data": other}) == ["config", "data"]
    assert _call(lambda config, data: (config, data), {"config": cfg, "data": other}) == (
        cfg,
        other,
    )
    assert _call(lambda config=None: config, {"config": cfg}, config=other) is other


def test_multiscope_skips_inactive_scopes():
    model = Scope(name="model")
    data = Scope(name="data")
    both = MultiScope(model, data)
    model.observe("m", config={"lr": 0.1}, default=True)

    @both
    def train(model=None, data=None):
        return model, data

    parse_args_pythonic([])
    data.deactivate()
    assert train() == ({"lr": 0.1}, None)
    model.deactivate()
    assert train() == (None, None)


def test_the_renderers_and_the_argparse_bridge_load_only_when_used():
    import subprocess

    code = (
        "import sys, ato.scope; "
        "print(','.join(m for m in ('ato.manual', 'ato.external_parser', 'argparse') "
        "if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""


def test_a_scope_without_command_line_never_reads_argv_and_assembles_at_every_call(
    monkeypatch,
):
    monkeypatch.setattr(sys, "argv", ["app.py", "+foo=1", "~logger", "-m"])
    scope = Scope(name="config", command_line=False)
    calls = []

    @scope.observe(default=True)
    def defaults(config):
        calls.append(1)
        config.lr = 0.1

    @scope
    def main(config):
        config.lr *= 2  # a job's own change does not leak into the next job
        return config.lr

    assert main() == 0.2 and main() == 0.2
    assert len(calls) == 2


def _phases_scope() -> Scope:
    scope = Scope(name="train")

    @scope.observe(default=True)
    def defaults(train):
        train.epochs = 10
        train.lr = 0.1
        train.train = {"epochs": 3}  # a 'train' phase beside 'eval'

    return scope


def test_a_key_under_a_section_named_like_the_scope_is_that_key(monkeypatch):
    # 2.x read "train.epochs" as the nested key; with a
    # top-level 'epochs' too the token could mean either, and is refused.
    scope = _phases_scope()

    @scope
    def main(train):
        return train.to_dict()

    monkeypatch.setattr(sys, "argv", ["train.py", "train.train.epochs=7", "train.lr=0.5"])
    config = main()
    assert config["train"] == {"epochs": 7} and config["lr"] == 0.5 and config["epochs"] == 10


def test_the_scope_name_prefix_that_could_mean_two_keys_is_refused(monkeypatch, capsys):
    scope = _phases_scope()

    @scope
    def main(train):
        raise AssertionError("must not run")

    err = stderr_of_exit_2(monkeypatch, capsys, main, "train.epochs=99")
    assert "'train.epochs=99' could set train.epochs or epochs" in err
    assert "train.train.epochs=99" in err and "epochs=99" in err


def test_a_nested_key_only_the_section_has_is_the_nested_key(monkeypatch):
    scope = Scope(name="config")

    @scope.observe(default=True)
    def defaults(config):
        config.config = {"path": "a.yaml"}

    @scope
    def main(config):
        return config.to_dict()

    monkeypatch.setattr(sys, "argv", ["train.py", "config.path=b.yaml"])
    assert main() == {"config": {"path": "b.yaml"}}


def test_a_misspelled_scope_prefix_suggests_the_scope():
    model, data = Scope(name="model"), Scope(name="data")
    with pytest.raises(UnknownKeyError) as caught:
        entry._assign_override([model, data], parse_token("modl.backbone=vit"))
    assert "did you mean model.backbone=vit?" in str(caught.value)

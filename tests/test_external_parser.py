"""argparse beside ato (ato.external_parser): opt-in only, one parser, state kept on the
registry, and ``--help`` that ends with ato's manual."""

from __future__ import annotations

import argparse
import sys

import pytest

from ato import external_parser
from ato.errors import AtoWarning
from ato.registry import ScopeRegistry
from ato.scope import Scope, parse_args_pythonic
from tests.programs import make_scope, run


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


# -- the bridge's state lives on the registry --------------------------------------------


def test_the_bridge_is_the_registrys_and_reset_restores_argparse(monkeypatch):
    original = argparse.ArgumentParser.parse_known_args
    Scope(name="a", use_external_parser=True)
    bridge = Scope.registry.argparse
    assert bridge is not None and bridge.words is None
    Scope(name="b", use_external_parser=True)
    assert Scope.registry.argparse is bridge  # one bridge per registry
    monkeypatch.setattr(sys, "argv", ["prog", "--epochs", "2", "x=1"])
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=1)
    parser.parse_args()
    assert bridge.words == ["x=1"]
    Scope.registry.reset()
    assert Scope.registry.argparse is None and bridge.words is None
    assert argparse.ArgumentParser.parse_known_args is original


def test_two_registries_share_one_wrapper_until_the_last_is_released(monkeypatch):
    original = argparse.ArgumentParser.parse_known_args
    first, second = ScopeRegistry(), ScopeRegistry()
    external_parser.install(first)
    external_parser.install(second)
    monkeypatch.setattr(sys, "argv", ["prog", "high_lr"])
    assert argparse.ArgumentParser().parse_known_args() == (argparse.Namespace(), [])
    assert first.argparse is not None and first.argparse.words == ["high_lr"]
    assert second.argparse is not None and second.argparse.words == ["high_lr"]
    first.reset()
    assert argparse.ArgumentParser.parse_known_args is not original
    second.reset()
    assert argparse.ArgumentParser.parse_known_args is original


def test_subparsers_are_left_to_argparse(monkeypatch):
    scope = Scope(use_external_parser=True)
    scope.observe("defaults", config={"lr": 0.1}, default=True)
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command")
    fit = commands.add_parser("fit")
    fit.add_argument("--epochs", type=int, default=1)
    monkeypatch.setattr(sys, "argv", ["prog", "fit", "--epochs", "4", "lr=0.5"])
    namespace = parser.parse_args()
    assert (namespace.command, namespace.epochs) == ("fit", 4)
    parse_args_pythonic()
    # Only the program's own parser gives defaults: a subcommand's option, passed
    # explicitly, is a value no view sets.
    with pytest.warns(AtoWarning, match="epochs is set only on the command line"):
        config = scope.apply()
    assert (config.command, config.epochs, config.lr) == ("fit", 4, 0.5)


def test_help_text_is_returned_and_names_a_scope_that_cannot_be_assembled():
    good = make_scope(use_external_parser=True)
    broken = Scope(name="broken", use_external_parser=True)
    broken.observe("bad", config={"a": 1}, chain_with="missing", default=True)
    bridge = good.registry.argparse
    assert bridge is not None
    text = external_parser.help_text([bridge], {"epochs": 1})
    assert (
        "(ato could not assemble scope 'broken': View 'bad' (a mapping) chains with 'missing'"
        in text
    )
    assert "ato views and config (pass view names and key=value after the options):" in text
    assert "epochs = 100  ← defaults ← _argparse (priority -2)  [int]" in text
    assert external_parser.help_text([], {}) == ""


def test_help_of_a_program_whose_scopes_all_fail_says_why(tmp_path):
    result = run(
        tmp_path,
        """
        import argparse
        from ato.scope import Scope
        scope = Scope(use_external_parser=True)
        scope.observe("bad", config={"a": 1}, chain_with="missing", default=True)
        argparse.ArgumentParser().parse_args()
        """,
        "--help",
    )
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout
    assert "(ato could not assemble scope 'config': View " in result.stdout
    assert "chains with 'missing', which scope 'config' does not have" in result.stdout
    assert "ato views and config" not in result.stdout


ARGPARSE_PROGRAM = """
import argparse
from ato.scope import Scope

{before}
scope = Scope(use_external_parser=True)

@scope.observe(default=True)
def defaults(config):
    config.seed = 1

@scope.observe()
def fast(config):
    config.lr = 2.0

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=1.0)
parser.add_argument("--batch-size", type=int, default=64)
{after}

@scope
def main(config):
    {inside}
    print(f"args.lr={{args.lr}} config.lr={{config.lr}} batch={{args.batch_size}}")

main()
"""


def _program(before="", after="args = parser.parse_args()", inside="pass"):
    return ARGPARSE_PROGRAM.format(before=before, after=after, inside=inside)


@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        ((), "args.lr=1.0 config.lr=1.0 batch=64"),
        (("--lr", "0.3", "--batch-size", "8"), "args.lr=0.3 config.lr=0.3 batch=8"),
        (("lr=0.5",), "args.lr=0.5 config.lr=0.5 batch=64"),
        (("fast",), "args.lr=2.0 config.lr=2.0 batch=64"),
    ],
)
def test_the_namespace_holds_the_configs_final_values(tmp_path, argv, shown):
    result = run(tmp_path, _program(), *argv)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == shown


def test_parse_args_inside_the_scope_function_is_refused_with_the_right_place(tmp_path):
    source = _program(after="", inside="global args; args = parser.parse_args()")
    result = run(tmp_path, source, "lr=0.5")
    assert result.returncode != 0
    assert "ArgparsePlacementError" in result.stderr
    assert "after creating the Scope and before calling the @scope function" in result.stderr


def test_parse_args_before_the_scope_exists_exits_2_saying_where_it_goes(tmp_path):
    before = (
        "early = argparse.ArgumentParser(); early.add_argument('--lr', type=float, default=1.0)\n"
        "args = early.parse_args()"
    )
    result = run(tmp_path, _program(before=before, after=""), "--lr", "0.3")
    assert result.returncode == 2
    assert "after creating the Scope (ato does not see a call made before it)" in result.stderr
    assert "Traceback" not in result.stderr

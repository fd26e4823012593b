"""What the ``manual`` and ``print`` commands show (ato.manual renders, ato.entry prints):
run for real, and rendered in-process."""

from __future__ import annotations

from ato.manual import render_config, render_manual
from ato.scope import MultiScope, Scope
from tests.programs import TRAIN, make_scope, run


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
    for flag in ("--help", "-h"):
        shown = run(tmp_path, source, flag).stdout
        assert shown.startswith("usage: train.py [VIEW ...] [KEY=VALUE ...] [manual | print]\n")
        assert "key=value         set a value" in shown
        assert shown.endswith(result.stdout)


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
    # adaptive_lr is not named this time: bracketed, never shown as if it applied.
    assert "defaults → experiment_config → another_config → (CLI Inputs) → [adaptive_lr]" in lines
    assert (
        "lr = 0.1  ← another_config (priority 2) ← experiment_config (priority 1) ← defaults"
        "  [float]" in lines
    )
    everything = ["experiment_config", "another_config", "adaptive_lr", "manual"]
    assert (
        "defaults → experiment_config → another_config → (CLI Inputs) → adaptive_lr"
        in run(tmp_path, source, *everything).stdout.splitlines()
    )
    doubled = run(tmp_path, source, "batch_size=128", "adaptive_lr", "manual").stdout
    assert "lr = 0.002  ← adaptive_lr (lazy) ← defaults  [float]" in doubled.splitlines()
    assert "batch_size = 128  ← command line (batch_size=128) ← defaults  [int]" in doubled


def test_print_shows_the_final_config_and_exits(tmp_path):
    result = run(tmp_path, TRAIN, "high_lr", "print")
    assert result.returncode == 0
    assert result.stdout.startswith("lr: 0.01\nepochs: 100\n")
    assert "{" not in result.stdout  # train() did not run


# -- the renderers, in-process -----------------------------------------------------------


def test_render_manual_returns_the_text_and_prints_nothing(capsys):
    scope = make_scope()

    @scope.observe(lazy=True)
    def doubled(config):
        config.lr = config.lr * 2

    scope.observe("_hidden", config={"seed": 1}, default=True)
    scope.manual(manual={"lr": "learning rate"})
    scope.assign(["high_lr", "doubled", "epochs=7"])
    scope.apply()
    text = render_manual([scope])
    assert capsys.readouterr().out == ""
    lines = text.splitlines()
    assert lines[:3] == ["-" * 50, '[Scope "config"]', "(The Applying Order of Views)"]
    # internal views (a leading _) are not shown in the order, but their values are
    assert "defaults → high_lr → [long_training] → (CLI Inputs) → doubled" in lines
    assert "lr: learning rate" in lines
    assert "lr = 0.02  ← doubled (lazy) ← high_lr (priority 1) ← defaults  [float]" in lines
    assert "epochs = 7  ← command line (epochs=7) ← defaults  [int]" in lines
    assert "seed = 1  ← _hidden  [int]" in lines
    assert lines[-1] == "-" * 50


def test_render_manual_of_several_scopes_prefixes_keys():
    model = Scope(name="model")
    data = Scope(name="data")
    MultiScope(model, data)
    model.observe("m", config={"lr": 0.1}, default=True)
    model.manual(manual={"lr": "learning rate"})
    data.observe("d", config={"size": 8}, default=True)
    model.apply()
    data.apply()
    lines = render_manual([model, data]).splitlines()
    assert '[Scope "model"]' in lines and '[Scope "data"]' in lines
    assert "model.lr: learning rate" in lines
    assert "data.size = 8  ← d  [int]" in lines


def test_render_manual_shows_values_the_grammar_cannot_write():
    scope = Scope()
    scope.observe("objects", config={"when": object}, default=True)
    scope.apply()
    assert "when = <class 'object'>  ← objects  [type]" in render_manual([scope]).splitlines()


def test_render_config_of_one_scope_and_of_several():
    scope = make_scope()
    scope.apply()
    assert render_config([scope]).splitlines()[:2] == ["lr: 0.001", "epochs: 100"]
    other = Scope(name="data")
    other.observe("d", config={"size": 8}, default=True)
    other.apply()
    lines = render_config([scope, other]).splitlines()
    assert lines[0] == '[Scope "config"]' and '[Scope "data"]' in lines
    assert lines[-1] == "size: 8"


LAZY_NEEDS_DATASET = """
from ato.scope import Scope

scope = Scope()

@scope.observe(default=True)
def defaults(config):
    config.lr = 0.001

@scope.observe(default=True, lazy=True)
def computed(config):
    config.num_classes = {'imagenet': 1000, 'cifar10': 10}[config.dataset]

@scope.manual
def docs(config):
    config.dataset = 'imagenet or cifar10 (required on the command line)'

@scope
def main(config):
    print('ran', config.num_classes)

if __name__ == '__main__':
    main()
"""


def test_manual_still_shows_when_a_view_fails(tmp_path):
    """``manual`` is what one runs when the program does not start: a view that fails
    (here a lazy view that needs a value from the command line) is named in one line,
    with what was assembled before it, and no traceback."""
    for command in ("manual", "--help"):
        result = run(tmp_path, LAZY_NEEDS_DATASET, command)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr + result.stdout
        out = result.stdout
        assert "defaults → (CLI Inputs) → computed" in out
        assert "dataset: imagenet or cifar10 (required on the command line)" in out
        assert "lr = 0.001  ← defaults  [float]" in out
        assert "(Assembly stopped) lazy view 'computed' raised ConfigKeyError:" in out
        assert "'dataset' is not in this config" in out
    # Given the value, the same program runs, and manual shows the full assembly.
    result = run(tmp_path, LAZY_NEEDS_DATASET, "dataset=cifar10", "manual")
    assert "Assembly stopped" not in result.stdout
    assert "num_classes = 10  ← computed (lazy)  [int]" in result.stdout
    # A plain run that fails still fails with the program's own error.
    failed = run(tmp_path, LAZY_NEEDS_DATASET)
    assert failed.returncode == 1 and "ConfigKeyError" in failed.stderr


def test_a_key_a_lazy_view_reads_is_not_called_unknown(tmp_path):
    """``dataset=cifar10`` is set by no view, but a lazy view reads it: not a typo, so no
    warning, and no error under ``strict=True``."""
    result = run(tmp_path, LAZY_NEEDS_DATASET, "dataset=cifar10")
    assert result.returncode == 0, result.stderr
    assert "ran 10" in result.stdout
    assert "set only on the command line" not in result.stderr
    strict = LAZY_NEEDS_DATASET.replace("scope = Scope()", "scope = Scope(strict=True)")
    result = run(tmp_path, strict, "dataset=cifar10")
    assert result.returncode == 0, result.stderr
    # A key nothing reads is still a typo.
    result = run(tmp_path, LAZY_NEEDS_DATASET, "dataset=cifar10", "lr_rate=0.1")
    assert "lr_rate is set only on the command line; did you mean lr?" in result.stderr


def test_manual_still_reports_a_command_line_mistake_in_one_line(tmp_path):
    strict = LAZY_NEEDS_DATASET.replace("scope = Scope()", "scope = Scope(strict=True)")
    result = run(tmp_path, strict, "lr=abc", "dataset=cifar10", "manual")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "'lr=abc' gives a str" in result.stderr

"""`ato explain` on an edit to a registry entry (``MODELS[config.model](x)``): a cause
when a run picked it (by its config, by a key in the code, or by reading every entry),
a possible cause only, never the lead, when neither did. Real programs, run twice."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ato.explain.entries import picked
from ato.registry_entries import Entry
from tests.explain.test_end_to_end import ato, explain, run

PROGRAM = """
from ato.scope import Scope
from ato.tracking import SQLLogger
{models}
scope = Scope(name="train")

@scope.observe(default=True)
def defaults(config):
    config.experiment = {{"project_name": "demo", "sql": {{"db_path": "sqlite:///runs.db"}}}}
    config.model = "{default}"

@scope.trace(trace_id="forward")
def forward(x, config):
{body}

@scope
def main(train):
    logger = SQLLogger(train)
    with logger.run():
        logger.log_metric("loss", forward(1.0, train), step=0)

main()
"""

MODELS = """
def block(x):
    return x + {block}

def resnet(x):
    return x * 2

def vit(x):
    return block(x) * {vit}

MODELS = {{"resnet": resnet, "vit": vit}}
{extra}
"""

PICK = "    return MODELS[config.model](x)\n"


def write(folder: Path, body: str = PICK, vit: int = 3, block: int = 0, extra: str = "") -> None:
    models = MODELS.format(vit=vit, block=block, extra=extra)
    text = PROGRAM.format(models=models, body=body, default="resnet")
    (folder / "train.py").write_text(textwrap.dedent(text))


def two_runs(folder: Path, *args: str, body: str = PICK, extra: str = "", **edit: int) -> dict:
    write(folder, body=body, extra=extra)
    run(folder)
    write(folder, body=body, extra=extra, **edit)
    run(folder, *args)
    return explain(folder)


def _forward(report: dict) -> dict:
    (change,) = report["code"]
    assert change["trace_id"] == "forward"
    return change


@pytest.mark.parametrize("edit", [{"vit": 4}, {"block": 1}])
def test_an_entry_neither_run_picked_is_a_possible_cause_only(tmp_path, edit):
    report = two_runs(tmp_path, **edit)
    change = _forward(report)
    assert change["change"] == "may run changed"
    (callee,) = change["callees"]
    assert callee["entry"] == "MODELS['vit']"
    assert callee["trace_id"] == ("__main__.vit" if "vit" in edit else "__main__.block")
    assert report["verdict"].startswith("Same code and environment, apart from 1 registry entry")
    assert "`forward`" in report["verdict"] and "MODELS['vit']" in report["verdict"]
    text = ato(tmp_path, "explain", "1", "2").stdout
    assert "may call __main__.vit (through MODELS['vit']" in text or "block" in str(edit)


@pytest.mark.parametrize(
    ("args", "body", "extra"),
    [
        (("model=vit",), PICK, ""),  # the second run picks it on the command line
        ((), "    return MODELS['vit'](x)\n", ""),  # a key in the code
        ((), "    return MODELS[DEFAULT](x)\n", 'DEFAULT = "vit"\n'),  # a key in a global
        ((), "    return sum(f(x) for f in MODELS.values())\n", ""),  # every entry runs
        ((), "    return MODELS[config.model](x) + vit(x)\n", ""),  # called directly too
    ],
    ids=["config", "literal", "global", "every entry", "direct"],
)
def test_an_entry_a_run_picked_or_may_have_picked_is_a_cause(tmp_path, args, body, extra):
    report = two_runs(tmp_path, *args, body=body, extra=extra, vit=4)
    change = _forward(report)
    assert change["change"] == "callee changed"
    (callee,) = change["callees"]
    assert callee["trace_id"] == "__main__.vit" and callee["entry"] is None
    assert report["verdict"].startswith("Code differs: `forward`")


def test_a_helper_a_picked_entry_calls_is_a_cause_though_an_unpicked_one_calls_it_too(
    tmp_path,
):
    # resnet calls block too: found first, block must not be named by resnet alone
    extra = "def resnet2(x):\n    return block(x)\nMODELS['resnet'] = resnet2\n"
    report = two_runs(tmp_path, "model=vit", extra=extra, block=1)
    change = _forward(report)
    assert change["change"] == "callee changed"
    assert [c["trace_id"] for c in change["callees"]] == ["__main__.block"]


def test_one_function_under_two_keys_is_picked_by_either(tmp_path):
    extra = "MODELS['vit_base'] = vit\n"
    report = two_runs(tmp_path, "model=vit_base", extra=extra, vit=4)
    assert _forward(report)["change"] == "callee changed"
    assert report["verdict"].startswith("Code differs: `forward`")


def test_an_annotation_added_inside_a_picked_entry_is_no_cause(tmp_path):
    head = "class Norm:\n    def __call__(self, x):\n        return x\n"
    write(tmp_path, extra=head)
    path = tmp_path / "train.py"
    path.write_text(path.read_text().replace("def vit(x):", "def vit(x, norm=None):"))
    run(tmp_path, "model=vit")
    path.write_text(path.read_text().replace("norm=None", 'norm: "Norm" = None'))
    run(tmp_path, "model=vit")
    report = explain(tmp_path)
    assert "annotated:" not in str(report)
    assert report["verdict"].startswith("Same code"), report["verdict"]


def test_a_list_of_functions_is_no_registry_each_counts(tmp_path):
    extra = "LAYERS = [resnet, vit]\n"
    body = "    return sum(LAYERS[i](x) for i in range(2))\n"
    report = two_runs(tmp_path, body=body, extra=extra, vit=4)
    assert _forward(report)["change"] == "callee changed"


def test_a_registry_filled_by_a_decorator_names_its_key_in_no_counted_code(tmp_path):
    registry = """
    MODELS = {}

    def register(name):
        def put(cls):
            MODELS[name] = cls
            return cls
        return put

    @register("small")
    class Small:
        def __call__(self, x):
            return x

    @register("big")
    class Big:
        def __call__(self, x):
            return x * {big}
    """
    models = "from registry import MODELS\n"
    body = PROGRAM.format(models=models, body=PICK.replace("](x)", "]()(x)"), default="small")
    (tmp_path / "train.py").write_text(textwrap.dedent(body))
    for big, args in ((2, ()), (3, ()), (3, ("model=big",))):
        (tmp_path / "registry.py").write_text(textwrap.dedent(registry.replace("{big}", str(big))))
        run(tmp_path, *args)
    unpicked = explain(tmp_path, "1", "2")
    (callee,) = _forward(unpicked)["callees"]
    assert (callee["trace_id"], callee["entry"]) == ("registry.Big", "MODELS['big']")
    assert _forward(unpicked)["change"] == "may run changed"
    # run 3 picks it: against run 1, the edit counts (beside the config's change)
    picked = explain(tmp_path, "1", "3")
    assert _forward(picked)["change"] == "callee changed"
    assert _forward(picked)["callees"][0]["entry"] is None


# -- picked(), on its own ------------------------------------------------------------------

VIT = Entry((("MODELS", "vit"),), "m.vit")


@pytest.mark.parametrize(
    ("configs", "sources", "expected"),
    [
        ([{"model": "resnet"}], ["def f(c):\n    return MODELS[c.model]()\n"], False),
        ([{"model": "resnet"}, {"model": "vit"}], ["MODELS[c.model]"], True),
        ([{"models": ["resnet", "vit"]}], ["MODELS[c.model]"], True),  # a list names it
        ([{"model": {"name": "vit"}}], ["MODELS[c.model.name]"], True),  # nested
        ([{}], ["MODELS.get(c.model)"], False),
        ([{}], ["models.MODELS[c.model]"], False),
        ([{}], ["MODELS['vit']"], True),
        ([{}], ["for f in MODELS.values():\n    f()\n"], True),
        ([{}], ["build(MODELS, c)"], True),  # passed on: what happens there is unseen
        ([{}], ["MODELS[1:]"], True),  # a slice of a list runs several
        ([{}], ["def f(:"], True),  # unreadable
        ([{}], ["def f(c):\n    return c\n"], True),  # the registry named nowhere
        ([{}], [], True),
    ],
)
def test_picked_counts_what_cannot_be_shown_unpicked(configs, sources, expected):
    assert picked(VIT, configs, sources) is expected


def test_a_config_names_a_key_as_a_key_too_and_any_of_several_keys_counts():
    assert picked(VIT, [{"losses": {"vit": 0.5}}], ["MODELS[name]"])  # losses.items()
    both = Entry((("MODELS", "vit"), ("MODELS", "vit_base")), "m.vit")
    assert picked(both, [{"model": "vit_base"}], ["MODELS[c.model]"])
    assert not picked(both, [{"model": "resnet"}], ["MODELS[c.model]"])
    other = Entry((("NORMS", "bn"), ("MODELS", "vit")), "m.f")
    assert picked(other, [{}], ["NORMS[c.norm]", "MODELS['vit']"])  # one key named

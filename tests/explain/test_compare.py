"""The comparison on plain facts: each section and the verdict's words."""

from __future__ import annotations

import math

import pytest

from ato.explain import CodeFacts, MetricFacts, RunFacts, compare
from ato.explain.facts import describe_source, flatten
from ato.explain.sections import key_category

CLI = {"kind": "command line", "name": "lr=0.1", "token": "lr=0.1", "priority": None}
DEFAULTS = {"kind": "view", "name": "defaults", "priority": 0}
HIGH_LR = {"kind": "view", "name": "high_lr", "priority": 1}


class Sources:
    """Stored sources and curves, as a database would hand them out."""

    def __init__(self, sources=None, curves=None):
        self.sources, self.curves = sources or {}, curves or {}

    def source(self, fingerprint):
        return self.sources.get(fingerprint)

    def curve(self, run_id, key):
        return self.curves.get((run_id, key), [])


def run(id, **facts):
    facts.setdefault("environment", {"distributions": {"numpy": "1.26.0"}})
    return RunFacts(id=id, **facts)


def test_identical_runs_say_so():
    a = run(1, config={"lr": 0.1}, provenance={"lr": [DEFAULTS]})
    b = run(2, config={"lr": 0.1}, provenance={"lr": [DEFAULTS]})
    report = compare(a, b)
    assert report.verdict == "Same code and environment. Same config."
    assert report.to_dict()["config"] == []


def test_a_command_line_value_is_named_with_its_source():
    a = run(7, config={"lr": 0.01, "epochs": 3}, provenance={"lr": [DEFAULTS]})
    b = run(8, config={"lr": 0.1, "epochs": 3}, provenance={"lr": [CLI, DEFAULTS]})
    report = compare(a, b)
    assert [(c.key, c.before, c.after) for c in report.config] == [("lr", 0.01, 0.1)]
    assert report.verdict == (
        "Same code and environment. Config differs in 1 key: lr 0.01 -> 0.1 "
        "(command line 'lr=0.1' in run 8; view defaults in run 7)."
    )


def test_runs_without_provenance_say_unknown_never_a_wrong_source():
    report = compare(run(1, config={"lr": 1}), run(2, config={"lr": 2}))
    assert report.config[0].source_before == report.config[0].source_after == "unknown"
    assert "Config differs in 1 key: lr 1 -> 2." in report.verdict


def test_structure_added_removed_and_retyped():
    a = run(1, config={"a": 1, "b": 2, "c": 3})
    b = run(2, config={"a": "1", "c": 3, "d": {"e": 4}}, provenance={"d.e": [HIGH_LR]})
    changes = [(c.key, c.change, c.type_before, c.type_after) for c in compare(a, b).structure]
    assert changes == [
        ("a", "retyped", "int", "str"),
        ("b", "removed", "int", None),
        ("d.e", "added", None, "int"),
    ]
    assert "d.e added (view high_lr (priority 1))" in compare(a, b).verdict


def test_tracker_search_and_volatile_keys_are_listed_apart():
    a = run(
        1,
        config={"experiment": {"sql": {"db_path": "a.db"}}, "__budget__": 1, "paths": {"out": "x"}},
        volatile=("paths.*",),
    )
    b = run(
        2,
        config={"experiment": {"sql": {"db_path": "b.db"}}, "__budget__": 3, "paths": {"out": "y"}},
        volatile=("paths.*",),
    )
    report = compare(a, b)
    assert {c.key: c.category for c in report.config} == {
        "experiment.sql.db_path": "tracker",
        "__budget__": "search",
        "paths.out": "volatile",
    }
    assert report.causes == []
    assert "Same config." in report.verdict and "3 other keys differ" in report.verdict


def test_code_changed_and_callee_changed_with_unified_diffs():
    reader = Sources(
        {
            "f1": "def f(x):\n    return relu(x)\n",
            "f2": "def f(x):\n    return gelu(x)\n",
            "h1": "def h():\n    return 1\n",
            "h2": "def h():\n    return 2\n",
        }
    )
    a = run(1, code={"f": CodeFacts("f1", "f1"), "g": CodeFacts("g1", "G1", {"h": "h1"})})
    b = run(2, code={"f": CodeFacts("f2", "f2"), "g": CodeFacts("g1", "G2", {"h": "h2"})})
    report = compare(a, b, reader)
    f, g = report.code
    assert (f.trace_id, f.change) == ("f", "changed")
    assert "-    return relu(x)\n+    return gelu(x)\n" in f.diff
    assert (g.trace_id, g.change, [c.trace_id for c in g.callees]) == ("g", "callee changed", ["h"])
    assert "+    return 2" in g.callees[0].diff
    assert "Code differs: `f` changed; `g` calls changed code (`h`)." in report.verdict


def test_a_source_without_a_final_newline_diffs_line_by_line():
    reader = Sources({"f1": "def f(x):\n    return relu(x)", "f2": "def f(x):\n    return gelu(x)"})
    a = run(1, code={"f": CodeFacts("f1", "f1")})
    b = run(2, code={"f": CodeFacts("f2", "f2")})
    (f,) = compare(a, b, reader).code
    assert "-    return relu(x)\n+    return gelu(x)\n" in f.diff


def test_runtime_divergence_names_the_trace_and_call():
    a = run(1, config={"x": 1}, runtime={"predictions": ["a", "b", "c"], "same": ["z"]})
    b = run(2, config={"x": 1}, runtime={"predictions": ["a", "b", "X"], "same": ["z"]})
    report = compare(a, b)
    assert [(d.trace_id, d.first_call) for d in report.runtime] == [("predictions", 2)]
    assert (
        "Outputs of `predictions` first differ at call 2, with code and config identical "
        "up to there (data, environment or non-determinism)." in report.verdict
    )


def test_a_shorter_runtime_trace_diverges_where_it_stops():
    report = compare(run(1, runtime={"t": ["a"]}), run(2, runtime={"t": ["a", "b"]}))
    assert [(d.first_call, d.calls_before, d.calls_after) for d in report.runtime] == [(1, 1, 2)]


def test_material_environment_changes_only_unless_asked():
    a = run(1, environment={"distributions": {"numpy": "1.16.0"}, "cpu_count": 2})
    b = run(2, environment={"distributions": {"numpy": "1.17.0"}, "cpu_count": 8})
    report = compare(a, b)
    assert [str(c) for c in report.environment] == ["package numpy upgraded: 1.16.0 -> 1.17.0"]
    assert "Environment differs: package numpy upgraded: 1.16.0 -> 1.17.0." in report.verdict
    assert len(compare(a, b, incidental=True).environment) == 2


def test_unknown_environment_is_said():
    report = compare(run(1, environment=None), run(2))
    assert not report.environment_known
    assert report.verdict.startswith(
        "Same code; environments cannot be compared (not recorded for a run)."
    )


def test_metric_outcome_and_where_curves_separate():
    curves = {
        (1, "val_loss"): [(0, 1.0), (1, 0.5), (2, 0.25)],
        (2, "val_loss"): [(0, 1.0), (1, 0.5), (2, 0.3)],
    }
    a = run(1, metrics={"val_loss": MetricFacts(3, 0.25, 1.0, 0.25, 2)})
    b = run(2, metrics={"val_loss": MetricFacts(3, 0.3, 1.0, 0.3, 2)})
    (outcome,) = compare(a, b, Sources(curves=curves)).outcome
    assert (outcome.mode, outcome.best_before, outcome.best_after) == ("min", 0.25, 0.3)
    assert outcome.separates_at_step == 2
    assert "No recorded cause; metrics differ: val_loss 0.25 -> 0.3." in compare(a, b).verdict


def test_command_lines_differ_by_token():
    a = run(1, command={"argv": ["train.py", "lr=0.01"], "script": "train.py", "cwd": "/w"})
    b = run(2, command={"argv": ["train.py", "lr=0.1"], "script": "train.py", "cwd": "/w"})
    change = compare(a, b).command
    assert (change.only_before, change.only_after) == (["lr=0.01"], ["lr=0.1"])


@pytest.mark.parametrize(
    ("source", "words"),
    [
        (CLI, "command line 'lr=0.1'"),
        (DEFAULTS, "view defaults"),
        (HIGH_LR, "view high_lr (priority 1)"),
        ({"kind": "lazy view", "name": "shape"}, "lazy view shape"),
        ({"kind": "search", "priority": 2}, "search (rung 2)"),
        ({"kind": "code", "name": "train.py:12", "file": "/w/train.py"}, "code at train.py:12"),
        ({"kind": "unknown", "text": "command line (lr=0.1)"}, "command line (lr=0.1)"),
        (None, "unknown"),
    ],
)
def test_sources_in_words(source, words):
    assert describe_source(source) == words


def test_flatten_walks_mappings_like_the_structural_hash():
    assert dict(flatten({"a": {"b": 1, "c": {}}, "d": [1, {"e": 2}]})) == {
        "a.b": 1,
        "a.c": {},
        "d": [1, {"e": 2}],
    }


def test_key_categories():
    assert key_category("experiment.project_name") == "tracker"
    assert key_category("__num_halved__") == "search"
    assert key_category("paths.output_dir", ("paths.*",)) == "volatile"
    assert key_category("lr", ("paths.*",)) == "config"


def test_nan_values_are_equal():
    assert compare(run(1, config={"x": math.nan}), run(2, config={"x": math.nan})).config == []


def test_a_changed_function_whose_callee_changed_too_names_both():
    a = run(1, code={"f": CodeFacts("f1", "F1", {"h": "h1"})})
    b = run(2, code={"f": CodeFacts("f2", "F2", {"h": "h2"})})
    assert "`f` changed, and calls changed code (`h`)." in compare(a, b).verdict


def test_a_tuple_that_becomes_a_list_is_a_config_change_not_hidden():
    # YAML has no tuples: a view's (0.9, 0.99) against a file's [0.9, 0.999] is the same
    # structure (both 'list'), so only the value section can report it.
    a = run(1, config={"betas": (0.9, 0.99)})
    b = run(2, config={"betas": [0.9, 0.999]})
    report = compare(a, b)
    assert [(c.key, c.before, c.after) for c in report.config] == [
        ("betas", (0.9, 0.99), [0.9, 0.999])
    ]
    assert "Same config" not in report.verdict


def test_a_retyped_key_is_a_structure_change_and_not_reported_twice():
    report = compare(run(1, config={"lr": 1}), run(2, config={"lr": "1"}))
    assert [c.key for c in report.structure] == ["lr"] and report.config == []


def test_arrays_differing_in_a_middle_element_differ():
    np = pytest.importorskip("numpy")
    before = np.zeros(5000)
    after = before.copy()
    after[2500] = 1.0
    report = compare(run(1, config={"w": before}), run(2, config={"w": after}))
    assert [c.key for c in report.config] == ["w"]
    same = compare(run(1, config={"w": before}), run(2, config={"w": before.copy()}))
    assert same.config == []


def test_nan_inside_lists_and_mappings_is_the_same_nan():
    config = {"values": [1.0, math.nan], "nested": {"a": [math.nan, {"b": math.nan}]}}
    twin = {"values": [1.0, float("nan")], "nested": {"a": [float("nan"), {"b": math.nan}]}}
    report = compare(run(1, config=config), run(1, config=twin))
    assert report.config == [] and report.verdict.endswith("Same config.")


@pytest.mark.parametrize(
    ("key", "category"),
    [
        ("experiment.project_name", "tracker"),
        ("experiment.sql.db_path", "tracker"),
        ("experiment.volatile", "tracker"),
        ("experiment.seed", "config"),
        ("experiment.lr", "config"),
    ],
)
def test_only_the_trackers_own_experiment_keys_are_plumbing(key, category):
    assert key_category(key) == category


def test_a_code_change_is_never_followed_by_no_recorded_cause():
    moved = {"loss": MetricFacts(3, 0.2, 1.0, 0.2, 2)}
    a = run(1, code={"f": CodeFacts("f1", "f1")}, metrics=moved)
    b = run(
        2, code={"f": CodeFacts("f2", "f2")}, metrics={"loss": MetricFacts(3, 0.3, 1.0, 0.3, 2)}
    )
    report = compare(a, b)
    assert report.verdict.startswith("Code differs: `f` changed.")
    assert "No recorded cause" not in report.verdict
    assert report.verdict.endswith("Same config. Metrics differ: loss 0.2 -> 0.3.")


def test_an_environment_change_is_never_followed_by_no_recorded_cause():
    moved = {"loss": MetricFacts(3, 0.2, 1.0, 0.2, 2)}
    a = run(1, metrics=moved)
    b = run(
        2,
        environment={"distributions": {"numpy": "2.0.0"}},
        metrics={"loss": MetricFacts(3, 0.3, 1.0, 0.3, 2)},
    )
    assert "No recorded cause" not in compare(a, b).verdict


@pytest.mark.parametrize(
    ("status", "words"),
    [
        ("killed", "run 12 was killed: its values are where it stopped"),
        ("crashed", "run 12 crashed: its values are where it stopped"),
        ("failed", "run 12 failed: its values are where it stopped"),
        ("running", "run 12 is still running: its values are those so far"),
    ],
)
def test_a_run_that_did_not_complete_says_so_first(status, words):
    a = run(1, status="completed", config={"epochs": 100})
    b = run(12, status=status, config={"epochs": 100})
    verdict = compare(a, b).verdict
    assert verdict.startswith(words[0].upper() + words[1:] + ".")


def test_a_run_cut_short_on_the_same_curve_says_where_it_stopped_not_no_cause():
    curve = [(step, 1.0 / (step + 1)) for step in range(64)]
    reader = Sources(curves={(1, "loss"): curve, (2, "loss"): curve[:24]})
    a = run(1, status="completed", metrics={"loss": MetricFacts(64, 1 / 64, 1.0, 1 / 64, 63)})
    b = run(2, status="crashed", metrics={"loss": MetricFacts(24, 1 / 24, 1.0, 1 / 24, 23)})
    verdict = compare(a, b, reader).verdict
    assert verdict == (
        "Run 2 crashed: its values are where it stopped. Same code and environment. Same "
        "config. Curves agree on every step both runs logged: loss up to step 23, where run "
        "2 stopped (run 1 went on to step 63)."
    )
    apart = Sources(curves={(1, "loss"): curve, (2, "loss"): [(s, v * 2) for s, v in curve[:24]]})
    assert "No recorded cause; metrics differ: loss" in compare(a, b, apart).verdict


def test_curves_logged_out_of_order_or_barely_overlapping_are_not_cut_short():
    shuffled = [(3, 0.3), (1, 0.1), (5, 0.5), (2, 0.2), (4, 0.4)]
    in_order = sorted(shuffled)
    reader = Sources(curves={(1, "val_loss"): in_order, (2, "val_loss"): shuffled})
    a = run(1, metrics={"val_loss": MetricFacts(5, 0.1, 0.5, 0.5, 5)})
    b = run(2, metrics={"val_loss": MetricFacts(5, 0.1, 0.5, 0.4, 4)})  # last logged: step 4
    assert "stopped" not in compare(a, b, reader).verdict
    one = Sources(curves={(1, "loss"): [(1, 1.0), (63, 0.1)], (2, "loss"): [(63, 0.1), (99, 0.05)]})
    c = run(1, metrics={"loss": MetricFacts(2, 0.1, 1.0, 0.1, 63)})
    d = run(2, status="crashed", metrics={"loss": MetricFacts(2, 0.05, 0.1, 0.05, 99)})
    assert "Curves agree" not in compare(c, d, one).verdict


def test_a_loss_that_ends_in_nan_in_both_runs_is_no_difference():
    nan = float("nan")
    curve = [(0, 1.0), (1, nan)]
    reader = Sources(curves={(1, "loss"): curve, (2, "loss"): curve})
    a = run(1, metrics={"loss": MetricFacts(2, 1.0, 1.0, nan, 1)})
    b = run(2, metrics={"loss": MetricFacts(2, 1.0, 1.0, nan, 1)})
    assert compare(a, b, reader).verdict == "Same code and environment. Same config."


def test_completed_runs_and_runs_of_unknown_status_add_nothing():
    for status in ("completed", None):
        verdict = compare(run(1, status=status), run(2, status=status)).verdict
        assert verdict == "Same code and environment. Same config."


def test_counts_agree_with_their_nouns():
    a = run(1, config={"experiment": {"project_name": "a"}}, runtime={"p": ["x"]})
    b = run(2, config={"experiment": {"project_name": "b"}}, runtime={"p": []})
    verdict = compare(a, b).verdict
    assert "1 other key differs (tracker)" in verdict
    assert "(1 call in run 1, 0 in run 2)" in verdict


def test_a_function_traced_under_another_module_name_is_the_same_function():
    # python train.py traces __main__.train_step; import train; train.main() traces
    # train.train_step: the same code, not one function removed and another added.
    code = CodeFacts("f1", "F1", {"__main__.scale": "s1"})
    moved = CodeFacts("f1", "F1b", {"train.scale": "s1"})
    report = compare(
        run(1, code={"__main__.train_step": code}), run(4, code={"train.train_step": moved})
    )
    assert [(c.trace_id, c.change, c.was) for c in report.code] == [
        ("train.train_step", "renamed", "__main__.train_step")
    ]
    assert report.verdict == "Same code and environment. Same config."


def test_a_renamed_function_with_the_same_code_is_no_code_change():
    a = run(1, code={"__main__.train_step": CodeFacts("f1", "f1")})
    b = run(3, code={"__main__.sgd_update": CodeFacts("f1", "f1")})
    report = compare(a, b)
    assert [(c.trace_id, c.change, c.was) for c in report.code] == [
        ("__main__.sgd_update", "renamed", "__main__.train_step")
    ]
    assert report.verdict.startswith("Same code and environment.")


def test_a_function_moved_to_another_module_and_edited_shows_its_diff():
    sources = Sources(
        {"f1": "def step(x):\n    return x\n", "f2": "def step(x):\n    return 2 * x\n"}
    )
    a = run(1, code={"__main__.step": CodeFacts("f1", "f1")})
    b = run(2, code={"train.step": CodeFacts("f2", "f2")})
    (change,) = compare(a, b, sources).code
    assert (change.trace_id, change.change, change.was) == (
        "train.step",
        "changed",
        "__main__.step",
    )
    assert "+    return 2 * x" in change.diff
    assert "Code differs: `train.step` (was `__main__.step`) changed" in compare(a, b).verdict


def test_a_callee_seen_under_another_module_name_with_other_code_is_named_once():
    a = run(1, code={"step": CodeFacts("f1", "F1", {"__main__.scale": "s1"})})
    b = run(2, code={"step": CodeFacts("f1", "F2", {"train.scale": "s2"})})
    (change,) = compare(a, b).code
    assert change.change == "callee changed"
    assert [(c.trace_id, c.before, c.after) for c in change.callees] == [
        ("train.scale", "s1", "s2")
    ]


def test_unrelated_functions_stay_removed_and_added():
    a = run(1, code={"m.f": CodeFacts("f1", "f1"), "m.g": CodeFacts("g1", "g1")})
    b = run(2, code={"m.h": CodeFacts("h1", "h1"), "m.g": CodeFacts("g1", "g1")})
    changes = {(c.trace_id, c.change, c.was) for c in compare(a, b).code}
    assert changes == {("m.f", "removed", None), ("m.h", "added", None)}


def test_a_changed_global_value_reads_as_a_value_not_as_code():
    sources = Sources({"value:1": "SCALE = 2\n", "value:2": "SCALE = 5\n"})
    a = run(1, code={"step": CodeFacts("f1", "F1", {"__main__.SCALE": "value:1", "h": "h1"})})
    b = run(2, code={"step": CodeFacts("f1", "F2", {"__main__.SCALE": "value:2", "h": "h2"})})
    report = compare(a, b, sources)
    assert report.verdict.startswith(
        "Code differs: `step` calls changed code (`h`) and reads changed values (`__main__.SCALE`)."
    )
    (change,) = report.code
    value = next(c for c in change.callees if c.trace_id == "__main__.SCALE")
    assert "-SCALE = 2" in value.diff and "+SCALE = 5" in value.diff


def test_outputs_that_could_not_be_hashed_are_never_the_same():
    # 'cat' and 'dog' both recorded as "unhashable: ...": equal strings, unknown outputs.
    reason = "unhashable: a range cannot be hashed"
    a = run(1, runtime={"predict": ["h1", reason, "h3"]})
    b = run(2, runtime={"predict": ["h1", reason, "h3"]})
    report = compare(a, b)
    (divergence,) = report.runtime
    assert (divergence.first_call, divergence.comparable) == (1, False)
    assert report.verdict.endswith(
        "Outputs of `predict` cannot be compared from call 1: a range cannot be hashed "
        "(give runtime_trace an inspect_fn that returns values it can hash)."
    )
    assert "No recorded cause" not in report.verdict


def test_a_key_holding_a_dot_is_not_the_nested_key_of_that_path():
    a = run(1, config={"x": {"y": 1}, "x.y": 5})
    b = run(2, config={"x": {"y": 5}, "x.y": 5})
    report = compare(a, b)
    assert [(c.key, c.before, c.after) for c in report.config] == [("x.y", 1, 5)]
    assert dict(flatten({"a.b": 1, "c": {"d.e": 2}})) == {"['a.b']": 1, "c['d.e']": 2}


def test_a_value_no_longer_read_or_a_helper_newly_called_is_said_so():
    a = run(1, code={"f": CodeFacts("f1", "F1", {"__main__.EPS": "value:1", "g": "g1"})})
    b = run(2, code={"f": CodeFacts("f1", "F2", {"g": "g1", "h": "h1"})})
    verdict = compare(a, b).verdict
    assert "`f` now calls (`h`) and no longer reads (`__main__.EPS`)." in verdict


def test_search_sources_read_with_their_rung():
    searched = {"kind": "search", "name": "search (bracket 0, rung 1)", "priority": None}
    kept = {"kind": "search bookkeeping", "name": "search bookkeeping (rung 2)", "priority": None}
    assert describe_source(searched) == "search (bracket 0, rung 1)"
    assert describe_source(kept) == "search bookkeeping (rung 2)"
    assert describe_source({"kind": "search", "priority": 3}) == "search (rung 3)"


def test_callees_that_only_end_alike_are_different_functions():
    """models.small.build and models.big.build: another model, not an edit of one (it
    read as `build` changed, with a diff between two unrelated functions)."""
    sources = Sources(
        {"s1": "def build(x):\n    return x\n", "b1": "def build(x):\n    return 3\n"}
    )
    a = run(1, code={"step": CodeFacts("f1", "F1", {"models.small.build": "s1"})})
    b = run(2, code={"step": CodeFacts("f1", "F2", {"models.big.build": "b1"})})
    (change,) = compare(a, b, sources).code
    assert [(c.trace_id, c.before, c.after, c.diff) for c in change.callees] == [
        ("models.big.build", None, "b1", None),
        ("models.small.build", "s1", None, None),
    ]


def test_a_module_imported_as_it_runs_counts_only_when_both_runs_saw_it_and_it_differs():
    sources = Sources(
        {"m1": "def build(x):\n    return x\n", "m2": "def build(x):\n    return 2 * x\n"}
    )
    before = {"?models.big": "m1", "?models.small": "m1", "?models.gone": "m1"}
    after = {"?models.big": "m2", "?models.small": "m1", "?models.new": "m1"}
    a = run(1, code={"step": CodeFacts("f1", "f1", before)})
    b = run(2, code={"step": CodeFacts("f1", "f1", after)})
    report = compare(a, b, sources)
    (change,) = report.code
    assert change.change == "may run changed"
    ((name, may_run, diff),) = [(c.trace_id, c.may_run, c.diff) for c in change.callees]
    assert (name, may_run) == ("models.big", True)
    assert "+    return 2 * x" in diff
    # a possible cause, never the lead: which module the run imported is not recorded
    assert report.verdict.startswith(
        "Same code and environment, apart from 1 module imported as it runs, a cause if "
        "the run imported it: `models.big` (by `step`)."
    ), report.verdict
    # another module picked, or one added or removed: no code change
    b = run(2, code={"step": CodeFacts("f1", "f1", {"?models.small": "m1", "?models.new": "m2"})})
    assert compare(a, b).code == []
    assert compare(a, b).verdict.startswith("Same code and environment.")


def test_functions_of_a_module_imported_as_it_runs_loaded_in_one_run_only_are_no_change():
    """Run 2 ran after another run in its process had imported models.small: what the
    module holds is found there only ("?models.small.build"). Not a code change (it read
    "now calls")."""
    module = {"?models.small": "module:1"}
    a = run(1, code={"step": CodeFacts("f1", "F1", module)})
    loaded = {**module, "?models.small.build": "b1"}
    b = run(2, code={"step": CodeFacts("f1", "F1", loaded)})
    assert compare(a, b).code == []
    assert compare(b, a).code == []
    # loaded in both and edited: the function is named, with the module, as possible
    edited = {"?models.small": "module:2", "?models.small.build": "b2"}
    c = run(3, code={"step": CodeFacts("f1", "F2", edited)})
    report = compare(b, c)
    (change,) = report.code
    assert change.change == "may run changed"
    assert [(x.trace_id, x.may_run) for x in change.callees] == [
        ("models.small", True),
        ("models.small.build", True),
    ]
    assert report.verdict.startswith(
        "Same code and environment, apart from 1 module imported as it runs, a cause if "
        "the run imported it: `models.small` (by `step`)."
    ), report.verdict


STEP = """@scope.trace(trace_id="train_step")
def train_step(x, lr):
    # one step
    return x - lr * {call}(x)
"""


def helper_renamed(call_before, call_after, before, after, helper_before="h1", helper_after="h1"):
    """Runs whose traced ``train_step`` calls ``call_before`` / ``call_after``, known as
    the callees ``before`` / ``after`` of the given fingerprints."""
    sources = Sources({"f1": STEP.format(call=call_before), "f2": STEP.format(call=call_after)})
    a = run(1, code={"train_step": CodeFacts("f1", "F1", {before: helper_before})})
    b = run(2, code={"train_step": CodeFacts("f2", "F2", {after: helper_after})})
    return compare(a, b, sources)


@pytest.mark.parametrize(
    ("call_before", "call_after", "before", "after"),
    [
        ("scale", "scale_by", "__main__.scale", "__main__.scale_by"),
        ("ops.scale", "ops.scale_by", "ops.scale", "ops.scale_by"),
        ("lib.ops.scale", "lib.ops.scale_by", "lib.ops.scale", "lib.ops.scale_by"),
        ("scale", "scale_by", "ops.scale", "ops.scale_by"),  # from ops import scale
    ],
)
def test_a_helper_renamed_with_its_calls_and_the_same_code_is_no_cause(
    call_before, call_after, before, after
):
    report = helper_renamed(call_before, call_after, before, after)
    (change,) = report.code
    assert (change.trace_id, change.change) == ("train_step", "renamed")
    assert change.helpers_renamed == {before: after}
    assert report.verdict == "Same code and environment. Same config."


def test_a_renamed_helper_whose_code_changed_too_is_a_cause():
    report = helper_renamed("scale", "scale_by", "__main__.scale", "__main__.scale_by", "h1", "h2")
    (change,) = report.code
    assert change.change == "changed" and "+    return x - lr * scale_by(x)" in change.diff


@pytest.mark.parametrize(
    ("before_text", "after_text"),
    [
        # the renamed call and another edit
        ("return x - lr * scale(x)", "return x + lr * scale_by(x)"),
        # an attribute of something else that happens to share the helper's name
        ("return x - lr * scale(x) * cfg.scale", "return x - lr * scale_by(x) * cfg.scale_by"),
        # a builtin of the old name beside the helper reached through its module
        ("return ops.round(x) + round(x)", "return ops.quantize(x) + quantize(x)"),
        # another function imported under the old name: from math import sqrt as scale
        ("return ops.scale(x) + scale(x)", "return ops.scale_by(x) + scale_by(x)"),
        # the name as a string: getattr(ops, "scale") would find nothing under the new name
        (
            'return x - lr * scale(x) + len("scale")',
            'return x - lr * scale_by(x) + len("scale_by")',
        ),
    ],
)
def test_a_helper_rename_does_not_hide_another_edit(before_text, after_text):
    template = "def train_step(x, lr):\n    {}\n"
    sources = Sources({"f1": template.format(before_text), "f2": template.format(after_text)})
    callees = [("__main__.scale", "__main__.scale_by"), ("ops.scale", "ops.scale_by")]
    if "round" in before_text:
        callees = [("ops.round", "ops.quantize")]
    for old, new in callees:
        a = run(1, code={"train_step": CodeFacts("f1", "F1", {old: "h1"})})
        b = run(2, code={"train_step": CodeFacts("f2", "F2", {new: "h1"})})
        (change,) = compare(a, b, sources).code
        assert change.change == "changed"
        assert "Code differs: `train_step` changed" in compare(a, b, sources).verdict


def test_a_helper_renamed_without_stored_sources_stays_a_change():
    a = run(1, code={"train_step": CodeFacts("f1", "F1", {"__main__.scale": "h1"})})
    b = run(2, code={"train_step": CodeFacts("f2", "F2", {"__main__.scale_by": "h1"})})
    (change,) = compare(a, b).code
    assert change.change == "changed"


def test_with_no_recorded_cause_what_is_called_on_an_unannotated_argument_is_named():
    source = (
        "def step(self, model, log, batch: Batch, opt=OPT, n=0):\n"
        "    log.history.append(n)\n    opt.step()\n    batch.to('cpu')\n"
        "    return model(batch)\n"
    )
    code = {"step": CodeFacts("s1", "s1")}
    a = run(1, code=code, metrics={"loss": MetricFacts(3, 0.2, 1.0, 0.2, 2)})
    b = run(2, code=code, metrics={"loss": MetricFacts(3, 0.3, 1.0, 0.3, 2)})
    report = compare(a, b, Sources({"s1": source}))
    assert report.unseen == {"step": {"model": "model(...)", "log": "log.history.append(...)"}}
    assert report.verdict.endswith(
        "No recorded cause; metrics differ: loss 0.2 -> 0.3. Not seen: what `step` calls on "
        "its arguments model (model(...)), log (log.history.append(...)), which no signature "
        "names. Name it there so that an edit to it counts: a class as the annotation "
        "(model: Net), a function as the default (fn=loss_fn)."
    )
    assert report.to_dict()["unseen"] == report.unseen
    # With a recorded cause, or metrics the same, nothing more is said.
    same = compare(a, run(2, code=code, metrics=a.metrics), Sources({"s1": source}))
    assert "Not seen" not in same.verdict


@pytest.mark.parametrize(
    "source",
    [
        "def step(model: Net, x):\n    return model(x)\n",  # annotated
        "def step(x, model=MODEL):\n    return model(x)\n",  # its default names it
        "def step(model, x):\n    model = build()\n    return model(x)\n",  # rebound
        "def step(model, x):\n    def inner(model):\n        return model(x)\n",  # its own
        "def step(fn, x):\n    return list(map(lambda fn: fn(x), [len]))\n",
        "def step(x):\n    return x + 1\n",  # nothing called on it
        "lambda x: x()\n",  # no def
        "def (:\n",  # no Python
    ],
)
def test_arguments_whose_class_is_named_or_never_called_are_not_listed(source):
    from ato.explain.unseen import called_arguments

    assert called_arguments(source) == {}

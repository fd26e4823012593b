"""``ato explain``'s text rendering of a comparison (the comparison itself is tested in
tests/explain)."""

from __future__ import annotations

import io

from ato.commands.explain import render
from ato.commands.output import Output
from ato.explain import RunFacts, compare


def rendered(a: RunFacts, b: RunFacts) -> str:
    stream = io.StringIO()
    render(compare(a, b), Output(stream=stream))
    return stream.getvalue()


def test_the_heading_names_both_projects_when_they_differ():
    text = rendered(RunFacts(id=1, project="vision"), RunFacts(id=2, project="speech"))
    assert text.splitlines()[0].startswith("Run 1 -> run 2 (vision -> speech)")


def test_the_heading_names_a_shared_project_once():
    text = rendered(RunFacts(id=1, project="vision"), RunFacts(id=2, project="vision"))
    assert text.splitlines()[0].startswith("Run 1 -> run 2 (vision)")


def test_a_renamed_function_reads_as_the_same_code():
    from ato.explain import CodeFacts

    a = RunFacts(id=1, code={"__main__.step": CodeFacts("f1", "f1")})
    b = RunFacts(id=2, code={"train.step": CodeFacts("f1", "f1")})
    assert "train.step: __main__.step in run 1, the same code" in rendered(a, b)


def test_a_missing_environment_names_the_run_without_one():
    known = {"distributions": {"numpy": "1.26.0"}}
    assert "not recorded for run 2" in rendered(
        RunFacts(id=1, environment=known), RunFacts(id=2, environment=None)
    )
    assert "not recorded for either run" in rendered(RunFacts(id=1), RunFacts(id=2))

"""Callee names of registry entries: written by ato.callees, read back exactly."""

from __future__ import annotations

import sys
import textwrap

from hypothesis import given
from hypothesis import strategies as st

from ato.callees import callees
from ato.registry_entries import (
    Entry,
    RegistryKey,
    entry_name,
    is_markable,
    parse_entry,
    plain_name,
)

keys = st.one_of(st.text(), st.integers())
registries = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True)
callee_names = st.text(min_size=1).filter(lambda text: "\0" not in text)


@given(registries, keys, callee_names)
def test_an_entry_name_reads_back_whatever_the_key_and_callee(registry, key, callee):
    name = entry_name(registry, key, callee)
    assert parse_entry(name) == Entry(registry, key, callee)
    assert plain_name(name) == callee


@given(st.text())
def test_any_other_name_is_no_entry_and_is_its_own_plain_name(name):
    if not name.startswith("entry:"):
        assert parse_entry(name) is None
        assert plain_name(name) == name


def test_malformed_marks_are_no_entries():
    for name in ("entry:", "entry:MODELS", 'entry:MODELS["a"', "entry:M[true]:x", "entry:M[1.5]:x"):
        assert parse_entry(name) is None


def test_only_str_and_int_keys_are_marked():
    assert is_markable("vit") and is_markable(3)
    assert not is_markable(True) and not is_markable(1.0) and not is_markable(("a", 1))
    assert RegistryKey("ACTS", "relu") == "ACTS['relu']"
    assert Entry("ACTS", "relu", "m.relu").shown == "ACTS['relu']"


def _module(tmp_path, name, source):
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    sys.path.insert(0, str(tmp_path))
    try:
        return __import__(name)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(name, None)


def test_what_only_an_entry_reaches_is_named_as_that_entry(tmp_path):
    module = _module(
        tmp_path,
        "entries_reach",
        """
        SCALE = 3

        def shared(x):
            return x

        def block(x):
            return x * SCALE

        def small(x):
            return shared(x)

        def big(x):
            return block(shared(x))

        MODELS = {"small": small, "big": big}
        PAIR = (small, big)

        def forward(x, name):
            return MODELS[name](x) + shared(x)
        """,
    )
    found = dict(callees(module.forward))
    assert {plain_name(name) for name in found} >= {"entries_reach.block", "entries_reach.big"}
    assert "entries_reach.shared" in found  # reached directly too: its own name
    assert 'entry:MODELS["big"]:entries_reach.big' in found
    assert 'entry:MODELS["big"]:entries_reach.block' in found  # only big calls it
    assert 'entry:MODELS["big"]:entries_reach.SCALE' in found  # only block reads it
    assert 'entry:MODELS["small"]:entries_reach.small' in found
    assert "entries_reach.MODELS" in found  # the registry's own code, read directly

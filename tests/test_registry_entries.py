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

registries = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.]{0,20}", fullmatch=True)
pairs = st.lists(st.tuples(registries, st.text()), min_size=1, max_size=4)
callee_names = st.text(min_size=1)


@given(pairs, callee_names)
def test_an_entry_name_reads_back_whatever_the_keys_and_callee(keys, callee):
    name = entry_name(keys, callee)
    assert parse_entry(name) == Entry(tuple(keys), callee)
    assert plain_name(name) == callee


@given(st.text())
def test_any_other_name_is_no_entry_and_is_its_own_plain_name(name):
    if not name.startswith("entry:"):
        assert parse_entry(name) is None
        assert plain_name(name) == name


def test_malformed_marks_are_no_entries():
    for name in (
        "entry:",
        "entry:MODELS",
        'entry:[["M", "a"]]',  # no callee
        "entry:[]:x",
        'entry:[["M", 1]]:x',  # a key that is no string
        'entry:[["M"]]:x',
        'entry:{"M": "a"}:x',
    ):
        assert parse_entry(name) is None, name


def test_only_string_keys_are_entries():
    assert is_markable("vit")
    assert not is_markable(3) and not is_markable(True) and not is_markable(("a", 1))
    assert RegistryKey("ACTS", "relu") == "ACTS['relu']"
    assert Entry((("ACTS", "relu"), ("NORMS", "bn")), "m.f").shown == "ACTS['relu'], NORMS['bn']"


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
    assert "entries_reach.shared" in found  # reached directly too: its own name
    assert 'entry:[["MODELS", "big"]]:entries_reach.big' in found
    assert 'entry:[["MODELS", "big"]]:entries_reach.block' in found  # only big calls it
    assert 'entry:[["MODELS", "big"]]:entries_reach.SCALE' in found  # only block reads it
    assert 'entry:[["MODELS", "small"]]:entries_reach.small' in found
    assert "entries_reach.MODELS" in found  # the registry's own code, read directly


def test_what_several_entries_reach_is_named_by_each_and_lists_are_no_registries(tmp_path):
    module = _module(
        tmp_path,
        "entries_shared",
        """
        def block(x):
            return x

        def resnet(x):
            return block(x)

        def vit(x):
            return block(x) * 2

        def first(x):
            return x

        MODELS = {"resnet": resnet, "vit": vit, "vit_base": vit}
        LAYERS = [first]

        def forward(x, name):
            return MODELS[name](x) + LAYERS[0](x)
        """,
    )
    found = dict(callees(module.forward))
    both = '[["MODELS", "resnet"], ["MODELS", "vit"], ["MODELS", "vit_base"]]'
    assert f"entry:{both}:entries_shared.block" in found
    assert 'entry:[["MODELS", "vit"], ["MODELS", "vit_base"]]:entries_shared.vit' in found
    assert "entries_shared.first" in found  # a list's item: called, as a loop would

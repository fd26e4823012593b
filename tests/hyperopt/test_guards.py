"""ato.hyperopt.guards: what a search refuses before its first trial."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ato.hyperopt.guards import first_difference

keys = st.text(alphabet="abc", min_size=1, max_size=3)
leaves = st.one_of(st.integers(), st.text(max_size=3), st.lists(st.integers(), max_size=3))
settings = st.recursive(
    st.dictionaries(keys, leaves, max_size=3),
    lambda inner: st.dictionaries(keys, st.one_of(leaves, inner), max_size=3),
    max_leaves=10,
)


@given(settings)
def test_equal_settings_have_no_difference(value):
    assert first_difference(value, value) is None


@given(settings, st.lists(keys, min_size=1, max_size=3), st.integers())
def test_a_changed_leaf_is_found_by_its_dotted_path(value, path, new):
    changed = dict(value)
    node = changed
    for key in path[:-1]:
        node[key] = dict(node[key]) if isinstance(node.get(key), dict) else {}
        node = node[key]
    old = node.get(path[-1], object())
    node[path[-1]] = new
    if old == new:
        return
    where, ours, theirs = first_difference(value, changed)
    assert theirs == new or isinstance(theirs, dict) or ours is None
    assert ".".join(path).startswith(where) or where.startswith(".".join(path))

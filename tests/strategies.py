"""Hypothesis strategies for configs, shared by the property-based tests."""

from __future__ import annotations

from hypothesis import strategies as st

keys = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=12,
)
identifier_keys = st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True)

finite_floats = st.floats(allow_nan=False, allow_infinity=False)
any_floats = st.floats(allow_nan=False)  # NaN never equals itself; tested on its own

texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=20,
)

scalars = st.one_of(st.none(), st.booleans(), st.integers(), any_floats, texts)


def configs(leaves: st.SearchStrategy[object] = scalars, key_strategy=keys, max_leaves: int = 25):
    """Nested dicts (and lists) of ``leaves`` with string keys."""
    return st.recursive(
        st.dictionaries(key_strategy, leaves, max_size=5),
        lambda children: st.one_of(
            st.dictionaries(key_strategy, children, max_size=5),
            st.lists(children, max_size=4).map(lambda items: {"items": items}),
        ),
        max_leaves=max_leaves,
    )


def values(leaves: st.SearchStrategy[object] = scalars, key_strategy=keys):
    """Any nested value: scalars, lists and dicts."""
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=4), st.dictionaries(key_strategy, children, max_size=4)
        ),
        max_leaves=20,
    )

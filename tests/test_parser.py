"""The command-line grammar: a table of tokens, errors, and properties."""

from __future__ import annotations

import contextlib
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ato.errors import OverrideParseError
from ato.parser import (
    Command,
    Override,
    ViewName,
    format_value,
    parse_command,
    parse_token,
    parse_value,
    split_argv,
)

VALUES = [
    ("lr=0.01", "lr", 0.01),
    ("epochs=300", "epochs", 300),
    ("a=-3", "a", -3),
    ("lr=1e-3", "lr", 0.001),
    ("x=-0.5", "x", -0.5),
    ("x=.5", "x", 0.5),
    ("x=5.", "x", 5.0),
    ("x=1E5", "x", 100000.0),
    ("x=inf", "x", math.inf),
    ("x=-inf", "x", -math.inf),
    ("flag=true", "flag", True),
    ("flag=True", "flag", True),
    ("flag=false", "flag", False),
    ("flag=False", "flag", False),
    ("x=none", "x", None),
    ("x=null", "x", None),
    ("x=None", "x", None),
    ("x=TRUE", "x", "TRUE"),
    ("model=resnet50", "model", "resnet50"),
    ("model.backbone.depth=50", "model.backbone.depth", 50),
    ("date=2018-11-25", "date", "2018-11-25"),
    ("ckpt=epoch=999-step=87999.ckpt", "ckpt", "epoch=999-step=87999.ckpt"),
    ("email=a@b.com", "email", "a@b.com"),
    ("path=/data/x%y", "path", "/data/x%y"),
    ("pct=50%", "pct", "50%"),
    ("id=007", "id", "007"),
    ("v=1.2.3", "v", "1.2.3"),
    ("n=1_000", "n", "1_000"),
    ("name=%any text with spaces%", "name", "any text with spaces"),
    ("name=%%", "name", ""),
    ("name=%a%b%", "name", "a%b"),
    ("dataset=%cifar10%", "dataset", "cifar10"),
    ("tag:=007", "tag", "007"),
    ("tag:=[1, 2]", "tag", "[1, 2]"),
    ("t:=%x%", "t", "%x%"),
    ("s='a b'", "s", "a b"),
    ('s="x"', "s", "x"),
    (r"s='it\'s'", "s", "it's"),
    (r"s='a\nb'", "s", "a\nb"),
    ("e=", "e", ""),
    ("layers=[64, 128, [1, 2]]", "layers", [64, 128, [1, 2]]),
    ("l=[]", "l", []),
    ("l=[1,]", "l", [1]),
    ("l=[a, b c, 'd,e']", "l", ["a", "b c", "d,e"]),
    ("l=[%x y%, true, none]", "l", ["x y", True, None]),
    ("t=(0.9, 0.99)", "t", (0.9, 0.99)),
    ("t=(1,)", "t", (1,)),
    ("t=(1)", "t", 1),
    ("t=()", "t", ()),
    (
        "opt={'name': 'adam', 'betas': (0.9, 0.99)}",
        "opt",
        {"name": "adam", "betas": (0.9, 0.99)},
    ),
    ("d={lr: 0.1, sched: {name: cos}}", "d", {"lr": 0.1, "sched": {"name": "cos"}}),
    ("d={}", "d", {}),
    ("d={1: a}", "d", {1: "a"}),
    ("x=__import__('os').system('echo hi')", "x", "__import__('os').system('echo hi')"),
    ("x=exec('1')", "x", "exec('1')"),
    ("x=os.system", "x", "os.system"),
    ("x=[__import__('os')]", "x", ["__import__('os')"]),
]


@pytest.mark.parametrize(("token", "key", "value"), VALUES, ids=[row[0] for row in VALUES])
def test_token_values(token, key, value):
    parsed = parse_token(token)
    assert isinstance(parsed, Override)
    assert parsed.key == key
    assert parsed.value == value or (value != value and parsed.value != parsed.value)
    assert type(parsed.value) is type(value)


def test_nan():
    assert math.isnan(parse_token("x=nan").value)


@pytest.mark.parametrize(
    ("token", "kind"),
    [
        ("high_lr", ViewName),
        ("model.high_lr", ViewName),
        ("manual", Command),
        ("print", Command),
        ("--help", Command),
        ("-h", Command),
    ],
)
def test_view_names_and_commands(token, kind):
    parsed = parse_token(token)
    assert type(parsed) is kind
    assert parsed == token


ERRORS = [
    ("eps=[1,", "Cannot parse override 'eps=[1,' (key 'eps'): unclosed '[' at column 5"),
    ("x=(1, 2", "unclosed '(' at column 3"),
    ("x={a: 1", "unclosed '{' at column 3"),
    ("x=[[1]", "unclosed '[' at column 3"),
    ("x=%abc", "(key 'x'): unclosed '%'"),
    ("x=%", "unclosed '%'"),
    ("x=[%abc]", "unclosed '%' at column 4"),
    ("x='abc", "unclosed quote ' at column 3"),
    ("x=[1,,2]", "empty item"),
    ("x=[,]", "empty item"),
    ("x={a 1}", "expected ':' after a dict key"),
    ("x={[1]: 2}", "a dict key cannot be list"),
    ("x='a'b", "unexpected text 'b' after the value"),
    ("x=[1]]", "unexpected text ']' after the value"),
    ("x=['a' 'b']", "expected ',' or ']'"),
    ("=5", "Cannot parse override '=5': empty key"),
    (":=5", "empty key"),
    ("a..b=1", "(key 'a..b'): empty or padded part in the dotted key at column 3"),
    (".a=1", "empty or padded part"),
    ("--lr", "not a view name, a command"),
    ("n=" + "1" * 5000, "has 5000 digits, more than Python reads as a number; quote it"),
    ("lr=1e999", "1e999 is beyond a float's range (about 1.8e308); write inf for infinity"),
    ("a={b: {c: 2}, b: 3}", "the key 'b' is written twice in this dict; keep one at column 15"),
    ("a={1: x, 1.0: y}", "the key 1.0 is written twice"),
    ("lr=-1.5e400", "-1.5e400 is beyond a float's range"),
    ("lr=[1, 2e308]", "2e308 is beyond a float's range"),
    ("n=[1, " + "9" * 5000 + "]", "(5007 characters) (key 'n'): the integer 999999999999..."),
    ("n=" + "[" * 5000 + "]" * 5000, "more than 100 brackets nested in each other at column 103"),
    ("n=" + "{a: " * 101 + "}" * 101, "more than 100 brackets nested"),
    ("n=" + "(" * 5000, "more than 100 brackets nested"),
]


def test_a_hundred_nested_brackets_parse():
    value = parse_token("n=" + "[" * 100 + "1" + "]" * 100).value
    for _ in range(99):
        (value,) = value
    assert value == [1]


@pytest.mark.parametrize(
    "token", ["n=" + "1" * 5000, "n=" + "[" * 5000 + "]" * 5000], ids=["long int", "deep"]
)
def test_hostile_tokens_give_a_one_line_message(token):
    with pytest.raises(OverrideParseError) as raised:
        parse_token(token)
    message = str(raised.value)
    assert "\n" not in message and len(message) < 300


@pytest.mark.parametrize(("token", "fragment"), ERRORS, ids=[row[0][:20] for row in ERRORS])
def test_token_errors(token, fragment):
    with pytest.raises(OverrideParseError) as raised:
        parse_token(token)
    assert fragment in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_an_unclosed_bracket_is_named_as_such():
    with pytest.raises(OverrideParseError, match=r"unclosed '\{'"):
        parse_token("x={'a':")
    with pytest.raises(OverrideParseError, match=r"unclosed '\['"):
        parse_token("x=[1, 2,")


def test_shell_words_are_joined_back_for_spans():
    assert split_argv(["name=%hello", "world%", "x=[1,", "2]", "y=1", "s='a", "b'"]) == [
        "name=%hello world%",
        "x=[1, 2]",
        "y=1",
        "s='a b'",
    ]
    parsed = parse_command(["high_lr", "lr=0.01", "model=%resnet", "101%"])
    assert parsed == ["high_lr", Override("lr", 0.01, "lr=0.01"), parse_token("model=%resnet 101%")]


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",)),
        max_size=15,
    ),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(st.one_of(st.text(max_size=6), st.integers()), children, max_size=4),
    ),
    max_leaves=15,
)


def _same(a, b):
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


@given(values)
def test_printed_values_parse_back_to_themselves(value):
    text = format_value(value)
    assert _same(parse_value(text), value)
    assert _same(parse_token(f"key={text}").value, value)


@given(st.text(max_size=40))
def test_random_values_parse_or_raise_the_documented_error(text):
    with contextlib.suppress(OverrideParseError):
        parse_token(f"key={text}")


@given(st.text(max_size=40))
def test_random_tokens_parse_or_raise_the_documented_error(text):
    with contextlib.suppress(OverrideParseError):
        parse_command([text])


@given(st.sampled_from(["__import__('os').system('touch {p}')", "exec(open('{p}','w'))"]))
def test_nothing_typed_is_executed(tmp_path_factory, template):
    marker = tmp_path_factory.mktemp("exec") / "ran"
    token = "x=" + template.format(p=marker)
    assert parse_token(token).value == template.format(p=marker)
    assert not marker.exists()

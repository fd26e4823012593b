"""The program's classes a function's parameters are annotated with."""

from __future__ import annotations

import ast
import types

import pytest

from ato.parameter_types import annotated_classes


class Model:
    class Head:
        pass


class Small(Model):
    pass


class Tiny(Small):
    pass


class Meta(type):
    def __getattribute__(cls, name):
        raise RuntimeError("no attribute reads here")


class Odd(metaclass=Meta):
    pass


def _classes(signature: str, namespace: dict) -> list[tuple[str, type]]:
    tree = ast.parse(f"def f({signature}):\n    pass\n")
    return annotated_classes(tree, {"__name__": __name__, **namespace})


def test_names_strings_dotted_names_and_nested_classes_are_found_once():
    module = types.ModuleType("nets")
    module.Model = Model
    found = _classes(
        "a: Model, b: 'Model', c: list['nets.Model'], *d: 'Optional[\"Model.Head\"]'",
        {"Model": Model, "nets": module},
    )
    assert found == [
        ("Model", Model),
        ("Model (Small)", Small),  # model: Model may be given a Small, or a Tiny
        ("Model (Tiny)", Tiny),
        ("Model.Head", Model.Head),
    ]


@pytest.mark.parametrize(
    "annotation",
    [
        "'('*500 + ')'*500",  # no expression Python parses
        "'x\\x00y'",  # a null byte
        "'a' * 2000",  # past the length of a forward reference
        '\'"""\'',  # a string that is no expression
        "Missing",  # imported under TYPE_CHECKING: not there when it runs
        "T",  # not a class
        "int",  # a builtin's class: no code of the program
        "Odd",  # a metaclass whose attribute reads raise
        "Odd.anything",
        "f().g",  # a call: never made
        "Literal['Model']",  # a value, no type
        "typing.Annotated[int, 'Model']",  # a note, no type
        "'lambda: Model'",
        "Annotated[()]",
    ],
)
def test_what_is_no_class_of_the_program_is_left_out_and_never_raises(annotation):
    namespace = {"T": 3, "Odd": Odd, "Model": Model, "typing": __import__("typing")}
    assert _classes(f"x: {annotation}", namespace) == []

"""Code a traced function runs that its fingerprint cannot see: what it calls on an
argument whose class nothing names (``def step(model, x): return model(x)``). Its class
is known only once the call is made, so an edit to it is no recorded cause; an
annotation (``model: Net``) or a default (``model=MODEL``) names it
(:mod:`ato.parameter_types`). Said when metrics differ with no recorded cause.
"""

from __future__ import annotations

import ast
import textwrap

from ato.canonical_writer import all_args

__all__ = ["called_arguments"]


def called_arguments(source: str) -> dict[str, str]:
    """``{parameter: what is called on it}`` (``{"model": "model(...)", "log":
    "log.record(...)"}``) for each parameter of the function in ``source`` without an
    annotation or a default naming something, that its body calls or calls a method of;
    not ``self`` or ``cls``. Empty when ``source`` holds no function."""
    try:
        tree = ast.parse(textwrap.dedent(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    function = next(
        (n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None
    )
    if function is None:
        return {}
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args]
    defaults = dict(zip([a.arg for a in positional][::-1], arguments.defaults[::-1], strict=False))
    defaults.update(
        (a.arg, d) for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True) if d
    )
    unnamed = [
        a.arg
        for index, a in enumerate([*positional, *arguments.kwonlyargs])
        if a.annotation is None
        and not isinstance(defaults.get(a.arg), (ast.Name, ast.Attribute, ast.Call))
        and not (index == 0 and a.arg in ("self", "cls"))
    ]
    rebound = {  # model = build(): calls on it are on what the body made
        n.id for n in ast.walk(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    for inner in ast.walk(function):  # def inner(model): a name of its own, not the argument
        if inner is not function and isinstance(
            inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
        ):
            rebound.update(argument.arg for argument in all_args(inner.args))
    unnamed = [name for name in unnamed if name not in rebound]
    found: dict[str, str] = {}
    for node in ast.walk(function):
        if not isinstance(node, ast.Call):
            continue
        called, chain = node.func, []
        while isinstance(called, ast.Attribute):
            chain.append(called.attr)
            called = called.value
        if isinstance(called, ast.Name) and called.id in unnamed and called.id not in found:
            found[called.id] = ".".join([called.id, *reversed(chain)]) + "(...)"
    return {name: found[name] for name in unnamed if name in found}

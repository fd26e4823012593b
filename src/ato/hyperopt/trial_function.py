"""What a search's trial function can be called with, checked before the first trial
(every trial would raise otherwise), and which of its arguments are settings: they
count in the search's identity, as its code does."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from ato.entry import arguments_with_configs
from ato.hyperopt.errors import SearchSettingsError
from ato.hyperopt.naming import named_function

__all__ = ["check_callable", "settings_among"]


def check_callable(
    func: Callable[..., Any],
    signature: inspect.Signature,
    name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> None:
    """Refuse, before any trial, a function that cannot be called with the trial's
    config (it gets it by the scope's name): every trial would raise."""
    # ``func`` itself (a partial is seen through), not what it wraps: a decorator
    # that runs a coroutine to its end is a plain function.
    if inspect.iscoroutinefunction(func):
        target: Any = func
        while isinstance(target, functools.partial):
            target = target.func
        called = getattr(target, "__name__", "trial")
        raise SearchSettingsError(
            f"The trial function {named_function(func)} is an async def; a search calls it and "
            f"ranks the number it returns. Call it from a plain function: "
            f"`def run_{called}({name}): return asyncio.run({called}({name}))`."
        )
    if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
        raise SearchSettingsError(
            f"The trial function {named_function(func)} is a generator (it yields); a search "
            f"calls it once and ranks the number it returns, so return the metric "
            f"instead of yielding it."
        )
    parameters = signature.parameters
    if name in kwargs or _given_by_position(signature, name, args, kwargs):
        how = f"{name}=..." if name in kwargs else "by position"
        called = getattr(func, "__name__", "train")
        raise SearchSettingsError(
            f"The trial function {named_function(func)} was called with a config "
            f"({how}); the search gives it each trial's config as {name!r} (the scope's "
            f"assembly with the searched values), and a config passed in would stand in "
            f"for every trial's. Call it without one: {called}(). For other starting "
            f"values, set them in a view of the scope (@scope.observe(default=True)) or "
            f"on the command line."
        )
    takes_config = name in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    positional, keywords = arguments_with_configs(signature, {name: None}, args, kwargs)
    try:
        signature.bind(*positional, **keywords)
    except TypeError as error:
        if takes_config and _wrapper_takes(func, positional, keywords):
            return  # a decorator's wrapper that supplies the rest (loads the data)
        if takes_config:
            raise SearchSettingsError(
                f"The trial function {named_function(func)} cannot be called with the "
                f"arguments the search was started with ({error}); every trial would "
                f"fail. Pass them when calling it: {getattr(func, '__name__', 'train')}"
                f"(...)."
            ) from None
        first = next(iter(parameters), "config")
        raise SearchSettingsError(
            f"The trial function {named_function(func)} cannot be called: it takes "
            f"({', '.join(parameters)}) and gets the trial's config by the scope's name, "
            f"{name!r}, which none of its parameters has ({error}). Name its config "
            f"parameter {name!r}, or name the scope after it: Scope(name={first!r})."
        ) from None


def settings_among(
    func: Callable[..., Any],
    signature: inspect.Signature,
    name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> dict[str, Any]:
    """The arguments the trial function is called with, by position (``#0``) or
    keyword, but those it fills as it runs (a list it appends results to)."""
    from ato.hyperopt.filled import filled_names

    filled = filled_names(func)
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names = [
        p.name for p in signature.parameters.values()
        if p.kind in kinds and p.name != name
    ]  # fmt: skip
    positional = {
        f"#{i}": value for i, value in enumerate(args) if i >= len(names) or names[i] not in filled
    }
    return {**positional, **{k: v for k, v in kwargs.items() if k not in filled}}


def _given_by_position(
    signature: inspect.Signature, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> bool:
    """Whether the caller's own positional arguments reach the config's parameter: the
    function takes them without the config the search adds, but not with it."""
    parameter = signature.parameters.get(name)
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if parameter is None or parameter.kind not in positional:
        return False
    index = list(signature.parameters).index(name)
    if len(args) <= index:
        return False
    try:
        signature.bind(*args, **kwargs)
    except TypeError:
        return False
    with_config, keywords = arguments_with_configs(signature, {name: None}, args, kwargs)
    try:
        signature.bind(*with_config, **keywords)
    except TypeError:
        return True
    return False


def _wrapper_takes(func: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> bool:
    """Whether the wrapper that runs (``inspect.signature`` shows the function it wraps)
    takes these arguments."""
    if getattr(func, "__wrapped__", None) is None:
        return False
    try:
        own = inspect.signature(func, follow_wrapped=False)
        own.bind(*args, **kwargs)
    except (TypeError, ValueError):
        return False
    # A catch-all wrapper(*args, **kwargs) takes anything and passes it on: it says
    # nothing of supplying what is missing. Only a wrapper that names its parameters does.
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return not any(p.kind in variadic for p in own.parameters.values())

"""The entry path: from ``sys.argv`` to a finished config, and the only place that prints.

A function decorated with ``@scope`` (or a ``MultiScope``) is the program's entry point.
When it is called, the command line is read once (:func:`parse_args_pythonic`): view names
are routed to the scopes that have them, ``key=value`` tokens to the scope they name,
commands (``manual``, ``print``, ``--help``) remembered. The scopes are then assembled
and the function receives each config by the name of its parameter.

A command prints and exits 0; a command-line error prints its message (no traceback) and
exits 2, as argparse does. Called programmatically (``scope.assign``, ``scope.apply``,
``parse_args_pythonic([...])``), the same errors are raised as exceptions. What is shown
is rendered as strings elsewhere (:mod:`ato.manual`, :func:`ato.external_parser.help_text`);
this module prints them.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ato.errors import (
    CommandLineError,
    ConfigFileError,
    OverrideTypeError,
    ScopeArgumentError,
    UnknownKeyError,
    UnknownViewError,
    ViewCycleError,
    ViewOrderError,
)
from ato.message_text import close_matches, did_you_mean
from ato.parser import Command, Override, ViewName, parse_command
from ato.registry import DEFAULT_REGISTRY, ScopeRegistry

if TYPE_CHECKING:
    from ato.adict import ADict
    from ato.provenance import Source
    from ato.scope import Scope

__all__ = [
    "arguments_with_configs",
    "call_with_configs",
    "entry_point",
    "parse_args_pythonic",
    "prepare_scopes",
    "show_after_argparse_help",
]

_F = TypeVar("_F", bound=Callable[..., Any])


def entry_point(
    func: _F, registry: ScopeRegistry, active_scopes: Callable[[], Sequence[Scope]], owner: str
) -> _F:
    """Wrap ``func`` so that each call gets the configs of ``active_scopes()``.

    ``owner`` names the decorator in messages (``scope 'config'``).
    """
    if not callable(func):
        raise ScopeArgumentError(
            f"{owner} decorates the program's entry function (@scope above 'def main(config)'), "
            f"but was given {type(func).__name__} {func!r:.40}. To start from a mapping, "
            f"pass it as Scope(config=...) or register it with scope.observe('name', config=...)."
        )
    signature = inspect.signature(func)

    @functools.wraps(func)
    def entry(*args: Any, **kwargs: Any) -> Any:
        scopes = active_scopes()
        if not scopes:
            return func(*args, **kwargs)
        prepare_scopes(registry, scopes)
        configs = {scope.name: scope.config for scope in scopes}
        return call_with_configs(func, signature, configs, args, kwargs)

    return entry  # type: ignore[return-value]


def _program() -> str:
    return os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"


# Mistakes of the command line, a config file or the views' chaining: one line and exit 2.
_SAID_IN_ONE_LINE = (
    CommandLineError,
    OverrideTypeError,
    ConfigFileError,
    ViewCycleError,
    ViewOrderError,
)


def prepare_scopes(
    registry: ScopeRegistry,
    scopes: Sequence[Scope],
    layers: Sequence[tuple[Source | str, Mapping[str, Any]]] = (),
) -> None:
    """Read the command line (once), apply ``scopes`` (with ``layers`` on top, as
    :meth:`Scope.apply` takes them) and run any command."""
    reading = any(scope.command_line for scope in registry.values())
    first_time = not registry.parsed and reading
    try:
        if first_time:
            _check_argparse_ran(registry)
            parse_args_pythonic(registry=registry)
        commands = list(registry.commands)
        targets = list(registry.values()) if commands else list(scopes)
        documenting = first_time and bool({"manual", "--help", "-h"} & set(commands))
        for scope in targets:
            own = layers if any(scope is given for given in scopes) else ()
            if not scope.is_applied or not scope.command_line or own:
                try:
                    scope.apply(*own)
                except _SAID_IN_ONE_LINE:
                    raise
                except Exception:
                    # `manual` is what one runs when the program will not start: it shows
                    # what was assembled before the failing view, and names it. (The
                    # mistakes of the command line itself are said as ever, below.)
                    if not documenting:
                        raise
    except _SAID_IN_ONE_LINE as error:
        # A malformed file behind a view is reported like a command-line mistake: its
        # message names the file, line and column; so do views chained wrongly (their
        # files and lines). A traceback would add nothing.
        if not first_time:
            raise
        print(f"{_program()}: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    if registry.argparse is not None:
        for scope in targets:
            if scope.use_external_parser:
                registry.argparse.sync(scope.config)
    if not first_time or not commands:
        return
    registry.commands.clear()
    print(command_output(commands, targets))
    raise SystemExit(0)


def _check_argparse_ran(registry: ScopeRegistry) -> None:
    """A scope that reads argparse's values, entered before argparse read the command
    line, would take the program's own flags for ato words: say where the call goes."""
    bridge = registry.argparse
    if bridge is None or bridge.words is not None or not sys.argv[1:]:
        return
    if not any(word.startswith("-") for word in sys.argv[1:]):
        return  # nothing for argparse: ato words only
    raise CommandLineError(
        "The program's argparse parser has not read the command line yet, so its flags "
        "cannot be told from ato's words. With Scope(use_external_parser=True), call "
        "parser.parse_args() after creating the Scope (ato does not see a call made before "
        "it) and before calling the @scope function."
    )


def command_output(commands: Sequence[str], scopes: Sequence[Scope]) -> str:
    """What the commands of the command line show: ``print`` the final configs, else
    (``manual``, ``--help``) the manual."""
    # Imported here: only a program that runs a command pays for the renderers.
    from ato.manual import render_config, render_help, render_manual

    if "print" in commands and not ({"manual", "--help", "-h"} & set(commands)):
        return render_config(scopes)
    if {"--help", "-h"} & set(commands):
        return render_help(scopes, _program())
    return render_manual(scopes)


def show_after_argparse_help(text: str) -> None:
    """argparse printed the program's ``--help`` and is about to exit 0: add ato's part."""
    if text:
        print(text)


def call_with_configs(
    func: Callable[..., Any],
    signature: inspect.Signature,
    configs: Mapping[str, ADict],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    """Call ``func`` with each config given to the parameter of its name.

    The caller's positional arguments fill the other parameters in order; a config the
    caller passes explicitly wins; a function with ``**kwargs`` receives every config.
    """
    positional, keywords = arguments_with_configs(signature, configs, args, kwargs)
    return func(*positional, **keywords)


def arguments_with_configs(
    signature: inspect.Signature,
    configs: Mapping[str, Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> tuple[list[Any], dict[str, Any]]:
    """The positional and keyword arguments :func:`call_with_configs` calls with."""
    parameters = signature.parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    inject = {
        name: value
        for name, value in configs.items()
        if (name in parameters or takes_any) and name not in kwargs
    }
    if not inject:
        return list(args), dict(kwargs)
    remaining = list(args)
    positional: list[Any] = []
    for parameter in parameters.values():
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            if parameter.name in inject:
                if not remaining and parameter.kind is not parameter.POSITIONAL_ONLY:
                    break  # the rest go by keyword
                positional.append(inject.pop(parameter.name))
            elif remaining:
                positional.append(remaining.pop(0))
            else:
                break
        elif parameter.kind is parameter.VAR_POSITIONAL:
            break
    positional.extend(remaining)
    return positional, {**kwargs, **inject}  # a config passed by keyword is not injected


def parse_args_pythonic(
    argv: Sequence[str] | None = None, registry: ScopeRegistry | None = None
) -> None:
    """Read the command line (``sys.argv[1:]``) into the registered scopes: view names
    are chosen, ``key=value`` tokens recorded, commands remembered."""
    registry = DEFAULT_REGISTRY if registry is None else registry
    if isinstance(argv, (str, bytes)):
        raise ScopeArgumentError(
            f"parse_args_pythonic() takes the command line as a list of words, got the "
            f"string {argv!r:.60}. Pass e.g. {argv.split()!r:.60} (or None for sys.argv[1:])."
        )
    words = registry.argparse.words if registry.argparse is not None else None
    if words is None:
        words = list(sys.argv[1:] if argv is None else argv)
    words = [_without_dashes(word, registry) for word in words]
    scopes = [scope for scope in registry.values() if scope.command_line]
    for token in parse_command(words):
        if isinstance(token, Command):
            registry.commands.append(str(token))
        elif isinstance(token, ViewName):
            _assign_view(scopes, str(token))
        else:
            _assign_override(scopes, token)
    registry.parsed = True


_HELP = ("--help", "-h")


def _without_dashes(word: str, registry: ScopeRegistry) -> str:
    """``--lr=0.5`` is read as ``lr=0.5`` (a habit from argparse); any other word with
    leading dashes is refused, saying where such flags belong: a key with dashes in its
    name is never stored."""
    if not word.startswith("-") or word in _HELP:
        return word
    key, equals, value = word.partition("=")
    bare = key.lstrip("-")
    if equals and bare and not bare.startswith("-"):
        return f"{bare}={value}"
    if registry.argparse is not None:
        hint = "add it to the program's argparse parser"
    else:
        hint = (
            "if the program parses its own flags with argparse, create the scope with "
            "Scope(use_external_parser=True) so that argparse reads them"
        )
    example = f"{bare}=VALUE" if bare else "key=value"
    raise CommandLineError(
        f"{word!r} is an option flag, but ato reads view names and key=value words "
        f"(e.g. {example}); {hint}."
    )


def _assign_view(scopes: list[Scope], name: str) -> None:
    prefix, _, rest = name.partition(".")
    named = [scope for scope in scopes if scope.name == prefix and rest in scope.views]
    if named:
        named[0].assign(rest)
        return
    having = [scope for scope in scopes if name in scope.views]
    if not having:
        if len(scopes) == 1:
            raise scopes[0].unknown_view(name)
        everything = [v for scope in scopes for v in scope.views if not v.startswith("_")]
        raise UnknownViewError(
            f"Unknown view {name!r}; no scope ({', '.join(s.name for s in scopes)}) has it."
            + did_you_mean(name, everything)
        )
    for scope in having:
        scope.assign(name)


def _assign_override(scopes: list[Scope], override: Override) -> None:
    first, *rest = override.path
    if len(scopes) == 1:
        scope = scopes[0]
        if first == scope.name and rest:
            override = Override(
                override.key, override.value, override.token, override.forced_string, True
            )
        scope.assign(override)
        return
    target = next((scope for scope in scopes if scope.name == first), None)
    if target is None or not rest:
        names = [scope.name for scope in scopes]
        value = override.token.partition("=")[2]
        near = close_matches(first, names, limit=1) if rest else []
        if near:  # a misspelled scope: modl.backbone=x
            hint = f"; did you mean {near[0]}.{'.'.join(rest)}={value}?"
        else:
            hint = f", e.g. {scopes[0].name}.{override.key}={value}"
        raise UnknownKeyError(
            f"{override.token!r}: with several scopes, a key starts with the scope it is for "
            f"({', '.join(names)}){hint}"
        )
    target.assign(Override(".".join(rest), override.value, override.token, override.forced_string))

"""The only place where ato prints for the user and exits.

A decorated entry point reads the program's own command line once. There, a command
(``manual``, ``print``, ``--help``) prints and exits 0, and a command-line error prints
its message (no traceback) and exits 2, as argparse does. Called programmatically
(``scope.assign``, ``scope.apply``), the same errors are raised as exceptions.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ato.errors import CommandLineError, OverrideTypeError

if TYPE_CHECKING:
    from ato.scope import Scope, ScopeRegistry

__all__ = ["prepare_scopes"]


def _program() -> str:
    return os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"


def prepare_scopes(registry: ScopeRegistry, scopes: Sequence[Scope]) -> None:
    """Parse the command line (once), apply ``scopes`` and run any command."""
    from ato.manual import render_config, render_manual
    from ato.scope import parse_args_pythonic

    first_time = not registry.parsed
    try:
        if first_time:
            parse_args_pythonic(registry=registry)
        commands = list(registry.commands)
        targets = list(registry.values()) if commands else scopes
        for scope in targets:
            if not scope.is_applied:
                scope.apply()
    except (CommandLineError, OverrideTypeError) as error:
        if not first_time:
            raise
        print(f"{_program()}: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    if not first_time or not commands:
        return
    registry.commands.clear()
    if "print" in commands and not ({"manual", "--help", "-h"} & set(commands)):
        print(render_config(targets))
    else:
        print(render_manual(targets))
    raise SystemExit(0)

"""The ``ato`` program: show runs and explain why two differ.

    ato runs [PROJECT]            ato show RUN            ato explain RUN_A [RUN_B]
    ato best PROJECT METRIC       ato similar RUN         ato traces PROJECT TRACE_ID
    ato plot RUN... --metric KEY  ato merge TARGET SOURCE...   ato migrate DB
    ato searches [PROJECT]        ato search ID

The only place that prints for the user and exits: errors go to standard error with exit
status 1 (2 for a mistake in the command line itself), never with a traceback. Every read
command opens the database read-only and takes ``--json``. This module imports nothing
heavy, so ``ato --help`` answers at once; each command loads what it needs.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence

__all__ = ["main"]

_DB_HELP = (
    "database URL or SQLite path (default: $ATO_DB, else sqlite:///experiments.db in the "
    "current directory)"
)


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return number


def _tolerance(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not 0 <= number < math.inf:  # NaN fails too: it would turn the comparison off
        raise argparse.ArgumentTypeError(f"{text!r} is not a relative gap of 0 or more (e.g. 1e-6)")
    return number


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ato",
        description="Show tracked runs and explain, cause by cause, why two runs differ.",
    )
    # --db before the command (`ato --db runs.db runs`) or after it; after it wins.
    parser.add_argument("--db", help=_DB_HELP)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help=_DB_HELP, default=argparse.SUPPRESS)
    common.add_argument("--json", action="store_true", help="print JSON instead of tables")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    runs = commands.add_parser(
        "runs", parents=[common], help="list a project's runs (no project: the projects)"
    )
    runs.add_argument("project", nargs="?", help="project name")
    runs.add_argument("--status", help="only runs with this status (crashed, completed, ...)")
    runs.add_argument("--tag", action="append", help="only runs with this tag (repeatable)")
    runs.add_argument("--limit", type=_positive, help="at most this many runs")
    runs.add_argument("--metric", action="append", help="show this metric's last value")
    runs.add_argument("--sort", metavar="METRIC", help="order by a metric's last value, best first")

    show = commands.add_parser("show", parents=[common], help="one run in full")
    show.add_argument("run", help="run id, UUID or UUID prefix")

    for name in ("explain", "diff"):
        explain = commands.add_parser(
            name,
            parents=[common],
            help="why two runs differ" if name == "explain" else "same as explain",
        )
        explain.add_argument("run_a", help="run id, UUID or UUID prefix")
        explain.add_argument(
            "run_b", nargs="?", help="second run (default: compare RUN_A with the run before it)"
        )
        explain.add_argument(
            "--incidental", action="store_true", help="list incidental environment changes too"
        )
        explain.add_argument(
            "--tolerance",
            type=_tolerance,
            default=1e-6,
            help="relative gap at which metric curves count as separated (default 1e-6)",
        )

    best = commands.add_parser("best", parents=[common], help="the best run of a project")
    best.add_argument("project")
    best.add_argument("metric")
    best.add_argument("--mode", choices=("max", "min"), default="max")

    similar = commands.add_parser(
        "similar", parents=[common], help="runs with the same config structure"
    )
    similar.add_argument("run")

    traces = commands.add_parser(
        "traces", parents=[common], help="versions of a traced function across a project"
    )
    traces.add_argument("project")
    traces.add_argument("trace_id")
    traces.add_argument("--metric", help="show each version's best value of this metric")

    searches = commands.add_parser(
        "searches", parents=[common], help="hyperparameter searches and their progress"
    )
    searches.add_argument("project", nargs="?", help="only this project's searches")
    search = commands.add_parser(
        "search", parents=[common], help="one hyperparameter search, rung by rung"
    )
    search.add_argument("search", help="search id or id prefix")

    plot = commands.add_parser("plot", parents=[common], help="metric curves of runs, to a file")
    plot.add_argument("runs", nargs="+", metavar="RUN")
    plot.add_argument("--metric", required=True)
    plot.add_argument(
        "-o", "--output", default="curves.png", help="image file (default curves.png)"
    )

    merge = commands.add_parser("merge", help="copy the runs of other databases into one")
    merge.add_argument("target", help="database URL or SQLite path to merge into")
    merge.add_argument("sources", nargs="+", metavar="SOURCE")
    merge.add_argument("--json", action="store_true")

    migrate = commands.add_parser("migrate", help="bring a database to this ato's schema")
    migrate.add_argument("database", help="database URL or SQLite path")
    migrate.add_argument("--json", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``ato`` program; return its exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `ato runs | head`: the reader left; say nothing more.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as error:
        from ato.errors import AtoError, UsageError

        if not isinstance(error, AtoError):
            damaged = _database_failure(error, args)
            if damaged is None:
                raise
            print(f"ato: error: {damaged}", file=sys.stderr)
            return 1
        print(f"ato: error: {error}{_in_which_database(error, args)}", file=sys.stderr)
        return 2 if isinstance(error, UsageError) else 1


def _in_which_database(error: BaseException, args: argparse.Namespace) -> str:
    """Where a stored value that is not what ato wrote was read: the database named."""
    from ato.errors import StoredValueError

    if not isinstance(error, StoredValueError) or args.command in ("merge", "migrate"):
        return ""
    from ato.tracking.secrets import masked_url
    from ato.tracking.settings import database_url

    return f" (in the database {masked_url(database_url(getattr(args, 'db', None)))!r})"


def _database_failure(error: BaseException, args: argparse.Namespace) -> str | None:
    """A database error met while reading (a damaged file), in one line that names the
    database and what to do; None for any other error (a bug: its traceback helps)."""
    import sqlite3

    from sqlalchemy.exc import DBAPIError

    if not isinstance(error, (DBAPIError, sqlite3.Error)):
        return None
    from ato.message_text import first_line
    from ato.tracking.database import RECOVER, is_damaged
    from ato.tracking.secrets import masked_url
    from ato.tracking.settings import database_url

    original = getattr(error, "orig", None) or error
    if args.command in ("merge", "migrate"):
        which = "a database it read"
    else:
        which = f"the database {masked_url(database_url(getattr(args, 'db', None)))!r}"
    said = first_line(original)
    if is_damaged(said):
        return f"{which} is damaged ({said}). {RECOVER}."
    return f"reading {which} failed ({said})."


def _dispatch(args: argparse.Namespace) -> int:
    from ato.commands.output import Output

    out = Output(json_mode=bool(getattr(args, "json", False)))
    if getattr(args, "db", None) is not None and not args.db.strip():
        from ato.errors import UsageError

        raise UsageError(
            "--db is empty: give a database URL or an SQLite path, or leave --db out to "
            "read ATO_DB (else experiments.db here)."
        )
    if args.command in ("merge", "migrate"):
        from ato.commands import admin
        from ato.errors import UsageError

        if args.db is not None:
            named = "TARGET" if args.command == "merge" else "DATABASE"
            raise UsageError(
                f"--db {args.db!r} does not apply to ato {args.command}: it names its "
                f"databases itself (ato {args.command} {named} ...). Drop --db."
            )

        return int(getattr(admin, args.command)(args, out))
    from ato.tracking import SQLFinder
    from ato.tracking.settings import database_origin, database_url

    finder = SQLFinder.open(database_url(args.db), _origin=database_origin(args.db))
    try:
        if args.command in ("explain", "diff"):
            from ato.commands.explain import explain

            return explain(finder, args, out)
        if args.command in ("searches", "search"):
            from ato.commands import searches

            return int(getattr(searches, args.command)(finder, args, out))
        if args.command == "plot":
            from ato.commands.plot import plot

            return plot(finder, args, out)
        from ato.commands import runs

        return int(getattr(runs, args.command)(finder, args, out))
    finally:
        finder.close()


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

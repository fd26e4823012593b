"""``ato merge TARGET SOURCE...`` and ``ato migrate DB``: the two commands that write."""

from __future__ import annotations

import argparse

from ato.commands.output import Output

__all__ = ["merge", "migrate"]


def merge(args: argparse.Namespace, out: Output) -> int:
    from ato.tracking.merge import merge_databases
    from ato.tracking.settings import Origin, database_url

    sources = [database_url(source) for source in args.sources]
    origins = (
        Origin("{} (the TARGET of ato merge)", "name {} as the TARGET", typed=args.target),
        [
            Origin("{} (a SOURCE of ato merge)", "name {} as the SOURCE", typed=source)
            for source in args.sources
        ],
    )
    result = merge_databases(database_url(args.target), sources, _origins=origins)
    if out.json_mode:
        out.json(result.to_dict())
        return 0
    for source in sources:
        out.line(
            f"{source}: {result.copied[source]} runs copied, "
            f"{result.skipped[source]} already present"
        )
    out.line(f"{result.metrics} metric points copied.")
    return 0


def migrate(args: argparse.Namespace, out: Output) -> int:
    from ato.tracking.migrations import LATEST, migrate_database
    from ato.tracking.settings import Origin, database_url

    url = database_url(args.database)
    origin = Origin("{} (the DATABASE of ato migrate)", "name {}", typed=args.database)
    found = migrate_database(url, origin)
    if out.json_mode:
        out.json({"database": url, "from_version": found, "to_version": LATEST})
    elif found == LATEST:
        out.line(f"{url} is at schema version {LATEST} already; nothing to do.")
    else:
        out.line(f"Migrated {url} from schema version {found} to {LATEST}.")
    return 0

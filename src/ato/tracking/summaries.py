"""``metric_summaries``: count, min, max and last value per (run, key), kept up to date
as metrics are written, so that "best run by metric" reads one small row per run
instead of every point.

The logger updates them once per batch with :func:`summarize_points`, computed from the
batch itself and upserted, one row per (run, key) of the batch: a batch costs the same
whether the run holds a thousand points or a billion. A Metric added through the ORM (as
2.x code does through ``logger.session``) updates them through a mapper event in
:mod:`ato.tracking.schema`, with :func:`summarize` over its id. Both run in the
transaction that inserted the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

__all__ = ["summarize", "summarize_all", "summarize_points"]

# Summaries of the rows with ids in (after, upto] of one run; NaN is counted but is
# never a min or max. SQLite keeps NaN as the text 'NaN' (see schema.MetricValue).
_SELECT = """
    SELECT b.run_id, b.key, b.n, b.lo, b.hi, l.value, l.step
    FROM (
        SELECT run_id, key, count(*) AS n,
               min(CASE WHEN {numeric} THEN value END) AS lo,
               max(CASE WHEN {numeric} THEN value END) AS hi,
               max(id) AS last_id
        FROM metrics WHERE {rows}
        GROUP BY run_id, key
    ) AS b JOIN metrics AS l ON l.id = b.last_id
"""
_INSERT = (
    "INSERT INTO metric_summaries "
    "(run_id, key, count, min_value, max_value, last_value, last_step) "
)
_SQLITE_MERGE = """
    ON CONFLICT (run_id, key) DO UPDATE SET
        count = metric_summaries.count + excluded.count,
        min_value = min(coalesce(metric_summaries.min_value, excluded.min_value),
                        coalesce(excluded.min_value, metric_summaries.min_value)),
        max_value = max(coalesce(metric_summaries.max_value, excluded.max_value),
                        coalesce(excluded.max_value, metric_summaries.max_value)),
        last_value = excluded.last_value,
        last_step = excluded.last_step
"""
_POSTGRES_MERGE = """
    ON CONFLICT (run_id, key) DO UPDATE SET
        count = metric_summaries.count + excluded.count,
        min_value = LEAST(metric_summaries.min_value, excluded.min_value),
        max_value = GREATEST(metric_summaries.max_value, excluded.max_value),
        last_value = excluded.last_value,
        last_step = excluded.last_step
"""
_SQLITE = (
    _INSERT
    + _SELECT.replace("{numeric}", "typeof(value) IN ('real', 'integer')")
    # "WHERE true" tells SQLite's parser that ON CONFLICT belongs to the INSERT.
    + " WHERE true"
    + _SQLITE_MERGE
)
_POSTGRES = _INSERT + _SELECT.replace("{numeric}", "value <> 'NaN'") + _POSTGRES_MERGE
# Straight to the driver, as the points go (see writes.insert_points).
_UPSERT_ROWS = {
    "sqlite": _INSERT + "VALUES (?, ?, ?, ?, ?, ?, ?)" + _SQLITE_MERGE,
    "postgresql": _INSERT + "VALUES (%s, %s, %s, %s, %s, %s, %s)" + _POSTGRES_MERGE,
}

_NO_LIMIT = 2**62
# "run_id + 0": an expression no index has, so that both planners read the id range (a
# few rows) instead of all the run's rows through the (run_id, key, step) index.
_SOME_ROWS = "id > :after AND id <= :upto AND run_id + 0 = :run"
_STATEMENTS = {
    (dialect, rows): text(sql.replace("{rows}", rows))
    for dialect, sql in (("sqlite", _SQLITE), ("postgresql", _POSTGRES))
    for rows in (_SOME_ROWS, "true")
}


def summarize(connection: Connection, run_id: int, after: int, upto: int = _NO_LIMIT) -> None:
    """Add the metrics of ``run_id`` with ids in ``(after, upto]`` to its summaries."""
    statement = _STATEMENTS[connection.dialect.name, _SOME_ROWS]
    connection.execute(statement, {"after": after, "upto": upto, "run": run_id})


def summarize_all(connection: Connection) -> None:
    """Add every metric to the summaries (once, when the table is created)."""
    connection.execute(_STATEMENTS[connection.dialect.name, "true"])


def summarize_points(connection: Connection, points: Sequence[Sequence[Any]]) -> None:
    """Add ``points`` (``(run_id, key, value, step, time)``, just inserted in this
    order) to their summaries, computed here from the points alone. A value is numeric
    when it is a number other than NaN (stored as the text 'NaN' in SQLite)."""
    rows: dict[tuple[Any, Any], list[Any]] = {}
    for run_id, key, value, step, _ in points:
        row = rows.get((run_id, key))
        numeric = value == value and not isinstance(value, str)
        if row is None:
            number = value if numeric else None
            rows[run_id, key] = [run_id, key, 1, number, number, value, step]
            continue
        row[2] += 1
        if numeric:
            if row[3] is None or value < row[3]:
                row[3] = value
            if row[4] is None or value > row[4]:
                row[4] = value
        row[5], row[6] = value, step
    if not rows:
        return
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(_UPSERT_ROWS[connection.dialect.name], list(rows.values()))
    finally:
        cursor.close()

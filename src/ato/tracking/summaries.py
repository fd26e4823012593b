"""``metric_summaries``: count, min, max and last value per (run, key), kept up to date
as metrics are written, so that "best run by metric" reads one small row per run
instead of every point.

The logger updates them once per batch; a Metric added through the ORM (as 2.x code
does through ``logger.session``) updates them through a mapper event in
:mod:`ato.tracking.schema`. Both run :func:`summarize` in the transaction that inserted
the rows.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

__all__ = ["summarize", "summarize_all"]

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
_SQLITE = (
    _INSERT
    + _SELECT.replace("{numeric}", "typeof(value) IN ('real', 'integer')")
    # "WHERE true" tells SQLite's parser that ON CONFLICT belongs to the INSERT.
    + """ WHERE true
    ON CONFLICT (run_id, key) DO UPDATE SET
        count = metric_summaries.count + excluded.count,
        min_value = min(coalesce(metric_summaries.min_value, excluded.min_value),
                        coalesce(excluded.min_value, metric_summaries.min_value)),
        max_value = max(coalesce(metric_summaries.max_value, excluded.max_value),
                        coalesce(excluded.max_value, metric_summaries.max_value)),
        last_value = excluded.last_value,
        last_step = excluded.last_step
    """
)
_POSTGRES = (
    _INSERT
    + _SELECT.replace("{numeric}", "value <> 'NaN'")
    + """
    ON CONFLICT (run_id, key) DO UPDATE SET
        count = metric_summaries.count + excluded.count,
        min_value = LEAST(metric_summaries.min_value, excluded.min_value),
        max_value = GREATEST(metric_summaries.max_value, excluded.max_value),
        last_value = excluded.last_value,
        last_step = excluded.last_step
    """
)

_NO_LIMIT = 2**62
_SOME_ROWS = "id > :after AND id <= :upto AND run_id = :run"
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

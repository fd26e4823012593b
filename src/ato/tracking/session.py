"""ato 2.x's ``logger.session``: an ORM session on the tracker's database, for code
written against 2.x (``logger.session.query(Metric)...``, edits of run rows).

It reads with a plain BEGIN, so that a query left open in it never holds the write lock
the flushes need, and upgrades to a write transaction before it writes (see
:func:`~ato.tracking.database.write_after_reading`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from ato.tracking.database import open_engine, write_after_reading, wrote_in_session

__all__ = ["LegacySession"]


class LegacySession:
    """The session of one logger, on a reader engine of its own."""

    def __init__(self, url: str) -> None:
        self._engine = open_engine(url, writer=False)
        self._session = self._new()
        self._orphans: list[Session] = []

    def _new(self) -> Session:
        session = sessionmaker(bind=self._engine)()
        write_after_reading(session)
        return session

    def current(self, flush: Callable[[], None]) -> Session:
        """The session, after ``flush`` and with a fresh snapshot (so that queries see
        everything logged so far) when it has nothing of its caller's pending."""
        session = self._session
        # Only a session that has written nothing is committed (which ends its read
        # snapshot) and only then are the points flushed: changes of the caller's stay
        # theirs to commit or roll back, and a write lock their session holds would
        # keep the flush waiting.
        busy = session.in_nested_transaction() or wrote_in_session(session)
        if not (busy or session.new or session.dirty or session.deleted):
            if session.in_transaction():
                session.commit()
            flush()
        return session

    def settle(self, commit: bool) -> None:
        """End the open transaction: commit it (2.x's ``finish`` did), or, when the
        process is going down, roll it back. A failed commit is rolled back and raised."""
        session = self._session
        if not session.in_transaction():
            return
        try:
            if commit:
                session.commit()
            else:
                session.rollback()
        except Exception:
            with contextlib.suppress(Exception):
                session.rollback()
            if commit:
                raise

    def after_fork_in_child(self) -> None:
        """Drop the parent's session and connections without closing them."""
        # Kept, never collected here: collecting a session that holds a connection
        # would roll that connection back, on the parent's server session.
        self._orphans.append(self._session)
        self._engine.dispose(close=False)
        self._session = self._new()

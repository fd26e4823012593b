"""``ActiveRun``: what ``logger.run()`` returns."""

from __future__ import annotations

from typing import Any, Protocol

from ato.tracking.process import ending

__all__ = ["ActiveRun", "RunOwner"]


class RunOwner(Protocol):
    """The logger of a run, as its handle uses it."""

    def get_current_run_id(self) -> int | None: ...

    def log_metric(self, key: str, value: Any, step: int | None = None) -> None: ...

    def finish(self, status: str = "completed", error: str | None = None) -> None: ...


class ActiveRun(int):
    """The run's integer id (as in 2.x), which is also a context manager that finishes
    the run: 'completed', 'failed' (traceback stored) when the block raises or calls
    ``sys.exit`` with a non-zero code, 'killed' on Ctrl-C."""

    uuid: str
    logger: RunOwner

    def __new__(cls, run_id: int, run_uuid: str, logger: RunOwner) -> ActiveRun:
        new = super().__new__(cls, run_id)
        new.uuid, new.logger = run_uuid, logger
        return new

    @property
    def id(self) -> int:
        return int(self)

    def log_metric(self, key: str, value: Any, step: int | None = None) -> None:
        self.logger.log_metric(key, value, step)

    # Copied or pickled (say, into a config or to a worker), a run is its id: the
    # logger, its connections and its thread stay with the process that owns them.
    def __reduce__(self) -> tuple[type[int], tuple[int]]:
        return int, (int(self),)

    def __copy__(self) -> int:
        return int(self)

    def __deepcopy__(self, memo: Any) -> int:
        return int(self)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        # A run already finished (or followed by another) is left as it is: finish()
        # ends only a run that is still open.
        if self.logger.get_current_run_id() == int(self):
            self.logger.finish(*ending(error))

"""How the ranks of a distributed search start together: each step that may fail on one
rank is reported to all, so that no rank waits for one that stopped, and ranks that would
plan different searches are refused on every rank."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ato.hyperopt.errors import RankStoppedError, SearchSettingsError
from ato.hyperopt.group import ProcessGroup
from ato.hyperopt.guards import MISSING, first_difference
from ato.hyperopt.naming import params_text
from ato.hyperopt.outcomes import Outcome
from ato.message_text import first_line, shown

__all__ = ["rank_stopped", "refuse_different_settings", "together"]


def together(
    group: ProcessGroup, what: str, action: Callable[[], Any], *, share: bool = False
) -> Any:
    """``action()`` on every rank: what it returned here (``share``: on every rank,
    in rank order). When it raises on one rank, every rank stops (that rank with
    its error, the others with a RankStoppedError naming it) instead of waiting for
    that rank in the next step."""
    if group.world_size == 1:
        value = action()
        return [value] if share else value
    try:
        value, failure = action(), None
    except Exception as error:
        value, failure = None, error
    report = None if failure is None else first_line(failure)
    reports = group.gather(report, what)
    if failure is not None:
        raise failure
    for rank, reported in enumerate(reports):
        if reported is not None:
            raise RankStoppedError(
                f"Rank {rank} of the distributed search stopped {what}: {reported}. "
                f"Every rank stops with it; see rank {rank}'s output.",
                rank=rank,
            )
    return group.gather(value, what) if share else value


def refuse_different_settings(every: list[tuple[dict[str, Any], dict[str, str]]]) -> None:
    """Refuse, on every rank at once, ranks that planned different searches (from
    their gathered settings): each rank runs its share of trials it plans itself."""
    ours, our_readable = every[0]
    for rank, (facts, readable) in enumerate(every):
        difference = first_difference(ours, facts)
        if difference is None:
            continue
        where, mine, theirs = difference
        parts = where.split(".")  # categories are compared by hash, shown by value
        readable_categories = parts[0] == "space" and parts[-1] == "categories"
        if readable_categories:
            name = ".".join(parts[1:-1])
            mine, theirs = our_readable.get(name, mine), readable.get(name, theirs)
        on_rank = _on_rank(theirs, rank, readable_categories)
        on_zero = _on_rank(mine, 0, readable_categories)
        raise SearchSettingsError(
            f"The ranks of this distributed search were given different settings: "
            f"{where} is {on_rank}, {on_zero}. Every rank must make the search with "
            f"the same arguments, search space, views and command line."
        )


def _on_rank(value: Any, rank: int, readable: bool) -> str:
    """``value`` as a rank has it, in a message (``readable``: already text)."""
    if value is MISSING:
        return f"missing on rank {rank}"
    return f"{value if readable else shown(value)} on rank {rank}"


def rank_stopped(shares: list[list[Outcome]]) -> RankStoppedError | None:
    """When a trial of one rank raised SystemExit or KeyboardInterrupt (seen in every
    rank's gathered ``shares``), the error that stops the search on the others."""
    for rank, share in enumerate(shares):
        for outcome in share:
            if outcome.stopped is None:
                continue
            trial = outcome.trial
            return RankStoppedError(
                f"Rank {rank} stopped the search in rung {trial.rung}: its trial "
                f"{params_text(trial.params)} raised {outcome.stopped}. Every rank stops "
                f"with it; see rank {rank}'s output. Started again, the search resumes.",
                interrupted=outcome.interrupted,
                rank=rank,
            )
    return None

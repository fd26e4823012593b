"""What makes two starts of a search the same search, so that the second one resumes.

The algorithm with its arguments, the search space, the mode and the scope; the config
every trial starts from; and, when the search is tracked, the logic of the trial function
(its canonical fingerprint combined with its callees': a comment or a renamed local does
not count, an edit does). Stored metrics measured under another config or other code
would otherwise be mixed into the new search. Keys that differ at every start by design
do not count: the tracker's settings (``experiment.*``) and keys marked volatile.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["search_identity"]

# An object without a repr of its own shows its address, which differs at every start.
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def search_identity(
    facts: Mapping[str, Any],
    config: Mapping[str, Any],
    volatile: Sequence[str] = (),
    trial: Callable[..., Any] | None = None,
) -> str:
    """A 32-digit hex id of ``facts`` (JSON-able settings), the ``config`` trials start
    from (without tracker settings and ``volatile`` keys) and ``trial``'s logic."""
    from ato.config_json import encode
    from ato.explain.facts import flatten
    from ato.explain.sections import key_category
    from ato.trace import fingerprint_of

    patterns = tuple(volatile)

    def counts(key: str) -> bool:
        return key_category(key, patterns) == "config"

    plain, tags = encode(config)
    whole = dict(facts)
    whole["config"] = {key: value for key, value in flatten(plain) if counts(key)}
    whole["types"] = sorted(  # the order keys were written in does not count
        json.dumps(tag, sort_keys=True) for tag in tags if counts(".".join(map(str, tag[0])))
    )
    if trial is not None:
        whole["code"] = fingerprint_of(trial).combined
    text = _ADDRESS.sub("", json.dumps(whole, sort_keys=True, default=repr))
    return hashlib.sha256(text.encode()).hexdigest()[:32]

"""A trial's config: the scope's own assembly with the searched values on top.

:func:`assemble_trial` is :meth:`ato.scope.Scope.apply` with two layers after the
command-line values: the searched values, with a source of kind ``"search"``, and the
search's bookkeeping keys, kind ``"search bookkeeping"``; the lazy blocks and the lazy
views then see both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ato.adict import ADict
from ato.assembly import Whole
from ato.provenance import Source
from ato.scope import Scope

__all__ = ["PREVIEW_SOURCE", "assemble_trial", "search_layer", "search_source"]


#: The source of searched values in a config assembled outside a trial (``manual``).
PREVIEW_SOURCE = Source("search", "search (each trial sets its own)")


def search_source(rung: int, bracket: int | None = None) -> Source:
    """The source of searched values: ``search (rung 1)``, never "command line"."""
    where = f"rung {rung}" if bracket is None else f"bracket {bracket}, rung {rung}"
    return Source("search", f"search ({where})")


def search_layer(source: Source, values: Mapping[str, Any]) -> tuple[Source, dict[str, Any]]:
    """The layer of searched ``values`` for :meth:`Scope.apply`. A category that is a
    dict is one value, a preset: it replaces the key's section, as ``model={...}`` on
    the command line does, instead of merging into it."""
    whole = {key: Whole(value) if isinstance(value, Mapping) else value
             for key, value in values.items()}  # fmt: skip
    return source, whole


def assemble_trial(
    scope: Scope,
    values: Mapping[str, Any],
    source: Source,
    bookkeeping: Mapping[str, Any] | None = None,
) -> ADict:
    """Assemble ``scope.config`` in place with ``values`` (dotted keys) searched.

    Order: initial config, non-lazy views, command-line values, ``values`` (source
    ``source``), ``bookkeeping`` (source kind ``"search bookkeeping"``), the lazy blocks
    again, the lazy views (see :meth:`ato.scope.Scope.apply`). A searched key that no
    view sets is no typo: nothing warns.
    """
    layers: list[tuple[Source | str, Mapping[str, Any]]] = [search_layer(source, values)]
    if bookkeeping:
        name = source.name.replace("search", "search bookkeeping", 1)
        layers.append((Source("search bookkeeping", name, source.priority), bookkeeping))
    return scope.apply(*layers)

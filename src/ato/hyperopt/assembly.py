"""A trial's config: the scope's own assembly with the searched values on top.

:func:`assemble_trial` is :meth:`ato.scope.Scope.apply` with one more step: after the
command-line values, the searched values are written with a source of kind ``"search"``
(and the search's bookkeeping keys with kind ``"search bookkeeping"``); then the lazy
blocks run again and the lazy views apply, so both see the searched values. It uses
Scope's private assembly parts (``_initial``, ``_ordered``, ``_literals``,
``_set_override``, ``_check_command_line_keys``, ``_recorder`` and the ``_Assembly``
context); it is meant to become a ``Scope.apply(search=...)`` step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ato import adict
from ato.adict import ADict
from ato.provenance import Recorder, Source
from ato.scope import _ASSEMBLY, Scope, _Assembly

__all__ = ["assemble_trial", "search_source"]


def search_source(rung: int, bracket: int | None = None) -> Source:
    """The source of searched values: ``search (rung 1)``, never "command line"."""
    where = f"rung {rung}" if bracket is None else f"bracket {bracket}, rung {rung}"
    return Source("search", f"search ({where})")


def assemble_trial(
    scope: Scope,
    values: Mapping[str, Any],
    source: Source,
    bookkeeping: Mapping[str, Any] | None = None,
) -> ADict:
    """Assemble ``scope.config`` in place with ``values`` (dotted keys) searched.

    Order: initial config, non-lazy views, command-line values, ``values`` (source
    ``source``), ``bookkeeping`` (source kind ``"search bookkeeping"``), the lazy blocks
    again, the lazy views. A searched key that no view sets is no typo: nothing warns.
    """
    config = scope.config
    adict.observe(config, None)
    dict.clear(config)
    recorder = Recorder()
    recorder.root = config
    assembly = _Assembly(scope, recorder)
    token = _ASSEMBLY.set(assembly)
    adict.observe(config, recorder)
    try:
        recorder.source = Source("initial", "Scope(config=...)")
        for key, value in dict.items(scope._initial.clone()):
            config[key] = value
        for view in scope._ordered(lazy=False):
            assembly.view = view
            recorder.source = view.source()
            view.apply(config)
        assembly.view = None
        for override in scope._literals:
            recorder.source = Source("command line", override.token)
            scope._set_override(config, override)
        recorder.source = source
        for key, value in values.items():
            _write(config, key, value)
        recorder.source = Source(
            "search bookkeeping", source.name.replace("search", "search bookkeeping", 1)
        )
        for key, value in (bookkeeping or {}).items():
            _write(config, key, value)
        assembly.phase = "replay"
        for view in assembly.views_with_lazy_blocks:
            assembly.view = view
            recorder.skipping = True
            assert view.fn is not None
            view.fn(config)
            recorder.skipping = False
        assembly.phase = "lazy views"
        for view in scope._ordered(lazy=True):
            assembly.view = view
            recorder.source = view.source()
            view.apply(config)
    finally:
        recorder.skipping = False
        adict.observe(config, None)
        _ASSEMBLY.reset(token)
    scope._recorder = recorder
    scope.is_applied = True
    scope._check_command_line_keys()
    return config


def _write(config: ADict, key: str, value: Any) -> None:
    node = config
    parts = key.split(".")
    for part in parts[:-1]:
        child = dict.get(node, part)
        if not isinstance(child, ADict):
            node[part] = ADict()  # a searched section replaces whatever stood there
            child = dict.__getitem__(node, part)
        node = child
    node[parts[-1]] = value

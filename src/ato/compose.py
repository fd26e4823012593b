"""Building one config from several files.

- OpenMMLab style (:func:`load_mm_config`): a file names its parents in ``_base_``; the
  parents merge in order, then the file itself. A mapping with ``_delete_=True`` replaces
  what it lands on instead of merging into it.
- Hydra style (:func:`compose_hierarchy`): a base file, then one file per selected option
  of each group (``root/model/resnet.yaml``), then dotted overrides.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ato import files, paths
from ato.adict import ADict
from ato.cycles import check_cycle
from ato.errors import (
    ConfigFileError,
    ConfigFileNotFoundError,
    ConfigKeyError,
    InheritanceCycleError,
    InvalidArgumentError,
)

__all__ = ["COMPOSE_EXTENSIONS", "compose_hierarchy", "load_mm_config", "merge"]

PathLike = str | os.PathLike[str]

#: Extensions ``compose_hierarchy`` looks for, as in ato 2.x.
COMPOSE_EXTENSIONS = (".yaml", ".yml", ".json", ".toml", ".xyz")
_ON_MISSING = ("error", "warn", "ignore")


def merge(target: ADict, source: Mapping[Any, Any]) -> ADict:
    """Merge ``source`` into ``target`` recursively, honouring ``_delete_=True``; return it."""
    for key, value in source.items():
        if isinstance(value, Mapping):
            value = dict(value)
            replace = bool(value.pop("_delete_", False))
            current = target.get(key) if key in target else None
            if isinstance(current, ADict) and not replace:
                merge(current, value)
            else:
                target[key] = merge(type(target)(), value)
        else:
            target[key] = value
    return target


class _Level:
    """One file of a ``_base_`` chain being read: its data, and its bases merged so far."""

    __slots__ = ("bases", "config", "data", "path", "shown")

    def __init__(self, path: str, data: dict[Any, Any], bases: list[Any], config: ADict) -> None:
        self.path, self.data, self.bases, self.config = path, data, bases, config
        self.shown = path  # how a cycle names it: relative to the first file's folder


def load_mm_config(path: PathLike, cls: type[ADict] = ADict) -> ADict:
    """Read ``path`` with its ``_base_`` files merged under it.

    The chain is followed with a stack, not recursion, so a chain of thousands of files
    reads like a short one.
    """
    levels = [_open_level(os.fspath(path), cls)]
    folder = os.path.dirname(os.path.realpath(levels[0].path))
    levels[0].shown = os.path.relpath(os.path.realpath(levels[0].path), folder)
    while True:
        level = levels[-1]
        if level.bases:
            base = level.bases.pop(0)
            base_path = _resolve_base(level.path, base)
            shown = os.path.relpath(os.path.realpath(base_path), folder)
            check_cycle([above.shown for above in levels], shown, _cycle_error(level.path))
            if not os.path.exists(base_path):
                raise ConfigFileNotFoundError(
                    f"its _base_ entry {os.fspath(base)!r} names a file that does not exist "
                    f"({os.path.abspath(base_path)}). Fix the entry or add the file.",
                    level.path,
                )
            levels.append(_open_level(base_path, cls))
            levels[-1].shown = shown
            continue
        levels.pop()
        merged = _merge_file(level.config, level.data, level.path)
        if not levels:
            return merged
        merge(levels[-1].config, merged)


def _cycle_error(path: str) -> Callable[[str], InheritanceCycleError]:
    def error(cycle: str) -> InheritanceCycleError:
        return InheritanceCycleError(
            f"_base_ files include each other: {cycle}. Remove one of these _base_ entries.",
            path=path,
        )

    return error


def _merge_file(target: ADict, data: Mapping[Any, Any], path: str) -> ADict:
    """``merge(target, data)`` for the data of the file ``path``, whatever its depth."""
    try:
        return merge(target, data)
    except RecursionError:
        raise ConfigFileError(
            "nested too deeply to merge (hundreds of levels); flatten the structure", path=path
        ) from None


def _open_level(path: str, cls: type[ADict]) -> _Level:
    data = files.read(path)
    if not isinstance(data, Mapping):
        raise ConfigFileError(
            f"an OpenMMLab-style config must hold a mapping, not {type(data).__name__}",
            path=path,
        )
    data = dict(data)
    bases = data.pop("_base_", [])
    if isinstance(bases, (str, os.PathLike)):
        bases = [bases]
    if not isinstance(bases, (list, tuple)) or not all(
        isinstance(b, (str, os.PathLike)) for b in bases
    ):
        raise ConfigFileError(
            f"_base_ must be a path or a list of paths, not {bases!r:.60}", path=path
        )
    return _Level(path, data, list(bases), cls())


def _resolve_base(path: PathLike, base: PathLike) -> str:
    """``base`` relative to the including file; 2.x also accepted paths relative to the
    working directory, so those are tried when the first does not exist."""
    base = os.fspath(base)
    if os.path.isabs(base):
        return base
    beside = os.path.join(os.path.dirname(os.path.abspath(os.fspath(path))), base)
    if os.path.exists(beside) or not os.path.exists(base):
        return beside
    return base


def _find(root: str, stem: str) -> str | None:
    found = [
        stem + ext for ext in COMPOSE_EXTENSIONS if os.path.isfile(os.path.join(root, stem + ext))
    ]
    if len(found) > 1:
        raise ConfigFileError(
            f"{' and '.join(found)} both exist in {root}; keep one so the choice is not "
            f"left to the order of extensions"
        )
    return os.path.join(root, found[0]) if found else None


def compose_hierarchy(
    root: PathLike,
    config_filename: str = "config",
    select: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
    on_missing: str = "error",
    required: Iterable[str] | None = None,
    cls: type[ADict] = ADict,
) -> ADict:
    """Compose a config from ``root``: ``config_filename.<ext>``, then for each group in
    ``select`` the file ``root/<group>/<option>.<ext>`` of each chosen option (merged
    recursively, in order), then ``overrides`` (``{'train.lr': 0.1}``).

    ``on_missing`` says what a missing file does: ``'error'``
    (:class:`~ato.errors.ConfigFileNotFoundError`, a FileNotFoundError),
    ``'warn'`` or ``'ignore'``. Every dotted key in ``required`` must be present at the end.
    """
    if on_missing not in _ON_MISSING:
        raise InvalidArgumentError(
            f"on_missing must be one of {', '.join(_ON_MISSING)}, not {on_missing!r}"
        )
    root = os.fspath(root)
    config = cls()
    wanted = [("base config", config_filename)]
    for group, options in (select or {}).items():
        chosen = options if isinstance(options, (list, tuple)) else [options]
        wanted += [
            (f"option {option!r} of group {group!r}", f"{group}/{option}") for option in chosen
        ]
    loaded = []
    for label, stem in wanted:
        path = _find(root, stem)
        if path is None:
            message = (
                f"{label}: no {stem}{{{','.join(COMPOSE_EXTENSIONS)}}} in {os.path.abspath(root)}"
            )
            if on_missing == "error":
                raise ConfigFileNotFoundError(message, os.path.join(root, stem))
            if on_missing == "warn":
                warnings.warn(message, stacklevel=3)
            continue
        data = files.read(path)
        if not isinstance(data, Mapping):
            raise ConfigFileError(f"must hold a mapping, not {type(data).__name__}", path=path)
        _merge_file(config, data, path)
        loaded.append(path)
    for dotted, value in (overrides or {}).items():
        paths.set_value(config, dotted, value, factory=ADict)
    for dotted in required or ():
        try:
            paths.get_value(config, dotted)
        except KeyError:
            shown = ", ".join(loaded) or "no files"
            raise ConfigKeyError(
                f"Required key {dotted!r} is missing after composing {shown}. Add it to one "
                f"of these files or pass it in overrides.",
                dotted,
            ) from None
    return config

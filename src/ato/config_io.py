"""What a config reads and writes through other modules: files, JSON, XYZ, structure.

:class:`~ato.adict.ADict` inherits these methods from :class:`ConfigIO`. They only hand
the config to :mod:`ato.files`, :mod:`ato.xyz`, :mod:`ato.compose` and
:mod:`ato.structure`, so they live apart from ADict's own state and access rules.

Dependencies run one way: those modules never need an ADict from here (``cls`` or
``type(self)`` builds one), and the ones that work on configs are imported inside the
methods, which are ato 2.x conveniences (``ADict.from_file``, ``dump``, ``json``...); the
core of a config does not depend on its file formats.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from ato.errors import ConfigFileError
from ato.structure import StructuralDiff, structural_diff, structural_hash, structural_items

TYPE_CHECKING = False  # importing typing costs import time; ato.adict imports this module
if TYPE_CHECKING:
    from typing import Any, TypeAlias

    from ato.adict import ADict

    PathLike: TypeAlias = str | os.PathLike[str]

__all__ = ["ConfigIO"]


class ConfigIO:
    """File, text and structure methods of ADict (see there); ``self`` is an ADict."""

    __slots__ = ()

    def json(self: Any, **options: Any) -> str:
        """This config as one line of JSON, as 2.x wrote it (``options`` go to
        ``json.dumps``); a value JSON cannot hold raises naming its key path."""
        from ato import files  # lazy: a 2.x convenience over ato.files

        options.setdefault("indent", None)
        options.setdefault("ensure_ascii", True)
        return files.dumps(self, "json", **options).rstrip("\n")

    def to_xyz(self: Any, format_dict: Mapping[str, str] | None = None) -> str:
        """This config in XYZ, ato's line-per-key text format (``format_dict``: custom
        key and index marks for display, see :func:`ato.xyz.dumps`)."""
        from ato import xyz  # lazy: a 2.x convenience over ato.xyz

        return xyz.dumps(self, format_dict=format_dict)

    # -- structure ---------------------------------------------------------------------

    def get_structural_hash(self: Any) -> str:
        """SHA-1 of the dotted keys and value types (never the values); equal to 2.x's."""
        return structural_hash(self)

    def get_structural_repr(self: Any) -> ADict:
        """``{dotted_key: type_name}`` for every leaf, sorted by key."""
        shown: ADict = type(self)._from_plain(dict(structural_items(self)))
        return shown

    def structural_diff(self: Any, other: Mapping[Any, Any]) -> StructuralDiff:
        """Keys ``other`` adds, removes, or holds with another type than this config."""
        return structural_diff(self, other)

    # -- files -------------------------------------------------------------------------

    @classmethod
    def from_file(cls: Any, path: PathLike) -> Any:
        """Read a config file (.json .jsonl .yaml .yml .toml .xyz .py).

        A file holding a list (a JSON array, JSON Lines) gives a list of ADicts.
        """
        from ato import files  # lazy: a 2.x convenience over ato.files

        return _wrap(cls, files.read(path), path)

    def dump(self: Any, path: PathLike, **options: Any) -> None:
        """Write this config to ``path`` (format by extension), atomically."""
        from ato import files  # lazy: a 2.x convenience over ato.files

        files.write(self, path, **options)

    def load(self: Any, path: PathLike) -> None:
        """Replace this config's contents with the file's (nothing changes if reading fails)."""
        loaded = type(self).from_file(path)
        if not isinstance(loaded, Mapping):
            raise ConfigFileError(
                "load() needs a file holding one mapping, but it holds a list; "
                "use ADict.from_file() to read a list of configs.",
                path=os.fspath(path),
            )
        self._check_writable("load()")
        self.clear()
        for key, value in loaded.items():
            self[key] = value

    @classmethod
    def from_mm_config(cls: Any, path: PathLike) -> ADict:
        """Read an OpenMMLab-style config: its ``_base_`` files first, then the file itself."""
        from ato import compose  # lazy: a 2.x convenience over ato.compose

        return compose.load_mm_config(path, cls)

    def load_mm_config(self: Any, path: PathLike) -> None:
        """Update this config (top level) with an OpenMMLab-style config file."""
        self.update(type(self).from_mm_config(path))

    @classmethod
    def compose_hierarchy(
        cls: Any,
        root: PathLike,
        config_filename: str = "config",
        select: Mapping[str, str | list[str] | tuple[str, ...]] | None = None,
        overrides: Mapping[str, Any] | None = None,
        on_missing: str = "error",
        required: Iterable[str] | None = None,
    ) -> ADict:
        """Compose a config Hydra-style: base file, selected group files, dotted overrides."""
        from ato import compose  # lazy: a 2.x convenience over ato.compose

        return compose.compose_hierarchy(
            root,
            config_filename=config_filename,
            select=select,
            overrides=overrides,
            on_missing=on_missing,
            required=required,
            cls=cls,
        )


def _wrap(cls: Any, data: Any, path: PathLike) -> Any:
    if isinstance(data, Mapping):
        return cls._from_plain(data)
    if isinstance(data, list) and all(isinstance(item, Mapping) for item in data):
        return [cls._from_plain(item) for item in data]
    raise ConfigFileError(
        f"A config file must hold a mapping (or a list of mappings), but this one holds "
        f"{type(data).__name__}: {data!r:.60}",
        path=os.fspath(path),
    )

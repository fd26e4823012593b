"""YAML config files, read with PyYAML's safe loader (its C version when available): a
tag that would build a Python object is refused, a key written twice is refused, aliases
that would expand past memory are refused, and ``1e-3`` reads as a float (YAML 1.1 reads
it as text)."""

from __future__ import annotations

import math
import re
from functools import cache
from typing import Any

from ato.errors import ConfigFileError
from ato.file_text import OutOfRange, read_text

__all__ = ["read_yaml", "yaml_classes"]


# YAML 1.1 (PyYAML) reads 1e-3 as a string because it has no dot; configs mean a float.
_YAML_EXPONENT_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")
_YAML_FLOAT_TAG = "tag:yaml.org,2002:float"


def _unique_mapping(self: Any, node: Any, deep: bool = False) -> Any:
    """A YAML mapping, refusing a key written twice (PyYAML keeps the last silently,
    so a config would lose a value without a word)."""
    import yaml

    seen: dict[Any, Any] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
            continue
        key = self.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first at line {seen[key].line + 1}); keep one of them",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark
    return super(type(self), self).construct_mapping(node, deep)


@cache
def yaml_classes() -> tuple[type, type]:
    import yaml

    base_loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    base_dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    loader = type("AtoYamlLoader", (base_loader,), {"construct_mapping": _unique_mapping})
    dumper = type("AtoYamlDumper", (base_dumper,), {})
    for cls in (loader, dumper):
        resolver = list("-+0123456789")
        cls.add_implicit_resolver(_YAML_FLOAT_TAG, _YAML_EXPONENT_FLOAT, resolver)  # type: ignore[attr-defined]
    loader.add_constructor(_YAML_FLOAT_TAG, _finite_yaml_float)  # type: ignore[attr-defined]
    return loader, dumper


def _finite_yaml_float(loader: Any, node: Any) -> float:
    value: float = loader.construct_yaml_float(node)
    if math.isinf(value) and not str(node.value).lstrip("+-").lower().startswith(".inf"):
        mark = node.start_mark
        raise OutOfRange(str(node.value), mark.line + 1, mark.column + 1)
    return value


def read_yaml(path: str) -> Any:
    import yaml

    loader, _ = yaml_classes()
    text = read_text(path)
    try:
        data = yaml.load(text, Loader=loader)  # a safe loader subclass
    except OutOfRange as out:
        raise out.error(path, text) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = error.problem or "unreadable YAML"
        if isinstance(error, yaml.constructor.ConstructorError) and "tag" in problem:
            problem += (
                ". ato reads YAML with a safe loader, so tags that build Python objects "
                "(!!python/...) are refused; write plain values instead"
            )
        elif error.context:
            problem = f"{problem} ({error.context})"
        raise ConfigFileError(
            f"invalid YAML: {problem}",
            path=path,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as error:
        raise ConfigFileError(f"invalid YAML: {error}", path=path) from None
    _check_aliases(data, path)
    return {} if data is None else data


# A config is copied value by value: aliases that each repeat another many times (a
# "billion laughs" file of a few hundred bytes) would expand past any memory.
_ALIAS_LIMIT = 10_000_000


def _check_aliases(data: Any, path: str) -> None:
    """Refuse YAML whose aliases make a container contain itself, or expand to more than
    ``_ALIAS_LIMIT`` values; each distinct object counted once, so this stays linear (and
    walks with a stack: a file may nest as deep as the reader allows)."""
    sizes: dict[int, int] = {}
    open_now: set[int] = set()
    written = 1  # values as the file writes them, each alias once
    stack: list[tuple[Any, bool]] = [(data, False)]
    while stack:
        node, done = stack.pop()
        if not isinstance(node, (dict, list)):
            continue
        key = id(node)
        children = list(node.values() if isinstance(node, dict) else node)
        if done:  # every child is counted: this container's size
            open_now.discard(key)
            total = 1 + sum(
                sizes[id(child)] if isinstance(child, (dict, list)) else 1 for child in children
            )
            if total > _ALIAS_LIMIT and total > 10 * written:  # a big file is not a bomb
                raise ConfigFileError(
                    f"YAML aliases expand to more than {_ALIAS_LIMIT:,} values; a config "
                    f"this large is refused. Write the repeated parts once",
                    path=path,
                )
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in open_now:
            raise ConfigFileError(
                "a YAML alias names a mapping or list from inside it, so it contains "
                "itself; a config must be a tree: copy the values instead",
                path=path,
            )
        open_now.add(key)
        written += len(children)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(children))

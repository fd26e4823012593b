"""What runs when a traced function is called, besides itself: the user functions,
classes, partials and callable instances it reaches (named directly, through modules,
objects and registries, looked up by a name computed as it runs, or as the class a
parameter is annotated with: :mod:`ato.parameter_types`), and the module
globals it reads, each counted by the code that sets it (:class:`GlobalValue`). Found
transitively, without running anything (what a source reads: :mod:`ato.function_reads`;
what only a registry's entries reach is named by them: :mod:`ato.registry_entries`);
:mod:`ato.trace` fingerprints each one.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Hashable, Iterator, Mapping
from typing import Any

from ato.canonical import global_names, unwrap
from ato.computed_imports import (
    MAY_RUN,
    Walk,
)
from ato.fingerprint import is_user_class, is_user_function, what_runs
from ato.function_reads import ANY_ATTRIBUTE, attribute_reads
from ato.globals_code import (
    PLAIN_LIMIT,
    GlobalValue,
    class_body,
    global_statements,
    global_value,
)
from ato.module_code import is_user_path
from ato.parameter_types import ANNOTATED
from ato.registry_entries import EntryGraph, RegistryKey, is_markable

__all__ = ["callees"]


def _callee_name(value: Any, name: str, namespace: Mapping[str, Any]) -> str:
    qualname = getattr(value, "__qualname__", "")
    if isinstance(value, (types.FunctionType, type)) and "<" not in qualname:
        return f"{value.__module__}.{qualname}"  # not '<lambda>': every lambda is named so
    # A partial, an instance, a wrapper: what calling it runs, beside (never in place of)
    # the code that set the global (see global_value).
    return f"{namespace.get('__name__', '')}.{name}()"


def _defined_in(module: types.ModuleType) -> list[tuple[str, Any]]:
    """The functions and classes ``module`` defines itself (not those it imports), when
    it is the program's own (a library's, ``getattr(F, name)``, belong to its version)."""
    if not is_user_path(str(getattr(module, "__file__", "") or "")):
        return []
    own = getattr(module, "__name__", None)
    return [
        (attribute, value)
        for attribute, value in list(vars(module).items())
        if isinstance(value, (types.FunctionType, type))
        and getattr(unwrap(value), "__module__", None) == own
    ]


def _attributes_of(owner: Any, name: str, chains: list[tuple[str, ...]]) -> list[tuple[str, Any]]:
    """``(name.a, value)`` for what each chain reaches, looked up without running code:
    through modules' dicts (``pkg.ops.clip``), then on an object's class (its methods).
    A chain :data:`~ato.function_reads.ANY_ATTRIBUTE` on a module reaches every function
    and class it defines."""
    found = []
    for chain in chains:
        if chain[-1:] == ANY_ATTRIBUTE:  # pkg.optim, then whichever of its attributes
            module, where = owner, name
            for attribute in chain[:-1]:
                module = (
                    vars(module).get(attribute) if isinstance(module, types.ModuleType) else None
                )
                where = f"{where}.{attribute}"
            if isinstance(module, types.ModuleType):
                found += [(f"{where}.{attr}", value) for attr, value in _defined_in(module)]
            continue
        current, where = owner, name
        for depth, attribute in enumerate(chain):
            try:
                if isinstance(current, types.ModuleType):
                    value = vars(current).get(attribute)
                else:
                    value = inspect.getattr_static(type(current), attribute, None)
            except Exception:
                break
            # ops.OFFSET, models.MODELS: a module's own global, by the code that sets it
            if (
                isinstance(current, types.ModuleType)
                and not attribute.startswith("__")
                and global_statements(vars(current), attribute) is not None
            ):
                found.append((attribute, (_DATA, vars(current))))
                if _is_state(value):
                    break
            if isinstance(value, types.ModuleType) and depth + 1 < len(chain):
                current, where = value, f"{where}.{attribute}"
                continue
            value = unwrap(value)
            if value is not None and not isinstance(value, types.ModuleType):
                found.append((f"{where}.{attribute}", value))
            break
    return found


_DATA = object()  # marks plain data among the attributes found


def _is_state(value: Any) -> bool:
    """A global that is no code of its own: not a module, class or callable."""
    return not isinstance(value, (types.ModuleType, type)) and not callable(value)


# (globals, names read there, their attribute chains, names imported in the body, what
# reads them: None while what is reached directly is found, then a node of the
# EntryGraph; what is already found there)
_Work = tuple[
    Mapping[str, Any],
    list[str],
    dict[str, list[tuple[str, ...]]],
    dict[str, Any],
    Hashable | None,
    list[tuple[str, Any]],
]


def callees(
    func: Any, as_it_runs: bool = True, lazy: list[bool] | None = None
) -> Iterator[tuple[str, Any]]:
    """What runs when ``func`` is called and lives in user code, found transitively, each
    once: the functions, classes, partials and callable instances it names as module
    globals (directly, through modules, objects or registries); each module global it
    reads that is not a function or class, as a :class:`GlobalValue` (counted by the code
    that sets it, whose own reads are followed in turn); and the files of the modules
    it imports as it runs, as a :class:`~ato.module_files.ModuleFile` under
    ``MAY_RUN`` + the module's name. What only a module loaded as it runs holds (imported
    in a body, not at the top of a module) is found when that module is loaded, and left
    out unless ``as_it_runs``; ``lazy`` gets an item when there is such a module.

    What only a registry's entries reach (``MODELS["vit"]``, what ``vit`` calls and
    reads) is named by those entries (:mod:`ato.registry_entries`): all that ``func``
    reaches otherwise is found first, so anything it also reaches directly keeps its own
    name."""
    try:
        first = [function for _, function in what_runs(func).functions]
    except Exception:
        return
    # Functions to parse, each with what reaches it (None: reached directly).
    stack: list[tuple[Any, Hashable | None]] = [(function, None) for function in first]
    # Keyed by id, holding the objects so that no id is reused while this runs.
    seen: dict[int, object] = {id(function): function for function in first}
    parsed = dict(seen)
    data_seen: set[str] = set()
    data_direct: set[str] = set()
    may_run_seen: set[str] = set()
    modules_found = Walk()
    graph = EntryGraph()
    direct = True  # until every entry met is followed, after all that is reached directly
    work: list[_Work] = []

    def data(home: Mapping[str, Any], name: str, into: list[Any], origin: Any) -> bool:
        """Global ``name`` of ``home`` by its code (see _read_global), and the edge from
        what reads it; whether code sets it."""
        key = _read_global(home, name, data_seen, work, into, direct)
        if key is not None and origin is not None and key not in data_direct:
            graph.edge(origin, ("data", key))
        return key is not None

    while stack or work or graph.waiting:
        if not work and not stack:
            direct = False
            key, value, namespace = graph.waiting.popleft()
            work.append((namespace, [], {}, {}, None, [(key, value)]))
        if not work:
            current, origin = stack.pop()
            try:
                names = global_names(current)
            except Exception:
                continue
            try:
                reads, imported, may_run, loaded_as_it_runs = attribute_reads(
                    current, as_it_runs, modules_found
                )
            except Exception:  # whatever sys.modules or a module holds: never fail
                reads, imported, may_run, loaded_as_it_runs = {}, {}, [], False
            if loaded_as_it_runs and lazy is not None and not lazy:
                lazy.append(True)
            for module, file in may_run:
                if module not in may_run_seen:
                    may_run_seen.add(module)
                    yield MAY_RUN + module, file
            work.append(
                (
                    current.__globals__,
                    [*names, *(n for n in imported if n not in names)],
                    reads,
                    imported,
                    origin,
                    [],
                )
            )
        namespace, names, reads, imported, origin, found = work.pop()
        for name in names:
            value = unwrap(namespace.get(name) if name not in imported else imported[name])
            counted = False
            if not name.startswith("__") and name not in imported:
                # SCALE = 2, model = MLP(64), schedule = make_schedule(0.1): by the code
                # that sets it (a def, a class or an import sets none); what that code
                # reads is followed (HIDDEN = BASE * 4 counts BASE, MLP counts)
                counted = data(namespace, name, found, origin)
            if counted and not isinstance(value, (types.FunctionType, type, types.ModuleType)):
                # An object made by that code (an instance, a partial): its code is what
                # the assignment reads, followed above. What it holds now is state (a
                # model set later in a loop of runs, a cache): never followed, except the
                # functions and classes of a registry (MODELS filled by @register(...)).
                found += [
                    item
                    for item in _registry(value, name)
                    if isinstance(item[1], (types.FunctionType, type))
                ]
                continue
            if isinstance(value, types.ModuleType) or (value is not None and not callable(value)):
                # utils.clip(x), F.relu(x), sched.factor(x): what is read on a module or
                # an object (a library's functions are dropped below, as user code is not)
                found += _attributes_of(value, name, reads.get(name, []))
                found += _registry(value, name)
            elif value is not None:
                found.append((name, value))
        for name, value in found:
            if isinstance(value, tuple) and len(value) == 2 and value[0] is _DATA:
                # a module's own global reached through it: ops.OFFSET, models.MODELS
                home: Mapping[str, Any] = value[1]
                data(home, name, found, origin)
                found.extend(_registry(unwrap(home.get(name)), name))
                continue
            if isinstance(value, GlobalValue):
                if direct:
                    data_direct.add(name)
                    yield name, value
                else:
                    graph.pending[("data", name)] = (name, value)
                continue
            if id(value) in seen or not callable(value) or isinstance(value, types.ModuleType):
                continue
            reached_from = origin
            if isinstance(name, RegistryKey) and is_markable(name.key):
                if direct:
                    # one entry of a registry: named as such unless reached directly too,
                    # which is known once all that is reached directly has been found
                    graph.waiting.append((name, value, namespace))
                    continue
                # reached through its entry alone, even where an entry's code reads its
                # registry again (@register fills it)
                reached_from = graph.root(name)
            node = id(value)
            if not direct:
                assert reached_from is not None
                graph.edge(reached_from, node)
                if node in graph.pending:
                    continue
            try:
                functions = [f for _, f in what_runs(value).functions if is_user_function(f)]
            except Exception:
                continue
            user_class = is_user_class(value)
            if not functions and not user_class:
                continue
            # found through an annotation alone: marked (see ato.parameter_types)
            mark = ANNOTATED if name.startswith("<annotation ") else ""
            called = mark + _callee_name(value, name, namespace)
            if direct:
                seen[node] = value
                yield called, value
            else:
                graph.pending[node] = (called, value)
            inside = None if direct else node
            if user_class:  # its body's reads: hidden: int = HIDDEN counts HIDDEN
                body = class_body(value)
                if body is not None:
                    work.append((body[1], body[2], body[3], {}, inside, []))
            for function in functions:
                if not direct:
                    graph.edge(node, id(function))
                if id(function) not in parsed:
                    parsed[id(function)] = function
                    stack.append((function, None if direct else id(function)))
    yield from graph.names()


def _read_global(
    namespace: Mapping[str, Any],
    name: str,
    data_seen: set[str],
    work: list[Any],
    found: list[tuple[str, Any]],
    direct: bool = True,
) -> str | None:
    """Add global ``name``'s :class:`GlobalValue` to ``found`` (once), and what its code
    reads to ``work`` (read by the global, unless ``direct``); its key, when code sets
    it."""
    counted = global_value(namespace, name)
    if counted is None:
        return None
    key, value, follow = counted
    if key in data_seen:
        return key
    data_seen.add(key)
    found.append((key, value))
    if follow is not None:
        home, names, chains = follow
        # MODELS = {"resnet": resnet, "vit": vit}: its entries are found as entries (by
        # the caller, from the registry), not as names its code reads
        entries = {
            id(item)
            for entry, item in _registry(unwrap(namespace.get(name)), name)
            if is_markable(entry.key)
        }
        if entries:
            names = [n for n in names if id(unwrap(home.get(n))) not in entries]
        work.append((home, names, chains, {}, None if direct else ("data", key), []))
    return key


def _registry(value: Any, name: str) -> list[tuple[RegistryKey, Any]]:
    """The callables an exact dict, list or tuple holds (ACTS["relu"](x) runs one), each
    under a name of its own; lambdas there are code of the assignment, counted with it."""
    if type(value) not in (dict, list, tuple) or not isinstance(value, (dict, list, tuple)):
        return []
    if len(value) > PLAIN_LIMIT:
        return []
    items = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
    return [
        (RegistryKey(name, key), unwrap(item))
        for key, item in items
        if callable(item) and getattr(item, "__name__", "") != "<lambda>"
    ]

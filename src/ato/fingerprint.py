"""Fingerprints of what runs when an object is called.

The form is written by this module, field by field, in an order it fixes itself, so the
hash is the same on every Python from 3.10 to 3.13 (``ast.dump`` is not). Local names are
numbered in order of first use, per scope (never per ``id()``, which the allocator
reuses differently on each version); a ``nonlocal`` or a closure's variable is written
under its canonical name.

The canonical form of one function's source is :mod:`ato.canonical`'s.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import sys
import textwrap
import types
from collections.abc import Mapping
from typing import Any

from ato.canonical import (
    CodeFingerprint,
    analyse,
    canonical_form,
    code_object_hash,
    name_of,
    unwrap,
)
from ato.globals_code import (
    class_body,
    class_node,
)
from ato.live_source import StaleSourceError
from ato.module_code import is_user_path

__all__ = [
    "fingerprint_function",
    "function_source",
    "is_user_function",
    "unwrap",
    "what_runs",
]

_ENTRY_METHODS = ("__call__", "forward")

# Names already warned about in this process: a warning per object, not per read.
_WARNED: set[str] = set()


def _warn_once(name: str, message: str) -> None:
    if name in _WARNED:
        return
    _WARNED.add(name)
    import warnings

    from ato.errors import AtoWarning

    warnings.warn(message, AtoWarning, stacklevel=4)


def _member_functions(raw: object) -> list[tuple[str, Any]]:
    """The functions behind one attribute of a class body, labelled."""
    if isinstance(raw, (staticmethod, classmethod)):
        return [("", unwrap(raw.__func__))]
    if isinstance(raw, property):
        parts = (("fget", raw.fget), ("fset", raw.fset), ("fdel", raw.fdel))
        return [(f".{part}", unwrap(fn)) for part, fn in parts if fn is not None]
    if isinstance(raw, functools.cached_property):
        return [("", unwrap(raw.func))]
    if isinstance(raw, types.FunctionType):
        return [("", unwrap(raw))]
    return []


class _Runs:
    """What runs when an object is called: Python functions, each under a label, and
    facts (bound arguments, names of code ato cannot read) as deterministic text."""

    def __init__(self) -> None:
        self.functions: list[tuple[str, types.FunctionType]] = []
        self.facts: list[str] = []
        self.unseen: list[str] = []  # objects known by name only
        self.data_read = False  # a user class's fields and data were read
        self._seen: dict[int, object] = {}  # holds the objects, so no id is reused

    def first_visit(self, obj: object) -> bool:
        if id(obj) in self._seen:
            return False
        self._seen[id(obj)] = obj
        return True

    def add_function(self, label: str, func: types.FunctionType) -> None:
        self.functions.append((label, func))
        self._collect_closure(label, func)

    def collect(self, obj: Any, label: str, direct: bool = True) -> None:
        """Add what runs when ``obj`` is called. Library code that is not traced itself
        but reached (a closure's ``print``, a partial's bound ``torch.relu``) counts by
        its name, without a warning: the environment records library versions."""
        obj = unwrap(obj)
        if not self.first_visit(obj):
            return
        found, unseen = len(self.functions), len(self.unseen)
        if isinstance(obj, types.FunctionType):
            if direct or is_user_function(obj):
                self.add_function(label, obj)
        elif isinstance(obj, types.MethodType):
            self._collect_method(obj, label, direct)
        elif isinstance(obj, functools.partial):
            self._collect_partial(obj, label, direct)
        elif isinstance(obj, type):
            self._collect_class(obj, label)
        elif _member_functions(obj):  # a property or staticmethod object itself
            for part, func in _member_functions(obj):
                self.collect(func, label + part, direct)
        else:
            # __init__ too: it made the instance's parts (a layer's width is logic).
            entry = [(name, 0) for name in (*_ENTRY_METHODS, "__init__")]
            self._reach(type(obj), entry, label, obj)
        read = isinstance(obj, type) and is_user_class(obj)  # its fields and data count
        if len(self.functions) == found and not read:  # its name, like a function's, not
            name = name_of(obj)
            self.facts.append(f"{label}name={name}")
            if direct and len(self.unseen) == unseen:  # not said already (a partial's max)
                self.unseen.append(name)

    def _collect_closure(self, label: str, func: types.FunctionType) -> None:
        # A decorator without functools.wraps returns its wrapper: the real function is
        # in the wrapper's closure. Labelled without the variable's name, so renaming it
        # does not count (the entries are sorted before hashing).
        for name, cell in zip(func.__code__.co_freevars, func.__closure__ or (), strict=True):
            if name == "__class__":  # set by super(): the class, not code that runs
                continue
            try:
                value = cell.cell_contents
            except ValueError:  # not yet assigned
                continue
            if callable(value) and not isinstance(value, types.ModuleType):
                self.collect(value, f"{label}/closure:", direct=False)

    def _collect_method(self, method: types.MethodType, label: str, direct: bool) -> None:
        owner = method.__self__
        func = unwrap(method.__func__)
        if not isinstance(func, types.FunctionType):
            self.collect(func, label, direct)
            return
        if not (direct or is_user_function(func)):
            return
        self.first_visit(func)
        self.add_function(label, func)
        if isinstance(owner, type):
            self._reach(owner, _reached_names(func, 0), label + "self.")
        else:
            self._reach(type(owner), _reached_names(func, 0), label + "self.", owner)

    def _collect_partial(self, partial: functools.partial[Any], label: str, direct: bool) -> None:
        self.collect(partial.func, f"{label}partial.func", direct)
        bound = [(f"args[{i}]", value) for i, value in enumerate(partial.args)]
        bound += sorted(partial.keywords.items())
        for name, value in bound:
            where = f"{label}partial.{name}"
            if callable(value):
                self.collect(value, where, direct=False)
                continue
            from ato.value_hash import value_hash

            try:
                self.facts.append(f"{where}=value:{value_hash(value)}")
            except Exception:
                kind = name_of(type(value))
                self.facts.append(f"{where}=unhashable:{kind}")
                _warn_once(
                    f"{kind} bound in a partial",
                    f"A {kind} bound in a partial cannot be hashed by value; the "
                    f"fingerprint counts its type only.",
                )

    def _collect_class(self, cls: type, label: str) -> None:
        names: list[tuple[str, int]] = []
        for index, klass in enumerate(_mro(cls)):
            members = _members(klass)
            own = is_user_class(klass)
            if own:
                self._collect_class_data(klass, f"{label}#{index}")
            user = any(
                is_user_function(func)
                for raw in members.values()
                for _, func in _member_functions(raw)
            )
            if user:
                # Its own methods; what Python or a library wrote into it (a NamedTuple's
                # _replace, 3.13's __replace__) counts only where user code reaches it.
                names.extend(
                    (name, 0)
                    for name, raw in members.items()
                    if any(is_user_function(func) for _, func in _member_functions(raw))
                )
            elif klass is not object and not own:  # a library base: by its name
                self.facts.append(f"{label}base#{index}={name_of(klass)}")
        self._reach(cls, names, label)

    def _collect_class_data(self, klass: type, label: str) -> None:
        """A user class's fields, defaults and constants (a dataclass's, a NamedTuple's,
        an enum's members), as the code of its body says them."""
        self.data_read = True
        body = class_body(klass)
        if body is not None and body[0]:
            digest = hashlib.sha256(body[0].encode("utf-8")).hexdigest()
            self.facts.append(f"{label}body={digest}")

    def _reach(
        self, cls: type, queue: list[tuple[str, int]], label: str, instance: object = None
    ) -> None:
        """The methods named in ``queue`` (name, first MRO index to look in), and those
        they read on ``self`` or ``super()``, transitively; with an ``instance``, also
        the callables it holds under names no class defines (an ``nn.Module``'s parts,
        a function kept as an attribute)."""
        mro = _mro(cls)
        done: set[tuple[str, int]] = set()
        while queue:
            name, start = queue.pop(0)
            if (name, start) in done:
                continue
            done.add((name, start))
            for index in range(start, len(mro)):
                raw = _members(mro[index]).get(name)
                if raw is not None:
                    break
            else:
                # Not for __call__/forward: a Mock would invent one at every level.
                entry = name in _ENTRY_METHODS or name == "__init__"
                if instance is not None and start == 0 and not entry:
                    self._collect_held(instance, name, label)
                continue
            for part, func in _member_functions(raw):
                where = f"{label}{name}{part}#{index}"
                if _generated(func):
                    continue  # made from the class's fields (counted), and per Python
                if not is_user_function(func):
                    self.facts.append(f"{where}={name_of(func)}")
                elif self.first_visit(func):
                    self.add_function(where, func)
                    queue.extend(_reached_names(func, index))

    def _collect_held(self, instance: object, name: str, label: str) -> None:
        try:
            value = getattr(instance, name)  # torch keeps parts behind __getattr__
        except Exception:
            return
        runs = callable(value) or any("forward" in _members(k) for k in _mro(type(value)))
        if runs and not isinstance(value, types.ModuleType):
            self.collect(value, f"{label}{name}=", direct=False)


def _mro(cls: type) -> tuple[type, ...]:
    mro = getattr(cls, "__mro__", None)
    return mro if isinstance(mro, tuple) else (cls,)


def _members(cls: type) -> Mapping[str, object]:
    try:
        return vars(cls)
    except Exception:
        return {}


def _reached_names(func: types.FunctionType, index: int) -> list[tuple[str, int]]:
    try:
        analysis = analyse(func)
    except Exception:  # no source: nothing more can be seen
        return []
    return [(name, 0) for name in analysis.own] + [(n, index + 1) for n in analysis.inherited]


def what_runs(obj: Any) -> _Runs:
    runs = _Runs()
    runs.collect(obj, "")
    return runs


def _function_fingerprint(func: types.FunctionType) -> CodeFingerprint:
    """SHA-256 of the canonical form, or of the code object when there is no source."""
    try:
        text = canonical_form(func)
    except Exception as error:  # no source, or code ato cannot follow: never fail the caller
        digest = hashlib.sha256(b"code object\0")
        code_object_hash(func.__code__, digest)
        # Defaults live on the function, not in its code object: lambda x, k=2: x * k.
        from ato.value_hash import value_hash

        for defaults in (func.__defaults__, func.__kwdefaults__):
            try:
                digest.update(value_hash(defaults).encode())
            except Exception:  # a default that cannot be hashed counts by its type
                digest.update(name_of(type(defaults)).encode())
        name = name_of(func)
        why = "No source" if isinstance(error, (OSError, TypeError)) else "Cannot read the code"
        if why != "No source":
            why += f" ({type(error).__name__}: {error})"
        if isinstance(error, StaleSourceError):  # its text is not what runs: never use it
            why = "The file was edited since it was loaded"
        code = func.__code__
        where = f"{name!r} ({code.co_filename}:{code.co_firstlineno})"  # lambdas share a name
        _warn_once(
            where,
            f"{why} for {where}; its fingerprint hashes the code object instead, "
            f"which changes with the Python version.",
        )
        return CodeFingerprint(digest.hexdigest(), "code object")
    return CodeFingerprint(hashlib.sha256(text.encode("utf-8")).hexdigest(), "ast")


def fingerprint_function(func: Any) -> CodeFingerprint:
    """The fingerprint of what runs when ``func`` is called: a function (past
    ``functools.wraps`` wrappers), with the functions its closure holds (the real body
    under a decorator written without ``wraps``); a ``functools.partial``'s function and
    its bound arguments by value; a callable instance's ``__call__``/``forward`` and the
    methods they reach; a class's methods. Code ato cannot read counts by its name,
    with an :class:`~ato.errors.AtoWarning`. Never raises."""
    try:
        runs = what_runs(func)
    except Exception as error:  # a bug here must not fail the user's program
        runs = _Runs()
        runs.facts.append(f"name={name_of(func)}")
        runs.unseen.append(f"{name_of(func)} ({type(error).__name__}: {error})")
    for name in runs.unseen:
        _warn_once(
            name,
            f"Cannot see the code of {name}; its fingerprint counts its name only, so a "
            f"change inside it does not show.",
        )
    if len(runs.functions) == 1 and not runs.facts and not runs.functions[0][0]:
        return _function_fingerprint(runs.functions[0][1])  # a plain function
    basis = "ast" if runs.functions or runs.data_read else "name"
    entries = list(runs.facts)
    for label, function in runs.functions:
        fingerprint = _function_fingerprint(function)
        if fingerprint.basis != "ast":
            basis = fingerprint.basis
        entries.append(f"{label}={fingerprint.value}")
    digest = hashlib.sha256(b"what runs\0")
    for entry in sorted(entries):
        digest.update(entry.encode("utf-8") + b"\0")
    return CodeFingerprint(digest.hexdigest(), basis)


def function_source(func: Any) -> str | None:
    """The source of what runs when ``func`` is called (a class's whole body), dedented,
    or None when Python cannot see it."""
    original = unwrap(func)
    try:
        if isinstance(original, type):
            node = class_node(original)
            if node is not None:
                return node[0].source(node[1])
            return textwrap.dedent(inspect.getsource(original))
        sources = [analyse(function).source for _, function in what_runs(func).functions]
    except Exception:
        return None
    return "\n".join(sources) or None


def _generated(func: Any) -> bool:
    """A method a class decorator wrote (a dataclass's ``__init__``, and from Python 3.13
    its ``__replace__``): code without a file, in a class of the user's."""
    code = getattr(func, "__code__", None)
    return (
        code is not None
        and code.co_filename.startswith("<")
        and "." in getattr(func, "__qualname__", "")
    )


def is_user_class(value: object) -> bool:
    """A class defined in a file outside the standard library, site-packages and ato."""
    if not isinstance(value, type):
        return False
    module = sys.modules.get(getattr(value, "__module__", "") or "")
    filename = getattr(module, "__file__", None)
    return isinstance(filename, str) and is_user_path(filename)


def is_user_function(value: object) -> bool:
    """A Python function defined in a file outside the standard library, site-packages
    and ato."""
    return isinstance(value, types.FunctionType) and is_user_path(value.__code__.co_filename)

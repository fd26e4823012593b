"""The environment a run happened in, as a JSON-able record with a hash, and what changed.

``capture()`` records the interpreter, the OS and machine, installed distributions, the
git state of the repository holding the entry-point script (with a hash of ``git diff
HEAD`` when dirty and one of the untracked files' contents), torch / CUDA / cuDNN and GPUs
when torch is already imported (it is never imported for this), numpy's BLAS when numpy
is imported, and the environment variables that change determinism. Git gets a deadline
(:data:`GIT_DEADLINE_S`): past it, git is recorded as unavailable and the run goes on.

``diff(a, b)`` lists the differences, each marked *material* (it can change a result:
package versions, interpreter version, platform, torch/CUDA/cuDNN, GPUs, git commit and
uncommitted changes, determinism variables) or *incidental* (where things happen to be:
interpreter path, git root and branch, CPU count, kernel release, the names of untracked
files, diffed as a set).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from collections.abc import Iterable
from typing import Any

from ato.git_state import GIT_DEADLINE_S, commit_files, git_state, logic_unchanged

__all__ = [
    "DETERMINISM_VARIABLES",
    "GIT_DEADLINE_S",
    "EnvironmentChange",
    "capture",
    "commit_files",
    "diff",
    "distributions",
    "git_state",
    "is_material",
    "logic_unchanged",
]

DETERMINISM_VARIABLES = (
    "PYTHONHASHSEED",
    "CUBLAS_WORKSPACE_CONFIG",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "CUDA_VISIBLE_DEVICES",
)


def _normalize(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def distributions(paths: Iterable[str] | None = None) -> dict[str, str]:
    """Installed distributions (normalized name -> version), read from the names of
    ``.dist-info`` / ``.egg-info`` folders: no metadata file is opened for most of them,
    which keeps this fast with hundreds installed."""
    found: dict[str, str] = {}
    for entry in paths if paths is not None else sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            stem, dot, suffix = name.rpartition(".")
            if not dot or suffix not in ("dist-info", "egg-info"):
                continue
            project, dash, version_text = stem.partition("-")
            version = version_text if dash else _version_from_metadata(os.path.join(entry, name))
            if version is None:
                continue
            found.setdefault(
                _normalize(project), version
            )  # the first on sys.path is the one imported
    return dict(sorted(found.items()))


def _version_from_metadata(folder: str) -> str | None:
    for filename in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(folder, filename), encoding="utf-8") as handle:
                for line in handle:
                    if line.startswith("Version:"):
                        return line.split(":", 1)[1].strip()
                    if not line.strip():
                        break
        except OSError:
            continue
    return None


def _torch_state() -> dict[str, Any] | None:
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    state: dict[str, Any] = {"version": getattr(torch, "__version__", None)}
    try:
        state["cuda"] = torch.version.cuda
        state["cudnn"] = (
            torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
        )
        if torch.cuda.is_available():
            state["gpus"] = [
                torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())
            ]
        else:
            state["gpus"] = []
    except Exception as error:  # a broken CUDA install must not stop a run
        state["error"] = f"{type(error).__name__}: {error}"
    return state


def _numpy_state() -> dict[str, Any] | None:
    numpy = sys.modules.get("numpy")
    if numpy is None:
        return None
    state: dict[str, Any] = {"version": numpy.__version__}
    try:
        config = numpy.show_config(mode="dicts")
        blas = config.get("Build Dependencies", {}).get("blas", {})
        state["blas"] = {k: blas.get(k) for k in ("name", "version") if k in blas}
    except Exception:  # numpy < 1.25 has no mode="dicts"
        state["blas"] = None
    return state


def capture(exclude: Iterable[str] = ()) -> dict[str, Any]:
    """The environment record; ``record['hash']`` is the SHA-256 of everything else.
    ``exclude``: the tracker's own files (see :func:`git_state`)."""
    record: dict[str, Any] = {
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
        },
        "os": {
            "system": platform.system(),
            "release": platform.release(),
            "machine": platform.machine(),
        },
        "cpu_count": os.cpu_count(),
        "distributions": distributions(),
        "git": git_state(exclude=exclude),
        "torch": _torch_state(),
        "numpy": _numpy_state(),
        "variables": {name: os.environ.get(name) for name in DETERMINISM_VARIABLES},
    }
    record["hash"] = environment_hash(record)
    return record


def environment_hash(record: dict[str, Any]) -> str:
    body = {key: value for key, value in record.items() if key != "hash"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# Fields that cannot change a result: where things are, how big the machine is. The
# rest (packages, interpreter, platform, torch/CUDA/cuDNN/GPUs, numpy's BLAS, git commit
# and uncommitted changes, determinism variables) is material.
_INCIDENTAL = (
    "python.executable",
    "os.release",
    "cpu_count",
    "git.root",
    "git.branch",
    "git.dirty",
    "git.untracked",
    "git.unavailable",
    "untracked file",
)


def is_material(what: str) -> bool:
    """Whether a change to field ``what`` (as :class:`EnvironmentChange` names it) can
    change a result."""
    return not any(what == name or what.startswith(name + ".") for name in _INCIDENTAL)


_UNCOMMITTED = "uncommitted change to "


_UNTRACKED = "untracked file: "


class EnvironmentChange:
    """One difference: ``kind`` ('added', 'removed', 'upgraded', 'downgraded',
    'changed'), ``what`` (e.g. 'package numpy', 'python.version', 'git.commit'), the
    values before and after, and whether it is ``material`` (see :func:`is_material`)."""

    __slots__ = ("after", "before", "cosmetic", "files", "kind", "material", "what")

    def __init__(self, kind: str, what: str, before: Any, after: Any) -> None:
        self.kind, self.what, self.before, self.after = kind, what, before, after
        self.material = is_material(what)
        self.files: list[str] | None = None  # a commit change: the files that differ
        # Python files whose comments or layout alone differ: no cause (not material).
        self.cosmetic = False

    def make_cosmetic(self) -> None:
        self.cosmetic, self.material = True, False

    def to_dict(self) -> dict[str, Any]:
        found = {
            "kind": self.kind,
            "what": self.what,
            "before": self.before,
            "after": self.after,
            "material": self.material,
        }
        if self.files is not None:
            found["files"] = list(self.files)
        if self.cosmetic:
            found["cosmetic"] = True
        return found

    def __str__(self) -> str:
        only = " comments or layout only" if self.cosmetic else ""
        if self.what.startswith(_UNCOMMITTED):
            name = self.what[len(_UNCOMMITTED) :]
            return {
                "added": f"{name} has uncommitted changes{only and ' to' + only} (none before)",
                "removed": f"{name}'s uncommitted changes{only and ' to' + only} are gone",
            }.get(self.kind, f"{name}'s uncommitted changes differ{only and ' in' + only}")
        if self.what == "git.commit" and self.kind == "changed":
            said = f"git commit {str(self.before)[:12]} -> {str(self.after)[:12]}"
            if self.files:
                listed = ", ".join(self.files[:5]) + (", ..." if len(self.files) > 5 else "")
                count = len(self.files)
                files = "1 file differs" if count == 1 else f"{count:,} files differ"
                said += f" ({files}{only and ' in' + only}: {listed})"
            return said
        if self.what == "git.untracked_sha256":  # not named file by file (an older
            # record, or past the first 100 files)
            if self.before and self.after:
                return "untracked files differ (their names and contents, hashed)"
            return f"untracked files {'added' if self.after else 'removed'}"
        if self.what.startswith(_UNTRACKED):
            name = self.what[len(_UNTRACKED) :]
            return f"untracked file {name} {self.kind}{only and ' in' + only}"
        if self.what == "git" and self.kind in ("added", "removed"):
            return {
                "added": f"now in a git checkout ({self.after}; before: not in one)",
                "removed": f"no longer in a git checkout (before: {self.before})",
            }[self.kind]
        if self.kind == "added":
            return f"{self.what} added ({self.after})"
        if self.kind == "removed":
            return f"{self.what} removed (was {self.before})"
        return f"{self.what} {self.kind}: {self.before} -> {self.after}"

    def __repr__(self) -> str:
        return f"EnvironmentChange({self.kind!r}, {self.what!r}, {self.before!r}, {self.after!r})"


def _version_change(old: str, new: str) -> str | None:
    """'upgraded' or 'downgraded' as PEP 440 orders releases (2.0.0rc1 before 2.0.0);
    None for one release written two ways (1.26, 1.26.0); 'changed' for two builds of one
    release (2.1.0+cpu, 2.1.0+cu118) or versions PEP 440 cannot read."""
    from packaging.version import InvalidVersion, Version  # only when versions differ

    try:
        before, after = Version(old), Version(new)
    except InvalidVersion:
        return "changed"
    if before == after:
        return None
    if before.public == after.public:
        return "changed"
    return "upgraded" if after > before else "downgraded"


def diff(
    before: dict[str, Any], after: dict[str, Any], *, incidental: bool = True
) -> list[EnvironmentChange]:
    """What changed from ``before`` to ``after``: packages, interpreter, git, variables...
    With ``incidental=False``, only the material changes."""
    changes = _all_changes(before, after)
    return changes if incidental else [change for change in changes if change.material]


def _all_changes(before: dict[str, Any], after: dict[str, Any]) -> list[EnvironmentChange]:
    changes: list[EnvironmentChange] = []
    old_packages = before.get("distributions") or {}
    new_packages = after.get("distributions") or {}
    for name in sorted(old_packages.keys() | new_packages.keys()):
        old, new = old_packages.get(name), new_packages.get(name)
        if old == new:
            continue
        if old is None:
            changes.append(EnvironmentChange("added", f"package {name}", None, new))
        elif new is None:
            changes.append(EnvironmentChange("removed", f"package {name}", old, None))
        else:
            kind = _version_change(str(old), str(new))
            if kind is not None:
                changes.append(EnvironmentChange(kind, f"package {name}", old, new))
    for section in sorted((before.keys() | after.keys()) - {"distributions", "hash"}):
        _diff_values(section, before.get(section), after.get(section), changes)
    packages = {change.what for change in changes if change.what.startswith("package ")}
    # numpy.version and torch.version repeat their packages' versions: said once.
    changes = [
        change
        for change in changes
        if not (change.what.endswith(".version") and f"package {change.what[:-8]}" in packages)
    ]
    files = [change for change in changes if change.what.startswith(_UNCOMMITTED)]
    if files:  # named file by file: the whole patch's hash adds nothing
        changes = [change for change in changes if change.what != "git.diff_sha256"]
    listed = [
        record["git"].get("untracked_files")
        for record in (before, after)
        if isinstance(record.get("git"), dict)
    ]
    if len(listed) == 2 and all(isinstance(files, dict) for files in listed):
        # Untracked files named file by file (the first 100): their changes are said so,
        # and the hash of them all only when a change lies past those named.
        complete = all(len(files) < 100 for files in listed)
        if not complete:
            # Only the first 100 names (in order) are kept: a name past the last one
            # either side kept may be there unnamed, so only those within are compared,
            # and the hash of them all says whether anything past them changed.
            last = min(max(files, default="") for files in listed)
            changes = [
                change
                for change in changes
                if not change.what.startswith(_UNTRACKED) or change.what[len(_UNTRACKED) :] <= last
            ]
        hashed = ("git.untracked_sha256",) if complete else ()
        changes = [
            change
            for change in changes
            if change.what not in hashed and change.what != "untracked file"
        ]
    for change in changes:
        for prefix in (_UNCOMMITTED, _UNTRACKED):
            if change.what.startswith(prefix):
                name = change.what[len(prefix) :]
                old, new = _logic(before, after, name), _logic(after, before, name)
                if old is not None and old == new:
                    change.make_cosmetic()
    return changes


def _logic(record: dict[str, Any], other: dict[str, Any], name: str) -> str | None:
    """What the Python file ``name`` of ``record``'s checkout does (see
    :mod:`ato.source_logic`), when known: recorded for a changed file; for a file this
    run left as committed, the other run's record of it as committed, when both runs
    are at the same commit."""
    git, theirs = record.get("git"), other.get("git")
    if not (isinstance(git, dict) and isinstance(theirs, dict)):
        return None
    logic = git.get("logic")
    if not isinstance(logic, dict):  # an older record, or nothing changed
        logic = {} if "modified" in git else None
    if logic is None:
        return None
    entry = logic.get(name)
    if isinstance(entry, list) and len(entry) == 2:
        return entry[1] if isinstance(entry[1], str) else None
    listed = [git.get("modified"), git.get("untracked_files")]
    if not all(isinstance(files, dict) and len(files) < 100 for files in listed):
        return None  # past the first 100 files: changed or not is not known
    if any(name in files for files in listed if isinstance(files, dict)):
        return None  # changed, its logic not read (past the deadline, too big)
    commit = git.get("commit")
    their_logic = theirs.get("logic")
    if not commit or commit != theirs.get("commit") or not isinstance(their_logic, dict):
        return None
    entry = their_logic.get(name)
    if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str):
        return entry[0]  # as committed: this run left it so
    return None


def _summary(path: str, section: dict[str, Any]) -> str:
    """A section one run has and the other lacks (a git checkout, numpy), in a few words."""
    if path == "git":
        if "commit" not in section:
            return str(section.get("unavailable", "git state unknown"))
        dirty = ", with uncommitted changes" if section.get("modified") else ""
        return f"commit {str(section['commit'])[:12]}{dirty}"
    if "version" in section:
        return f"version {section['version']}"
    return json.dumps(section, sort_keys=True, default=str)[:80]


def _diff_values(path: str, old: Any, new: Any, changes: list[EnvironmentChange]) -> None:
    if path == "git.logic":  # not a change of its own: tells which changes are cosmetic
        return
    if path == "git.modified":
        # File by file only when both runs recorded it (a clean tree records none);
        # against an older record, git.diff_sha256 says whether the changes differ.
        if not (isinstance(old, dict) and isinstance(new, dict)):
            return
        for name in sorted(old.keys() | new.keys()):
            if old.get(name) == new.get(name):
                continue
            what = f"{_UNCOMMITTED}{name}"
            if name not in old:
                changes.append(EnvironmentChange("added", what, None, new[name]))
            elif name not in new:
                changes.append(EnvironmentChange("removed", what, old[name], None))
            else:
                changes.append(EnvironmentChange("changed", what, old[name], new[name]))
        return
    if path == "git.untracked_files":
        if isinstance(old, dict) and isinstance(new, dict):
            for name in sorted(old.keys() | new.keys()):
                if old.get(name) != new.get(name):
                    kind = "added" if name not in old else "removed" if name not in new else ""
                    what = f"{_UNTRACKED}{name}"
                    changes.append(
                        EnvironmentChange(kind or "changed", what, old.get(name), new.get(name))
                    )
        return
    if path == "git.untracked" and isinstance(old, list) and isinstance(new, list):
        # A set of names: files listed in another order are no change.
        for name in sorted(set(new) - set(old)):
            changes.append(EnvironmentChange("added", "untracked file", None, name))
        for name in sorted(set(old) - set(new)):
            changes.append(EnvironmentChange("removed", "untracked file", name, None))
    elif isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys()):
            _diff_values(f"{path}.{key}", old.get(key), new.get(key), changes)
    elif old is None and isinstance(new, dict):
        changes.append(EnvironmentChange("added", path, None, _summary(path, new)))
    elif new is None and isinstance(old, dict):
        changes.append(EnvironmentChange("removed", path, _summary(path, old), None))
    elif old != new:
        changes.append(EnvironmentChange("changed", path, old, new))

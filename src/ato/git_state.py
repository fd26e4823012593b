"""The git state of the repository a run's program lives in: commit, branch, uncommitted
changes and untracked files, each file by file; and, for ``ato explain``, the files that
differ between two commits. Git gets a deadline (:data:`GIT_DEADLINE_S`): past it, the
state is recorded as unavailable and the run goes on. Used by :mod:`ato.environment`.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterable
from typing import Any

__all__ = ["GIT_DEADLINE_S", "commit_files", "git_state", "logic_unchanged"]


def _entry_point_folder() -> str:
    main = sys.modules.get("__main__")
    script = getattr(main, "__file__", None) or (sys.argv[0] if sys.argv else "")
    return os.path.dirname(os.path.abspath(script)) if script else os.getcwd()


# Git's whole share of a capture: a huge or networked repository must not hold up a run.
GIT_DEADLINE_S = 10.0
# Seconds spent at most telling which edited .py files changed in comments or layout only.
_LOGIC_BUDGET_S = 1.0
# Untracked files larger than this are hashed by size and mtime only, not read.
_UNTRACKED_READ_LIMIT = 16 << 20


class _GitTimeout(Exception):
    pass


def _git_bytes(
    folder: str, args: tuple[str, ...], deadline: float, request: bytes | None = None
) -> bytes | None:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _GitTimeout
    try:
        result = subprocess.run(
            ["git", "-C", folder, *args],
            input=request,
            capture_output=True,
            timeout=left,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise _GitTimeout from None
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout if result.returncode == 0 else None


def _git(folder: str, *args: str, deadline: float | None = None) -> str | None:
    if deadline is None:
        deadline = time.monotonic() + GIT_DEADLINE_S
    output = _git_bytes(folder, args, deadline)
    return None if output is None else output.decode("utf-8", "replace").strip()


def git_state(
    folder: str | None = None,
    *,
    deadline_s: float | None = None,
    exclude: Iterable[str] = (),
) -> dict[str, Any] | None:
    """Commit, branch and dirty flag of the repository holding ``folder`` (default: the
    entry-point script's), with a hash of ``git diff HEAD`` when tracked files changed
    and one of the untracked (not ignored) files' names and contents (also file by file,
    for the first 100); for the changed ``.py`` files among them, a hash of what their
    code does, as committed and now, with comments and layout aside (``logic``: an edit
    to those alone is no cause); None outside git.

    ``exclude``: files the tracker itself writes (its SQLite database, with the -wal,
    -shm and -journal files beside it), which change on every run and are no cause.

    When git takes longer than ``deadline_s`` (default :data:`GIT_DEADLINE_S`) in all,
    the state is ``{"unavailable": "..."}``: a run never waits on a slow repository.
    """
    folder = folder or _entry_point_folder()
    limit = GIT_DEADLINE_S if deadline_s is None else deadline_s
    deadline = time.monotonic() + limit
    own = {os.path.realpath(path) + suffix for path in exclude for suffix in _SQLITE_SUFFIXES}
    try:
        return _git_state(folder, deadline, own)
    except _GitTimeout:
        return {"unavailable": f"git took longer than {limit:g} s"}


_SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def _git_state(folder: str, deadline: float, own: set[str]) -> dict[str, Any] | None:
    root = _git(folder, "rev-parse", "--show-toplevel", deadline=deadline)
    if root is None:
        return None

    def theirs(name: str | bytes) -> bool:
        path = os.path.join(os.fsdecode(root), os.fsdecode(name))
        return not own or os.path.realpath(path) not in own

    commit = _git(root, "rev-parse", "HEAD", deadline=deadline)
    status = _git(root, "status", "--porcelain", deadline=deadline) or ""
    changed = [line for line in status.splitlines() if not line.startswith("??")]
    names: list[bytes] = []
    if any(line.startswith("??") for line in status.splitlines()):
        # File by file, unquoted (git status names a new folder, and quotes odd names).
        listed = _git_bytes(root, ("ls-files", "-z", "--others", "--exclude-standard"), deadline)
        names = sorted(name for name in (listed or b"").split(b"\0") if name and theirs(name))
    state: dict[str, Any] = {
        "root": root,
        "commit": commit,
        "branch": _git(root, "rev-parse", "--abbrev-ref", "HEAD", deadline=deadline),
        "dirty": bool(changed or names),
        # The names, for people (the hash below counts all).
        "untracked": [os.fsdecode(name) for name in names[:100]],
        "modified": {},  # file by file, below; recorded empty so that clean reads as clean
        "untracked_files": {},  # the same for untracked files
    }
    if changed:
        patch = _git_bytes(root, _DIFF, deadline) or b""
        state["diff_sha256"] = hashlib.sha256(patch).hexdigest()
        state["modified"] = _per_file(patch)
    if names:
        state["untracked_sha256"], state["untracked_files"] = _untracked_hashes(
            root, names, deadline
        )
    if state["modified"] or state["untracked_files"]:
        tracked = [name for name in state["modified"] if name.endswith(".py")]
        untracked = [name for name in state["untracked_files"] if name.endswith(".py")]
        state["logic"] = _python_logic(root, commit, tracked, untracked, deadline)
    return state


def _python_logic(
    root: str, commit: str | None, tracked: list[str], untracked: list[str], deadline: float
) -> dict[str, list[str | None]]:
    """``{file: [logic as committed, logic now]}`` of the changed ``.py`` files (see
    :mod:`ato.source_logic`): an edit to comments or layout alone is no cause. Files not
    read within :data:`_LOGIC_BUDGET_S` (or git's deadline) are left out, and count as
    they are."""
    from ato.source_logic import LOGIC_LIMIT, logic_of

    # Reading costs about 8 ms per 14 kB file: a checkout with hundreds of edited files
    # must not hold up the run's start by more than this.
    deadline = min(deadline, time.monotonic() + _LOGIC_BUDGET_S)
    asked = [(commit, name) for name in tracked] if commit else []
    committed = _committed_texts(root, asked, deadline)
    found: dict[str, list[str | None]] = {}
    for name in tracked + untracked:
        if time.monotonic() > deadline:
            break
        path = os.path.join(root, name)
        try:
            if os.path.getsize(path) > LOGIC_LIMIT:
                continue
            with open(path, "rb") as handle:
                now = handle.read()
        except OSError:  # removed, or unreadable: its logic is unknown
            now = None
        before = logic_of(committed.get((commit or "", name)))
        if time.monotonic() > deadline:
            break
        found[name] = [before, logic_of(now)]
    return found


def _committed_texts(
    root: str, files: list[tuple[str, str]], deadline: float
) -> dict[tuple[str, str], bytes]:
    """The texts of ``(commit, name)`` pairs, from one ``git cat-file`` (a name holding
    a line break cannot be asked for, and a file the commit lacks has none)."""
    asked = [(commit, name) for commit, name in files if "\n" not in name]
    if not asked:
        return {}
    request = "".join(f"{commit}:{name}\n" for commit, name in asked)
    try:
        output = _git_bytes(
            root, ("cat-file", "--batch"), deadline, request.encode("utf-8", "surrogateescape")
        )
    except _GitTimeout:
        return {}
    texts: dict[tuple[str, str], bytes] = {}
    at = 0
    output = output or b""
    for key in asked:  # "<object> <type> <size>\n<content>\n", or "<name> missing\n"
        end = output.find(b"\n", at)
        if end < 0:
            break
        header = output[at:end].split(b" ")
        at = end + 1
        if len(header) == 3 and header[2].isdigit():  # any object: a tree (pkg.py/) too
            size = int(header[2])
            if header[1] == b"blob":
                texts[key] = output[at : at + size]
            at += size + 1
        elif header[-1] not in (b"missing", b"ambiguous"):
            break  # not understood: the files left count as they are
    return texts


# The same patch whatever the user's git settings: no colour, no external diff tool,
# a/ and b/ prefixes, file names unquoted (é.py, not "\303\251.py").
_DIFF = (
    "-c", "core.quotePath=false", "diff", "HEAD", "--no-color", "--no-ext-diff",
    "--src-prefix=a/", "--dst-prefix=b/",
)  # fmt: skip


def _per_file(patch: bytes) -> dict[str, str]:
    """``{file: hash of its part of the patch}`` (first 100 files): which files' uncommitted
    changes differ between two runs, where the whole patch's hash only says that some do."""
    found: dict[str, str] = {}
    for part in re.split(rb"(?m)^diff --git ", patch)[1:]:
        found[_patched_name(part)] = hashlib.sha256(part).hexdigest()[:16]
        if len(found) >= 100:
            break
    return found


def _patched_name(part: bytes) -> str:
    """The file a part of a patch is about. Its header is ``a/NAME b/NAME``; a name may
    itself hold " b/", so it is cut at the middle, which is exact when both names are the
    same (all but renames, whose "rename to" line names the file)."""
    lines = part.decode("utf-8", errors="replace").split("\n")
    for line in lines[1:]:
        if line.startswith("rename to "):
            return line[len("rename to ") :]
        if line.startswith(("@@", "Binary files", "GIT binary patch")):
            break
    header = lines[0]
    size = (len(header) - 5) // 2
    name = header[2 : 2 + size]
    if header == f"a/{name} b/{name}":
        return name
    return header.strip('"')  # quoted (a control character in the name): as git wrote it


def _untracked_hashes(root: str, names: list[bytes], deadline: float) -> tuple[str, dict[str, str]]:
    """The names and contents of untracked files, in one hash and file by file (the first
    100): ``git diff HEAD`` does not see them, yet a new ``model.py`` not yet added is as
    much a change as an edited one."""
    digest = hashlib.sha256()
    files: dict[str, str] = {}
    for name in names:
        if time.monotonic() > deadline:
            raise _GitTimeout
        path = os.path.join(os.fsencode(root), name)
        digest.update(name + b"\0")
        try:
            size = os.path.getsize(path)
            if size > _UNTRACKED_READ_LIMIT:
                content = f"{size}:{os.path.getmtime(path)}".encode()
            else:
                with open(path, "rb") as handle:
                    content = hashlib.sha256(handle.read()).digest()
        except OSError:
            content = b"unreadable"
        digest.update(content)
        if len(files) < 100:
            files[os.fsdecode(name)] = hashlib.sha256(content).hexdigest()[:16]
    return digest.hexdigest(), files


_COMMIT = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?\Z")


def commit_files(root: str, before: str, after: str) -> list[str] | None:
    """The files that differ between commits ``before`` and ``after`` of the checkout at
    ``root``, as git says; None unless both are commit hashes and the current folder is
    in that very checkout (a path read from a database names no repository to enter)."""
    if not (_COMMIT.match(str(before)) and _COMMIT.match(str(after))):
        return None
    deadline = time.monotonic() + GIT_DEADLINE_S
    try:
        here = _git(os.getcwd(), "rev-parse", "--show-toplevel", deadline=deadline)
        if here is None or os.path.realpath(here) != os.path.realpath(str(root)):
            return None
        listed = _git_bytes(
            here,
            ("-c", "core.quotePath=false", "diff", "--name-only", "-z", "--no-ext-diff",
             "--no-textconv", before, after, "--"),
            deadline,
        )  # fmt: skip
    except (_GitTimeout, OSError, ValueError):  # ValueError: a NUL byte in a stored path
        return None
    if listed is None:
        return None
    return [name.decode("utf-8", "replace") for name in listed.split(b"\0") if name]


def logic_unchanged(root: str, before: str, after: str, files: list[str]) -> bool:
    """Whether every one of ``files`` (those :func:`commit_files` found to differ between
    the two commits) is a Python file that does the same in both: only comments or
    layout differ (see :mod:`ato.source_logic`)."""
    from ato.source_logic import logic_of

    if not files or not all(name.endswith(".py") for name in files):
        return False
    deadline = time.monotonic() + GIT_DEADLINE_S
    texts = _committed_texts(
        root, [(commit, name) for commit in (before, after) for name in files], deadline
    )
    for name in files:
        logic = logic_of(texts.get((before, name)))
        if logic is None or logic != logic_of(texts.get((after, name))):
            return False
    return True

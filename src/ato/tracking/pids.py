"""Whether a run's process is alive: pids, and the namespace a pid means something in."""

from __future__ import annotations

import functools
import os

__all__ = ["pid_is_running", "pid_namespace", "process_start_time"]


def pid_is_running(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (a zombie counts as gone)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            state = handle.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        return True


def process_start_time(pid: int) -> float | None:
    """When process ``pid`` started, as Unix time to within a second (Linux); None
    where /proc does not tell. A pid reused by a later process has a later start."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            ticks = int(handle.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None
    boot = _boot_time()
    return None if boot is None else boot + ticks / os.sysconf("SC_CLK_TCK")


@functools.lru_cache(maxsize=1)
def _boot_time() -> float | None:
    try:
        with open("/proc/stat", "rb") as handle:
            for line in handle:
                if line.startswith(b"btime "):
                    return float(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


@functools.lru_cache(maxsize=1)
def pid_namespace() -> str | None:
    """Where this process's pid means something: the boot id and the inode of its pid
    namespace (Linux). Two containers may share a hostname and a database volume; a pid
    from the other one must not be looked up here. None where /proc does not tell."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            boot = handle.read().strip()
        return f"{boot}/{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        return None

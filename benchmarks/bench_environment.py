"""Capturing the environment with 300 installed distributions, against listing them
with importlib.metadata (the usual way), in one run.

    python benchmarks/bench_environment.py

Target (issue #4): capture() under 200 ms with 300 distributions.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
import tempfile
import time

from ato import environment


def fake_site(folder: str, count: int) -> None:
    for index in range(count):
        dist = os.path.join(folder, f"fake_package_{index}-1.{index}.0.dist-info")
        os.makedirs(dist)
        with open(os.path.join(dist, "METADATA"), "w") as handle:
            handle.write(
                f"Metadata-Version: 2.1\nName: fake-package-{index}\nVersion: 1.{index}.0\n\n"
            )


def best(fn, repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        installed = len(environment.distributions())
        fake_site(folder, max(0, 300 - installed))
        sys.path.insert(0, folder)
        try:
            count = len(environment.distributions())
            capture = best(environment.capture)
            listing = best(
                lambda: {d.metadata["Name"]: d.version for d in importlib.metadata.distributions()}
            )
        finally:
            sys.path.remove(folder)
    print(f"distributions visible: {count}")
    print(f"environment.capture():                  {capture * 1e3:.1f} ms (target < 200 ms)")
    print(f"importlib.metadata name/version listing: {listing * 1e3:.1f} ms")
    print(f"ratio: {capture / listing:.2f}x of the importlib.metadata listing alone")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

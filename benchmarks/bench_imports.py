"""The code fingerprint of a function that imports its model by a computed name
(``importlib.import_module(f"models.{name}")``), against one that imports a model by a
name written out, in one run, at two sizes of the ``models`` package.

    python benchmarks/bench_imports.py              # 50 and 500 modules
    python benchmarks/bench_imports.py --sizes 10 100

Each module holds five small functions. Timed with ``timeit`` statement strings, both
``fingerprint_of(step)`` (what a tracker computes when a run starts):

- warm: a later run in the same process (each file only checked for an edit);
- cold: the first run of a process (every file read and parsed), the cache emptied in
  ``setup``.

Reported: milliseconds and the ratio to the written-out import at each size; the cost
grows with the modules that may be imported (every one is code the run may run), and a
cost that grows faster than them shows as a per-module time that grows with the size.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import timeit

PROGRAM = '''
import importlib


def step(x, name):
    return importlib.import_module(f"models_{size}.{{name}}").f0(x)


def written(x):
    return importlib.import_module("models_{size}.m0").f0(x)
'''


def make_package(folder: str, size: int) -> str:
    package = os.path.join(folder, f"models_{size}")
    os.makedirs(package)
    open(os.path.join(package, "__init__.py"), "w").close()
    for index in range(size):
        with open(os.path.join(package, f"m{index}.py"), "w") as handle:
            for number in range(5):
                handle.write(
                    f"def f{number}(x):\n    y = x * {number} + {index}\n"
                    f"    for k in range(3):\n        y += k\n    return y\n\n\n"
                )
    name = f"program_{size}"
    with open(os.path.join(folder, f"{name}.py"), "w") as handle:
        handle.write(PROGRAM.format(size=size))
    return name


def measure(program: str, repeat: int) -> dict[str, float]:
    setup = (
        f"import {program} as program\n"
        "from ato.trace import fingerprint_of\n"
        "from ato.computed_imports import forget_read_files\n"
        "fingerprint_of(program.step)\n"
    )
    found = {}
    for kind, function in (("computed", "step"), ("written", "written")):
        statement = f"fingerprint_of(program.{function})"
        found[f"warm {kind}"] = min(timeit.repeat(statement, setup, number=5, repeat=repeat)) / 5
        cold_setup = setup + "forget_read_files()"
        found[f"cold {kind}"] = min(timeit.repeat(statement, cold_setup, number=1, repeat=repeat))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=(50, 500))
    parser.add_argument("--repeat", type=int, default=5)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        sys.path.insert(0, folder)
        print(f"{'modules':>8} {'':5} {'computed ms':>12} {'written ms':>11} {'ratio':>7} "
              f"{'ms/module':>10}")  # fmt: skip
        for size in arguments.sizes:
            found = measure(make_package(folder, size), arguments.repeat)
            for when in ("warm", "cold"):
                computed, written = found[f"{when} computed"], found[f"{when} written"]
                print(
                    f"{size:>8} {when:5} {computed * 1e3:>12.2f} {written * 1e3:>11.2f} "
                    f"{computed / written:>7.1f} {computed * 1e3 / size:>10.3f}"
                )


if __name__ == "__main__":
    main()

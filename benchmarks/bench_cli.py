"""The `ato` command and run listing against baselines measured in the same run.

    python benchmarks/bench_cli.py            # 100 and 10,000 runs (a few minutes)
    python benchmarks/bench_cli.py --quick    # 100 and 1,000 runs

Targets (issue #13):
- ``ato --help`` under 300 ms as a whole process (beside ``python -c pass``);
- ``ato runs`` and ``ato explain`` on 1,000 runs and 1,000,000 metric rows under 1 s each
  as a process;
- listing runs (``get_runs_in_project``) within 2x of a raw SQL read of the same rows,
  at two sizes 100x apart, so that a cost growing faster than the rows shows.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import timeit

from ato.adict import ADict
from ato.tracking import SQLFinder, SQLLogger
from ato.tracking.runs import RunRow

# The same columns the finder reads for a run, straight through sqlite3.
RAW = (
    "SELECT "
    + ", ".join(f"e.{name}" for name in RunRow._fields)
    + ", p.name FROM experiments AS e JOIN projects AS p ON p.id = e.project_id "
    "WHERE p.name = 'bench' ORDER BY e.id"
)


def config_for(path: str, **extra: object) -> ADict:
    return ADict(
        experiment=ADict(project_name="bench", sql=ADict(db_path=f"sqlite:///{path}")), **extra
    )


def build(path: str, runs: int, points_per_run: int) -> None:
    logger = SQLLogger(config_for(path), batch_size=50_000)
    for index in range(runs):
        logger.config = config_for(path, lr=0.001 * (index + 1), depth=index % 7)
        logger.run(tags=[f"shape{index % 10}"])
        for step in range(points_per_run // 2):
            logger.log_metric("loss", 1.0 / (step + 1 + index))
            logger.log_metric("acc", step / points_per_run)
        logger.finish()
    logger.engine.dispose()


def process_ms(args: list[str], cwd: str, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(args, cwd=cwd, check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return best * 1e3


OURS = "finder.get_runs_in_project('bench')"


def listing_ratio(path: str) -> tuple[float, float]:
    finder = SQLFinder.open(f"sqlite:///{path}")
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    names = {"finder": finder, "connection": connection, "RAW": RAW}
    ours = min(timeit.repeat(OURS, globals=names, number=5, repeat=7)) / 5
    raw = min(
        timeit.repeat("connection.execute(RAW).fetchall()", globals=names, number=5, repeat=7)
    )
    raw /= 5
    connection.close()
    finder.close()
    return ours * 1e3, raw * 1e3


def main(quick: bool) -> int:
    ok = True
    with tempfile.TemporaryDirectory() as folder:
        python = sys.executable
        baseline = process_ms([python, "-c", "pass"], folder)
        helping = process_ms([python, "-m", "ato", "--help"], folder)
        print(
            f"ato --help: {helping:.0f} ms as a process (python -c pass: {baseline:.0f} ms; "
            f"ato's own share {helping - baseline:.0f} ms); target < 300 ms"
        )
        ok &= helping < 300

        for runs in (100, 1_000 if quick else 10_000):
            path = os.path.join(folder, f"runs{runs}.db")
            build(path, runs, 20)
            ours, raw = listing_ratio(path)
            print(
                f"listing {runs:,} runs: {ours:.2f} ms, raw SQL read {raw:.2f} ms, "
                f"ratio {ours / raw:.2f}x (target <= 2x)"
            )
            ok &= ours / raw <= 2.0

        big = os.path.join(folder, "experiments.db")
        start = time.perf_counter()
        build(big, 1_000, 1_000)
        print(f"built 1,000 runs x 1,000 metric rows in {time.perf_counter() - start:.0f} s")
        env = {**os.environ, "ATO_DB": f"sqlite:///{big}"}
        for args in (["runs", "bench"], ["explain", "500", "501"]):
            start = time.perf_counter()
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                subprocess.run(
                    [python, "-m", "ato", *args],
                    cwd=folder,
                    env=env,
                    check=True,
                    capture_output=True,
                )
                best = min(best, time.perf_counter() - start)
            print(f"ato {' '.join(args)}: {best * 1e3:.0f} ms as a process (target < 1000 ms)")
            ok &= best < 1.0
    print("all targets met" if ok else "SOME TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main("--quick" in sys.argv))
